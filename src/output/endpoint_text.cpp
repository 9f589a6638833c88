#include "output/endpoint_text.h"

#include <sys/socket.h>

#include <iterator>

#include "diag/netlink_protocols.h"
#include "output/address_text.h"
#include "output/append_number.h"
#include "output/terminal_text.h"
#include "sys/interface_names.h"
#include "sys/netdb_names.h"
#include "sys/port_range.h"
#include "sys/procfs.h"

namespace sstrace::output {

void append_ss_host_column(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr,
                           bool v6only, bool resolve) {
  if (family == AF_INET6 && !v6only && addr_is_any(family, addr)) {
    out += '*';
    return;
  }
  if (resolve) {
    if (const std::string name = sys::host_name(family, addr); !name.empty()) {
      const bool bracket = family == AF_INET6 && name.find(':') != std::string::npos;
      if (bracket) out += '[';
      out += name;
      if (bracket) out += ']';
      return;
    }
  }
  // inet_ntop's IPv6 text always has a ':', so it is always bracketed.
  const bool bracket = family == AF_INET6;
  if (bracket) out += '[';
  append_addr_text(out, family, addr);
  if (bracket) out += ']';
}

std::string ss_host_column(uint8_t family, const std::array<uint8_t, 16>& addr, bool v6only,
                           bool resolve) {
  std::string out;
  append_ss_host_column(out, family, addr, v6only, resolve);
  return out;
}

void append_service_text(std::string& out, uint16_t port, std::string_view proto, bool numeric) {
  if (port == 0)
    out += '*';
  else if (numeric)
    append_int(out, port);
  else
    out += service_text(port, proto, numeric);
}

std::string service_text(uint16_t port, std::string_view proto, bool numeric) {
  if (port == 0) return "*";
  if (numeric) return std::to_string(port);
  // ss leaves the ephemeral range unnamed.
  if (auto [lo, hi] = sys::local_port_range(); port >= lo && port <= hi)
    return std::to_string(port);
  if (auto name = sys::service_name(port, proto)) return *name;
  return std::to_string(port);
}

std::string ip_proto_text(unsigned proto, bool numeric) {
  if (numeric) return std::to_string(proto);
  if (auto name = sys::protocol_name(proto)) return *name;
  return "ipproto-" + std::to_string(proto);
}

std::string nl_proto_text(uint8_t proto, bool numeric) {
  const char* name = diag::netlink_protocol_name(proto);
  if (!numeric && name != nullptr) return name;
  return std::to_string(proto);
}

std::string netlink_owner_text(uint32_t portid, bool numeric) {
  // ss keeps the portid in an int (ss.c netlink_show_one).
  const int32_t pid = static_cast<int32_t>(portid);
  if (pid == -1) return "*";
  if (!numeric) {
    if (pid == 0) return "kernel";
    if (pid > 0) {
      if (auto comm = sys::stat_comm(pid)) {
        std::string text;
        append_terminal_safe(text, *comm);
        return text + "/" + std::to_string(pid);
      }
    }
  }
  return std::to_string(pid);
}

std::string ll_proto_text(uint16_t proto, bool numeric) {
  if (proto == 0x0003) return "*";  // ETH_P_ALL
  // iproute2's ethertype names (lib/ll_proto.c); the first match wins, so
  // 0x0800 is "ip".
  struct Name {
    uint16_t id;
    const char* name;
  };
  static constexpr Name kNames[] = {
      {0x0060, "loop"},      {0x0200, "pup"},      {0x0201, "pupat"},     {0x0800, "ip"},
      {0x0805, "x25"},       {0x0806, "arp"},      {0x08ff, "bpq"},       {0x0a00, "ieeepup"},
      {0x0a01, "ieeepupat"}, {0x6000, "dec"},      {0x6001, "dna_dl"},    {0x6002, "dna_rc"},
      {0x6003, "dna_rt"},    {0x6004, "lat"},      {0x6005, "diag"},      {0x6006, "cust"},
      {0x6007, "sca"},       {0x8035, "rarp"},     {0x809b, "atalk"},     {0x80f3, "aarp"},
      {0x8137, "ipx"},       {0x86dd, "ipv6"},     {0x8863, "ppp_disc"},  {0x8864, "ppp_ses"},
      {0x884c, "atmmpoa"},   {0x8884, "atmfate"},  {0x0001, "802_3"},     {0x0002, "ax25"},
      {0x0003, "all"},       {0x0004, "802_2"},    {0x0005, "snap"},      {0x0006, "ddcmp"},
      {0x0007, "wan_ppp"},   {0x0008, "ppp_mp"},   {0x0009, "localtalk"}, {0x000c, "can"},
      {0x0010, "ppptalk"},   {0x0011, "tr_802_2"}, {0x0015, "mobitex"},   {0x0016, "control"},
      {0x0017, "irda"},      {0x0018, "econet"},   {0x88ca, "tipc"},      {0x88a2, "aoe"},
      {0x8100, "802.1Q"},    {0x88a8, "802.1ad"},  {0x88cc, "LLDP"},
  };
  if (!numeric)
    for (const Name& n : kNames)
      if (n.id == proto) return n.name;
  return "[" + std::to_string(proto) + "]";
}

std::string if_name(uint32_t ifindex) {
  if (ifindex == 0) return "*";
  if (auto name = sys::interface_name(ifindex)) return *name;
  return "if" + std::to_string(ifindex);
}

}  // namespace sstrace::output
