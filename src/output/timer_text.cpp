#include "output/timer_text.h"

#include <iterator>

#include "output/append_number.h"

namespace sstrace::output {

std::string_view timer_name(uint8_t timer) {
  static constexpr std::string_view kNames[] = {"off", "on", "keepalive", "timewait", "persist"};
  return timer < std::size(kNames) ? kNames[timer] : "unknown";
}

std::string ms_timer(uint32_t ms) {
  unsigned secs = ms / 1000;
  const unsigned minutes = secs / 60;
  secs %= 60;
  unsigned msecs = ms % 1000;
  std::string out;
  // ss keeps about two significant parts: minutes hide milliseconds, and
  // ten minutes or more hide the seconds too.
  if (minutes) {
    msecs = 0;
    append_int(out, minutes);
    out += "min";
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    append_int(out, secs);
    out += msecs ? "." : "sec";
  }
  if (msecs) {
    append_zero_padded(out, msecs, 3);
    out += "ms";
  }
  return out;
}

std::string timer_text(uint8_t timer, uint32_t expires_ms, uint8_t retrans) {
  std::string out = "timer:(";
  out += timer_name(timer);
  out += ',';
  out += ms_timer(expires_ms);
  out += ',';
  append_int(out, static_cast<int>(retrans));
  out += ')';
  return out;
}

}  // namespace sstrace::output
