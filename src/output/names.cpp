#include "output/names.h"

#include <sys/socket.h>

#include <iterator>

namespace sstrace::output {

using diag::SockInfo;
using diag::SockKind;

std::string_view state_name(uint8_t state) {
  // Index: kernel TCP state number (include/net/tcp_states.h).
  static constexpr std::string_view kNames[] = {
      "UNKNOWN",   "ESTAB",  "SYN-SENT",   "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
      "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN",     "CLOSING",
  };
  return state < std::size(kNames) ? kNames[state] : kNames[0];
}

std::string_view netid_name(SockKind kind) {
  switch (kind) {
    case SockKind::tcp:
      return "tcp";
    case SockKind::udp:
      return "udp";
    // ss names a netlink-dumped RAW socket after its protocol ("???" for
    // ICMP); the reference kernel has no raw_diag, so ss reads
    // /proc/net/raw and says "raw", which is also the honest name.
    case SockKind::raw:
      return "raw";
    case SockKind::unix_stream:
      return "u_str";
    case SockKind::unix_dgram:
      return "u_dgr";
    case SockKind::unix_seqpacket:
      return "u_seq";
    case SockKind::packet_raw:
      return "p_raw";
    case SockKind::packet_dgram:
      return "p_dgr";
    case SockKind::netlink:
      return "nl";
  }
  return "???";
}

std::string_view family_name(const SockInfo& s) {
  if (s.is_unix()) return "unix";
  if (s.is_packet()) return "packet";
  if (s.is_netlink()) return "netlink";
  return s.family == AF_INET6 ? "inet6" : "inet";
}

std::string_view proto_name(SockKind kind) {
  switch (kind) {
    case SockKind::tcp:
      return "tcp";
    case SockKind::udp:
      return "udp";
    case SockKind::raw:
      return "raw";
    case SockKind::unix_stream:
    case SockKind::unix_dgram:
    case SockKind::unix_seqpacket:
      return "unix";
    case SockKind::packet_raw:
    case SockKind::packet_dgram:
      return "packet";
    case SockKind::netlink:
      return "netlink";
  }
  return "unknown";
}

std::string shutdown_text(uint8_t mask) {
  // RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2 (include/net/sock.h).
  std::string s = "<->";
  if (mask & 1) s[0] = '-';
  if (mask & 2) s[2] = '-';
  return s;
}

}  // namespace sstrace::output
