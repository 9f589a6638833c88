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

#include "aggregate/rules.h"
#include "model/event.h"

namespace sstrace::metrics {

using aggregate::is_failed_connect;
using aggregate::is_kernel_transition;
using aggregate::is_request;
using aggregate::is_undone_open;
using aggregate::Open;
using aggregate::open_of;
using aggregate::service_port;

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
