// socket_holder: opens N established TCP pairs on loopback (a listener, N
// clients and the N sockets accept() returned), says "ready N" on stdout,
// then holds them until SIGTERM/SIGINT or --max-seconds. The snapshot,
// start-up and memory benchmarks need 10k-100k established sockets, and one
// process may hold only 20,000 fds on the reference machine, so bench/run.sh
// starts several holders, each on its own listening port.
//
//   socket_holder --pairs N --port P [--addr 127.0.0.1|::1] [--netns NAME]
//                 [--max-seconds S]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "bench_util.h"

namespace sstrace::bench {
namespace {

constexpr const char* kTool = "socket_holder";

// Connects this many clients before accepting them: well under the accept
// queue (somaxconn, 4096 by default), so no SYN is ever dropped and no
// connect() waits for a retransmission.
constexpr long kBatch = 1024;

int listen_on(const SockAddr& addr) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(kTool, "socket", errno);
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, addr.get(), addr.len) != 0) die(kTool, "bind", errno);
  if (::listen(fd, 4096) != 0) die(kTool, "listen", errno);
  return fd;
}

// On loopback the handshake completes inside connect(): the SYN and the
// SYN-ACK are processed in this thread's softirq before it returns.
int connect_to(const SockAddr& addr) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(kTool, "socket", errno);
  if (::connect(fd, addr.get(), addr.len) != 0) die(kTool, "connect", errno);
  return fd;
}

void open_pairs(const SockAddr& addr, long pairs, std::vector<int>& fds) {
  int lfd = listen_on(addr);
  fds.push_back(lfd);
  for (long done = 0; done < pairs;) {
    long n = std::min(kBatch, pairs - done);
    for (long i = 0; i < n; ++i) fds.push_back(connect_to(addr));
    for (long i = 0; i < n; ++i) {
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) die(kTool, "accept", errno);
      fds.push_back(fd);
    }
    done += n;
  }
}

}  // namespace
}  // namespace sstrace::bench

int main(int argc, char** argv) {
  using namespace sstrace::bench;
  Args args(kTool, argc, argv, {});
  args.check({"pairs", "port", "addr", "netns", "max-seconds"});
  long pairs = args.num("pairs", 1000, 1, 9'900);
  auto port = static_cast<uint16_t>(args.num("port", 40000, 1, 65535));
  long max_seconds = args.num("max-seconds", 3600, 1, 86400);
  SockAddr addr = make_addr(kTool, args.str("addr", "127.0.0.1"), port);

  enter_netns_or_die(kTool, args.str("netns"));
  raise_fd_limit(kTool, rlim_t(2 * pairs + 32));

  std::vector<int> fds;
  fds.reserve(size_t(2 * pairs + 1));
  open_pairs(addr, pairs, fds);
  std::printf("ready %ld\n", pairs);
  std::fflush(stdout);
  wait_for_stop(max_seconds);
  // Exit closes every fd; the namespace's deletion reaps what is left.
  return 0;
}
