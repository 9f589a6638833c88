// Every network namespace on the host, for the live stream's --all-netns:
// the named ones (/run/netns) and every one a process is in (/proc/*/ns/net),
// each once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sys/fd.h"

namespace sstrace::sys {

struct NetnsHandle {
  uint32_t inode = 0;
  std::string what;  // "/run/netns/x" or "/proc/PID/ns/net", for messages
  UniqueFd fd;
};

// Namespaces that vanish or deny access mid-scan are skipped.
std::vector<NetnsHandle> all_netns(const std::string& proc_root = "/proc");

}  // namespace sstrace::sys
