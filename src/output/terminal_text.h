// Text from outside sstrace (process names, cgroup paths) on its way to a
// terminal. A process name is whatever its process chose (prctl(PR_SET_NAME)
// takes any 15 bytes), so written raw it could move the cursor, retitle the
// window or hide lines: every control character and every byte that is not
// valid UTF-8 is written visibly as \xNN, and a backslash as \\ so that the
// escaping can be read back without ambiguity. Valid UTF-8 text is kept.
#pragma once

#include <string>
#include <string_view>

namespace sstrace::output {

void append_terminal_safe(std::string& out, std::string_view s);

}  // namespace sstrace::output
