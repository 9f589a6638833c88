// What the metrics count, as rules on single model events: pure functions,
// so the tests check them against constructed events. They are the churn
// engine's rules (src/aggregate/aggregator.cpp): an open is the kernel's
// first transition of a connection, a failed connect is a close that never
// reached ESTABLISHED, the port of a connection is its service port.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "model/event.h"

namespace sstrace::metrics {

enum class Open : uint8_t { none, in, out };

// CLOSE -> SYN-SENT is an active open (nstat's TcpActiveOpens, counted in
// tcp_connect()); LISTEN -> SYN-RECV a passive one (TcpPassiveOpens, counted
// in tcp_create_openreq_child()). Inferred transitions are never opens: they
// are changes the model learned late, not the kernel's.
Open open_of(const model::Event& e);

// A transition the kernel reported (a firing of sock:inet_sock_set_state),
// as opposed to one the model inferred (a TIME-WAIT minisocket's expiry, a
// --resync correction): only these are sstrace_transitions_total.
bool is_kernel_transition(const model::Event& e);

// A connect that failed: the kernel taking a connection to CLOSE from
// SYN-SENT or SYN-RECV (refused, timed out, unreachable, reset). That is
// tcp_done()'s condition for nstat's TcpAttemptFails, read from the
// transition rather than from the close event's closed_by, which says
// remote_reset for a refused connect (the reset arrived first). Two cases
// differ from the kernel's counter: a connect the application abandons
// (close() in SYN-SENT: __tcp_close, no tcp_done) counts here and not there,
// and a request socket reset before it became a socket (tcp_check_req)
// counts there, never being a connection here.
bool is_failed_connect(const model::Event& e);

// The service port: the listener's, whichever end we are (the local port of
// a passive connection or a listener, the remote port of an active one).
// A connection whose direction is unknown has none: 0, never its ephemeral
// port.
uint16_t service_port(const model::Connection& c);

// A request minisocket in the seeding dump is not a connection yet (the
// child that completes the handshake comes with its own events).
bool is_seeded_request(const model::Event& e);

// The state a socket event leaves its connection in for the
// sstrace_connections gauge, or 0 when the connection is not (or no longer)
// followed: gone (CLOSE), or a seeded request minisocket.
uint8_t followed_state(const model::Event& e);

// A remote address, as the `peer` label spells it (inet_ntop's text).
struct PeerAddr {
  uint8_t family = 0;
  std::array<uint8_t, 16> addr{};
  bool operator==(const PeerAddr&) const = default;
  static PeerAddr of(const model::Connection& c);
  std::string text() const;
};

struct PeerAddrHash {
  size_t operator()(const PeerAddr& p) const noexcept;
};

}  // namespace sstrace::metrics
