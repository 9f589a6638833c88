// Netlink protocol names as ss prints and reads them: iproute2's
// nl_proto_tab (lib/rt_names.c), which is also what Debian's
// /etc/iproute2/nl_protos lists; numbers from linux/netlink.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sstrace::diag {

// "rtnl" for 0 (NETLINK_ROUTE), ...; nullptr for a number without a name.
const char* netlink_protocol_name(uint32_t protocol);

// The number of a name from that table ("rtnl" -> 0); nullopt for others.
std::optional<uint32_t> netlink_protocol_number(std::string_view name);

}  // namespace sstrace::diag
