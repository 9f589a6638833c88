// The views `sstrace` (the event stream) runs beside its events: the -s
// summaries and the metrics endpoint.
#pragma once

#include <memory>
#include <vector>

#include "cli/live_cmd.h"

namespace sstrace::cli {

std::vector<std::unique_ptr<LiveView>> make_stream_views(const LiveSetup& setup);

}  // namespace sstrace::cli
