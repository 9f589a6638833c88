// cgroup v2 ids -> paths. On cgroup2 the id is the directory's kernfs inode
// number (kernel/cgroup/cgroup.c, cgroup_id()), so one walk of the
// hierarchy maps them all, as ss does. Safe to call from several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sstrace::sys {

// The path of a cgroup id relative to the cgroup2 mount ("/" for the root);
// nullopt when there is no cgroup2 mount or no such cgroup. A long-running
// process sees cgroups come and go: an unknown id walks the hierarchy
// again, at most once a second.
std::optional<std::string> cgroup_path(uint64_t id);

// How many times the hierarchy has been walked. A walk may change any id's
// path, so a caller that keeps a path checks this has not moved.
uint64_t cgroup_walks();

}  // namespace sstrace::sys
