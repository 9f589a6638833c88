// Pieces both event writers share: buffering with EPIPE detection, and the
// names of model values.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "model/connection.h"

namespace sstrace::output {

std::string_view closed_by_name(model::ClosedBy c);
// A TCP state in the live stream's spelling: ss's names, except that TCP's
// CLOSE is "CLOSE" (ss prints "UNCONN" there, a name for sockets that were
// never connected; the stream's CLOSE ends a connection).
std::string_view tcp_state_name(uint8_t state);
// An errno as its name (ECONNREFUSED), as the C library knows it; "unknown"
// for 0 (the kernel gave no error) and for a number it does not know. A
// bounded set, fit for a metric label.
std::string_view errno_name(int err);

// A string buffer flushed with write(2); remembers the error that ended the
// output (EPIPE: the reader went away).
class LineBuffer {
 public:
  explicit LineBuffer(std::FILE* out) : out_(out) { buf_.reserve(1 << 16); }
  std::string& str() { return buf_; }
  // Flushes when the buffer is large, so a burst does not grow it unbounded.
  void maybe_flush() {
    if (buf_.size() >= (1 << 16)) flush();
  }
  // False once a write failed; error() says why.
  bool flush();
  int error() const { return errno_; }

 private:
  std::FILE* out_;
  std::string buf_;
  int errno_ = 0;
};

}  // namespace sstrace::output
