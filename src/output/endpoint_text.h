// ss's Local Address:Port and Peer Address:Port columns, piece by piece:
// the host part, the port part (a service, an IP protocol, a netlink
// owner), the ethertype and netlink protocol of packet and netlink sockets,
// and interface names. Names come from the lookups in src/sys (cached for
// the life of the process); this file only spells them as ss does.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sstrace::output {

// The address part of an ss column, before ":port": "*" for the IPv6
// wildcard of a socket that also takes IPv4 (not v6only), otherwise the
// address, host name with -r, IPv6 literals in brackets.
std::string ss_host_column(uint8_t family, const std::array<uint8_t, 16>& addr, bool v6only,
                           bool resolve);
void append_ss_host_column(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr,
                           bool v6only, bool resolve);
// ss's port column for TCP/UDP: "*" for 0; a service name from
// /etc/services unless `numeric` or the port is in the ephemeral range
// (net.ipv4.ip_local_port_range), like ss; else the number.
std::string service_text(uint16_t port, std::string_view proto, bool numeric);
void append_service_text(std::string& out, uint16_t port, std::string_view proto, bool numeric);
// ss's port column for RAW sockets, which show the protocol there:
// /etc/protocols name or "ipproto-N"; the number with -n.
std::string ip_proto_text(unsigned proto, bool numeric);
// ss's local-address column for PACKET sockets: "*" for ETH_P_ALL, the
// iproute2 name of the ethertype (ip, ipv6, arp, 802.1Q, ...) or "[N]",
// always "[N]" with -n.
std::string ll_proto_text(uint16_t proto, bool numeric);
// ss's local-address column for NETLINK sockets: iproute2's name of the
// netlink protocol (rtnl, tcpdiag, genl, ...), the number when it has none
// or with -n.
std::string nl_proto_text(uint8_t proto, bool numeric);
// ss's local-port column for NETLINK sockets: "kernel" for portid 0,
// "comm/pid" when a process with that pid exists (ss assumes the portid is
// its owner's pid, as it is for a process's first netlink socket), else the
// portid as a signed number; always the number with -n.
std::string netlink_owner_text(uint32_t portid, bool numeric);
// Interface name for an ifindex ("*" for 0, "if<N>" when it is gone).
std::string if_name(uint32_t ifindex);

}  // namespace sstrace::output
