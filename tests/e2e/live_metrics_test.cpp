// --metrics: the Prometheus endpoint against a workload the test makes in a
// namespace of its own, read two ways: scraped directly (curl), and
// through a real Prometheus (Debian's prometheus, on loopback, 1 s scrape
// interval) queried over its HTTP API. The counters must equal the
// workload's and the namespace's own SNMP counters (nstat's TcpActiveOpens,
// TcpPassiveOpens, TcpAttemptFails deltas).
//
// The endpoint listens in the namespace sstrace was started in (the test's,
// the host's), not in the -N namespace the workload runs in: the test
// scrapes 127.0.0.1 from outside it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "live_harness.h"

extern char** environ;

namespace sstrace::e2e {
namespace {

// A loopback port nobody listens on now (the kernel's choice for port 0).
uint16_t free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0)
    throw std::runtime_error("no free loopback port");
  close(fd);
  return ntohs(a.sin_port);
}

// "name{labels}" -> value, for every sample line of a text exposition.
std::map<std::string, double> parse_exposition(const std::string& text) {
  std::map<std::string, double> v;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    v[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return v;
}

RunResult curl(const std::string& url, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "5"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  return run(argv, "", 10s);
}

std::map<std::string, double> scrape(uint16_t port) {
  RunResult r = curl("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  if (r.status != 0) return {};
  return parse_exposition(r.out);
}

double get(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  return it == m.end() ? -1 : it->second;
}

double sum_of(const std::map<std::string, double>& m, const std::string& family) {
  double s = 0;
  for (const auto& [k, v] : m)
    if (k.rfind(family + "{", 0) == 0 || k == family) s += v;
  return s;
}

// The workload, made in the namespace while sstrace follows it: kOk
// connections to a listener that was there before sstrace started (so it is
// seeded: it proves the endpoint's readiness and counts in the gauge from
// the start), kRefused connects to a port nobody listens on. The
// connections stay open, so every kernel transition of the workload is one
// of these, and none is left for later:
//   each accepted connection: CLOSE>SYN-SENT, SYN-SENT>ESTAB (client),
//                             LISTEN>SYN-RECV, SYN-RECV>ESTAB (server)
//   each refused connect:     CLOSE>SYN-SENT, SYN-SENT>CLOSE
constexpr int kOk = 12;
constexpr int kRefused = 5;
constexpr int kTransitions = 4 * kOk + 2 * kRefused;

struct Workload {
  std::map<std::string, uint64_t> before, after;
  uint64_t delta(const char* k) const { return after.at(k) - before.at(k); }
};

Workload run_workload(const Netns& ns, SocketSet& set, int listener) {
  Workload w;
  w.before = tcp_snmp(ns);
  for (int i = 0; i < kOk; ++i) set.tcp_connect(listener);
  for (int i = 0; i < kRefused; ++i) {
    int err = ns.call([] {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(9);  // discard: nobody listens in a fresh namespace
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      int e = rc < 0 ? errno : 0;
      close(fd);
      return e;
    });
    if (err != ECONNREFUSED) throw std::runtime_error("the refused connect was not refused");
  }
  w.after = tcp_snmp(ns);
  return w;
}

// sstrace --quiet --metrics on a free loopback port, following ns. Ready
// once the seeded listener shows in the gauge: the tracer is attached
// before the seeding dump, so nothing after that is missed.
struct MetricsAgent {
  uint16_t port = free_loopback_port();
  LiveTrace live;
  MetricsAgent(const Netns& ns, std::vector<std::string> extra = {})
      : live(ns, LiveTrace::Config{args(extra)}) {}
  std::vector<std::string> args(const std::vector<std::string>& extra) const {
    std::vector<std::string> a = {"--metrics", "127.0.0.1:" + std::to_string(port), "--quiet"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  bool wait_ready(std::chrono::milliseconds timeout = 30s) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && !live.exited()) {
      if (get(scrape(port), R"(sstrace_connections{state="LISTEN"})") == 1) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  // Waits until the metrics stop moving (the stream has caught up).
  std::map<std::string, double> settled(std::chrono::milliseconds timeout = 10s) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::map<std::string, double> last = scrape(port);
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(300ms);
      auto now = scrape(port);
      if (now == last && !now.empty()) return now;
      last = now;
    }
    return last;
  }
};

TEST(LiveMetrics, counters_equal_the_workload_and_nstat) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketSet set(ns);
  int listener = set.tcp_listen("127.0.0.1");
  MetricsAgent agent(ns, {"--metrics-peers", "2"});
  ASSERT_TRUE(agent.wait_ready()) << agent.live.describe();
  Workload w = run_workload(ns, set, listener);
  auto m = agent.settled();

  // The namespace's own counters say the same as the workload.
  ASSERT_EQ(w.delta("ActiveOpens"), uint64_t(kOk + kRefused));
  ASSERT_EQ(w.delta("PassiveOpens"), uint64_t(kOk));
  ASSERT_EQ(w.delta("AttemptFails"), uint64_t(kRefused));
  // Every peer is 127.0.0.1: one label, nothing in `other`.
  EXPECT_EQ(get(m, R"(sstrace_connections_opened_total{dir="out",peer="127.0.0.1"})"),
            double(w.delta("ActiveOpens")));
  EXPECT_EQ(get(m, R"(sstrace_connections_opened_total{dir="in",peer="127.0.0.1"})"),
            double(w.delta("PassiveOpens")));
  EXPECT_EQ(get(m, R"(sstrace_connections_opened_total{dir="out",peer="other"})"), 0);
  EXPECT_EQ(sum_of(m, "sstrace_connect_failures_total"), double(w.delta("AttemptFails")));
  EXPECT_EQ(get(m, R"(sstrace_connect_failures_total{peer="127.0.0.1",reason="ECONNREFUSED"})"),
            double(kRefused));
  EXPECT_EQ(sum_of(m, "sstrace_transitions_total"), double(kTransitions));
  EXPECT_EQ(get(m, R"(sstrace_transitions_total{new="CLOSE",old="SYN-SENT"})"), double(kRefused));
  EXPECT_EQ(get(m, R"(sstrace_transitions_total{new="ESTAB",old="SYN-RECV"})"), double(kOk));
  // The gauge: both ends of every connection, the seeded listener.
  EXPECT_EQ(get(m, R"(sstrace_connections{state="ESTAB"})"), double(2 * kOk));
  EXPECT_EQ(get(m, R"(sstrace_connections{state="LISTEN"})"), 1);
  EXPECT_EQ(get(m, R"(sstrace_connections{state="SYN-SENT"})"), 0);
  EXPECT_EQ(sum_of(m, "sstrace_events_lost_total"), 0);
  EXPECT_EQ(get(m, R"(sstrace_build_info{version=")" SSTRACE_VERSION R"("})"), 1);
  // --quiet: not one line of events.
  EXPECT_EQ(agent.live.size(), 0u) << agent.live.describe();
  EXPECT_EQ(agent.live.stop(), 0) << agent.live.describe();
  EXPECT_EQ(agent.live.err(), "") << agent.live.describe();
}

TEST(LiveMetrics, a_port_in_use_is_exit_1_with_one_line_before_anything_is_attached) {
  SSTRACE_REQUIRE_PRIVILEGES();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string where = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto started = std::chrono::steady_clock::now();
  RunResult r = run({sstrace_binary(), "--metrics", where, "--quiet", "--duration", "30"});
  close(fd);
  EXPECT_EQ(r.status, 1) << r.err;
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_EQ(r.err_lines()[0].rfind("sstrace: --metrics: cannot listen on " + where, 0), 0u)
      << r.err;
  EXPECT_EQ(r.out, "");
  // Refused at once: no BPF program was loaded and attached first.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

// A child process (Prometheus) killed with SIGTERM and reaped at scope exit.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &st, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(50ms);
    if (waitpid(pid_, &st, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Prometheus's instant query: the sample's value, or nullopt (no series,
// Prometheus not up yet).
std::optional<double> prom_query(uint16_t port, const std::string& q) {
  RunResult r = curl("http://127.0.0.1:" + std::to_string(port) + "/api/v1/query",
                     {"-G", "--data-urlencode", "query=" + q});
  if (r.status != 0) return std::nullopt;
  Json j = Json::parse(r.out, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
  const Json& res = j["data"]["result"];
  if (!res.is_array() || res.size() != 1) return std::nullopt;
  return std::strtod(res[0]["value"][1].get<std::string>().c_str(), nullptr);
}

TEST(LiveMetrics, a_real_prometheus_scrapes_the_workloads_counts) {
  SSTRACE_REQUIRE_PRIVILEGES();
  if (access("/usr/bin/prometheus", X_OK) != 0) {
    if (privileges_required()) FAIL() << "no /usr/bin/prometheus (scripts/setup.sh installs it)";
    GTEST_SKIP() << "no /usr/bin/prometheus (scripts/setup.sh installs it)";
  }
  Netns ns;
  SocketSet set(ns);
  int listener = set.tcp_listen("127.0.0.1");
  MetricsAgent agent(ns);
  ASSERT_TRUE(agent.wait_ready()) << agent.live.describe();

  char tmpl[] = "/tmp/sstrace-prom-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const uint16_t prom_port = free_loopback_port();
  {
    std::ofstream cfg(dir + "/prometheus.yml");
    cfg << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           "scrape_configs:\n  - job_name: sstrace\n    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << agent.port << "']\n";
  }
  Child prom({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
              "--storage.tsdb.path=" + dir + "/data",
              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
             dir + "/prometheus.log");
  ASSERT_GT(prom.pid(), 0);

  Workload w = run_workload(ns, set, listener);
  const std::map<std::string, double> want = {
      {R"(sstrace_connections_opened_total{dir="out"})", double(w.delta("ActiveOpens"))},
      {R"(sstrace_connections_opened_total{dir="in"})", double(w.delta("PassiveOpens"))},
      {"sum(sstrace_connect_failures_total)", double(w.delta("AttemptFails"))},
      {"sum(sstrace_transitions_total)", double(kTransitions)},
      {R"(sstrace_connections{state="ESTAB"})", double(2 * kOk)},
  };
  ASSERT_EQ(w.delta("ActiveOpens"), uint64_t(kOk + kRefused));
  ASSERT_EQ(w.delta("PassiveOpens"), uint64_t(kOk));
  // Prometheus starts, scrapes every second: the values arrive within a
  // few seconds.
  std::map<std::string, std::optional<double>> got;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    bool all = true;
    for (const auto& [q, v] : want) {
      got[q] = prom_query(prom_port, q);
      all = all && got[q] == v;
    }
    if (all || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(500ms);
  }
  for (const auto& [q, v] : want) {
    ASSERT_TRUE(got[q].has_value()) << q << ": no answer from Prometheus; its log: "
                                    << run({"tail", "-20", dir + "/prometheus.log"}).out;
    EXPECT_EQ(*got[q], v) << q;
  }
  EXPECT_EQ(prom_query(prom_port, R"(up{job="sstrace"})"), 1.0);
  EXPECT_EQ(agent.live.stop(), 0) << agent.live.describe();
  run({"rm", "-rf", dir});
}

}  // namespace
}  // namespace sstrace::e2e
