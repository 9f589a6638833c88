// ss -p's users column: users:(("sshd",pid=812,fd=3),...).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sys/procfs.h"

namespace sstrace::output {

// users:(("sshd",pid=812,fd=3),("sshd",pid=813,fd=3)); empty for no users.
// Each name is cut at its first ')', as ss -p shows it (ss_process_name).
std::string users_text(std::span<const sys::SocketUser> users);
// The name ss -p gives a process: ss reads /proc/<pid>/stat with
// "%*d (%[^)]", which stops at the first ')', so "own (a) b" is "own (a"
// ("" when the name starts with ')': the scan fails and ss keeps "").
std::string_view ss_process_name(std::string_view comm);

}  // namespace sstrace::output
