#include "output/timestamps.h"

#include <cstdio>
#include <ctime>

#include "output/append_number.h"

namespace sstrace::output {

void Rfc3339Formatter::append(std::string& out, int64_t ns) {
  // Floor division: a time before 1970 still has a non-negative fraction.
  int64_t secs = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  out += prefix_.get(secs, [](int64_t second) {
    const time_t tt = static_cast<time_t>(second);
    struct tm tm {};
    gmtime_r(&tt, &tm);
    // Six ints of at most 11 characters and six separators: never cut.
    char buf[128];
    const int n =
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
  });
  append_zero_padded(out, static_cast<uint32_t>(rem / 1000), 6);
  out += 'Z';
}

std::string rfc3339_utc_ns(int64_t ns) {
  std::string out;
  Rfc3339Formatter().append(out, ns);
  return out;
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return rfc3339_utc_ns(ns.count());
}

}  // namespace sstrace::output
