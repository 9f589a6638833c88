#include "aggregate/aggregator.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

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
    k.pid = c.owner.pid;
    k.comm = c.owner.comm;
    return k;
  }
  bool operator==(const KeySource&) const = default;
};

// The service port: the listener's port, whichever end we are.
uint16_t service_port(const KeySource& k) {
  switch (k.dir) {
    case model::Direction::in:
    case model::Direction::listen:
      return k.lport;
    case model::Direction::out:
      return k.rport;
    case model::Direction::unknown:
      break;
  }
  return 0;  // never an ephemeral port
}

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
    k.port = service_port(s);
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

// Nearest rank: exact, and cheap enough per frame (nth_element is linear);
// a histogram would only approximate it.
template <typename T>
std::optional<T> percentile(std::vector<T>& v, double q) {
  if (v.empty()) return std::nullopt;
  size_t rank = size_t(std::ceil(q * double(v.size())));
  size_t i = rank == 0 ? 0 : rank - 1;
  std::nth_element(v.begin(), v.begin() + ptrdiff_t(i), v.end());
  return v[i];
}

// Request minisockets in the seeding dump are not connections yet: the
// child that completes the handshake comes with its own events.
bool is_seeded_request(const model::Event& e) {
  return e.info && (e.info->state == TcpState::kNewSynRecv ||
                    (e.info->state == TcpState::kSynRecv && e.info->inode == 0));
}

}  // namespace

struct Aggregator::Group {
  GroupKey key;
  Counts counts;
  uint64_t members = 0;  // followed connections keyed here
  // The interval's closes.
  std::vector<uint32_t> closed_srtt;
  std::vector<uint64_t> closed_duration;
  // Filled by the frame's walk.
  uint64_t alive = 0, time_wait = 0, close_wait = 0;
  std::vector<uint32_t> srtt;
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
}

void Aggregator::detach(Tracked& t) {
  if (t.group) --t.group->members;
  t.group = nullptr;
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
  t.state = c.state;
  if (c.srtt_us) t.srtt_us = c.srtt_us;
  KeySource source = KeySource::of(c);
  if (!inserted && t.group && source == t.source) return;
  detach(t);
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
      if (e.conn && !is_seeded_request(e)) follow(*e.conn);
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
    case model::EventType::lost:
      lost_ += e.count;
      lost_total_ += e.count;
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
  follow(*e.conn);
  if (e.inferred) return;  // a change we learned late, not an open
  if (e.old_state == TcpState::kClose && e.new_state == TcpState::kSynSent)
    add_count(e.conn, &Counts::opens_out, 1);
  if (e.old_state == TcpState::kListen && e.new_state == TcpState::kSynRecv)
    add_count(e.conn, &Counts::opens_in, 1);
}

void Aggregator::count_close(const model::Event& e) {
  const model::CloseSummary& s = e.summary;
  if (s.closed_by == model::ClosedBy::listener) return;  // not a connection
  Group& g = counting_group(*e.conn);
  const bool failed = s.closed_by == model::ClosedBy::failed;
  for (Counts* c : {&totals_, &g.counts}) {
    ++c->closes;
    if (failed) ++c->failed;
  }
  // A failed connect never lived; its srtt (the SYN's, if any) is not a
  // connection's either.
  if (failed) return;
  if (s.duration_us >= 0) {
    for (Counts* c : {&totals_, &g.counts}) {
      ++c->timed_closes;
      if (uint64_t(s.duration_us) < kShortLivedUs) ++c->short_closes;
    }
    g.closed_duration.push_back(uint64_t(s.duration_us));
  }
  if (s.srtt_us) g.closed_srtt.push_back(s.srtt_us);
}

void Aggregator::set_group_by(GroupBy by, uint64_t now_ns) {
  opts_.by = by;
  for (auto& [key, t] : tracked_) t.group = nullptr;
  groups_.clear();
  for (auto& [key, t] : tracked_) attach(t);
  // The interval restarts: its counts were counted under the old keys.
  totals_ = Counts{};
  lost_ = 0;
  interval_start_ns_ = now_ns;
}

void Aggregator::walk_connections(uint64_t& ephemeral_in_use) {
  for (auto& [k, g] : groups_) {
    g->alive = g->time_wait = g->close_wait = 0;
    g->srtt.clear();
  }
  std::unordered_set<uint64_t> ports;
  const uint16_t lo = opts_.ephemeral_lo, hi = opts_.ephemeral_hi;
  for (const auto& [key, t] : tracked_) {
    Group& g = *t.group;
    switch (gauge_of(t.state)) {
      case Gauge::alive:
        ++g.alive;
        if (t.srtt_us) g.srtt.push_back(t.srtt_us);
        break;
      case Gauge::time_wait:
        ++g.time_wait;
        break;
      case Gauge::close_wait:
        ++g.close_wait;
        ++g.alive;
        if (t.srtt_us) g.srtt.push_back(t.srtt_us);
        break;
      case Gauge::none:
        break;
    }
    if (t.source.dir == model::Direction::out && hi && t.source.lport >= lo && t.source.lport <= hi)
      ports.insert(uint64_t(t.source.netns) << 16 | t.source.lport);
  }
  ephemeral_in_use = ports.size();
}

void Aggregator::fill_row(Row& row, Group& g) {
  row.key = g.key;
  row.counts = g.counts;
  row.alive = g.alive;
  row.time_wait = g.time_wait;
  row.close_wait = g.close_wait;
  g.srtt.insert(g.srtt.end(), g.closed_srtt.begin(), g.closed_srtt.end());
  row.srtt_p50_us = percentile(g.srtt, 0.50);
  row.srtt_p99_us = percentile(g.srtt, 0.99);
  row.duration_p50_us = percentile(g.closed_duration, 0.50);
  row.duration_p99_us = percentile(g.closed_duration, 0.99);
}

Frame Aggregator::frame(uint64_t now_ns) {
  Frame f;
  f.ts_ns = now_ns;
  f.interval_s = now_ns > interval_start_ns_ ? double(now_ns - interval_start_ns_) / 1e9 : 0;
  f.by = opts_.by;
  if (opts_.ephemeral_hi >= opts_.ephemeral_lo && opts_.ephemeral_hi)
    f.ephemeral_range = uint64_t(opts_.ephemeral_hi) - opts_.ephemeral_lo + 1;
  walk_connections(f.ephemeral_in_use);

  std::vector<uint32_t> all_srtt;
  std::vector<uint64_t> all_durations;
  f.totals.counts = totals_;
  for (auto& [key, g] : groups_) {
    if (g->members == 0 &&
        g->counts.opens() + g->counts.closes + g->counts.resets() + g->counts.retrans == 0)
      continue;
    all_durations.insert(all_durations.end(), g->closed_duration.begin(), g->closed_duration.end());
    Row& row = f.groups.emplace_back();
    fill_row(row, *g);  // g->srtt now holds the closed ones too
    all_srtt.insert(all_srtt.end(), g->srtt.begin(), g->srtt.end());
    f.totals.alive += row.alive;
    f.totals.time_wait += row.time_wait;
    f.totals.close_wait += row.close_wait;
  }
  f.totals.srtt_p50_us = percentile(all_srtt, 0.50);
  f.totals.srtt_p99_us = percentile(all_srtt, 0.99);
  f.totals.duration_p50_us = percentile(all_durations, 0.50);
  f.totals.duration_p99_us = percentile(all_durations, 0.99);
  sort_rows(f.groups, Column::opens);
  f.lost = lost_;
  f.lost_total = lost_total_;
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
  lost_ = 0;
  interval_start_ns_ = now_ns;
}

}  // namespace sstrace::aggregate
