// The Prometheus families of CONTRACT.md ("Metrics"), fed the model's
// events. A prometheus-cpp Registry holds them; the endpoint (endpoint.h)
// serves it from its own threads, which read the counters' atomics while
// the stream thread increments them.
//
// Per event the work is a few increments on series resolved once and kept
// (prometheus-cpp's Family::Add is a map lookup under a mutex): a table of
// transitions by old and new state, the per-direction and per-peer counters,
// a gauge per state. Nothing is formatted per event.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <prometheus/labels.h>

#include "diag/sock_info.h"
#include "metrics/peer_ranking.h"
#include "metrics/rules.h"
#include "model/connection.h"
#include "model/event.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace sstrace::metrics {

struct MetricsOptions {
  // --metrics-peers N: a `peer` label for the N busiest peers (0: none).
  uint32_t peers = 0;
  // How often the peers are re-ranked (peer_ranking.h).
  uint64_t peer_window_ns = 60'000'000'000;
  // --all-netns: a `netns` label on every per-connection family, its text
  // from netns_name (the ip-netns name, else the inode).
  bool netns_label = false;
  std::function<std::string(uint32_t inode)> netns_name;
  std::string version;  // sstrace_build_info
};

class Metrics {
 public:
  explicit Metrics(MetricsOptions opts);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  void observe(const model::Event& e);
  // Closes the peer-ranking window when it is due.
  void tick(uint64_t now_ns);
  // Connections the state gauge follows.
  size_t followed() const { return followed_.size(); }

 private:
  static constexpr size_t kStates = diag::TcpState::kMaxState;
  // The per-connection counters of one peer (or `other`, or everything
  // when there are no peer labels) in one namespace.
  struct PeerSeries {
    prometheus::Labels labels;  // peer and netns, where labelled
    prometheus::Counter* opened_in = nullptr;
    prometheus::Counter* opened_out = nullptr;
    // By reason, made at the first event of each: errno names and the
    // kernel's reset reasons, both bounded sets.
    std::map<std::string, prometheus::Counter*> failures;
    std::map<std::string, prometheus::Counter*> resets_sent;
    prometheus::Counter* resets_received = nullptr;
    prometheus::Counter* retransmitted = nullptr;
  };
  struct NsSeries {
    std::string label;  // netns label value ("" without --all-netns)
    std::array<std::array<prometheus::Counter*, kStates>, kStates> transitions{};
    std::array<prometheus::Gauge*, kStates> connections{};
    prometheus::Histogram* duration = nullptr;
    prometheus::Histogram* srtt = nullptr;
    PeerSeries other;  // everything, without --metrics-peers
    std::unordered_map<PeerAddr, PeerSeries, PeerAddrHash> peers;
  };
  struct Families;

  NsSeries& ns(uint32_t inode);
  NsSeries make_ns(uint32_t inode);
  PeerSeries make_peer(const std::string& ns_label, const std::string& peer);
  void drop_peer(PeerSeries& s, PeerSeries& into);
  PeerSeries& peer_series(NsSeries& n, const model::Connection* c);
  void count_transition(NsSeries& n, const model::Event& e);
  void count_open(NsSeries& n, const model::Event& e, Open o);
  void retract_open_out(NsSeries& n, const model::Event& e);
  void count_pending_opens();
  void count_close(NsSeries& n, const model::Event& e);
  void count_failure(NsSeries& n, const model::Connection* c, std::string_view reason);
  prometheus::Counter& by_reason(prometheus::Family<prometheus::Counter>& fam,
                                 std::map<std::string, prometheus::Counter*>& series,
                                 const prometheus::Labels& labels, std::string_view reason);
  void follow(NsSeries& n, const model::Event& e);
  void rerank();

  MetricsOptions opts_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
  std::unordered_map<uint32_t, NsSeries> ns_;
  uint32_t last_inode_ = 0;
  NsSeries* last_ns_ = nullptr;
  // The state each followed connection is counted under in the gauge.
  std::unordered_map<model::SockKey, uint8_t, model::SockKeyHash> followed_;
  // The connection whose failed connect was just counted: its close event,
  // which follows, is no lifetime.
  model::SockKey failed_{};
  PeerRanking ranking_;
  uint64_t next_rank_ns_ = 0;
  // Active opens since the last tick, by their series: counted at the tick
  // unless connect() took them back (retract_open_out).
  std::unordered_map<prometheus::Counter*, uint64_t> pending_opens_out_;
};

}  // namespace sstrace::metrics
