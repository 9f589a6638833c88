#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "cli/live_view.h"
#include "cli/options.h"
#include "output/event_writer.h"
#include "sys/clock.h"

namespace sstrace::metrics {
class Endpoint;
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
};
using MakeViews = std::function<std::vector<std::unique_ptr<LiveView>>(const LiveSetup&)>;

// The live engine: attach, seed from a dump, follow until --duration, a
// signal, a closed stdout or a view's asking. `sstrace` writes the events
// (and -s's summaries); `sstrace top` is this engine with its view and no
// event output. Returns the exit status.
int run_live(const Options& opts, MakeViews make_views);

}  // namespace sstrace::cli
