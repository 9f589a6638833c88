#include "sys/port_range.h"

#include <fstream>

namespace sstrace::sys {

std::pair<unsigned, unsigned> local_port_range() {
  static const std::pair<unsigned, unsigned> range = [] {
    std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned lo = 0, hi = 0;
    if (f >> lo >> hi) return std::pair{lo, hi};
    return std::pair{1024u, 4999u};  // ss's fallback
  }();
  return range;
}

}  // namespace sstrace::sys
