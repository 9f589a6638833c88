#include "views/top_text.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "output/address_text.h"
#include "output/event_common.h"
#include "output/terminal_text.h"
#include "views/frame_json.h"

namespace sstrace::views {

using aggregate::Column;
using aggregate::Frame;
using aggregate::GroupBy;
using aggregate::Row;

namespace {

std::string fmt(const char* f, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string count_text(uint64_t n) { return std::to_string(n); }

// A rate in a column a few characters wide: one decimal while it is small
// enough to matter, none above 1,000/s, thousands above 100,000/s.
std::string rate_text(const Frame& f, uint64_t count) {
  double r = f.rate(count);
  if (count == 0) return "0";
  if (r < 1000) return fmt("%.1f", r);
  if (r < 100000) return fmt("%.0f", r);
  return fmt("%.0fk", r / 1000);
}

// srtt in milliseconds, as ss -i prints rtt, with the digits that fit.
std::string srtt_ms_text(const std::optional<uint32_t>& us) {
  if (!us) return "-";
  double ms = double(*us) / 1000;
  if (ms < 10) return fmt("%.3f", ms);
  if (ms < 1000) return fmt("%.1f", ms);
  return fmt("%.0f", ms);
}

std::string short_text(const Row& r) {
  auto s = r.short_lived();
  return s ? fmt("%.0f%%", *s * 100) : "-";
}

std::string cell(const Frame& f, const Row& r, Column c) {
  switch (c) {
    case Column::opens:
      return rate_text(f, r.counts.opens());
    case Column::closes:
      return rate_text(f, r.counts.closes);
    case Column::failed:
      return rate_text(f, r.counts.failed);
    case Column::resets:
      return rate_text(f, r.counts.resets());
    case Column::retrans:
      return rate_text(f, r.counts.retrans);
    case Column::alive:
      return count_text(r.alive);
    case Column::time_wait:
      return count_text(r.time_wait);
    case Column::close_wait:
      return count_text(r.close_wait);
    case Column::short_lived:
      return short_text(r);
    case Column::srtt_p50:
      return srtt_ms_text(r.srtt_p50_us);
    case Column::srtt_p99:
      return srtt_ms_text(r.srtt_p99_us);
  }
  return "?";
}

enum class KeyCol { netns, peer, port, dir, pid, comm };

std::vector<KeyCol> key_columns(const Frame& f) {
  std::vector<KeyCol> k;
  if (std::any_of(f.groups.begin(), f.groups.end(), [](const Row& r) { return r.key.netns; }))
    k.push_back(KeyCol::netns);
  switch (f.by) {
    case GroupBy::peer:
      k.push_back(KeyCol::peer);
      break;
    case GroupBy::port:
      k.insert(k.end(), {KeyCol::port, KeyCol::dir});
      break;
    case GroupBy::peer_port:
      k.insert(k.end(), {KeyCol::peer, KeyCol::port, KeyCol::dir});
      break;
    case GroupBy::process:
      k.insert(k.end(), {KeyCol::pid, KeyCol::comm});
      break;
  }
  return k;
}

const char* key_title(KeyCol k) {
  switch (k) {
    case KeyCol::netns:
      return "NETNS";
    case KeyCol::peer:
      return "PEER";
    case KeyCol::port:
      return "PORT";
    case KeyCol::dir:
      return "DIR";
    case KeyCol::pid:
      return "PID";
    case KeyCol::comm:
      return "COMM";
  }
  return "?";
}

std::string key_cell(const Row& r, KeyCol k) {
  const aggregate::GroupKey& key = r.key;
  switch (k) {
    case KeyCol::netns:
      return std::to_string(key.netns);
    case KeyCol::peer:
      return key.family ? output::addr_text(key.family, key.peer) : "*";
    case KeyCol::port:
      return std::to_string(key.port);
    case KeyCol::dir:
      return dir_name(key.dir);
    case KeyCol::pid:
      return key.pid ? std::to_string(key.pid) : "-";
    case KeyCol::comm: {
      if (key.comm.empty()) return "-";
      std::string s;
      output::append_terminal_safe(s, key.comm);  // a process chose its name
      return s;
    }
  }
  return "?";
}

void pad(std::string& out, const std::string& s, size_t width, bool right) {
  if (right && s.size() < width) out.append(width - s.size(), ' ');
  out += s;
  if (!right && s.size() < width) out.append(width - s.size(), ' ');
}

}  // namespace

std::string_view column_title(Column c) {
  switch (c) {
    case Column::opens:
      return "OPEN/s";
    case Column::closes:
      return "CLOSE/s";
    case Column::failed:
      return "FAIL/s";
    case Column::resets:
      return "RST/s";
    case Column::retrans:
      return "RETR/s";
    case Column::alive:
      return "ALIVE";
    case Column::time_wait:
      return "TW";
    case Column::close_wait:
      return "CW";
    case Column::short_lived:
      return "SHORT";
    case Column::srtt_p50:
      return "P50ms";
    case Column::srtt_p99:
      return "P99ms";
  }
  return "?";
}

namespace {

// " (ECONNREFUSED 12.0, ETIMEDOUT 1.0)": failed/s by the kernel's error,
// the most frequent first.
std::string failed_by_text(const Frame& f) {
  if (f.failed_by.empty()) return "";
  const auto by = f.failed_by_largest();
  std::string out = " (";
  for (size_t i = 0; i < by.size(); ++i) {
    if (i) out += ", ";
    out += output::errno_name(by[i].first);
    out += fmt(" %.1f", f.rate(by[i].second));
  }
  out += ')';
  return out;
}

}  // namespace

std::vector<std::string> top_header_lines(const Frame& f, const TopHeader& h) {
  const Row& t = f.totals;
  const aggregate::Counts& c = t.counts;
  std::vector<std::string> lines;
  char buf[256];
  std::snprintf(buf, sizeof buf, "top %s  by %s  sort %s  %.2fs%s", h.ts.c_str(),
                std::string(aggregate::group_by_name(f.by)).c_str(),
                std::string(column_title(h.sort)).c_str(), f.interval_s,
                h.paused ? "  PAUSED" : "");
  lines.emplace_back(buf);
  std::snprintf(buf, sizeof buf, "Opens/s %9.1f (in %.1f, out %.1f)  failed/s %.1f",
                f.rate(c.opens()), f.rate(c.opens_in), f.rate(c.opens_out), f.rate(c.failed));
  std::string opens = buf;
  opens += failed_by_text(f);
  opens += fmt("  closes/s %.1f", f.rate(c.closes));
  lines.push_back(std::move(opens));
  std::string l = fmt("Resets/s %8.1f", f.rate(c.resets()));
  l += fmt("  retrans/s %.1f", f.rate(c.retrans));
  if (auto s = t.short_lived()) l += fmt("  short-lived %.0f%%", *s * 100);
  if (t.srtt_p50_us && t.srtt_p99_us)
    l += "  srtt p50 " + srtt_ms_text(t.srtt_p50_us) + "ms p99 " + srtt_ms_text(t.srtt_p99_us) +
         "ms";
  lines.push_back(std::move(l));
  std::snprintf(buf, sizeof buf, "Alive %" PRIu64 "  TIME-WAIT %" PRIu64 "  CLOSE-WAIT %" PRIu64,
                t.alive, t.time_wait, t.close_wait);
  l = buf;
  if (f.ephemeral_range) {
    std::snprintf(buf, sizeof buf, "  ephemeral %" PRIu64 "/%" PRIu64, f.ephemeral_in_use,
                  f.ephemeral_range);
    l += buf;
  }
  std::snprintf(buf, sizeof buf, "  lost %" PRIu64, f.lost);
  l += buf;
  if (f.alerts) {
    std::snprintf(buf, sizeof buf, "  alerts %" PRIu64, f.alerts);
    l += buf;
  }
  if (f.listen_drops) {
    std::snprintf(buf, sizeof buf, "  listen drops %" PRIu64, f.listen_drops);
    l += buf;
  }
  lines.push_back(std::move(l));
  if (!h.filter.empty()) {
    std::string fl = "Filter: ";
    output::append_terminal_safe(fl, h.filter);
    lines.push_back(std::move(fl));
  }
  return lines;
}

TopTable top_table(const Frame& f, Column sort, size_t max_rows) {
  TopTable t;
  const std::vector<KeyCol> keys = key_columns(f);
  for (KeyCol k : keys)
    t.cols.push_back(
        {key_title(k), 0, k == KeyCol::netns || k == KeyCol::port || k == KeyCol::pid, -1});
  for (int i = 0; i < aggregate::kColumnCount; ++i)
    t.cols.push_back({std::string(column_title(Column(i))), 0, true, i});

  // The frame comes sorted by opens; another order sorts a copy.
  const std::vector<Row>* rows = &f.groups;
  std::vector<Row> sorted;
  if (sort != Column::opens) {
    sorted = f.groups;
    aggregate::sort_rows(sorted, sort);
    rows = &sorted;
  }
  const size_t n = max_rows ? std::min(max_rows, rows->size()) : rows->size();

  t.cells.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Row& r = (*rows)[i];
    std::vector<std::string>& line = t.cells.emplace_back();
    line.reserve(t.cols.size());
    for (KeyCol k : keys) line.push_back(key_cell(r, k));
    for (int c = 0; c < aggregate::kColumnCount; ++c) line.push_back(cell(f, r, Column(c)));
  }
  for (size_t c = 0; c < t.cols.size(); ++c) {
    size_t w = t.cols[c].title.size();
    for (const auto& line : t.cells) w = std::max(w, line[c].size());
    t.cols[c].width = w;
  }
  return t;
}

std::pair<size_t, size_t> TopTable::span(size_t col, size_t max_width) const {
  size_t x = 0;
  for (size_t c = 0; c < cols.size(); ++c) {
    size_t start = c ? x + 1 : 0;
    size_t end = start + cols[c].width;
    if (max_width && end > max_width) return {start, 0};
    if (c == col) return {start, cols[c].width};
    x = end;
  }
  return {x, 0};
}

namespace {

template <typename Text>
std::string table_line(const TopTable& t, size_t max_width, Text text) {
  std::string out;
  for (size_t c = 0; c < t.cols.size(); ++c) {
    auto [start, width] = t.span(c, max_width);
    if (width == 0) break;
    if (c) out += ' ';
    pad(out, text(c), width, t.cols[c].right);
  }
  return out;
}

}  // namespace

std::string TopTable::title_line(size_t max_width) const {
  return table_line(*this, max_width, [this](size_t c) { return cols[c].title; });
}

std::string TopTable::row_line(size_t row, size_t max_width) const {
  return table_line(*this, max_width, [this, row](size_t c) { return cells[row][c]; });
}

std::string top_batch_text(const Frame& f, const TopHeader& h) {
  std::string out;
  for (const std::string& l : top_header_lines(f, h)) out += l + "\n";
  out += "\n";
  TopTable t = top_table(f, h.sort);
  out += t.title_line() + "\n";
  for (size_t r = 0; r < t.cells.size(); ++r) out += t.row_line(r) + "\n";
  out += "\n";
  return out;
}

}  // namespace sstrace::views
