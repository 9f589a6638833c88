// The churn rules on single model events, shared by the aggregation
// engine and the metrics: what an open, a failed connect, a kernel
// transition and a connection's service port are. Pure functions.
#pragma once

#include <cstdint>

#include "model/event.h"

namespace sstrace::aggregate {

enum class Open : uint8_t { none, in, out };

// CLOSE -> SYN-SENT is an active open (nstat's TcpActiveOpens, counted in
// tcp_connect()); LISTEN -> SYN-RECV a passive one (TcpPassiveOpens, counted
// in tcp_create_openreq_child()), also when it is written as SYN-RECV ->
// SYN-RECV (a child taking over a reported request's cookie). Inferred
// transitions are never opens: they are changes the model learned late,
// not the kernel's.
Open open_of(const model::Event& e);

// connect() taking back its own CLOSE -> SYN-SENT before any SYN was sent
// (inet_hash_connect() found no free local port): the kernel never reached
// tcp_connect(), so TcpActiveOpens did not count it, and neither may we.
// The views retract the open that transition counted.
bool is_undone_open(const model::Event& e);

// A transition the kernel reported (a firing of sock:inet_sock_set_state),
// as opposed to one the model inferred (a TIME-WAIT minisocket's expiry, a
// --resync correction): only these are sstrace_transitions_total.
bool is_kernel_transition(const model::Event& e);

// A connect that failed: the kernel taking a connection to CLOSE from
// SYN-SENT or SYN-RECV (refused, timed out, unreachable, reset). That is
// tcp_done()'s condition for nstat's TcpAttemptFails, read from the
// transition. Not connect() undoing its own SYN-SENT before any SYN
// (e.in_connect: no free local port; its connect_error event is the
// failure, and tcp_done() does not run there either). Two cases
// differ from the kernel's counter: a connect the application abandons
// (close() in SYN-SENT: __tcp_close, no tcp_done) counts here and not there,
// and a request socket reset before it became a socket (tcp_check_req)
// counts there, never being a connection here.
bool is_failed_connect(const model::Event& e);

// The service port: the listener's, whichever end we are (the local port of
// a passive connection or a listener, the remote port of an active one).
// A connection whose direction is unknown has none: 0, never its ephemeral
// port.
uint16_t service_port(model::Direction dir, uint16_t local_port, uint16_t remote_port);
uint16_t service_port(const model::Connection& c);

// An event about a request minisocket (its snapshot, its inferred
// appearance and end, its SYN-ACK retransmissions): not a connection yet.
// The child that completes the handshake is one from its first event.
bool is_request(const model::Event& e);

}  // namespace sstrace::aggregate
