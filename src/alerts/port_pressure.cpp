#include "alerts/port_pressure.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sstrace::alerts {

PortPressure::PortPressure(const PortPressureOptions& opts) : opts_(opts) {
  if (opts_.hi && opts_.hi >= opts_.lo) range_ = uint32_t(opts_.hi) - opts_.lo + 1;
  // connect() searches an even number of ports (__inet_hash_connect:
  // remaining &= ~1): of an odd range, the highest port is never picked.
  if (range_ > 1) range_ &= ~1u;
  fire_at_ = std::max<uint32_t>(1, uint32_t((uint64_t(range_) * opts_.pct + 99) / 100));
  const uint32_t hysteresis = std::max<uint32_t>(1, range_ / 20);
  rearm_at_ = fire_at_ > hysteresis ? fire_at_ - hysteresis : 0;
}

bool PortPressure::Dest::operator==(const Dest& o) const {
  return netns == o.netns && family == o.family && remote.port == o.remote.port &&
         remote.addr == o.remote.addr;
}

size_t PortPressure::DestHash::operator()(const Dest& d) const noexcept {
  uint64_t a, b;
  std::memcpy(&a, d.remote.addr.data(), 8);
  std::memcpy(&b, d.remote.addr.data() + 8, 8);
  uint64_t h = (uint64_t(d.netns) << 24 | uint64_t(d.family) << 16 | d.remote.port) ^ a * 31 ^ b;
  return std::hash<uint64_t>()(h * 0x9e3779b97f4a7c15ULL);
}

// A connection holds an ephemeral port toward its peer from the moment
// connect() picked it until its TIME-WAIT ends. Passive opens use the
// listener's port; a listener or a closed socket holds none toward a peer.
bool PortPressure::counts(const model::Connection& c) const {
  using diag::TcpState;
  if (!range_ || c.state == TcpState::kListen || c.state == TcpState::kClose) return false;
  if (c.dir == model::Direction::in || c.dir == model::Direction::listen) return false;
  return c.remote.port != 0 && c.local.port >= opts_.lo && c.local.port <= opts_.hi;
}

void PortPressure::release(const Dest& dest) {
  auto d = dests_.find(dest);
  if (d == dests_.end()) return;
  if (--d->second.in_use <= rearm_at_) d->second.armed = true;
  if (d->second.in_use == 0) dests_.erase(d);
}

std::optional<model::Alert> PortPressure::observe(const model::Event& e) {
  if (!e.conn || e.type == model::EventType::alert) return std::nullopt;
  const model::Connection& c = *e.conn;
  const Dest dest{c.key.netns, c.family, c.remote};
  if (e.type == model::EventType::connect_error) {
    if (e.error != EADDRNOTAVAIL || !range_ || c.remote.port == 0) return std::nullopt;
    return no_port_left(dest);
  }
  auto it = counted_.find(c.key);
  const bool holds = counts(c);
  if (it != counted_.end()) {
    if (holds && it->second == dest) return std::nullopt;
    release(it->second);  // gone, or its tuple changed (a resync)
    counted_.erase(it);
  }
  if (!holds) return std::nullopt;
  counted_.emplace(c.key, dest);
  Count& n = dests_[dest];
  ++n.in_use;
  if (n.in_use < fire_at_) return std::nullopt;
  return fire(dest, n);
}

// connect() found no free local port toward this destination: the kernel's
// own verdict, whatever our count says (other sockets' bind()s, ports
// reserved by ip_local_reserved_ports, a range changed since we read it).
// It raises the alert like the threshold does, once until the destination
// is relieved; a destination with no port counted keeps its entry (disarmed)
// so that a storm of EADDRNOTAVAIL is one alert.
std::optional<model::Alert> PortPressure::no_port_left(const Dest& dest) {
  return fire(dest, dests_[dest]);
}

std::optional<model::Alert> PortPressure::fire(const Dest& dest, Count& n) {
  if (!n.armed) return std::nullopt;
  n.armed = false;
  model::Alert a;
  a.kind = model::AlertKind::port_pressure;
  a.netns = dest.netns;
  a.family = dest.family;
  a.remote = dest.remote;
  a.in_use = n.in_use;
  a.range = range_;
  return a;
}

uint32_t PortPressure::in_use(uint32_t netns, uint8_t family, const diag::Endpoint& remote) const {
  auto d = dests_.find(Dest{netns, family, remote});
  return d == dests_.end() ? 0 : d->second.in_use;
}

}  // namespace sstrace::alerts
