// The live model's unit: one TCP socket (full socket or timewait
// minisocket), identified host-wide by (network namespace inode, cookie).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "diag/sock_info.h"

namespace sstrace::model {

struct SockKey {
  uint32_t netns = 0;
  uint64_t cookie = 0;
  bool operator==(const SockKey&) const = default;
};

struct SockKeyHash {
  size_t operator()(const SockKey& k) const noexcept {
    return std::hash<uint64_t>()(k.cookie * 0x9e3779b97f4a7c15ULL ^ k.netns);
  }
};

struct Owner {
  uint32_t pid = 0;  // 0: unknown
  std::string comm;
  bool known() const { return pid != 0; }
};

// How a connection ended, for the close summary.
enum class ClosedBy : uint8_t {
  unknown,
  local,         // we sent the first FIN (ESTAB -> FIN-WAIT-1)
  remote,        // the peer did (ESTAB -> CLOSE-WAIT)
  local_abort,   // we reset it (SO_LINGER 0, unread data, ...)
  remote_reset,  // a reset arrived
  failed,        // never established (SYN-SENT / SYN-RECV -> CLOSE)
  listener,      // a listening socket was closed
};

// Who opened a connection: the churn views key it by its service port
// (the listener's port: the local port of a passive open, the remote port of
// an active one), never by its ephemeral port.
enum class Direction : uint8_t {
  unknown,
  in,      // passive: a child of one of our listeners
  out,     // active: we called connect()
  listen,  // a listening socket
};

struct Connection {
  SockKey key;
  uint8_t family = 0;  // AF_INET / AF_INET6
  // AF_INET6 with IPV6_V6ONLY set. Without it the wildcard [::] also takes
  // IPv4 and is spelled "*", as ss (and the snapshot) spell it.
  bool v6only = false;
  diag::Endpoint local;
  diag::Endpoint remote;
  uint8_t state = 0;        // diag::TcpState
  bool minisocket = false;  // a timewait minisocket (TIME-WAIT or FIN-WAIT-2 substate)
  // A request minisocket (SYN-RECV in a dump, TCP_NEW_SYN_RECV in the
  // kernel): a cookie of its own, no owner, no tcp_info, no tracepoint of
  // its birth or expiry. The child that completes the handshake takes its
  // cookie over (inet_csk_clone_lock copies ir_cookie) and clears this.
  bool request = false;
  bool seeded = false;  // came from the seeding dump (existed before sstrace)
  Direction dir = Direction::unknown;
  uint64_t state_since_ns = 0;  // CLOCK_MONOTONIC; 0 = unknown
  uint64_t born_ns = 0;         // CLOCK_MONOTONIC; 0 = unknown (older than sstrace)
  // When to ask the kernel whether it is gone: a minisocket when its timer
  // should have fired; a full socket gone quiet in a closing state.
  uint64_t check_at_ns = 0;
  uint64_t quiet_gap_ns = 0;    // closing full socket: the wait before the next look
  uint64_t known_since_ns = 0;  // when we learned of it in its current form (dump, handover)
  // Its 4-tuple was compared with the timewait minisockets' (a new
  // connection taking over a TIME-WAIT's ports kills it): done once, when
  // the tuple is first complete.
  bool reuse_checked = false;
  // The process that owns it; never set on an orphan (closed by its
  // process, or a timewait minisocket): ss -p shows no owner there.
  Owner owner;
  // An orphan's owner before it let go, where the stream knew it
  // (CONTRACT.md: last_pid/last_comm).
  Owner last_owner;
  bool orphan = false;

  // What the kernel and the events told us so far.
  uint32_t srtt_us = 0;
  uint32_t rttvar_us = 0;
  uint32_t min_srtt_us = 0;  // over reported samples
  uint32_t max_srtt_us = 0;
  uint32_t retrans_segs = 0;  // retransmitted segments seen since sstrace started
  uint64_t bytes_acked = 0;
  uint64_t bytes_received = 0;
  uint32_t recv_q = 0;
  uint32_t send_q = 0;
  bool local_fin_first = false;
  bool remote_fin_first = false;
  bool reset_received = false;
};

}  // namespace sstrace::model
