#include "sys/wakeup.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace sstrace::sys {

Result<Wakeup> Wakeup::create() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return sys_error("cannot create an eventfd");
  return Wakeup(UniqueFd(fd));
}

void Wakeup::signal() const {
  const uint64_t one = 1;
  // EAGAIN only when the counter is about to overflow: it is readable then.
  (void)!::write(fd_.get(), &one, sizeof(one));
}

void Wakeup::clear() const {
  uint64_t value = 0;
  (void)!::read(fd_.get(), &value, sizeof(value));
}

bool wait_readable(std::initializer_list<int> fds, int timeout_ms) {
  pollfd pfds[4];
  nfds_t n = 0;
  for (int fd : fds)
    if (n < 4) pfds[n++] = {fd, POLLIN, 0};
  if (::poll(pfds, n, timeout_ms) >= 0) return true;
  return errno == EINTR;
}

}  // namespace sstrace::sys
