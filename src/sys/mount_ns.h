// A mount namespace of sstrace's own, for --btf: what is mounted there is
// seen by sstrace alone and goes away with it.
#pragma once

#include <string>

#include "common/result.h"

namespace sstrace::sys {

// unshare(CLONE_NEWNS), then every mount made a slave: the host's mounts
// still reach us (a namespace `ip netns add` creates later, under
// /run/netns), ours never reach the host. Must run before any thread
// starts (unshare refuses to split a shared fs_struct).
Result<void> enter_own_mount_namespace();

// Bind-mounts the file `source` on `target` (which must exist).
Result<void> bind_file(const std::string& source, const std::string& target);

// Mounts an empty tmpfs on the directory `dir` and creates `dir`/`name` in
// it, empty: a place to bind a file where none can be created.
Result<std::string> make_file_on_tmpfs(const std::string& dir, const std::string& name);

}  // namespace sstrace::sys
