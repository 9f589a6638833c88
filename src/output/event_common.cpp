#include "output/event_common.h"

#include <cerrno>

#include "diag/sock_info.h"
#include "output/format.h"

namespace sstrace::output {

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
  if (broken_) return false;
  if (!buf_.empty()) {
    size_t n = std::fwrite(buf_.data(), 1, buf_.size(), out_);
    // glibc returns a short count (not 0) when a write fails with EPIPE
    // part-way through a batch larger than its buffer.
    if (n != buf_.size() || std::ferror(out_)) broken_ = true;
    buf_.clear();
  }
  if (std::fflush(out_) != 0) broken_ = true;
  return !broken_;
}

}  // namespace sstrace::output
