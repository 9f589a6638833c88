// The standard descriptors and the output file behind them: what a writer
// needs to turn a failed write into a clear message and a file with no
// half-written line, and to notice a reader that went away while nothing
// was being written.
#pragma once

#include <string>

namespace sstrace::sys {

// Opens /dev/null on each of fds 0-2 that is closed (`>&-`), before anything
// else opens a descriptor: otherwise the first socket or BPF map would get
// fd 1 and the output would be written into it. Returns a bitmask of the
// fds that were closed (bit 1: stdout).
unsigned protect_standard_fds();

// How to name fd in a message: its path ("/var/log/sstrace/events.jsonl"),
// or "pipe:[1234]" as /proc shows it, followed by `what` in parentheses.
std::string describe_fd(int fd, const std::string& what);

// When fd is a regular file that does not end with a newline (a write that
// failed part-way), cuts it back to its last newline, so that what remains
// reads as whole lines and the cut-off one is not taken for an event.
// Best effort: an error here cannot be reported better than the first one.
void trim_partial_line(int fd);

// Whether fd is a pipe or a socket whose reader has gone (poll says POLLERR
// or POLLHUP): a stream with no events to write would otherwise only learn
// of it at its next write. False for files and terminals.
bool reader_gone(int fd);

}  // namespace sstrace::sys
