// The names NSS gives hosts, services and IP protocols (/etc/hosts, DNS,
// /etc/services, /etc/protocols), looked up with the same libc calls ss
// makes so that the names are ss's. Each distinct value is looked up once
// and kept for the life of the process; safe to call from several threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sstrace::sys {

// Reverse lookup (gethostbyaddr, as ss -r does; v4-mapped addresses are
// looked up as IPv4). Empty when there is no name.
std::string host_name(uint8_t family, const std::array<uint8_t, 16>& addr);

// The service name of a port (getservbyport): `proto` "udp" looks the port
// up as UDP, anything else as TCP. nullopt when there is none.
std::optional<std::string> service_name(uint16_t port, std::string_view proto);

// The name of an IP protocol number (getprotobynumber); nullopt when there
// is none.
std::optional<std::string> protocol_name(unsigned proto);

}  // namespace sstrace::sys
