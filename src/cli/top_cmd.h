// `sstrace top` (CONTRACT.md "Churn analysis"): the live engine with no
// event output and one view that aggregates the events into frames, shown
// every --interval as an ncurses screen (a terminal), plain text frames
// (--batch, or no terminal) or `top` JSON objects (--json).
#pragma once

#include "cli/options.h"

namespace sstrace::cli {

// Returns the exit status.
int run_top(const Options& opts);

}  // namespace sstrace::cli
