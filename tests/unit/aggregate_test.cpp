// The churn engine fed by the real model: kernel records go through a
// ConnectionTable, whose events feed the Aggregator, as in a live run.
#include "aggregate/aggregator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "model/connection_table.h"
#include "model_records.h"

namespace sstrace::aggregate {
namespace {

using diag::kClose;
using diag::kCloseWait;
using diag::kEstablished;
using diag::kFinWait1;
using diag::kFinWait2;
using diag::kListen;
using diag::kSynRecv;
using diag::kSynSent;
using diag::kTimeWait;
using model::kNetns;
using model::state_rec;
using model::with_owner;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

sstrace_record from_peer(sstrace_record r, const char* peer) {
  inet_pton(AF_INET, peer, r.id.daddr);
  return r;
}

sstrace_record rtt_rec(uint64_t cookie, uint32_t srtt_us, uint64_t ts, uint16_t lport,
                       uint16_t rport) {
  sstrace_record r = state_rec(cookie, 0, 0, ts, lport, rport);
  r.kind = SSTRACE_REC_RTT;
  r.rtt = {};
  r.rtt.srtt_us = srtt_us;
  r.rtt.state = kEstablished;
  return r;
}

sstrace_record reset_rec(uint64_t cookie, bool sent, uint64_t ts, uint16_t lport, uint16_t rport) {
  sstrace_record r = state_rec(cookie, 0, 0, ts, lport, rport);
  r.kind = SSTRACE_REC_RESET;
  r.reset = {};
  r.reset.dir = sent ? SSTRACE_RESET_SENT : SSTRACE_RESET_RECEIVED;
  r.reset.state = kEstablished;
  return r;
}

sstrace_record retrans_rec(uint64_t cookie, uint32_t segs, uint64_t ts, uint16_t lport,
                           uint16_t rport) {
  sstrace_record r = state_rec(cookie, 0, 0, ts, lport, rport);
  r.kind = SSTRACE_REC_RETRANSMIT;
  r.retransmit = {};
  r.retransmit.segs = segs;
  r.retransmit.state = kEstablished;
  return r;
}

class AggregateTest : public ::testing::Test {
 protected:
  explicit AggregateTest(GroupBy by = GroupBy::peer_port) : agg(options(by)) {}

  static AggregatorOptions options(GroupBy by) {
    AggregatorOptions o;
    o.by = by;
    o.ephemeral_lo = 32768;
    o.ephemeral_hi = 60999;
    return o;
  }

  // A client connection to rport from ephemeral port lport, opened at ts.
  void connect(uint64_t cookie, uint16_t lport, uint16_t rport, uint64_t ts,
               const char* peer = "127.0.0.2") {
    table.apply(from_peer(state_rec(cookie, kClose, kSynSent, ts, lport, rport), peer));
    table.apply(from_peer(state_rec(cookie, kSynSent, kEstablished, ts + kMs, lport, rport), peer));
  }
  // Closed by us at ts: FIN-WAIT-1, FIN-WAIT-2, then TIME-WAIT.
  void active_close(uint64_t cookie, uint16_t lport, uint16_t rport, uint64_t ts,
                    uint32_t srtt_us = 0, const char* peer = "127.0.0.2") {
    table.apply(from_peer(state_rec(cookie, kEstablished, kFinWait1, ts, lport, rport), peer));
    table.apply(from_peer(state_rec(cookie, kFinWait1, kFinWait2, ts + 1, lport, rport), peer));
    auto last = from_peer(state_rec(cookie, kFinWait2, kClose, ts + 2, lport, rport), peer);
    last.state.flags = SSTRACE_STATE_TO_TIMEWAIT | SSTRACE_STATE_FIN_RECEIVED;
    last.state.summary.srtt_us = srtt_us;
    table.apply(last);
  }
  // A passive child of the listener on lport.
  void accept(uint64_t cookie, uint16_t lport, uint16_t rport, uint64_t ts) {
    table.apply(state_rec(cookie, kListen, kSynRecv, ts, lport, rport));
    table.apply(state_rec(cookie, kSynRecv, kEstablished, ts + kMs, lport, rport));
  }
  const Row* group(const Frame& f, uint16_t port, model::Direction dir,
                   const char* peer = nullptr) {
    std::array<uint8_t, 16> addr{};
    if (peer) inet_pton(AF_INET, peer, addr.data());
    for (const Row& r : f.groups)
      if (r.key.port == port && r.key.dir == dir && (!peer || r.key.peer == addr)) return &r;
    return nullptr;
  }

  Aggregator agg;
  model::ConnectionTable table{[this](const model::Event& e) { agg.observe(e); }};
};

TEST_F(AggregateTest, opens_closes_and_rates_are_counted_per_service_port) {
  for (uint64_t i = 0; i < 10; ++i) connect(100 + i, uint16_t(40000 + i), 80, kSec + i * kMs);
  for (uint64_t i = 0; i < 4; ++i) active_close(100 + i, uint16_t(40000 + i), 80, kSec + 500 * kMs);
  Frame f = agg.frame(3 * kSec);  // the interval began at 0: 3 s

  EXPECT_DOUBLE_EQ(f.interval_s, 3.0);
  EXPECT_EQ(f.totals.counts.opens_out, 10u);
  EXPECT_EQ(f.totals.counts.opens_in, 0u);
  EXPECT_EQ(f.totals.counts.closes, 4u);
  EXPECT_DOUBLE_EQ(f.rate(f.totals.counts.opens()), 10.0 / 3);
  EXPECT_EQ(f.totals.alive, 6u);
  EXPECT_EQ(f.totals.time_wait, 4u);
  // One group: peer 127.0.0.2, service port 80, out. Never the ephemeral port.
  ASSERT_EQ(f.groups.size(), 1u);
  EXPECT_EQ(f.groups[0].key.port, 80);
  EXPECT_EQ(f.groups[0].key.dir, model::Direction::out);
  EXPECT_EQ(f.groups[0].counts.opens_out, 10u);
  // Ten local ports of the range in use (TIME-WAIT included).
  EXPECT_EQ(f.ephemeral_in_use, 10u);
  EXPECT_EQ(f.ephemeral_range, 60999u - 32768 + 1);
  // All four lived ~0.5 s: short-lived.
  EXPECT_EQ(f.totals.short_lived(), 1.0);

  // The next interval starts empty but keeps the gauges.
  Frame g = agg.frame(4 * kSec);
  EXPECT_EQ(g.totals.counts.opens(), 0u);
  EXPECT_EQ(g.totals.alive, 6u);
  EXPECT_EQ(g.totals.time_wait, 4u);
  EXPECT_FALSE(g.totals.short_lived());
}

TEST_F(AggregateTest, passive_opens_key_by_the_listening_port) {
  table.apply(state_rec(1, kClose, kListen, 1, 8080, 0));
  for (uint64_t i = 0; i < 3; ++i) accept(10 + i, 8080, uint16_t(50000 + i), kSec);
  Frame f = agg.frame(2 * kSec);
  EXPECT_EQ(f.totals.counts.opens_in, 3u);
  const Row* in = group(f, 8080, model::Direction::in);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->alive, 3u);
  // Listeners are not connections: no row of their own, not alive.
  EXPECT_EQ(f.groups.size(), 1u);
  EXPECT_EQ(f.totals.alive, 3u);
  // Passive connections use no ephemeral port of ours.
  EXPECT_EQ(f.ephemeral_in_use, 0u);
}

TEST_F(AggregateTest, seeded_connections_are_alive_from_the_first_frame) {
  table.seed(model::dumped(1, kListen, 443, 0), {}, 0);
  for (uint64_t i = 0; i < 100; ++i)
    table.seed(model::dumped(10 + i, kEstablished, 443, uint16_t(50000 + i)), {}, 0);
  for (uint64_t i = 0; i < 50; ++i)
    table.seed(model::dumped(200 + i, kEstablished, uint16_t(40000 + i), 5432), {}, 0);
  auto tw = model::dumped(300, kTimeWait, 40100, 5432);
  tw.inode = 0;
  tw.timer = 3;
  table.seed(tw, {}, 0);
  auto request = model::dumped(301, kSynRecv, 443, 50999);
  request.inode = 0;
  table.seed(request, {}, 0);

  Frame f = agg.frame(kSec);
  // What was there is not churn: no opens.
  EXPECT_EQ(f.totals.counts.opens(), 0u);
  EXPECT_EQ(f.totals.alive, 150u);
  EXPECT_EQ(f.totals.time_wait, 1u);
  const Row* https = group(f, 443, model::Direction::in);
  ASSERT_NE(https, nullptr);
  EXPECT_EQ(https->alive, 100u);  // the request minisocket is not a connection yet
  const Row* pg = group(f, 5432, model::Direction::out);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->alive, 50u);
  EXPECT_EQ(pg->time_wait, 1u);
}

TEST_F(AggregateTest, failed_connects_resets_and_retransmits) {
  // Refused: SYN-SENT -> CLOSE after a reset.
  table.apply(state_rec(1, kClose, kSynSent, kSec, 40001, 81));
  table.apply(reset_rec(1, false, kSec + 1, 40001, 81));
  table.apply(state_rec(1, kSynSent, kClose, kSec + 2, 40001, 81));
  connect(2, 40002, 81, kSec);
  table.apply(retrans_rec(2, 3, kSec + 5 * kMs, 40002, 81));
  table.apply(reset_rec(2, true, kSec + 6 * kMs, 40002, 81));

  Frame f = agg.frame(2 * kSec);
  EXPECT_EQ(f.totals.counts.opens_out, 2u);
  EXPECT_EQ(f.totals.counts.failed, 1u);
  EXPECT_EQ(f.totals.counts.closes, 1u);
  EXPECT_EQ(f.totals.counts.resets_received, 1u);
  EXPECT_EQ(f.totals.counts.resets_sent, 1u);
  EXPECT_EQ(f.totals.counts.retrans, 3u);
  // A failed connect did not live: it is no short-lived connection.
  EXPECT_EQ(f.totals.counts.timed_closes, 0u);
  const Row* g = group(f, 81, model::Direction::out);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->counts.failed, 1u);
  EXPECT_EQ(g->counts.retrans, 3u);
  EXPECT_EQ(g->alive, 1u);
}

TEST_F(AggregateTest, failures_are_counted_by_the_kernels_error) {
  // Refused, and timed out after two SYN retransmissions.
  table.apply(state_rec(1, kClose, kSynSent, kSec, 40001, 81));
  auto refused = state_rec(1, kSynSent, kClose, kSec + 1, 40001, 81);
  refused.state.sk_err = ECONNREFUSED;
  table.apply(refused);
  table.apply(state_rec(2, kClose, kSynSent, kSec, 40002, 81));
  auto timed_out = state_rec(2, kSynSent, kClose, kSec + 3, 40002, 81);
  timed_out.state.sk_err = ETIMEDOUT;
  timed_out.state.summary.total_retrans = 2;
  table.apply(timed_out);
  // Closed by its application in SYN-SENT: no error.
  table.apply(state_rec(3, kClose, kSynSent, kSec, 40003, 81));
  table.apply(state_rec(3, kSynSent, kClose, kSec + 4, 40003, 81));
  // No local port: connect() undoes its SYN-SENT, and the connect_error
  // that follows is the one failure.
  table.apply(state_rec(4, kClose, kSynSent, kSec, 0, 81));
  auto undone = state_rec(4, kSynSent, kClose, kSec + 5, 0, 81);
  undone.state.flags = SSTRACE_STATE_IN_CONNECT;
  table.apply(undone);
  auto no_port = state_rec(4, 0, 0, kSec + 6, 0, 81);
  no_port.kind = SSTRACE_REC_CONNECT_ERROR;
  no_port.connect_error.err = EADDRNOTAVAIL;
  table.apply(no_port);

  Frame f = agg.frame(2 * kSec);
  EXPECT_EQ(f.totals.counts.failed, 4u);
  // The undone one opened nothing (TcpActiveOpens never counted it) and so
  // closed nothing.
  EXPECT_EQ(f.totals.counts.opens_out, 3u);
  EXPECT_EQ(f.totals.counts.closes, 3u);
  std::map<int, uint64_t> want = {{0, 1}, {ECONNREFUSED, 1}, {ETIMEDOUT, 1}, {EADDRNOTAVAIL, 1}};
  EXPECT_EQ(f.failed_by, want);
  const Row* g = group(f, 81, model::Direction::out);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->counts.failed, 4u);
  // The next interval starts from nothing.
  EXPECT_TRUE(agg.frame(3 * kSec).failed_by.empty());
}

TEST_F(AggregateTest, time_wait_expiry_lets_the_connection_go) {
  connect(1, 40001, 80, kSec);
  active_close(1, 40001, 80, 2 * kSec);
  EXPECT_EQ(agg.frame(3 * kSec).totals.time_wait, 1u);
  table.minisocket_checked({kNetns, 1}, nullptr, 63 * kSec);  // the kernel says: gone
  Frame f = agg.frame(64 * kSec);
  EXPECT_EQ(f.totals.time_wait, 0u);
  EXPECT_EQ(f.totals.alive, 0u);
  EXPECT_TRUE(f.groups.empty());  // nothing left in it, nothing happened in it
  EXPECT_EQ(agg.connections(), 0u);
}

TEST_F(AggregateTest, close_wait_is_counted_and_regrouping_keeps_every_gauge) {
  connect(1, 40001, 80, kSec, "10.0.0.1");
  connect(2, 40002, 80, kSec, "10.0.0.2");
  connect(3, 40003, 443, kSec, "10.0.0.2");
  table.apply(
      from_peer(state_rec(3, kEstablished, kCloseWait, kSec + kMs, 40003, 443), "10.0.0.2"));

  Frame f = agg.frame(2 * kSec);
  EXPECT_EQ(f.groups.size(), 3u);  // peer-port
  EXPECT_EQ(f.totals.close_wait, 1u);
  EXPECT_EQ(f.totals.alive, 3u);  // CLOSE-WAIT is alive too

  agg.set_group_by(GroupBy::peer, 2 * kSec);
  connect(4, 40004, 22, 2 * kSec + kMs, "10.0.0.2");
  Frame p = agg.frame(3 * kSec);
  ASSERT_EQ(p.groups.size(), 2u);
  // Sorted by opens: 10.0.0.2 had the only open of the interval.
  std::array<uint8_t, 16> two{};
  inet_pton(AF_INET, "10.0.0.2", two.data());
  EXPECT_EQ(p.groups[0].key.peer, two);
  EXPECT_EQ(p.groups[0].key.port, 0);  // not part of a peer key
  EXPECT_EQ(p.groups[0].alive, 3u);
  EXPECT_EQ(p.groups[0].close_wait, 1u);
  EXPECT_EQ(p.groups[0].counts.opens_out, 1u);
  EXPECT_EQ(p.groups[1].alive, 1u);
  EXPECT_EQ(p.totals.alive, 4u);
}

TEST_F(AggregateTest, process_groups_use_the_owner_and_keep_it_through_time_wait) {
  table.apply(with_owner(state_rec(1, kClose, kSynSent, kSec, 40001, 80), 42, "curl"));
  table.apply(state_rec(1, kSynSent, kEstablished, kSec + 1, 40001, 80));
  table.apply(with_owner(state_rec(2, kClose, kSynSent, kSec, 40002, 80), 43, "wget"));
  active_close(1, 40001, 80, kSec + kMs);
  agg.set_group_by(GroupBy::process, kSec + 2 * kMs);
  Frame f = agg.frame(2 * kSec);
  ASSERT_EQ(f.groups.size(), 2u);
  for (const Row& r : f.groups) {
    if (r.key.pid == 42) {
      EXPECT_EQ(r.key.comm, "curl");
      EXPECT_EQ(r.time_wait, 1u);  // its last owner
    } else {
      EXPECT_EQ(r.key.pid, 43u);
      EXPECT_EQ(r.alive, 1u);  // SYN-SENT
    }
  }
}

TEST_F(AggregateTest, srtt_percentiles_are_exact_over_alive_and_closed_connections) {
  // 1,000 connections with srtt 1..1000 ms in a shuffled order.
  std::vector<uint32_t> values;
  for (uint32_t v = 1; v <= 1000; ++v) values.push_back(v * 1000);
  std::mt19937 rng(7);
  std::shuffle(values.begin(), values.end(), rng);
  for (uint64_t i = 0; i < values.size(); ++i) {
    uint16_t lport = uint16_t(33000 + i);
    connect(1000 + i, lport, 80, kSec);
    // Half close in the interval, with their last srtt in the summary.
    if (i % 2) {
      active_close(1000 + i, lport, 80, kSec + kMs, values[i]);
    } else {
      table.apply(rtt_rec(1000 + i, values[i], kSec + 2, lport, 80));
    }
  }
  Frame f = agg.frame(2 * kSec);
  ASSERT_TRUE(f.totals.srtt_p50_us && f.totals.srtt_p99_us);
  // Nearest rank over 1..1000 ms: p50 = 500 ms, p99 = 990 ms, within the
  // histogram's 1.6% (the issue allows 5%).
  EXPECT_NEAR(*f.totals.srtt_p50_us, 500'000.0, 500'000 * 0.016);
  EXPECT_NEAR(*f.totals.srtt_p99_us, 990'000.0, 990'000 * 0.016);
  EXPECT_NEAR(*f.groups.at(0).srtt_p50_us, 500'000.0, 500'000 * 0.016);
  // An srtt that moves leaves its old bucket: all alive ones now read 1 ms.
  for (uint64_t i = 0; i < values.size(); i += 2)
    table.apply(rtt_rec(1000 + i, 1000, 3 * kSec, uint16_t(33000 + i), 80));
  Frame g = agg.frame(4 * kSec);
  EXPECT_NEAR(*g.totals.srtt_p99_us, 1000.0, 16);
}

TEST_F(AggregateTest, lost_records_are_reported_per_interval_and_in_total) {
  model::Event lost;
  lost.type = model::EventType::lost;
  lost.count = 5;
  agg.observe(lost);
  Frame f = agg.frame(kSec);
  EXPECT_EQ(f.lost, 5u);
  EXPECT_EQ(f.lost_total, 5u);
  agg.observe(lost);
  Frame g = agg.frame(2 * kSec);
  EXPECT_EQ(g.lost, 5u);
  EXPECT_EQ(g.lost_total, 10u);
}

TEST(LogHistogram, percentiles_stay_within_two_percent_of_the_exact_value) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> dist(8, 2.5);  // microseconds to minutes
  std::vector<uint64_t> values;
  LogHistogram h;
  for (int i = 0; i < 100'000; ++i) {
    uint64_t v = uint64_t(dist(rng)) + 1;
    values.push_back(v);
    h.add(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    uint64_t exact = values[size_t(std::ceil(q * double(values.size()))) - 1];
    ASSERT_TRUE(h.percentile(q));
    EXPECT_NEAR(double(*h.percentile(q)), double(exact), double(exact) * 0.02) << q;
  }
  // Taking samples back leaves what remains.
  for (size_t i = 0; i < values.size() / 2; ++i) h.add(values[i], -1);
  EXPECT_EQ(h.count(), values.size() - values.size() / 2);
  EXPECT_GE(*h.percentile(0.0001), values[values.size() / 2] * 98 / 100);
  EXPECT_FALSE(LogHistogram().percentile(0.5));
  // Below 64 every value has a bucket of its own.
  for (uint64_t v = 0; v < 64; ++v)
    EXPECT_EQ(LogHistogram::value_of(LogHistogram::bucket_of(v)), v);
}

TEST(AggregateFrame, rows_sort_by_any_column_largest_first_then_by_key) {
  std::vector<Row> rows(3);
  rows[0].key.port = 1;
  rows[0].alive = 5;
  rows[1].key.port = 2;
  rows[1].alive = 9;
  rows[2].key.port = 3;
  rows[2].alive = 5;
  rows[2].counts.opens_out = 1;
  sort_rows(rows, Column::alive);
  EXPECT_EQ(rows[0].key.port, 2);
  EXPECT_EQ(rows[1].key.port, 1);  // a tie: by key
  sort_rows(rows, Column::opens);
  EXPECT_EQ(rows[0].key.port, 3);
  // A column without samples sorts last.
  rows[1].srtt_p50_us = 10;
  sort_rows(rows, Column::srtt_p50);
  EXPECT_TRUE(rows[0].srtt_p50_us.has_value());
}

TEST(AggregateFrame, group_by_words_round_trip_and_g_cycles_through_all) {
  GroupBy by = GroupBy::peer_port;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(parse_group_by(group_by_name(by)), by);
    by = next_group_by(by);
  }
  EXPECT_EQ(by, GroupBy::peer_port);
  EXPECT_FALSE(parse_group_by("host"));
}

}  // namespace
}  // namespace sstrace::aggregate
