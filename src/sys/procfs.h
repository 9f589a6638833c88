// Socket inode -> owning processes, from one pass over /proc/<pid>/fd (what
// ss -p does). Built once per snapshot; lookups are O(1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "sys/proc_env.h"

namespace sstrace::sys {

struct SocketUser {
  std::string comm;
  int pid = 0;
  int fd = 0;
};

// One socket descriptor: /proc/<user.pid>/fd/<user.fd> -> socket:[inode].
struct SocketFd {
  uint64_t inode = 0;
  SocketUser user;
};

class SocketOwners {
 public:
  // Scans /proc (or `proc_root`, for tests). Processes that vanish or deny
  // access mid-scan are skipped: that is the nature of /proc.
  static SocketOwners scan(const std::string& proc_root = "/proc");
  // The same table from descriptors listed another way (the BPF iterator,
  // src/bpf/owner_iter.h), in any order.
  static SocketOwners from_fds(std::vector<SocketFd> fds);

  // Users of the socket with this inode, in ss's order; empty if none.
  std::span<const SocketUser> users(uint64_t inode) const;
  size_t size() const { return by_inode_.size(); }
  // Every socket with its users, in no particular order (for comparisons).
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [inode, users] : by_inode_) fn(inode, std::span<const SocketUser>(users));
  }

 private:
  std::unordered_map<uint64_t, std::vector<SocketUser>> by_inode_;
};

// /proc/<pid>/comm without its newline: the name SocketOwners::scan gives a
// process ("" when it cannot be read).
std::string process_comm(int pid, const std::string& proc_root = "/proc");

// The name ss gives a netlink socket's owner: /proc/<pid>/stat's name up to
// the first ')' (ss.c netlink_show_one reads it with "%*d (%[^)])"), under
// PROC_ROOT as ss reads it. nullopt when there is no such process, or no
// name before a ')'.
std::optional<std::string> stat_comm(int pid, const std::string& proc_root = sys::proc_root());

}  // namespace sstrace::sys
