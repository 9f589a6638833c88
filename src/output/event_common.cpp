#include "output/event_common.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "diag/sock_info.h"
#include "output/names.h"
#include "sys/stdio_guard.h"

namespace sstrace::output {

std::string_view errno_name(int err) {
  const char* name = err > 0 ? strerrorname_np(err) : nullptr;
  return name ? std::string_view(name) : std::string_view("unknown");
}

std::string_view closed_by_name(model::ClosedBy c) {
  switch (c) {
    case model::ClosedBy::local:
      return "local";
    case model::ClosedBy::remote:
      return "remote";
    case model::ClosedBy::local_abort:
      return "local_abort";
    case model::ClosedBy::remote_reset:
      return "remote_reset";
    case model::ClosedBy::failed:
      return "failed";
    case model::ClosedBy::listener:
      return "listener";
    case model::ClosedBy::unknown:
      break;
  }
  return "unknown";
}

std::string_view tcp_state_name(uint8_t state) {
  return state == diag::kClose ? std::string_view("CLOSE") : state_name(state);
}

bool LineBuffer::flush() {
  if (errno_ != 0) {
    buf_.clear();  // nowhere to go: do not grow without bound
    return false;
  }
  // write(2), not stdio: we must know exactly which error ended the output
  // (EPIPE is a clean stop, anything else a failure to report) and never
  // leave a cut-off line behind.
  std::fflush(out_);
  const int fd = fileno(out_);
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = ::write(fd, buf_.data() + done, buf_.size() - done);
    if (n > 0) {
      done += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      errno_ = n < 0 ? errno : EIO;
      if (errno_ != EPIPE) sys::trim_partial_line(fd);
      break;
    }
  }
  buf_.clear();
  return errno_ == 0;
}

}  // namespace sstrace::output
