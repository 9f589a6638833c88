// --replay FILE (docs/events.md, "Replay"): the live stream's consumers
// (the stream filter, the event writer, -s, top) fed from a recording
// instead of the kernel, at full speed, on the events' own time.
#pragma once

#include "cli/live_cmd.h"
#include "cli/options.h"

namespace sstrace::cli {

// Returns the exit status: 0 when the file held events (bad lines are
// reported on stderr), 1 when it held none.
int run_replay(const Options& opts, MakeViews make_views);

}  // namespace sstrace::cli
