// The names ss (iproute2 6.1) gives socket states, kinds and families, and
// its shutdown arrows: fixed tables, no lookups.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "diag/sock_info.h"

namespace sstrace::output {

// ESTAB, SYN-SENT, ..., UNCONN (TCP_CLOSE), LISTEN, CLOSING; "UNKNOWN" for
// numbers ss has no name for.
std::string_view state_name(uint8_t state);
// ss's Netid column: tcp udp raw u_str u_dgr u_seq p_raw p_dgr nl.
std::string_view netid_name(diag::SockKind kind);
// JSON "family": inet inet6 unix packet netlink.
std::string_view family_name(const diag::SockInfo& s);
// JSON "proto": tcp udp raw unix packet netlink.
std::string_view proto_name(diag::SockKind kind);
// ss's shutdown arrows: '<' unless reads are shut down, '>' unless writes
// are ("<->" is open both ways).
std::string shutdown_text(uint8_t mask);

}  // namespace sstrace::output
