#include "diag/sock_diag.h"

#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "diag/parse.h"
#include "sys/netns.h"

namespace sstrace::diag {
namespace {

// A dump reply datagram is one skb of at most 32 KiB: netlink_recvmsg()
// caps nlk->max_recvmsg_len at SKB_WITH_OVERHEAD(32768) and netlink_dump()
// sizes its skbs from it (net/netlink/af_netlink.c). Twice that leaves room
// for kernels that change the cap; MSG_TRUNC still catches the rest.
constexpr size_t kRecvBufSize = 64 * 1024;

// Generous socket receive buffer, as ss and libnetlink use, so exact-match
// replies and dump skbs are never dropped for lack of room.
constexpr int kSockRcvBuf = 1 << 20;

// A dump abandoned part-way (its callback threw) is drained before the next
// request: the kernel runs one dump per netlink socket at a time and answers
// a second one with EBUSY. It keeps producing while we read, so a long
// silence means it is stuck.
constexpr int kDrainTimeoutMs = 2000;

// Kernels without a diag handler for a family or protocol: sock_diag.c and
// inet_diag_lock_handler() answer ENOENT, an unsupported operation
// EOPNOTSUPP. ss skips such dumps without a word.
bool is_missing_handler(int err) { return err == ENOENT || err == EOPNOTSUPP; }

const char* family_name(uint8_t family) { return family == AF_INET6 ? "inet6" : "inet"; }

const char* kind_name(SockKind kind) {
  switch (kind) {
    case SockKind::tcp:
      return "tcp";
    case SockKind::udp:
      return "udp";
    default:
      return "raw";
  }
}

// idiag_ext bit for an INET_DIAG_* attribute (linux/inet_diag.h: only the
// first eight can be requested).
constexpr uint8_t ext_bit(int attr) { return static_cast<uint8_t>(1u << (attr - 1)); }

uint8_t inet_ext(const DumpRequest& req) {
  // The kernel sends SHUTDOWN unconditionally on current kernels; asking
  // keeps it on older ones that still honoured the bit.
  uint8_t ext = ext_bit(INET_DIAG_SHUTDOWN);
  // VEGASINFO also selects DCTCPINFO and BBRINFO (tcp_*_get_info()).
  if (req.want_info) {
    ext |= ext_bit(INET_DIAG_INFO) | ext_bit(INET_DIAG_VEGASINFO) | ext_bit(INET_DIAG_CONG);
  }
  if (req.want_skmem) ext |= ext_bit(INET_DIAG_SKMEMINFO) | ext_bit(INET_DIAG_MEMINFO);
  // TCLASS also selects CLASS_ID (net/ipv4/inet_diag.c).
  if (req.want_tos) ext |= ext_bit(INET_DIAG_TOS) | ext_bit(INET_DIAG_TCLASS);
  return ext;
}

uint8_t protocol_of(SockKind kind) {
  switch (kind) {
    case SockKind::tcp:
      return IPPROTO_TCP;
    case SockKind::udp:
      return IPPROTO_UDP;
    default:
      return IPPROTO_RAW;
  }
}

void put_cookie(uint64_t cookie, uint32_t (&out)[2]) {
  if (cookie == 0 || cookie == ~0ull) {
    out[0] = out[1] = INET_DIAG_NOCOOKIE;  // match on addresses and ports alone
    return;
  }
  out[0] = static_cast<uint32_t>(cookie);
  out[1] = static_cast<uint32_t>(cookie >> 32);
}

// Marks a SockDiag busy for one dump() or lookup(), exceptions included.
class BusyScope {
 public:
  explicit BusyScope(bool& busy) : busy_(busy) { busy_ = true; }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;
  ~BusyScope() { busy_ = false; }

 private:
  bool& busy_;
};

Error busy_error() {
  return Error{"sock_diag request made from inside a dump callback on the same socket", EBUSY};
}

}  // namespace

// One request: the body that follows the nlmsghdr, the bytecode attribute,
// and how to read the replies.
struct SockDiag::Query {
  enum class Body : uint8_t { inet, unix_, packet, netlink };
  Body body = Body::inet;
  SockKind kind = SockKind::tcp;  // inet replies carry no protocol of their own
  uint16_t flags = NLM_F_REQUEST | NLM_F_DUMP;
  union {
    inet_diag_req_v2 inet;
    unix_diag_req unix_;
    packet_diag_req packet;
    netlink_diag_req netlink;
  } req{};
  size_t req_len = 0;
  std::span<const uint8_t> bytecode;
  std::string what;  // "tcp/inet6", for messages

  static Query inet_dump(SockKind kind, uint8_t family, const DumpRequest& r) {
    Query q;
    q.kind = kind;
    q.req.inet.sdiag_family = family;
    // RAW dumps ask for IPPROTO_RAW, the raw_diag handler, and get every raw
    // socket whatever its protocol (raw_diag_dump() ignores
    // sdiag_raw_protocol; INET_DIAG_PROTOCOL in each reply names it).
    // INET_DIAG_REQ_PROTOCOL is only needed for protocols above 255 (MPTCP).
    q.req.inet.sdiag_protocol = protocol_of(kind);
    q.req.inet.idiag_ext = inet_ext(r);
    q.req.inet.idiag_states = r.states;
    q.req_len = sizeof(q.req.inet);
    q.bytecode = r.inet_bytecode;
    q.what = std::string(kind_name(kind)) + "/" + family_name(family);
    return q;
  }

  static Query unix_dump(const DumpRequest& r) {
    Query q;
    q.body = Body::unix_;
    q.req.unix_.sdiag_family = AF_UNIX;
    q.req.unix_.udiag_states = r.states;
    q.req.unix_.udiag_show =
        UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
    if (r.want_skmem) q.req.unix_.udiag_show |= UDIAG_SHOW_MEMINFO;
    if (r.want_unix_pending) q.req.unix_.udiag_show |= UDIAG_SHOW_ICONS;
    q.req_len = sizeof(q.req.unix_);
    q.what = "unix";
    return q;
  }

  static Query packet_dump() {
    Query q;
    q.body = Body::packet;
    q.req.packet.sdiag_family = AF_PACKET;
    // MEMINFO always: ss takes the packet Recv-Q from it. RING_CFG and
    // FANOUT for -e's ring_rx/ring_tx/fanout, as ss asks; not FILTER, which
    // ss shows only with -b (not supported here).
    q.req.packet.pdiag_show =
        PACKET_SHOW_INFO | PACKET_SHOW_MEMINFO | PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT;
    q.req_len = sizeof(q.req.packet);
    q.what = "packet";
    return q;
  }

  static Query netlink_dump() {
    Query q;
    q.body = Body::netlink;
    q.req.netlink.sdiag_family = AF_NETLINK;
    q.req.netlink.sdiag_protocol = NDIAG_PROTO_ALL;
    // What ss asks for: MEMINFO gives the queues, GROUPS -e's groups=.
    q.req.netlink.ndiag_show = NDIAG_SHOW_MEMINFO | NDIAG_SHOW_GROUPS;
    q.req_len = sizeof(q.req.netlink);
    q.what = "netlink";
    return q;
  }
};

SockDiag::SockDiag(sys::UniqueFd fd, uint32_t netns)
    : fd_(std::move(fd)), netns_(netns), buf_(kRecvBufSize) {}
SockDiag::SockDiag(SockDiag&& other) noexcept = default;
SockDiag& SockDiag::operator=(SockDiag&& other) noexcept = default;
SockDiag::~SockDiag() = default;

Result<SockDiag> SockDiag::open() {
  sys::UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd) return sys_error("cannot open a NETLINK_SOCK_DIAG socket");

  // FORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it the plain
  // option is clamped, which is still enough. Neither failure is fatal.
  int rcvbuf = kSockRcvBuf;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  // Errors need not echo the request back (bytecode can be kilobytes).
  int one = 1;
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);

  // The socket belongs to the namespace of the thread that created it.
  auto ino = sys::current_netns_inode();
  if (!ino) return ino.error();
  SockDiag diag(std::move(fd), *ino);
  // A /proc/net file shows the namespace it was opened in (seq_open_net()),
  // so open the RAW fallback now, in the same namespace as the socket.
  diag.proc_raw_[0].reset(::open("/proc/thread-self/net/raw", O_RDONLY | O_CLOEXEC));
  diag.proc_raw_[1].reset(::open("/proc/thread-self/net/raw6", O_RDONLY | O_CLOEXEC));
  return diag;
}

Result<SockDiag> SockDiag::open_in(const std::string& netns_name) {
  auto scope = sys::NetnsScope::enter(netns_name);
  if (!scope) return scope.error();
  auto diag = open();
  if (auto r = scope->restore(); !r) return r.error();
  return diag;
}

Result<void> SockDiag::send_query(const Query& q) {
  nlmsghdr hdr{};
  hdr.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  hdr.nlmsg_flags = q.flags;
  hdr.nlmsg_seq = ++seq_;

  nlattr bc_hdr{};
  iovec iov[4] = {{&hdr, sizeof hdr},
                  {const_cast<void*>(static_cast<const void*>(&q.req)), q.req_len}};
  size_t iovlen = 2;
  size_t len = NLMSG_LENGTH(q.req_len);
  if (!q.bytecode.empty()) {
    if (q.bytecode.size() > 0xffff - NLA_HDRLEN) {
      return Error{"filter bytecode too long for one netlink attribute (" +
                       std::to_string(q.bytecode.size()) + " bytes)",
                   EMSGSIZE};
    }
    bc_hdr.nla_type = INET_DIAG_REQ_BYTECODE;
    bc_hdr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + q.bytecode.size());
    iov[iovlen++] = {&bc_hdr, sizeof bc_hdr};
    iov[iovlen++] = {const_cast<uint8_t*>(q.bytecode.data()), q.bytecode.size()};
    len += NLA_HDRLEN + q.bytecode.size();
    // A trailing partial word stays unpadded: nlmsg_len covers exactly
    // what we send, and the kernel reads the attribute by nla_len.
  }
  hdr.nlmsg_len = static_cast<uint32_t>(len);

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = iov;
  msg.msg_iovlen = iovlen;
  while (::sendmsg(fd_.get(), &msg, 0) < 0) {
    if (errno != EINTR) return sys_error("cannot send the " + q.what + " sock_diag request");
  }
  return {};
}

Result<size_t> SockDiag::receive() {
  sockaddr_nl from{};
  iovec iov{buf_.data(), buf_.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  for (;;) {
    ssize_t n = ::recvmsg(fd_.get(), &msg, 0);
    if (n > 0) {
      if (msg.msg_flags & MSG_TRUNC) {
        return Error{"sock_diag reply larger than the " + std::to_string(buf_.size()) +
                         "-byte receive buffer",
                     EMSGSIZE};
      }
      stats_.datagrams++;
      stats_.bytes += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
    if (n == 0) return Error{"sock_diag socket returned no data", EPROTO};
    if (errno == EINTR) continue;
    if (errno == ENOBUFS) {
      return sys_error("sock_diag replies were dropped (netlink receive buffer overflow)");
    }
    return sys_error("cannot read sock_diag replies");
  }
}

Result<void> SockDiag::drain() {
  while (dump_pending_) {
    pollfd p{fd_.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, kDrainTimeoutMs);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      dump_pending_ = false;
      return Error{"an abandoned sock_diag dump did not finish; reopen the socket", ETIMEDOUT};
    }
    auto n = receive();
    if (!n) {
      dump_pending_ = false;
      return n.error();
    }
    MessageReader rd(Bytes(buf_.data(), *n));
    for (auto m = rd.next(); m && !m->empty(); m = rd.next()) {
      const NlHeader h = header_of(*m);
      if (h.seq == seq_ && (h.type == NLMSG_DONE || h.type == NLMSG_ERROR)) dump_pending_ = false;
    }
  }
  return {};
}

// Returns true once the dump is over (DONE, or an error that ends it).
Result<bool> SockDiag::handle_dump_datagram(const Query& q, size_t len,
                                            const SockCallback& on_sock) {
  MessageReader rd(Bytes(buf_.data(), len));
  for (;;) {
    auto m = rd.next();
    if (!m) return m.error();
    if (m->empty()) return false;
    stats_.messages++;
    const NlHeader h = header_of(*m);
    if (h.seq != seq_) continue;  // a reply to an older request
    if (h.flags & NLM_F_DUMP_INTR) {
      // No sock_diag dumper sets this today (none tracks cb->seq); if one
      // does, the sockets already streamed may be inconsistent.
      dump_pending_ = h.type != NLMSG_DONE;
      return Error{"the " + q.what +
                       " dump was interrupted by concurrent changes "
                       "(NLM_F_DUMP_INTR); dump again",
                   EAGAIN};
    }
    if (h.type == NLMSG_DONE) {
      dump_pending_ = false;
      const int err = parse_done_msg(*m);
      if (err == 0) return true;
      if (is_missing_handler(err)) {
        stats_.skipped++;
        return true;
      }
      return Error{"the " + q.what + " dump failed part-way", err};
    }
    if (h.type == NLMSG_ERROR) {
      auto err = parse_error_msg(*m);
      if (!err) return err.error();
      if (*err == 0) continue;  // an ACK
      dump_pending_ = false;
      if (is_missing_handler(*err)) {
        stats_.skipped++;
        return true;
      }
      std::string msg = "the kernel refused the " + q.what + " dump";
      if (*err == EINVAL && !q.bytecode.empty()) msg += " (filter bytecode rejected?)";
      return Error{msg, *err};
    }
    if (h.type != SOCK_DIAG_BY_FAMILY) continue;  // NLMSG_NOOP and friends

    Result<void> parsed = q.body == Query::Body::inet      ? parse_inet(*m, q.kind, info_)
                          : q.body == Query::Body::unix_   ? parse_unix(*m, info_)
                          : q.body == Query::Body::netlink ? parse_netlink(*m, info_)
                                                           : parse_packet(*m, info_);
    if (!parsed) return parsed.error();
    info_.netns = netns_;
    stats_.sockets++;
    try {
      on_sock(info_);
    } catch (...) {
      // The dump's end may already sit later in this datagram; note it, or
      // the next request would wait for an end that never comes.
      for (auto rest = rd.next(); rest && !rest->empty(); rest = rd.next()) {
        const NlHeader e = header_of(*rest);
        if (e.seq == seq_ && (e.type == NLMSG_DONE || e.type == NLMSG_ERROR)) {
          dump_pending_ = false;
        }
      }
      throw;
    }
  }
}

Result<void> SockDiag::run_dump(const Query& q, std::FILE* raw_out, const SockCallback& on_sock) {
  if (auto r = drain(); !r) return r;
  if (auto r = send_query(q); !r) return r;
  dump_pending_ = true;
  for (;;) {
    auto n = receive();
    if (!n) return n.error();
    // ss -D: the replies exactly as they arrived, for TCPDIAG_FILE replay.
    if (raw_out != nullptr && std::fwrite(buf_.data(), 1, *n, raw_out) != *n) {
      return sys_error("cannot write the raw sock_diag replies");
    }
    auto done = handle_dump_datagram(q, *n, on_sock);
    if (!done) {
      (void)drain();  // leave the socket ready for the next request
      return done.error();
    }
    if (*done) return {};
  }
}

namespace {

// A line of a /proc/net table that does not parse, said with the file's
// name (a user may have named it).
Error in_file(const std::string& what, const Error& e) { return Error{what + ": " + e.message}; }

}  // namespace

Result<void> SockDiag::proc_line(SockKind kind, uint8_t family, uint32_t states,
                                 const SockCallback& on_sock) {
  auto parsed = parse_proc_net_line(line_, family, kind, info_);
  line_.clear();
  if (!parsed) return parsed.error();
  if (!*parsed || !(states & (1u << info_.state))) return {};
  info_.netns = netns_;
  stats_.sockets++;
  on_sock(info_);
  return {};
}

Result<void> SockDiag::dump_proc_table(int fd, SockKind kind, uint8_t family, uint32_t states,
                                       const std::string& what, const SockCallback& on_sock) {
  stats_.from_proc++;
  // seq_file regenerates the table from the start after a rewind.
  if (::lseek(fd, 0, SEEK_SET) < 0) return sys_error("cannot rewind " + what);
  line_.clear();
  for (;;) {
    ssize_t n = ::read(fd, buf_.data(), buf_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("cannot read " + what);
    if (n == 0) break;
    const char* p = reinterpret_cast<const char*>(buf_.data());
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      line_.append(p, nl != nullptr ? nl : end);
      if (nl == nullptr) break;
      if (auto r = proc_line(kind, family, states, on_sock); !r) return in_file(what, r.error());
      p = nl + 1;
    }
  }
  if (line_.empty()) return {};
  if (auto r = proc_line(kind, family, states, on_sock); !r) return in_file(what, r.error());
  return {};
}

Result<void> SockDiag::dump_proc_file(const sys::ProcTable& files, SockKind kind, uint8_t family,
                                      uint32_t states, const SockCallback& on_sock) {
  const bool v6 = family == AF_INET6;
  const std::string& path = v6 ? files.v6 : files.v4;
  const std::string what = path + " (from " + (v6 ? files.v6_from : files.v4_from) + ")";
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("cannot open " + what);
  return dump_proc_table(fd.get(), kind, family, states, what, on_sock);
}

Result<void> SockDiag::dump(const DumpRequest& req, const SockCallback& on_sock) {
  if (busy_) return busy_error();
  BusyScope busy(busy_);
  stats_ = {};
  // ss's order (misc/ss.c main): netlink, packet, unix, raw, udp, tcp.
  if (req.netlink && (req.states & (1u << kClose))) {
    if (auto r = run_dump(Query::netlink_dump(), req.raw_out, on_sock); !r) return r;
  }
  if (req.packet && (req.states & (1u << kClose))) {
    if (auto r = run_dump(Query::packet_dump(), req.raw_out, on_sock); !r) return r;
  }
  if (req.unix_) {
    if (auto r = run_dump(Query::unix_dump(req), req.raw_out, on_sock); !r) return r;
  }
  struct InetTable {
    bool wanted;
    SockKind kind;
    const std::optional<sys::ProcTable>& files;
  };
  const InetTable inet[] = {{req.raw, SockKind::raw, req.proc_raw},
                            {req.udp, SockKind::udp, req.proc_udp},
                            {req.tcp, SockKind::tcp, req.proc_tcp}};
  for (const auto& [wanted, kind, files] : inet) {
    if (!wanted) continue;
    for (uint8_t family : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
      if ((family == AF_INET && !req.ipv4) || (family == AF_INET6 && !req.ipv6)) continue;
      if (files) {
        if (auto r = dump_proc_file(*files, kind, family, req.states, on_sock); !r) return r;
        continue;
      }
      auto q = Query::inet_dump(kind, family, req);
      const uint32_t skipped = stats_.skipped;
      if (auto r = run_dump(q, req.raw_out, on_sock); !r) return r;
      // ss's raw_show() falls back to /proc/net/raw when netlink fails.
      const int raw_fd = proc_raw_[family == AF_INET6 ? 1 : 0].get();
      if (kind == SockKind::raw && stats_.skipped != skipped && raw_fd >= 0) {
        const char* what = family == AF_INET6 ? "/proc/net/raw6" : "/proc/net/raw";
        if (auto r = dump_proc_table(raw_fd, kind, family, req.states, what, on_sock); !r) return r;
      }
    }
  }
  return {};
}

Result<std::optional<SockInfo>> SockDiag::lookup(const SockKey& key, bool want_info) {
  if (busy_) return busy_error();
  BusyScope busy(busy_);
  SockKind kind;
  switch (key.protocol) {
    case IPPROTO_TCP:
      kind = SockKind::tcp;
      break;
    case IPPROTO_UDP:
      kind = SockKind::udp;
      break;
    case IPPROTO_RAW:
      kind = SockKind::raw;
      break;
    default:
      return Error{"sock_diag lookup: unsupported protocol " + std::to_string(key.protocol),
                   EINVAL};
  }
  if (key.family != AF_INET && key.family != AF_INET6) {
    return Error{"sock_diag lookup: unsupported family " + std::to_string(key.family), EINVAL};
  }

  DumpRequest ext;
  ext.want_info = want_info;
  Query q = Query::inet_dump(kind, key.family, ext);
  q.flags = NLM_F_REQUEST;  // exact match: inet_diag_cmd_exact() -> dump_one
  q.bytecode = {};
  // udp_dump_one() hands src/sport to __udp{4,6}_lib_lookup() as the source
  // of an incoming packet, i.e. the peer (net/ipv4/udp_diag.c): for UDP the
  // request names the remote end first. TCP and RAW take local first.
  const bool swap = kind == SockKind::udp;
  const Endpoint& src = swap ? key.remote : key.local;
  const Endpoint& dst = swap ? key.local : key.remote;
  inet_diag_sockid& id = q.req.inet.id;
  id.idiag_sport = htons(src.port);
  id.idiag_dport = htons(dst.port);
  const size_t alen = key.family == AF_INET ? 4 : 16;
  std::memcpy(id.idiag_src, src.addr.data(), alen);
  std::memcpy(id.idiag_dst, dst.addr.data(), alen);
  id.idiag_if = key.ifindex;
  put_cookie(key.cookie, id.idiag_cookie);
  // raw_lookup() reads the protocol from the pad byte (struct inet_diag_req_raw).
  if (kind == SockKind::raw) q.req.inet.pad = key.raw_protocol;

  if (auto r = drain(); !r) return r.error();
  if (auto r = send_query(q); !r) return r.error();
  for (;;) {
    auto n = receive();
    if (!n) return n.error();
    MessageReader rd(Bytes(buf_.data(), *n));
    for (auto m = rd.next();; m = rd.next()) {
      if (!m) return m.error();
      if (m->empty()) break;
      const NlHeader h = header_of(*m);
      if (h.seq != seq_) continue;
      if (h.type == NLMSG_ERROR) {
        auto err = parse_error_msg(*m);
        if (!err) return err.error();
        if (*err == 0) continue;
        // ESTALE: a socket with these addresses exists, but not the one
        // with this cookie (sock_diag_check_cookie()).
        if (*err == ENOENT || *err == ESTALE) return std::optional<SockInfo>{};
        return Error{"sock_diag lookup of a " + q.what + " socket failed", *err};
      }
      if (h.type != SOCK_DIAG_BY_FAMILY) continue;
      if (auto r = parse_inet(*m, kind, info_); !r) return r.error();
      info_.netns = netns_;
      return std::optional<SockInfo>(info_);
    }
  }
}

}  // namespace sstrace::diag
