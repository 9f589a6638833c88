#include "cli/live_cmd.h"

#include "common/result.h"

namespace sstrace::cli {

int run_live(const Options&) { throw FatalError("the live stream is not implemented yet"); }

}  // namespace sstrace::cli
