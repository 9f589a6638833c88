// Small helpers shared by the benchmark tools in bench/ (see bench/run.sh).
// The tools are load generators and baselines, not product code: they fail
// loudly and exit, and take their options as "--name value" pairs so the
// script that drives them reads like the table it produces.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "sys/netns.h"

namespace sstrace::bench {

// Concatenation by append: GCC 12 warns falsely (-Wrestrict, GCC bug
// 105329) on `"literal" + std::string` once inlined.
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}

[[noreturn]] inline void die(const std::string& tool, const std::string& what, int err = 0) {
  if (err != 0)
    std::fprintf(stderr, "%s: %s: %s\n", tool.c_str(), what.c_str(), std::strerror(err));
  else
    std::fprintf(stderr, "%s: %s\n", tool.c_str(), what.c_str());
  std::exit(1);
}

inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

// Sleeps until SIGINT or SIGTERM, or for at most max_seconds, so that a
// tool its script forgot never outlives the benchmark by much.
inline void wait_for_stop(long max_seconds) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  timespec timeout{max_seconds, 0};
  (void)sigtimedwait(&set, nullptr, &timeout);
}

// "--name value" and "--flag" arguments. Flags are the names listed in
// `flags`; everything else takes a value. Unknown names are the caller's to
// reject through Args::check().
class Args {
 public:
  Args(std::string tool, int argc, char** argv, std::initializer_list<std::string_view> flags)
      : tool_(std::move(tool)) {
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a.substr(0, 2) != "--") die(tool_, cat("unexpected argument '", a, "'"));
      std::string name(a.substr(2));
      bool is_flag = false;
      for (auto f : flags) is_flag |= (f == name);
      if (!is_flag && i + 1 >= argc) die(tool_, cat("--", name, " needs a value"));
      // insert_or_assign with a built string: GCC 12's -Wrestrict misfires
      // on assigning a literal to a map element (GCC bug 105329).
      values_.insert_or_assign(std::move(name), std::string(is_flag ? "1" : argv[++i]));
    }
  }

  // Rejects names the tool does not know (a typo must not silently run the
  // default benchmark).
  void check(std::initializer_list<std::string_view> known) const {
    for (const auto& [name, _] : values_) {
      bool ok = false;
      for (auto k : known) ok |= (k == name);
      if (!ok) die(tool_, cat("unknown option --", name));
    }
  }

  bool flag(const std::string& name) const { return values_.count(name) != 0; }

  std::string str(const std::string& name, std::string def = {}) const {
    auto it = values_.find(name);
    return it == values_.end() ? def : it->second;
  }

  // Integer in [lo, hi]; anything else is a usage error, never a clamp.
  long num(const std::string& name, long def, long lo, long hi) const {
    auto it = values_.find(name);
    if (it == values_.end()) return def;
    long v = 0;
    const std::string& s = it->second;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
      die(tool_, cat("--", name, " wants an integer in [", std::to_string(lo), ", ",
                     std::to_string(hi), "], not '", s, "'"));
    return v;
  }

 private:
  std::string tool_;
  std::map<std::string, std::string> values_;
};

// Moves the process (before any thread is started) into /run/netns/NAME.
inline void enter_netns_or_die(const std::string& tool, const std::string& name) {
  if (name.empty()) return;
  if (auto r = sys::enter_netns(name); !r) die(tool, r.error().str());
}

// Raises the soft RLIMIT_NOFILE to `want` (bounded by the hard limit, which
// is 20,000 on the reference machine: that is why holders are several).
inline void raise_fd_limit(const std::string& tool, rlim_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die(tool, "getrlimit", errno);
  if (want > rl.rlim_max)
    die(tool, cat("need ", std::to_string(want), " fds, the hard limit is ",
                  std::to_string(rl.rlim_max), ": use more processes"));
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die(tool, "setrlimit", errno);
  }
}

// An IPv4 or IPv6 socket address from text; port in host order.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

inline SockAddr make_addr(const std::string& tool, const std::string& text, uint16_t port) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
  } else {
    die(tool, cat("not an IPv4 or IPv6 address: '", text, "'"));
  }
  return a;
}

}  // namespace sstrace::bench
