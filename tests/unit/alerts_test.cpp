// The alerts' pure parts, fed the real model's events where the model
// decides what they see (a ConnectionTable between records and alerts).
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "aggregate/aggregator.h"
#include "alerts/close_wait_timers.h"
#include "alerts/listener_drops.h"
#include "alerts/port_pressure.h"
#include "model/connection_table.h"
#include "model_records.h"

namespace sstrace::alerts {
namespace {

using diag::kClose;
using diag::kCloseWait;
using diag::kEstablished;
using diag::kFinWait1;
using diag::kLastAck;
using diag::kSynSent;
using model::kNetns;
using model::state_rec;

constexpr uint64_t kSec = 1'000'000'000;

// A table whose events feed `f`.
struct Fed {
  std::function<void(const model::Event&)> f;
  model::ConnectionTable table{[this](const model::Event& e) { f(e); }};
};

void open_active(model::ConnectionTable& t, uint64_t cookie, uint64_t ts, uint16_t lport,
                 uint16_t rport = 80) {
  t.apply(state_rec(cookie, kClose, kSynSent, ts, lport, rport));
  t.apply(state_rec(cookie, kSynSent, kEstablished, ts + 1, lport, rport));
}

TEST(CloseWaitTimers, one_alert_per_connection_once_the_threshold_passes) {
  CloseWaitTimers timers(30 * kSec);
  Fed fed{[&](const model::Event& e) { timers.observe(e); }};
  open_active(fed.table, 1, 0, 40000);
  open_active(fed.table, 2, 0, 40001);
  fed.table.apply(state_rec(1, kEstablished, kCloseWait, 10 * kSec, 40000));
  fed.table.apply(state_rec(2, kEstablished, kCloseWait, 12 * kSec, 40001));
  EXPECT_EQ(timers.waiting(), 2u);
  EXPECT_TRUE(timers.due(40 * kSec - 1).empty());
  auto due = timers.due(40 * kSec);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key.cookie, 1u);
  EXPECT_EQ(due[0].since_ns, 10 * kSec);
  // Still in CLOSE-WAIT, events keep coming: never a second alert.
  model::Event again;
  again.type = model::EventType::rtt;
  again.ts_ns = 41 * kSec;
  again.conn = fed.table.find({kNetns, 1});
  ASSERT_NE(again.conn, nullptr);
  timers.observe(again);
  EXPECT_TRUE(timers.due(41 * kSec).empty());
  due = timers.due(100 * kSec);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key.cookie, 2u);
  EXPECT_TRUE(timers.due(1000 * kSec).empty());
}

TEST(CloseWaitTimers, leaving_close_wait_before_the_threshold_is_no_alert) {
  CloseWaitTimers timers(30 * kSec);
  Fed fed{[&](const model::Event& e) { timers.observe(e); }};
  open_active(fed.table, 1, 0, 40000);
  fed.table.apply(state_rec(1, kEstablished, kCloseWait, 10 * kSec, 40000));
  fed.table.apply(state_rec(1, kCloseWait, kLastAck, 20 * kSec, 40000));
  EXPECT_EQ(timers.waiting(), 0u);
  EXPECT_TRUE(timers.due(100 * kSec).empty());
}

TEST(CloseWaitTimers, a_seeded_connection_counts_from_the_dump) {
  CloseWaitTimers timers(30 * kSec);
  Fed fed{[&](const model::Event& e) { timers.observe(e); }};
  fed.table.seed(model::dumped(7, kCloseWait), {}, 5 * kSec);
  EXPECT_TRUE(timers.due(35 * kSec - 1).empty());
  auto due = timers.due(35 * kSec);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, (model::SockKey{kNetns, 7}));
  EXPECT_EQ(due[0].since_ns, 5 * kSec);
}

// 10 ports, 80%: fires at 8, re-arms at 7 (a twentieth of 10 rounds to 0,
// so one port).
TEST(PortPressure, fires_once_per_crossing_with_hysteresis) {
  PortPressure pp({40000, 40009, 80});
  EXPECT_EQ(pp.range(), 10u);
  EXPECT_EQ(pp.fire_at(), 8u);
  EXPECT_EQ(pp.rearm_at(), 7u);
  std::vector<model::Alert> alerts;
  Fed fed{[&](const model::Event& e) {
    if (auto a = pp.observe(e)) alerts.push_back(*a);
  }};
  fed.table.set_ephemeral_range(40000, 40009);
  for (uint16_t i = 0; i < 7; ++i) open_active(fed.table, 100 + i, i * kSec, 40000 + i);
  EXPECT_TRUE(alerts.empty());
  // Another destination does not count toward this one.
  open_active(fed.table, 200, 8 * kSec, 40007, 443);
  EXPECT_TRUE(alerts.empty());
  open_active(fed.table, 107, 9 * kSec, 40007);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, model::AlertKind::port_pressure);
  EXPECT_EQ(alerts[0].in_use, 8u);
  EXPECT_EQ(alerts[0].range, 10u);
  EXPECT_EQ(alerts[0].remote.port, 80);
  EXPECT_EQ(alerts[0].netns, kNetns);
  // Up to 9 and back to 8: the same crossing.
  open_active(fed.table, 108, 10 * kSec, 40008);
  fed.table.apply(state_rec(108, kEstablished, kClose, 11 * kSec, 40008));
  EXPECT_EQ(pp.in_use(kNetns, AF_INET, alerts[0].remote), 8u);
  EXPECT_EQ(alerts.size(), 1u);
  // TIME-WAIT still holds the port: closing actively keeps it counted.
  fed.table.apply(state_rec(100, kEstablished, kFinWait1, 12 * kSec, 40000));
  EXPECT_EQ(pp.in_use(kNetns, AF_INET, alerts[0].remote), 8u);
  // Down to 7 re-arms; at 8 again it is a new crossing.
  fed.table.apply(state_rec(101, kEstablished, kClose, 13 * kSec, 40001));
  EXPECT_EQ(pp.in_use(kNetns, AF_INET, alerts[0].remote), 7u);
  open_active(fed.table, 109, 14 * kSec, 40009);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[1].in_use, 8u);
}

// An established active open from local port 40001 to port 80.
model::Connection active_open() {
  model::Connection c;
  c.key = {kNetns, 1};
  c.family = AF_INET;
  c.state = kEstablished;
  c.local.port = 40001;
  c.remote.port = 80;
  c.dir = model::Direction::out;
  return c;
}

TEST(PortPressure, passive_and_non_ephemeral_connections_hold_no_port) {
  PortPressure pp({40000, 40009, 10});
  EXPECT_EQ(pp.fire_at(), 1u);
  EXPECT_EQ(pp.rearm_at(), 0u);
  model::Connection c = active_open();
  c.dir = model::Direction::in;
  model::Event e;
  e.conn = &c;
  EXPECT_FALSE(pp.observe(e));
  c.dir = model::Direction::out;
  c.local.port = 30000;
  EXPECT_FALSE(pp.observe(e));
  c.local.port = 40001;
  EXPECT_TRUE(pp.observe(e));
  EXPECT_FALSE(pp.observe(e));  // the same connection again
}

// EADDRNOTAVAIL is the kernel saying the destination has no port left:
// an alert whatever the count, once until the destination is relieved.
TEST(PortPressure, no_free_port_raises_it_below_the_threshold_once) {
  PortPressure pp({40000, 40009, 80});
  model::Connection c = active_open();
  model::Event held;
  held.conn = &c;
  EXPECT_FALSE(pp.observe(held));  // 1 of 10 in use: far below 8
  model::Connection refused = c;
  refused.key.cookie = 2;
  refused.state = kClose;
  refused.local.port = 0;
  model::Event e;
  e.type = model::EventType::connect_error;
  e.conn = &refused;
  e.error = ECONNREFUSED;
  EXPECT_FALSE(pp.observe(e));  // another error says nothing about ports
  e.error = EADDRNOTAVAIL;
  auto a = pp.observe(e);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, model::AlertKind::port_pressure);
  EXPECT_EQ(a->in_use, 1u);
  EXPECT_EQ(a->range, 10u);
  EXPECT_EQ(a->remote.port, 80);
  EXPECT_FALSE(pp.observe(e));  // a storm of them is one alert
  // The held port released: relieved, so the next one is a new incident.
  c.state = kClose;
  EXPECT_FALSE(pp.observe(held));
  EXPECT_TRUE(pp.observe(e));
  // A destination never counted alerts too (ports held by bind()s).
  refused.remote.port = 443;
  EXPECT_TRUE(pp.observe(e));
}

// __inet_hash_connect() searches an even number of ports: 40000-40002
// gives connect() two (checked on this kernel: a third connect to one
// destination is EADDRNOTAVAIL).
TEST(PortPressure, an_odd_range_offers_connect_one_port_less) {
  EXPECT_EQ(PortPressure({40000, 40002, 80}).range(), 2u);
  EXPECT_EQ(PortPressure({40000, 40003, 80}).range(), 4u);
  EXPECT_EQ(PortPressure({40000, 40000, 80}).range(), 1u);
}

TEST(PortPressure, unknown_range_never_alerts) {
  PortPressure pp({0, 0, 80});
  model::Connection c = active_open();
  model::Event e;
  e.conn = &c;
  EXPECT_FALSE(pp.observe(e));
}

TEST(ListenerDrops, deltas_between_dumps) {
  ListenerDrops d;
  const model::SockKey old{kNetns, 1}, young{kNetns, 2};
  d.begin_round();
  EXPECT_EQ(d.observe(old, 84, false), 0u);  // before sstrace: baseline
  EXPECT_EQ(d.observe(young, 3, true), 3u);  // born since: every drop is new
  d.end_round();
  d.begin_round();
  EXPECT_EQ(d.observe(old, 84, false), 0u);
  EXPECT_EQ(d.observe(young, 10, true), 7u);
  d.end_round();
  d.begin_round();
  EXPECT_EQ(d.observe(old, 90, false), 6u);
  d.end_round();  // young is gone
  EXPECT_EQ(d.listeners(), 1u);
}

TEST(ListenerDrops, the_u32_counter_wraps) {
  ListenerDrops d;
  const model::SockKey k{kNetns, 1};
  d.begin_round();
  d.observe(k, 0xfffffffeu, false);
  d.end_round();
  d.begin_round();
  EXPECT_EQ(d.observe(k, 3, false), 5u);
}

}  // namespace
}  // namespace sstrace::alerts

namespace sstrace::aggregate {
namespace {

TEST(Aggregator, counts_alerts_and_listen_drops_since_the_start) {
  Aggregator agg(AggregatorOptions{});
  model::Event e;
  e.type = model::EventType::alert;
  e.alert.kind = model::AlertKind::listen_overflow;
  e.alert.drops = 29;
  agg.observe(e);
  e.alert.kind = model::AlertKind::close_wait;
  agg.observe(e);
  Frame f = agg.frame(1'000'000'000);
  EXPECT_EQ(f.alerts, 2u);
  EXPECT_EQ(f.listen_drops, 29u);
  EXPECT_EQ(agg.frame(2'000'000'000).alerts, 2u);  // a total, not the interval's
}

}  // namespace
}  // namespace sstrace::aggregate
