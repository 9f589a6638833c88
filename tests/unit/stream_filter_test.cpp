#include "cli/stream_filter.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "model/connection_table.h"

namespace sstrace::cli {
namespace {

using model::EventType;

constexpr uint32_t kAllStates = ((1u << diag::kMaxState) - 1) & ~1u;

filter::Filter parse(const std::vector<std::string>& words) {
  filter::ParseOptions o;
  o.tcp = true;
  o.udp = false;
  filter::Filter f = filter::Filter::parse(words, o);
  f.set_default_states(kAllStates);
  return f;
}

model::Connection conn(uint64_t cookie, uint8_t state, uint16_t lport = 7001) {
  model::Connection c;
  c.key = {4026531840u, cookie};
  c.family = AF_INET;
  c.state = state;
  c.local.port = lport;
  c.remote.port = 50000;
  return c;
}

model::Event event(EventType type, const model::Connection& c) {
  model::Event e;
  e.type = type;
  e.conn = &c;
  e.new_state = c.state;
  return e;
}

TEST(StreamFilter, a_state_event_is_tested_with_the_new_state) {
  filter::Filter f = parse({"state", "established"});
  StreamFilter sf(f);
  model::Connection c = conn(1, diag::kSynSent);
  EXPECT_FALSE(sf.shows(event(EventType::state, c)));
  c.state = diag::kEstablished;
  EXPECT_TRUE(sf.shows(event(EventType::state, c)));
  // An unrelated connection outside the states is not shown.
  model::Connection other = conn(2, diag::kFinWait1);
  EXPECT_FALSE(sf.shows(event(EventType::state, other)));
}

TEST(StreamFilter, no_filter_shows_every_event_of_every_state) {
  // The fast path (nothing to test) and the full one (`state all`, tested
  // and remembered) must agree.
  filter::Filter none = parse({});
  filter::Filter all = parse({"state", "all"});
  StreamFilter fast(none);
  StreamFilter full(all);
  for (uint8_t st = diag::kEstablished; st <= diag::kClosing; ++st) {
    model::Connection c = conn(st, st);
    for (EventType t : {EventType::state, EventType::rtt, EventType::close}) {
      EXPECT_TRUE(fast.shows(event(t, c))) << int(st);
      EXPECT_EQ(fast.shows(event(t, c)), full.shows(event(t, c))) << int(st);
    }
  }
}

TEST(StreamFilter, a_shown_connection_keeps_being_shown_to_a_late_reset) {
  filter::Filter f = parse({"state", "established"});
  StreamFilter sf(f);
  model::Connection c = conn(1, diag::kEstablished);
  EXPECT_TRUE(sf.shows(event(EventType::rtt, c)));
  c.state = diag::kClose;
  EXPECT_TRUE(sf.shows(event(EventType::state, c)));
  EXPECT_TRUE(sf.shows(event(EventType::close, c)));
  // SO_LINGER 0: the reset follows the close.
  EXPECT_TRUE(sf.shows(event(EventType::reset, c)));
}

TEST(StreamFilter, events_without_a_cookie_are_each_judged_alone) {
  filter::Filter f = parse({"sport", "=", ":7001"});
  StreamFilter sf(f);
  auto to_ours = conn(0, diag::kClose, 7001);   // a reset to our closed port 7001
  auto to_other = conn(0, diag::kClose, 7002);  // another socket, also cookie 0
  EXPECT_TRUE(sf.shows(event(EventType::reset, to_ours)));
  EXPECT_FALSE(sf.shows(event(EventType::reset, to_other)));
  EXPECT_FALSE(sf.shows(event(EventType::connect_error, to_other)));
}

TEST(StreamFilter, a_matching_snapshot_shows_the_connection) {
  filter::Filter f = parse({"state", "established"});
  StreamFilter sf(f);
  model::Connection c = conn(1, diag::kEstablished);
  diag::SockInfo info;
  info.family = AF_INET;
  info.state = diag::kEstablished;
  info.cookie = 1;
  model::Event snap = event(EventType::snapshot, c);
  snap.info = &info;
  EXPECT_TRUE(sf.shows(snap));
  c.state = diag::kFinWait1;
  EXPECT_TRUE(sf.shows(event(EventType::state, c)));
  // A snapshot outside the filter shows nothing of its connection.
  model::Connection other = conn(2, diag::kListen);
  diag::SockInfo listen_info = info;
  listen_info.state = diag::kListen;
  model::Event other_snap = event(EventType::snapshot, other);
  other_snap.info = &listen_info;
  EXPECT_FALSE(sf.shows(other_snap));
  EXPECT_FALSE(sf.shows(event(EventType::close, other)));
}

TEST(StreamFilter, a_minisocket_is_shown_until_its_inferred_close) {
  filter::Filter f = parse({"state", "established"});
  StreamFilter sf(f);
  model::Connection c = conn(1, diag::kEstablished);
  EXPECT_TRUE(sf.shows(event(EventType::state, c)));
  c.state = diag::kFinWait2;
  c.minisocket = true;
  EXPECT_TRUE(sf.shows(event(EventType::state, c)));
  EXPECT_TRUE(sf.shows(event(EventType::close, c)));
  c.state = diag::kTimeWait;
  model::Event fin = event(EventType::state, c);
  fin.inferred = true;
  EXPECT_TRUE(sf.shows(fin));
  c.state = diag::kClose;
  model::Event expiry = event(EventType::state, c);
  expiry.inferred = true;
  EXPECT_TRUE(sf.shows(expiry));
}

TEST(StreamFilter, ended_connections_are_forgotten_after_the_tables_graveyard) {
  filter::Filter f = parse({"sport", "=", ":7001"});
  StreamFilter sf(f);
  model::Connection first = conn(1, diag::kClose);
  EXPECT_TRUE(sf.shows(event(EventType::close, first)));
  for (uint64_t i = 0; i < model::kGraveyardSize; ++i) {
    model::Connection c = conn(100 + i, diag::kClose);
    EXPECT_TRUE(sf.shows(event(EventType::close, c)));
  }
  // The first one's late record no longer finds it; it is judged alone.
  first.local.port = 9;
  EXPECT_FALSE(sf.shows(event(EventType::reset, first)));
}

}  // namespace
}  // namespace sstrace::cli
