#include "aggregate/aggregator.h"

#include <algorithm>
#include <cmath>

#include "aggregate/rules.h"
#include "diag/sock_info.h"

namespace sstrace::aggregate {

using diag::TcpState;

namespace {

constexpr uint64_t kShortLivedUs = 1'000'000;  // CONTRACT.md: "lived under 1 s"

// What a connection's group is computed from, copied so that a regroup
// needs nothing but the aggregator's own state.
struct KeySource {
  uint32_t netns = 0;
  uint8_t family = 0;
  model::Direction dir = model::Direction::unknown;
  uint16_t lport = 0, rport = 0;
  std::array<uint8_t, 16> raddr{};
  uint32_t pid = 0;
  std::string comm;

  static KeySource of(const model::Connection& c) {
    KeySource k;
    k.netns = c.key.netns;
    k.family = c.family;
    k.dir = c.dir;
    k.lport = c.local.port;
    k.rport = c.remote.port;
    k.raddr = c.remote.addr;
    // An orphan or a TIME-WAIT counts under the process that let it go.
    const model::Owner& o = c.owner.known() ? c.owner : c.last_owner;
    k.pid = o.pid;
    k.comm = o.comm;
    return k;
  }
  bool operator==(const KeySource&) const = default;
};

GroupKey key_of(const KeySource& s, GroupBy by, bool key_netns) {
  GroupKey k;
  if (key_netns) k.netns = s.netns;
  const bool peer = by == GroupBy::peer || by == GroupBy::peer_port;
  const bool port = by == GroupBy::port || by == GroupBy::peer_port;
  if (peer && s.rport != 0) {
    k.family = s.family;
    k.peer = s.raddr;
  }
  if (port) {
    k.port = service_port(s.dir, s.lport, s.rport);
    k.dir = s.dir;
  }
  if (by == GroupBy::process) {
    k.pid = s.pid;
    k.comm = s.comm;
  }
  return k;
}

enum class Gauge : uint8_t { none, alive, time_wait, close_wait };

Gauge gauge_of(uint8_t state) {
  switch (state) {
    case TcpState::kListen:
    case TcpState::kClose:
      return Gauge::none;
    case TcpState::kTimeWait:
      return Gauge::time_wait;
    case TcpState::kCloseWait:
      return Gauge::close_wait;  // alive too
    default:
      return Gauge::alive;
  }
}

}  // namespace

struct Aggregator::Group {
  GroupKey key;
  Counts counts;
  uint64_t members = 0;  // followed connections keyed here
  Presence now;
  // The interval's closes.
  LogHistogram closed_srtt;
  LogHistogram closed_duration;
};

struct Aggregator::Tracked {
  KeySource source;
  uint8_t state = 0;
  uint32_t srtt_us = 0;
  Group* group = nullptr;
};

Aggregator::Aggregator(const AggregatorOptions& opts, uint64_t start_ns)
    : opts_(opts), interval_start_ns_(start_ns) {}

Aggregator::~Aggregator() = default;

size_t Aggregator::connections() const { return tracked_.size(); }

Aggregator::Group& Aggregator::group_for(const GroupKey& key) {
  auto it = groups_.find(key);
  if (it == groups_.end()) {
    auto g = std::make_unique<Group>();
    g->key = key;
    it = groups_.emplace(key, std::move(g)).first;
  }
  return *it->second;
}

void Aggregator::attach(Tracked& t) {
  t.group = &group_for(key_of(t.source, opts_.by, opts_.key_netns));
  ++t.group->members;
  count_presence(t, +1);
}

void Aggregator::detach(Tracked& t) {
  if (!t.group) return;
  count_presence(t, -1);
  --t.group->members;
  t.group = nullptr;
}

// What a followed connection adds to (sign +1) or takes from (-1) its
// group's gauges, the totals' and the ephemeral ports in use.
void Aggregator::count_presence(const Tracked& t, int sign) {
  for (Presence* p : {&t.group->now, &presence_}) {
    switch (gauge_of(t.state)) {
      case Gauge::alive:
        p->alive += uint64_t(int64_t(sign));
        if (t.srtt_us) p->srtt.add(t.srtt_us, sign);
        break;
      case Gauge::close_wait:
        p->close_wait += uint64_t(int64_t(sign));
        p->alive += uint64_t(int64_t(sign));
        if (t.srtt_us) p->srtt.add(t.srtt_us, sign);
        break;
      case Gauge::time_wait:
        p->time_wait += uint64_t(int64_t(sign));
        break;
      case Gauge::none:
        break;
    }
  }
  const KeySource& s = t.source;
  if (s.dir != model::Direction::out || !opts_.ephemeral_hi || s.lport < opts_.ephemeral_lo ||
      s.lport > opts_.ephemeral_hi)
    return;
  const uint64_t port = uint64_t(s.netns) << 16 | s.lport;
  if (sign > 0) {
    ++ports_in_use_[port];
  } else if (auto it = ports_in_use_.find(port); it != ports_in_use_.end() && --it->second == 0) {
    ports_in_use_.erase(it);
  }
}

// Follows c (from now on, or again with what changed: an owner learned, a
// state, the ports connect() chose). Listeners and closed sockets are not
// connections: they are let go.
void Aggregator::follow(const model::Connection& c) {
  if (c.state == TcpState::kListen || c.state == TcpState::kClose) {
    untrack(c.key);
    return;
  }
  auto [it, inserted] = tracked_.try_emplace(c.key);
  Tracked& t = it->second;
  const uint32_t srtt = c.srtt_us ? c.srtt_us : t.srtt_us;
  KeySource source = KeySource::of(c);
  if (!inserted && t.group && t.state == c.state && t.srtt_us == srtt && source == t.source) return;
  detach(t);
  t.state = c.state;
  t.srtt_us = srtt;
  t.source = std::move(source);
  attach(t);
}

void Aggregator::untrack(const model::SockKey& key) {
  auto it = tracked_.find(key);
  if (it == tracked_.end()) return;
  detach(it->second);
  tracked_.erase(it);
}

// The group an event of c counts in: its followed group, or (a record of
// a connection that just ended) the group its data says.
Aggregator::Group& Aggregator::counting_group(const model::Connection& c) {
  auto it = tracked_.find(c.key);
  if (it != tracked_.end() && it->second.group) return *it->second.group;
  return group_for(key_of(KeySource::of(c), opts_.by, opts_.key_netns));
}

void Aggregator::observe(const model::Event& e) {
  switch (e.type) {
    case model::EventType::snapshot:
      if (e.conn && !is_request(e)) follow(*e.conn);
      break;
    case model::EventType::state:
      if (e.conn) count_state(e);
      break;
    case model::EventType::rtt:
      if (e.conn) follow(*e.conn);
      break;
    case model::EventType::retransmit:
      add_count(e.conn, &Counts::retrans, e.segs);
      break;
    case model::EventType::reset:
      add_count(e.conn, e.reset_sent ? &Counts::resets_sent : &Counts::resets_received, 1);
      break;
    case model::EventType::close:
      if (e.conn) count_close(e);
      break;
    case model::EventType::connect_error:
      if (e.conn) count_failure(*e.conn, e.error);
      break;
    case model::EventType::lost:
      lost_ += e.count;
      lost_total_ += e.count;
      break;
    case model::EventType::alert:
      ++alerts_;
      if (e.alert.kind == model::AlertKind::listen_overflow) listen_drops_ += e.alert.drops;
      break;
    default:
      break;  // sync, table, table_end, exit: nothing to count
  }
}

void Aggregator::add_count(const model::Connection* c, uint64_t Counts::*field, uint64_t n) {
  totals_.*field += n;
  if (c) counting_group(*c).counts.*field += n;
}

void Aggregator::count_state(const model::Event& e) {
  if (is_request(e)) return;  // not a connection (yet)
  follow(*e.conn);
  switch (open_of(e)) {
    case Open::out:
      add_count(e.conn, &Counts::opens_out, 1);
      break;
    case Open::in:
      add_count(e.conn, &Counts::opens_in, 1);
      break;
    case Open::none:
      if (is_undone_open(e)) retract_open_out(*e.conn);
      break;
  }
}

// The open is nearly always in this interval (connect() undoes it within
// the same system call); if an interval ended in between, the count it
// showed stays, and nothing here goes below zero.
void Aggregator::retract_open_out(const model::Connection& c) {
  for (Counts* n : {&totals_, &counting_group(c).counts})
    if (n->opens_out) --n->opens_out;
}

void Aggregator::count_close(const model::Event& e) {
  const model::CloseSummary& s = e.summary;
  if (s.closed_by == model::ClosedBy::listener) return;  // not a connection
  // connect() undoing its own SYN-SENT opened nothing (is_undone_open), so
  // it closes nothing; its connect_error event counts the failure.
  if (e.in_connect) return;
  Group& g = counting_group(*e.conn);
  const bool failed = s.closed_by == model::ClosedBy::failed;
  for (Counts* c : {&totals_, &g.counts}) ++c->closes;
  if (failed) count_failure(*e.conn, s.failure);
  // A failed connect never lived; its srtt (the SYN's, if any) is not a
  // connection's either.
  if (failed) return;
  if (s.duration_us >= 0) {
    for (Counts* c : {&totals_, &g.counts}) {
      ++c->timed_closes;
      if (uint64_t(s.duration_us) < kShortLivedUs) ++c->short_closes;
    }
    g.closed_duration.add(uint64_t(s.duration_us));
    closed_duration_.add(uint64_t(s.duration_us));
  }
  if (s.srtt_us) {
    g.closed_srtt.add(s.srtt_us);
    closed_srtt_.add(s.srtt_us);
  }
}

void Aggregator::count_failure(const model::Connection& c, int error) {
  ++totals_.failed;
  ++counting_group(c).counts.failed;
  ++failed_by_[error];
}

void Aggregator::set_group_by(GroupBy by, uint64_t now_ns) {
  opts_.by = by;
  for (auto& [key, t] : tracked_) detach(t);
  groups_.clear();
  for (auto& [key, t] : tracked_) attach(t);
  closed_srtt_.clear();
  closed_duration_.clear();
  // The interval restarts: its counts were counted under the old keys.
  totals_ = Counts{};
  failed_by_.clear();
  lost_ = 0;
  interval_start_ns_ = now_ns;
}

namespace {

void fill_percentiles(Row& row, const LogHistogram& alive_srtt, const LogHistogram& closed_srtt,
                      const LogHistogram& durations) {
  LogHistogram srtt = alive_srtt;
  srtt.merge(closed_srtt);
  if (auto v = srtt.percentile(0.50)) row.srtt_p50_us = uint32_t(*v);
  if (auto v = srtt.percentile(0.99)) row.srtt_p99_us = uint32_t(*v);
  row.duration_p50_us = durations.percentile(0.50);
  row.duration_p99_us = durations.percentile(0.99);
}

void fill_gauges(Row& row, const Aggregator::Presence& p) {
  row.alive = p.alive;
  row.time_wait = p.time_wait;
  row.close_wait = p.close_wait;
}

bool idle(const Counts& c) { return c.opens() + c.closes + c.failed + c.resets() + c.retrans == 0; }

}  // namespace

Frame Aggregator::frame(uint64_t now_ns) {
  Frame f;
  f.ts_ns = now_ns;
  f.interval_s = now_ns > interval_start_ns_ ? double(now_ns - interval_start_ns_) / 1e9 : 0;
  f.by = opts_.by;
  if (opts_.ephemeral_hi >= opts_.ephemeral_lo && opts_.ephemeral_hi)
    f.ephemeral_range = uint64_t(opts_.ephemeral_hi) - opts_.ephemeral_lo + 1;
  f.ephemeral_in_use = ports_in_use_.size();
  f.totals.counts = totals_;
  f.failed_by = failed_by_;
  fill_gauges(f.totals, presence_);
  fill_percentiles(f.totals, presence_.srtt, closed_srtt_, closed_duration_);
  f.groups.reserve(groups_.size());
  for (auto& [key, g] : groups_) {
    if (g->members == 0 && idle(g->counts)) continue;
    Row& row = f.groups.emplace_back();
    row.key = g->key;
    row.counts = g->counts;
    fill_gauges(row, g->now);
    fill_percentiles(row, g->now.srtt, g->closed_srtt, g->closed_duration);
  }
  sort_rows(f.groups, Column::opens);
  f.lost = lost_;
  f.lost_total = lost_total_;
  f.alerts = alerts_;
  f.listen_drops = listen_drops_;
  start_interval(now_ns);
  return f;
}

// Counts restart; groups nobody is keyed to any more are let go.
void Aggregator::start_interval(uint64_t now_ns) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = *it->second;
    if (g.members == 0) {
      it = groups_.erase(it);
      continue;
    }
    g.counts = Counts{};
    g.closed_srtt.clear();
    g.closed_duration.clear();
    ++it;
  }
  totals_ = Counts{};
  failed_by_.clear();
  closed_srtt_.clear();
  closed_duration_.clear();
  lost_ = 0;
  interval_start_ns_ = now_ns;
}

}  // namespace sstrace::aggregate
