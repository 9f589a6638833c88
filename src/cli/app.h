#pragma once

namespace sstrace::cli {

// Parses the command line and runs the live stream or the snapshot.
// Throws UsageError / FatalError; returns the exit status otherwise.
int run(int argc, char** argv);

}  // namespace sstrace::cli
