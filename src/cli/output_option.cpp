#include "cli/output_option.h"

#include <unistd.h>

#include <cstring>

#include "common/result.h"
#include "sys/stdio_guard.h"

namespace sstrace::cli {

std::optional<sys::OutputFile> open_output_option(const Options& opts) {
  if (opts.output_file.empty()) return std::nullopt;
  auto f = sys::OutputFile::open(opts.output_file, STDOUT_FILENO);
  if (!f) throw FatalError(f.error().str());
  return std::move(*f);
}

void reopen_output_option(sys::OutputFile& file) {
  if (auto r = file.reopen(); !r)
    throw FatalError("SIGHUP: " + r.error().str() +
                     "; the events before the signal are in the file that was at that path");
}

std::string describe_output(const Options& opts) {
  return sys::describe_fd(STDOUT_FILENO, opts.output_file.empty() ? "standard output" : "--output");
}

}  // namespace sstrace::cli
