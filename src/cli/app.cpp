#include "cli/app.h"

#include "common/result.h"

namespace sstrace::cli {

int run(int, char**) { throw FatalError("not implemented yet"); }

}  // namespace sstrace::cli
