// Capabilities (capabilities(7)) through libcap: what the process holds,
// and the drop to what the rest of a run needs (tcpdump -Z's shape:
// privileged set-up first, then as little as possible for the long run).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sstrace::sys {

// A set of capabilities, bit N for capability N: the mask that
// /proc/PID/status shows as CapEff, CapPrm, ...
class CapSet {
 public:
  CapSet() = default;
  CapSet(std::initializer_list<int> caps);
  static CapSet from_mask(uint64_t mask);

  void add(int cap);
  void add(CapSet other) { mask_ |= other.mask_; }
  bool has(int cap) const;
  CapSet minus(CapSet other) const { return from_mask(mask_ & ~other.mask_); }
  bool empty() const { return mask_ == 0; }
  uint64_t mask() const { return mask_; }
  std::vector<int> list() const;  // ascending
  bool operator==(const CapSet&) const = default;

 private:
  uint64_t mask_ = 0;
};

// "CAP_BPF" for one, "CAP_BPF and CAP_PERFMON" for two,
// "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN" for more; "" for none.
std::string describe_caps(CapSet caps);

// The hex mask of a /proc/PID/status Cap* line ("00000000a80425fb");
// nullopt when the text is not one.
std::optional<CapSet> parse_cap_mask(std::string_view hex);

// The calling thread's permitted set: what it may raise.
Result<CapSet> permitted_caps();

// Makes `caps` effective (they must be permitted): a process with file
// capabilities (+p) has them permitted but not necessarily effective.
Result<void> raise_caps(CapSet caps);

// Leaves exactly `keep` permitted and effective in the calling thread and
// nothing in every other thread (capabilities are per thread), nothing
// inheritable or ambient, and sets PR_SET_NO_NEW_PRIVS, so that nothing
// gives back what was dropped (no execve of a setuid or file-capability
// binary).
Result<void> limit_caps(CapSet keep);

// A user to run as (--user NAME), resolved when the options are read.
struct UserIds {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// getpwnam: nullopt when there is no such user.
std::optional<UserIds> lookup_user(const std::string& name);

// As tcpdump -Z: the user's groups (initgroups), gid, then uid, keeping
// `keep` across setuid (PR_SET_KEEPCAPS) and nothing else (limit_caps).
Result<void> switch_user(const UserIds& user, CapSet keep);

}  // namespace sstrace::sys
