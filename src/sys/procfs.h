// Socket inode -> owning processes, from one pass over /proc/<pid>/fd (what
// ss -p does). Built once per snapshot; lookups are O(1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace sstrace::sys {

struct SocketUser {
  std::string comm;
  int pid = 0;
  int fd = 0;
};

class SocketOwners {
 public:
  // Scans /proc (or `proc_root`, for tests). Processes that vanish or deny
  // access mid-scan are skipped: that is the nature of /proc.
  static SocketOwners scan(const std::string& proc_root = "/proc");

  // Users of the socket with this inode, in ss's order; empty if none.
  std::span<const SocketUser> users(uint64_t inode) const;
  size_t size() const { return by_inode_.size(); }

 private:
  std::unordered_map<uint64_t, std::vector<SocketUser>> by_inode_;
};

// The name ss gives a netlink socket's owner: /proc/<pid>/stat's name up to
// the first ')' (ss.c netlink_show_one reads it with "%*d (%[^)])").
// nullopt when there is no such process, or no name before a ')'.
std::optional<std::string> stat_comm(int pid, const std::string& proc_root = "/proc");

}  // namespace sstrace::sys
