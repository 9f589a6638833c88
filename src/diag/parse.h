// Pure parsing of NETLINK_SOCK_DIAG replies: netlink framing and one reply
// message into a SockInfo. No syscalls, so the unit tests can feed it bytes
// built by hand, truncated and malformed ones included. Every length is
// checked before the bytes behind it are read: a bad message is an Error,
// never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"
#include "diag/sock_info.h"

namespace sstrace::diag {

using Bytes = std::span<const uint8_t>;

// The parts of a struct nlmsghdr (linux/netlink.h) the dumper acts on.
struct NlHeader {
  uint32_t len = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t pid = 0;
};

// Walks the netlink messages of one received datagram.
class MessageReader {
 public:
  explicit MessageReader(Bytes datagram) : data_(datagram) {}

  // The next whole message (header included), an empty span at the end, or
  // an Error when a header is cut short or claims more bytes than remain.
  Result<Bytes> next();

 private:
  Bytes data_;
  size_t off_ = 0;
};

// Header of a message MessageReader returned (its length is already checked).
NlHeader header_of(Bytes msg);

// NLMSG_ERROR: the positive errno it carries (0 is an ACK), or an Error when
// it is too short to hold one.
Result<int> parse_error_msg(Bytes msg);

// NLMSG_DONE: the positive errno a dump that failed part-way carries in it,
// 0 for a clean end (also when the kernel sent no payload).
int parse_done_msg(Bytes msg);

// One SOCK_DIAG_BY_FAMILY reply (nlmsghdr included) into `out`, which is
// cleared first. The reply does not say which protocol it describes, so
// parse_inet takes it from the request: kind is tcp, udp or raw.
Result<void> parse_inet(Bytes msg, SockKind kind, SockInfo& out);
Result<void> parse_unix(Bytes msg, SockInfo& out);
Result<void> parse_packet(Bytes msg, SockInfo& out);
// NETLINK: state is kClose whatever ndiag_state says (ss shows every netlink
// socket UNCONN), and the queues are NETLINK_DIAG_MEMINFO's rmem_alloc and
// wmem_alloc, as ss takes them.
Result<void> parse_netlink(Bytes msg, SockInfo& out);

// One line of /proc/net/{tcp,udp,raw}{,6}, the fallback ss uses where the
// kernel has no diag module for a protocol (the reference kernel has no
// CONFIG_INET_RAW_DIAG). Returns false for the header line. There is no
// cookie in these files: `out.cookie` stays 0. For RAW the local "port" is
// the protocol, as raw_diag would report it.
Result<bool> parse_proc_net_line(std::string_view line, uint8_t family, SockKind kind,
                                 SockInfo& out);

}  // namespace sstrace::diag
