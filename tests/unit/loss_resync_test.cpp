#include "model/loss_resync.h"

#include <gtest/gtest.h>

namespace sstrace::model {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

TEST(LossResync, nothing_is_due_without_a_loss) {
  LossResync r;
  EXPECT_FALSE(r.pending());
  EXPECT_FALSE(r.due(100 * kSec));
}

TEST(LossResync, a_loss_is_resynced_once_the_burst_has_settled) {
  LossResync r;
  r.on_loss(5 * kSec);
  EXPECT_TRUE(r.pending());
  EXPECT_FALSE(r.due(5 * kSec + LossResync::kSettleNs - 1));
  EXPECT_TRUE(r.due(5 * kSec + LossResync::kSettleNs));
}

TEST(LossResync, further_losses_before_the_resync_do_not_delay_it) {
  LossResync r;
  r.on_loss(5 * kSec);
  r.on_loss(5 * kSec + LossResync::kSettleNs - 1);
  EXPECT_TRUE(r.due(5 * kSec + LossResync::kSettleNs));
}

TEST(LossResync, resyncs_are_at_least_the_minimum_gap_apart) {
  LossResync r;
  r.on_loss(1 * kSec);
  r.done(2 * kSec, 2 * kSec + kSec / 100, 7);
  EXPECT_FALSE(r.pending());
  r.on_loss(3 * kSec);
  EXPECT_TRUE(r.pending()) << "a table written now resyncs first";
  const uint64_t earliest = 2 * kSec + kSec / 100 + LossResync::kMinGapNs;
  EXPECT_FALSE(r.due(earliest - 1));
  EXPECT_TRUE(r.due(earliest));
  EXPECT_EQ(r.runs(), 1u);
  EXPECT_EQ(r.corrections(), 7u);
}

TEST(LossResync, a_slow_resync_spaces_the_next_by_its_cost) {
  LossResync r;
  r.on_loss(0);
  // A dump of a huge table took 2 s: the next may come 40 s later.
  r.done(1 * kSec, 3 * kSec, 0);
  r.on_loss(4 * kSec);
  EXPECT_FALSE(r.due(3 * kSec + 2 * kSec * LossResync::kCostFactor - 1));
  EXPECT_TRUE(r.due(3 * kSec + 2 * kSec * LossResync::kCostFactor));
}

}  // namespace
}  // namespace sstrace::model
