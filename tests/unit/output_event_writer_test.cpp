// The live stream's writers, line by line: the text writer's columns and
// numbers, the JSON writer's timestamps and addresses. The clock is the real
// one, so the time itself is checked by its shape and against the clock.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "connection_literal.h"
#include "diag/sock_info.h"
#include "model/connection.h"
#include "model/event.h"
#include "output/event_writer.h"
#include "output/timestamps.h"

namespace sstrace::output {
namespace {

// Everything a writer wrote, through a real FILE*.
class Captured {
 public:
  Captured() : file_(std::tmpfile()) {}
  ~Captured() { std::fclose(file_); }
  std::FILE* file() { return file_; }
  std::vector<std::string> lines() {
    std::fflush(file_);
    std::rewind(file_);
    std::vector<std::string> out;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, file_)) {
      std::string line(buf);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      out.push_back(line);
    }
    return out;
  }

 private:
  std::FILE* file_;
};

std::vector<model::Event> sample_events(const model::Connection& c, uint64_t ts_ns) {
  std::vector<model::Event> events;
  model::Event e;
  e.conn = &c;
  e.ts_ns = ts_ns;
  e.type = model::EventType::state;
  e.old_state = diag::kEstablished;
  e.new_state = diag::kFinWait1;
  e.old_us = 1203000;
  events.push_back(e);
  e.old_state = diag::kFinWait2;
  e.old_minisocket = true;
  e.new_state = diag::kTimeWait;
  e.new_minisocket = true;
  e.old_us = 12449;
  e.inferred = true;
  e.ts_ns = ts_ns + 1500000000;  // the next second: a new time of day
  events.push_back(e);

  model::Event rtt;
  rtt.conn = &c;
  rtt.ts_ns = ts_ns + 1500000001;
  rtt.type = model::EventType::rtt;
  rtt.srtt_us = 1000;
  rtt.prev_srtt_us = 500;
  rtt.rttvar_us = 1;
  rtt.cwnd = 10;
  events.push_back(rtt);

  model::Event retrans = rtt;
  retrans.type = model::EventType::retransmit;
  retrans.segs = 2;
  retrans.synack = true;
  events.push_back(retrans);

  model::Event close = rtt;
  close.type = model::EventType::close;
  close.summary.duration_us = 830;
  close.summary.bytes_acked = 18446744073709551615ULL;
  close.summary.bytes_received = 200;
  close.summary.retrans = 1;
  close.summary.min_srtt_us = 100;
  close.summary.avg_srtt_us = 2005;
  close.summary.max_srtt_us = 4294967295u;
  close.summary.closed_by = model::ClosedBy::local;
  events.push_back(close);
  return events;
}

TEST(EventText, columns_durations_and_milliseconds) {
  model::Connection c = connection(AF_INET6, "2001:db8::1", 443, "::ffff:10.0.0.1", 50000);
  c.owner = {4242, "curl"};
  sys::WallClock clock;
  Captured out;
  auto w = make_text_event_writer(out.file(), clock, EventFormat{});
  for (const model::Event& e : sample_events(c, 1000)) w->write(e);
  ASSERT_TRUE(w->flush());
  const std::vector<std::string> lines = out.lines();
  ASSERT_EQ(lines.size(), 5u);
  const std::regex time(R"(^\d\d:\d\d:\d\d\.\d{6} )");
  for (const std::string& line : lines) EXPECT_TRUE(std::regex_search(line, time)) << line;
  // The columns after the time (15 characters).
  const std::string endpoints = "[2001:db8::1]:443       [::ffff:10.0.0.1]:50000 ";
  EXPECT_EQ(lines[0].substr(15),
            " state      " + endpoints + "ESTAB -> FIN-WAIT-1 after 1.203s  curl/4242");
  EXPECT_EQ(lines[1].substr(15),
            " state      " + endpoints +
                "FIN-WAIT-2(tw) -> TIME-WAIT after 12.4ms (inferred)  curl/4242");
  EXPECT_EQ(
      lines[2].substr(15),
      " rtt        " + endpoints + "srtt 1.000ms (was 0.500ms) rttvar 0.001ms cwnd 10  curl/4242");
  EXPECT_EQ(lines[3].substr(15), " retransmit " + endpoints + "2 segments (SYN-ACK)  curl/4242");
  EXPECT_EQ(lines[4].substr(15), " close      " + endpoints +
                                     "closed by local after 830us, acked 18446744073709551615 B, "
                                     "received 200 B, retrans 1, rtt min/avg/max "
                                     "0.100/2.005/4294967.295 ms  curl/4242");
}

TEST(EventText, ipv4_endpoints_and_an_unset_peer) {
  model::Connection c = connection(AF_INET, "255.255.255.255", 65535, "0.0.0.0", 0);
  sys::WallClock clock;
  Captured out;
  auto w = make_text_event_writer(out.file(), clock, EventFormat{});
  model::Event e;
  e.conn = &c;
  e.type = model::EventType::retransmit;
  e.segs = 1;
  w->write(e);
  ASSERT_TRUE(w->flush());
  const std::vector<std::string> lines = out.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].substr(15),
            " retransmit 255.255.255.255:65535   *:*                     1 segment");
}

TEST(EventJson, timestamps_and_addresses_as_rfc3339_and_ss_n_text) {
  model::Connection c = connection(AF_INET, "10.1.2.3", 80, "192.168.100.200", 40000);
  sys::WallClock clock;
  Captured out;
  auto w = make_json_event_writer(out.file(), clock);
  const uint64_t ts = 5000000000;
  for (const model::Event& e : sample_events(c, ts)) w->write(e);
  ASSERT_TRUE(w->flush());
  const std::vector<std::string> lines = out.lines();
  ASSERT_EQ(lines.size(), 5u);
  const std::vector<uint64_t> stamps = {ts, ts + 1500000000, ts + 1500000001, ts + 1500000001,
                                        ts + 1500000001};
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["ts"], rfc3339_utc_ns(clock.realtime_ns(stamps[i]))) << lines[i];
    EXPECT_EQ(j["laddr"], "10.1.2.3");
    EXPECT_EQ(j["raddr"], "192.168.100.200");
    EXPECT_EQ(j["lport"], 80);
  }
  EXPECT_TRUE(lines[0].starts_with(R"({"type":"state","ts":")")) << lines[0];
  EXPECT_NE(lines[0].find(R"(","v":1,"netns":4026531840,"cookie":77,"family":"inet","proto":"tcp",)"
                          R"("laddr":"10.1.2.3","lport":80,"raddr":"192.168.100.200",)"
                          R"("rport":40000,"state":"ESTAB","old":"ESTAB","new":"FIN-WAIT-1",)"
                          R"("old_us":1203000})"),
            std::string::npos)
      << lines[0];
}

TEST(EventJson, ipv6_and_the_unset_peer) {
  model::Connection c = connection(AF_INET6, "fe80::1:0:0:1", 22, "::", 0);
  sys::WallClock clock;
  Captured out;
  auto w = make_json_event_writer(out.file(), clock);
  model::Event e;
  e.conn = &c;
  e.type = model::EventType::reset;
  w->write(e);
  ASSERT_TRUE(w->flush());
  const std::vector<std::string> lines = out.lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["laddr"], "fe80::1:0:0:1");
  EXPECT_EQ(j["raddr"], "*");
  EXPECT_EQ(j["family"], "inet6");
}

// An orphan (closed by its process) has no owner, as ss -p shows it: its
// former owner is last_pid/last_comm, and in text last:comm/pid, escaped
// like any comm.
TEST(EventOwner, an_orphan_shows_its_last_owner_never_as_the_owner) {
  model::Connection c = connection(AF_INET, "10.1.2.3", 80, "10.1.2.4", 40000);
  c.state = diag::kFinWait2;
  c.orphan = true;
  c.last_owner = {4242, "cu\x1brl"};
  model::Event e;
  e.conn = &c;
  e.type = model::EventType::table;
  sys::WallClock clock;
  Captured json, text;
  auto jw = make_json_event_writer(json.file(), clock);
  auto tw = make_text_event_writer(text.file(), clock, EventFormat{});
  jw->write(e);
  tw->write(e);
  ASSERT_TRUE(jw->flush());
  ASSERT_TRUE(tw->flush());
  const auto j = nlohmann::json::parse(json.lines().at(0));
  EXPECT_FALSE(j.contains("pid"));
  EXPECT_FALSE(j.contains("comm"));
  EXPECT_EQ(j["last_pid"], 4242);
  EXPECT_EQ(j["last_comm"], "cu\x1brl");
  const std::string line = text.lines().at(0);
  EXPECT_TRUE(line.ends_with("  last:cu\\x1brl/4242")) << line;

  // Owned: pid/comm, never last_*.
  c.orphan = false;
  c.owner = {7, "srv"};
  jw->write(e);
  ASSERT_TRUE(jw->flush());
  const auto owned = nlohmann::json::parse(json.lines().at(1));
  EXPECT_EQ(owned["pid"], 7);
  EXPECT_FALSE(owned.contains("last_pid"));
}

// A socket's first rtt event has no previous value: the JSON leaves
// prev_srtt_us out (0 is never a real srtt) and the text says "first".
TEST(EventRtt, the_first_sample_has_no_previous_value) {
  model::Connection c = connection(AF_INET, "10.1.2.3", 80, "192.168.100.200", 40000);
  model::Event e;
  e.conn = &c;
  e.type = model::EventType::rtt;
  e.srtt_us = 1000;
  e.prev_srtt_us = 0;
  e.rttvar_us = 1;
  e.cwnd = 10;
  sys::WallClock clock;
  Captured json;
  auto jw = make_json_event_writer(json.file(), clock);
  jw->write(e);
  e.srtt_us = 2000;
  e.prev_srtt_us = 1000;
  jw->write(e);
  ASSERT_TRUE(jw->flush());
  const std::vector<std::string> jl = json.lines();
  ASSERT_EQ(jl.size(), 2u);
  const auto first = nlohmann::json::parse(jl[0]);
  EXPECT_EQ(first["type"], "rtt");
  EXPECT_EQ(first["srtt_us"], 1000);
  EXPECT_FALSE(first.contains("prev_srtt_us")) << jl[0];
  const auto second = nlohmann::json::parse(jl[1]);
  EXPECT_EQ(second["prev_srtt_us"], 1000) << jl[1];

  e.srtt_us = 1000;
  e.prev_srtt_us = 0;
  Captured text;
  auto tw = make_text_event_writer(text.file(), clock, EventFormat{});
  tw->write(e);
  ASSERT_TRUE(tw->flush());
  const std::string line = text.lines().at(0);
  EXPECT_NE(line.find("srtt 1.000ms (first) rttvar 0.001ms cwnd 10"), std::string::npos) << line;
  EXPECT_EQ(line.find("was"), std::string::npos) << line;
}

// One socket, one spelling: a dual-stack [::] listener is "*" in state
// and table events as in snapshot events (and ss); a v6only one is "::".
TEST(EventWildcard, a_dual_stack_ipv6_wildcard_is_spelled_as_ss_spells_it) {
  model::Connection dual = connection(AF_INET6, "::", 443, "::", 0);
  dual.state = diag::kListen;
  dual.v6only = false;
  model::Connection v6 = dual;
  v6.key.cookie = 78;
  v6.v6only = true;
  model::Connection bound = connection(AF_INET6, "2001:db8::1", 443, "::", 0);
  bound.v6only = false;
  sys::WallClock clock;
  Captured json;
  auto jw = make_json_event_writer(json.file(), clock);
  Captured text;
  auto tw = make_text_event_writer(text.file(), clock, EventFormat{});
  for (const model::Connection* c : {&dual, &v6, &bound}) {
    for (model::EventType type : {model::EventType::state, model::EventType::table}) {
      model::Event e;
      e.conn = c;
      e.type = type;
      e.old_state = diag::kClose;
      e.new_state = diag::kListen;
      jw->write(e);
      tw->write(e);
    }
  }
  ASSERT_TRUE(jw->flush());
  ASSERT_TRUE(tw->flush());
  const std::vector<std::string> jl = json.lines();
  ASSERT_EQ(jl.size(), 6u);
  const std::vector<std::string> want = {"*", "*", "::", "::", "2001:db8::1", "2001:db8::1"};
  for (size_t i = 0; i < jl.size(); ++i) {
    const auto j = nlohmann::json::parse(jl[i]);
    EXPECT_EQ(j["laddr"], want[i]) << jl[i];
    EXPECT_EQ(j["raddr"], "*") << jl[i];
  }
  const std::vector<std::string> tl = text.lines();
  ASSERT_EQ(tl.size(), 6u);
  const std::vector<std::string> want_text = {
      "*:443 ", "*:443 ", "[::]:443 ", "[::]:443 ", "[2001:db8::1]:443 ", "[2001:db8::1]:443 "};
  for (size_t i = 0; i < tl.size(); ++i)
    EXPECT_EQ(tl[i].substr(27, want_text[i].size()), want_text[i]) << tl[i];
}

// A lost event as each writer writes it: the JSON object and the text line.
struct LostLines {
  nlohmann::json json;
  std::string text;
};

LostLines write_lost(uint64_t ringbuf_full, uint64_t missed_runs, uint64_t queue_full) {
  model::Event e;
  e.type = model::EventType::lost;
  e.ringbuf_full = ringbuf_full;
  e.missed_runs = missed_runs;
  e.queue_full = queue_full;
  e.count = ringbuf_full + missed_runs + queue_full;
  sys::WallClock clock;
  Captured json;
  auto jw = make_json_event_writer(json.file(), clock);
  jw->write(e);
  EXPECT_TRUE(jw->flush());
  Captured text;
  auto tw = make_text_event_writer(text.file(), clock, EventFormat{});
  tw->write(e);
  EXPECT_TRUE(tw->flush());
  return {nlohmann::json::parse(json.lines().at(0)), text.lines().at(0)};
}

TEST(EventLost, both_writers_split_the_count_by_cause) {
  const LostLines l = write_lost(40, 2, 0);
  EXPECT_EQ(l.json["type"], "lost");
  EXPECT_EQ(l.json["count"], 42);
  EXPECT_EQ(l.json["ringbuf_full"], 40);
  EXPECT_EQ(l.json["missed_runs"], 2);
  EXPECT_NE(l.text.find("42 events lost (40 ring buffer full: try --ringbuf-kib; 2 runs skipped by "
                        "the kernel)"),
            std::string::npos)
      << l.text;
}

TEST(EventLost, both_writers_name_records_the_reader_queue_refused) {
  const LostLines l = write_lost(1, 2, 300);
  EXPECT_EQ(l.json["count"], 303);
  EXPECT_EQ(l.json["queue_full"], 300);
  EXPECT_NE(l.text.find("303 events lost (1 ring buffer full: try --ringbuf-kib; 2 runs skipped by "
                        "the kernel; 300 reader queue full: the output is too slow)"),
            std::string::npos)
      << l.text;
}

}  // namespace
}  // namespace sstrace::output
