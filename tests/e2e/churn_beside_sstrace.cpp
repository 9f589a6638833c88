#include "churn_beside_sstrace.h"

#include <chrono>
#include <sstream>

#include "live_harness.h"

namespace sstrace::e2e {

ChurnReport parse_churn_report(const std::string& out) {
  ChurnReport r;
  std::istringstream in(out);
  for (std::string word; in >> word;) {
    if (word == "counter") in >> r.kernel >> r.counter_misses;
    if (word == "sstrace") in >> r.state >> r.inferred >> r.lost;
    if (word == "missed_runs") in >> r.missed_runs;
    if (word == "ringbuf_full") in >> r.ringbuf_full;
    if (word == "queue_full") in >> r.queue_full;
    if (word == "rescued") in >> r.rescued;
    if (word == "queue_peak") in >> r.queue_peak;
    if (word == "churn") in >> r.connections;
  }
  return r;
}

ChurnReport churn_beside_sstrace(const ChurnSetup& setup, RunResult& res) {
  res = run({std::string(SSTRACE_E2E_SCRIPTS) + "/nested_transitions.sh", sstrace_binary(),
             SSTRACE_BENCH_DIR, std::to_string(setup.seconds), setup.ringbuf_kib, setup.queue_kib},
            "", std::chrono::seconds(180));
  return parse_churn_report(res.out);
}

}  // namespace sstrace::e2e
