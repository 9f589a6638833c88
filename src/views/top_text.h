// `sstrace top` as text: the header of totals and the table of groups, laid
// out once for both the --batch frames and the ncurses screen (which draws
// the same lines, with attributes). Pure: a Frame in, lines out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aggregate/frame.h"

namespace sstrace::views {

// What the header says beside the frame's numbers.
struct TopHeader {
  std::string ts;  // the frame's time, RFC 3339
  aggregate::Column sort = aggregate::Column::opens;
  std::string filter;  // the live `/` filter; "" when none
  bool paused = false;
};

// The header: four lines of totals, each under 80 columns for frames with
// rates under 100,000/s and counts under 10,000,000.
std::vector<std::string> top_header_lines(const aggregate::Frame& f, const TopHeader& h);

// The table of groups: key columns (which depend on the grouping, and a
// NETNS column for --all-netns), then one column per aggregate::Column.
struct TopTable {
  struct Col {
    std::string title;
    size_t width = 0;
    bool right = true;  // numbers right-aligned, keys left
    int sort = -1;      // the aggregate::Column it shows; -1 for keys
  };
  std::vector<Col> cols;
  std::vector<std::vector<std::string>> cells;  // cells[row][col], already terminal-safe

  // The line of column titles and a row's line, cut at max_width (0: no
  // limit); columns that do not fit whole are left out.
  std::string title_line(size_t max_width = 0) const;
  std::string row_line(size_t row, size_t max_width = 0) const;
  // Where a column starts and how wide it is, in a line cut at max_width;
  // width 0 when it does not fit.
  std::pair<size_t, size_t> span(size_t col, size_t max_width = 0) const;
};

// The frame's groups sorted by `sort`, at most max_rows of them (0: all).
TopTable top_table(const aggregate::Frame& f, aggregate::Column sort, size_t max_rows = 0);

// One --batch frame: the header, a blank line, the column titles, every
// group sorted by `h.sort`, and a blank line that ends the frame.
std::string top_batch_text(const aggregate::Frame& f, const TopHeader& h);

// A column's title as the table shows it ("OPEN/s", "TW", ...).
std::string_view column_title(aggregate::Column c);

}  // namespace sstrace::views
