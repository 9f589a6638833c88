// Top-rate churn in a namespace of its own with sstrace and an in-kernel
// count of the namespace's transitions side by side
// (tests/e2e/scripts/nested_transitions.sh): the tests that judge the
// stream by the kernel's own count of what happened.
#pragma once

#include <cstdint>
#include <string>

#include "harness.h"

namespace sstrace::e2e {

struct ChurnReport {
  uint64_t kernel = 0, counter_misses = 0;
  uint64_t state = 0, inferred = 0, lost = 0;
  uint64_t missed_runs = 0, ringbuf_full = 0, queue_full = 0;
  uint64_t rescued = 0, queue_peak = 0, connections = 0;

  // Transitions the kernel made: the counter's, plus the runs it skipped.
  int64_t made() const { return int64_t(kernel + counter_misses); }
  // sstrace's state events that follow a record (inferred ones do not).
  int64_t written() const { return int64_t(state - inferred); }
};

ChurnReport parse_churn_report(const std::string& out);

struct ChurnSetup {
  int seconds = 3;
  std::string ringbuf_kib = "131072";  // "default": sstrace's own
  std::string queue_kib;               // SSTRACE_TEST_QUEUE_KIB; "": sstrace's own
};

// Runs the script; res gets its output for messages.
ChurnReport churn_beside_sstrace(const ChurnSetup& setup, RunResult& res);

}  // namespace sstrace::e2e
