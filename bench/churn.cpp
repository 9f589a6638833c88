// churn: the highest loopback connection rate this machine allows, for a
// fixed time, so tracers can be compared on the workload they exist for.
// Client threads connect and close in a loop; server threads accept (epoll,
// SO_REUSEPORT listeners) and close. Every connection ends one of three
// ways, chosen per connection and told to the server by the port it dials:
//
//   server-first  the server closes right after accept(), the client reads
//                 EOF and closes (TIME-WAIT on the server side)
//   client-first  the client closes right after connect(), the server sees
//                 EOF and closes (TIME-WAIT on the client side)
//   reset         the client closes with SO_LINGER 0: an RST, no TIME-WAIT
//
//   churn --duration S [--netns NAME] [--clients N] [--servers N (0: every
//         connect is refused, a storm of resets to a closed port)]
//         [--reset-pct P] [--server-close-pct P] [--ports-per-group N]
//         [--server-addr A] [--client-addr A] [--base-port P]
//         [--rate R (connections per second in all, 0: as fast as it goes)]
//
// Prints one line: "churn: connections N seconds S rate R errors E ...
// attempt_rate A" (A: connects tried per second, failed ones included).
// No data is sent: the cost measured is the connection's life, not bytes.
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace sstrace::bench {
namespace {

constexpr const char* kTool = "churn";

enum class Ending : uint8_t { server_first = 0, client_first = 1, reset = 2 };
constexpr int kGroups = 3;

struct Config {
  double duration_s = 5;
  int clients = 4;
  int servers = 2;
  int reset_pct = 10;
  int server_close_pct = 45;
  int ports_per_group = 4;
  uint16_t base_port = 50000;
  int rate = 0;  // per second over all clients; 0: no pacing
  std::string server_addr = "127.42.0.1";
  std::string client_addr = "127.42.0.2";

  // Group g's ports are base + g * ports_per_group + [0, ports_per_group).
  uint16_t port(Ending e, uint64_t i) const {
    return uint16_t(base_port + int(e) * ports_per_group + int(i % uint64_t(ports_per_group)));
  }
  Ending ending_of_port(uint16_t port) const {
    return Ending((port - base_port) / ports_per_group);
  }
  // Spreads the endings evenly through the sequence (37 is coprime to 100),
  // so every short window has the configured mix.
  Ending ending_of(uint64_t i) const {
    int slot = int((i * 37) % 100);
    if (slot < reset_pct) return Ending::reset;
    if (slot < reset_pct + server_close_pct) return Ending::server_first;
    return Ending::client_first;
  }
};

struct Counters {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> by_ending[kGroups]{};
};

// ---- server side ----

int reuseport_listener(const Config& cfg, uint16_t port) {
  SockAddr a = make_addr(kTool, cfg.server_addr, port);
  int fd = ::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die(kTool, "socket", errno);
  int one = 1;
  // One listener per server thread and port: the kernel spreads the SYNs,
  // so no accept queue is shared between threads.
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    die(kTool, "SO_REUSEPORT", errno);
  if (::bind(fd, a.get(), a.len) != 0) die(kTool, cat("bind ", cfg.server_addr), errno);
  if (::listen(fd, 4096) != 0) die(kTool, "listen", errno);
  return fd;
}

// Tags in epoll_event.data.u64: listeners carry their port with this bit.
constexpr uint64_t kListenerTag = 1ull << 32;

class Server {
 public:
  Server(const Config& cfg, Counters& counters) : cfg_(cfg), counters_(counters) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die(kTool, "epoll_create1", errno);
    for (int g = 0; g < kGroups; ++g)
      for (int p = 0; p < cfg.ports_per_group; ++p) {
        uint16_t port = cfg.port(Ending(g), uint64_t(p));
        int fd = reuseport_listener(cfg, port);
        listeners_.push_back(fd);
        add(fd, EPOLLIN, kListenerTag | (uint64_t(port) << 33) | uint64_t(fd));
      }
  }
  ~Server() {
    for (int fd : listeners_) ::close(fd);
    ::close(ep_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until `stop` and then for `grace_ms` more, so the clients'
  // last connections are not left half closed by an exiting server.
  void run(const std::atomic<bool>& stop, int grace_ms) {
    epoll_event evs[256];
    uint64_t grace_end = 0;
    for (;;) {
      if (stop && grace_end == 0) grace_end = monotonic_ns() + uint64_t(grace_ms) * 1'000'000;
      if (grace_end && monotonic_ns() >= grace_end) return;
      int n = epoll_wait(ep_, evs, 256, 50);
      if (n < 0 && errno != EINTR) die(kTool, "epoll_wait", errno);
      for (int i = 0; i < n; ++i) handle(evs[i]);
    }
  }

 private:
  void add(int fd, uint32_t events, uint64_t data) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die(kTool, "epoll_ctl", errno);
  }

  void handle(const epoll_event& ev) {
    if (ev.data.u64 & kListenerTag) {
      accept_all(int(ev.data.u64 & 0xffffffffu), uint16_t(ev.data.u64 >> 33));
      return;
    }
    // A connection whose client closed (EOF) or reset it: our close ends it.
    ::close(int(ev.data.u64));
  }

  void accept_all(int lfd, uint16_t port) {
    Ending e = cfg_.ending_of_port(port);
    for (;;) {
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a connection reset before accept
      counters_.accepted.fetch_add(1, std::memory_order_relaxed);
      if (e == Ending::server_first) {
        ::close(fd);
        continue;
      }
      // EPOLLRDHUP: the client's FIN or RST; one-shot, the fd is closed then.
      add(fd, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, uint64_t(fd));
    }
  }

  const Config& cfg_;
  Counters& counters_;
  int ep_ = -1;
  std::vector<int> listeners_;
};

// ---- client side ----

int open_client(const SockAddr& local) {
  int fd = ::socket(local.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  // Bind the address only; connect() picks the port with the whole 4-tuple
  // in view, so the local range is shared by every server port.
  (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (::bind(fd, local.get(), local.len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void end_connection(int fd, Ending e) {
  if (e == Ending::reset) {
    linger l{1, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  } else if (e == Ending::server_first) {
    char b;
    while (::read(fd, &b, 1) < 0 && errno == EINTR) {
    }
  }
  ::close(fd);
}

// One connection; false on any failure (counted, never fatal: a rate
// benchmark must finish and say how many failed).
bool one_connection(const Config& cfg, const SockAddr& local, uint64_t i, Ending e) {
  int fd = open_client(local);
  if (fd < 0) return false;
  SockAddr server = make_addr(kTool, cfg.server_addr, cfg.port(e, i));
  if (::connect(fd, server.get(), server.len) != 0) {
    ::close(fd);
    return false;
  }
  end_connection(fd, e);
  return true;
}

// With --rate, client `id`'s k-th connection starts no earlier than k
// intervals after the start: a steady load a soak can run for hours without
// the reader falling behind, where the top rate is what a benchmark wants.
void pace(const Config& cfg, uint64_t start, uint64_t k) {
  if (cfg.rate <= 0) return;
  const uint64_t due = start + k * uint64_t(cfg.clients) * 1'000'000'000ull / uint64_t(cfg.rate);
  const uint64_t now = monotonic_ns();
  if (due > now) {
    timespec ts{time_t((due - now) / 1'000'000'000ull), long((due - now) % 1'000'000'000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
}

void client_loop(const Config& cfg, int id, uint64_t deadline, Counters& c) {
  SockAddr local = make_addr(kTool, cfg.client_addr, 0);
  const uint64_t start = monotonic_ns();
  // Threads interleave their sequence numbers so the mix holds overall.
  for (uint64_t i = uint64_t(id), k = 0;; i += uint64_t(cfg.clients), ++k) {
    pace(cfg, start, k);
    if (monotonic_ns() >= deadline) return;
    Ending e = cfg.ending_of(i);
    if (one_connection(cfg, local, i, e)) {
      c.done.fetch_add(1, std::memory_order_relaxed);
      c.by_ending[int(e)].fetch_add(1, std::memory_order_relaxed);
    } else {
      c.errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

Config parse(int argc, char** argv) {
  Args a(kTool, argc, argv, {});
  a.check({"duration", "netns", "clients", "servers", "reset-pct", "server-close-pct",
           "ports-per-group", "server-addr", "client-addr", "base-port", "rate"});
  Config c;
  // Up to a day: bench/soak.sh runs it for 30 minutes and more.
  c.duration_s = double(a.num("duration", 5, 1, 86400));
  c.rate = int(a.num("rate", 0, 0, 10'000'000));
  c.clients = int(a.num("clients", c.clients, 1, 256));
  c.servers = int(a.num("servers", c.servers, 0, 64));
  c.reset_pct = int(a.num("reset-pct", c.reset_pct, 0, 100));
  c.server_close_pct = int(a.num("server-close-pct", c.server_close_pct, 0, 100 - c.reset_pct));
  c.ports_per_group = int(a.num("ports-per-group", c.ports_per_group, 1, 64));
  c.base_port = uint16_t(a.num("base-port", c.base_port, 1024, 65535 - kGroups * 64));
  c.server_addr = a.str("server-addr", c.server_addr);
  c.client_addr = a.str("client-addr", c.client_addr);
  enter_netns_or_die(kTool, a.str("netns"));
  return c;
}

}  // namespace
}  // namespace sstrace::bench

int main(int argc, char** argv) {
  using namespace sstrace::bench;
  Config cfg = parse(argc, argv);
  Counters counters;
  std::atomic<bool> stop{false};

  std::vector<std::unique_ptr<Server>> servers;
  for (int s = 0; s < cfg.servers; ++s) servers.push_back(std::make_unique<Server>(cfg, counters));
  std::vector<std::thread> threads;
  for (auto& s : servers) threads.emplace_back([&s, &stop] { s->run(stop, 1000); });

  uint64_t start = monotonic_ns();
  uint64_t deadline = start + uint64_t(cfg.duration_s * 1e9);
  std::vector<std::thread> clients;
  for (int i = 0; i < cfg.clients; ++i)
    clients.emplace_back([&, i] { client_loop(cfg, i, deadline, counters); });
  for (auto& t : clients) t.join();
  double secs = double(monotonic_ns() - start) / 1e9;
  stop = true;
  for (auto& t : threads) t.join();

  uint64_t done = counters.done;
  std::printf(
      "churn: connections %llu seconds %.3f rate %.0f errors %llu accepted %llu "
      "server_first %llu client_first %llu reset %llu attempt_rate %.0f\n",
      (unsigned long long)done, secs, double(done) / secs,
      (unsigned long long)counters.errors.load(), (unsigned long long)counters.accepted.load(),
      (unsigned long long)counters.by_ending[0].load(),
      (unsigned long long)counters.by_ending[1].load(),
      (unsigned long long)counters.by_ending[2].load(), double(done + counters.errors) / secs);
  return 0;
}
