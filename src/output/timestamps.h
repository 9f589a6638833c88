// Event timestamps: RFC 3339 UTC with microseconds, and a per-second cache
// of a timestamp's date and time of day for writers that print many events
// a second.
#pragma once

#include <chrono>
#include <climits>
#include <cstdint>
#include <string>

namespace sstrace::output {

// RFC 3339 UTC with microseconds: 2026-11-22T02:31:07.123456Z.
std::string rfc3339_utc(std::chrono::system_clock::time_point t);
std::string rfc3339_utc_ns(int64_t ns_since_epoch);

// The text of a timestamp's whole second, made by `format(second)` only when
// the second differs from the previous call's: a stream writes many events
// per second, and gmtime/localtime plus printf per event was a sixth of the
// stream's CPU.
class PerSecondText {
 public:
  template <typename Format>
  const std::string& get(int64_t second, Format&& format) {
    if (second != second_) {
      text_ = format(second);
      second_ = second;
    }
    return text_;
  }

 private:
  int64_t second_ = INT64_MIN;  // no nanosecond count divides down to it
  std::string text_;
};

// rfc3339_utc_ns's text appended to `out`, the date and time of day cached
// per second: only the microseconds are formatted per call.
class Rfc3339Formatter {
 public:
  void append(std::string& out, int64_t ns_since_epoch);

 private:
  PerSecondText prefix_;  // "2026-11-22T02:31:07."
};

}  // namespace sstrace::output
