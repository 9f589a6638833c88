// A wake-up one thread gives another (an eventfd), and a wait for any of a
// few descriptors: how the live stream's ring-buffer reader thread and its
// main thread tell each other "there is something for you" without a
// condition variable, whose wait a signal cannot interrupt.
#pragma once

#include <initializer_list>

#include "common/result.h"
#include "sys/fd.h"

namespace sstrace::sys {

class Wakeup {
 public:
  static Result<Wakeup> create();

  // Makes fd() readable until clear(). Safe from any thread.
  void signal() const;
  // Makes fd() quiet again.
  void clear() const;
  int fd() const { return fd_.get(); }

 private:
  explicit Wakeup(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Waits up to timeout_ms for any of fds to become readable. A signal ends
// the wait early (poll(2) is never restarted), so a stop flag set by a
// handler is seen at once. Returns false only on an error other than EINTR.
bool wait_readable(std::initializer_list<int> fds, int timeout_ms);

}  // namespace sstrace::sys
