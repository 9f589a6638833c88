// About a thousand sockets of every kind held by several processes: the
// dump must page through several netlink replies and the owner scan through
// several processes, and still list exactly what ss lists.
#include <memory>

#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

constexpr size_t kSockets = 1000;
constexpr int kProcesses = 2;

struct BigWorld {
  BigWorld() : holders(build_big_world(ns, kSockets, kProcesses)) {}
  ~BigWorld() { holders.clear(); }
  Netns ns;
  std::vector<std::unique_ptr<SocketHolder>> holders;
};

class SnapshotScale : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { world_.reset(); }
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    // Built once for the suite: ~1000 sockets take a few seconds, and the
    // tests only read them. TIME-WAIT lasts 60 s, longer than the suite.
    if (!world_) world_ = std::make_unique<BigWorld>();
  }
  static const Netns& ns() { return world_->ns; }
  static std::unique_ptr<BigWorld> world_;
};
std::unique_ptr<BigWorld> SnapshotScale::world_;

TEST_F(SnapshotScale, world_holds_about_a_thousand_sockets) {
  size_t held = 0;
  for (auto& h : world_->holders) held += h->sockets();
  EXPECT_GE(held, kSockets * 9 / 10);
}

TEST_F(SnapshotScale, tcp_all_numeric_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(ns(), "-tan", 500));
}

TEST_F(SnapshotScale, udp_all_numeric_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(ns(), "-uan", 120));
}

TEST_F(SnapshotScale, unix_all_matches_ss) { EXPECT_TRUE(snapshot_matches_ss(ns(), "-xa", 200)); }

TEST_F(SnapshotScale, tcp_processes_match_ss) {
  EXPECT_TRUE(snapshot_matches_ss(ns(), "-tanp", 500));
}

TEST_F(SnapshotScale, every_kind_with_details_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(ns(), "-anoemO", 900));
}

TEST_F(SnapshotScale, json_tcp_all_matches_ss) { EXPECT_TRUE(json_matches_ss(ns(), "-tan", 500)); }

TEST_F(SnapshotScale, json_udp_all_matches_ss) { EXPECT_TRUE(json_matches_ss(ns(), "-uan", 120)); }

TEST_F(SnapshotScale, json_unix_all_matches_ss) { EXPECT_TRUE(json_matches_ss(ns(), "-xa", 200)); }

TEST_F(SnapshotScale, summary_matches_ss) { EXPECT_TRUE(summary_matches_ss(ns(), "-s")); }

}  // namespace
}  // namespace sstrace::e2e
