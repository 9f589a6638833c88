// When the live table is checked against the kernel after lost records
// (docs/events.md, `lost`). A tracer that lost records knows its table may
// hold connections whose ends it never saw (ghosts) or states it missed; a
// resync (a full dump compared with the table) corrects both. This decides
// when: soon after a loss, once the burst that caused it has had a moment to
// pass, and never so often that the dumps themselves become the load. Pure:
// times come in, decisions go out (unit-tested).
#pragma once

#include <algorithm>
#include <cstdint>

namespace sstrace::model {

class LossResync {
 public:
  // A loss that has not been resynced yet: wait this long before the dump
  // (the records around a burst's overflow are still arriving).
  static constexpr uint64_t kSettleNs = 1'000'000'000;
  // At least this long between two loss-driven resyncs, and at least
  // kCostFactor times the last one took: under continuous loss the dumps
  // use at most ~5% of the time.
  static constexpr uint64_t kMinGapNs = 10'000'000'000;
  static constexpr uint64_t kCostFactor = 20;

  // Records were lost at `now`.
  void on_loss(uint64_t now) {
    if (pending_) return;
    pending_ = true;
    due_ns_ = std::max(now + kSettleNs, last_ns_ ? last_ns_ + gap_ns_ : 0);
  }
  // Whether the resync should run now.
  bool due(uint64_t now) const { return pending_ && now >= due_ns_; }
  // Whether a loss is waiting for its resync: a table written now (SIGUSR1)
  // should resync first, whatever the schedule says.
  bool pending() const { return pending_; }
  // The resync ran from `start` to `end` and corrected `corrections` sockets.
  void done(uint64_t start, uint64_t end, uint64_t corrections) {
    pending_ = false;
    last_ns_ = end;
    gap_ns_ = std::max(kMinGapNs, (end - start) * kCostFactor);
    ++runs_;
    corrections_ += corrections;
  }
  uint64_t runs() const { return runs_; }
  uint64_t corrections() const { return corrections_; }

 private:
  bool pending_ = false;
  uint64_t due_ns_ = 0;
  uint64_t last_ns_ = 0;
  uint64_t gap_ns_ = kMinGapNs;
  uint64_t runs_ = 0;
  uint64_t corrections_ = 0;
};

}  // namespace sstrace::model
