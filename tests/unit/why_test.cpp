// The pure parts of "why it churns": errno and reset-reason names, and the
// model's reading of failure records (CONTRACT.md "Why it churns").
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "bpf/tracer.h"
#include "model/connection_table.h"
#include "model_records.h"
#include "output/event_common.h"

namespace sstrace {
namespace {

using diag::kClose;
using diag::kEstablished;
using diag::kSynSent;
using model::state_rec;

TEST(WhyNames, errno_names_are_the_c_librarys_and_unknown_for_none) {
  EXPECT_EQ(output::errno_name(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_EQ(output::errno_name(ETIMEDOUT), "ETIMEDOUT");
  EXPECT_EQ(output::errno_name(EHOSTUNREACH), "EHOSTUNREACH");
  EXPECT_EQ(output::errno_name(EADDRNOTAVAIL), "EADDRNOTAVAIL");
  EXPECT_EQ(output::errno_name(0), "unknown");
  EXPECT_EQ(output::errno_name(-1), "unknown");
  EXPECT_EQ(output::errno_name(100000), "unknown");
}

TEST(WhyNames, reset_reasons_lose_the_prefix_and_go_lower_case) {
  EXPECT_EQ(bpf::reset_reason_name("SK_RST_REASON_NOT_SPECIFIED"), "not_specified");
  EXPECT_EQ(bpf::reset_reason_name("SK_RST_REASON_NO_SOCKET"), "no_socket");
  EXPECT_EQ(bpf::reset_reason_name("SK_RST_REASON_TCP_ABORT_ON_CLOSE"), "tcp_abort_on_close");
  EXPECT_EQ(bpf::reset_reason_name("SK_RST_REASON_MPTCP_RST_EUNSPEC"), "mptcp_rst_eunspec");
  EXPECT_EQ(bpf::reset_reason_name("OTHER"), "other");
}

class WhyTable : public ::testing::Test {
 protected:
  model::ConnectionTable table{[this](const model::Event& e) {
    events.push_back(e);
    conns.push_back(e.conn ? *e.conn : model::Connection{});
    reasons.emplace_back(e.reset_reason);
  }};
  std::vector<model::Event> events;
  std::vector<model::Connection> conns;
  std::vector<std::string> reasons;
};

TEST_F(WhyTable, a_failed_connect_closes_with_the_sockets_error_and_its_syn_retransmissions) {
  table.apply(state_rec(1, kClose, kSynSent, 1000));
  auto end = state_rec(1, kSynSent, kClose, 2000);
  end.state.sk_err = ETIMEDOUT;
  end.state.summary.total_retrans = 2;
  table.apply(end);
  ASSERT_EQ(events.size(), 3u);
  const model::Event& close = events.back();
  ASSERT_EQ(close.type, model::EventType::close);
  EXPECT_EQ(close.summary.closed_by, model::ClosedBy::failed);
  EXPECT_EQ(close.summary.failure, ETIMEDOUT);
  EXPECT_EQ(close.summary.syn_retrans, 2);
  EXPECT_FALSE(close.in_connect);
}

TEST_F(WhyTable, an_established_close_has_no_failure_and_no_syn_retrans) {
  table.apply(state_rec(1, kClose, kSynSent, 1000));
  table.apply(state_rec(1, kSynSent, kEstablished, 1500));
  table.apply(state_rec(1, kEstablished, kClose, 2000));
  ASSERT_EQ(events.back().type, model::EventType::close);
  EXPECT_EQ(events.back().summary.failure, 0);
  EXPECT_EQ(events.back().summary.syn_retrans, -1);
}

TEST_F(WhyTable, connect_undoing_its_syn_sent_marks_the_transition_and_the_close) {
  table.apply(state_rec(1, kClose, kSynSent, 1000, 0, 80));
  auto undone = state_rec(1, kSynSent, kClose, 1001, 0, 80);
  undone.state.flags = SSTRACE_STATE_IN_CONNECT;
  table.apply(undone);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(events[1].in_connect);  // the state event
  EXPECT_TRUE(events[2].in_connect);  // the close
  EXPECT_EQ(events[2].summary.failure, 0);
}

TEST_F(WhyTable, a_connect_error_is_reported_with_its_owner_and_not_kept) {
  auto r = model::with_owner(state_rec(0, 0, 0, 1000, 0, 80), 42, "curl");
  r.kind = SSTRACE_REC_CONNECT_ERROR;
  r.connect_error.err = EHOSTUNREACH;
  table.apply(r);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, model::EventType::connect_error);
  EXPECT_EQ(events[0].error, EHOSTUNREACH);
  EXPECT_EQ(conns[0].owner.pid, 42u);
  EXPECT_EQ(conns[0].state, kClose);
  EXPECT_EQ(conns[0].remote.port, 80);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(WhyTable, sent_resets_name_the_kernels_reason) {
  table.set_reset_reason_names({"not_specified", "no_socket"});
  auto reset = [](uint64_t cookie, uint32_t reason, bool has) {
    auto r = state_rec(cookie, 0, 0, 1000);
    r.kind = SSTRACE_REC_RESET;
    r.reset.dir = SSTRACE_RESET_SENT;
    r.reset.state = cookie ? kEstablished : kClose;
    r.reset.reason = reason;
    r.reset.has_reason = has;
    return r;
  };
  table.apply(reset(7, 0, true));
  table.apply(reset(0, 1, true));  // no socket: not kept
  table.apply(reset(7, 9, true));  // past the kernel's table
  table.apply(reset(7, 0, false));
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_EQ(reasons[0], "not_specified");
  EXPECT_EQ(reasons[1], "no_socket");
  EXPECT_EQ(conns[1].key.cookie, 0u);
  EXPECT_EQ(conns[1].dir, model::Direction::in);  // grouped under the port it came to
  EXPECT_EQ(reasons[2], "unknown");
  EXPECT_EQ(reasons[3], "");
  EXPECT_EQ(table.size(), 1u);  // cookie 7 only
}

}  // namespace
}  // namespace sstrace
