// sstrace top (--json, --batch, the ncurses screen under tmux) and the live
// -s summaries against a workload with known rates: a client process opens
// connections on a fixed schedule from two source addresses to two listener
// ports of a server process, and holds five connections made before sstrace
// starts (seeded: they must count as alive in the first frame).
//
//   127.0.0.2 -> 127.0.0.1:8080   20 connections/s
//   127.0.0.3 -> 127.0.0.1:9090   10 connections/s
//   127.0.0.4 -> 127.0.0.1:8080   5 connections held open, made before sstrace
//
// The client closes first, so its sockets end in TIME-WAIT and the server's
// go through LAST-ACK to CLOSE.
//
// Tolerance: rates are compared as the mean over whole intervals (count over
// time, the partial last interval left out). The client keeps an absolute
// schedule (a late cycle is made up at once), so over K seconds the count
// is exact up to one cycle at each end of the span (3 connections in ~100):
// +-15% leaves room for a client starved of CPU on a loaded 2-core machine
// while still telling 20/s from 10/s, and in from out. A single screen frame
// (tmux) is one interval: +-40% there.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

constexpr double kTol = 0.15;

int connect_from(const char* from, const char* to, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in src = ipv4_addr(from, 0), dst = ipv4_addr(to, port);
  if (fd < 0 || bind(fd, (sockaddr*)&src, sizeof src) < 0 ||
      connect(fd, (sockaddr*)&dst, sizeof dst) < 0)
    throw std::runtime_error("connect " + std::string(from) + " -> " + to + ":" +
                             std::to_string(port) + ": " + std::strerror(errno));
  return fd;
}

// "seed": the five held connections; "go": the schedule, until any line.
void client_body(Channel& ch) {
  std::vector<int> held;
  if (ch.recv() != "seed") return;
  for (int i = 0; i < 5; ++i) held.push_back(connect_from("127.0.0.4", "127.0.0.1", 8080));
  ch.send("ok");
  if (ch.recv() != "go") return;
  ch.send("ok");
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; !ch.pending(); ++k) {
    std::this_thread::sleep_until(t0 + k * std::chrono::milliseconds(100));
    for (int i = 0; i < 2; ++i) close(connect_from("127.0.0.2", "127.0.0.1", 8080));
    close(connect_from("127.0.0.3", "127.0.0.1", 9090));
  }
}

// The namespace, the server and the client, churning.
struct Workload {
  Netns ns;
  Worker server{ns, "topsrv", serve_8080_and_9090};
  Worker client{ns, "topcli", client_body};
  Workload() {
    if (server.recv() != "ok") throw std::runtime_error("server did not start");
    if (client.call("seed") != "ok") throw std::runtime_error("client did not seed");
    if (client.call("go") != "ok") throw std::runtime_error("client did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // steady
  }
};

double rate(const Json& counters, const char* name) {
  return counters.contains(name) ? counters[name].get<double>() : 0;
}

::testing::AssertionResult near(double got, double want, double tol, const std::string& what) {
  if (std::fabs(got - want) <= want * tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": " << got << ", expected " << want << " +-" << tol * 100 << "%";
}

// The top objects of a run, whole intervals only.
std::vector<Json> whole_frames(const std::vector<Json>& events) {
  std::vector<Json> out;
  for (const Json& e : events)
    if (is_type(e, "top") || is_type(e, "summary"))
      if (e["interval_s"].get<double>() >= 0.9) out.push_back(e);
  return out;
}

// Mean rate of `field` over the frames, in the group picked by `pick` (the
// totals when pick is null); 0 where the group is absent.
double mean_rate(const std::vector<Json>& frames, const char* field,
                 const std::function<bool(const Json&)>& pick = nullptr) {
  double count = 0, secs = 0;
  for (const Json& f : frames) {
    double s = f["interval_s"].get<double>();
    secs += s;
    if (!pick) {
      count += rate(f["totals"], field) * s;
      continue;
    }
    for (const Json& g : f["groups"])
      if (pick(g)) count += rate(g, field) * s;
  }
  return secs > 0 ? count / secs : 0;
}

auto group_is(const std::string& peer, int port, const std::string& dir) {
  return [=](const Json& g) {
    return (peer.empty() || str(g, "peer") == peer) && (port == 0 || num(g, "port") == port) &&
           (dir.empty() || str(g, "dir") == dir);
  };
}

::testing::AssertionResult all_valid(const LiveTrace& t) {
  size_t n = 0;
  for (const Json& e : t.events()) {
    if (e.is_null()) return ::testing::AssertionFailure() << "a line is not JSON\n" << t.describe();
    auto errors = events_schema().validate(e);
    if (!errors.empty())
      return ::testing::AssertionFailure() << "invalid: " << errors[0] << "\n" << e.dump();
    ++n;
  }
  if (n == 0) return ::testing::AssertionFailure() << "no object at all\n" << t.describe();
  return ::testing::AssertionSuccess();
}

std::vector<Json> run_top(const Workload& w, const std::vector<std::string>& args,
                          std::vector<std::string>* lines = nullptr, bool json = true) {
  LiveTrace::Config cfg;
  cfg.command = {"top"};
  cfg.json = json;
  cfg.args = args;
  cfg.args.insert(cfg.args.end(), {"--interval", "1", "--duration", "5.5"});
  LiveTrace t(w.ns, cfg);
  int status = t.wait_exit(std::chrono::seconds(60));
  EXPECT_EQ(status, 0) << t.describe();
  if (json) {
    EXPECT_TRUE(all_valid(t));
  }
  if (lines) *lines = t.lines();
  return t.events();
}

TEST(Top, json_peer_port_rates_and_seeded_alive) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Workload w;
  std::vector<Json> all = run_top(w, {});
  std::vector<Json> frames = whole_frames(all);
  ASSERT_GE(frames.size(), 4u);
  for (const Json& f : all) ASSERT_EQ(str(f, "type"), "top") << f.dump();
  EXPECT_EQ(str(frames[0], "by"), "peer-port");

  // Seeded: the server's five held connections are a group of their own
  // from the first frame on, alive, with nothing opened.
  const Json& first = all.front();
  bool seen = false;
  for (const Json& g : first["groups"])
    if (group_is("127.0.0.4", 8080, "in")(g)) {
      seen = true;
      EXPECT_EQ(num(g, "alive"), 5) << g.dump();
      EXPECT_EQ(rate(g, "opens"), 0) << g.dump();
    }
  EXPECT_TRUE(seen) << first.dump();
  EXPECT_GE(num(first["totals"], "alive"), 10) << first.dump();

  EXPECT_TRUE(near(mean_rate(frames, "opens"), 60, kTol, "totals opens"));
  EXPECT_TRUE(near(mean_rate(frames, "opens_in"), 30, kTol, "totals opens_in"));
  EXPECT_TRUE(near(mean_rate(frames, "opens_out"), 30, kTol, "totals opens_out"));
  EXPECT_TRUE(near(mean_rate(frames, "closes"), 60, kTol, "totals closes"));
  EXPECT_EQ(mean_rate(frames, "failed"), 0);
  EXPECT_TRUE(near(mean_rate(frames, "opens", group_is("127.0.0.1", 8080, "out")), 20, kTol,
                   "127.0.0.1:8080 out"));
  EXPECT_TRUE(near(mean_rate(frames, "opens", group_is("127.0.0.1", 9090, "out")), 10, kTol,
                   "127.0.0.1:9090 out"));
  EXPECT_TRUE(near(mean_rate(frames, "opens", group_is("127.0.0.2", 8080, "in")), 20, kTol,
                   "127.0.0.2:8080 in"));
  EXPECT_TRUE(near(mean_rate(frames, "opens", group_is("127.0.0.3", 9090, "in")), 10, kTol,
                   "127.0.0.3:9090 in"));
  // The client closes first: TIME-WAIT piles up on its side only (60 s).
  const Json& last = frames.back();
  for (const Json& g : last["groups"]) {
    EXPECT_TRUE(num(g, "port") == 8080 || num(g, "port") == 9090) << g.dump();
    if (str(g, "dir") == "in") {
      EXPECT_EQ(num(g, "time_wait"), 0) << g.dump();
    }
  }
  EXPECT_GE(num(last["totals"], "time_wait"), 100) << last.dump();
}

TEST(Top, json_by_port_peer_process_keys) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Workload w;
  {
    std::vector<Json> frames = whole_frames(run_top(w, {"--by", "port"}));
    ASSERT_GE(frames.size(), 4u);
    std::set<std::string> keys;
    for (const Json& f : frames)
      for (const Json& g : f["groups"]) {
        EXPECT_FALSE(g.contains("peer")) << g.dump();
        keys.insert(std::to_string(num(g, "port")) + "/" + str(g, "dir"));
      }
    // Service ports only, never the clients' ephemeral ports.
    EXPECT_EQ(keys, (std::set<std::string>{"8080/in", "8080/out", "9090/in", "9090/out"}));
    EXPECT_TRUE(near(mean_rate(frames, "opens", group_is("", 8080, "in")), 20, kTol, "8080 in"));
    EXPECT_TRUE(near(mean_rate(frames, "opens", group_is("", 9090, "out")), 10, kTol, "9090 out"));
  }
  {
    std::vector<Json> frames = whole_frames(run_top(w, {"--by", "peer"}));
    ASSERT_GE(frames.size(), 4u);
    for (const Json& f : frames)
      for (const Json& g : f["groups"]) EXPECT_FALSE(g.contains("port")) << g.dump();
    EXPECT_TRUE(
        near(mean_rate(frames, "opens", group_is("127.0.0.1", 0, "")), 30, kTol, "peer .1"));
    EXPECT_TRUE(
        near(mean_rate(frames, "opens", group_is("127.0.0.2", 0, "")), 20, kTol, "peer .2"));
    EXPECT_TRUE(
        near(mean_rate(frames, "opens", group_is("127.0.0.3", 0, "")), 10, kTol, "peer .3"));
  }
  {
    std::vector<Json> frames = whole_frames(run_top(w, {"--by", "process"}));
    ASSERT_GE(frames.size(), 4u);
    auto comm_is = [](const char* c) { return [c](const Json& g) { return str(g, "comm") == c; }; };
    for (const Json& f : frames)
      for (const Json& g : f["groups"]) {
        EXPECT_FALSE(g.contains("port")) << g.dump();
        if (g.contains("pid")) {
          EXPECT_TRUE(str(g, "comm") == "topcli" || str(g, "comm") == "topsrv") << g.dump();
        }
      }
    // connect() is the client's; the held connections are the server's.
    EXPECT_TRUE(near(mean_rate(frames, "opens_out", comm_is("topcli")), 30, kTol, "topcli out"));
    bool server_holds = false;
    for (const Json& g : frames.back()["groups"])
      if (comm_is("topsrv")(g) && num(g, "alive") >= 5) server_holds = true;
    EXPECT_TRUE(server_holds) << frames.back().dump();
  }
}

// Frames of --batch text: each ends with a blank line after its table.
struct BatchFrame {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // words, column titles first
};

// Frames start with their "top " line; blank lines (which the reader may
// drop) separate the header from the table and end the frame.
std::vector<BatchFrame> batch_frames(const std::vector<std::string>& lines) {
  std::vector<BatchFrame> out;
  for (const std::string& l : lines) {
    if (l.starts_with("top ")) out.emplace_back();
    if (out.empty() || l.empty()) continue;
    BatchFrame& f = out.back();
    if (f.header.size() < 4) {
      f.header.push_back(l);
      continue;
    }
    std::istringstream in(l);
    std::vector<std::string> w;
    for (std::string x; in >> x;) w.push_back(x);
    f.rows.push_back(w);
  }
  return out;
}

TEST(Top, batch_text_frames) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Workload w;
  std::vector<std::string> lines;
  run_top(w, {"--batch"}, &lines, /*json=*/false);
  std::vector<BatchFrame> frames = batch_frames(lines);
  ASSERT_GE(frames.size(), 4u) << lines.size() << " lines";
  double opens = 0, g8080 = 0, g9090 = 0;
  int n = 0;
  for (size_t i = 0; i + 1 < frames.size(); ++i) {  // the last may be partial
    const BatchFrame& f = frames[i];
    ASSERT_GE(f.header.size(), 4u);
    EXPECT_TRUE(f.header[0].starts_with("top ")) << f.header[0];
    EXPECT_NE(f.header[0].find("by peer-port"), std::string::npos) << f.header[0];
    double o = 0;
    ASSERT_EQ(std::sscanf(f.header[1].c_str(), "Opens/s %lf", &o), 1) << f.header[1];
    opens += o;
    EXPECT_TRUE(f.header[3].starts_with("Alive ")) << f.header[3];
    EXPECT_NE(f.header[3].find("TIME-WAIT"), std::string::npos);
    EXPECT_NE(f.header[3].find("ephemeral"), std::string::npos);
    EXPECT_NE(f.header[3].find("lost 0"), std::string::npos) << f.header[3];
    ASSERT_FALSE(f.rows.empty());
    const std::vector<std::string> want_titles{"PEER",   "PORT",  "DIR",    "OPEN/s", "CLOSE/s",
                                               "FAIL/s", "RST/s", "RETR/s", "ALIVE",  "TW",
                                               "CW",     "SHORT", "P50ms",  "P99ms"};
    EXPECT_EQ(f.rows[0], want_titles);
    for (size_t r = 1; r < f.rows.size(); ++r) {
      const auto& row = f.rows[r];
      ASSERT_EQ(row.size(), want_titles.size());
      if (row[0] == "127.0.0.1" && row[1] == "8080" && row[2] == "out") g8080 += std::stod(row[3]);
      if (row[0] == "127.0.0.3" && row[1] == "9090" && row[2] == "in") g9090 += std::stod(row[3]);
    }
    ++n;
  }
  EXPECT_TRUE(near(opens / n, 60, kTol, "header opens/s"));
  EXPECT_TRUE(near(g8080 / n, 20, kTol, "127.0.0.1 8080 out"));
  EXPECT_TRUE(near(g9090 / n, 10, kTol, "127.0.0.3 9090 in"));
}

TEST(LiveSummary, json_quiet_rates) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Workload w;
  LiveTrace::Config cfg;
  cfg.args = {"-s", "--quiet", "--interval", "1", "--duration", "5.5"};
  LiveTrace t(w.ns, cfg);
  ASSERT_EQ(t.wait_exit(std::chrono::seconds(60)), 0) << t.describe();
  ASSERT_TRUE(all_valid(t));
  std::vector<Json> all = t.events();
  for (const Json& e : all) ASSERT_EQ(str(e, "type"), "summary") << e.dump();
  std::vector<Json> frames = whole_frames(all);
  ASSERT_GE(frames.size(), 4u);
  EXPECT_EQ(num(frames[0], "netns"), int64_t(w.ns.inode()));
  EXPECT_TRUE(near(mean_rate(frames, "opens"), 60, kTol, "summary opens"));
  EXPECT_TRUE(near(mean_rate(frames, "opens_out"), 30, kTol, "summary opens_out"));
  EXPECT_TRUE(near(mean_rate(frames, "closes"), 60, kTol, "summary closes"));
  EXPECT_GE(num(all.front()["totals"], "alive"), 10) << all.front().dump();  // seeded
  EXPECT_GE(num(frames.back()["tcp"], "timewait"), 100) << frames.back().dump();
}

// ---------------------------------------------------------------------------
// The screen, under tmux

class Tmux {
 public:
  explicit Tmux(const std::string& command) : socket_("sstrace-e2e-" + std::to_string(getpid())) {
    RunResult r = run({"tmux", "-L", socket_, "-f", "/dev/null", "new-session", "-d", "-x", "80",
                       "-y", "24", "sh"});
    if (r.status != 0) throw std::runtime_error("tmux: " + r.err);
    keys(command);
    keys("Enter");
  }
  ~Tmux() { run({"tmux", "-L", socket_, "kill-server"}); }
  void keys(const std::string& k) { run({"tmux", "-L", socket_, "send-keys", k}); }
  void literal(const std::string& k) { run({"tmux", "-L", socket_, "send-keys", "-l", k}); }
  std::string capture() { return run({"tmux", "-L", socket_, "capture-pane", "-p"}).out; }
  // Waits until pred(the pane) holds; the last capture either way.
  std::string wait(const std::function<bool(const std::string&)>& pred,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    std::string pane;
    do {
      pane = capture();
      if (pred(pane)) return pane;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < end);
    return pane;
  }

 private:
  std::string socket_;
};

std::vector<std::string> pane_lines(const std::string& pane) {
  std::vector<std::string> out;
  std::istringstream in(pane);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The table's rows (words) under the title line that starts with `title`.
std::vector<std::vector<std::string>> pane_rows(const std::string& pane, const std::string& title) {
  std::vector<std::vector<std::string>> rows;
  bool in = false;
  for (const std::string& l : pane_lines(pane)) {
    std::istringstream s(l);
    std::vector<std::string> w;
    for (std::string x; s >> x;) w.push_back(x);
    if (!in) {
      in = !w.empty() && w[0] == title;
      continue;
    }
    if (w.empty() || w[0] == "q") break;
    rows.push_back(w);
  }
  return rows;
}

bool has(const std::string& pane, const std::string& s) {
  return pane.find(s) != std::string::npos;
}

TEST(Top, screen_under_tmux) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Workload w;
  Tmux tmux(sstrace_binary() + " top -N " + w.ns.name() + "; echo EXIT=$?");
  // A whole interval of the workload: the header and the rows show it.
  std::string pane = tmux.wait([](const std::string& p) {
    return has(p, "by peer-port") && has(p, "127.0.0.1 8080 out") && !has(p, " 0.00s");
  });
  ASSERT_TRUE(has(pane, "PEER")) << pane;
  ASSERT_TRUE(has(pane, "127.0.0.1 8080 out")) << pane;
  EXPECT_TRUE(has(pane, "q quit")) << pane;  // the footer
  for (const std::string& l : pane_lines(pane)) EXPECT_LE(l.size(), 80u) << l;
  double opens = 0;
  for (const std::string& l : pane_lines(pane))
    if (l.starts_with("Opens/s")) std::sscanf(l.c_str(), "Opens/s %lf", &opens);
  EXPECT_TRUE(near(opens, 60, 0.4, "screen Opens/s")) << pane;
  auto rows = pane_rows(pane, "PEER");
  ASSERT_GE(rows.size(), 4u) << pane;
  // Sorted by opens: the 20/s groups (8080) above the 10/s ones (9090).
  EXPECT_EQ(rows[0][1], "8080") << pane;
  EXPECT_EQ(rows[1][1], "8080") << pane;

  // g: the next grouping, port: no PEER column any more.
  tmux.literal("g");
  pane = tmux.wait([](const std::string& p) { return has(p, "by port ") && has(p, " PORT DIR"); });
  ASSERT_TRUE(has(pane, "by port ")) << pane;
  EXPECT_FALSE(has(pane, "PEER")) << pane;
  rows = pane_rows(pane, "PORT");
  ASSERT_GE(rows.size(), 4u) << pane;
  for (const auto& r : rows) EXPECT_TRUE(r[0] == "8080" || r[0] == "9090") << pane;

  // 7: sort by TIME-WAIT: the clients' groups first, 8080's (two a
  // cycle) above 9090's (one), then the servers' (none).
  tmux.literal("7");
  pane = tmux.wait([](const std::string& p) { return has(p, "sort TW"); });
  ASSERT_TRUE(has(pane, "sort TW")) << pane;
  rows = pane_rows(pane, "PORT");
  ASSERT_GE(rows.size(), 4u) << pane;
  EXPECT_EQ(rows[0][0] + "/" + rows[0][1], "8080/out") << pane;
  EXPECT_EQ(rows[1][0] + "/" + rows[1][1], "9090/out") << pane;

  // q: quits with status 0, and the shell's screen is back.
  tmux.literal("q");
  pane = tmux.wait([](const std::string& p) { return has(p, "EXIT="); });
  EXPECT_TRUE(has(pane, "EXIT=0")) << pane;
  EXPECT_FALSE(has(pane, "q quit")) << pane;  // the alternate screen is gone
  EXPECT_FALSE(has(pane, "Opens/s")) << pane;
}

}  // namespace
}  // namespace sstrace::e2e
