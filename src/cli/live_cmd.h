#pragma once

#include "cli/options.h"

namespace sstrace::cli {

// The live stream: attach, seed from a dump, stream until --duration, a
// signal, or a closed stdout. Returns the exit status.
int run_live(const Options& opts);

}  // namespace sstrace::cli
