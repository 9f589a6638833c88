#include "live_harness.h"

#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace sstrace::e2e {

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits for pid without blocking past the deadline.
std::optional<int> wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// LiveTrace

LiveTrace::LiveTrace(const Netns& ns, Config cfg) : close_after_(cfg.close_stdout_after) {
  std::vector<std::string> argv{sstrace_binary()};
  argv.insert(argv.end(), cfg.command.begin(), cfg.command.end());
  if (cfg.json) argv.push_back("--json");
  argv.insert(argv.end(), {"-N", ns.name()});
  argv.insert(argv.end(), cfg.args.begin(), cfg.args.end());
  command_ = shell_join(argv);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) fail_errno("pipe2");
  // Room for bursts while the reader thread is descheduled.
  fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) fail_errno("fork");
  if (pid_ == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  thread_ = std::thread([this, o = out[0], e = err[0]] { reader(o, e); });
}

LiveTrace::~LiveTrace() {
  if (!status_) {
    kill(pid_, SIGKILL);
    wait_pid(pid_, 10s);
  }
  if (thread_.joinable()) thread_.join();
  // For a person reading a test's run: the whole stream.
  if (std::getenv("SSTRACE_E2E_LIVE_DUMP"))
    for (const std::string& l : lines_) fprintf(stderr, "live> %s\n", l.c_str());
}

void LiveTrace::reader(int out_fd, int err_fd) {
  std::string partial;
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    std::vector<pollfd> pfds;
    if (out_fd >= 0) pfds.push_back({out_fd, POLLIN, 0});
    if (err_fd >= 0) pfds.push_back({err_fd, POLLIN, 0});
    int n = poll(pfds.data(), pfds.size(), 200);
    if (n < 0 && errno != EINTR) break;
    for (auto& p : pfds) {
      if (!p.revents) continue;
      ssize_t got = read(p.fd, buf, sizeof(buf));
      if (got <= 0 && !(got < 0 && errno == EINTR)) {
        ::close(p.fd);
        if (p.fd == out_fd) {
          out_fd = -1;
          std::lock_guard lock(mu_);
          out_done_ = true;
          cv_.notify_all();
        } else {
          err_fd = -1;
        }
        continue;
      }
      if (got <= 0) continue;
      if (p.fd == err_fd) {
        std::lock_guard lock(mu_);
        err_.append(buf, static_cast<size_t>(got));
        continue;
      }
      partial.append(buf, static_cast<size_t>(got));
      size_t start = 0, nl;
      std::vector<std::pair<std::string, Json>> fresh;
      while ((nl = partial.find('\n', start)) != std::string::npos) {
        std::string line = partial.substr(start, nl - start);
        start = nl + 1;
        if (line.empty()) continue;
        Json j = Json::parse(line, nullptr, false);
        if (j.is_discarded()) j = Json();
        fresh.emplace_back(std::move(line), std::move(j));
      }
      partial.erase(0, start);
      std::lock_guard lock(mu_);
      for (auto& [l, j] : fresh) {
        lines_.push_back(std::move(l));
        events_.push_back(std::move(j));
      }
      if (close_after_ && lines_.size() >= close_after_ && out_fd >= 0) {
        // The reader goes away: sstrace's next write gets EPIPE.
        ::close(out_fd);
        out_fd = -1;
        out_done_ = true;
      }
      cv_.notify_all();
    }
  }
  std::lock_guard lock(mu_);
  out_done_ = true;
  cv_.notify_all();
}

std::vector<Json> LiveTrace::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::vector<std::string> LiveTrace::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

size_t LiveTrace::size() const {
  std::lock_guard lock(mu_);
  return events_.size();
}

std::string LiveTrace::err() const {
  std::lock_guard lock(mu_);
  return err_;
}

std::optional<size_t> LiveTrace::wait_for(const std::function<bool(const Json&)>& pred,
                                          std::chrono::milliseconds timeout, size_t from) const {
  auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  size_t next = from;
  for (;;) {
    for (; next < events_.size(); ++next)
      if (pred(events_[next])) return next;
    if (out_done_) return std::nullopt;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; next < events_.size(); ++next)
        if (pred(events_[next])) return next;
      return std::nullopt;
    }
  }
}

std::optional<size_t> LiveTrace::wait_sync(std::chrono::milliseconds timeout) const {
  return wait_for([](const Json& e) { return is_type(e, "sync"); }, timeout);
}

std::vector<Json> LiveTrace::dump_table(std::chrono::milliseconds timeout) {
  size_t from = size();
  signal(SIGUSR1);
  auto end = wait_for([](const Json& e) { return is_type(e, "table_end"); }, timeout, from);
  if (!end) return {};
  std::vector<Json> all = events();
  size_t first = *end;
  while (first > from && is_type(all[first - 1], "table")) --first;
  return std::vector<Json>(all.begin() + static_cast<ptrdiff_t>(first),
                           all.begin() + static_cast<ptrdiff_t>(*end) + 1);
}

void LiveTrace::signal(int sig) const {
  if (!status_) kill(pid_, sig);
}

int LiveTrace::wait_exit(std::chrono::milliseconds timeout) {
  if (!status_) {
    auto s = wait_pid(pid_, timeout);
    if (!s) return -1;
    status_ = *s;
  }
  // Everything it wrote is in the pipe now: let the reader drain it.
  if (thread_.joinable()) thread_.join();
  return *status_;
}

int LiveTrace::stop(std::chrono::milliseconds timeout) {
  signal(SIGINT);
  int s = wait_exit(timeout);
  if (s == -1 && !status_) {
    kill(pid_, SIGKILL);
    wait_exit(10s);
    status_ = -1;
    return -1;
  }
  return s;
}

std::string LiveTrace::describe(size_t last_lines) const {
  std::lock_guard lock(mu_);
  std::ostringstream o;
  o << "\n--- " << command_ << " (status "
    << (status_ ? std::to_string(*status_) : std::string("running")) << ", " << lines_.size()
    << " lines)\n";
  size_t first = lines_.size() > last_lines ? lines_.size() - last_lines : 0;
  if (first) o << "... (" << first << " lines before)\n";
  for (size_t i = first; i < lines_.size(); ++i) o << lines_[i] << "\n";
  if (!err_.empty()) o << "--- stderr:\n" << err_.substr(0, 4000);
  return o.str();
}

// ---------------------------------------------------------------------------
// Worker

std::string Channel::recv() {
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    char b[4096];
    ssize_t n = read(in_, b, sizeof(b));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    buf_.append(b, static_cast<size_t>(n));
  }
}

bool Channel::pending() {
  if (buf_.find('\n') != std::string::npos) return true;
  pollfd p{in_, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

void Channel::send(const std::string& line) {
  std::string l = line + "\n";
  size_t off = 0;
  while (off < l.size()) {
    ssize_t n = write(out_, l.data() + off, l.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);  // the parent is gone
    off += static_cast<size_t>(n);
  }
}

Worker::Worker(const Netns& ns, const std::string& comm, const Body& body) : comm_(comm) {
  int down[2], up[2];
  if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) fail_errno("pipe2");
  std::string nspath = "/run/netns/" + ns.name();
  pid_ = fork();
  if (pid_ < 0) fail_errno("fork");
  if (pid_ == 0) {
    // Only our own sockets and the control pipe: an inherited copy of
    // sstrace's stdout or of another worker's socket would change what is
    // being tested (who owns a socket, when a pipe closes).
    become_own_process(comm, {down[0], up[1]});
    signal(SIGPIPE, SIG_IGN);
    Channel ch(down[0], up[1]);
    int nsfd = open(nspath.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
      ch.send("error cannot enter " + nspath + ": " + std::strerror(errno));
      _exit(1);
    }
    ::close(nsfd);
    int code = 0;
    try {
      body(ch);
    } catch (const std::exception& e) {
      ch.send(std::string("error ") + e.what());
      code = 1;
    }
    _exit(code);
  }
  ::close(down[0]);
  ::close(up[1]);
  to_child_ = down[1];
  from_child_ = up[0];
}

Worker::~Worker() {
  if (to_child_ >= 0) ::close(to_child_);
  if (!status_) {
    // EOF on its channel ends a command loop; anything else is killed.
    if (!wait_pid(pid_, 2s)) {
      kill(pid_, SIGKILL);
      wait_pid(pid_, 10s);
    }
  }
  if (from_child_ >= 0) ::close(from_child_);
}

void Worker::send(const std::string& line) {
  std::string l = line + "\n";
  if (write(to_child_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
    fail_errno("write to worker " + comm_);
}

std::string Worker::recv(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.starts_with("error"))
        throw std::runtime_error("worker " + comm_ + " (pid " + std::to_string(pid_) +
                                 "): " + line);
      return line;
    }
    pollfd p{from_child_, POLLIN, 0};
    int left = ms_left(deadline);
    if (left == 0) throw std::runtime_error("worker " + comm_ + ": no answer in time");
    int n = poll(&p, 1, left);
    if (n < 0 && errno != EINTR) fail_errno("poll");
    if (n <= 0) continue;
    char b[4096];
    ssize_t got = read(from_child_, b, sizeof(b));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw std::runtime_error("worker " + comm_ + " exited without an answer");
    buf_.append(b, static_cast<size_t>(got));
  }
}

int Worker::wait_exit(std::chrono::milliseconds timeout) {
  if (!status_) {
    auto s = wait_pid(pid_, timeout);
    if (!s) return -1;
    status_ = *s;
  }
  return *status_;
}

sockaddr_in ipv4_addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

namespace {

int listen_tcp4(const char* ip, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = ipv4_addr(ip, port);
  if (fd < 0 || bind(fd, (sockaddr*)&a, sizeof a) < 0 || listen(fd, 1024) < 0)
    throw std::runtime_error("listen " + std::string(ip) + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));
  return fd;
}

}  // namespace

void serve_8080_and_9090(Channel& ch) {
  std::vector<pollfd> fds{{ch.fd(), POLLIN, 0},
                          {listen_tcp4("127.0.0.1", 8080), POLLIN, 0},
                          {listen_tcp4("127.0.0.1", 9090), POLLIN, 0}};
  ch.send("ok");
  for (;;) {
    if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) throw std::runtime_error("poll");
    if (fds[0].revents) return;  // a command or EOF: stop
    for (size_t i = 1; i < 3; ++i)
      if (fds[i].revents & POLLIN) {
        int c = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) fds.push_back({c, POLLIN, 0});
      }
    for (size_t i = 3; i < fds.size();) {
      char buf[256];
      if (fds[i].revents && read(fds[i].fd, buf, sizeof buf) <= 0) {
        close(fds[i].fd);
        fds.erase(fds.begin() + ptrdiff_t(i));
        continue;
      }
      ++i;
    }
  }
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// ---------------------------------------------------------------------------
// The endpoint command interpreter (runs in a worker)

namespace {

sockaddr_storage make_sockaddr(const std::string& ip, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(*v6);
  } else {
    throw std::runtime_error("not an address: " + ip);
  }
  return ss;
}

uint16_t port_of(const sockaddr_storage& ss) {
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
}

std::string ports(int fd) {
  sockaddr_storage a{}, b{};
  socklen_t la = sizeof(a), lb = sizeof(b);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &la) < 0) fail_errno("getsockname");
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&b), &lb) < 0) fail_errno("getpeername");
  return std::to_string(port_of(a)) + " " + std::to_string(port_of(b));
}

std::string tcp_info_line(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof(ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) fail_errno("TCP_INFO");
  return "info " + std::to_string(ti.tcpi_state) + " " + std::to_string(ti.tcpi_bytes_acked) + " " +
         std::to_string(ti.tcpi_bytes_received);
}

void need(int fd, const char* what) {
  if (fd < 0) throw std::runtime_error(std::string("no ") + what + " for this command");
}

}  // namespace

void endpoint_commands(Channel& ch) {
  int lfd = -1, cfd = -1;
  for (;;) {
    std::string line = ch.recv();
    if (line.empty() || line == "exit") break;
    std::vector<std::string> w = words(line);
    const std::string& cmd = w[0];
    if (cmd == "listen") {
      socklen_t len;
      sockaddr_storage a = make_sockaddr(w.at(1), static_cast<uint16_t>(std::stoi(w.at(2))), &len);
      lfd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (lfd < 0) fail_errno("socket");
      int one = 1;
      setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (bind(lfd, reinterpret_cast<sockaddr*>(&a), len) < 0) fail_errno("bind");
      if (listen(lfd, 1024) < 0) fail_errno("listen");
      sockaddr_storage me{};
      socklen_t ml = sizeof(me);
      getsockname(lfd, reinterpret_cast<sockaddr*>(&me), &ml);
      ch.send("port " + std::to_string(port_of(me)));
    } else if (cmd == "accept") {
      need(lfd, "listener");
      cfd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (cfd < 0) fail_errno("accept");
      ch.send("ok " + ports(cfd));
    } else if (cmd == "connect") {
      socklen_t len;
      sockaddr_storage a = make_sockaddr(w.at(1), static_cast<uint16_t>(std::stoi(w.at(2))), &len);
      cfd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (cfd < 0) fail_errno("socket");
      if (w.size() >= 5) {  // from a chosen local address and port
        socklen_t blen;
        sockaddr_storage b =
            make_sockaddr(w.at(3), static_cast<uint16_t>(std::stoi(w.at(4))), &blen);
        if (bind(cfd, reinterpret_cast<sockaddr*>(&b), blen) < 0) fail_errno("bind");
      }
      if (connect(cfd, reinterpret_cast<sockaddr*>(&a), len) < 0) fail_errno("connect");
      ch.send("ok " + ports(cfd));
    } else if (cmd == "send") {
      need(cfd, "connection");
      size_t n = std::stoul(w.at(1));
      std::string chunk(65536, 'd');
      while (n > 0) {
        ssize_t k = write(cfd, chunk.data(), std::min(n, chunk.size()));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) fail_errno("write");
        n -= static_cast<size_t>(k);
      }
      ch.send("ok");
    } else if (cmd == "recv") {
      need(cfd, "connection");
      size_t n = std::stoul(w.at(1));
      char b[65536];
      while (n > 0) {
        ssize_t k = read(cfd, b, std::min(n, sizeof(b)));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) fail_errno("read");
        if (k == 0) throw std::runtime_error("EOF with " + std::to_string(n) + " bytes to go");
        n -= static_cast<size_t>(k);
      }
      ch.send("ok");
    } else if (cmd == "shutdown") {
      need(cfd, "connection");
      if (shutdown(cfd, SHUT_WR) < 0) fail_errno("shutdown");
      ch.send("ok");
    } else if (cmd == "eof" || cmd == "reset") {
      need(cfd, "connection");
      char b[256];
      ssize_t k;
      do k = read(cfd, b, sizeof(b));
      while (k < 0 && errno == EINTR);
      if (cmd == "eof" && k != 0)
        throw std::runtime_error("expected EOF, read returned " + std::to_string(k) +
                                 (k < 0 ? std::string(" ") + std::strerror(errno) : ""));
      if (cmd == "reset" && !(k < 0 && errno == ECONNRESET))
        throw std::runtime_error("expected ECONNRESET, read returned " + std::to_string(k));
      ch.send("ok");
    } else if (cmd == "info") {
      need(cfd, "connection");
      ch.send(tcp_info_line(cfd));
    } else if (cmd == "wait-closed") {
      need(cfd, "connection");
      auto deadline = Clock::now() + 30s;
      for (;;) {
        std::string info = tcp_info_line(cfd);
        if (words(info).at(1) == "7") {  // TCP_CLOSE
          ch.send(info);
          break;
        }
        if (Clock::now() > deadline) throw std::runtime_error("never reached CLOSE: " + info);
        std::this_thread::sleep_for(2ms);
      }
    } else if (cmd == "linger0") {
      need(cfd, "connection");
      linger lg{1, 0};
      if (setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) fail_errno("SO_LINGER");
      ::close(cfd);
      cfd = -1;
      ch.send("ok");
    } else if (cmd == "close") {
      need(cfd, "connection");
      ::close(cfd);
      cfd = -1;
      ch.send("ok");
    } else if (cmd == "close-listener") {
      need(lfd, "listener");
      ::close(lfd);
      lfd = -1;
      ch.send("ok");
    } else {
      throw std::runtime_error("unknown command: " + line);
    }
  }
  if (cfd >= 0) ::close(cfd);
  if (lfd >= 0) ::close(lfd);
}

void exchange(Worker& client, Worker& server, size_t up, size_t down) {
  client.send("send " + std::to_string(up));
  server.call("recv " + std::to_string(up));
  client.recv();
  server.send("send " + std::to_string(down));
  client.call("recv " + std::to_string(down));
  server.recv();
}

std::pair<std::string, std::string> orderly_close(Worker& first, Worker& second,
                                                  std::chrono::milliseconds timeout) {
  first.call("shutdown");
  second.call("eof", timeout);
  second.call("shutdown");
  first.call("eof", timeout);
  std::pair<std::string, std::string> info{first.call("wait-closed", timeout),
                                           second.call("wait-closed", timeout)};
  first.call("close");
  second.call("close");
  return info;
}

// ---------------------------------------------------------------------------
// ss and counters

namespace {

std::string unbracket(const std::string& a) {
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') return a.substr(1, a.size() - 2);
  return a;
}

}  // namespace

std::vector<SsSock> ss_tane(const Netns& ns) {
  RunResult r = run_ss(ns, {"-tane"});
  if (r.status != 0) throw std::runtime_error("ss -tane failed: " + r.err);
  SsTable t = parse_ss(r.out);
  std::vector<SsSock> out;
  for (const SsRow& row : t.rows) {
    SsSock s;
    s.text = join_tokens(row);
    s.state = row.state;
    s.laddr = unbracket(row.local_addr);
    s.lport = row.local_port == "*" ? 0 : std::stoi(row.local_port);
    s.raddr = unbracket(row.peer_addr);
    s.rport = row.peer_port == "*" ? 0 : std::stoi(row.peer_port);
    if (s.rport == 0 && (s.raddr == "0.0.0.0" || s.raddr == "::" || s.raddr == "*")) s.raddr = "*";
    std::string sk = row.extra("sk");
    if (sk.empty()) throw std::runtime_error("ss row without sk: " + s.text);
    s.cookie = std::stoull(sk, nullptr, 16);
    std::string ino = row.extra("ino");
    s.inode = ino.empty() ? 0 : std::stoull(ino);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// Two lines per group in /proc/net/{snmp,netstat}: names, then values.
std::map<std::string, uint64_t> proc_counters(const Netns& ns, const char* file,
                                              const char* group) {
  return ns.call([&] {
    std::ifstream in(std::string("/proc/thread-self/net/") + file);
    std::string line;
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line))
      if (line.starts_with(std::string(group) + ":")) rows.push_back(words(line));
    std::map<std::string, uint64_t> out;
    if (rows.size() != 2 || rows[0].size() != rows[1].size())
      throw std::runtime_error(std::string("no ") + group + ": lines in /proc/net/" + file);
    for (size_t i = 1; i < rows[0].size(); ++i)
      out[rows[0][i]] = static_cast<uint64_t>(std::stoll(rows[1][i]));
    return out;
  });
}

}  // namespace

std::map<std::string, uint64_t> tcp_snmp(const Netns& ns) {
  return proc_counters(ns, "snmp", "Tcp");
}

std::map<std::string, uint64_t> tcp_ext(const Netns& ns) {
  return proc_counters(ns, "netstat", "TcpExt");
}

bool wait_ss(const Netns& ns, const std::function<bool(const std::vector<SsSock>&)>& pred,
             std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred(ss_tane(ns))) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// ---------------------------------------------------------------------------
// Reading a stream

std::string str(const Json& e, const char* key) {
  if (!e.is_object() || !e.contains(key) || !e[key].is_string()) return "";
  return e[key].get<std::string>();
}

int64_t num(const Json& e, const char* key, int64_t dflt) {
  if (!e.is_object() || !e.contains(key) || !e[key].is_number()) return dflt;
  return e[key].get<int64_t>();
}

uint64_t cookie_of(const Json& e) {
  if (!e.is_object() || !e.contains("cookie") || !e["cookie"].is_number_unsigned()) return 0;
  return e["cookie"].get<uint64_t>();
}

bool is_type(const Json& e, const char* type) { return str(e, "type") == type; }

std::string hex(uint64_t v) {
  std::ostringstream o;
  o << std::hex << v;
  return o.str();
}

std::map<uint64_t, SocketStory> stories(const std::vector<Json>& events) {
  std::map<uint64_t, SocketStory> out;
  for (const Json& e : events) {
    uint64_t c = cookie_of(e);
    if (!c) continue;
    SocketStory& s = out[c];
    s.cookie = c;
    s.all.push_back(e);
    std::string t = str(e, "type");
    if (t == "snapshot") s.snapshot = e;
    if (t == "state") s.states.push_back(e);
    if (t == "close") s.closes.push_back(e);
    if (t == "reset") s.resets.push_back(e);
    if (t == "retransmit") s.retransmits.push_back(e);
    if (t == "rtt") s.rtts.push_back(e);
  }
  return out;
}

std::string transitions_text(const SocketStory& s) {
  std::string out;
  if (s.snapshot) out += "[snapshot " + str(*s.snapshot, "state") + "] ";
  for (const Json& e : s.states) {
    out += str(e, "old") + ">" + str(e, "new");
    if (e.contains("inferred")) out += "(inferred)";
    if (e.contains("minisocket")) out += "(mini)";
    out += " ";
  }
  return out;
}

std::string final_state(const SocketStory& s) {
  if (!s.states.empty()) return str(s.states.back(), "new");
  if (s.snapshot) return str(*s.snapshot, "state");
  return "";
}

::testing::AssertionResult stream_is_sound(const std::vector<Json>& events,
                                           const std::vector<std::string>& lines, uint64_t netns) {
  std::vector<std::string> problems;
  auto add = [&](size_t i, const std::string& m) {
    if (problems.size() < 40)
      problems.push_back("  line " + std::to_string(i + 1) + ": " + m +
                         (i < lines.size() ? "\n      " + lines[i].substr(0, 400) : ""));
  };
  const JsonSchema* schema = nullptr;
  try {
    schema = &events_schema();
  } catch (const std::exception& e) {
    problems.push_back(std::string("  cannot load the schema: ") + e.what());
  }
  std::optional<size_t> sync, exit;
  size_t snapshots = 0, syncs = 0, exits = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const Json& e = events[i];
    if (!e.is_object()) {
      add(i, "not a JSON object");
      continue;
    }
    if (schema)
      for (auto& m : schema->validate(e)) add(i, "schema: " + m);
    if (num(e, "v") != 1) add(i, "v is not 1");
    std::string t = str(e, "type");
    if (t == "snapshot") {
      ++snapshots;
      if (sync) add(i, "snapshot after sync");
    } else if (t == "sync") {
      ++syncs;
      if (!sync) sync = i;
    } else if (t == "exit") {
      ++exits;
      exit = i;
    } else if (t == "lost") {
      add(i, "lost event: the kernel could not deliver " + std::to_string(num(e, "count")) +
                 " events at the default ring-buffer size");
    } else if (!sync && t != "") {
      add(i, "a " + t + " event before sync");
    }
    if (e.contains("cookie") && num(e, "netns") != static_cast<int64_t>(netns))
      add(i, "netns " + std::to_string(num(e, "netns")) + " is not the test's namespace " +
                 std::to_string(netns));
  }
  if (syncs != 1) problems.push_back("  " + std::to_string(syncs) + " sync events, not 1");
  if (sync && num(events[*sync], "sockets") != static_cast<int64_t>(snapshots))
    problems.push_back("  sync.sockets is " + std::to_string(num(events[*sync], "sockets")) +
                       " but " + std::to_string(snapshots) + " snapshot events came before it");
  if (exits != 1) problems.push_back("  " + std::to_string(exits) + " exit events, not 1");
  if (exit) {
    if (*exit + 1 != events.size()) add(*exit, "exit is not the last line");
    if (num(events[*exit], "lost") != 0) add(*exit, "exit.lost is not 0");
    if (num(events[*exit], "events") != static_cast<int64_t>(lines.size()))
      add(*exit, "exit.events is " + std::to_string(num(events[*exit], "events")) + ", but " +
                     std::to_string(lines.size()) + " lines were written");
  }
  if (problems.empty()) return ::testing::AssertionSuccess();
  std::string all;
  for (auto& p : problems) all += p + "\n";
  return ::testing::AssertionFailure() << "the stream is not sound:\n" << all;
}

::testing::AssertionResult chains_are_consistent(const std::map<uint64_t, SocketStory>& st) {
  std::vector<std::string> problems;
  for (const auto& [cookie, s] : st) {
    std::string where = "  cookie " + std::to_string(cookie) + " (sk:" + hex(cookie) + ") " +
                        transitions_text(s) + ": ";
    std::string cur = s.snapshot ? str(*s.snapshot, "state") : "";
    // A request minisocket: ss shows it with no inode.
    bool was_request = s.snapshot && cur == "SYN-RECV" && num(*s.snapshot, "inode", 0) == 0;
    std::set<std::pair<std::string, std::string>> seen;
    for (const Json& e : s.states) {
      std::string o = str(e, "old"), n = str(e, "new");
      if (!cur.empty() && o != cur)
        problems.push_back(where + "old " + o + " does not follow " + cur + " (lost or doubled)");
      bool handover = o == "FIN-WAIT-2" && n == "FIN-WAIT-2" && e.value("minisocket", false);
      bool takeover = o == "SYN-RECV" && n == "SYN-RECV" && was_request &&
                      !e.value("inferred", false) && !e.value("request", false);
      if (o == n && !handover && !takeover)
        problems.push_back(where + "a transition " + o + " -> itself");
      was_request = e.value("request", false);
      if (!seen.insert({o, n}).second)
        problems.push_back(where + "transition " + o + " -> " + n + " twice");
      if (str(e, "state") != n)
        problems.push_back(where + "state field " + str(e, "state") + " != new " + n);
      cur = n;
    }
    // A close summary belongs to the full socket's end: its transition to
    // CLOSE or its hand-over to a minisocket, never an inferred change.
    bool ends = false;
    for (const Json& e : s.states)
      if (!e.value("inferred", false) && (str(e, "new") == "CLOSE" || e.value("minisocket", false)))
        ends = true;
    if (s.closes.size() > 1)
      problems.push_back(where + std::to_string(s.closes.size()) + " close events");
    if (ends && s.closes.empty()) problems.push_back(where + "ended without a close event");
    if (!ends && !s.closes.empty())
      problems.push_back(where + "a close event without the transition that ends the socket");
    if (problems.size() > 40) break;
  }
  if (problems.empty()) return ::testing::AssertionSuccess();
  std::string all;
  for (auto& p : problems) all += p + "\n";
  return ::testing::AssertionFailure() << "inconsistent state chains:\n" << all;
}

namespace {

std::string sock_key(uint64_t cookie, const std::string& state, const std::string& laddr,
                     int64_t lport, const std::string& raddr, int64_t rport) {
  return "sk:" + hex(cookie) + " " + state + " " + laddr + ":" + std::to_string(lport) + " " +
         raddr + ":" + std::to_string(rport);
}

}  // namespace

::testing::AssertionResult table_matches_ss(const std::vector<Json>& table,
                                            const std::vector<SsSock>& ss) {
  if (table.empty() || !is_type(table.back(), "table_end"))
    return ::testing::AssertionFailure() << "no table_end after SIGUSR1";
  std::multiset<std::string> mine, theirs;
  size_t rows = 0;
  for (const Json& e : table) {
    if (!is_type(e, "table")) continue;
    ++rows;
    mine.insert(sock_key(cookie_of(e), str(e, "state"), str(e, "laddr"), num(e, "lport"),
                         str(e, "raddr"), num(e, "rport")));
  }
  for (const SsSock& s : ss) {
    theirs.insert(sock_key(s.cookie, s.state, s.laddr, s.lport, s.raddr, s.rport));
  }
  std::vector<std::string> only_ss, only_table;
  std::set_difference(theirs.begin(), theirs.end(), mine.begin(), mine.end(),
                      std::back_inserter(only_ss));
  std::set_difference(mine.begin(), mine.end(), theirs.begin(), theirs.end(),
                      std::back_inserter(only_table));
  std::ostringstream o;
  if (num(table.back(), "sockets") != static_cast<int64_t>(rows))
    o << "  table_end.sockets is " << num(table.back(), "sockets") << " but " << rows
      << " table events came before it\n";
  size_t shown = 0;
  for (auto& k : only_ss)
    if (shown++ < 30) o << "  only in ss:    " << k << "\n";
  for (auto& k : only_table)
    if (shown++ < 60) o << "  only in table: " << k << "\n";
  if (shown > 60) o << "  ... " << (only_ss.size() + only_table.size()) << " differences in all\n";
  if (o.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "the live table (" << mine.size() << " sockets) differs from ss -tane ("
         << theirs.size() << " sockets):\n"
         << o.str();
}

void drop_acks_to(const Netns& ns, const std::string& table, int port) {
  ns.nft("table inet " + table +
         " {\n"
         "  chain input {\n"
         "    type filter hook input priority 0; policy accept;\n"
         "    tcp dport " +
         std::to_string(port) +
         " tcp flags & (syn | ack) == ack drop\n"
         "  }\n"
         "}\n");
}

void connector_commands(Channel& ch) {
  std::vector<int> fds;
  for (;;) {
    std::string line = ch.recv();
    if (line.empty() || line == "exit") break;
    std::vector<std::string> w = words(line);
    if (w.at(0) == "poke") {
      // One byte on every connection to that port: its ACK completes a
      // handshake whose ACK was lost.
      size_t n = 0;
      for (int fd : fds) {
        sockaddr_in peer{};
        socklen_t pl = sizeof(peer);
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) == 0 &&
            ntohs(peer.sin_port) == std::stoi(w.at(1)) && write(fd, "p", 1) == 1)
          ++n;
      }
      ch.send("ok " + std::to_string(n));
      continue;
    }
    if (w.at(0) != "connect") {
      ch.send("error unknown command " + line);
      continue;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(w.at(2))));
    if (inet_pton(AF_INET, w.at(1).c_str(), &a.sin_addr) != 1) {
      ch.send("error bad address");
      continue;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fds.push_back(fd);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) {
      const char* name = strerrorname_np(errno);
      ch.send(std::string("errno ") + (name ? name : "?"));
      continue;
    }
    sockaddr_in me{};
    socklen_t ml = sizeof(me);
    getsockname(fd, reinterpret_cast<sockaddr*>(&me), &ml);
    ch.send("ok " + std::to_string(ntohs(me.sin_port)));
  }
  for (int fd : fds) close(fd);
}

}  // namespace sstrace::e2e
