#include "cli/app.h"

#include "cli/live_cmd.h"
#include "cli/options.h"
#include "cli/snapshot_cmd.h"

namespace sstrace::cli {

int run(int argc, char** argv) {
  std::optional<Options> opts = parse_options(argc, argv);
  if (!opts) return 0;  // -h or -V: printed, done
  return opts->command == Command::snapshot ? run_snapshot(*opts) : run_live(*opts);
}

}  // namespace sstrace::cli
