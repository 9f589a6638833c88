// Issue 12: a state change in a softirq that interrupts the state program
// on its CPU is skipped by the kernel's per-program guard; the second
// program on the same tracepoint handles it (bpf/sstrace.bpf.c,
// rescue_inet_sock_set_state). Judged by an in-kernel count of the
// namespace's transitions at the top churn rate, where such nesting happens
// many times a second on this 2-core machine.
#include <cstdlib>
#include <string>

#include "churn_beside_sstrace.h"
#include "harness.h"

namespace sstrace::e2e {
namespace {

TEST(LiveNesting, state_changes_that_interrupt_another_are_delivered_and_none_missed) {
  SSTRACE_REQUIRE_PRIVILEGES();
  const std::string bench = SSTRACE_BENCH_DIR;
  ASSERT_FALSE(bench.empty()) << "needs bench/churn and bench/transition_counter "
                                 "(configure with -DSSTRACE_BUILD_BENCH=ON)";
  // Nesting is a matter of timing: a run without any is no proof either
  // way, so try again (each run is a few seconds).
  ChurnReport r;
  RunResult res;
  for (int attempt = 0; attempt < 3 && r.rescued == 0; ++attempt) {
    r = churn_beside_sstrace(ChurnSetup{}, res);
    ASSERT_EQ(res.status, 0) << res.err;
  }
  ASSERT_GT(r.connections, 10'000u) << res.out;
  ASSERT_GT(r.rescued, 0u) << "no state change nested in three top-rate runs:\n" << res.out;
  // Every transition the kernel made in the namespace, once: the in-kernel
  // counter's count plus the runs it was itself skipped for, against
  // sstrace's events plus what it reported lost. Without the second program
  // 1,000-2,000 of ~700,000 are missed per run. A residual of a few (0 to 4,
  // on either side, in about half of the runs) is not explained yet: an open
  // defect (issue 12's note), bounded here so that a regression of the rescue
  // fails at once.
  constexpr int64_t kUnexplained = 16;
  EXPECT_LE(std::llabs(r.written() + int64_t(r.lost) - r.made()), kUnexplained) << res.out;
  EXPECT_LE(r.missed_runs, uint64_t(kUnexplained)) << res.out;
}

}  // namespace
}  // namespace sstrace::e2e
