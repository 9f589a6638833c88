// --output FILE on the command line: opening it for a command, and how
// messages name where the output goes.
#pragma once

#include <optional>
#include <string>

#include "cli/options.h"
#include "sys/output_file.h"

namespace sstrace::cli {

// Opens --output's file onto stdout (nullopt without --output). Called
// first thing by each command: before -N's setns, and before the live
// stream attaches and gives up its privileges, so a file only root may
// write is still opened. Throws FatalError naming the file and the errno.
std::optional<sys::OutputFile> open_output_option(const Options& opts);

// Reopens the file after a SIGHUP (logrotate's `create`). The caller has
// flushed every whole line to the old file. Throws FatalError on failure:
// the run stops (exit 1) rather than write on into a file that logrotate
// has moved aside and will compress or delete.
void reopen_output_option(sys::OutputFile& file);

// "/var/log/sstrace/sstrace.json (--output)" or "pipe:[123] (standard
// output)", for write errors.
std::string describe_output(const Options& opts);

}  // namespace sstrace::cli
