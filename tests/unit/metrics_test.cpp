// The metrics' counting rules and label rules against constructed events:
// what each family reads after a known sequence, as Prometheus would
// scrape it (prometheus-cpp's own text serializer).
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "metrics/endpoint.h"
#include "metrics/peer_ranking.h"
#include "metrics/rules.h"

namespace sstrace::metrics {
namespace {

using diag::kClose;
using diag::kEstablished;
using diag::kFinWait1;
using diag::kFinWait2;
using diag::kListen;
using diag::kSynRecv;
using diag::kSynSent;
using diag::kTimeWait;
using model::ClosedBy;
using model::Connection;
using model::Direction;
using model::Event;
using model::EventType;

constexpr uint32_t kNs = 4026531840u;

// Every series of the scrape: "name{labels}" -> value.
// As the live loop's tick (every 50 ms) and then a Prometheus scrape.
std::map<std::string, double> scrape(Metrics& m) {
  m.tick(0);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, m.registry()->Collect());
  std::map<std::string, double> v;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    v[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return v;
}

double value(const std::map<std::string, double>& v, const std::string& series) {
  auto it = v.find(series);
  return it == v.end() ? -1 : it->second;
}

Connection conn(uint64_t cookie, Direction dir, const char* peer = "10.0.0.2", uint16_t lport = 0,
                uint16_t rport = 0, uint32_t netns = kNs) {
  Connection c;
  c.key = {netns, cookie};
  c.family = AF_INET;
  c.dir = dir;
  c.local.port = lport;
  c.remote.port = rport;
  inet_pton(AF_INET, peer, c.remote.addr.data());
  return c;
}

// A state event as the table emits it: conn already in its new state.
Event state(Connection& c, uint8_t from, uint8_t to, bool inferred = false) {
  c.state = to;
  Event e;
  e.type = EventType::state;
  e.conn = &c;
  e.old_state = from;
  e.new_state = to;
  e.inferred = inferred;
  return e;
}

Event close_of(Connection& c, ClosedBy by, int64_t duration_us = -1, uint32_t srtt_us = 0) {
  Event e;
  e.type = EventType::close;
  e.conn = &c;
  e.summary.closed_by = by;
  e.summary.duration_us = duration_us;
  e.summary.srtt_us = srtt_us;
  return e;
}

Event snapshot(Connection& c, uint8_t st) {
  c.state = st;
  c.seeded = true;
  Event e;
  e.type = EventType::snapshot;
  e.conn = &c;
  return e;
}

TEST(MetricsRules, opens_are_the_kernels_first_transitions_only) {
  Connection c = conn(1, Direction::out);
  EXPECT_EQ(open_of(state(c, kClose, kSynSent)), Open::out);
  EXPECT_EQ(open_of(state(c, kListen, kSynRecv)), Open::in);
  EXPECT_EQ(open_of(state(c, kSynSent, kEstablished)), Open::none);
  EXPECT_EQ(open_of(state(c, kClose, kSynSent, /*inferred=*/true)), Open::none);
  EXPECT_TRUE(is_kernel_transition(state(c, kFinWait2, kTimeWait)));
  EXPECT_FALSE(is_kernel_transition(state(c, kTimeWait, kClose, true)));
  // Refused (the model says closed_by remote_reset), timed out: the
  // transition out of SYN-SENT or SYN-RECV to CLOSE is the failure.
  EXPECT_TRUE(is_failed_connect(state(c, kSynSent, kClose)));
  EXPECT_TRUE(is_failed_connect(state(c, kSynRecv, kClose)));
  EXPECT_FALSE(is_failed_connect(state(c, kEstablished, kClose)));
  EXPECT_FALSE(is_failed_connect(close_of(c, ClosedBy::failed)));
}

TEST(MetricsRules, service_port_is_the_listeners_never_an_ephemeral_one) {
  EXPECT_EQ(service_port(conn(1, Direction::in, "10.0.0.2", 443, 51000)), 443);
  EXPECT_EQ(service_port(conn(1, Direction::listen, "0.0.0.0", 443, 0)), 443);
  EXPECT_EQ(service_port(conn(1, Direction::out, "10.0.0.2", 51000, 5432)), 5432);
  EXPECT_EQ(service_port(conn(1, Direction::unknown, "10.0.0.2", 51000, 5432)), 0);
}

TEST(MetricsRules, peer_text_is_inet_ntops) {
  EXPECT_EQ(PeerAddr::of(conn(1, Direction::out, "192.0.2.7")).text(), "192.0.2.7");
  Connection c6 = conn(1, Direction::out);
  c6.family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::1", c6.remote.addr.data());
  EXPECT_EQ(PeerAddr::of(c6).text(), "2001:db8::1");
}

TEST(Metrics, a_workload_counts_opens_failures_and_kernel_transitions) {
  Metrics m(MetricsOptions{.version = "9.9.9"});
  // A listener, one accepted connection closed by the peer, one connect
  // refused, one outgoing connection closing first into TIME-WAIT, whose
  // expiry (inferred) is no kernel transition.
  Connection l = conn(1, Direction::listen, "0.0.0.0", 80);
  m.observe(state(l, kClose, kListen));
  Connection in = conn(2, Direction::in, "10.0.0.2", 80, 40000);
  m.observe(state(in, kListen, kSynRecv));
  m.observe(state(in, kSynRecv, kEstablished));
  Connection refused = conn(3, Direction::out, "10.0.0.3", 40001, 81);
  m.observe(state(refused, kClose, kSynSent));
  m.observe(state(refused, kSynSent, kClose));
  Event refused_close = close_of(refused, ClosedBy::failed, 300, 50);
  refused_close.summary.failure = ECONNREFUSED;
  m.observe(refused_close);
  Connection out = conn(4, Direction::out, "10.0.0.4", 40002, 443);
  m.observe(state(out, kClose, kSynSent));
  m.observe(state(out, kSynSent, kEstablished));
  m.observe(state(out, kEstablished, kFinWait1));
  m.observe(state(out, kFinWait1, kFinWait2));
  m.observe(state(out, kFinWait2, kTimeWait));
  m.observe(close_of(out, ClosedBy::local, 2'500'000, 1200));
  auto v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="in"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out"})"), 2);
  EXPECT_EQ(value(v, R"(sstrace_connect_failures_total{reason="ECONNREFUSED"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_transitions_total{new="SYN-SENT",old="CLOSE"})"), 2);
  EXPECT_EQ(value(v, R"(sstrace_transitions_total{new="TIME-WAIT",old="FIN-WAIT-2"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="LISTEN"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="ESTAB"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="TIME-WAIT"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="SYN-SENT"})"), 0);
  // The failed connect is no lifetime and no connection's srtt.
  EXPECT_EQ(value(v, "sstrace_connection_duration_seconds_count"), 1);
  EXPECT_EQ(value(v, "sstrace_connection_duration_seconds_sum"), 2.5);
  EXPECT_EQ(value(v, R"(sstrace_connection_duration_seconds_bucket{le="1"})"), 0);
  EXPECT_EQ(value(v, R"(sstrace_connection_duration_seconds_bucket{le="5"})"), 1);
  EXPECT_EQ(value(v, "sstrace_srtt_seconds_count"), 1);
  EXPECT_EQ(value(v, R"(sstrace_srtt_seconds_bucket{le="0.001"})"), 0);
  EXPECT_EQ(value(v, R"(sstrace_srtt_seconds_bucket{le="0.0025"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_build_info{version="9.9.9"})"), 1);

  m.observe(state(out, kTimeWait, kClose, /*inferred=*/true));
  v = scrape(m);
  double sum = 0;
  for (auto& [k, x] : v)
    if (k.rfind("sstrace_transitions_total{", 0) == 0) sum += x;
  EXPECT_EQ(sum, 10) << "1 listener + 2 accepted + 2 refused + 5 active close; no inferred one";
  EXPECT_EQ(value(v, R"(sstrace_connections{state="TIME-WAIT"})"), 0);
  EXPECT_EQ(m.followed(), 2u);
}

TEST(Metrics, connect_errors_count_as_failures_and_an_undone_syn_sent_does_not) {
  Metrics m(MetricsOptions{});
  // No local port: connect() enters SYN-SENT, undoes it, then fails.
  Connection c = conn(1, Direction::out, "10.0.0.2", 0, 80);
  m.observe(state(c, kClose, kSynSent));
  Event undone = state(c, kSynSent, kClose);
  undone.in_connect = true;
  m.observe(undone);
  Event closed = close_of(c, ClosedBy::failed);
  closed.in_connect = true;
  m.observe(closed);
  Event err;
  err.type = EventType::connect_error;
  err.conn = &c;
  err.error = EADDRNOTAVAIL;
  m.observe(err);
  Connection u = conn(0, Direction::out, "10.77.0.1", 0, 80);
  err.conn = &u;
  err.error = EHOSTUNREACH;
  m.observe(err);
  // Another connect that gets a port: the one open, as TcpActiveOpens.
  Connection ok = conn(2, Direction::out, "10.0.0.2", 40000, 80);
  m.observe(state(ok, kClose, kSynSent));
  auto v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connect_failures_total{reason="EADDRNOTAVAIL"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connect_failures_total{reason="EHOSTUNREACH"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connect_failures_total{reason="unknown"})"), -1);
}

TEST(Metrics, seeded_connections_count_in_the_gauge_from_the_start_but_are_no_opens) {
  Metrics m(MetricsOptions{});
  Connection a = conn(1, Direction::unknown, "10.0.0.2", 80, 40000);
  Connection b = conn(2, Direction::unknown, "10.0.0.3", 80, 40001);
  m.observe(snapshot(a, kEstablished));
  m.observe(snapshot(b, kEstablished));
  // A seeded request minisocket is not followed: its child brings its own events.
  Connection req = conn(3, Direction::unknown);
  diag::SockInfo info;
  info.state = kSynRecv;
  info.inode = 0;
  Event re = snapshot(req, kSynRecv);
  re.info = &info;
  m.observe(re);
  auto v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="ESTAB"})"), 2);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="SYN-RECV"})"), 0);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="in"})"), 0);
  m.observe(state(a, kEstablished, kClose));
  m.observe(close_of(a, ClosedBy::remote_reset));
  EXPECT_EQ(value(scrape(m), R"(sstrace_connections{state="ESTAB"})"), 1);
}

// A request minisocket the stream learned of is no connection: its inferred
// appearance and end are not followed. Its child taking over the cookie
// (written SYN-RECV -> SYN-RECV) is the kernel's LISTEN -> SYN-RECV: a
// passive open, counted as that transition.
TEST(Metrics, a_request_is_no_connection_until_its_child_takes_over) {
  Metrics m(MetricsOptions{});
  Connection req = conn(5, Direction::in, "10.0.0.5", 80, 40005);
  req.request = true;
  m.observe(state(req, kClose, kSynRecv, /*inferred=*/true));
  auto v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="SYN-RECV"})"), 0);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="in"})"), 0);
  req.request = false;
  Event takeover = state(req, kSynRecv, kSynRecv);
  takeover.old_request = true;
  m.observe(takeover);
  v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="SYN-RECV"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="in"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_transitions_total{new="SYN-RECV",old="LISTEN"})"), 1);
  // One that expires instead: no close, no failed connect.
  Connection gone = conn(6, Direction::in, "10.0.0.6", 80, 40006);
  gone.request = true;
  m.observe(state(gone, kClose, kSynRecv, true));
  m.observe(state(gone, kSynRecv, kClose, true));
  v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections{state="SYN-RECV"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="in"})"), 1);
}

TEST(Metrics, listen_overflow_alerts_count_by_port) {
  Metrics m(MetricsOptions{});
  EXPECT_EQ(value(scrape(m), R"(sstrace_listen_overflows_total{port="8080"})"), -1);
  Connection l = conn(1, Direction::listen, "0.0.0.0", 8080, 0);
  l.state = kListen;
  Event a;
  a.type = EventType::alert;
  a.conn = &l;
  a.alert.kind = model::AlertKind::listen_overflow;
  a.alert.drops = 12;
  m.observe(a);
  a.alert.drops = 5;
  m.observe(a);
  a.alert.kind = model::AlertKind::close_wait;  // not a drop
  m.observe(a);
  EXPECT_EQ(value(scrape(m), R"(sstrace_listen_overflows_total{port="8080"})"), 17);
}

TEST(Metrics, resets_retransmits_and_losses_by_label) {
  Metrics m(MetricsOptions{});
  Connection c = conn(1, Direction::out, "10.0.0.2", 40000, 80);
  Event r;
  r.type = EventType::reset;
  r.conn = &c;
  r.reset_sent = true;
  m.observe(r);
  r.reset_reason = "tcp_abort_on_close";
  m.observe(r);
  m.observe(r);
  r.reset_reason = {};
  r.reset_sent = false;
  m.observe(r);
  m.observe(r);
  Event t;
  t.type = EventType::retransmit;
  t.conn = &c;
  t.segs = 3;
  m.observe(t);
  Event l;
  l.type = EventType::lost;
  l.ringbuf_full = 5;
  l.missed_runs = 2;
  l.count = 7;
  m.observe(l);
  auto v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_resets_total{dir="sent",reason="unknown"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_resets_total{dir="sent",reason="tcp_abort_on_close"})"), 2);
  EXPECT_EQ(value(v, R"(sstrace_resets_total{dir="received",reason="unknown"})"), 2);
  EXPECT_EQ(value(v, "sstrace_retransmitted_segments_total"), 3);
  EXPECT_EQ(value(v, R"(sstrace_events_lost_total{cause="ringbuf_full"})"), 5);
  EXPECT_EQ(value(v, R"(sstrace_events_lost_total{cause="missed_runs"})"), 2);
  // No peer label unless asked for.
  for (auto& [k, x] : v) EXPECT_EQ(k.find("peer="), std::string::npos) << k;
}

TEST(Metrics, netns_label_with_all_netns) {
  Metrics m(MetricsOptions{.netns_label = true, .netns_name = [](uint32_t ino) {
                             return ino == kNs ? std::string("blue") : std::to_string(ino);
                           }});
  Connection a = conn(1, Direction::out, "10.0.0.2", 0, 80, kNs);
  Connection b = conn(2, Direction::out, "10.0.0.2", 0, 80, 77);
  m.observe(state(a, kClose, kSynSent));
  m.observe(state(b, kClose, kSynSent));
  m.observe(state(b, kSynSent, kEstablished));
  auto v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out",netns="blue"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out",netns="77"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections{netns="77",state="ESTAB"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections{netns="blue",state="SYN-SENT"})"), 1);
}

TEST(PeerRanking, fills_free_slots_at_once_then_keeps_the_busiest) {
  auto peer = [](const char* a) { return PeerAddr::of(conn(1, Direction::out, a)); };
  PeerRanking r(2);
  EXPECT_EQ(r.note_open(peer("10.0.0.1")), PeerRanking::Seen::promoted);
  EXPECT_EQ(r.note_open(peer("10.0.0.1")), PeerRanking::Seen::labelled);
  EXPECT_EQ(r.note_open(peer("10.0.0.2")), PeerRanking::Seen::promoted);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.note_open(peer("10.0.0.3")), PeerRanking::Seen::other);
  // 10.0.0.3 (5 opens) outranks 10.0.0.2 (1); 10.0.0.1 (2) stays.
  PeerRanking::Change ch = r.rerank();
  ASSERT_EQ(ch.promoted.size(), 1u);
  EXPECT_EQ(ch.promoted[0], peer("10.0.0.3"));
  ASSERT_EQ(ch.demoted.size(), 1u);
  EXPECT_EQ(ch.demoted[0], peer("10.0.0.2"));
  // A quiet window takes nobody's slot.
  ch = r.rerank();
  EXPECT_TRUE(ch.promoted.empty() && ch.demoted.empty());
  EXPECT_EQ(r.labelled_count(), 2u);
  // A tie keeps the incumbent.
  r.note_open(peer("10.0.0.1"));
  r.note_open(peer("10.0.0.3"));
  r.note_open(peer("10.0.0.4"));
  ch = r.rerank();
  EXPECT_TRUE(ch.promoted.empty() && ch.demoted.empty());
}

TEST(PeerRanking, the_window_table_is_bounded) {
  PeerRanking r(1, /*max_candidates=*/3);
  auto peer = [](int i) {
    return PeerAddr::of(conn(1, Direction::out, ("10.0.1." + std::to_string(i)).c_str()));
  };
  for (int i = 0; i < 100; ++i) r.note_open(peer(i));
  // Only the first three were candidates: 10.0.1.99, busy or not, waits.
  for (int i = 0; i < 10; ++i) r.note_open(peer(99));
  PeerRanking::Change ch = r.rerank();
  EXPECT_TRUE(ch.promoted.empty());
  EXPECT_TRUE(r.labelled(peer(0)));
}

TEST(Metrics, peer_labels_are_the_busiest_and_sums_stay_exact) {
  Metrics m(MetricsOptions{.peers = 1, .peer_window_ns = 1000});
  std::vector<std::unique_ptr<Connection>> conns;
  auto open_to = [&](const char* peer) {
    conns.push_back(std::make_unique<Connection>(conn(conns.size() + 1, Direction::out, peer)));
    m.observe(state(*conns.back(), kClose, kSynSent));
  };
  open_to("10.0.0.1");  // takes the one slot
  for (int i = 0; i < 3; ++i) open_to("10.0.0.2");
  auto v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out",peer="10.0.0.1"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out",peer="other"})"), 3);
  m.tick(1);     // starts the window clock
  m.tick(1001);  // re-ranks: 10.0.0.2 was busier
  open_to("10.0.0.2");
  v = scrape(m);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out",peer="10.0.0.1"})"), -1)
      << "a demoted peer's series goes";
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out",peer="10.0.0.2"})"), 1);
  EXPECT_EQ(value(v, R"(sstrace_connections_opened_total{dir="out",peer="other"})"), 4)
      << "and its count joins other's, so the sum stays the total of 5";
}

TEST(MetricsEndpoint, every_address_is_civetwebs_dual_stack_port) {
  EXPECT_EQ(civetweb_listening_port(":9464"), "+9464");
  EXPECT_EQ(civetweb_listening_port("127.0.0.1:9464"), "127.0.0.1:9464");
  EXPECT_EQ(civetweb_listening_port("[::1]:9464"), "[::1]:9464");
}

}  // namespace
}  // namespace sstrace::metrics
