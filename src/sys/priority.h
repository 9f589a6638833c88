// The live stream's scheduling priority. The reader of the ring buffer must
// keep up with the kernel or records are dropped; on a host whose CPUs are
// saturated the scheduler's fair share is not enough (bench/hotspots.md,
// item 10), so the stream asks for a few nice levels more, as auditd does
// with its priority_boost.
#pragma once

#include <string>

namespace sstrace::sys {

// Lowers the calling thread's nice value by `levels` (not below -20).
// Returns a one-line description of what happened, for -v: the new value,
// or why it stayed (EPERM without CAP_SYS_NICE is normal, not an error).
std::string boost_priority(int levels);

}  // namespace sstrace::sys
