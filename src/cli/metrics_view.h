// --metrics: the live stream's events counted into the Prometheus families
// of CONTRACT.md ("Metrics"), served by the endpoint LiveStream opened
// before entering the -N namespace.
#pragma once

#include <memory>

#include "cli/live_cmd.h"

namespace sstrace::cli {

std::unique_ptr<LiveView> make_metrics_view(const LiveSetup& setup);

}  // namespace sstrace::cli
