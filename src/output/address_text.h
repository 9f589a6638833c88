// IP addresses as ss -n prints them: inet_ntop's text, without stdio.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace sstrace::output {

// The address as ss -n prints it, without brackets: inet_ntop's text
// (IPv6 compressed; v4-mapped as ::ffff:1.2.3.4).
std::string addr_text(uint8_t family, const std::array<uint8_t, 16>& addr);
// The same text appended to `out` (no allocation for IPv4 or IPv6).
void append_addr_text(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr);
bool addr_is_any(uint8_t family, const std::array<uint8_t, 16>& addr);

}  // namespace sstrace::output
