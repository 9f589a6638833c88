// The churn aggregation engine (PRODUCT.md part 4): fed the model's events
// (after the stream filter), it keeps what `top`, the live `-s` and their
// JSON need, and closes an interval into a Frame. Pure C++: no system
// calls, so the tests feed it constructed events.
//
// It follows every connection it has seen an event for (seeded ones from
// their snapshot event), so gauges are right from the first frame on a host
// that already has 100,000 connections, and a change of grouping (top's
// `g`) regroups every connection at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "aggregate/frame.h"
#include "aggregate/log_histogram.h"
#include "model/event.h"

namespace sstrace::aggregate {

struct AggregatorOptions {
  GroupBy by = GroupBy::peer_port;
  bool key_netns = false;  // --all-netns: a namespace is part of every key
  // ip_local_port_range of the followed namespace; 0/0: not known.
  uint16_t ephemeral_lo = 0, ephemeral_hi = 0;
};

class Aggregator {
 public:
  explicit Aggregator(const AggregatorOptions& opts, uint64_t start_ns = 0);
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  void observe(const model::Event& e);
  // Closes the interval that began at the last frame (or start) and starts
  // the next one.
  Frame frame(uint64_t now_ns);
  // Regroups every followed connection. The interval restarts at now_ns:
  // its counts were counted under the old keys.
  void set_group_by(GroupBy by, uint64_t now_ns);
  GroupBy group_by() const { return opts_.by; }
  size_t connections() const;

  // A group's (and the totals') gauges and srtt histogram, kept up to date
  // as connections come, change and go, so that a frame costs the number of
  // groups, not of connections (top's 10 ms budget with 100,000).
  struct Presence {
    uint64_t alive = 0, time_wait = 0, close_wait = 0;
    LogHistogram srtt;  // of alive connections (CLOSE-WAIT included) with a sample
  };

 private:
  struct Group;
  struct Tracked;
  void follow(const model::Connection& c);
  void untrack(const model::SockKey& key);
  Group& group_for(const GroupKey& key);
  Group& counting_group(const model::Connection& c);
  void attach(Tracked& t);
  void detach(Tracked& t);
  void add_count(const model::Connection* c, uint64_t Counts::*field, uint64_t n);
  void count_state(const model::Event& e);
  void count_close(const model::Event& e);
  void count_failure(const model::Connection& c, int error);
  void retract_open_out(const model::Connection& c);
  void count_presence(const Tracked& t, int sign);
  void start_interval(uint64_t now_ns);

  AggregatorOptions opts_;
  uint64_t interval_start_ns_;
  std::unordered_map<GroupKey, std::unique_ptr<Group>, GroupKeyHash> groups_;
  std::unordered_map<model::SockKey, Tracked, model::SockKeyHash> tracked_;
  Counts totals_;                      // also what no connection could be found for (a late reset)
  std::map<int, uint64_t> failed_by_;  // the interval's totals_.failed by errno
  Presence presence_;
  LogHistogram closed_srtt_, closed_duration_;  // the interval's, all groups
  // (netns << 16 | local port) of active opens in the ephemeral range, and
  // how many followed connections use each.
  std::unordered_map<uint64_t, uint32_t> ports_in_use_;
  uint64_t lost_ = 0;
  uint64_t lost_total_ = 0;
  uint64_t alerts_ = 0, listen_drops_ = 0;
};

}  // namespace sstrace::aggregate
