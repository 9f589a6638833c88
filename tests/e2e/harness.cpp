#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sstrace::e2e {

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::string line;
  std::istringstream in(s);
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string strip_ws(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

std::string clip(const std::string& s, size_t max = 8000) {
  if (s.size() <= max) return s;
  return s.substr(0, max) + "\n... (" + std::to_string(s.size() - max) + " more bytes)";
}

// Runs a tiny probe in a forked child (so that what it changes, like
// unshare, stays there); returns its exit status.
int probe_in_child(int (*fn)()) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) _exit(fn());
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int probe_netns() { return unshare(CLONE_NEWNET) == 0 ? 0 : 1; }

// A two-instruction socket filter ("return 0"): the cheapest proof that
// bpf(BPF_PROG_LOAD) is allowed here.
bool bpf_loads(std::string* why) {
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
  insns[0].dst_reg = BPF_REG_0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = reinterpret_cast<uint64_t>(insns);
  attr.insn_cnt = 2;
  static const char license[] = "GPL";
  attr.license = reinterpret_cast<uint64_t>(license);
  long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
  if (fd < 0) {
    *why = std::string("bpf(BPF_PROG_LOAD) failed: ") + std::strerror(errno);
    return false;
  }
  ::close(static_cast<int>(fd));
  return true;
}

bool tool_runs(const std::vector<std::string>& argv) {
  RunResult r = run(argv, "", std::chrono::seconds(10));
  return r.status == 0;
}

}  // namespace

// ---------------------------------------------------------------------------
// Privileges

std::string privilege_problem() {
  static std::once_flag once;
  static std::string problem;
  std::call_once(once, [] {
    if (geteuid() != 0) {
      problem = "e2e tests need root (they create network namespaces and load BPF)";
      return;
    }
    if (probe_in_child(probe_netns) != 0) {
      problem = "cannot create network namespaces (unshare(CLONE_NEWNET) failed)";
      return;
    }
    std::string why;
    if (!bpf_loads(&why)) {
      problem = "BPF unavailable: " + why;
      return;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
      problem = "BPF unavailable: no kernel BTF at /sys/kernel/btf/vmlinux";
      return;
    }
    for (const auto& tool :
         std::vector<std::vector<std::string>>{{"ip", "-V"}, {"ss", "-V"}, {"nft", "--version"}}) {
      if (!tool_runs(tool)) {
        problem = "'" + tool[0] + "' is missing (scripts/setup.sh installs iproute2 and nftables)";
        return;
      }
    }
    raise_fd_limit();
  });
  return problem;
}

bool privileges_required() {
  const char* v = std::getenv("SSTRACE_REQUIRE_PRIVILEGED");
  return v != nullptr && std::string(v) == "1";
}

// ---------------------------------------------------------------------------
// Processes

std::vector<std::string> RunResult::err_lines() const {
  std::vector<std::string> out;
  for (auto& l : split_lines(err))
    if (!trim(l).empty()) out.push_back(l);
  return out;
}

RunResult run(const std::vector<std::string>& argv, const std::string& input,
              std::chrono::milliseconds timeout) {
  RunResult r;
  r.command = shell_join(argv);
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 ||
      pipe2(err_pipe, O_CLOEXEC) < 0)
    fail_errno("pipe2");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    signal(SIGPIPE, SIG_DFL);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int in_fd = in_pipe[1];
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  size_t in_off = 0;
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    std::vector<pollfd> pfds;
    if (out_fd >= 0) pfds.push_back({out_fd, POLLIN, 0});
    if (err_fd >= 0) pfds.push_back({err_fd, POLLIN, 0});
    if (in_fd >= 0) pfds.push_back({in_fd, POLLOUT, 0});
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0 && !killed) {
      kill(pid, SIGKILL);
      killed = true;
      r.timed_out = true;
    }
    int n = poll(pfds.data(), pfds.size(), killed ? 1000 : static_cast<int>(std::max(1L, left)));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll");
    }
    for (auto& p : pfds) {
      if (!p.revents) continue;
      if (p.fd == in_fd) {
        ssize_t w = write(in_fd, input.data() + in_off, input.size() - in_off);
        if (w > 0) in_off += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) in_off = input.size();
        if (in_off >= input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      ssize_t got = read(p.fd, buf, sizeof(buf));
      if (got > 0) {
        (p.fd == out_fd ? r.out : r.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(p.fd);
        if (p.fd == out_fd) out_fd = -1;
        if (p.fd == err_fd) err_fd = -1;
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    r.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.status = 128 + WTERMSIG(status);
  return r;
}

RunResult run_shell(const std::string& cmd, std::chrono::milliseconds timeout) {
  return run({"/bin/sh", "-c", cmd}, "", timeout);
}

std::vector<std::string> shell_split(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        cur += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) throw std::runtime_error("unterminated quote in: " + line);
  if (in_word) words.push_back(cur);
  return words;
}

std::string shell_join(const std::vector<std::string>& words) {
  std::string out;
  for (auto& w : words) {
    if (!out.empty()) out += ' ';
    bool plain = !w.empty() && w.find_first_of(" \t\n'\"()\\$*?;&|<>!`") == std::string::npos;
    if (plain) {
      out += w;
    } else {
      out += '\'';
      for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

std::string sstrace_binary() {
  const char* env = std::getenv("SSTRACE_E2E_BINARY");
  return env && *env ? env : SSTRACE_BINARY;
}

// ---------------------------------------------------------------------------
// Network namespaces

namespace {
std::atomic<int> netns_counter{0};
}

Netns::Netns() {
  name_ = "sstrace-e2e-" + std::to_string(getpid()) + "-" + std::to_string(netns_counter++);
  // A namespace left behind by a crashed run with a reused pid.
  if (access(("/run/netns/" + name_).c_str(), F_OK) == 0)
    sstrace::e2e::run({"ip", "netns", "del", name_});
  RunResult r = sstrace::e2e::run({"ip", "netns", "add", name_});
  if (r.status != 0) throw std::runtime_error("ip netns add " + name_ + " failed: " + r.err);
  r = sstrace::e2e::run({"ip", "-n", name_, "link", "set", "lo", "up"});
  if (r.status != 0) {
    sstrace::e2e::run({"ip", "netns", "del", name_});
    throw std::runtime_error("ip link set lo up in " + name_ + " failed: " + r.err);
  }
  struct stat st {};
  if (stat(("/run/netns/" + name_).c_str(), &st) == 0) inode_ = st.st_ino;
}

Netns::~Netns() { sstrace::e2e::run({"ip", "netns", "del", name_}); }

void Netns::run(const std::function<void()>& fn) const {
  std::exception_ptr error;
  std::thread t([&] {
    try {
      int fd = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail_errno("open /run/netns/" + name_);
      if (setns(fd, CLONE_NEWNET) < 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        fail_errno("setns " + name_);
      }
      ::close(fd);
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

RunResult Netns::exec(const std::vector<std::string>& argv, const std::string& input) const {
  std::vector<std::string> full{"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return sstrace::e2e::run(full, input);
}

RunResult Netns::enter(const std::vector<std::string>& argv, const std::string& input) const {
  std::vector<std::string> full{"nsenter", "--net=/run/netns/" + name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return sstrace::e2e::run(full, input);
}

void Netns::must(const std::vector<std::string>& argv, const std::string& input) const {
  RunResult r = exec(argv, input);
  if (r.status != 0)
    throw std::runtime_error("in " + name_ + ": " + shell_join(argv) + " exited " +
                             std::to_string(r.status) + ": " + r.err);
}

void Netns::nft(const std::string& script) const { must({"nft", "-f", "-"}, script); }

VethLink connect_veth(const Netns& a, const Netns& b, int subnet) {
  VethLink l;
  std::string base = "ve" + std::to_string(getpid() % 10000000) + "s" + std::to_string(subnet);
  l.dev_a = base + "a";
  l.dev_b = base + "b";
  l.ip4_a = "10." + std::to_string(subnet) + ".0.1";
  l.ip4_b = "10." + std::to_string(subnet) + ".0.2";
  l.ip6_a = "fd00:" + std::to_string(subnet) + "::1";
  l.ip6_b = "fd00:" + std::to_string(subnet) + "::2";
  // Both ends are created straight inside the test namespaces: nothing of
  // the pair ever exists in the caller's namespace.
  RunResult r = run({"ip", "link", "add", l.dev_a, "netns", a.name(), "type", "veth", "peer",
                     "name", l.dev_b, "netns", b.name()});
  if (r.status != 0) throw std::runtime_error("ip link add veth failed: " + r.err);
  a.must({"ip", "addr", "add", l.ip4_a + "/24", "dev", l.dev_a});
  a.must({"ip", "addr", "add", l.ip6_a + "/64", "dev", l.dev_a, "nodad"});
  a.must({"ip", "link", "set", l.dev_a, "up"});
  b.must({"ip", "addr", "add", l.ip4_b + "/24", "dev", l.dev_b});
  b.must({"ip", "addr", "add", l.ip6_b + "/64", "dev", l.dev_b, "nodad"});
  b.must({"ip", "link", "set", l.dev_b, "up"});
  return l;
}

// ---------------------------------------------------------------------------
// Sockets

namespace {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
};

SockAddr make_addr(const std::string& ip, uint16_t port) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(*v6);
  } else {
    throw std::runtime_error("not an IP address: " + ip);
  }
  return a;
}

SockAddr sock_name(int fd) {
  SockAddr a;
  a.len = sizeof(a.ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a.ss), &a.len) < 0) fail_errno("getsockname");
  return a;
}

std::string addr_text(const SockAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family() == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr, buf, sizeof(buf));
  else
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr, buf, sizeof(buf));
  return buf;
}

uint16_t addr_port(const SockAddr& a) {
  return ntohs(a.family() == AF_INET ? reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_port
                                     : reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_port);
}

// Where a client reaches a server bound to `a`: wildcards go to loopback.
SockAddr connect_target(const SockAddr& a) {
  std::string ip = addr_text(a);
  if (ip == "0.0.0.0") ip = "127.0.0.1";
  if (ip == "::") ip = "::1";
  return make_addr(ip, addr_port(a));
}

int inet_socket(int family, int type) {
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // v6 sockets never take v4 traffic here, so that "::" and "0.0.0.0" can
  // hold the same port side by side, as on the hosts in the seeds.
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  return fd;
}

void set_nonblocking(int fd, bool on) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

// Polls pred until it holds. `what` is evaluated when the wait gives up,
// so that it can describe what was seen last.
template <class Pred, class What>
void wait_until(Pred pred, const What& what,
                std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      if constexpr (std::is_invocable_v<What>)
        throw std::runtime_error("timed out waiting for " + std::string(what()));
      else
        throw std::runtime_error("timed out waiting for " + std::string(what));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

const char* const kProcStateNames[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                       "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                       "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};

std::string nft_match(const SockAddr& dst) {
  return (dst.family() == AF_INET ? "ip daddr " : "ip6 daddr ") + addr_text(dst) + " tcp dport " +
         std::to_string(addr_port(dst));
}

}  // namespace

std::multimap<std::pair<uint16_t, uint16_t>, int> proc_tcp_states() {
  std::multimap<std::pair<uint16_t, uint16_t>, int> out;
  for (const char* path : {"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"}) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      auto w = split_ws(line);
      if (w.size() < 4) continue;
      auto port_of = [](const std::string& hostport) {
        return static_cast<uint16_t>(
            std::stoul(hostport.substr(hostport.rfind(':') + 1), nullptr, 16));
      };
      out.emplace(std::make_pair(port_of(w[1]), port_of(w[2])),
                  static_cast<int>(std::stoul(w[3], nullptr, 16)));
    }
  }
  return out;
}

uint16_t local_port(int fd) { return addr_port(sock_name(fd)); }

SocketSet::SocketSet(const Netns& ns) : ns_(ns) {
  char tmpl[] = "/tmp/sstrace-e2e-XXXXXX";
  if (!mkdtemp(tmpl)) fail_errno("mkdtemp");
  dir_ = tmpl;
}

SocketSet::~SocketSet() {
  for (int fd : fds_) ::close(fd);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int SocketSet::hold(int fd) {
  fds_.push_back(fd);
  return fd;
}

int SocketSet::adopt(int fd) { return hold(fd); }

void SocketSet::close(int fd) {
  auto it = std::find(fds_.begin(), fds_.end(), fd);
  if (it != fds_.end()) fds_.erase(it);
  ::close(fd);
}

void SocketSet::wait_state(uint16_t lport, uint16_t rport, int state) {
  ns_.run([&] {
    std::string seen = "nothing";
    wait_until(
        [&] {
          auto states = proc_tcp_states();
          auto [b, e] = states.equal_range({lport, rport});
          seen = "nothing";
          for (auto it = b; it != e; ++it) {
            if (it->second == state) return true;
            seen = kProcStateNames[std::min(it->second, 11)];
          }
          return false;
        },
        [&] {
          return "TCP " + std::to_string(lport) + "->" + std::to_string(rport) + " to reach " +
                 kProcStateNames[state] + " (/proc shows " + seen + ")";
        });
  });
}

void SocketSet::ensure_nft_table() {
  if (nft_ready_) return;
  // Drops on the input hook: on loopback every packet passes it exactly once.
  ns_.nft(
      "table inet sstrace_e2e {\n"
      "  chain input { type filter hook input priority 0; policy accept; }\n"
      "}\n");
  nft_ready_ = true;
}

int SocketSet::tcp_listen(const std::string& ip, uint16_t port, int backlog, int rcvbuf) {
  return ns_.call([&] {
    SockAddr a = make_addr(ip, port);
    int fd = hold(inet_socket(a.family(), SOCK_STREAM));
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(fd, reinterpret_cast<sockaddr*>(&a.ss), a.len) < 0)
      fail_errno("bind " + ip + ":" + std::to_string(port));
    if (listen(fd, backlog) < 0) fail_errno("listen");
    return fd;
  });
}

TcpPair SocketSet::tcp_connect(int listener, const std::string& client_ip, uint16_t client_port,
                               const std::string& server_ip) {
  return ns_.call([&] {
    SockAddr target = connect_target(sock_name(listener));
    if (!server_ip.empty()) target = make_addr(server_ip, addr_port(target));
    int c = hold(inet_socket(target.family(), SOCK_STREAM));
    if (!client_ip.empty() || client_port) {
      SockAddr src = make_addr(client_ip.empty() ? addr_text(target) : client_ip, client_port);
      if (bind(c, reinterpret_cast<sockaddr*>(&src.ss), src.len) < 0)
        fail_errno("bind client " + client_ip + ":" + std::to_string(client_port));
    }
    if (connect(c, reinterpret_cast<sockaddr*>(&target.ss), target.len) < 0)
      fail_errno("connect to " + addr_text(target) + ":" + std::to_string(addr_port(target)));
    int s = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) fail_errno("accept");
    hold(s);
    TcpPair p{c, s, local_port(c), local_port(s)};
    // The accept queue is FIFO and every pair is accepted right after its
    // connect, so this holds unless a caller left connections unaccepted.
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len);
    SockAddr pa;
    pa.ss = peer;
    if (addr_port(pa) != p.client_port)
      throw std::runtime_error("accepted a different connection than the one just made");
    return p;
  });
}

int SocketSet::tcp_connect_unaccepted(int listener) {
  return ns_.call([&] {
    SockAddr target = connect_target(sock_name(listener));
    int c = hold(inet_socket(target.family(), SOCK_STREAM));
    if (connect(c, reinterpret_cast<sockaddr*>(&target.ss), target.len) < 0) fail_errno("connect");
    uint16_t lport = local_port(c);
    wait_until(
        [&] {
          auto s = proc_tcp_states();
          auto it = s.find({addr_port(target), lport});
          return it != s.end() && it->second == 1;
        },
        "the unaccepted connection to be established");
    return c;
  });
}

void SocketSet::keepalive(int fd) {
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0) fail_errno("SO_KEEPALIVE");
}

uint16_t SocketSet::tcp_time_wait(int listener, const std::string& client_ip) {
  TcpPair p = tcp_connect(listener, client_ip);
  close(p.client);
  ns_.run([&] {
    char b;
    // The client's FIN: the server sees EOF, then closes its side too.
    while (read(p.server, &b, 1) > 0) {
    }
  });
  close(p.server);
  wait_state(p.client_port, p.server_port, 6 /* TIME_WAIT */);
  return p.client_port;
}

TcpPair SocketSet::tcp_fin_wait2(int listener) {
  TcpPair p = tcp_connect(listener);
  if (shutdown(p.client, SHUT_WR) < 0) fail_errno("shutdown");
  wait_state(p.client_port, p.server_port, 5 /* FIN_WAIT2 */);
  wait_state(p.server_port, p.client_port, 8 /* CLOSE_WAIT */);
  return p;
}

TcpPair SocketSet::tcp_fin_wait1(int listener) {
  TcpPair p = tcp_connect(listener);
  ensure_nft_table();
  ns_.nft("add rule inet sstrace_e2e input tcp sport " + std::to_string(p.server_port) +
          " tcp dport " + std::to_string(p.client_port) + " drop\n");
  if (shutdown(p.client, SHUT_WR) < 0) fail_errno("shutdown");
  wait_state(p.client_port, p.server_port, 4 /* FIN_WAIT1 */);
  wait_state(p.server_port, p.client_port, 8 /* CLOSE_WAIT */);
  return p;
}

TcpPair SocketSet::tcp_last_ack(int listener) {
  TcpPair p = tcp_connect(listener);
  if (shutdown(p.client, SHUT_WR) < 0) fail_errno("shutdown");
  wait_state(p.server_port, p.client_port, 8 /* CLOSE_WAIT */);
  wait_state(p.client_port, p.server_port, 5 /* FIN_WAIT2 */);
  ensure_nft_table();
  ns_.nft("add rule inet sstrace_e2e input tcp sport " + std::to_string(p.client_port) +
          " tcp dport " + std::to_string(p.server_port) + " drop\n");
  if (shutdown(p.server, SHUT_WR) < 0) fail_errno("shutdown");
  wait_state(p.server_port, p.client_port, 9 /* LAST_ACK */);
  return p;
}

TcpPair SocketSet::tcp_closing(int listener) {
  TcpPair p = tcp_connect(listener);
  ensure_nft_table();
  ns_.nft("add rule inet sstrace_e2e input tcp sport " + std::to_string(p.client_port) +
          " tcp dport " + std::to_string(p.server_port) + " drop\n");
  if (shutdown(p.client, SHUT_WR) < 0) fail_errno("shutdown");
  wait_state(p.client_port, p.server_port, 4 /* FIN_WAIT1 */);
  if (shutdown(p.server, SHUT_WR) < 0) fail_errno("shutdown");
  wait_state(p.client_port, p.server_port, 11 /* CLOSING */);
  wait_state(p.server_port, p.client_port, 4 /* FIN_WAIT1 */);
  return p;
}

int SocketSet::tcp_syn_sent(const std::string& ip, uint16_t port, const std::string& client_ip) {
  SockAddr dst = make_addr(ip, port);
  ensure_nft_table();
  ns_.nft("add rule inet sstrace_e2e input " + nft_match(dst) + " drop\n");
  return ns_.call([&] {
    int c = hold(inet_socket(dst.family(), SOCK_STREAM));
    if (!client_ip.empty()) {
      SockAddr src = make_addr(client_ip, 0);
      if (bind(c, reinterpret_cast<sockaddr*>(&src.ss), src.len) < 0) fail_errno("bind");
    }
    set_nonblocking(c, true);
    if (connect(c, reinterpret_cast<sockaddr*>(&dst.ss), dst.len) == 0 || errno != EINPROGRESS)
      fail_errno("non-blocking connect to a dropped port");
    uint16_t lport = local_port(c);
    wait_until(
        [&] {
          auto s = proc_tcp_states();
          auto it = s.find({lport, port});
          return it != s.end() && it->second == 2;
        },
        "SYN-SENT");
    return c;
  });
}

int SocketSet::tcp_syn_recv(int listener) {
  SockAddr target = ns_.call([&] { return connect_target(sock_name(listener)); });
  uint16_t sport = addr_port(target);
  int c = ns_.call([&] {
    int fd = hold(inet_socket(target.family(), SOCK_STREAM));
    SockAddr src = make_addr(addr_text(target), 0);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src.ss), src.len) < 0) fail_errno("bind");
    return fd;
  });
  uint16_t cport = ns_.call([&] { return local_port(c); });
  ensure_nft_table();
  // Only the bare ACK that completes the handshake (and its repeats).
  ns_.nft("add rule inet sstrace_e2e input tcp sport " + std::to_string(cport) + " tcp dport " +
          std::to_string(sport) + " tcp flags & (syn | ack) == ack drop\n");
  ns_.run([&] {
    set_nonblocking(c, true);
    if (connect(c, reinterpret_cast<sockaddr*>(&target.ss), target.len) < 0 && errno != EINPROGRESS)
      fail_errno("connect");
    wait_until(
        [&] {
          auto s = proc_tcp_states();
          auto it = s.find({sport, cport});
          return it != s.end() && it->second == 3;
        },
        "SYN-RECV");
  });
  return c;
}

TcpPair SocketSet::tcp_with_queues(int listener, size_t unread, bool fill_send) {
  TcpPair p = tcp_connect(listener);
  ns_.run([&] {
    if (unread) {
      std::string data(unread, 'q');
      if (write(p.client, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
        fail_errno("write");
      wait_until(
          [&] {
            int n = 0;
            ioctl(p.server, SIOCINQ, &n);
            return static_cast<size_t>(n) >= unread;
          },
          "the server's Recv-Q to fill");
    }
    if (fill_send) {
      int sndbuf = 16384;
      setsockopt(p.client, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
      set_nonblocking(p.client, true);
      std::string chunk(4096, 's');
      for (int i = 0; i < 100000; ++i) {
        if (write(p.client, chunk.data(), chunk.size()) < 0) {
          if (errno == EAGAIN) break;
          fail_errno("write");
        }
      }
      // Settled when the zero window holds everything in place.
      int last = -1, same = 0;
      wait_until(
          [&] {
            int n = 0;
            ioctl(p.client, SIOCOUTQ, &n);
            same = (n == last && n > 0) ? same + 1 : 0;
            last = n;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            return same >= 5;
          },
          "the client's Send-Q to settle");
    }
  });
  return p;
}

int SocketSet::udp_bind(const std::string& ip, uint16_t port) {
  return ns_.call([&] {
    SockAddr a = make_addr(ip, port);
    int fd = hold(inet_socket(a.family(), SOCK_DGRAM));
    if (bind(fd, reinterpret_cast<sockaddr*>(&a.ss), a.len) < 0)
      fail_errno("bind udp " + ip + ":" + std::to_string(port));
    return fd;
  });
}

int SocketSet::udp_connect(const std::string& ip, uint16_t port, const std::string& client_ip) {
  return ns_.call([&] {
    SockAddr a = make_addr(ip, port);
    int fd = hold(inet_socket(a.family(), SOCK_DGRAM));
    if (!client_ip.empty()) {
      SockAddr src = make_addr(client_ip, 0);
      if (bind(fd, reinterpret_cast<sockaddr*>(&src.ss), src.len) < 0) fail_errno("bind");
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&a.ss), a.len) < 0) fail_errno("connect udp");
    return fd;
  });
}

std::string SocketSet::unix_path(const std::string& name) const {
  return name.starts_with("@") ? name : dir_ + "/" + name;
}

namespace {
std::pair<sockaddr_un, socklen_t> unix_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) throw std::runtime_error("unix path too long: " + path);
  socklen_t len;
  if (path.starts_with("@")) {
    a.sun_path[0] = 0;
    std::memcpy(a.sun_path + 1, path.data() + 1, path.size() - 1);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    std::memcpy(a.sun_path, path.data(), path.size());
    len = static_cast<socklen_t>(sizeof(a));
  }
  return {a, len};
}
}  // namespace

int SocketSet::unix_listen(const std::string& name, int type) {
  return ns_.call([&] {
    int fd = hold(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (fd < 0) fail_errno("socket AF_UNIX");
    auto [a, len] = unix_addr(unix_path(name));
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) < 0) fail_errno("bind " + name);
    if (type != SOCK_DGRAM) {
      if (listen(fd, 16) < 0) fail_errno("listen " + name);
      unix_listeners_[name] = fd;
    }
    return fd;
  });
}

std::pair<int, int> SocketSet::unix_connect(const std::string& name) {
  return ns_.call([&] {
    auto [a, len] = unix_addr(unix_path(name));
    int c = hold(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(c, reinterpret_cast<sockaddr*>(&a), len) < 0) fail_errno("connect " + name);
    auto it = unix_listeners_.find(name);
    if (it == unix_listeners_.end())
      throw std::runtime_error("no listener of this set named " + name);
    int listener = it->second;
    int s = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) fail_errno("accept unix");
    hold(s);
    return std::make_pair(c, s);
  });
}

std::pair<int, int> SocketSet::unix_socketpair(int type) {
  return ns_.call([&] {
    int sv[2];
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
    hold(sv[0]);
    hold(sv[1]);
    return std::make_pair(sv[0], sv[1]);
  });
}

int SocketSet::unix_dgram(const std::string& name) {
  if (!name.empty()) return unix_listen(name, SOCK_DGRAM);
  return ns_.call([&] {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket AF_UNIX dgram");
    return hold(fd);
  });
}

int SocketSet::raw(int family, int protocol) {
  return ns_.call([&] {
    int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) fail_errno("socket SOCK_RAW");
    return hold(fd);
  });
}

int SocketSet::packet(int type, uint16_t eth_protocol) {
  return ns_.call([&] {
    int fd = socket(AF_PACKET, type | SOCK_CLOEXEC, htons(eth_protocol));
    if (fd < 0) fail_errno("socket AF_PACKET");
    hold(fd);
    sock_filter drop_all{BPF_RET | BPF_K, 0, 0, 0};
    sock_fprog prog{1, &drop_all};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
      fail_errno("SO_ATTACH_FILTER");
    return fd;
  });
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void become_own_process(const std::string& comm, std::initializer_list<int> keep) {
  std::vector<int> inherited;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      int fd = std::atoi(e->d_name);
      bool kept = std::find(keep.begin(), keep.end(), fd) != keep.end();
      if (fd > 2 && !kept && fd != dirfd(d)) inherited.push_back(fd);
    }
    closedir(d);
  }
  for (int fd : inherited) ::close(fd);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_NAME, comm.c_str());
}

// ---------------------------------------------------------------------------
// SocketHolder

SocketHolder::SocketHolder(const Netns& ns, const std::string& comm,
                           const std::function<void(SocketSet&)>& build) {
  int ready[2], stop[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0) fail_errno("pipe2");
  pid_ = fork();
  if (pid_ < 0) fail_errno("fork");
  if (pid_ == 0) {
    // The child must hold only its own sockets: ss -p would otherwise show
    // it as a second owner of every socket the parent holds.
    become_own_process(comm, {ready[1], stop[0]});
    std::string msg;
    int code = 0;
    {
      try {
        raise_fd_limit();
        SocketSet set(ns);
        build(set);
        msg = "ok " + std::to_string(set.size()) + "\n";
        if (write(ready[1], msg.data(), msg.size()) < 0) _exit(1);
        ::close(ready[1]);
        char b;
        // EOF when the parent closes its end or dies.
        while (read(stop[0], &b, 1) > 0) {
        }
      } catch (const std::exception& e) {
        msg = std::string("error ") + e.what() + "\n";
        if (write(ready[1], msg.data(), msg.size()) < 0) code = 1;
        code = 1;
      }
    }
    _exit(code);
  }
  ::close(ready[1]);
  ::close(stop[0]);
  stop_fd_ = stop[1];
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(ready[0], buf, sizeof(buf))) > 0) {
    msg.append(buf, static_cast<size_t>(n));
    if (msg.find('\n') != std::string::npos) break;
  }
  ::close(ready[0]);
  if (!msg.starts_with("ok ")) {
    ::close(stop_fd_);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("socket holder " + comm + " failed: " + trim(msg));
  }
  sockets_ = std::stoul(msg.substr(3));
}

SocketHolder::~SocketHolder() {
  if (pid_ <= 0) return;
  ::close(stop_fd_);
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

// ---------------------------------------------------------------------------
// ss and sstrace

RunResult run_ss(const Netns& ns, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ss"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ns.enter(argv);
}

RunResult run_snapshot(const Netns& ns, const std::vector<std::string>& args) {
  const char* ref = std::getenv("SSTRACE_E2E_REFERENCE");
  if (ref && std::string(ref) == "ss") return run_ss(ns, args);
  std::vector<std::string> argv{sstrace_binary(), "snapshot", "-N", ns.name()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::string SsRow::extra(const std::string& key) const {
  for (auto& t : extras)
    if (t.starts_with(key + ":")) return t.substr(key.size() + 1);
  return "";
}

std::string join_tokens(const SsRow& row) {
  std::string out;
  for (auto& t : row.tokens) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

namespace {

bool is_unix_kind(const std::string& k) { return k.starts_with("u_"); }
bool is_single_token_kind(const std::string& k) { return k == "p_raw" || k == "p_dgr"; }

void split_hostport(const std::string& s, std::string& addr, std::string& port) {
  size_t pos = s.rfind(':');
  if (pos == std::string::npos) {
    addr = s;
    port = "";
    return;
  }
  addr = s.substr(0, pos);
  port = s.substr(pos + 1);
}

}  // namespace

SsTable parse_ss(const std::string& text, const SsLayout& layout) {
  SsTable t;
  auto lines = split_lines(text);
  size_t i = 0;
  bool netid = layout.netid.value_or(false);
  bool state = layout.state.value_or(true);
  if (layout.header) {
    while (i < lines.size() && trim(lines[i]).empty()) ++i;
    if (i < lines.size()) {
      t.header = lines[i];
      auto h = split_ws(lines[i]);
      netid = layout.netid.value_or(!h.empty() && h[0] == "Netid");
      state = layout.state.value_or(std::find(h.begin(), h.end(), "State") != h.end());
      ++i;
    }
  }
  for (; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (trim(line).empty()) continue;
    auto toks = split_ws(line);
    if (std::isspace(static_cast<unsigned char>(line[0])) && !t.rows.empty()) {
      // -e/-i/-m details without -O: a continuation line of the row above.
      auto& row = t.rows.back();
      row.tokens.insert(row.tokens.end(), toks.begin(), toks.end());
      row.extras.insert(row.extras.end(), toks.begin(), toks.end());
      continue;
    }
    SsRow row;
    row.tokens = toks;
    size_t k = 0;
    auto next = [&]() -> std::string { return k < toks.size() ? toks[k++] : std::string(); };
    if (netid) row.netid = next();
    if (state) row.state = next();
    row.recv_q = next();
    row.send_q = next();
    std::string kind = netid ? row.netid : layout.kind;
    if (is_unix_kind(kind)) {
      row.local_addr = next();
      row.local_port = next();
      row.peer_addr = next();
      row.peer_port = next();
    } else if (is_single_token_kind(kind)) {
      row.local_addr = next();
      row.peer_addr = next();
    } else {
      split_hostport(next(), row.local_addr, row.local_port);
      split_hostport(next(), row.peer_addr, row.peer_port);
    }
    row.extras.assign(toks.begin() + static_cast<long>(std::min(k, toks.size())), toks.end());
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::vector<std::string> stable_tokens(const SsRow& row) {
  std::vector<std::string> out;
  for (const auto& t : row.tokens) {
    if (t.starts_with("timer:(")) {
      // timer:(name,expiry,retrans): the expiry counts down by itself.
      auto parts = t.substr(7);
      size_t c1 = parts.find(',');
      size_t c2 = parts.rfind(',');
      if (c1 != std::string::npos && c2 != c1)
        out.push_back("timer:(" + parts.substr(0, c1) + ",*" + parts.substr(c2));
      else
        out.push_back(t);
      continue;
    }
    bool dropped = false;
    for (const char* k :
         {"lastsnd:", "lastrcv:", "lastack:", "busy:", "rwnd_limited:", "sndbuf_limited:"}) {
      if (t.starts_with(k)) {
        out.push_back(std::string(k) + "*");
        dropped = true;
        break;
      }
    }
    if (!dropped) out.push_back(t);
  }
  return out;
}

bool is_observer_row(const SsRow& row) {
  // Test namespaces hold no netlink sockets of their own: every one that is
  // not the kernel's ("rtnl:kernel", "0:0" with -n) belongs to whichever
  // tool is listing ("tcpdiag:ss/1234", "4:1234").
  // A row is split like an inet one ("tcpdiag" and "ss/1234"); a listing
  // of netlink sockets alone (-f netlink) has no Netid column to tell.
  bool netlink = row.netid == "nl" || (row.netid.empty() && !row.local_addr.empty() &&
                                       row.local_addr.find_first_of(".:[*") == std::string::npos);
  return netlink && row.local_port != "kernel" && row.local_port != "0";
}

namespace {

using RowBag = std::multiset<std::vector<std::string>>;

RowBag bag_of(const SsTable& t) {
  RowBag bag;
  for (auto& r : t.rows)
    if (!is_observer_row(r)) bag.insert(stable_tokens(r));
  return bag;
}

std::string join(const std::vector<std::string>& v, const std::string& sep = " ") {
  std::string out;
  for (auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::string diff_rows(const SsTable& expected, const SsTable& actual) {
  RowBag e = bag_of(expected), a = bag_of(actual);
  std::vector<std::vector<std::string>> missing, extra;
  std::set_difference(e.begin(), e.end(), a.begin(), a.end(), std::back_inserter(missing));
  std::set_difference(a.begin(), a.end(), e.begin(), e.end(), std::back_inserter(extra));
  std::string out;
  for (auto& r : missing) out += "  only in ss:      " + join(r) + "\n";
  for (auto& r : extra) out += "  only in sstrace: " + join(r) + "\n";
  return out;
}

std::string row_identity(const SsRow& row) {
  return row.netid + "|" + row.local_addr + ":" + row.local_port + "|" + row.peer_addr + ":" +
         row.peer_port;
}

namespace {

using Groups = std::map<std::string, RowBag>;

Groups groups_of(const SsTable& t) {
  Groups g;
  for (auto& r : t.rows)
    if (!is_observer_row(r)) g[row_identity(r)].insert(stable_tokens(r));
  return g;
}

size_t socket_rows(const SsTable& t) {
  size_t n = 0;
  for (auto& r : t.rows)
    if (!is_observer_row(r)) ++n;
  return n;
}

}  // namespace

std::string bracket_diff(const SsTable& before, const SsTable& sstrace, const SsTable& after) {
  Groups a = groups_of(before), s = groups_of(sstrace), b = groups_of(after);
  std::set<std::string> ids;
  for (auto* g : {&a, &s, &b})
    for (auto& entry : *g) ids.insert(entry.first);
  static const RowBag kNone;
  auto at = [](const Groups& g, const std::string& k) -> const RowBag& {
    auto it = g.find(k);
    return it == g.end() ? kNone : it->second;
  };
  std::string out;
  for (auto& k : ids) {
    const RowBag &ra = at(a, k), &rs = at(s, k), &rb = at(b, k);
    if (rs == ra || rs == rb) continue;
    std::vector<std::vector<std::string>> missing, extra;
    std::set_difference(ra.begin(), ra.end(), rs.begin(), rs.end(), std::back_inserter(missing));
    std::set_difference(rs.begin(), rs.end(), ra.begin(), ra.end(), std::back_inserter(extra));
    for (auto& r : missing) out += "  only in ss:      " + join(r) + "\n";
    for (auto& r : extra) out += "  only in sstrace: " + join(r) + "\n";
    if (ra != rb)
      for (auto& r : rb) out += "  (ss after it:     " + join(r) + ")\n";
  }
  return out;
}

Parity compare_with_ss(const Netns& ns, const std::vector<std::string>& args,
                       const SsLayout& layout) {
  Parity p;
  constexpr int kAttempts = 8;
  for (p.attempts = 1; p.attempts <= kAttempts; ++p.attempts) {
    p.ss = run_ss(ns, args);
    p.sstrace = run_snapshot(ns, args);
    RunResult after = run_ss(ns, args);
    p.ss_table = parse_ss(p.ss.out, layout);
    p.sstrace_table = parse_ss(p.sstrace.out, layout);
    p.ss_after_table = parse_ss(after.out, layout);
    p.diff = bracket_diff(p.ss_table, p.sstrace_table, p.ss_after_table);
    if (p.diff.empty() || p.ss.status != 0 || p.sstrace.status != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * p.attempts));
  }
  p.attempts = std::min(p.attempts, kAttempts);
  return p;
}

::testing::AssertionResult same_as_ss(const Parity& p, size_t min_rows) {
  auto both = [&] {
    return "\n--- " + p.ss.command + " (exit " + std::to_string(p.ss.status) + ")\n" +
           clip(p.ss.out) + "--- " + p.sstrace.command + " (exit " +
           std::to_string(p.sstrace.status) + ")\n" + clip(p.sstrace.out) +
           (p.sstrace.err.empty() ? "" : "--- its stderr:\n" + clip(p.sstrace.err, 2000));
  };
  if (p.ss.status != 0)
    return ::testing::AssertionFailure() << "ss itself failed: " << p.ss.err << both();
  if (p.sstrace.status != 0)
    return ::testing::AssertionFailure() << "sstrace exited " << p.sstrace.status << both();
  if (socket_rows(p.ss_table) < min_rows)
    return ::testing::AssertionFailure()
           << "the fixture is wrong: ss shows " << socket_rows(p.ss_table)
           << " rows, expected at least " << min_rows << both();
  if (strip_ws(p.ss_table.header) != strip_ws(p.sstrace_table.header))
    return ::testing::AssertionFailure() << "headers differ:\n  ss:      " << p.ss_table.header
                                         << "\n  sstrace: " << p.sstrace_table.header << both();
  if (!p.diff.empty())
    return ::testing::AssertionFailure()
           << "rows differ (" << p.attempts << " attempts, each bracketed by two ss runs):\n"
           << p.diff << both();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult snapshot_matches_ss(const Netns& ns, const std::string& args,
                                               size_t min_rows, const SsLayout& layout) {
  return same_as_ss(compare_with_ss(ns, shell_split(args), layout), min_rows);
}

// ---------------------------------------------------------------------------
// JSON

std::vector<Json> parse_json_lines(const std::string& text, std::string* error) {
  std::vector<Json> out;
  size_t n = 0;
  for (auto& line : split_lines(text)) {
    ++n;
    if (trim(line).empty()) continue;
    try {
      out.push_back(Json::parse(line));
    } catch (const std::exception& e) {
      if (error && error->empty())
        *error = "line " + std::to_string(n) + " is not JSON (" + e.what() + "): " + line;
    }
  }
  return out;
}

JsonSchema::JsonSchema(Json root) : root_(std::move(root)) {}

JsonSchema JsonSchema::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open the event schema " + path);
  return JsonSchema(Json::parse(in));
}

const Json& JsonSchema::resolve(const std::string& ref) const {
  if (!ref.starts_with("#")) throw std::runtime_error("only local $ref is supported: " + ref);
  return root_.at(Json::json_pointer(ref.substr(1)));
}

namespace {

bool type_matches(const std::string& type, const Json& v) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (v.is_number_float()) {
      double d = v.get<double>();
      return d == static_cast<double>(static_cast<long long>(d));
    }
    return false;
  }
  return false;
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

const std::set<std::string>& known_keywords() {
  static const std::set<std::string> k = {
      // checked
      "$ref", "type", "enum", "const", "required", "properties", "additionalProperties",
      "patternProperties", "items", "prefixItems", "minItems", "maxItems", "minimum", "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format",
      "oneOf", "anyOf", "allOf", "not", "if", "then", "else", "dependentRequired", "minProperties",
      "maxProperties", "uniqueItems",
      // annotations
      "$schema", "$id", "$comment", "$defs", "definitions", "title", "description", "examples",
      "default", "deprecated", "readOnly", "writeOnly", "contentMediaType"};
  return k;
}

}  // namespace

std::vector<std::string> JsonSchema::unsupported_keywords() const {
  std::vector<std::string> out;
  std::function<void(const Json&, const std::string&)> walk = [&](const Json& s,
                                                                  const std::string& at) {
    if (!s.is_object()) return;
    for (auto& [k, v] : s.items()) {
      std::string here = at + "/" + k;
      if (!known_keywords().count(k)) out.push_back(here);
      if (k == "properties" || k == "$defs" || k == "definitions" || k == "patternProperties") {
        for (auto& [name, sub] : v.items()) walk(sub, here + "/" + name);
      } else if (k == "allOf" || k == "anyOf" || k == "oneOf" || k == "prefixItems" ||
                 (k == "items" && v.is_array())) {
        for (size_t i = 0; i < v.size(); ++i) walk(v[i], here + "/" + std::to_string(i));
      } else if (k == "items" || k == "not" || k == "if" || k == "then" || k == "else" ||
                 k == "additionalProperties") {
        walk(v, here);
      }
    }
  };
  walk(root_, "");
  return out;
}

std::vector<std::string> JsonSchema::validate(const Json& value) const {
  std::vector<std::string> errors;
  check(root_, value, "", errors, 0);
  return errors;
}

void JsonSchema::check(const Json& s, const Json& v, const std::string& where,
                       std::vector<std::string>& errors, int depth) const {
  auto err = [&](const std::string& m) {
    errors.push_back((where.empty() ? "/" : where) + ": " + m);
  };
  if (depth > 64) {
    err("schema recursion too deep");
    return;
  }
  if (s.is_boolean()) {
    if (!s.get<bool>()) err("not allowed here (schema false)");
    return;
  }
  if (!s.is_object()) {
    err("schema is neither an object nor a boolean");
    return;
  }
  for (auto& [k, unused] : s.items())
    if (!known_keywords().count(k))
      err("schema keyword '" + k + "' is not supported by the e2e validator");

  auto sub_ok = [&](const Json& schema, const Json& value) {
    std::vector<std::string> e;
    check(schema, value, where, e, depth + 1);
    return e.empty();
  };

  if (s.contains("$ref")) check(resolve(s["$ref"].get<std::string>()), v, where, errors, depth + 1);

  if (s.contains("type")) {
    const Json& t = s["type"];
    bool ok = false;
    if (t.is_string()) ok = type_matches(t.get<std::string>(), v);
    if (t.is_array())
      for (auto& one : t) ok = ok || type_matches(one.get<std::string>(), v);
    if (!ok) {
      err("type " + v.dump() + " is not " + t.dump());
      return;  // the other checks would only repeat this
    }
  }
  if (s.contains("enum")) {
    bool ok = false;
    for (auto& e : s["enum"]) ok = ok || e == v;
    if (!ok) err(v.dump() + " is not one of " + s["enum"].dump());
  }
  if (s.contains("const") && s["const"] != v) err(v.dump() + " is not " + s["const"].dump());

  if (v.is_object()) {
    if (s.contains("required"))
      for (auto& r : s["required"])
        if (!v.contains(r.get<std::string>()))
          err("required field '" + r.get<std::string>() + "' missing");
    if (s.contains("minProperties") && v.size() < s["minProperties"].get<size_t>())
      err("too few properties");
    if (s.contains("maxProperties") && v.size() > s["maxProperties"].get<size_t>())
      err("too many properties");
    if (s.contains("dependentRequired"))
      for (auto& [k, deps] : s["dependentRequired"].items())
        if (v.contains(k))
          for (auto& d : deps)
            if (!v.contains(d.get<std::string>()))
              err("'" + k + "' requires '" + d.get<std::string>() + "'");
    for (auto& [k, val] : v.items()) {
      bool matched = false;
      std::string child = where + "/" + k;
      if (s.contains("properties") && s["properties"].contains(k)) {
        matched = true;
        check(s["properties"][k], val, child, errors, depth + 1);
      }
      if (s.contains("patternProperties")) {
        for (auto& [pat, sub] : s["patternProperties"].items()) {
          if (std::regex_search(k, std::regex(pat, std::regex::ECMAScript))) {
            matched = true;
            check(sub, val, child, errors, depth + 1);
          }
        }
      }
      if (!matched && s.contains("additionalProperties")) {
        const Json& ap = s["additionalProperties"];
        if (ap.is_boolean() && !ap.get<bool>())
          errors.push_back(child + ": field not allowed by the schema");
        else
          check(ap, val, child, errors, depth + 1);
      }
    }
  }
  if (v.is_array()) {
    size_t first = 0;
    if (s.contains("prefixItems")) {
      const Json& pi = s["prefixItems"];
      for (size_t i = 0; i < pi.size() && i < v.size(); ++i)
        check(pi[i], v[i], where + "/" + std::to_string(i), errors, depth + 1);
      first = pi.size();
    }
    if (s.contains("items")) {
      const Json& it = s["items"];
      if (it.is_array()) {  // draft-07 tuple form
        for (size_t i = 0; i < it.size() && i < v.size(); ++i)
          check(it[i], v[i], where + "/" + std::to_string(i), errors, depth + 1);
      } else {
        for (size_t i = first; i < v.size(); ++i)
          check(it, v[i], where + "/" + std::to_string(i), errors, depth + 1);
      }
    }
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) err("too few items");
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) err("too many items");
    if (s.contains("uniqueItems") && s["uniqueItems"].get<bool>()) {
      for (size_t i = 0; i < v.size(); ++i)
        for (size_t j = i + 1; j < v.size(); ++j)
          if (v[i] == v[j]) err("items are not unique");
    }
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (s.contains("minimum") && d < s["minimum"].get<double>()) err(v.dump() + " < minimum");
    if (s.contains("maximum") && d > s["maximum"].get<double>()) err(v.dump() + " > maximum");
    if (s.contains("exclusiveMinimum") && d <= s["exclusiveMinimum"].get<double>())
      err(v.dump() + " <= exclusiveMinimum");
    if (s.contains("exclusiveMaximum") && d >= s["exclusiveMaximum"].get<double>())
      err(v.dump() + " >= exclusiveMaximum");
  }
  if (v.is_string()) {
    const std::string& str = v.get_ref<const std::string&>();
    if (s.contains("minLength") && utf8_length(str) < s["minLength"].get<size_t>())
      err("string too short");
    if (s.contains("maxLength") && utf8_length(str) > s["maxLength"].get<size_t>())
      err("string too long");
    if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>(),
                                                                    std::regex::ECMAScript)))
      err(v.dump() + " does not match " + s["pattern"].dump());
    if (s.contains("format") && s["format"] == "date-time") {
      static const std::regex rfc3339(
          R"(^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
      if (!std::regex_match(str, rfc3339)) err(v.dump() + " is not an RFC 3339 date-time");
    }
  }
  if (s.contains("allOf"))
    for (auto& sub : s["allOf"]) check(sub, v, where, errors, depth + 1);
  if (s.contains("anyOf")) {
    bool ok = false;
    for (auto& sub : s["anyOf"]) ok = ok || sub_ok(sub, v);
    if (!ok) err("matches none of anyOf");
  }
  if (s.contains("oneOf")) {
    int n = 0;
    std::vector<std::string> why;
    for (auto& sub : s["oneOf"]) {
      std::vector<std::string> e;
      check(sub, v, where, e, depth + 1);
      if (e.empty())
        ++n;
      else if (why.size() < 6)
        why.push_back(e.front());
    }
    if (n != 1)
      err("matches " + std::to_string(n) + " of oneOf, not exactly one" +
          (n == 0 ? " (first reasons: " + join(why, "; ") + ")" : ""));
  }
  if (s.contains("not") && sub_ok(s["not"], v)) err("matches a schema it must not");
  if (s.contains("if")) {
    if (sub_ok(s["if"], v)) {
      if (s.contains("then")) check(s["then"], v, where, errors, depth + 1);
    } else if (s.contains("else")) {
      check(s["else"], v, where, errors, depth + 1);
    }
  }
}

const JsonSchema& events_schema() {
  static const JsonSchema schema = JsonSchema::load(SSTRACE_SCHEMA_FILE);
  return schema;
}

namespace {

std::string unbracket(const std::string& a) {
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') return a.substr(1, a.size() - 2);
  return a;
}

std::string json_text(const Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return "<absent>";
  const Json& v = obj[key];
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// ss prints "0.0.0.0:*" / "[::]:*" / "*:*" / "* 0" where there is no peer;
// the contract spells that "*" and 0. Either spelling names "no peer".
std::string peer_key(const std::string& addr, const std::string& port) {
  if (port == "*" || port == "0" || port.empty()) {
    if (addr == "*" || addr == "0.0.0.0" || addr == "::") return "<none>";
  }
  return addr + ":" + port;
}

std::string local_key(const std::string& addr, const std::string& port) {
  return addr + ":" + (port == "*" ? "0" : port);
}

bool json_is_packet(const Json& o) {
  std::string netid = json_text(o, "netid"), family = json_text(o, "family");
  return netid.starts_with("p_") || family == "packet" || family == "link";
}

bool row_is_packet(const SsRow& r) { return r.netid.starts_with("p_"); }
bool row_is_unix(const SsRow& r) { return r.netid.starts_with("u_"); }

std::string cookie_hex(const Json& o) {
  if (!o.is_object() || !o.contains("cookie") || !o["cookie"].is_number_unsigned()) return "";
  std::ostringstream hex;
  hex << std::hex << o["cookie"].get<uint64_t>();
  return hex.str();
}

std::string json_inode(const Json& o) {
  if (json_text(o, "netid").starts_with("u_") || json_text(o, "family") == "unix")
    return json_text(o, "lport");
  return json_text(o, "inode");
}

std::string row_inode(const SsRow& r) {
  if (row_is_unix(r)) return r.local_port;
  return r.extra("ino");
}

// A JSON member by dotted path ("tcp_info.mss"); nullptr when absent.
const Json* member(const Json& o, const std::string& path) {
  const Json* cur = &o;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string k = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(k)) return nullptr;
    cur = &(*cur)[k];
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

std::optional<double> number_at(const Json& o, const std::string& path) {
  const Json* v = member(o, path);
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

std::string shown(const Json& o, const std::string& path) {
  const Json* v = member(o, path);
  return v ? v->dump() : "<absent>";
}

}  // namespace

std::string json_socket_key(const Json& obj) {
  if (json_is_packet(obj))
    return "packet|" + json_text(obj, "state") + "|ino:" + json_text(obj, "inode") + "|" +
           json_text(obj, "recv_q") + "|" + json_text(obj, "send_q");
  return json_text(obj, "state") + "|" +
         local_key(json_text(obj, "laddr"), json_text(obj, "lport")) + "|" +
         peer_key(json_text(obj, "raddr"), json_text(obj, "rport")) + "|" +
         json_text(obj, "recv_q") + "|" + json_text(obj, "send_q");
}

std::string ss_row_key(const SsRow& row) {
  if (row_is_packet(row))
    return "packet|" + row.state + "|ino:" + row.extra("ino") + "|" + row.recv_q + "|" + row.send_q;
  return row.state + "|" + local_key(unbracket(row.local_addr), row.local_port) + "|" +
         peer_key(unbracket(row.peer_addr), row.peer_port) + "|" + row.recv_q + "|" + row.send_q;
}

std::vector<std::string> compare_json_details(const SsRow& row, const Json& o) {
  std::vector<std::string> out;
  auto expect_num = [&](const std::string& path, double want, double tolerance = 0) {
    auto got = number_at(o, path);
    if (!got || std::abs(*got - want) > tolerance) {
      std::ostringstream m;
      m << path << " is " << shown(o, path) << ", ss shows " << want;
      out.push_back(m.str());
    }
  };
  auto num = [](const std::string& s) { return std::strtod(s.c_str(), nullptr); };
  static const std::map<std::string, std::string> kSkmem = {
      {"r", "rmem_alloc"}, {"rb", "rcvbuf"},   {"t", "wmem_alloc"},
      {"tb", "sndbuf"},    {"f", "fwd_alloc"}, {"w", "wmem_queued"},
      {"o", "optmem"},     {"bl", "backlog"},  {"d", "drops"}};
  // ss -i's "key:value" tokens whose value is the tcp_info field of the
  // same name, as a plain integer.
  static const std::set<std::string> kSameName = {
      "mss",        "pmtu",        "rcvmss",        "advmss",       "cwnd",
      "ssthresh",   "bytes_sent",  "bytes_retrans", "bytes_acked",  "bytes_received",
      "segs_out",   "segs_in",     "data_segs_out", "data_segs_in", "delivered",
      "unacked",    "rcv_space",   "rcv_ssthresh",  "notsent",      "snd_wnd",
      "reordering", "lost",        "sacked",        "fackets",      "dsack_dups",
      "reord_seen", "rcv_ooopack", "backoff"};
  static const std::set<std::string> kFlags = {"ts", "sack", "ecn", "ecnseen", "fastopen"};
  bool has_info = false;
  std::set<std::string> flags_seen;
  std::vector<std::string> bare_words;
  for (const auto& t : row.extras) {
    size_t colon = t.find(':');
    std::string key = colon == std::string::npos ? t : t.substr(0, colon);
    std::string val = colon == std::string::npos ? "" : t.substr(colon + 1);
    if (key == "timer" && val.size() > 2) {
      // (name,expiry,retrans)
      std::string inner = val.substr(1, val.size() - 2);
      std::string name = inner.substr(0, inner.find(','));
      std::string retrans = inner.substr(inner.rfind(',') + 1);
      if (shown(o, "timer.name") != "\"" + name + "\"")
        out.push_back("timer.name is " + shown(o, "timer.name") + ", ss shows " + name);
      expect_num("timer.retrans", num(retrans));
    } else if (key == "uid") {
      expect_num("uid", num(val));
    } else if (key == "ino" && !row_is_unix(row)) {
      // Minisockets have no inode: ss prints ino:0, JSON may leave it out.
      if (!(val == "0" && !member(o, "inode"))) expect_num("inode", num(val));
    } else if (key == "skmem" && val.size() > 2) {
      std::istringstream parts(val.substr(1, val.size() - 2));
      std::string part;
      while (std::getline(parts, part, ',')) {
        size_t d = part.find_first_of("0123456789");
        auto it = kSkmem.find(part.substr(0, d));
        if (it != kSkmem.end() && d != std::string::npos)
          expect_num("skmem." + it->second, num(part.substr(d)));
      }
    } else if (key == "users" && val.size() > 2) {
      static const std::regex user(R"re(\("([^"]*)",pid=(\d+),fd=(\d+)\))re");
      std::multiset<std::string> want, got;
      for (std::sregex_iterator it(val.begin(), val.end(), user), end; it != end; ++it)
        want.insert((*it)[1].str() + "/" + (*it)[2].str() + "/" + (*it)[3].str());
      const Json* users = member(o, "users");
      if (users && users->is_array())
        for (auto& u : *users)
          got.insert(json_text(u, "comm") + "/" + json_text(u, "pid") + "/" + json_text(u, "fd"));
      if (want != got) out.push_back("users are " + shown(o, "users") + ", ss shows " + val);
      std::string first = json_text(o, "comm") + "/" + json_text(o, "pid") + "/";
      bool owner_ok = false;
      for (auto& w : want) owner_ok = owner_ok || w.starts_with(first);
      if (!owner_ok)
        out.push_back("pid/comm " + json_text(o, "pid") + "/" + json_text(o, "comm") +
                      " is none of the users ss shows: " + val);
    } else if (key == "wscale") {
      has_info = true;
      size_t comma = val.find(',');
      expect_num("tcp_info.snd_wscale", num(val.substr(0, comma)));
      expect_num("tcp_info.rcv_wscale", num(val.substr(comma + 1)));
    } else if (key == "rto") {
      has_info = true;
      expect_num("tcp_info.rto_ms", num(val), 0.0011);
    } else if (key == "ato") {
      expect_num("tcp_info.ato_ms", num(val), 0.0011);
    } else if (key == "rtt") {
      has_info = true;
      size_t slash = val.find('/');
      // ss prints tcpi_rtt / 1000 with %g: six significant digits.
      expect_num("tcp_info.rtt_us", num(val.substr(0, slash)) * 1000, 1.1);
      expect_num("tcp_info.rttvar_us", num(val.substr(slash + 1)) * 1000, 1.1);
    } else if (key == "minrtt") {
      expect_num("tcp_info.min_rtt_us", num(val) * 1000, 1.1);
    } else if (key == "rcv_rtt") {
      expect_num("tcp_info.rcv_rtt_us", num(val) * 1000, 1.1);
    } else if (key == "retrans" && val.find('/') != std::string::npos) {
      size_t slash = val.find('/');
      expect_num("tcp_info.retrans", num(val.substr(0, slash)));
      expect_num("tcp_info.retrans_total", num(val.substr(slash + 1)));
    } else if (kSameName.count(key) && !val.empty()) {
      has_info = true;
      expect_num("tcp_info." + key, num(val));
    } else if (kFlags.count(t)) {
      flags_seen.insert(t);
    } else if (t == "app_limited") {
      const Json* v = member(o, "tcp_info.app_limited");
      if (!v || *v != true) out.push_back("tcp_info.app_limited is not true; ss shows app_limited");
    } else if (colon == std::string::npos && !t.empty() &&
               std::isalpha(static_cast<unsigned char>(t[0]))) {
      bare_words.push_back(t);
    }
  }
  if (has_info) {
    for (const auto& f : kFlags) {
      const Json* v = member(o, "tcp_info." + f);
      bool want = flags_seen.count(f) > 0;
      if (!v || !v->is_boolean() || v->get<bool>() != want)
        out.push_back("tcp_info." + f + " is " + shown(o, "tcp_info." + f) + ", ss " +
                      (want ? "shows" : "does not show") + " it");
    }
    // ss prints the congestion control's name as a bare word ("cubic").
    std::string cong = json_text(o, "cong");
    if (std::find(bare_words.begin(), bare_words.end(), cong) == bare_words.end())
      out.push_back("cong is " + shown(o, "cong") + ", not among ss's words");
  }
  return out;
}

namespace {

// Which socket a JSON object or an ss row is about, in terms both share:
// PACKET by inode, UNIX by inode (ss's local "port"), the rest by their
// endpoints.
std::string json_identity(const Json& o) {
  if (json_is_packet(o)) return "packet|" + json_text(o, "inode");
  if (json_text(o, "netid").starts_with("u_") || json_text(o, "family") == "unix")
    return "unix|" + json_text(o, "lport");
  return "inet|" + local_key(json_text(o, "laddr"), json_text(o, "lport")) + "|" +
         peer_key(json_text(o, "raddr"), json_text(o, "rport"));
}

std::string ss_identity(const SsRow& r) {
  if (row_is_packet(r)) return "packet|" + r.extra("ino");
  if (row_is_unix(r)) return "unix|" + r.local_port;
  return "inet|" + local_key(unbracket(r.local_addr), r.local_port) + "|" +
         peer_key(unbracket(r.peer_addr), r.peer_port);
}

struct JsonAttempt {
  RunResult ss, json, after;
  std::string problems;
  size_t rows = 0;
};

// One (ss, sstrace --json, ss) round; problems empty when they agree.
JsonAttempt json_attempt(const Netns& ns, const std::vector<std::string>& ss_args,
                         const std::vector<std::string>& json_args) {
  JsonAttempt at;
  at.ss = run_ss(ns, ss_args);
  at.json = run_snapshot(ns, json_args);
  at.after = run_ss(ns, ss_args);
  if (at.ss.status != 0 || at.json.status != 0) return at;
  SsTable before = parse_ss(at.ss.out), after = parse_ss(at.after.out);
  std::string error;
  auto objs = parse_json_lines(at.json.out, &error);
  std::string& problems = at.problems;
  if (!error.empty()) problems += "  " + error + "\n";
  try {
    const JsonSchema& schema = events_schema();
    size_t line = 0;
    for (auto& o : objs) {
      ++line;
      for (auto& e : schema.validate(o))
        problems += "  line " + std::to_string(line) + ": schema: " + e + "\n";
    }
  } catch (const std::exception& e) {
    problems += std::string("  cannot load the schema: ") + e.what() + "\n";
  }

  // Per socket: the JSON object(s) against the row(s) of either ss run.
  std::map<std::string, std::vector<const Json*>> json_by_id;
  std::map<std::string, std::vector<const SsRow*>> a_by_id, b_by_id;
  size_t line = 0;
  for (auto& o : objs) {
    ++line;
    if (!o.is_object()) continue;
    std::string where = "  line " + std::to_string(line) + ": ";
    if (json_text(o, "type") != "snapshot") problems += where + "type is not \"snapshot\"\n";
    if (!o.contains("netns") || !o["netns"].is_number_integer() ||
        o["netns"].get<uint64_t>() != ns.inode())
      problems += where + "netns is " + json_text(o, "netns") + ", the namespace's inode is " +
                  std::to_string(ns.inode()) + "\n";
    // The listing tool's own netlink sockets, as is_observer_row.
    if (json_text(o, "family") == "netlink" && json_text(o, "lport") != "0") continue;
    json_by_id[json_identity(o)].push_back(&o);
  }
  for (auto& r : before.rows)
    if (!is_observer_row(r)) {
      a_by_id[ss_identity(r)].push_back(&r);
      ++at.rows;
    }
  for (auto& r : after.rows)
    if (!is_observer_row(r)) b_by_id[ss_identity(r)].push_back(&r);

  std::set<std::string> ids;
  for (auto& [k, v] : json_by_id) ids.insert(k);
  for (auto& [k, v] : a_by_id) ids.insert(k);
  for (auto& [k, v] : b_by_id) ids.insert(k);
  // The differences of the JSON objects of one socket from its ss rows;
  // empty when they agree.
  auto differences = [](const std::vector<const Json*>& objs,
                        const std::vector<const SsRow*>& rows) {
    std::vector<std::string> out;
    std::multiset<std::string> jk, sk;
    for (auto* o : objs) jk.insert(json_socket_key(*o));
    for (auto* r : rows) sk.insert(ss_row_key(*r));
    std::vector<std::string> missing, extra;
    std::set_difference(sk.begin(), sk.end(), jk.begin(), jk.end(), std::back_inserter(missing));
    std::set_difference(jk.begin(), jk.end(), sk.begin(), sk.end(), std::back_inserter(extra));
    for (auto& m : missing) out.push_back("only in ss:   " + m);
    for (auto& m : extra) out.push_back("only in JSON: " + m);
    if (!out.empty()) return out;
    // The same sockets: pair them by cookie (TCP, UDP) or inode and
    // compare what the ss row details.
    for (auto* r : rows) {
      const Json* match = nullptr;
      std::string sk_hex = r->extra("sk"), ino = row_inode(*r);
      for (auto* o : objs) {
        if (!sk_hex.empty() ? cookie_hex(*o) == sk_hex
                            : (!ino.empty() && ino != "0" && json_inode(*o) == ino))
          match = o;
      }
      if (!match) {
        if (!sk_hex.empty()) out.push_back("no JSON object has cookie sk:" + sk_hex);
        continue;
      }
      for (auto& d : compare_json_details(*r, *match))
        out.push_back(r->state + " " + r->local_addr + ":" + r->local_port + ": " + d);
    }
    return out;
  };
  static const std::vector<const Json*> kNoObjs;
  static const std::vector<const SsRow*> kNoRows;
  for (auto& k : ids) {
    auto j = json_by_id.count(k) ? json_by_id[k] : kNoObjs;
    auto a = a_by_id.count(k) ? a_by_id[k] : kNoRows;
    auto b = b_by_id.count(k) ? b_by_id[k] : kNoRows;
    auto da = differences(j, a);
    if (da.empty() || differences(j, b).empty()) continue;
    for (auto& d : da) problems += "  " + d + "\n";
  }
  return at;
}

}  // namespace

::testing::AssertionResult json_matches_ss(const Netns& ns, const std::string& args,
                                           size_t min_rows) {
  std::vector<std::string> ss_args = shell_split(args);
  // -e on the ss side adds the cookie (sk:) and the inode (ino:) and
  // nothing that changes which sockets are listed.
  ss_args.push_back("-e");
  std::vector<std::string> json_args = shell_split(args);
  json_args.push_back("--json");

  constexpr int kAttempts = 8;
  JsonAttempt at;
  int attempt = 1;
  for (; attempt <= kAttempts; ++attempt) {
    at = json_attempt(ns, ss_args, json_args);
    if (at.problems.empty() || at.ss.status != 0 || at.json.status != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
  }
  attempt = std::min(attempt, kAttempts);
  auto both = [&] {
    return "\n--- " + at.ss.command + "\n" + clip(at.ss.out) + "--- " + at.json.command +
           " (exit " + std::to_string(at.json.status) + ")\n" + clip(at.json.out) +
           (at.json.err.empty() ? "" : "--- its stderr:\n" + clip(at.json.err, 2000));
  };
  if (at.ss.status != 0)
    return ::testing::AssertionFailure() << "ss failed: " << at.ss.err << both();
  if (at.json.status != 0)
    return ::testing::AssertionFailure() << "sstrace exited " << at.json.status << both();
  if (at.rows < min_rows)
    return ::testing::AssertionFailure()
           << "the fixture is wrong: ss shows " << at.rows << " rows" << both();
  if (!at.problems.empty())
    return ::testing::AssertionFailure()
           << "(" << attempt << " attempts; keys are state|laddr:lport|raddr:rport|recv_q|send_q)\n"
           << at.problems << both();
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// ss -s

std::optional<SsSummary> parse_summary(const std::string& text) {
  SsSummary s;
  static const std::regex total(R"(^Total:\s+(\d+))");
  static const std::regex tcp(
      R"(^TCP:\s+(\d+)\s+\(estab\s+(\d+),\s+closed\s+(\d+),\s+orphaned\s+(\d+),\s+timewait\s+(\d+)\))");
  static const std::regex transport(R"(^(RAW|UDP|TCP|INET|FRAG)\s+(\d+)\s+(\d+)\s+(\d+)\s*$)");
  for (auto& line : split_lines(text)) {
    std::smatch m;
    if (std::regex_search(line, m, total)) {
      s.total = std::stol(m[1]);
    } else if (std::regex_search(line, m, tcp)) {
      s.tcp_total = std::stol(m[1]);
      s.estab = std::stol(m[2]);
      s.closed = std::stol(m[3]);
      s.orphaned = std::stol(m[4]);
      s.timewait = std::stol(m[5]);
    } else if (std::regex_match(line, m, transport)) {
      s.transport[m[1]] = {std::stol(m[2]), std::stol(m[3]), std::stol(m[4])};
    }
  }
  if (s.total < 0 || s.tcp_total < 0 || s.transport.size() != 5) return std::nullopt;
  return s;
}

namespace {

// What differs between two summaries on the numbers that belong to the
// namespace; "" when nothing does.
std::string summary_diff(const SsSummary& want, const SsSummary& got) {
  std::string problems;
  auto cmp = [&](const char* what, long w, long g) {
    if (w != g)
      problems += std::string("  ") + what + ": ss " + std::to_string(w) + ", sstrace " +
                  std::to_string(g) + "\n";
  };
  // "Total" is /proc/net/sockstat's "sockets: used" of the namespace, which
  // counts the listing tool's own sockets there too (ss may hold its netlink
  // socket while it reads it). A tool may hold one or two more or fewer than
  // ss does, so Total may differ by that much, and no more.
  if (std::abs(want.total - got.total) > 2) cmp("Total", want.total, got.total);
  cmp("estab", want.estab, got.estab);
  cmp("timewait", want.timewait, got.timewait);
  for (auto& [name, w] : want.transport) {
    auto it = got.transport.find(name);
    if (it == got.transport.end() || it->second != w)
      problems += "  Transport " + name + " differs\n";
  }
  // Host-wide counters: only their presence.
  if (got.tcp_total < 0 || got.closed < 0 || got.orphaned < 0)
    problems += "  the TCP line lacks total/closed/orphaned\n";
  return problems;
}

}  // namespace

::testing::AssertionResult summary_matches_ss(const Netns& ns, const std::string& args) {
  std::vector<std::string> argv = shell_split(args);
  RunResult ss, sst;
  std::string problems = "  no attempt\n";
  bool parsed = false;
  for (int attempt = 1; attempt <= 8 && !problems.empty(); ++attempt) {
    ss = run_ss(ns, argv);
    sst = run_snapshot(ns, argv);
    RunResult after = run_ss(ns, argv);
    auto a = parse_summary(ss.out), b = parse_summary(after.out), got = parse_summary(sst.out);
    parsed = a && b && got;
    if (!parsed || ss.status != 0 || sst.status != 0) break;
    problems = summary_diff(*a, *got);
    if (!problems.empty() && summary_diff(*b, *got).empty()) problems.clear();
    if (!problems.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
  }
  auto both = [&] {
    return "\n--- " + ss.command + "\n" + ss.out + "--- " + sst.command + " (exit " +
           std::to_string(sst.status) + ")\n" + sst.out +
           (sst.err.empty() ? "" : "--- its stderr:\n" + clip(sst.err, 2000));
  };
  if (ss.status != 0 || !parse_summary(ss.out))
    return ::testing::AssertionFailure() << "ss -s failed" << both();
  if (sst.status != 0)
    return ::testing::AssertionFailure() << "sstrace exited " << sst.status << both();
  if (!parsed)
    return ::testing::AssertionFailure() << "sstrace's summary is not ss's format" << both();
  if (!problems.empty()) return ::testing::AssertionFailure() << problems << both();
  return ::testing::AssertionSuccess();
}

std::string replace_ss_command(const std::string& pipeline, const std::string& replacement) {
  // `ss` where a command starts: at the beginning, after |, &&, ||, ;.
  static const std::regex cmd(R"((^|\|\||&&|\||;)(\s*)ss(\s|$))");
  return std::regex_replace(pipeline, cmd, "$1$2" + replacement + "$3");
}

namespace {

std::multiset<std::vector<std::string>> pipeline_lines(const std::string& out) {
  std::multiset<std::vector<std::string>> lines;
  // The listing tool's own netlink socket (is_observer_row), as a pipeline
  // without -n prints it: "tcpdiag:ss/1234".
  static const std::regex observer(R"(\s[a-z0-9_]+:(ss|sstrace)/\d+\s)");
  for (auto& line : split_lines(out)) {
    if (trim(line).empty() || std::regex_search(line + " ", observer)) continue;
    SsRow row;
    if (line.find("Recv-Q") != std::string::npos)
      row.tokens = {strip_ws(line)};  // a header: ss aligns it to the widest cell
    else
      row.tokens = split_ws(line);
    lines.insert(stable_tokens(row));
  }
  return lines;
}

}  // namespace

::testing::AssertionResult pipeline_matches_ss(const Netns& ns, const std::string& pipeline,
                                               size_t min_lines) {
  std::string with_ss = replace_ss_command(pipeline, "ss");
  const char* ref = std::getenv("SSTRACE_E2E_REFERENCE");
  std::string tool = ref && std::string(ref) == "ss" ? std::string("ss")
                                                     : shell_join({sstrace_binary(), "snapshot"});
  std::string with_sstrace = replace_ss_command(pipeline, tool);
  // A pipeline's lines have no socket identity to bracket by, so the
  // bracket is the whole output: sstrace's must equal one of the two ss runs.
  RunResult ss, sst, after;
  bool same = false;
  for (int attempt = 1; attempt <= 8 && !same; ++attempt) {
    ss = ns.enter({"sh", "-c", with_ss});
    sst = ns.enter({"sh", "-c", with_sstrace});
    after = ns.enter({"sh", "-c", with_ss});
    auto got = pipeline_lines(sst.out);
    same = got == pipeline_lines(ss.out) || got == pipeline_lines(after.out);
    if (!same) std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
  }
  auto both = [&] {
    return "\n--- " + with_ss + "\n" + clip(ss.out) + "--- " + with_sstrace + "\n" + clip(sst.out) +
           (sst.err.empty() ? "" : "--- its stderr:\n" + clip(sst.err, 2000));
  };
  auto want = pipeline_lines(ss.out), got = pipeline_lines(sst.out);
  if (want.size() < min_lines)
    return ::testing::AssertionFailure()
           << "the fixture is wrong: the ss pipeline printed " << want.size() << " lines" << both();
  if (!same) {
    std::vector<std::vector<std::string>> missing, extra;
    std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                        std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                        std::back_inserter(extra));
    std::string d;
    for (auto& r : missing) d += "  only with ss:      " + join(r) + "\n";
    for (auto& r : extra) d += "  only with sstrace: " + join(r) + "\n";
    return ::testing::AssertionFailure() << "outputs differ:\n" << d << both();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace sstrace::e2e
