// Kernel timestamps (bpf_ktime_get_ns: CLOCK_MONOTONIC) to wall-clock time.
// The offset between CLOCK_REALTIME and CLOCK_MONOTONIC is sampled with the
// tightest of a few bracketing reads and refreshed periodically, so NTP
// slews and steps show up within a refresh interval (docs/events.md).
#pragma once

#include <cstdint>

namespace sstrace::sys {

uint64_t monotonic_now_ns();

class WallClock {
 public:
  WallClock() { refresh(); }
  // A replay's events already carry wall-clock time (their `ts`): the
  // identity, never refreshed.
  struct EventTime {};
  explicit WallClock(EventTime) {}
  // Re-samples the offset; cheap (a few vDSO calls).
  void refresh();
  // Nanoseconds since the Unix epoch for a CLOCK_MONOTONIC timestamp.
  int64_t realtime_ns(uint64_t monotonic_ns) const { return offset_ns_ + int64_t(monotonic_ns); }

 private:
  int64_t offset_ns_ = 0;
};

}  // namespace sstrace::sys
