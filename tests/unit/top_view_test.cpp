// top's text (the --batch frame, the table the screen draws) and its key
// handling, from constructed frames: no terminal.
#include <gtest/gtest.h>

#include <cerrno>

#include "views/frame_json.h"
#include "views/top_state.h"
#include "views/top_text.h"

namespace sstrace::views {
namespace {

using aggregate::Column;
using aggregate::Frame;
using aggregate::GroupBy;
using aggregate::Row;

Row group(uint8_t last_octet, uint16_t port, model::Direction dir, uint64_t opens, uint64_t alive,
          uint64_t tw) {
  Row r;
  r.key.family = 2;  // AF_INET
  r.key.peer = {10, 0, 0, last_octet};
  r.key.port = port;
  r.key.dir = dir;
  r.counts.opens_out = opens;
  r.counts.closes = opens;
  r.counts.timed_closes = opens;
  r.counts.short_closes = opens / 2;
  r.alive = alive;
  r.time_wait = tw;
  r.srtt_p50_us = 1500;
  r.srtt_p99_us = 25000;
  return r;
}

Frame frame() {
  Frame f;
  f.interval_s = 2;
  f.by = GroupBy::peer_port;
  f.groups = {group(1, 443, model::Direction::out, 40, 3, 7),
              group(2, 8080, model::Direction::in, 10, 9, 0)};
  for (const Row& r : f.groups) {
    f.totals.counts.add(r.counts);
    f.totals.alive += r.alive;
    f.totals.time_wait += r.time_wait;
  }
  f.totals.srtt_p50_us = 1500;
  f.totals.srtt_p99_us = 25000;
  f.ephemeral_in_use = 12;
  f.ephemeral_range = 28232;
  f.lost = 0;
  return f;
}

TEST(TopText, batch_frame) {
  TopHeader h;
  h.ts = "2026-11-22T02:31:07.123456Z";
  EXPECT_EQ(top_batch_text(frame(), h),
            "top 2026-11-22T02:31:07.123456Z  by peer-port  sort OPEN/s  2.00s\n"
            "Opens/s      25.0 (in 0.0, out 25.0)  failed/s 0.0  closes/s 25.0\n"
            "Resets/s      0.0  retrans/s 0.0  short-lived 50%  srtt p50 1.500ms p99 25.0ms\n"
            "Alive 12  TIME-WAIT 7  CLOSE-WAIT 0  ephemeral 12/28232  lost 0\n"
            "\n"
            "PEER     PORT DIR OPEN/s CLOSE/s FAIL/s RST/s RETR/s ALIVE TW CW SHORT P50ms P99ms\n"
            "10.0.0.1  443 out   20.0    20.0      0     0      0     3  7  0   50% 1.500  25.0\n"
            "10.0.0.2 8080 in     5.0     5.0      0     0      0     9  0  0   50% 1.500  25.0\n"
            "\n");
}

TEST(TopText, failures_by_the_kernels_error_in_the_header_and_the_json_totals) {
  Frame f = frame();
  f.totals.counts.failed = 26;
  f.failed_by = {{ECONNREFUSED, 24}, {ETIMEDOUT, 2}};
  TopHeader h;
  h.ts = "2026-11-22T02:31:07.123456Z";
  EXPECT_EQ(top_header_lines(f, h).at(1),
            "Opens/s      25.0 (in 0.0, out 25.0)  failed/s 13.0 (ECONNREFUSED 12.0, ETIMEDOUT "
            "1.0)  closes/s 25.0");
  auto j = top_json(f, h.ts);
  EXPECT_EQ(j["totals"]["failed"], 13.0);
  EXPECT_EQ(j["totals"]["failed_by"].dump(), R"({"ECONNREFUSED":12.0,"ETIMEDOUT":1.0})");
}

TEST(TopText, sorted_by_another_column_and_cut_to_width) {
  TopTable t = top_table(frame(), Column::alive);
  ASSERT_EQ(t.cells.size(), 2u);
  EXPECT_EQ(t.cells[0][0], "10.0.0.2");  // 9 alive before 3
  // At 40 columns only the whole columns that fit are drawn.
  EXPECT_EQ(t.title_line(40), "PEER     PORT DIR OPEN/s CLOSE/s FAIL/s");
  EXPECT_EQ(t.span(5, 40), (std::pair<size_t, size_t>{33, 6}));
  EXPECT_EQ(t.span(6, 40).second, 0u);
  EXPECT_EQ(top_table(frame(), Column::opens, 1).cells.size(), 1u);
}

TEST(TopText, process_names_are_terminal_safe) {
  Frame f = frame();
  f.by = GroupBy::process;
  f.groups.resize(1);
  f.groups[0].key = {};
  f.groups[0].key.pid = 42;
  f.groups[0].key.comm = "evil\x1b]0;x\x07";
  TopTable t = top_table(f, Column::opens);
  EXPECT_EQ(t.cols[0].title, "PID");
  EXPECT_EQ(t.cells[0][0], "42");
  EXPECT_EQ(t.cells[0][1], "evil\\x1b]0;x\\x07");
}

TEST(TopState, sort_keys) {
  TopState s(GroupBy::peer_port);
  EXPECT_EQ(s.sort(), Column::opens);
  EXPECT_EQ(s.key('<'), TopAction::none);  // already the first column
  EXPECT_EQ(s.key('>'), TopAction::redraw);
  EXPECT_EQ(s.sort(), Column::closes);
  EXPECT_EQ(s.key(kKeyRight), TopAction::redraw);
  EXPECT_EQ(s.sort(), Column::failed);
  EXPECT_EQ(s.key('7'), TopAction::redraw);
  EXPECT_EQ(s.sort(), Column::time_wait);
  EXPECT_EQ(s.key('9'), TopAction::redraw);
  EXPECT_EQ(s.sort(), Column::short_lived);
  s.key('>');
  s.key('>');
  EXPECT_EQ(s.sort(), Column::srtt_p99);
  EXPECT_EQ(s.key('>'), TopAction::none);  // the last column stays
  EXPECT_EQ(s.key(kKeyLeft), TopAction::redraw);
  EXPECT_EQ(s.sort(), Column::srtt_p50);
}

TEST(TopState, grouping_pause_help_quit) {
  TopState s(GroupBy::peer_port);
  EXPECT_EQ(s.key('g'), TopAction::regroup);
  EXPECT_EQ(s.by(), GroupBy::port);
  s.key('g');
  s.key('g');
  EXPECT_EQ(s.by(), GroupBy::process);
  s.key('g');
  EXPECT_EQ(s.by(), GroupBy::peer_port);
  EXPECT_EQ(s.key('p'), TopAction::redraw);
  EXPECT_TRUE(s.paused());
  s.key('p');
  EXPECT_FALSE(s.paused());
  EXPECT_EQ(s.key('?'), TopAction::redraw);
  EXPECT_TRUE(s.help());
  EXPECT_EQ(s.key('g'), TopAction::redraw);  // leaves help, nothing else
  EXPECT_FALSE(s.help());
  EXPECT_EQ(s.by(), GroupBy::peer_port);
  EXPECT_EQ(s.key('z'), TopAction::redraw);
  EXPECT_EQ(s.message(), "unknown key; ? for help");
  EXPECT_EQ(s.key(kKeyResize), TopAction::redraw);
  EXPECT_EQ(s.key(kKeyNone), TopAction::none);
  EXPECT_EQ(s.key('q'), TopAction::quit);
}

TEST(TopState, filter_line) {
  TopState s(GroupBy::peer_port);
  EXPECT_EQ(s.key('/'), TopAction::redraw);
  EXPECT_TRUE(s.editing());
  for (char c : std::string("dport = :44")) s.key(c);
  s.key('q');  // typed, not quit
  s.key(kKeyBackspace);
  s.key('3');
  EXPECT_EQ(s.edit_text(), "dport = :443");
  s.key('\x01');  // not printable: not typed
  EXPECT_EQ(s.key(kKeyEnter), TopAction::filter);
  EXPECT_FALSE(s.editing());
  EXPECT_EQ(s.pending_filter(), "dport = :443");
  EXPECT_EQ(s.filter(), "");  // not until the view accepts it
  s.accept_filter();
  EXPECT_EQ(s.filter(), "dport = :443");

  // A bad one keeps the old filter and says why.
  s.key('/');
  EXPECT_EQ(s.edit_text(), "dport = :443");  // starts from the one in force
  for (int i = 0; i < 12; ++i) s.key(kKeyBackspace);
  for (char c : std::string("dport = :99999")) s.key(c);
  EXPECT_EQ(s.key('\r'), TopAction::filter);
  s.reject_filter("bad port 99999");
  EXPECT_EQ(s.filter(), "dport = :443");
  EXPECT_EQ(s.message(), "bad port 99999");

  // Esc leaves the line without applying it.
  s.key('/');
  s.key('x');
  EXPECT_EQ(s.key(kKeyEscape), TopAction::redraw);
  EXPECT_FALSE(s.editing());
  EXPECT_EQ(s.filter(), "dport = :443");
}

}  // namespace
}  // namespace sstrace::views
