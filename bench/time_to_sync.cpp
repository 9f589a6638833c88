// time_to_sync: start-up and memory of the live stream. Runs the command
// (sstrace --json ...) --runs times; each time measures exec -> the end of
// the `sync` line on its stdout, reads the tracer's VmHWM/VmRSS and CPU time
// at that moment and again --settle-ms later, then stops it with SIGINT and
// checks that it exits 0 with an `exit` line.
//
//   time_to_sync [--runs N] [--timeout S] [--settle-ms MS] -- COMMAND [ARGS...]
//
// Prints one line per run and a summary line:
//   "time_to_sync: runs N sync_ms min M median D max X hwm_kib ... rss_kib ..."
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string_view>
#include <vector>

#include "bench_util.h"

namespace sstrace::bench {
namespace {

constexpr const char* kTool = "time_to_sync";
constexpr std::string_view kSyncTag = "{\"type\":\"sync\"";
constexpr std::string_view kExitTag = "{\"type\":\"exit\"";

struct RunResult {
  double sync_ms = 0;
  long sockets = -1;
  long hwm_kib = 0, rss_kib = 0;                  // at sync
  long hwm_settled_kib = 0, rss_settled_kib = 0;  // --settle-ms later
  double cpu_s_at_sync = 0;
  bool saw_exit = false;
  int status = -1;
};

long status_kib(pid_t pid, std::string_view key) {
  std::ifstream f(cat("/proc/", std::to_string(pid), "/status"));
  std::string line;
  while (std::getline(f, line))
    if (line.compare(0, key.size(), key) == 0) return std::atol(line.c_str() + key.size() + 1);
  return 0;
}

// utime + stime of the whole process (every thread), /proc/PID/stat
// fields 14 and 15, after the parenthesised comm.
double cpu_seconds(pid_t pid) {
  std::ifstream f(cat("/proc/", std::to_string(pid), "/stat"));
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t i = p + 2;
  while (i < s.size() && fields.size() < 13) {
    size_t j = s.find(' ', i);
    fields.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  if (fields.size() < 13) return 0;
  return double(std::atol(fields[11].c_str()) + std::atol(fields[12].c_str())) /
         double(sysconf(_SC_CLK_TCK));
}

pid_t spawn(char** argv, int& out_fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) die(kTool, "pipe", errno);
  pid_t pid = fork();
  if (pid < 0) die(kTool, "fork", errno);
  if (pid == 0) {
    dup2(p[1], STDOUT_FILENO);
    execvp(argv[0], argv);
    _exit(127);
  }
  ::close(p[1]);
  out_fd = p[0];
  return pid;
}

// Reads stdout until a line starting with `tag` is complete; keeps only
// the tail of what was read (the stream may be 100 MB of snapshots).
class LineScanner {
 public:
  explicit LineScanner(int fd) : fd_(fd), buf_(1 << 20) {}

  // Returns the line, or "" on EOF/timeout.
  std::string find(std::string_view tag, uint64_t deadline_ns) {
    for (;;) {
      if (auto line = take_line(tag); !line.empty()) return line;
      if (!fill(deadline_ns)) return {};
    }
  }

 private:
  std::string take_line(std::string_view tag) {
    size_t at = pending_.find(tag);
    if (at == std::string::npos) {
      // Keep what could be the start of the tag for the next read.
      if (pending_.size() > tag.size()) pending_.erase(0, pending_.size() - tag.size());
      return {};
    }
    size_t end = pending_.find('\n', at);
    if (end == std::string::npos) {
      pending_.erase(0, at);
      return {};
    }
    std::string line = pending_.substr(at, end - at);
    pending_.erase(0, end + 1);
    return line;
  }

  bool fill(uint64_t deadline_ns) {
    uint64_t now = monotonic_ns();
    if (now >= deadline_ns) return false;
    pollfd p{fd_, POLLIN, 0};
    int rc = poll(&p, 1, int((deadline_ns - now) / 1'000'000) + 1);
    if (rc <= 0) return rc < 0 && errno == EINTR;
    ssize_t n = ::read(fd_, buf_.data(), buf_.size());
    if (n <= 0) return false;
    pending_.append(buf_.data(), size_t(n));
    return true;
  }

  int fd_;
  std::vector<char> buf_;
  std::string pending_;
};

long json_number(const std::string& line, std::string_view key) {
  std::string k = cat("\"", key, "\":");
  size_t p = line.find(k);
  return p == std::string::npos ? -1 : std::atol(line.c_str() + p + k.size());
}

RunResult one_run(char** argv, double timeout_s, long settle_ms) {
  RunResult r;
  int fd = -1;
  uint64_t t0 = monotonic_ns();
  pid_t pid = spawn(argv, fd);
  uint64_t deadline = t0 + uint64_t(timeout_s * 1e9);
  LineScanner scan(fd);
  std::string sync = scan.find(kSyncTag, deadline);
  if (!sync.empty()) {
    r.sync_ms = double(monotonic_ns() - t0) / 1e6;
    r.sockets = json_number(sync, "sockets");
    r.hwm_kib = status_kib(pid, "VmHWM");
    r.rss_kib = status_kib(pid, "VmRSS");
    r.cpu_s_at_sync = cpu_seconds(pid);
    // Keep reading while settling so a full pipe never stalls the tracer.
    (void)scan.find("\x01never", monotonic_ns() + uint64_t(settle_ms) * 1'000'000);
    r.hwm_settled_kib = status_kib(pid, "VmHWM");
    r.rss_settled_kib = status_kib(pid, "VmRSS");
  }
  kill(pid, SIGINT);
  r.saw_exit = !scan.find(kExitTag, monotonic_ns() + 10'000'000'000ull).empty();
  ::close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

struct Stats {
  double min, median, max;
};

template <typename T>
Stats stats(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return {double(v.front()), double(v[v.size() / 2]), double(v.back())};
}

}  // namespace
}  // namespace sstrace::bench

int main(int argc, char** argv) {
  using namespace sstrace::bench;
  int sep = 1;
  while (sep < argc && std::string_view(argv[sep]) != "--") ++sep;
  if (sep + 1 >= argc) die(kTool, "usage: time_to_sync [--runs N] [--timeout S] -- COMMAND...");
  Args args(kTool, sep, argv, {});
  args.check({"runs", "timeout", "settle-ms"});
  long runs = args.num("runs", 5, 1, 100);
  double timeout = double(args.num("timeout", 60, 1, 600));
  long settle = args.num("settle-ms", 500, 0, 60'000);

  std::vector<double> ms;
  std::vector<long> hwm, rss, hwm2, rss2;
  int failures = 0;
  for (long i = 0; i < runs; ++i) {
    RunResult r = one_run(argv + sep + 1, timeout, settle);
    std::printf(
        "run %ld sync_ms %.1f sockets %ld cpu_s %.2f hwm_kib %ld rss_kib %ld "
        "settled_hwm_kib %ld settled_rss_kib %ld exit_line %d status %d\n",
        i, r.sync_ms, r.sockets, r.cpu_s_at_sync, r.hwm_kib, r.rss_kib, r.hwm_settled_kib,
        r.rss_settled_kib, int(r.saw_exit), r.status);
    std::fflush(stdout);
    if (r.sockets < 0 || r.status != 0 || !r.saw_exit) {
      ++failures;
      continue;
    }
    ms.push_back(r.sync_ms);
    hwm.push_back(r.hwm_kib), rss.push_back(r.rss_kib);
    hwm2.push_back(r.hwm_settled_kib), rss2.push_back(r.rss_settled_kib);
  }
  if (ms.empty()) die(kTool, "no run reached sync and exited cleanly");
  Stats t = stats(ms), h = stats(hwm), s = stats(rss), h2 = stats(hwm2), s2 = stats(rss2);
  std::printf(
      "time_to_sync: runs %zu failures %d sync_ms min %.1f median %.1f max %.1f "
      "hwm_kib median %.0f max %.0f rss_kib median %.0f max %.0f "
      "settled_hwm_kib median %.0f max %.0f settled_rss_kib median %.0f max %.0f\n",
      ms.size(), failures, t.min, t.median, t.max, h.median, h.max, s.median, s.max, h2.median,
      h2.max, s2.median, s2.max);
  return failures ? 1 : 0;
}
