#include "replay/replay_table.h"

#include <vector>

#include "diag/sock_info.h"
#include "model/connection_table.h"
#include "sys/procfs.h"

namespace sstrace::replay {

using diag::TcpState;
using model::Direction;

namespace {

constexpr size_t kGraveyardSize = 4096;

ListenerKey listener_key(uint32_t netns, uint16_t port) { return uint64_t(netns) << 16 | port; }

// What every event says of its socket after it: endpoints, state, owner.
void copy_line_fields(model::Connection& c, const model::Connection& line) {
  c.key = line.key;
  c.family = line.family;
  c.v6only = line.v6only;
  c.local = line.local;
  c.remote = line.remote;
  c.state = line.state;
  c.minisocket = line.minisocket;
  c.owner = line.owner;
  c.last_owner = line.last_owner;
  c.orphan = c.minisocket || c.last_owner.known();
}

}  // namespace

const model::Connection* ReplayTable::find(const model::SockKey& key) const {
  auto it = conns_.find(key);
  return it == conns_.end() ? nullptr : &it->second;
}

void ReplayTable::clear() {
  conns_.clear();
  listeners_.clear();
  graveyard_.clear();
  buried_.clear();
}

model::Connection& ReplayTable::take_in(const RecordedEvent& r, bool* created) {
  auto [it, inserted] = conns_.try_emplace(r.conn.key);
  if (created) *created = inserted;
  copy_line_fields(it->second, r.conn);
  return it->second;
}

// As the live model guesses it (model::ConnectionTable::seeded_direction):
// a connection on a listener's port is its child; without one, the end
// whose port is ephemeral is the client's; otherwise an active open.
Direction ReplayTable::seeded_direction(const model::Connection& c) const {
  if (c.state == TcpState::kListen) return Direction::listen;
  if (listeners_.count(listener_key(c.key.netns, c.local.port))) return Direction::in;
  auto ephemeral = [this](uint16_t p) { return p >= ephemeral_lo_ && p <= ephemeral_hi_; };
  if (ephemeral_hi_ && ephemeral(c.remote.port) && !ephemeral(c.local.port)) return Direction::in;
  return Direction::out;
}

void ReplayTable::bind_scratch(RecordedEvent& r, Direction dir) {
  r.conn.dir = dir;
  r.event.conn = &r.conn;
}

// A late record of an ended connection is counted where its connection was.
void ReplayTable::bind_known_or_scratch(RecordedEvent& r, Direction dir) {
  if (auto it = conns_.find(r.conn.key); it != conns_.end()) {
    copy_line_fields(it->second, r.conn);
    r.event.conn = &it->second;
    return;
  }
  if (auto it = graveyard_.find(r.conn.key); it != graveyard_.end()) {
    r.event.conn = &it->second;
    return;
  }
  bind_scratch(r, dir);
}

// The connection leaves the table; the event keeps pointing at it (in the
// graveyard, whose nodes do not move).
void ReplayTable::bury(const model::SockKey& key, RecordedEvent& r) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  auto [g, inserted] = graveyard_.insert_or_assign(key, std::move(it->second));
  conns_.erase(it);
  r.event.conn = &g->second;
  if (inserted) buried_.push_back(key);
  if (buried_.size() > kGraveyardSize) {
    graveyard_.erase(buried_.front());
    buried_.pop_front();
  }
}

void ReplayTable::apply(RecordedEvent& r) {
  using model::EventType;
  switch (r.event.type) {
    case EventType::snapshot:
      apply_snapshot(r);
      break;
    case EventType::state:
      apply_state(r);
      break;
    case EventType::rtt:
      apply_rtt(r);
      break;
    case EventType::retransmit:
      apply_retransmit(r);
      break;
    case EventType::reset:
      // A reset to a segment no socket took: our port, so `in`, as live.
      if (r.conn.key.cookie == 0)
        bind_scratch(r, Direction::in);
      else
        bind_known_or_scratch(r, Direction::unknown);
      r.event.reset_reason = r.reset_reason;
      break;
    case EventType::close:
      apply_close(r);
      break;
    case EventType::connect_error:
      bind_scratch(r, Direction::out);  // a connect() is an active open
      break;
    case EventType::alert:
      apply_alert(r);
      break;
    case EventType::table:
      bind_known_or_scratch(r, Direction::unknown);
      break;
    case EventType::sync:
    case EventType::lost:
    case EventType::table_end:
    case EventType::exit:
      break;
  }
}

void ReplayTable::apply_snapshot(RecordedEvent& r) {
  const diag::SockInfo& s = r.info;
  r.event.info = &r.info;
  if (model::ConnectionTable::is_request_minisocket(s)) {
    // Reported, not kept: the child that completes the handshake comes with
    // events of its own.
    r.event.conn = &r.conn;
    return;
  }
  // The snapshot names the socket's first user as its pid and comm.
  std::vector<sys::SocketUser> users;
  if (r.conn.owner.known()) users.push_back({r.conn.owner.comm, int(r.conn.owner.pid), 0});
  model::Connection c = model::ConnectionTable::from_dump(s, users, r.event.ts_ns);
  if (c.state == TcpState::kListen) listeners_.insert(listener_key(c.key.netns, c.local.port));
  c.dir = seeded_direction(c);
  auto [it, inserted] = conns_.insert_or_assign(c.key, std::move(c));
  r.event.conn = &it->second;
}

void ReplayTable::apply_state(RecordedEvent& r) {
  model::Event& e = r.event;
  bool created = false;
  const uint8_t was = conns_.count(r.conn.key) ? conns_[r.conn.key].state : e.old_state;
  const bool was_minisocket = conns_.count(r.conn.key) && conns_[r.conn.key].minisocket;
  model::Connection& c = take_in(r, &created);
  if (created) {
    // Born at the kernel's first report of it, as in the live model.
    if (e.old_state == TcpState::kClose || e.old_state == TcpState::kListen) c.born_ns = e.ts_ns;
    if (e.old_state == TcpState::kListen) c.dir = Direction::in;
    if (e.old_state == TcpState::kClose && e.new_state == TcpState::kSynSent)
      c.dir = Direction::out;
  }
  if (e.new_state == TcpState::kListen) {
    c.dir = Direction::listen;
    listeners_.insert(listener_key(c.key.netns, c.local.port));
  }
  e.old_minisocket = was == e.old_state && was_minisocket;
  c.state_since_ns = e.ts_ns;
  e.conn = &c;
  // A minisocket's end (inferred) has no close event after it.
  if (e.inferred && e.new_state == TcpState::kClose) bury(c.key, r);
}

void ReplayTable::apply_rtt(RecordedEvent& r) {
  model::Connection& c = take_in(r, nullptr);
  const model::Event& e = r.event;
  c.srtt_us = e.srtt_us;
  c.rttvar_us = e.rttvar_us;
  if (!c.min_srtt_us || e.srtt_us < c.min_srtt_us) c.min_srtt_us = e.srtt_us;
  if (e.srtt_us > c.max_srtt_us) c.max_srtt_us = e.srtt_us;
  r.event.conn = &c;
}

void ReplayTable::apply_retransmit(RecordedEvent& r) {
  // A SYN-ACK's socket is a request minisocket, never in the table; a
  // retransmit after the close counts where the connection was.
  if (r.event.synack || !conns_.count(r.conn.key)) {
    bind_known_or_scratch(r, Direction::unknown);
    return;
  }
  model::Connection& c = take_in(r, nullptr);
  c.retrans_segs += r.event.segs;
  r.event.conn = &c;
}

void ReplayTable::apply_close(RecordedEvent& r) {
  model::Connection& c = take_in(r, nullptr);
  c.bytes_acked = r.event.summary.bytes_acked;
  c.bytes_received = r.event.summary.bytes_received;
  r.event.conn = &c;
  // A connection handed to a timewait minisocket lives on under its cookie.
  if (!c.minisocket) bury(c.key, r);
}

void ReplayTable::apply_alert(RecordedEvent& r) {
  switch (r.event.alert.kind) {
    case model::AlertKind::listen_overflow:
      bind_known_or_scratch(r, Direction::listen);
      break;
    case model::AlertKind::close_wait:
      bind_known_or_scratch(r, Direction::unknown);
      break;
    case model::AlertKind::port_pressure:
      break;  // about a destination, not a socket
  }
}

void ReplayTable::emit_table(uint64_t ts_ns,
                             const std::function<void(const model::Event&)>& sink) const {
  model::Event e;
  e.type = model::EventType::table;
  e.ts_ns = ts_ns;
  for (const auto& [key, c] : conns_) {
    e.conn = &c;
    sink(e);
  }
  model::Event end;
  end.type = model::EventType::table_end;
  end.ts_ns = ts_ns;
  end.count = conns_.size();
  sink(end);
}

ReplayTable::TcpCounts ReplayTable::tcp_counts() const {
  TcpCounts n;
  for (const auto& [key, c] : conns_) {
    if (c.minisocket) {
      ++n.timewait;
      continue;
    }
    ++n.full;
    if (c.state == TcpState::kEstablished || c.state == TcpState::kCloseWait) ++n.estab;
    if (c.orphan) ++n.orphaned;
    if (c.state == TcpState::kClose) ++n.closed;
  }
  return n;
}

}  // namespace sstrace::replay
