// The live -s: every --interval, what ss -s prints for the followed
// namespace plus the interval's rates, in the event stream (a `summary`
// event in JSON; ss -s's layout and a rates line in text).
#pragma once

#include <memory>

#include "cli/live_cmd.h"

namespace sstrace::cli {

std::unique_ptr<LiveView> make_summary_view(const LiveSetup& setup);

}  // namespace sstrace::cli
