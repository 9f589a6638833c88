// net.ipv4.ip_local_port_range of the calling thread's network namespace:
// the ports connect() picks from (also what ipv6 uses).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace sstrace::sys {

struct PortRange {
  uint16_t lo = 0, hi = 0;
  uint32_t size() const { return hi >= lo ? uint32_t(hi) - lo + 1 : 0; }
  bool contains(uint16_t p) const { return p >= lo && p <= hi; }
};

// "32768\t60999\n" -> {32768, 60999}; nullopt for anything else.
std::optional<PortRange> parse_port_range(std::string_view text);
// From /proc/sys, which answers for the calling thread's namespace.
std::optional<PortRange> read_local_port_range();
// The same, read once (the namespace the process ran in when first asked),
// as a [low, high] pair; ss's fallback 1024-4999 when it cannot be read.
// For naming ports, which ss leaves unnamed in that range ("/etc/services
// lists a lot of useless names there").
std::pair<unsigned, unsigned> local_port_range();

}  // namespace sstrace::sys
