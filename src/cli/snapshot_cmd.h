// `sstrace snapshot`: one dump, shown like ss shows it, then exit.
#pragma once

#include <cstdint>
#include <vector>

#include "cli/options.h"
#include "diag/sock_diag.h"
#include "filter/filter.h"
#include "output/snapshot_writer.h"

namespace sstrace::cli {

// Runs the snapshot; returns the exit status. Throws UsageError for a bad
// filter, FatalError for anything the user must fix (privilege, -N, ...).
int run_snapshot(const Options& opts);

// The pieces run_snapshot decides, apart for tests.
// FILTER (and -F FILE) as the options read it, with their default states.
filter::Filter snapshot_filter(const Options& opts);
// The dump run_snapshot makes for them: tables, states, and the filter's
// bytecode for the kernel (so that it sends only matching inet sockets).
diag::DumpRequest snapshot_dump_request(const Options& opts, const filter::Filter& filter);
// Its tables and attributes; `states` is the final state set (the filter's `state` words, else
// opts.default_states).
diag::DumpRequest snapshot_request(const Options& opts, uint32_t states,
                                   std::vector<uint8_t> inet_bytecode);
output::SnapshotFormat snapshot_format(const Options& opts, uint32_t states);
// ss -s lists sockets after the summary only when a table or FILTER words
// were given (ss.c: `do_default && argc == 0` exits after the summary).
bool summary_only(const Options& opts);

}  // namespace sstrace::cli
