#include "sys/clock.h"

#include <time.h>

namespace sstrace::sys {

namespace {

int64_t read_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

uint64_t monotonic_now_ns() { return uint64_t(read_ns(CLOCK_MONOTONIC)); }

void WallClock::refresh() {
  // Read MONOTONIC, REALTIME, MONOTONIC and keep the sample whose bracket is
  // narrowest: a preemption between the reads only widens that sample.
  int64_t best_gap = INT64_MAX;
  for (int i = 0; i < 3; ++i) {
    int64_t m1 = read_ns(CLOCK_MONOTONIC);
    int64_t r = read_ns(CLOCK_REALTIME);
    int64_t m2 = read_ns(CLOCK_MONOTONIC);
    if (m2 - m1 < best_gap) {
      best_gap = m2 - m1;
      offset_ns_ = r - (m1 + (m2 - m1) / 2);
    }
  }
}

}  // namespace sstrace::sys
