// bare_dump: the kernel's own cost of a TCP socket dump, as a floor for
// `sstrace snapshot` and `ss`. One NETLINK_SOCK_DIAG dump of TCP over IPv4
// then IPv6 (the two requests ss sends), every state; each reply is walked
// down to its attributes, then discarded. Nothing is formatted or written
// but the count, so what is left is the syscalls, the kernel's work, and
// the copy to user space.
//
//   bare_dump [--netns NAME] [--info] [--mem] [--repeat N]
//
// --info and --mem ask for the same extensions as `ss -i` / `ss -m` (the
// kernel does more work per socket for them). With --repeat N it dumps N
// times and prints min and median wall time to stderr.
//
// It includes linux/inet_diag.h itself rather than using src/diag: it is the
// baseline sstrace is measured against, so it must share none of its code.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "bench_util.h"

namespace sstrace::bench {
namespace {

constexpr const char* kTool = "bare_dump";

// netlink_recvmsg() caps one dump skb at 32 KiB (net/netlink/af_netlink.c);
// a larger buffer costs nothing and never truncates.
constexpr size_t kBufSize = 64 * 1024;

constexpr uint8_t ext_bit(int attr) { return static_cast<uint8_t>(1u << (attr - 1)); }

struct DumpOptions {
  bool info = false;
  bool mem = false;
};

class Dumper {
 public:
  Dumper() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)), buf_(kBufSize) {
    if (fd_ < 0) die(kTool, "socket(NETLINK_SOCK_DIAG)", errno);
    // As ss does: a large receive buffer, so no dump skb is ever dropped.
    int rcvbuf = 1 << 20;
    (void)setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  }
  ~Dumper() { ::close(fd_); }
  Dumper(const Dumper&) = delete;
  Dumper& operator=(const Dumper&) = delete;

  // Sockets seen in one dump of both families.
  uint64_t dump_tcp(const DumpOptions& o) {
    return dump_family(AF_INET, o) + dump_family(AF_INET6, o);
  }

  uint64_t attr_bytes() const { return attr_bytes_; }

 private:
  void send_request(uint8_t family, const DumpOptions& o) {
    struct {
      nlmsghdr hdr;
      inet_diag_req_v2 req;
    } msg{};
    msg.hdr.nlmsg_len = sizeof msg;
    msg.hdr.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.hdr.nlmsg_seq = ++seq_;
    msg.req.sdiag_family = family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = ~0u;
    // What ss asks for: -i adds INFO, VEGASINFO and CONG; -m the memory.
    if (o.info)
      msg.req.idiag_ext |=
          ext_bit(INET_DIAG_INFO) | ext_bit(INET_DIAG_VEGASINFO) | ext_bit(INET_DIAG_CONG);
    if (o.mem) msg.req.idiag_ext |= ext_bit(INET_DIAG_MEMINFO) | ext_bit(INET_DIAG_SKMEMINFO);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
      die(kTool, "sendto", errno);
  }

  // Walks the attributes so the baseline touches every byte a real parser
  // would; the sum only keeps the compiler from dropping the loop.
  void walk_attrs(const inet_diag_msg* m, size_t len) {
    auto* a = reinterpret_cast<const rtattr*>(m + 1);
    int rest = static_cast<int>(len - NLMSG_ALIGN(sizeof *m));
    for (; RTA_OK(a, rest); a = RTA_NEXT(a, rest)) attr_bytes_ += a->rta_type + RTA_PAYLOAD(a);
  }

  // Returns false at the end of the dump.
  bool handle_datagram(size_t len, uint64_t& sockets) {
    auto* h = reinterpret_cast<const nlmsghdr*>(buf_.data());
    int rest = static_cast<int>(len);
    for (; NLMSG_OK(h, rest); h = NLMSG_NEXT(h, rest)) {
      if (h->nlmsg_seq != seq_) continue;
      if (h->nlmsg_type == NLMSG_DONE) return false;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) continue;
        die(kTool, "the kernel refused the dump", -e->error);
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      walk_attrs(static_cast<const inet_diag_msg*>(NLMSG_DATA(h)), NLMSG_PAYLOAD(h, 0));
      ++sockets;
    }
    return true;
  }

  uint64_t dump_family(uint8_t family, const DumpOptions& o) {
    send_request(family, o);
    uint64_t sockets = 0;
    for (;;) {
      ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) die(kTool, "recv", n < 0 ? errno : EPROTO);
      if (!handle_datagram(size_t(n), sockets)) return sockets;
    }
  }

  int fd_;
  std::vector<char> buf_;
  uint32_t seq_ = 0;
  uint64_t attr_bytes_ = 0;
};

void report_repeats(std::vector<uint64_t>& ns) {
  std::sort(ns.begin(), ns.end());
  std::fprintf(stderr, "bare_dump: runs %zu min %.3f ms median %.3f ms max %.3f ms\n", ns.size(),
               double(ns.front()) / 1e6, double(ns[ns.size() / 2]) / 1e6, double(ns.back()) / 1e6);
}

}  // namespace
}  // namespace sstrace::bench

int main(int argc, char** argv) {
  using namespace sstrace::bench;
  Args args(kTool, argc, argv, {"info", "mem"});
  args.check({"netns", "info", "mem", "repeat"});
  DumpOptions o{args.flag("info"), args.flag("mem")};
  long repeat = args.num("repeat", 1, 1, 10'000);
  enter_netns_or_die(kTool, args.str("netns"));

  Dumper d;
  std::vector<uint64_t> ns;
  uint64_t sockets = 0;
  for (long i = 0; i < repeat; ++i) {
    uint64_t t0 = monotonic_ns();
    sockets = d.dump_tcp(o);
    ns.push_back(monotonic_ns() - t0);
  }
  std::printf("sockets %llu attr_bytes %llu\n", static_cast<unsigned long long>(sockets),
              static_cast<unsigned long long>(d.attr_bytes()));
  if (repeat > 1) report_repeats(ns);
  return 0;
}
