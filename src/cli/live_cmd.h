#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "aggregate/aggregator.h"
#include "cli/live_view.h"
#include "cli/options.h"
#include "output/event_writer.h"
#include "sys/clock.h"
#include "sys/port_range.h"

namespace sstrace::metrics {
class Endpoint;
}
namespace sstrace::replay {
class ReplayTable;
}

namespace sstrace::cli {

// What the views of a run are built from, once the run is in the followed
// namespace (-N) and before anything is attached.
struct LiveSetup {
  const Options& opts;
  uint32_t netns = 0;                     // 0: --all-netns
  output::EventWriter* writer = nullptr;  // the event stream's (null for top)
  const sys::WallClock& clock;
  // --metrics: the endpoint, already listening in the namespace sstrace
  // was started in (null without --metrics).
  metrics::Endpoint* metrics_endpoint = nullptr;
  // ip_local_port_range of the followed namespace, read once for the table
  // and every view (nullopt: unreadable).
  std::optional<sys::PortRange> ephemeral;
  // --replay: the table rebuilt from the file, which -s counts sockets in
  // (null live: -s reads the namespace's /proc/net).
  const replay::ReplayTable* replay = nullptr;

  // A churn view's aggregator: grouped `by`, keyed by namespace with
  // --all-netns, the ephemeral range above.
  aggregate::AggregatorOptions aggregator_options(aggregate::GroupBy by) const;
};
using MakeViews = std::function<std::vector<std::unique_ptr<LiveView>>(const LiveSetup&)>;

// The live engine: attach, seed from a dump, follow until --duration, a
// signal, a closed stdout or a view's asking. `sstrace` writes the events
// (and -s's summaries); `sstrace top` is this engine with its view and no
// event output. Returns the exit status.
int run_live(const Options& opts, MakeViews make_views);

}  // namespace sstrace::cli
