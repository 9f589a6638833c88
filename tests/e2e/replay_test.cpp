// --replay against the live run it replays. One workload in a namespace is
// watched at the same time by three live processes: the event stream
// (`sstrace --json`, the recording), `sstrace top --json` and a filtered
// stream. The recording is then replayed, and what the replay makes must be
// what the live processes made:
//
//   - `top --replay --json`: per interval, the same groups with the same
//     counts (opens, closes, failed, resets, retrans), gauges, short_lived,
//     srtt percentiles, ephemeral ports in use and lost;
//   - `--replay --json` at a SIGUSR1 `table` of the recording: the same
//     table, connection by connection;
//   - `--replay --json FILTER`: the same socket events as the live stream
//     with that filter;
//   - `-s --replay --json`: the same totals as top's.
//
// Intervals: the live top starts its first interval at its own sync and
// makes a frame when its loop sees the interval over (within 50 ms); the
// replay starts at the recording's sync and ends each interval on the
// events' time. The two processes sync within a fraction of a second of
// each other, so the workload runs in bursts in the middle of the live
// top's intervals (0.7 s into 2 s), far from either side's boundary; the
// test checks that the frames it pairs are less than 0.5 s apart.
//
// Then the file with lines that are not events (text, another schema
// version, foreign JSON, a line cut short) is replayed: counted, named by
// line number, the rest used.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

// Returns the fd, or -errno.
int connect_from(const char* from, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in src = ipv4_addr(from, 0), dst = ipv4_addr("127.0.0.1", port);
  if (fd < 0 || bind(fd, (sockaddr*)&src, sizeof src) < 0)
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  if (connect(fd, (sockaddr*)&dst, sizeof dst) < 0) {
    const int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

// "hold": three connections held open (seeded by every sstrace); "burst":
// six connections to 8080 and three to 9090 opened, used and closed, one
// connect refused (nothing on 9999), one connection reset (SO_LINGER 0).
void client_body(Channel& ch) {
  std::vector<int> held;
  for (std::string cmd; !(cmd = ch.recv()).empty();) {
    if (cmd == "hold") {
      for (int i = 0; i < 3; ++i) held.push_back(connect_from("127.0.0.4", 8080));
    } else if (cmd == "burst") {
      auto one = [](const char* from, uint16_t port) {
        int fd = connect_from(from, port);
        if (fd < 0) throw std::runtime_error("connect: " + std::string(std::strerror(-fd)));
        if (write(fd, "hello", 5) != 5) throw std::runtime_error("write");
        return fd;
      };
      for (int i = 0; i < 6; ++i) close(one("127.0.0.2", 8080));
      for (int i = 0; i < 3; ++i) close(one("127.0.0.3", 9090));
      if (connect_from("127.0.0.5", 9999) != -ECONNREFUSED)
        throw std::runtime_error("connect to 9999 was not refused");
      int fd = one("127.0.0.6", 8080);
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close(fd);
    } else {
      return;
    }
    ch.send("ok");
  }
}

constexpr double kInterval = 2.0;
constexpr int kBursts = 4;

// RFC 3339 UTC with microseconds to seconds since the epoch.
double seconds_of(const std::string& ts) {
  std::tm tm{};
  int us = 0;
  if (sscanf(ts.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &us) != 7)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return double(timegm(&tm)) + us / 1e6;
}

std::vector<Json> parse_lines(const std::string& text) {
  std::vector<Json> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(Json::parse(text.substr(pos, nl - pos), nullptr, false));
    pos = nl + 1;
  }
  return out;
}

::testing::AssertionResult every_line_valid(const std::vector<Json>& lines) {
  for (const Json& j : lines) {
    if (j.is_discarded()) return ::testing::AssertionFailure() << "a line is not JSON";
    auto errors = events_schema().validate(j);
    if (!errors.empty())
      return ::testing::AssertionFailure() << "invalid: " << errors[0] << "\n" << j.dump();
  }
  return ::testing::AssertionSuccess();
}

// What a row (totals or a group) counted in its frame: the rates times the
// interval give the counts back (they are written with three decimals, far
// finer than one event in two seconds); the other fields as they are.
// Left out: the frame's `ts` and `interval_s`, which are the live loop's
// clock in one and the events' time in the other.
std::map<std::string, std::string> row_values(const Json& row, double interval_s) {
  std::map<std::string, std::string> v;
  for (const char* rate :
       {"opens", "opens_in", "opens_out", "closes", "failed", "resets", "retrans"})
    if (row.contains(rate))
      v[rate] = std::to_string(std::llround(row[rate].get<double>() * interval_s));
  for (const char* same : {"alive", "time_wait", "close_wait", "short_lived", "srtt_p50_us",
                           "srtt_p99_us", "peer", "port", "dir"})
    if (row.contains(same)) v[same] = row[same].dump();
  return v;
}

using FrameValues = std::map<std::string, std::map<std::string, std::string>>;

FrameValues frame_values(const Json& f) {
  const double s = f["interval_s"].get<double>();
  FrameValues out;
  out["totals"] = row_values(f["totals"], s);
  out["totals"]["lost"] = f["lost"].dump();
  if (f.contains("ephemeral")) out["totals"]["ephemeral"] = f["ephemeral"].dump();
  for (const Json& g : f["groups"])
    out[str(g, "peer") + " " + std::to_string(num(g, "port")) + " " + str(g, "dir")] =
        row_values(g, s);
  return out;
}

std::vector<Json> whole_frames(const std::vector<Json>& objs, const char* type) {
  std::vector<Json> out;
  for (const Json& o : objs)
    if (is_type(o, type) && o["interval_s"].get<double>() >= kInterval - 0.1) out.push_back(o);
  return out;
}

// A table event as the comparison sees it. state_us and age_us are kept
// to the millisecond: the live model computes them from the kernel's
// monotonic clock, the replay from the RFC 3339 times the recording wrote
// (microseconds, through a wall-clock offset sampled once a second).
std::map<std::string, std::string> table_values(const Json& t) {
  std::map<std::string, std::string> v;
  for (auto it = t.begin(); it != t.end(); ++it) {
    const std::string& k = it.key();
    if (k == "ts") continue;
    if (k == "state_us" || k == "age_us")
      v[k] = std::to_string(it->get<int64_t>() / 1000) + "ms";
    else
      v[k] = it->dump();
  }
  return v;
}

::testing::AssertionResult same_tables(const std::vector<Json>& live,
                                       const std::vector<Json>& replayed) {
  std::map<uint64_t, std::map<std::string, std::string>> a, b;
  for (const Json& t : live)
    if (is_type(t, "table")) a[cookie_of(t)] = table_values(t);
  for (const Json& t : replayed)
    if (is_type(t, "table")) b[cookie_of(t)] = table_values(t);
  if (a.empty()) return ::testing::AssertionFailure() << "the live table is empty";
  for (auto& [cookie, v] : a) {
    auto it = b.find(cookie);
    if (it == b.end()) return ::testing::AssertionFailure() << "replay lacks " << cookie;
    for (auto& [k, x] : v) {
      auto y = it->second.find(k);
      // 1 ms of rounding either way.
      if ((k == "state_us" || k == "age_us") && y != it->second.end() &&
          std::abs(std::stoll(x) - std::stoll(y->second)) <= 1)
        continue;
      if (y == it->second.end() || y->second != x)
        return ::testing::AssertionFailure()
               << "cookie " << cookie << " field " << k << ": live " << x << ", replay "
               << (y == it->second.end() ? "absent" : y->second);
    }
    if (it->second.size() != v.size())
      return ::testing::AssertionFailure() << "cookie " << cookie << ": replay has extra fields";
  }
  if (a.size() != b.size())
    return ::testing::AssertionFailure()
           << "live table " << a.size() << " connections, replay " << b.size();
  return ::testing::AssertionSuccess();
}

// A stream's socket events as a multiset, for comparing two streams that
// saw the same events at different times.
std::multiset<std::string> socket_events(const std::vector<Json>& events) {
  std::multiset<std::string> out;
  for (const Json& e : events) {
    const std::string type = str(e, "type");
    if (type == "sync" || type == "exit" || type == "table" || type == "table_end" ||
        type == "lost")
      continue;
    out.insert(type + " " + std::to_string(cookie_of(e)) + " " + str(e, "state") + " " +
               str(e, "old") + ">" + str(e, "new") + " " + std::to_string(num(e, "lport")) + "-" +
               std::to_string(num(e, "rport")) + " " + str(e, "dir"));
  }
  return out;
}

struct Recording {
  Netns ns;
  std::string file;
  std::vector<Json> live_top;       // top --json
  std::vector<Json> live_filtered;  // --json dport = :9090
  std::vector<Json> live_table;     // the SIGUSR1 table and table_end
};

std::string temp_path(const char* what) {
  return "/tmp/sstrace-replay-" + std::to_string(getpid()) + "-" + what;
}

void record(Recording& rec) {
  Worker server(rec.ns, "rsrv", serve_8080_and_9090);
  Worker client(rec.ns, "rcli", client_body);
  ASSERT_EQ(server.recv(), "ok");
  ASSERT_EQ(client.call("hold"), "ok");

  LiveTrace stream(rec.ns);
  LiveTrace::Config tc;
  tc.command = {"top"};
  tc.args = {"--interval", "2"};
  LiveTrace top(rec.ns, tc);
  LiveTrace::Config fc;
  fc.args = {"dport", "=", ":9090"};
  LiveTrace filtered(rec.ns, fc);
  ASSERT_TRUE(stream.wait_sync()) << stream.describe();
  ASSERT_TRUE(filtered.wait_sync()) << filtered.describe();

  auto frame = [&](size_t n) {
    return top.wait_for([](const Json&) { return true; }, std::chrono::seconds(20), n);
  };
  for (int b = 0; b < kBursts; ++b) {
    ASSERT_TRUE(frame(size_t(b))) << top.describe();
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ASSERT_EQ(client.call("burst"), "ok");
  }
  ASSERT_TRUE(frame(kBursts)) << top.describe();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  rec.live_table = stream.dump_table();
  ASSERT_FALSE(rec.live_table.empty()) << stream.describe();
  ASSERT_TRUE(frame(kBursts + 1)) << top.describe();
  // Past the replay's end of that interval too (its boundaries are the
  // recording's, a fraction of a second from top's), so both have it whole.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  for (LiveTrace* t : {&stream, &top, &filtered}) ASSERT_EQ(t->stop(), 0) << t->describe();

  rec.file = temp_path("recording.json");
  std::ofstream out(rec.file);
  for (const std::string& line : stream.lines()) out << line << "\n";
  ASSERT_TRUE(out.good());
  rec.live_top = top.events();
  rec.live_filtered = filtered.events();
  ASSERT_TRUE(stream_is_sound(stream.events(), stream.lines(), rec.ns.inode()));
}

// sstrace ARGS in the recording's namespace (its ip_local_port_range is the
// one the live top measured ephemeral ports against).
RunResult replay(const Recording& rec, std::vector<std::string> args) {
  args.insert(args.begin(), sstrace_binary());
  return rec.ns.enter(args);
}

TEST(Replay, top_table_filter_and_summary_match_the_live_run) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Recording rec;
  record(rec);
  if (HasFatalFailure()) return;

  // top: every whole live frame has a replayed one at the same time, with
  // the same values.
  RunResult r = replay(rec, {"top", "--replay", rec.file, "--json", "--interval", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<Json> replayed = parse_lines(r.out);
  EXPECT_TRUE(every_line_valid(replayed));
  const std::vector<Json> live_frames = whole_frames(rec.live_top, "top");
  const std::vector<Json> replay_frames = whole_frames(replayed, "top");
  ASSERT_GE(live_frames.size(), size_t(kBursts)) << r.out;
  uint64_t opens = 0;
  for (const Json& lf : live_frames) {
    const double t = seconds_of(str(lf, "ts"));
    const Json* match = nullptr;
    for (const Json& rf : replay_frames)
      if (std::fabs(seconds_of(str(rf, "ts")) - t) < 0.5) match = &rf;
    ASSERT_NE(match, nullptr) << "no replayed frame within 0.5 s of " << lf.dump() << "\n" << r.out;
    EXPECT_EQ(frame_values(lf), frame_values(*match))
        << "live:   " << lf.dump() << "\nreplay: " << match->dump();
    opens += std::llround(lf["totals"]["opens"].get<double>() * lf["interval_s"].get<double>());
  }
  // Not a comparison of empty frames: every burst opens 11 connections out
  // (the refused one included: its SYN went out) and 10 in.
  EXPECT_EQ(opens, uint64_t(kBursts) * 21);

  // -s: the same totals as top's, interval by interval.
  RunResult s = replay(rec, {"-s", "--replay", rec.file, "--json", "--quiet", "--interval", "2"});
  ASSERT_EQ(s.status, 0) << s.err;
  const std::vector<Json> summaries = parse_lines(s.out);
  EXPECT_TRUE(every_line_valid(summaries));
  const std::vector<Json> whole_summaries = whole_frames(summaries, "summary");
  ASSERT_EQ(whole_summaries.size(), replay_frames.size()) << s.out;
  for (size_t i = 0; i < replay_frames.size(); ++i) {
    EXPECT_EQ(frame_values(replay_frames[i])["totals"], [&] {
      auto v =
          row_values(whole_summaries[i]["totals"], whole_summaries[i]["interval_s"].get<double>());
      v["lost"] = whole_summaries[i]["lost"].dump();
      if (whole_summaries[i].contains("ephemeral"))
        v["ephemeral"] = whole_summaries[i]["ephemeral"].dump();
      return v;
    }()) << whole_summaries[i].dump();
    EXPECT_EQ(num(whole_summaries[i]["tcp"], "timewait"),
              num(replay_frames[i]["totals"], "time_wait"))
        << whole_summaries[i].dump();
  }

  // The table the replay writes where the recording has one.
  RunResult j = replay(rec, {"--replay", rec.file, "--json"});
  ASSERT_EQ(j.status, 0) << j.err;
  const std::vector<Json> events = parse_lines(j.out);
  EXPECT_TRUE(every_line_valid(events));
  std::vector<Json> table;
  for (const Json& e : events)
    if (is_type(e, "table") || is_type(e, "table_end")) table.push_back(e);
  ASSERT_FALSE(table.empty()) << j.out;
  EXPECT_EQ(num(table.back(), "sockets"), num(rec.live_table.back(), "sockets"));
  EXPECT_TRUE(same_tables(rec.live_table, table));
  ASSERT_TRUE(is_type(events.back(), "exit")) << events.back().dump();
  EXPECT_EQ(num(events.back(), "events"), int64_t(events.size()));
  EXPECT_TRUE(j.err.empty()) << j.err;

  // The filter as the live stream applied it.
  RunResult f = replay(rec, {"--replay", rec.file, "--json", "dport", "=", ":9090"});
  ASSERT_EQ(f.status, 0) << f.err;
  const std::multiset<std::string> want = socket_events(rec.live_filtered);
  EXPECT_EQ(socket_events(parse_lines(f.out)), want);
  EXPECT_GE(want.size(), size_t(kBursts) * 3) << "the filtered stream saw too little";

  std::remove(rec.file.c_str());
}

// A file as log pipelines leave them: text lines, another schema version,
// foreign JSON, a view's output, a last line cut short. Each is counted and
// named; every event around them is replayed.
TEST(Replay, bad_lines_are_counted_by_line_number_and_the_rest_is_used) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  Worker server(ns, "rsrv", serve_8080_and_9090);
  Worker client(ns, "rcli", client_body);
  ASSERT_EQ(server.recv(), "ok");
  LiveTrace stream(ns);
  ASSERT_TRUE(stream.wait_sync()) << stream.describe();
  ASSERT_EQ(client.call("burst"), "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(stream.stop(), 0) << stream.describe();
  const std::vector<std::string> good = stream.lines();
  ASSERT_GE(good.size(), 20u);

  // Lines 1, 3, 5 and 7 are bad; line 6 is a view's; the last is cut.
  std::vector<std::string> lines = {
      "12:00:00.000000 state      127.0.0.1:8080 127.0.0.2:4000 ESTAB -> FIN-WAIT-1",
      good[0],
      R"({"type":"sync","ts":"2026-11-22T02:31:07.123456Z","v":2,"sockets":0})",
      good[1],
      R"({"level":"info","msg":"unrelated"})",
      R"({"type":"top","ts":"2026-11-22T02:31:07.123456Z","v":1,"interval_s":1})",
      "\x1b[2Jgarbage",
  };
  for (size_t i = 2; i + 1 < good.size(); ++i) lines.push_back(good[i]);  // without exit
  const std::string path = temp_path("bad.json");
  {
    std::ofstream out(path);
    for (const std::string& l : lines) out << l << "\n";
    out << good[5].substr(0, good[5].size() / 2);  // cut: no newline
  }
  RunResult r = run({sstrace_binary(), "--replay", path, "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  const std::vector<Json> out = parse_lines(r.out);
  EXPECT_TRUE(every_line_valid(out));
  // Every good line but the recording's exit, as it was, then a new exit.
  std::vector<std::string> got;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t nl = r.out.find('\n', pos);
    got.push_back(r.out.substr(pos, nl - pos));
    pos = nl + 1;
  }
  ASSERT_EQ(got.size(), good.size());
  for (size_t i = 0; i + 1 < good.size(); ++i) EXPECT_EQ(got[i], good[i]);
  EXPECT_EQ(str(out.back(), "type"), "exit");
  const std::vector<std::string> err = r.err_lines();
  ASSERT_EQ(err.size(), 2u) << r.err;
  EXPECT_EQ(err[0], "sstrace: --replay " + path +
                        ": 5 lines are not sstrace events and were skipped: line 1 (not JSON), "
                        "line 3 (schema version 2, this sstrace reads 1), line 5 (no \"v\"), "
                        "line 7 (not JSON), line " +
                        std::to_string(lines.size() + 1) +
                        " (cut short: no newline at the end of the file)");
  EXPECT_EQ(err[1], "sstrace: --replay " + path +
                        ": 1 summary and top lines skipped: the replay computes its own from "
                        "the events");

  // Text for people from the same file: one line per event, the escape
  // sequence of line 7 never reaches the terminal.
  RunResult t = run({sstrace_binary(), "--replay", path});
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(t.err.find('\x1b'), std::string::npos);
  EXPECT_NE(t.out.find("sockets seeded; streaming"), std::string::npos) << t.out;

  // Nothing usable: exit 1, and why.
  const std::string junk = temp_path("junk.txt");
  {
    std::ofstream o(junk);
    o << "hello\nworld\n";
  }
  RunResult n = run({sstrace_binary(), "--replay", junk, "--json"});
  EXPECT_EQ(n.status, 1);
  EXPECT_TRUE(n.out.empty()) << n.out;
  ASSERT_EQ(n.err_lines().size(), 2u) << n.err;
  EXPECT_EQ(n.err_lines()[1], "sstrace: --replay: " + junk +
                                  ": no sstrace event in it (is it what 'sstrace --json' wrote?)");
  RunResult missing = run({sstrace_binary(), "--replay", junk + ".none"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err,
            "sstrace: --replay: cannot open " + junk + ".none: No such file or directory\n");
  std::remove(path.c_str());
  std::remove(junk.c_str());
}

}  // namespace
}  // namespace sstrace::e2e
