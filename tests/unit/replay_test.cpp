// --replay's pure parts: a line the JSON writer wrote reads back as the
// event it was; lines that are not our events are verdicts with a reason;
// the replay's table follows what the live model follows.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdio>
#include <string>
#include <vector>

#include "connection_literal.h"
#include "diag/sock_info.h"
#include "model/event.h"
#include "output/event_writer.h"
#include "replay/bad_lines.h"
#include "replay/event_line.h"
#include "replay/replay_table.h"
#include "sys/clock.h"

namespace sstrace::replay {
namespace {

// 2026-11-22T02:31:07.123456Z
constexpr uint64_t kTs = 1795314667123456000ULL;

// What the live stream's JSON writer writes for e, on the events' clock.
std::string json_line(const model::Event& e) {
  sys::WallClock clock{sys::WallClock::EventTime{}};
  std::FILE* f = std::tmpfile();
  auto w = output::make_json_event_writer(f, clock);
  w->write(e);
  EXPECT_TRUE(w->flush());
  std::rewind(f);
  char buf[4096] = {};
  EXPECT_NE(std::fgets(buf, sizeof buf, f), nullptr);
  std::fclose(f);
  std::string line(buf);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

RecordedEvent read_back(const model::Event& e) {
  const std::string line = json_line(e);
  ParsedLine p = parse_event_line(line);
  EXPECT_EQ(p.verdict, Verdict::event) << line << ": " << p.why;
  return p.recorded;
}

void expect_same_conn(const model::Connection& a, const model::Connection& b) {
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.family, b.family);
  EXPECT_EQ(a.local.addr, b.local.addr);
  EXPECT_EQ(a.local.port, b.local.port);
  EXPECT_EQ(a.remote.addr, b.remote.addr);
  EXPECT_EQ(a.remote.port, b.remote.port);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.minisocket, b.minisocket);
  EXPECT_EQ(a.owner.pid, b.owner.pid);
  EXPECT_EQ(a.owner.comm, b.owner.comm);
  EXPECT_EQ(a.last_owner.pid, b.last_owner.pid);
  EXPECT_EQ(a.last_owner.comm, b.last_owner.comm);
}

TEST(ReplayLine, state_event_reads_back_as_written) {
  model::Connection c = connection(AF_INET6, "2001:db8::1", 443, "::ffff:10.0.0.1", 50000);
  c.owner = {4242, "cu\"rl\\x"};
  c.state = diag::kTimeWait;
  c.minisocket = true;
  model::Event e;
  e.type = model::EventType::state;
  e.ts_ns = kTs;
  e.conn = &c;
  e.old_state = diag::kFinWait2;
  e.new_state = diag::kTimeWait;
  e.old_us = 12449;
  e.inferred = true;
  RecordedEvent r = read_back(e);
  EXPECT_EQ(r.event.type, model::EventType::state);
  EXPECT_EQ(r.event.ts_ns, kTs);
  EXPECT_EQ(r.event.old_state, diag::kFinWait2);
  EXPECT_EQ(r.event.new_state, diag::kTimeWait);
  EXPECT_EQ(r.event.old_us, 12449);
  EXPECT_TRUE(r.event.inferred);
  EXPECT_FALSE(r.event.in_connect);
  ASSERT_TRUE(r.has_conn);
  expect_same_conn(r.conn, c);
}

// A request minisocket's events carry `request`; its child's takeover of
// the cookie is written SYN-RECV -> SYN-RECV and counts as the passive open.
TEST(ReplayLine, requests_and_the_childs_takeover_read_back) {
  model::Connection req = connection(AF_INET, "127.0.0.1", 80, "127.0.0.2", 41000);
  req.state = diag::kSynRecv;
  req.request = true;
  model::Event seen;
  seen.type = model::EventType::state;
  seen.ts_ns = kTs;
  seen.conn = &req;
  seen.old_state = diag::kClose;
  seen.new_state = diag::kSynRecv;
  seen.inferred = true;
  RecordedEvent r = read_back(seen);
  EXPECT_TRUE(r.conn.request);
  EXPECT_FALSE(r.event.old_request);

  model::Connection child = req;
  child.request = false;
  model::Event takeover = seen;
  takeover.conn = &child;
  takeover.old_state = diag::kSynRecv;
  takeover.inferred = false;
  takeover.old_request = true;
  r = read_back(takeover);
  EXPECT_FALSE(r.conn.request);
  EXPECT_TRUE(r.event.old_request);
}

TEST(ReplayLine, close_rtt_reset_and_connect_error_read_back) {
  model::Connection c = connection(AF_INET, "10.0.0.1", 40000, "10.0.0.2", 80);
  c.state = diag::kClose;
  c.last_owner = {7, "client"};
  model::Event close;
  close.type = model::EventType::close;
  close.ts_ns = kTs;
  close.conn = &c;
  close.summary.duration_us = 830;
  close.summary.bytes_acked = 18446744073709551615ULL;
  close.summary.bytes_received = 200;
  close.summary.retrans = 3;
  close.summary.min_srtt_us = 100;
  close.summary.avg_srtt_us = 150;
  close.summary.max_srtt_us = 200;
  close.summary.srtt_us = 120;
  close.summary.closed_by = model::ClosedBy::failed;
  close.summary.failure = ECONNREFUSED;
  close.summary.syn_retrans = 2;
  RecordedEvent r = read_back(close);
  const model::CloseSummary& s = r.event.summary;
  EXPECT_EQ(s.duration_us, 830);
  EXPECT_EQ(s.bytes_acked, 18446744073709551615ULL);
  EXPECT_EQ(s.bytes_received, 200u);
  EXPECT_EQ(s.retrans, 3u);
  EXPECT_EQ(s.min_srtt_us, 100u);
  EXPECT_EQ(s.avg_srtt_us, 150u);
  EXPECT_EQ(s.max_srtt_us, 200u);
  EXPECT_EQ(s.srtt_us, 120u);
  EXPECT_EQ(s.closed_by, model::ClosedBy::failed);
  EXPECT_EQ(s.failure, ECONNREFUSED);
  EXPECT_EQ(s.syn_retrans, 2);
  EXPECT_FALSE(r.event.in_connect);
  expect_same_conn(r.conn, c);

  model::Event rtt;
  rtt.type = model::EventType::rtt;
  rtt.ts_ns = kTs;
  rtt.conn = &c;
  rtt.srtt_us = 1000;
  rtt.rttvar_us = 5;
  rtt.prev_srtt_us = 500;
  rtt.min_rtt_us = 90;
  rtt.cwnd = 10;
  rtt.ssthresh = 7;
  rtt.packets_out = 3;
  r = read_back(rtt);
  EXPECT_EQ(r.event.srtt_us, 1000u);
  EXPECT_EQ(r.event.rttvar_us, 5u);
  EXPECT_EQ(r.event.prev_srtt_us, 500u);
  EXPECT_EQ(r.event.min_rtt_us, 90u);
  EXPECT_EQ(r.event.cwnd, 10u);
  EXPECT_EQ(r.event.ssthresh, 7u);
  EXPECT_EQ(r.event.packets_out, 3u);

  model::Event reset;
  reset.type = model::EventType::reset;
  reset.ts_ns = kTs;
  reset.conn = &c;
  reset.reset_sent = true;
  reset.reset_reason = "no_socket";
  r = read_back(reset);
  EXPECT_TRUE(r.event.reset_sent);
  EXPECT_EQ(r.reset_reason, "no_socket");

  model::Event ce;
  ce.type = model::EventType::connect_error;
  ce.ts_ns = kTs;
  ce.conn = &c;
  ce.error = EADDRNOTAVAIL;
  r = read_back(ce);
  EXPECT_EQ(r.event.error, EADDRNOTAVAIL);
}

// connect() taking back its own SYN-SENT (no free local port) is written
// with local port 0: the replay marks it as the live model's flag did, so
// the views do not count an open and a failure for it.
TEST(ReplayLine, syn_sent_to_close_without_a_port_is_connect_undoing_its_open) {
  model::Connection c = connection(AF_INET, "0.0.0.0", 0, "10.0.0.2", 80);
  c.state = diag::kClose;
  model::Event e;
  e.type = model::EventType::state;
  e.ts_ns = kTs;
  e.conn = &c;
  e.old_state = diag::kSynSent;
  e.new_state = diag::kClose;
  EXPECT_TRUE(read_back(e).event.in_connect);
  c.local.port = 40000;
  EXPECT_FALSE(read_back(e).event.in_connect);
}

TEST(ReplayLine, counters_of_lost_sync_and_exit_read_back) {
  model::Event lost;
  lost.type = model::EventType::lost;
  lost.ts_ns = kTs;
  lost.count = 9;
  lost.ringbuf_full = 2;
  lost.missed_runs = 3;
  lost.queue_full = 4;
  RecordedEvent r = read_back(lost);
  EXPECT_EQ(r.event.count, 9u);
  EXPECT_EQ(r.event.ringbuf_full, 2u);
  EXPECT_EQ(r.event.missed_runs, 3u);
  EXPECT_EQ(r.event.queue_full, 4u);
  EXPECT_FALSE(r.has_conn);

  model::Event sync;
  sync.type = model::EventType::sync;
  sync.ts_ns = kTs;
  sync.count = 12;
  EXPECT_EQ(read_back(sync).event.count, 12u);
}

TEST(ReplayLine, snapshot_fields_the_views_need) {
  const std::string line =
      R"({"type":"snapshot","ts":"2026-11-22T02:31:07.123456Z","v":1,"netns":4026531840,)"
      R"("cookie":9,"family":"inet6","proto":"tcp","netid":"tcp","state":"LISTEN","laddr":"*",)"
      R"("lport":80,"raddr":"*","rport":0,"recv_q":0,"send_q":128,"uid":0,"inode":123,)"
      R"("tcp_info":{"rtt_us":250,"rttvar_us":10,"bytes_acked":1},"pid":1,"comm":"nginx"})";
  ParsedLine p = parse_event_line(line);
  ASSERT_EQ(p.verdict, Verdict::event) << p.why;
  const RecordedEvent& r = p.recorded;
  EXPECT_EQ(r.info.state, diag::kListen);
  EXPECT_EQ(r.info.inode, 123u);
  EXPECT_EQ(r.info.send_q, 128u);
  EXPECT_TRUE(r.info.has_tcp_info);
  EXPECT_EQ(r.info.tcp_info.tcpi_rtt, 250u);
  EXPECT_EQ(r.conn.owner.pid, 1u);
  EXPECT_EQ(r.conn.owner.comm, "nginx");
  EXPECT_FALSE(r.conn.v6only);  // "*": the dual-stack wildcard
}

TEST(ReplayLine, what_is_not_an_event_of_ours_says_why) {
  auto why = [](std::string_view line) {
    ParsedLine p = parse_event_line(line);
    EXPECT_EQ(p.verdict, Verdict::bad) << line;
    return p.why;
  };
  EXPECT_EQ(why("12:00:01.000000 state  1.2.3.4:5"), "not JSON");
  EXPECT_EQ(why(R"({"type":"sync","ts":"2026-11-22T02:31:07.123456Z","v":1,"sock)"), "not JSON");
  EXPECT_EQ(why("[1,2]"), "not a JSON object");
  EXPECT_EQ(why(R"({"type":"sync","ts":"2026-11-22T02:31:07Z","v":2,"sockets":0})"),
            "schema version 2, this sstrace reads 1");
  EXPECT_EQ(why(R"({"msg":"hello"})"), "no \"v\"");
  EXPECT_EQ(why(R"({"type":"sync","ts":"yesterday","v":1,"sockets":0})"),
            "\"ts\" is not an RFC 3339 UTC time");
  EXPECT_EQ(why(R"({"type":"bogus","ts":"2026-11-22T02:31:07Z","v":1})"), "unknown type \"bogus\"");
  EXPECT_EQ(why(R"({"type":"sync","ts":"2026-11-22T02:31:07Z","v":1})"), "no \"sockets\"");
  EXPECT_EQ(why(R"({"type":"sync","ts":"2026-11-22T02:31:07Z","v":1,"sockets":-1})"),
            "\"sockets\" is out of range");
  EXPECT_EQ(why(R"({"type":"state","ts":"2026-11-22T02:31:07Z","v":1,"netns":1,"cookie":2,)"
                R"("family":"inet","proto":"tcp","laddr":"1.2.3.4","lport":70000,"raddr":"*",)"
                R"("rport":0,"state":"ESTAB","old":"SYN-SENT","new":"ESTAB"})"),
            "\"lport\" is out of range");
  EXPECT_EQ(why(R"({"type":"state","ts":"2026-11-22T02:31:07Z","v":1,"netns":1,"cookie":2,)"
                R"("family":"inet","proto":"tcp","laddr":"1.2.3.4","lport":7,"raddr":"*",)"
                R"("rport":0,"state":"ESTAB","old":"SYN-SENT","new":"DANCING"})"),
            "\"new\" is not a TCP state");
  // The views' output is no event, and no mistake either.
  EXPECT_EQ(parse_event_line(R"({"type":"top","ts":"2026-11-22T02:31:07Z","v":1})").verdict,
            Verdict::view_output);
}

TEST(ReplayLine, rfc3339_as_the_stream_writes_it) {
  EXPECT_EQ(parse_rfc3339_ns("2026-11-22T02:31:07.123456Z"), int64_t(kTs));
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T00:00:01Z"), 1'000'000'000);
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T00:00:00.5Z"), 500'000'000);
  EXPECT_FALSE(parse_rfc3339_ns("2026-11-22T02:31:07.123456"));
  EXPECT_FALSE(parse_rfc3339_ns("2026-11-22 02:31:07Z"));
  EXPECT_FALSE(parse_rfc3339_ns("2026-13-22T02:31:07Z"));
  EXPECT_FALSE(parse_rfc3339_ns("2026-11-22T02:31:07.Z"));
}

TEST(ReplayBadLines, lists_the_first_few_and_counts_the_rest) {
  BadLines bad;
  for (uint64_t n = 1; n <= 8; ++n)
    bad.add(n * 10, n == 1 ? "unknown type \"\x1b[2J\"" : "not JSON");
  EXPECT_EQ(bad.count(), 8u);
  EXPECT_EQ(bad.report(),
            "8 lines are not sstrace events and were skipped: line 10 (unknown type "
            "\"\\x1b[2J\"), line 20 (not JSON), line 30 (not JSON), line 40 (not JSON), line 50 "
            "(not JSON), and 3 more");
}

// The table gives each event the connection as the live model had it:
// direction, birth, RTT extremes, retransmissions; and lets it go at close.
TEST(ReplayTable, follows_a_connection_from_open_to_close) {
  ReplayTable table;
  model::Connection c = connection(AF_INET, "10.0.0.1", 40000, "10.0.0.2", 80);
  auto apply = [&](model::Event e) {
    e.conn = &c;
    RecordedEvent r = read_back(e);
    table.apply(r);
    EXPECT_NE(r.event.conn, nullptr);
    return r.event.conn ? *r.event.conn : model::Connection{};
  };
  model::Event open;
  open.type = model::EventType::state;
  open.ts_ns = kTs;
  c.state = diag::kSynSent;
  open.old_state = diag::kClose;
  open.new_state = diag::kSynSent;
  model::Connection t = apply(open);
  EXPECT_EQ(t.dir, model::Direction::out);
  EXPECT_EQ(t.born_ns, kTs);

  model::Event rtt;
  rtt.type = model::EventType::rtt;
  rtt.ts_ns = kTs + 1000;
  c.state = diag::kEstablished;
  for (uint32_t srtt : {300u, 100u, 200u}) {
    rtt.srtt_us = srtt;
    t = apply(rtt);
  }
  EXPECT_EQ(t.srtt_us, 200u);
  EXPECT_EQ(t.min_srtt_us, 100u);
  EXPECT_EQ(t.max_srtt_us, 300u);

  model::Event rt;
  rt.type = model::EventType::retransmit;
  rt.ts_ns = kTs + 2000;
  rt.segs = 2;
  apply(rt);
  t = apply(rt);
  EXPECT_EQ(t.retrans_segs, 4u);
  EXPECT_EQ(table.size(), 1u);

  std::vector<model::Event> emitted;
  table.emit_table(kTs + 5000, [&](const model::Event& e) { emitted.push_back(e); });
  ASSERT_EQ(emitted.size(), 2u);
  EXPECT_EQ(emitted[0].type, model::EventType::table);
  EXPECT_EQ(emitted[1].type, model::EventType::table_end);
  EXPECT_EQ(emitted[1].count, 1u);

  model::Event close;
  close.type = model::EventType::close;
  close.ts_ns = kTs + 3000;
  c.state = diag::kClose;
  close.summary.closed_by = model::ClosedBy::local;
  t = apply(close);
  EXPECT_EQ(t.dir, model::Direction::out);  // the event still sees it
  EXPECT_EQ(table.size(), 0u);

  // A reset after the close counts where the connection was.
  model::Event reset;
  reset.type = model::EventType::reset;
  reset.ts_ns = kTs + 4000;
  reset.reset_sent = true;
  t = apply(reset);
  EXPECT_EQ(t.dir, model::Direction::out);
}

TEST(ReplayTable, seeded_child_of_a_listener_is_an_inbound_connection) {
  ReplayTable table;
  auto snapshot = [&](const char* json) {
    ParsedLine p = parse_event_line(json);
    EXPECT_EQ(p.verdict, Verdict::event) << p.why;
    RecordedEvent r = p.recorded;
    table.apply(r);
    return *r.event.conn;
  };
  snapshot(R"({"type":"snapshot","ts":"2026-11-22T02:31:07Z","v":1,"netns":1,"cookie":1,)"
           R"("family":"inet","proto":"tcp","state":"LISTEN","laddr":"*","lport":8080,)"
           R"("raddr":"*","rport":0,"recv_q":0,"send_q":128,"inode":5})");
  const model::Connection child =
      snapshot(R"({"type":"snapshot","ts":"2026-11-22T02:31:07Z","v":1,"netns":1,"cookie":2,)"
               R"("family":"inet","proto":"tcp","state":"ESTAB","laddr":"10.0.0.1",)"
               R"("lport":8080,"raddr":"10.0.0.2","rport":50000,"recv_q":0,"send_q":0,)"
               R"("inode":6,"tcp_info":{"rtt_us":77}})");
  EXPECT_EQ(child.dir, model::Direction::in);
  EXPECT_TRUE(child.seeded);
  EXPECT_EQ(child.srtt_us, 77u);
  const model::Connection tw =
      snapshot(R"({"type":"snapshot","ts":"2026-11-22T02:31:07Z","v":1,"netns":1,"cookie":3,)"
               R"("family":"inet","proto":"tcp","state":"TIME-WAIT","laddr":"10.0.0.1",)"
               R"("lport":40000,"raddr":"10.0.0.2","rport":80,"recv_q":0,"send_q":0,)"
               R"("timer":{"name":"timewait","expires_ms":100,"retrans":0}})");
  EXPECT_TRUE(tw.minisocket);
  EXPECT_EQ(tw.dir, model::Direction::out);
  const ReplayTable::TcpCounts n = table.tcp_counts();
  EXPECT_EQ(n.timewait, 1u);
  EXPECT_EQ(n.full, 2u);
  EXPECT_EQ(n.estab, 1u);
}

}  // namespace
}  // namespace sstrace::replay
