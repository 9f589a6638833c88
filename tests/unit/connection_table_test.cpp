#include "model/connection_table.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "model/seeder.h"
#include "model_records.h"

namespace sstrace::model {
namespace {

using diag::kClose;
using diag::kCloseWait;
using diag::kEstablished;
using diag::kFinWait1;
using diag::kFinWait2;
using diag::kLastAck;
using diag::kListen;
using diag::kSynRecv;
using diag::kSynSent;
using diag::kTimeWait;

struct Recorded {
  EventType type;
  uint8_t old_state = 0, new_state = 0;
  bool new_minisocket = false;
  bool old_request = false;
  bool request = false;  // the connection is a request minisocket after the event
  bool inferred = false;
  int64_t old_us = -1;
  uint64_t cookie = 0;
  uint32_t pid = 0;
  uint32_t last_pid = 0;
  uint64_t ts = 0;
  uint16_t lport = 0;
  CloseSummary summary;
  uint64_t count = 0;
};

class TableTest : public ::testing::Test {
 protected:
  ConnectionTable table{[this](const Event& e) {
    Recorded r{e.type};
    r.old_state = e.old_state;
    r.new_state = e.new_state;
    r.new_minisocket = e.new_minisocket;
    r.old_request = e.old_request;
    r.inferred = e.inferred;
    r.old_us = e.old_us;
    r.summary = e.summary;
    r.count = e.count;
    r.ts = e.ts_ns;
    if (e.conn) {
      r.cookie = e.conn->key.cookie;
      r.pid = e.conn->owner.pid;
      r.last_pid = e.conn->last_owner.pid;
      r.lport = e.conn->local.port;
      r.request = e.conn->request;
    }
    events.push_back(r);
  }};
  std::vector<Recorded> events;
};

TEST_F(TableTest, active_close_goes_through_time_wait_and_expires) {
  table.apply(with_owner(state_rec(7, kClose, kSynSent, 100, /*lport=*/0), 42, "curl"));
  table.apply(state_rec(7, kSynSent, kEstablished, 200));
  table.apply(state_rec(7, kEstablished, kFinWait1, 300));
  table.apply(state_rec(7, kFinWait1, kFinWait2, 400));
  auto last = state_rec(7, kFinWait2, kClose, 500);
  last.state.flags = SSTRACE_STATE_TO_TIMEWAIT | SSTRACE_STATE_FIN_RECEIVED;
  last.state.summary.bytes_acked = 10;
  last.state.summary.bytes_received = 20;
  last.state.summary.total_retrans = 3;
  table.apply(last);

  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].new_state, kSynSent);
  EXPECT_EQ(events[0].pid, 42u);
  // The owner learned at connect() stays with every later event.
  EXPECT_EQ(events[3].pid, 42u);
  EXPECT_EQ(events[4].type, EventType::state);
  EXPECT_EQ(events[4].new_state, kTimeWait);
  EXPECT_TRUE(events[4].new_minisocket);
  EXPECT_EQ(events[5].type, EventType::close);
  EXPECT_EQ(events[5].summary.duration_us, (500 - 100) / 1000);
  EXPECT_EQ(events[5].summary.bytes_received, 20u);
  EXPECT_EQ(events[5].summary.retrans, 3u);
  EXPECT_EQ(events[5].summary.closed_by, ClosedBy::local);

  ASSERT_EQ(table.size(), 1u);
  const Connection* tw = table.find({kNetns, 7});
  ASSERT_NE(tw, nullptr);
  EXPECT_TRUE(tw->minisocket);
  EXPECT_EQ(tw->state, kTimeWait);
  EXPECT_TRUE(table.minisockets_due(500 + kTimewaitLenNs - 1).empty());
  auto due = table.minisockets_due(500 + kTimewaitLenNs);
  ASSERT_EQ(due.size(), 1u);

  table.minisocket_checked({kNetns, 7}, nullptr, 61'000'000'000ull);
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[6].old_state, kTimeWait);
  EXPECT_EQ(events[6].new_state, kClose);
  EXPECT_TRUE(events[6].inferred);
  EXPECT_EQ(table.size(), 0u);
}

sstrace_record time_wait_handover(uint64_t cookie, uint64_t ts, uint16_t lport) {
  auto r = state_rec(cookie, kFinWait2, kClose, ts, lport);
  r.state.flags = SSTRACE_STATE_TO_TIMEWAIT | SSTRACE_STATE_FIN_RECEIVED;
  return r;
}

TEST_F(TableTest, an_orphan_has_no_owner_only_a_last_one) {
  table.apply(with_owner(state_rec(9, kClose, kSynSent, 100), 42, "curl"));
  table.apply(state_rec(9, kSynSent, kEstablished, 200));
  // close(): the FIN-WAIT-1 runs while the file is released.
  auto fin = with_owner(state_rec(9, kEstablished, kFinWait1, 300), 42, "curl");
  fin.state.flags = SSTRACE_STATE_PROCESS_CONTEXT | SSTRACE_STATE_ORPHAN;
  table.apply(fin);
  // The kernel side still knows the owner it learned: it stays the last one.
  auto retrans = with_owner(state_rec(9, 0, 0, 350), 42, "curl");
  retrans.kind = SSTRACE_REC_RETRANSMIT;
  retrans.retransmit.segs = 1;
  retrans.retransmit.state = kFinWait1;
  table.apply(retrans);
  auto fw2 = with_owner(state_rec(9, kFinWait1, kFinWait2, 400), 42, "curl");
  fw2.state.flags = SSTRACE_STATE_ORPHAN;
  table.apply(fw2);
  table.emit_table(500);

  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[1].pid, 42u);
  for (size_t i = 2; i < events.size() - 1; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(events[i].pid, 0u);
    EXPECT_EQ(events[i].last_pid, 42u);
  }
  EXPECT_EQ(events[5].type, EventType::table);
}

TEST_F(TableTest, a_time_wait_handover_lets_go_of_the_owner) {
  table.apply(with_owner(state_rec(10, kEstablished, kFinWait1, 100), 7, "srv"));
  EXPECT_EQ(events.back().pid, 7u);  // shutdown(): still owned
  table.apply(state_rec(10, kFinWait1, kFinWait2, 200));
  EXPECT_EQ(events.back().pid, 7u);
  table.apply(with_owner(time_wait_handover(10, 300, 40000), 7, "srv"));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].new_state, kTimeWait);
  EXPECT_EQ(events[2].pid, 0u);
  EXPECT_EQ(events[2].last_pid, 7u);
  EXPECT_EQ(events[3].type, EventType::close);
  EXPECT_EQ(events[3].last_pid, 7u);
  table.minisocket_checked({kNetns, 10}, nullptr, 1000);
  EXPECT_TRUE(events.back().inferred);
  EXPECT_EQ(events.back().pid, 0u);
  EXPECT_EQ(events.back().last_pid, 7u);
}

TEST_F(TableTest, seeded_orphans_and_minisockets_have_no_owner) {
  diag::SockInfo tw = dumped(11, kTimeWait);
  tw.inode = 0;
  tw.timer = 3;
  diag::SockInfo orphan = dumped(12, kFinWait1, 40001);
  orphan.inode = 0;
  table.seed(tw, {}, 10);
  table.seed(orphan, {}, 10);
  EXPECT_TRUE(table.find({kNetns, 11})->orphan);
  EXPECT_TRUE(table.find({kNetns, 12})->orphan);
  // A record naming the process that closed it makes it the last owner.
  auto retrans = with_owner(state_rec(12, 0, 0, 50, 40001), 5, "app");
  retrans.kind = SSTRACE_REC_RETRANSMIT;
  retrans.retransmit.segs = 1;
  table.apply(retrans);
  EXPECT_EQ(events.back().pid, 0u);
  EXPECT_EQ(events.back().last_pid, 5u);
  // An accept-queue child has no descriptor either, but is no orphan.
  diag::SockInfo child = dumped(13, kEstablished, 80, 40002);
  child.inode = 0;
  table.seed(child, {}, 10);
  EXPECT_FALSE(table.find({kNetns, 13})->orphan);
}

TEST_F(TableTest, syn_sent_waits_for_the_port_connect_chooses) {
  table.apply(with_owner(state_rec(20, kClose, kSynSent, 100, /*lport=*/0), 42, "curl"));
  EXPECT_TRUE(events.empty()) << "held: no port yet";
  // Another socket's record does not release it.
  table.apply(state_rec(21, kClose, kListen, 150, 8080, 0));
  ASSERT_EQ(events.size(), 1u);
  // The connect() syscall's exit: the owner record knows the port.
  auto owner = with_owner(state_rec(20, 0, 0, 200, 51234), 42, "curl");
  owner.kind = SSTRACE_REC_OWNER;
  table.apply(owner);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].cookie, 20u);
  EXPECT_EQ(events[1].new_state, kSynSent);
  EXPECT_EQ(events[1].lport, 51234);
  EXPECT_EQ(events[1].ts, 100u) << "the transition's time";
  EXPECT_EQ(events[1].pid, 42u);
}

TEST_F(TableTest, a_held_syn_sent_comes_before_the_sockets_next_event) {
  table.apply(state_rec(22, kClose, kSynSent, 100, 0));
  // A blocking connect(): the handshake ends before the syscall returns.
  table.apply(state_rec(22, kSynSent, kEstablished, 300, 52000));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].new_state, kSynSent);
  EXPECT_EQ(events[0].lport, 52000);
  EXPECT_EQ(events[1].new_state, kEstablished);
  // No free local port: connect() undoes its SYN-SENT with port 0.
  table.apply(state_rec(23, kClose, kSynSent, 400, 0));
  auto undone = state_rec(23, kSynSent, kClose, 500, 0);
  undone.state.flags = SSTRACE_STATE_IN_CONNECT;
  table.apply(undone);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[2].new_state, kSynSent);
  EXPECT_EQ(events[2].lport, 0);
  EXPECT_EQ(events[3].new_state, kClose);
  EXPECT_EQ(events[4].type, EventType::close);
}

TEST_F(TableTest, held_syn_sents_are_never_lost) {
  table.apply(state_rec(24, kClose, kSynSent, 1000, 0));
  table.apply(state_rec(25, kClose, kSynSent, 2000, 0));
  table.release_held_due(1000 + kHeldSynSentNs - 1);
  EXPECT_TRUE(events.empty());
  table.release_held_due(1000 + kHeldSynSentNs);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cookie, 24u);
  EXPECT_EQ(events[0].lport, 0);
  // A SIGUSR1 table or the exit takes the rest.
  table.release_all_held();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].cookie, 25u);
  table.release_all_held();
  EXPECT_EQ(events.size(), 2u);
  // Released once: a later record of the socket emits only itself.
  table.apply(state_rec(25, kSynSent, kEstablished, 3000));
  EXPECT_EQ(events.size(), 3u);
}

TEST_F(TableTest, a_resync_releases_a_held_syn_sent_before_correcting_it) {
  table.apply(state_rec(26, kClose, kSynSent, 100, 0));
  table.apply(state_rec(27, kClose, kSynSent, 100, 0));
  table.reconcile_with(dumped(26, kEstablished, 53000), 5000);
  table.forget_missing({{SockKey{kNetns, 26}, true}}, 6000);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].cookie, 26u);
  EXPECT_EQ(events[0].new_state, kSynSent);
  EXPECT_EQ(events[1].cookie, 26u);
  EXPECT_TRUE(events[1].inferred);
  EXPECT_EQ(events[2].cookie, 27u);
  EXPECT_EQ(events[2].new_state, kSynSent);
  EXPECT_EQ(events[3].cookie, 27u);
  EXPECT_EQ(events[3].new_state, kClose);
}

TEST_F(TableTest, orphaned_fin_wait_2_becomes_a_fin_wait_2_minisocket) {
  table.apply(state_rec(8, kFinWait1, kFinWait2, 100));
  auto r = state_rec(8, kFinWait2, kClose, 200);
  r.state.flags = SSTRACE_STATE_TO_TIMEWAIT;  // no FIN from the peer yet
  table.apply(r);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].new_state, kFinWait2);
  EXPECT_TRUE(events[1].new_minisocket);
  // Polled, since the peer's FIN reaches it without a tracepoint.
  EXPECT_EQ(table.minisockets_due(200 + kFinWait2PollNs).size(), 1u);

  // The peer's FIN reaches the minisocket: only a lookup can tell.
  diag::SockInfo now = dumped(8, kTimeWait);
  now.inode = 0;
  now.timer = 3;
  now.expires_ms = 59000;
  table.minisocket_checked({kNetns, 8}, &now, 1000);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[3].old_state, kFinWait2);
  EXPECT_EQ(events[3].new_state, kTimeWait);
  EXPECT_TRUE(events[3].inferred);
}

TEST_F(TableTest, close_without_timewait_flag_removes_the_connection) {
  table.apply(state_rec(9, kEstablished, kCloseWait, 100));
  table.apply(state_rec(9, kCloseWait, kLastAck, 200));
  table.apply(state_rec(9, kLastAck, kClose, 300));
  EXPECT_EQ(table.size(), 0u);
  ASSERT_EQ(events.back().type, EventType::close);
  EXPECT_EQ(events.back().summary.closed_by, ClosedBy::remote);
  // Existed before we started: no birth, no duration.
  EXPECT_EQ(events.back().summary.duration_us, -1);
}

TEST_F(TableTest, old_us_comes_from_the_kernel_enter_time) {
  auto r = state_rec(10, kEstablished, kFinWait1, 5'000'000);
  r.state.flags = SSTRACE_STATE_ENTER_KNOWN;
  r.state.enter_ns = 2'000'000;
  table.apply(r);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].old_us, 3000);
}

TEST_F(TableTest, passive_child_inherits_the_listener_owner_until_accept) {
  table.apply(with_owner(state_rec(1, kClose, kListen, 10, 80, 0), 100, "server"));
  table.apply(state_rec(2, kListen, kSynRecv, 20, 80, 40000));
  table.apply(state_rec(2, kSynRecv, kEstablished, 30, 80, 40000));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].pid, 100u);
  EXPECT_EQ(events[2].pid, 100u);

  sstrace_record accepted = with_owner(state_rec(2, 0, 0, 40, 80, 40000), 101, "worker");
  accepted.kind = SSTRACE_REC_OWNER;
  table.apply(accepted);
  table.apply(state_rec(2, kEstablished, kCloseWait, 50, 80, 40000));
  EXPECT_EQ(events.back().pid, 101u);
}

TEST_F(TableTest, reset_after_close_still_knows_its_owner) {
  table.apply(with_owner(state_rec(3, kClose, kSynSent, 10), 7, "client"));
  table.apply(state_rec(3, kSynSent, kEstablished, 20));
  table.apply(state_rec(3, kEstablished, kClose, 30));  // tcp_close() abort
  sstrace_record rst = state_rec(3, 0, 0, 31);
  rst.kind = SSTRACE_REC_RESET;
  rst.reset.dir = SSTRACE_RESET_SENT;
  table.apply(rst);
  ASSERT_EQ(events.back().type, EventType::reset);
  EXPECT_EQ(events.back().pid, 7u);
  EXPECT_EQ(events[events.size() - 2].summary.closed_by, ClosedBy::local_abort);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(TableTest, reuse_of_a_time_wait_tuple_kills_the_minisocket) {
  auto r = state_rec(4, kFinWait2, kClose, 10);
  r.state.flags = SSTRACE_STATE_TO_TIMEWAIT | SSTRACE_STATE_FIN_RECEIVED;
  table.apply(r);
  ASSERT_EQ(table.size(), 1u);
  // Same 4-tuple, new socket: connect() reused the port (tcp_twsk_unique).
  table.apply(state_rec(5, kClose, kSynSent, 20, 0));
  sstrace_record owner = with_owner(state_rec(5, 0, 0, 21), 9, "client");
  owner.kind = SSTRACE_REC_OWNER;
  table.apply(owner);
  ASSERT_EQ(table.size(), 1u);
  EXPECT_NE(table.find({kNetns, 5}), nullptr);
  EXPECT_EQ(events.back().cookie, 4u);
  EXPECT_EQ(events.back().new_state, kClose);
  EXPECT_TRUE(events.back().inferred);
}

TEST_F(TableTest, seeded_time_wait_is_checked_when_its_timer_says) {
  diag::SockInfo tw = dumped(11, kTimeWait);
  tw.inode = 0;
  tw.timer = 3;
  tw.expires_ms = 1500;
  table.seed(tw, {}, 1'000'000'000);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::snapshot);
  EXPECT_TRUE(table.find({kNetns, 11})->minisocket);
  EXPECT_TRUE(table.minisockets_due(2'000'000'000).empty());
  EXPECT_EQ(table.minisockets_due(2'500'000'000).size(), 1u);
}

// A full socket handed over to a timewait minisocket at `ts`.
std::vector<uint64_t> cookies_of(const std::vector<DueMinisocket>& due) {
  std::vector<uint64_t> out;
  for (const DueMinisocket& m : due) out.push_back(m.key.cookie);
  return out;
}

diag::SockInfo still_there(uint64_t cookie, uint32_t expires_ms) {
  diag::SockInfo s = dumped(cookie, kTimeWait);
  s.inode = 0;
  s.timer = 3;
  s.expires_ms = expires_ms;
  return s;
}

// The lookup found the minisocket, its timer `expires_ms` away.
void found_at(ConnectionTable& table, uint64_t cookie, uint32_t expires_ms, uint64_t now) {
  diag::SockInfo s = still_there(cookie, expires_ms);
  table.minisocket_checked({kNetns, cookie}, &s, now);
}

TEST_F(TableTest, minisockets_come_due_in_timer_order_each_once) {
  // Handed over out of cookie order, on distinct ports.
  table.apply(time_wait_handover(52, 300, 40002));
  table.apply(time_wait_handover(50, 100, 40000));
  table.apply(time_wait_handover(51, 200, 40001));
  EXPECT_TRUE(table.minisockets_due(100 + kTimewaitLenNs - 1).empty());
  EXPECT_EQ(cookies_of(table.minisockets_due(200 + kTimewaitLenNs)),
            (std::vector<uint64_t>{50, 51}));
  table.minisocket_checked({kNetns, 50}, nullptr, 200 + kTimewaitLenNs);
  table.minisocket_checked({kNetns, 51}, nullptr, 200 + kTimewaitLenNs);
  // Answered: not due again; the third comes due at its own time.
  EXPECT_EQ(cookies_of(table.minisockets_due(300 + kTimewaitLenNs)), (std::vector<uint64_t>{52}));
  const DueMinisocket& m = table.minisockets_due(300 + kTimewaitLenNs).front();
  EXPECT_EQ(m.local.port, 40002);
  EXPECT_EQ(m.remote.port, 80);
  EXPECT_EQ(m.family, AF_INET);
}

TEST_F(TableTest, an_unanswered_minisocket_is_due_again_at_the_next_sweep) {
  table.apply(time_wait_handover(53, 100, 40000));
  uint64_t t = 100 + kTimewaitLenNs;
  ASSERT_EQ(table.minisockets_due(t).size(), 1u);
  // The lookup failed: no minisocket_checked().
  EXPECT_EQ(cookies_of(table.minisockets_due(t + 1)), (std::vector<uint64_t>{53}));
  // Still there, timer slack: asked again after the recheck delay only.
  found_at(table, 53, 0, t + 1);
  EXPECT_TRUE(table.minisockets_due(t + kMinisocketRecheckNs).empty());
  EXPECT_EQ(table.minisockets_due(t + 1 + kMinisocketRecheckNs).size(), 1u);
}

// The kernel sometimes ends a connection without our programs seeing it
// (docs/ARCHITECTURE.md, "Ends no program saw"): a closing full socket that
// no record moves on is looked up once it has been quiet for a while.
TEST_F(TableTest, a_closing_socket_gone_quiet_is_looked_up_and_ended_when_gone) {
  table.apply(state_rec(70, kEstablished, kFinWait1, 100));
  EXPECT_TRUE(table.minisockets_due(100 + kClosingQuietNs - 1).empty());
  ASSERT_EQ(cookies_of(table.minisockets_due(100 + kClosingQuietNs)), (std::vector<uint64_t>{70}));
  table.minisocket_checked({kNetns, 70}, nullptr, 100 + kClosingQuietNs);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, EventType::state);
  EXPECT_EQ(events[1].old_state, kFinWait1);
  EXPECT_EQ(events[1].new_state, kClose);
  EXPECT_TRUE(events[1].inferred);
  EXPECT_EQ(table.find({kNetns, 70}), nullptr);
  EXPECT_EQ(table.unseen_ends(), 1u);
  EXPECT_TRUE(table.minisockets_due(UINT64_MAX).empty());
}

TEST_F(TableTest, a_closing_socket_still_there_is_asked_again_later_and_later) {
  table.apply(state_rec(71, kCloseWait, kLastAck, 100));
  uint64_t t = 100 + kClosingQuietNs;
  ASSERT_EQ(table.minisockets_due(t).size(), 1u);
  diag::SockInfo s = dumped(71, kLastAck);
  table.minisocket_checked({kNetns, 71}, &s, t);
  EXPECT_EQ(events.size(), 1u);  // nothing changed: nothing said
  EXPECT_TRUE(table.minisockets_due(t + 2 * kClosingQuietNs - 1).empty());
  ASSERT_EQ(table.minisockets_due(t + 2 * kClosingQuietNs).size(), 1u);
  table.minisocket_checked({kNetns, 71}, &s, t + 2 * kClosingQuietNs);
  EXPECT_TRUE(table.minisockets_due(t + 6 * kClosingQuietNs - 1).empty());
  EXPECT_EQ(table.minisockets_due(t + 6 * kClosingQuietNs).size(), 1u);
  EXPECT_EQ(table.unseen_ends(), 0u);
}

TEST_F(TableTest, a_closing_socket_found_in_time_wait_becomes_that_minisocket) {
  table.apply(state_rec(72, kEstablished, kFinWait1, 100));
  uint64_t t = 100 + kClosingQuietNs;
  ASSERT_EQ(table.minisockets_due(t).size(), 1u);
  diag::SockInfo tw = still_there(72, 50'000);
  table.minisocket_checked({kNetns, 72}, &tw, t);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].old_state, kFinWait1);
  EXPECT_EQ(events[1].new_state, kTimeWait);
  EXPECT_TRUE(events[1].new_minisocket);
  EXPECT_TRUE(events[1].inferred);
  // From here on a minisocket: looked up when its timer says.
  EXPECT_TRUE(table.minisockets_due(t + 50'000'000'000 - 1).empty());
  EXPECT_EQ(table.minisockets_due(t + 50'000'000'000).size(), 1u);
}

TEST_F(TableTest, a_closing_socket_a_record_moves_on_is_not_looked_up) {
  table.apply(state_rec(73, kEstablished, kFinWait1, 100));
  table.apply(state_rec(73, kFinWait1, kFinWait2, 200));
  table.apply(state_rec(73, kFinWait2, kClose, 300));  // no timewait: gone
  EXPECT_TRUE(table.minisockets_due(UINT64_MAX).empty());
  // Out of the closing states again (a CLOSE-WAIT is the process's to end).
  table.apply(state_rec(74, kEstablished, kCloseWait, 100));
  EXPECT_TRUE(table.minisockets_due(UINT64_MAX).empty());
}

TEST_F(TableTest, a_stale_timer_entry_is_skipped) {
  // Killed by the reuse of its tuple: its timer entry outlives it.
  table.apply(time_wait_handover(54, 100, 40000));
  table.apply(state_rec(55, kSynSent, kEstablished, 200, 40000));
  ASSERT_EQ(table.find({kNetns, 54}), nullptr);
  // Seeded again as a full socket with the same key: no longer a minisocket.
  table.seed(dumped(54, kEstablished, 41000), {}, 300);
  EXPECT_TRUE(table.minisockets_due(UINT64_MAX).empty());

  // Rescheduled by an answer: only the new time counts.
  table.apply(time_wait_handover(56, 100, 40006));
  uint64_t t = 100 + kTimewaitLenNs;
  ASSERT_EQ(table.minisockets_due(t).size(), 1u);
  found_at(table, 56, 5000, t);
  EXPECT_TRUE(table.minisockets_due(t + 4'999'999'999).empty());
  EXPECT_EQ(table.minisockets_due(t + 5'000'000'000).size(), 1u);
}

TEST_F(TableTest, sigusr1_sweep_asks_about_every_minisocket_whatever_its_timer) {
  table.apply(time_wait_handover(57, 100, 40000));
  table.apply(time_wait_handover(58, 200, 40001));
  auto r = state_rec(59, kFinWait2, kClose, 300, 40002);
  r.state.flags = SSTRACE_STATE_TO_TIMEWAIT;  // a FIN-WAIT-2 minisocket
  table.apply(r);
  table.seed(dumped(60, kEstablished, 40003), {}, 300);  // a full socket: never asked about
  EXPECT_EQ(cookies_of(table.minisockets_due(UINT64_MAX)), (std::vector<uint64_t>{59, 57, 58}));
  found_at(table, 57, 50000, 400);
  table.minisocket_checked({kNetns, 58}, nullptr, 400);
  found_at(table, 59, 50000, 400);
  // Every one answered: the next sweep of all asks about those still there.
  EXPECT_EQ(cookies_of(table.minisockets_due(UINT64_MAX)), (std::vector<uint64_t>{57, 59}));
}

TEST_F(TableTest, a_time_wait_the_dump_shows_is_scheduled_by_resync) {
  table.seed(dumped(61, kEstablished), {}, 100);
  table.reconcile_with(still_there(61, 2000), 1'000'000'000);
  EXPECT_TRUE(table.minisockets_due(2'999'999'999).empty());
  EXPECT_EQ(cookies_of(table.minisockets_due(3'000'000'000)), (std::vector<uint64_t>{61}));
}

TEST_F(TableTest, replayed_records_older_than_a_time_wait_do_not_kill_it) {
  table.seed(still_there(62, 30000), {}, 1000);
  // An earlier connection on the same ports, replayed from before the dump.
  table.apply(state_rec(63, kSynSent, kEstablished, 500));
  table.apply(state_rec(63, kEstablished, kFinWait1, 600));
  EXPECT_NE(table.find({kNetns, 62}), nullptr);
  // The same connection's records after the dump still may reveal a reuse.
  table.apply(state_rec(63, kFinWait1, kFinWait2, 1500));
  EXPECT_EQ(table.find({kNetns, 62}), nullptr);
  EXPECT_EQ(events.back().cookie, 62u);
  EXPECT_TRUE(events.back().inferred);
}

TEST_F(TableTest, the_tuple_index_is_probed_once_per_connection) {
  table.apply(state_rec(64, kSynSent, kEstablished, 100, 40000));
  EXPECT_TRUE(table.find({kNetns, 64})->reuse_checked);
  // A TIME-WAIT on the same tuple appearing later is not this
  // connection's doing (the kernel holds one socket per tuple): the
  // connection's later records leave it alone.
  table.apply(time_wait_handover(65, 200, 40000));
  table.apply(state_rec(64, kEstablished, kFinWait1, 300, 40000));
  EXPECT_NE(table.find({kNetns, 65}), nullptr);
}

TEST_F(TableTest, a_refused_connect_is_failed_not_reset) {
  auto rst = state_rec(9, 0, 0, 15, 40009, 81);
  rst.kind = SSTRACE_REC_RESET;
  rst.reset = {};
  rst.reset.dir = SSTRACE_RESET_RECEIVED;
  rst.reset.state = kSynSent;
  table.apply(state_rec(9, kClose, kSynSent, 10, 40009, 81));
  table.apply(rst);
  table.apply(state_rec(9, kSynSent, kClose, 20, 40009, 81));
  ASSERT_EQ(events.back().type, EventType::close);
  EXPECT_EQ(events.back().summary.closed_by, ClosedBy::failed);
}

TEST_F(TableTest, connections_know_who_opened_them) {
  // Seeded: listeners come first in a dump; a connection on a listening
  // port is a child of it, any other an active open.
  table.seed(dumped(1, kListen, 80, 0), {}, 0);
  table.seed(dumped(2, kEstablished, 80, 50000), {}, 0);
  table.seed(dumped(3, kEstablished, 40000, 5432), {}, 0);
  EXPECT_EQ(table.find({kNetns, 1})->dir, Direction::listen);
  EXPECT_EQ(table.find({kNetns, 2})->dir, Direction::in);
  EXPECT_EQ(table.find({kNetns, 3})->dir, Direction::out);
  // A server's TIME-WAIT whose listener is gone: the peer's port is the
  // ephemeral one, so it was opened toward us.
  table.set_ephemeral_range(32768, 60999);
  table.seed(dumped(6, kEstablished, 8443, 41000), {}, 0);
  table.seed(dumped(7, kEstablished, 41001, 8443), {}, 0);
  EXPECT_EQ(table.find({kNetns, 6})->dir, Direction::in);
  EXPECT_EQ(table.find({kNetns, 7})->dir, Direction::out);
  // Live: connect() and a listener's child.
  table.apply(state_rec(4, kClose, kSynSent, 10, 0, 443));
  table.apply(state_rec(5, kListen, kSynRecv, 10, 80, 50001));
  EXPECT_EQ(table.find({kNetns, 4})->dir, Direction::out);
  EXPECT_EQ(table.find({kNetns, 5})->dir, Direction::in);
}

diag::SockInfo dumped_request(uint64_t cookie, uint16_t lport = 80, uint16_t rport = 50000) {
  diag::SockInfo req = dumped(cookie, kSynRecv, lport, rport);
  req.inode = 0;
  req.timer = 1;  // the SYN-ACK retransmit timer (inet_req_diag_fill)
  return req;
}

sstrace_record synack_rec(uint64_t cookie, uint64_t ts, uint16_t lport = 80,
                          uint16_t rport = 50000) {
  sstrace_record r = state_rec(cookie, 0, 0, ts, lport, rport);
  r.kind = SSTRACE_REC_RETRANSMIT;
  r.retransmit.segs = 1;
  r.retransmit.state = kSynRecv;
  r.retransmit.synack = 1;
  return r;
}

TEST_F(TableTest, a_seeded_request_is_kept_until_its_child_takes_over_its_cookie) {
  table.seed(dumped(1, kListen, 80, 0), {}, 1);
  table.seed(dumped_request(12), {}, 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[1].request);
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table.requests(), 1u);
  EXPECT_EQ(table.find({kNetns, 12})->dir, Direction::in);
  EXPECT_FALSE(table.find({kNetns, 12})->owner.known());
  // The ACK came: the kernel clones the child, which keeps the request's
  // cookie, and reports it LISTEN -> SYN-RECV. Written as the connection
  // went on, from the request's SYN-RECV: one chain per cookie.
  table.apply(state_rec(12, kListen, kSynRecv, 50, 80, 50000));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].old_state, kSynRecv);
  EXPECT_TRUE(events[2].old_request);
  EXPECT_EQ(events[2].new_state, kSynRecv);
  EXPECT_FALSE(events[2].inferred);  // the kernel's transition
  EXPECT_FALSE(events[2].request);
  EXPECT_EQ(events[2].old_us, -1);  // how long it was a request: unknown
  EXPECT_EQ(table.requests(), 0u);
  EXPECT_EQ(table.find({kNetns, 12})->born_ns, 50u);
  table.apply(state_rec(12, kSynRecv, kEstablished, 60, 80, 50000));
  EXPECT_EQ(events.back().old_state, kSynRecv);
  EXPECT_FALSE(events.back().old_request);
  // Nothing of it for the next SYN-RECV dump to forget.
  EXPECT_EQ(table.forget_missing_requests({}, 70), 0u);
  EXPECT_EQ(table.find({kNetns, 12})->state, kEstablished);
}

// The seeding dump can show one cookie twice when it resumes in a hash
// bucket that changed: the request and the TIME-WAIT its connection became.
// The TIME-WAIT is the socket now, whichever came first.
TEST_F(TableTest, a_cookie_dumped_as_request_and_time_wait_is_the_time_wait) {
  diag::SockInfo tw = dumped(13, kTimeWait, 80, 50000);
  tw.inode = 0;
  tw.timer = 3;
  table.seed(tw, {}, 1);
  table.seed(dumped_request(13), {}, 1);
  EXPECT_EQ(events.size(), 2u);  // both snapshot events: what the dump showed
  ASSERT_NE(table.find({kNetns, 13}), nullptr);
  EXPECT_TRUE(table.find({kNetns, 13})->minisocket);
  EXPECT_EQ(table.requests(), 0u);
  table.seed(dumped_request(14), {}, 1);
  table.seed(
      [] {
        diag::SockInfo t = dumped(14, kTimeWait, 80, 50000);
        t.inode = 0;
        t.timer = 3;
        return t;
      }(),
      {}, 1);
  EXPECT_TRUE(table.find({kNetns, 14})->minisocket);
  EXPECT_EQ(table.requests(), 0u);  // no stale request for a SYN-RECV dump to end
  EXPECT_EQ(table.forget_missing_requests({}, 10), 0u);
}

TEST_F(TableTest, a_synack_retransmission_reveals_a_request_the_dump_did_not_show) {
  table.apply(synack_rec(20, 1000));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, EventType::state);
  EXPECT_EQ(events[0].old_state, kClose);
  EXPECT_EQ(events[0].new_state, kSynRecv);
  EXPECT_TRUE(events[0].inferred);
  EXPECT_TRUE(events[0].request);
  EXPECT_EQ(events[0].old_us, -1);
  EXPECT_EQ(events[1].type, EventType::retransmit);
  EXPECT_EQ(events[1].cookie, 20u);
  EXPECT_EQ(table.requests(), 1u);
  // The next retransmission is only that.
  table.apply(synack_rec(20, 3000));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].type, EventType::retransmit);
}

TEST_F(TableTest, requests_a_syn_recv_dump_no_longer_shows_end_inferred) {
  table.seed(dumped(2, kEstablished, 80, 40000), {}, 1);
  table.seed(dumped_request(21, 80, 50001), {}, 1);
  table.seed(dumped_request(22, 80, 50002), {}, 1);
  events.clear();
  std::unordered_map<SockKey, bool, SockKeyHash> seen{{{kNetns, 22}, true}};
  // Only requests are judged by a SYN-RECV dump: the ESTAB it cannot show stays.
  EXPECT_EQ(table.forget_missing_requests(seen, 5000), 1u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cookie, 21u);
  EXPECT_EQ(events[0].old_state, kSynRecv);
  EXPECT_EQ(events[0].new_state, kClose);
  EXPECT_TRUE(events[0].inferred);
  EXPECT_TRUE(events[0].request);  // it ended as a request
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.requests(), 1u);
}

TEST_F(TableTest, a_request_a_resync_finds_appears_inferred) {
  diag::SockInfo req = dumped_request(23);
  ASSERT_TRUE(table.differs_from(req));
  EXPECT_TRUE(table.reconcile_with(req, 100));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].old_state, kClose);
  EXPECT_EQ(events[0].new_state, kSynRecv);
  EXPECT_TRUE(events[0].request);
  EXPECT_EQ(table.requests(), 1u);
  // Once known, the same dump entry is no difference.
  EXPECT_FALSE(table.differs_from(req));
}

// The cookie investigation (issue 13): a TIME-WAIT the snapshot showed and a
// new connection from the same client port. The kernel gives the new
// request and its child a cookie of their own (inet_reqsk_alloc zeroes
// ir_cookie; cookies come from a global counter and are never reused), and
// the model never joins sockets by their 4-tuple except to end the TIME-WAIT
// they replace: the TIME-WAIT's cookie ends with an inferred CLOSE and is
// never reported LISTEN -> SYN-RECV.
TEST_F(TableTest, a_syn_to_a_time_wait_never_lends_the_time_wait_cookie_to_the_new_connection) {
  table.seed(dumped(1, kListen, 80, 0), {}, 1);
  diag::SockInfo tw = dumped(30, kTimeWait, 80, 50000);
  tw.inode = 0;
  tw.timer = 3;
  table.seed(tw, {}, 1);
  events.clear();
  // The SYN reached the TIME-WAIT after 2 s; its request waited 1 s for an
  // ACK (a SYN-ACK retransmission), then the child came.
  table.apply(synack_rec(31, 3000, 80, 50000));
  table.apply(state_rec(31, kListen, kSynRecv, 3500, 80, 50000));
  table.apply(state_rec(31, kSynRecv, kEstablished, 3501, 80, 50000));
  bool tw_closed = false;
  for (const Recorded& r : events) {
    if (r.cookie != 30) continue;
    EXPECT_EQ(r.type, EventType::state);
    EXPECT_EQ(r.new_state, kClose);
    EXPECT_TRUE(r.inferred);
    tw_closed = true;
  }
  EXPECT_TRUE(tw_closed) << "the new connection on its ports ended the TIME-WAIT";
  EXPECT_EQ(table.find({kNetns, 30}), nullptr);
  ASSERT_NE(table.find({kNetns, 31}), nullptr);
  EXPECT_EQ(table.find({kNetns, 31})->state, kEstablished);
}

// A [::] listener's IPV6_V6ONLY reaches the model from the dump
// (INET_DIAG_SKV6ONLY) and from the records (SSTRACE_ID_V6ONLY), so that
// state and table events spell its address as the snapshot does.
TEST_F(TableTest, v6only_comes_from_the_dump_and_from_records) {
  diag::SockInfo dual = dumped(30, kListen, 443, 0);
  dual.family = AF_INET6;
  dual.local.addr = {};
  dual.remote.addr = {};
  dual.has_v6only = true;
  dual.v6only = false;
  diag::SockInfo v6 = dual;
  v6.cookie = 31;
  v6.local.port = 444;
  v6.v6only = true;
  diag::SockInfo unknown = dual;
  unknown.cookie = 32;
  unknown.local.port = 445;
  unknown.has_v6only = false;
  table.seed(dual, {}, 1);
  table.seed(v6, {}, 1);
  table.seed(unknown, {}, 1);
  ASSERT_NE(table.find({kNetns, 30}), nullptr);
  ASSERT_NE(table.find({kNetns, 31}), nullptr);
  ASSERT_NE(table.find({kNetns, 32}), nullptr);
  EXPECT_FALSE(table.find({kNetns, 30})->v6only);
  EXPECT_TRUE(table.find({kNetns, 31})->v6only);
  EXPECT_FALSE(table.find({kNetns, 32})->v6only);

  auto listen6 = [](uint64_t cookie, uint16_t port, bool v6only) {
    sstrace_record r = state_rec(cookie, kClose, kListen, 10, port, 0);
    r.id.family = AF_INET6;
    std::memset(r.id.saddr, 0, sizeof r.id.saddr);
    std::memset(r.id.daddr, 0, sizeof r.id.daddr);
    if (v6only) r.id.flags |= SSTRACE_ID_V6ONLY;
    return r;
  };
  table.apply(listen6(33, 8080, true));
  table.apply(listen6(34, 8081, false));
  ASSERT_NE(table.find({kNetns, 33}), nullptr);
  ASSERT_NE(table.find({kNetns, 34}), nullptr);
  EXPECT_TRUE(table.find({kNetns, 33})->v6only);
  EXPECT_FALSE(table.find({kNetns, 34})->v6only);
}

TEST_F(TableTest, table_dump_lists_every_connection_then_the_count) {
  table.seed(dumped(20, kEstablished), {}, 1);
  table.seed(dumped(21, kListen, 80, 0), {}, 1);
  events.clear();
  table.emit_table(5);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].type, EventType::table_end);
  EXPECT_EQ(events[2].count, 2u);
}

TEST_F(TableTest, resync_takes_the_kernel_view_with_inferred_events) {
  table.seed(dumped(40, kEstablished), {}, 1);
  events.clear();
  EXPECT_FALSE(table.differs_from(dumped(40, kEstablished)));
  diag::SockInfo later = dumped(40, kCloseWait);
  ASSERT_TRUE(table.differs_from(later));
  table.reconcile_with(later, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].old_state, kEstablished);
  EXPECT_EQ(events[0].new_state, kCloseWait);
  EXPECT_TRUE(events[0].inferred);

  // A socket nothing told us of appears from CLOSE.
  table.reconcile_with(dumped(41, kEstablished), 11);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].old_state, kClose);
  EXPECT_EQ(table.size(), 2u);

  // One the dump no longer shows is gone.
  std::unordered_map<SockKey, bool, SockKeyHash> seen{{{kNetns, 41}, true}};
  table.forget_missing(seen, 12);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(events.back().cookie, 40u);
  EXPECT_EQ(events.back().new_state, kClose);
  EXPECT_TRUE(events.back().inferred);
}

// Seeding: which held records the dump already shows.
class SeederTest : public TableTest {
 protected:
  Seeder seeder{table};
};

TEST_F(SeederTest, transitions_the_dump_shows_are_not_replayed) {
  seeder.hold(state_rec(30, kSynSent, kEstablished, 100));   // before the dump
  seeder.hold(state_rec(30, kEstablished, kFinWait1, 250));  // during it, after it read the socket
  table.seed(dumped(30, kEstablished), {}, 200);
  events.clear();
  EXPECT_EQ(seeder.finish(/*t0=*/150, /*t1=*/300), 1u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].old_state, kEstablished);
  EXPECT_EQ(events[0].new_state, kFinWait1);
  EXPECT_EQ(table.find({kNetns, 30})->state, kFinWait1);
}

TEST_F(SeederTest, a_dump_that_saw_the_newest_state_replays_nothing) {
  seeder.hold(state_rec(31, kSynSent, kEstablished, 100));
  seeder.hold(state_rec(31, kEstablished, kFinWait1, 250));
  table.seed(dumped(31, kFinWait1), {}, 260);
  events.clear();
  EXPECT_EQ(seeder.finish(150, 300), 0u);
  EXPECT_TRUE(events.empty());
}

TEST_F(SeederTest, transitions_after_the_dump_are_always_replayed) {
  seeder.hold(state_rec(32, kEstablished, kFinWait1, 400));
  table.seed(dumped(32, kEstablished), {}, 200);
  events.clear();
  EXPECT_EQ(seeder.finish(150, 300), 1u);
}

TEST_F(SeederTest, sockets_the_dump_missed_are_replayed_whole) {
  seeder.hold(state_rec(33, kClose, kSynSent, 100));
  seeder.hold(state_rec(33, kSynSent, kEstablished, 160));
  seeder.hold(state_rec(33, kEstablished, kClose, 170));
  events.clear();
  EXPECT_EQ(seeder.finish(150, 300), 3u);
  ASSERT_EQ(events.size(), 4u);  // three states and the close
  EXPECT_EQ(events[3].type, EventType::close);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(SeederTest, a_dumped_time_wait_matches_the_handover_record) {
  auto r = state_rec(34, kFinWait2, kClose, 250);
  r.state.flags = SSTRACE_STATE_TO_TIMEWAIT | SSTRACE_STATE_FIN_RECEIVED;
  seeder.hold(r);
  diag::SockInfo tw = dumped(34, kTimeWait);
  tw.inode = 0;
  tw.timer = 3;
  table.seed(tw, {}, 260);
  events.clear();
  EXPECT_EQ(seeder.finish(150, 300), 0u);
  EXPECT_TRUE(events.empty());
}

TEST_F(SeederTest, a_dumped_time_wait_matches_a_fin_wait_2_handover_that_got_its_fin) {
  seeder.hold(state_rec(35, kFinWait1, kFinWait2, 200));
  auto r = state_rec(35, kFinWait2, kClose, 250);
  r.state.flags = SSTRACE_STATE_TO_TIMEWAIT;  // orphaned: substate FIN-WAIT-2
  seeder.hold(r);
  diag::SockInfo tw = dumped(35, kTimeWait);  // the peer's FIN came before the dump
  tw.inode = 0;
  tw.timer = 3;
  table.seed(tw, {}, 260);
  events.clear();
  EXPECT_EQ(seeder.finish(150, 300), 0u);
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace sstrace::model
