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

// A boost for the threads the calling thread creates while the object
// lives (a new thread starts with its creator's nice value), undone when it
// goes: the caller's own level comes back. Raising one's nice value needs
// no privilege, so the undoing works after the privileges are dropped too.
class InheritedBoost {
 public:
  explicit InheritedBoost(int levels);
  ~InheritedBoost();
  InheritedBoost(const InheritedBoost&) = delete;
  InheritedBoost& operator=(const InheritedBoost&) = delete;
  const std::string& description() const { return description_; }

 private:
  int before_ = 0;
  bool changed_ = false;
  std::string description_;
};

}  // namespace sstrace::sys
