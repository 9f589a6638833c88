// Local ports in use toward each remote address and port, TIME-WAIT
// included, against ip_local_port_range: connect() needs a free 4-tuple, so
// one destination can take at most `range` connections from the ephemeral
// range (__inet_hash_connect, net/ipv4/inet_hashtables.c). Kept
// incrementally from the model's events, as the aggregator keeps its
// gauges: no walk of the table. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "model/event.h"

namespace sstrace::alerts {

struct PortPressureOptions {
  uint16_t lo = 0, hi = 0;  // ip_local_port_range; hi == 0: unknown (never alerts)
  uint32_t pct = 80;        // --port-pressure-pct
};

class PortPressure {
 public:
  explicit PortPressure(const PortPressureOptions& opts);

  // Every event of the model (before the stream filter). Returns the alert
  // when this event took a destination to the threshold while armed, or
  // was an EADDRNOTAVAIL connect_error toward an armed destination.
  std::optional<model::Alert> observe(const model::Event& e);

  uint32_t range() const { return range_; }
  // An alert fires at fire_at() ports in use toward one destination and
  // re-arms once that count is back at or below rearm_at(): a destination
  // hovering at the line (one TIME-WAIT expiring, one connect) alerts once;
  // a relief of a twentieth of the range (at least one port) and a new
  // climb is a new incident.
  uint32_t fire_at() const { return fire_at_; }
  uint32_t rearm_at() const { return rearm_at_; }
  uint32_t in_use(uint32_t netns, uint8_t family, const diag::Endpoint& remote) const;

 private:
  struct Dest {
    uint32_t netns = 0;
    uint8_t family = 0;
    diag::Endpoint remote;
    bool operator==(const Dest& o) const;
  };
  struct DestHash {
    size_t operator()(const Dest& d) const noexcept;
  };
  struct Count {
    uint32_t in_use = 0;
    bool armed = true;
  };
  bool counts(const model::Connection& c) const;
  void release(const Dest& dest);
  std::optional<model::Alert> no_port_left(const Dest& dest);
  std::optional<model::Alert> fire(const Dest& dest, Count& n);

  PortPressureOptions opts_;
  uint32_t range_ = 0, fire_at_ = 0, rearm_at_ = 0;
  std::unordered_map<model::SockKey, Dest, model::SockKeyHash> counted_;
  std::unordered_map<Dest, Count, DestHash> dests_;
};

}  // namespace sstrace::alerts
