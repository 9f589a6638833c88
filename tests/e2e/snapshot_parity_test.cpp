// `sstrace snapshot X` against `ss X` in a fresh namespace holding one of
// nearly every kind of socket (worlds.h): the same sockets, the same
// columns, the same details, in text and in JSON.
#include <unistd.h>

#include <memory>
#include <regex>

#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

class SnapshotParity : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
    build_mixed_world(*socks_);
  }
  void TearDown() override {
    socks_.reset();  // sockets first: they pin the namespace
    ns_.reset();
  }

  // The world has ~30 TCP sockets, 6 UDP, 11 UNIX, 2 RAW, 2 PACKET; the
  // minimums only guard against a listing that is empty on both sides.
  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
};

// ---- text

TEST_F(SnapshotParity, tcp_all_numeric_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan", 30));
}

TEST_F(SnapshotParity, tcp_listening_numeric_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tln", 8));
}

TEST_F(SnapshotParity, udp_all_numeric_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-uan", 6));
}

TEST_F(SnapshotParity, unix_all_matches_ss) { EXPECT_TRUE(snapshot_matches_ss(*ns_, "-xa", 11)); }

TEST_F(SnapshotParity, tcp_all_ipv4_only_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan4", 20));
}

TEST_F(SnapshotParity, tcp_all_ipv6_only_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan6", 10));
}

TEST_F(SnapshotParity, tcp_no_header_matches_ss) {
  SsLayout layout;
  layout.header = false;
  layout.netid = false;
  layout.state = true;
  Parity p = compare_with_ss(*ns_, {"-tanH"}, layout);
  EXPECT_TRUE(same_as_ss(p, 30));
  // No header line at all: every line is a socket.
  EXPECT_EQ(p.sstrace.out.find("Recv-Q"), std::string::npos) << p.sstrace.out;
}

TEST_F(SnapshotParity, tcp_listening_processes_matches_ss) {
  Parity p = compare_with_ss(*ns_, {"-tlnp"});
  EXPECT_TRUE(same_as_ss(p, 8));
  // The fixture's sockets are this process's: users:(("comm",pid=N,fd=M)).
  std::string pid = "pid=" + std::to_string(getpid()) + ",";
  for (auto& row : p.sstrace_table.rows)
    EXPECT_NE(row.extra("users").find(pid), std::string::npos) << join_tokens(row);
}

TEST_F(SnapshotParity, tcp_timers_and_extended_match_ss) {
  Parity p = compare_with_ss(*ns_, {"-tanoe"});
  EXPECT_TRUE(same_as_ss(p, 30));
  // Timer names and cookies are what this listing is for: make sure the
  // fixture has them, so that the comparison above compared something.
  std::set<std::string> timers;
  for (auto& row : p.ss_table.rows) {
    EXPECT_FALSE(row.extra("sk").empty()) << join_tokens(row);
    std::string t = row.extra("timer");
    if (!t.empty()) timers.insert(t.substr(1, t.find(',') - 1));
  }
  for (const char* name : {"keepalive", "timewait", "on", "persist"})
    EXPECT_TRUE(timers.count(name)) << "the fixture has no " << name << " timer";
}

TEST_F(SnapshotParity, tcp_memory_matches_ss) {
  Parity p = compare_with_ss(*ns_, {"-tanm"});
  EXPECT_TRUE(same_as_ss(p, 30));
  for (auto& row : p.sstrace_table.rows) {
    if (row.state != "TIME-WAIT" && row.state != "SYN-RECV") {
      EXPECT_FALSE(row.extra("skmem").empty()) << join_tokens(row);
    }
  }
}

TEST_F(SnapshotParity, tcp_info_matches_ss) {
  Parity p = compare_with_ss(*ns_, {"-tani"});
  EXPECT_TRUE(same_as_ss(p, 30));
  for (auto& row : p.sstrace_table.rows) {
    if (row.state != "ESTAB") continue;
    for (const char* key : {"wscale", "rto", "mss", "cwnd", "rcv_space"})
      EXPECT_FALSE(row.extra(key).empty()) << key << " missing in: " << join_tokens(row);
  }
}

TEST_F(SnapshotParity, tcp_everything_on_one_line_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tanoemiO", 30));
}

TEST_F(SnapshotParity, tcp_service_names_match_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-ta", 30));
}

TEST_F(SnapshotParity, raw_all_matches_ss) { EXPECT_TRUE(snapshot_matches_ss(*ns_, "-wan", 2)); }

TEST_F(SnapshotParity, packet_all_matches_ss) { EXPECT_TRUE(snapshot_matches_ss(*ns_, "-0an", 2)); }

TEST_F(SnapshotParity, every_kind_matches_ss) { EXPECT_TRUE(snapshot_matches_ss(*ns_, "-an", 50)); }

TEST_F(SnapshotParity, default_listing_matches_ss) {
  // No option at all: ss's default (established non-listening sockets of
  // every kind).
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "", 10));
}

// ---- JSON

TEST_F(SnapshotParity, json_tcp_all_matches_ss) { EXPECT_TRUE(json_matches_ss(*ns_, "-tan", 30)); }

TEST_F(SnapshotParity, json_tcp_listening_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-tln", 8));
}

TEST_F(SnapshotParity, json_udp_all_matches_ss) { EXPECT_TRUE(json_matches_ss(*ns_, "-uan", 6)); }

TEST_F(SnapshotParity, json_unix_all_matches_ss) { EXPECT_TRUE(json_matches_ss(*ns_, "-xa", 11)); }

TEST_F(SnapshotParity, json_tcp_ipv4_only_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-tan4", 20));
}

TEST_F(SnapshotParity, json_tcp_ipv6_only_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-tan6", 10));
}

TEST_F(SnapshotParity, json_tcp_processes_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-tlnp", 8));
}

TEST_F(SnapshotParity, json_tcp_timers_and_extended_match_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-tanoe", 30));
}

TEST_F(SnapshotParity, json_tcp_memory_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-tanm", 30));
}

TEST_F(SnapshotParity, json_tcp_info_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-tani", 30));
}

TEST_F(SnapshotParity, json_every_kind_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-an", 50));
}

TEST_F(SnapshotParity, json_raw_all_matches_ss) { EXPECT_TRUE(json_matches_ss(*ns_, "-wan", 2)); }

TEST_F(SnapshotParity, json_packet_all_matches_ss) {
  EXPECT_TRUE(json_matches_ss(*ns_, "-0an", 2));
}

}  // namespace
}  // namespace sstrace::e2e
