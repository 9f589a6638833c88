#include "metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "output/event_common.h"

namespace sstrace::metrics {

namespace {

using diag::TcpState;
using prometheus::Labels;

// Connection lifetimes run from a refused-in-a-millisecond probe to an
// hours-long session; round-trip times from loopback's tens of microseconds
// to a satellite link's second.
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600};
const prometheus::Histogram::BucketBoundaries kSrttBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

// A received reset, and a sent one on a kernel whose tcp_send_reset gives
// no reason (before 6.10), count under reason="unknown"; so does a failed
// connect the kernel gave no error for (closed by its application).
constexpr const char* kUnknownReason = "unknown";

Labels with(Labels l, const std::string& ns_label) {
  if (!ns_label.empty()) l.emplace("netns", ns_label);
  return l;
}

}  // namespace

// One family: its name, its help line.
template <typename Builder>
auto& family(Builder b, prometheus::Registry& r, const char* name, const char* help) {
  return b.Name(name).Help(help).Register(r);
}

struct Metrics::Families {
  explicit Families(prometheus::Registry& r)
      : transitions(family(prometheus::BuildCounter(), r, "sstrace_transitions_total",
                           "TCP state transitions the kernel reported (inferred ones, such as "
                           "a TIME-WAIT expiry, are not counted)")),
        opened(family(prometheus::BuildCounter(), r, "sstrace_connections_opened_total",
                      "Connections opened: out = active (TcpActiveOpens), in = passive "
                      "(TcpPassiveOpens)")),
        failures(family(prometheus::BuildCounter(), r, "sstrace_connect_failures_total",
                        "Connections the kernel closed in SYN-SENT or SYN-RECV "
                        "(TcpAttemptFails) and connect() calls that failed before "
                        "(connect_error), by errno name")),
        resets(family(prometheus::BuildCounter(), r, "sstrace_resets_total",
                      "TCP resets sent and received")),
        retransmitted(family(prometheus::BuildCounter(), r, "sstrace_retransmitted_segments_total",
                             "Retransmitted TCP segments (RetransSegs)")),
        connections(family(prometheus::BuildGauge(), r, "sstrace_connections",
                           "Followed TCP sockets by state (listeners included)")),
        duration(family(prometheus::BuildHistogram(), r, "sstrace_connection_duration_seconds",
                        "Lifetime of closed connections that were established, from their "
                        "first transition to their last")),
        srtt(family(prometheus::BuildHistogram(), r, "sstrace_srtt_seconds",
                    "Last smoothed round-trip time of each closed established connection")),
        listen_overflows(family(prometheus::BuildCounter(), r, "sstrace_listen_overflows_total",
                                "Connections a listener dropped, by service port")),
        lost(family(prometheus::BuildCounter(), r, "sstrace_events_lost_total",
                    "Kernel records lost: ringbuf_full (a bigger --ringbuf-kib helps), "
                    "missed_runs (BPF programs the kernel skipped), queue_full (the "
                    "output behind the ring-buffer reader)")),
        build_info(family(prometheus::BuildGauge(), r, "sstrace_build_info",
                          "Always 1; the version of sstrace in its label")),
        lost_ringbuf_full(lost.Add({{"cause", "ringbuf_full"}})),
        lost_missed_runs(lost.Add({{"cause", "missed_runs"}})),
        lost_queue_full(lost.Add({{"cause", "queue_full"}})) {}

  prometheus::Family<prometheus::Counter>& transitions;
  prometheus::Family<prometheus::Counter>& opened;
  prometheus::Family<prometheus::Counter>& failures;
  prometheus::Family<prometheus::Counter>& resets;
  prometheus::Family<prometheus::Counter>& retransmitted;
  prometheus::Family<prometheus::Gauge>& connections;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Histogram>& srtt;
  // Fed by the listen_overflow alerts: a series once a port has dropped.
  prometheus::Family<prometheus::Counter>& listen_overflows;
  prometheus::Family<prometheus::Counter>& lost;
  prometheus::Family<prometheus::Gauge>& build_info;
  prometheus::Counter& lost_ringbuf_full;
  prometheus::Counter& lost_missed_runs;
  prometheus::Counter& lost_queue_full;
};

Metrics::Metrics(MetricsOptions opts)
    : opts_(std::move(opts)),
      registry_(std::make_shared<prometheus::Registry>()),
      f_(std::make_unique<Families>(*registry_)),
      ranking_(opts_.peers) {
  f_->build_info.Add({{"version", opts_.version}}).Set(1);
}

Metrics::~Metrics() = default;

Metrics::NsSeries& Metrics::ns(uint32_t inode) {
  if (last_ns_ && inode == last_inode_) return *last_ns_;
  // Without --all-netns every event is about the one namespace followed.
  const uint32_t key = opts_.netns_label ? inode : 0;
  auto it = ns_.find(key);
  if (it == ns_.end()) it = ns_.emplace(key, make_ns(inode)).first;
  last_inode_ = inode;
  last_ns_ = &it->second;
  return it->second;
}

Metrics::NsSeries Metrics::make_ns(uint32_t inode) {
  NsSeries n;
  if (opts_.netns_label)
    n.label = opts_.netns_name ? opts_.netns_name(inode) : std::to_string(inode);
  // The gauge of every state a followed socket can be in, so that a state
  // nobody is in reads 0 rather than nothing.
  for (uint8_t s = TcpState::kEstablished; s <= TcpState::kClosing; ++s)
    if (s != TcpState::kClose)
      n.connections[s] =
          &f_->connections.Add(with({{"state", std::string(output::tcp_state_name(s))}}, n.label));
  n.duration = &f_->duration.Add(with({}, n.label), kDurationBuckets);
  n.srtt = &f_->srtt.Add(with({}, n.label), kSrttBuckets);
  n.other = make_peer(n.label, opts_.peers ? "other" : "");
  return n;
}

Metrics::PeerSeries Metrics::make_peer(const std::string& ns_label, const std::string& peer) {
  auto labels = [&](Labels l) {
    if (!peer.empty()) l.emplace("peer", peer);
    return with(std::move(l), ns_label);
  };
  PeerSeries s;
  s.labels = labels({});
  s.opened_in = &f_->opened.Add(labels({{"dir", "in"}}));
  s.opened_out = &f_->opened.Add(labels({{"dir", "out"}}));
  s.resets_received = &f_->resets.Add(labels({{"dir", "received"}, {"reason", kUnknownReason}}));
  s.retransmitted = &f_->retransmitted.Add(labels({}));
  return s;
}

// A peer that lost its slot: its counts move to `other`, so that every
// family's sum over peers stays the exact total (`other` steps up by what
// the peer had counted; see docs/metrics.md).
void Metrics::drop_peer(PeerSeries& s, PeerSeries& into) {
  auto move = [&](prometheus::Family<prometheus::Counter>& fam, prometheus::Counter* from,
                  prometheus::Counter* to) {
    if (from->Value() > 0) to->Increment(from->Value());
    fam.Remove(from);
  };
  move(f_->opened, s.opened_in, into.opened_in);
  move(f_->opened, s.opened_out, into.opened_out);
  for (auto& [reason, c] : s.failures)
    move(f_->failures, c, &by_reason(f_->failures, into.failures, into.labels, reason));
  for (auto& [reason, c] : s.resets_sent) {
    Labels l = into.labels;
    l.emplace("dir", "sent");
    move(f_->resets, c, &by_reason(f_->resets, into.resets_sent, l, reason));
  }
  move(f_->resets, s.resets_received, into.resets_received);
  move(f_->retransmitted, s.retransmitted, into.retransmitted);
}

Metrics::PeerSeries& Metrics::peer_series(NsSeries& n, const model::Connection* c) {
  if (!opts_.peers || !c) return n.other;
  PeerAddr p = PeerAddr::of(*c);
  auto it = n.peers.find(p);
  if (it != n.peers.end()) return it->second;
  if (!ranking_.labelled(p)) return n.other;
  return n.peers.emplace(p, make_peer(n.label, p.text())).first->second;
}

void Metrics::observe(const model::Event& e) {
  switch (e.type) {
    case model::EventType::snapshot:
      if (e.conn) follow(ns(e.conn->key.netns), e);
      break;
    case model::EventType::state:
      if (!e.conn) break;
      {
        NsSeries& n = ns(e.conn->key.netns);
        follow(n, e);
        count_transition(n, e);
        if (Open o = open_of(e); o != Open::none) count_open(n, e, o);
        if (is_undone_open(e)) retract_open_out(n, e);
        // Counted at the close that follows, which has the reason.
        if (is_failed_connect(e)) failed_ = e.conn->key;
      }
      break;
    case model::EventType::retransmit:
      if (e.conn) peer_series(ns(e.conn->key.netns), e.conn).retransmitted->Increment(e.segs);
      break;
    case model::EventType::reset:
      if (e.conn) {
        PeerSeries& s = peer_series(ns(e.conn->key.netns), e.conn);
        if (!e.reset_sent) {
          s.resets_received->Increment();
        } else {
          Labels l = s.labels;
          l.emplace("dir", "sent");
          by_reason(f_->resets, s.resets_sent, l,
                    e.reset_reason.empty() ? kUnknownReason : e.reset_reason)
              .Increment();
        }
      }
      break;
    case model::EventType::connect_error:
      if (e.conn) count_failure(ns(e.conn->key.netns), e.conn, output::errno_name(e.error));
      break;
    case model::EventType::close:
      if (!e.conn) break;
      {
        NsSeries& n = ns(e.conn->key.netns);
        follow(n, e);
        count_close(n, e);
      }
      break;
    case model::EventType::lost:
      if (e.ringbuf_full) f_->lost_ringbuf_full.Increment(double(e.ringbuf_full));
      if (e.missed_runs) f_->lost_missed_runs.Increment(double(e.missed_runs));
      if (e.queue_full) f_->lost_queue_full.Increment(double(e.queue_full));
      break;
    case model::EventType::alert:
      // Rare (one per listener per interval at most): Family::Add finds
      // the port's series again.
      if (e.alert.kind == model::AlertKind::listen_overflow && e.conn)
        f_->listen_overflows
            .Add(with({{"port", std::to_string(e.conn->local.port)}}, ns(e.conn->key.netns).label))
            .Increment(double(e.alert.drops));
      break;
    default:
      break;  // sync, rtt, table, table_end, exit: nothing to count
  }
}

void Metrics::count_transition(NsSeries& n, const model::Event& e) {
  if (!is_kernel_transition(e) || e.old_state >= kStates || e.new_state >= kStates) return;
  // A request's child is counted as the kernel reported it (LISTEN -> SYN-RECV).
  const uint8_t old = e.old_request ? uint8_t(diag::TcpState::kListen) : e.old_state;
  prometheus::Counter*& c = n.transitions[old][e.new_state];
  if (!c)
    c = &f_->transitions.Add(with({{"old", std::string(output::tcp_state_name(old))},
                                   {"new", std::string(output::tcp_state_name(e.new_state))}},
                                  n.label));
  c->Increment();
}

void Metrics::count_open(NsSeries& n, const model::Event& e, Open o) {
  if (opts_.peers) ranking_.note_open(PeerAddr::of(*e.conn));
  PeerSeries& s = peer_series(n, e.conn);
  if (o == Open::in)
    s.opened_in->Increment();
  else
    ++pending_opens_out_[s.opened_out];
}

// A counter cannot go down, so active opens wait for the next tick (50 ms
// at most): connect() undoes an open within the system call, long before.
void Metrics::retract_open_out(NsSeries& n, const model::Event& e) {
  auto it = pending_opens_out_.find(peer_series(n, e.conn).opened_out);
  if (it != pending_opens_out_.end() && it->second) --it->second;
}

void Metrics::count_pending_opens() {
  for (auto& [counter, count] : pending_opens_out_)
    if (count) counter->Increment(double(count));
  pending_opens_out_.clear();
}

prometheus::Counter& Metrics::by_reason(prometheus::Family<prometheus::Counter>& fam,
                                        std::map<std::string, prometheus::Counter*>& series,
                                        const Labels& labels, std::string_view reason) {
  auto it = series.find(std::string(reason));
  if (it != series.end()) return *it->second;
  Labels l = labels;
  l.emplace("reason", std::string(reason));
  prometheus::Counter& c = fam.Add(l);
  series.emplace(std::string(reason), &c);
  return c;
}

void Metrics::count_failure(NsSeries& n, const model::Connection* c, std::string_view reason) {
  PeerSeries& s = peer_series(n, c);
  by_reason(f_->failures, s.failures, s.labels, reason).Increment();
}

void Metrics::count_close(NsSeries& n, const model::Event& e) {
  const model::CloseSummary& s = e.summary;
  if (s.closed_by == model::ClosedBy::listener) return;  // not a connection
  // connect() undoing its SYN-SENT is counted by its connect_error event.
  if (e.conn->key == failed_ && !e.in_connect)
    count_failure(n, e.conn, output::errno_name(s.failure));
  // A failed connect never lived, and its srtt (the SYN's, if any) is not
  // a connection's.
  if (s.closed_by == model::ClosedBy::failed || e.conn->key == failed_) return;
  if (s.duration_us >= 0) n.duration->Observe(double(s.duration_us) / 1e6);
  if (s.srtt_us) n.srtt->Observe(double(s.srtt_us) / 1e6);
}

// The gauge follows each socket's state from every event about it.
void Metrics::follow(NsSeries& n, const model::Event& e) {
  const uint8_t state = followed_state(e);
  auto it = followed_.find(e.conn->key);
  if (it != followed_.end() && it->second == state) return;
  if (it != followed_.end()) {
    if (auto* g = n.connections[it->second]) g->Decrement();
    if (state == 0) {
      followed_.erase(it);
      return;
    }
    it->second = state;
  } else {
    if (state == 0) return;
    followed_.emplace(e.conn->key, state);
  }
  if (auto* g = n.connections[state]) g->Increment();
}

void Metrics::tick(uint64_t now_ns) {
  // Before a rerank, which may remove the series they point at.
  count_pending_opens();
  if (!opts_.peers) return;
  if (!next_rank_ns_) next_rank_ns_ = now_ns + opts_.peer_window_ns;
  if (now_ns < next_rank_ns_) return;
  next_rank_ns_ = now_ns + opts_.peer_window_ns;
  rerank();
}

void Metrics::rerank() {
  PeerRanking::Change ch = ranking_.rerank();
  for (const PeerAddr& p : ch.demoted)
    for (auto& [inode, n] : ns_) {
      auto it = n.peers.find(p);
      if (it == n.peers.end()) continue;
      drop_peer(it->second, n.other);
      n.peers.erase(it);
    }
  // The promoted get their series at their next event (peer_series).
}

}  // namespace sstrace::metrics
