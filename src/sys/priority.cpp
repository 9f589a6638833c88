#include "sys/priority.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sstrace::sys {

std::string boost_priority(int levels) {
  // getpriority() returns the nice value itself, and -1 is a valid one:
  // errno tells the error apart.
  errno = 0;
  int now = getpriority(PRIO_PROCESS, 0);
  if (now == -1 && errno != 0) return std::string("priority unchanged: ") + std::strerror(errno);
  int wanted = std::max(-20, now - levels);
  if (wanted == now) return "priority unchanged: nice " + std::to_string(now);
  if (setpriority(PRIO_PROCESS, 0, wanted) != 0)
    return "priority unchanged (nice " + std::to_string(now) + "): " + std::strerror(errno);
  return "priority raised: nice " + std::to_string(now) + " -> " + std::to_string(wanted);
}

InheritedBoost::InheritedBoost(int levels) {
  errno = 0;
  before_ = getpriority(PRIO_PROCESS, 0);
  if (before_ == -1 && errno != 0) {
    description_ = std::string("priority unchanged: ") + std::strerror(errno);
    return;
  }
  description_ = boost_priority(levels);
  changed_ = getpriority(PRIO_PROCESS, 0) != before_;
}

InheritedBoost::~InheritedBoost() {
  if (changed_) setpriority(PRIO_PROCESS, 0, before_);
}

}  // namespace sstrace::sys
