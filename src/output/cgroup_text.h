// A socket's cgroup as ss -e prints it: the cgroup v2 path, or
// "unreachable:<hex id>".
#pragma once

#include <cstdint>
#include <string>

namespace sstrace::output {

// The cgroup v2 path of a cgroup id, relative to the cgroup2 mount ("/" for
// the root), or ss's "unreachable:<hex id>" when there is no cgroup2 mount or
// no such cgroup.
std::string cgroup_text(uint64_t id);
// The same text, kept per thread for the last id asked: sockets come in runs
// of one cgroup, and this skips the map's lock, lookup and copy for each.
// Valid until the thread's next call.
const std::string& cgroup_text_of_last(uint64_t id);

}  // namespace sstrace::output
