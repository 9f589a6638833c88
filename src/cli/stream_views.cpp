#include "cli/stream_views.h"

#include "cli/metrics_view.h"
#include "cli/summary_view.h"

namespace sstrace::cli {

std::vector<std::unique_ptr<LiveView>> make_stream_views(const LiveSetup& setup) {
  std::vector<std::unique_ptr<LiveView>> views;
  if (setup.opts.summary) views.push_back(make_summary_view(setup));
  if (!setup.opts.metrics_addr.empty()) views.push_back(make_metrics_view(setup));
  return views;
}

}  // namespace sstrace::cli
