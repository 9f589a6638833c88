#include "cli/app.h"

#include "cli/live_cmd.h"
#include "cli/options.h"
#include "cli/replay_cmd.h"
#include "cli/snapshot_cmd.h"
#include "cli/stream_views.h"
#include "cli/top_cmd.h"
#include "common/result.h"

namespace sstrace::cli {

int run(int argc, char** argv) {
  std::optional<Options> opts = parse_options(argc, argv);
  if (!opts) return 0;  // -h or -V: printed, done
  switch (opts->command) {
    case Command::snapshot:
      return run_snapshot(*opts);
    case Command::top:
      return run_top(*opts);
    case Command::live:
      break;
  }
  if (!opts->replay_file.empty()) return run_replay(*opts, make_stream_views);
  return run_live(*opts, make_stream_views);
}

}  // namespace sstrace::cli
