// A connection seen as a dumped socket: the one shape the filter
// evaluates, for the live stream's connections and a replay's snapshots.
#pragma once

#include "diag/sock_info.h"
#include "model/connection.h"

namespace sstrace::model {

// The connection as the filter sees a dumped socket: what the stream
// filter tests, and what a replayed snapshot starts from.
inline void to_sock_info(const Connection& c, diag::SockInfo& s) {
  s.kind = diag::SockKind::tcp;
  s.family = c.family;
  s.state = c.state;
  s.local = c.local;
  s.remote = c.remote;
  s.cookie = c.key.cookie;
  s.netns = c.key.netns;
  s.recv_q = c.recv_q;
  s.send_q = c.send_q;
  s.timer = c.minisocket ? 3 : 0;  // idiag_timer 3: timewait
}

}  // namespace sstrace::model
