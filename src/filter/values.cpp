#include "filter/values.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <strings.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/result.h"
#include "diag/netlink_protocols.h"

namespace sstrace::filter {

void fail(const Token& t, const std::string& why) {
  throw UsageError("bad filter at " + t.where() + ": " + why);
}

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

// C's strtol/strtoul with iproute2's strictness (get_integer(),
// get_unsigned()): the whole string, base 0 (0x.., 0..), no overflow.
std::optional<long> whole_long(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 0);
  if (end == s.c_str() || *end != '\0' || errno == ERANGE) return std::nullopt;
  return v;
}

std::optional<unsigned long> whole_ulong(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, 0);
  if (end == s.c_str() || *end != '\0' || errno == ERANGE) return std::nullopt;
  return v;
}

// iproute2's get_addr_ipv4(): up to four dot-separated numbers in any C
// base, missing trailing bytes are zero ("10" is 10.0.0.0).
bool loose_ipv4(const std::string& s, uint8_t out[4]) {
  const char* p = s.c_str();
  for (int i = 0; i < 4; ++i) {
    char* end = nullptr;
    unsigned long n = std::strtoul(p, &end, 0);
    if (n > 255 || end == p) return false;
    out[i] = static_cast<uint8_t>(n);
    if (*end == '\0') return true;
    if (i == 3 || *end != '.') return false;
    p = end + 1;
  }
  return true;
}

// Netmask in bits from "/24" or "/255.255.255.0" (iproute2's get_netmask()).
std::optional<unsigned> netmask_bits(const std::string& s) {
  if (auto v = whole_ulong(s); v && *v <= UINT_MAX) return static_cast<unsigned>(*v);
  std::optional<Prefix> mask = parse_prefix(s, AF_INET);
  if (!mask || mask->family != AF_INET || s.find('/') != std::string::npos) return std::nullopt;
  uint32_t m;
  std::memcpy(&m, mask->bytes.data(), sizeof(m));
  m = ntohl(m);
  // Only contiguous masks count.
  unsigned bits = 0;
  while (bits < 32 && (m & (0x80000000u >> bits)) != 0) ++bits;
  if (bits < 32 && (m << bits) != 0) return std::nullopt;
  return bits;
}

// The address half of parse_prefix(): family and bytes, bitlen -1 for "an
// address" and -2 for "default"/"any"/"all".
std::optional<std::pair<Prefix, int>> parse_addr(const std::string& s, int family) {
  Prefix p;
  if (s == "default" || s == "all" || s == "any") {
    p.family = static_cast<uint8_t>(family);
    return std::make_pair(p, -2);
  }
  if (s.find(':') != std::string::npos) {
    p.family = AF_INET6;
    if (family != AF_UNSPEC && family != AF_INET6) return std::nullopt;
    if (inet_pton(AF_INET6, s.c_str(), p.bytes.data()) != 1) return std::nullopt;
    return std::make_pair(p, -1);
  }
  p.family = AF_INET;
  if (family != AF_UNSPEC && family != AF_INET) return std::nullopt;
  if (!loose_ipv4(s, p.bytes.data())) return std::nullopt;
  return std::make_pair(p, -1);
}

int port_of(const Token& t, const std::string& text, const ValueContext& ctx) {
  if (auto v = whole_long(text); v && *v >= INT_MIN && *v <= INT_MAX) {
    // ss accepts any int here; a port outside 0-65535 can never match, and
    // -1 would silently mean "any port" (CONTRACT.md: usage errors).
    if (*v < 0 || *v > 65535) fail(t, "port " + text + " is outside 0-65535");
    return static_cast<int>(*v);
  }
  const int udp = ctx.udp ? ctx.resolver->service(text, "udp").value_or(-1) : -1;
  const int tcp = ctx.tcp ? ctx.resolver->service(text, "tcp").value_or(-1) : -1;
  if (udp >= 0 && tcp >= 0 && udp != tcp)
    fail(t, "service '" + text + "' is a different port for tcp and udp");
  if (udp >= 0) return udp;
  if (tcp >= 0) return tcp;
  fail(t, "'" + text + "' is neither a port number nor a known service");
}

struct EtherProto {
  const char* name;
  uint16_t id;
};

// iproute2's link-layer protocol names (lib/ll_proto.c), the common ones.
constexpr EtherProto kEtherProtos[] = {
    {"loop", ETH_P_LOOP},
    {"pup", ETH_P_PUP},
    {"pupat", ETH_P_PUPAT},
    {"ip", ETH_P_IP},
    {"x25", ETH_P_X25},
    {"arp", ETH_P_ARP},
    {"bpq", 0x08FF},
    {"ieeepup", ETH_P_IEEEPUP},
    {"ieeepupat", ETH_P_IEEEPUPAT},
    {"dec", ETH_P_DEC},
    {"dna_dl", ETH_P_DNA_DL},
    {"dna_rc", ETH_P_DNA_RC},
    {"dna_rt", ETH_P_DNA_RT},
    {"lat", ETH_P_LAT},
    {"diag", ETH_P_DIAG},
    {"cust", ETH_P_CUST},
    {"sca", ETH_P_SCA},
    {"rarp", ETH_P_RARP},
    {"atalk", ETH_P_ATALK},
    {"aarp", ETH_P_AARP},
    {"ipx", ETH_P_IPX},
    {"ipv6", ETH_P_IPV6},
    {"ppp_disc", ETH_P_PPP_DISC},
    {"ppp_ses", ETH_P_PPP_SES},
    {"atmmpoa", ETH_P_ATMMPOA},
    {"atmfate", ETH_P_ATMFATE},
    {"802.1Q", ETH_P_8021Q},
    {"802.1ad", ETH_P_8021AD},
    {"mpls_uc", ETH_P_MPLS_UC},
    {"mpls_mc", ETH_P_MPLS_MC},
    {"802_3", ETH_P_802_3},
    {"ax25", ETH_P_AX25},
    {"all", ETH_P_ALL},
    {"802_2", ETH_P_802_2},
    {"snap", ETH_P_SNAP},
    {"ddcmp", ETH_P_DDCMP},
    {"wan_ppp", ETH_P_WAN_PPP},
    {"ppp_mp", ETH_P_PPP_MP},
    {"localtalk", ETH_P_LOCALTALK},
    {"can", ETH_P_CAN},
    {"ppptalk", ETH_P_PPPTALK},
    {"tr_802_2", ETH_P_TR_802_2},
    {"mobitex", ETH_P_MOBITEX},
    {"control", ETH_P_CONTROL},
    {"irda", ETH_P_IRDA},
    {"econet", ETH_P_ECONET},
    {"tipc", ETH_P_TIPC},
    {"profinet", ETH_P_PROFINET},
    {"aoe", ETH_P_AOE},
    {"ethercat", ETH_P_ETHERCAT},
    {"teb", ETH_P_TEB},
    {"lldp", ETH_P_LLDP},
    {"8021q", ETH_P_8021Q},
    {"8021ad", ETH_P_8021AD},
};

// The port part of a link: or netlink: address (ss.c find_port): after
// sport/dport the whole word less a leading ':', else what follows the
// first ':', which is cut off `s`. nullopt: no port given.
std::optional<std::string> split_port(std::string& s, bool port_mode) {
  if (port_mode) return s.empty() || s[0] != ':' ? s : s.substr(1);
  const size_t c = s.find(':');
  if (c == std::string::npos) return std::nullopt;
  std::string port = s.substr(c + 1);
  s.resize(c);
  return port;
}

// `link:PROTO:IFACE` (-0 / -f link): a packet socket's protocol and
// interface, which ss keeps where it keeps an inet address and port.
void parse_link(const Token& t, std::string s, bool port_mode, HostCond& hc,
                const ValueContext& ctx) {
  hc.family = AF_PACKET;
  const std::optional<std::string> port = split_port(s, port_mode);
  if (port && !port->empty() && *port != "*") {
    if (auto v = whole_long(*port); v && *v >= INT_MIN && *v <= INT_MAX) {
      if (*v < 0) fail(t, "interface index " + *port + " is negative");
      hc.port = static_cast<int>(*v);
    } else {
      hc.port = static_cast<int>(ctx.resolver->ifindex(*port));
      if (hc.port <= 0) fail(t, "no interface '" + *port + "'");
    }
  }
  if (port_mode || s.empty() || s == "*") return;
  std::optional<uint16_t> proto;
  for (const EtherProto& p : kEtherProtos)
    if (strcasecmp(p.name, s.c_str()) == 0) proto = p.id;
  if (!proto) {
    if (auto v = whole_ulong(s); v && *v <= 0xffff) proto = static_cast<uint16_t>(*v);
  }
  if (!proto) fail(t, "'" + s + "' is not a link-layer protocol");
  hc.has_protocol = true;
  hc.protocol = *proto;
  // ss compares the protocol as a host-order u32 in the address bytes.
  Prefix p;
  p.family = AF_PACKET;
  p.bitlen = 32;
  const uint32_t v = *proto;
  std::memcpy(p.bytes.data(), &v, sizeof(v));
  hc.prefixes.push_back(p);
}

// `netlink:PROTO:PORTID` (-f netlink / -A netlink): ss keeps the protocol
// where an inet address goes (a host-order u32, all 32 bits compared) and
// the port id where a port goes (ss.c parse_hostcond, netlink_show_one).
// Unlike an inet port, a port id may be negative: the kernel's autobind
// ids are (netlink_autobind()), and ss reads them as an int. After
// sport/dport the whole word is the port id, as in ss's find_port().
void parse_netlink(const Token& t, std::string s, bool port_mode, HostCond& hc) {
  hc.family = AF_NETLINK;
  const std::optional<std::string> port = split_port(s, port_mode);
  if (port && !port->empty() && *port != "*") {
    if (auto v = whole_long(*port); v && *v >= INT_MIN && *v <= INT_MAX) {
      hc.port = static_cast<int>(*v);
    } else if (*port == "kernel") {
      hc.port = 0;
    } else {
      fail(t, "'" + *port + "' is not a netlink port id (a number, kernel or *)");
    }
  }
  if (port_mode) return;
  if (s.empty() || s == "*") return;
  std::optional<uint32_t> proto = diag::netlink_protocol_number(s);
  if (!proto) {
    if (auto v = whole_ulong(s); v && *v <= 255) proto = static_cast<uint32_t>(*v);
  }
  if (!proto) fail(t, "'" + s + "' is not a netlink protocol (a name such as rtnl, or 0-255)");
  Prefix p;
  p.family = AF_NETLINK;
  p.bitlen = 32;
  std::memcpy(p.bytes.data(), &*proto, sizeof(*proto));
  hc.prefixes.push_back(p);
}

void parse_inet(const Token& t, const std::string& s, bool port_mode, int fam, HostCond& hc,
                const ValueContext& ctx) {
  // Where the port starts: after "[addr]", after a leading '*', or at the
  // last ':' (after any '/'), as ss splits "host:port".
  std::string addr = s;
  std::optional<std::string> port;
  bool bracketed = false;
  if (!addr.empty() && addr[0] == '[') {
    size_t close = addr.find(']');
    if (close == std::string::npos) fail(t, "missing ']'");
    port = addr.substr(close + 1);
    addr = addr.substr(1, close - 1);
    bracketed = true;
  } else if (!addr.empty() && addr[0] == '*') {
    port = addr.substr(1);
  } else {
    size_t slash = addr.find('/');
    size_t colon = addr.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      port = addr.substr(colon);
      addr.resize(colon);
    }
  }
  // A port operand is the whole word, except that ss has already cut a
  // bracketed one down to what is inside the brackets.
  if (port_mode) port = bracketed ? addr : s;
  if (port && !port->empty()) {
    std::string p = (*port)[0] == ':' ? port->substr(1) : *port;
    if (!p.empty() && p[0] != '*') hc.port = port_of(t, p, ctx);
  }
  if (port_mode || addr.empty() || addr[0] == '*') return;

  if (std::optional<Prefix> p = parse_prefix(addr, fam)) {
    hc.family = p->family;
    hc.prefixes.push_back(*p);
    return;
  }
  // Not an address: a host name, every address of it in the family (both
  // families when none is preferred, IPv4 first, as ss asks).
  std::vector<Prefix> found = ctx.resolver->host(addr, fam == AF_UNSPEC ? AF_INET : fam);
  if (fam == AF_UNSPEC) {
    std::vector<Prefix> v6 = ctx.resolver->host(addr, AF_INET6);
    found.insert(found.end(), v6.begin(), v6.end());
  }
  if (found.empty()) fail(t, "'" + addr + "' is neither an address nor a known host");
  hc.family = found.front().family;
  hc.prefixes = std::move(found);
}

}  // namespace

std::optional<Prefix> parse_prefix(const std::string& text, int family) {
  const size_t slash = text.find('/');
  auto parsed = parse_addr(text.substr(0, slash), family);
  if (!parsed) return std::nullopt;
  auto [p, kind] = *parsed;
  const unsigned max_bits = p.family == AF_INET6 ? 128 : p.family == AF_INET ? 32 : 0;
  if (slash == std::string::npos) {
    p.bitlen = static_cast<uint8_t>(kind == -2 ? 0 : max_bits);
    return p;
  }
  if (kind == -2) return std::nullopt;  // "default/8" is nothing
  std::optional<unsigned> bits = netmask_bits(text.substr(slash + 1));
  if (!bits || *bits > max_bits) return std::nullopt;
  p.bitlen = static_cast<uint8_t>(*bits);
  return p;
}

HostCond parse_host(const Token& t, bool port_mode, Side side, ValueContext& ctx) {
  HostCond hc;
  hc.side = side;
  int fam = ctx.family;
  std::string s = t.text;
  struct FamilyPrefix {
    const char* text;
    int family;
  };
  static constexpr FamilyPrefix kPrefixes[] = {{"unix:", AF_UNIX},       {"link:", AF_PACKET},
                                               {"netlink:", AF_NETLINK}, {"vsock:", AF_VSOCK},
                                               {"inet:", AF_INET},       {"inet6:", AF_INET6}};
  for (const FamilyPrefix& p : kPrefixes) {
    if (starts_with(s, p.text)) {
      fam = p.family;
      s.erase(0, std::strlen(p.text));
      break;
    }
  }
  switch (fam) {
    case AF_UNIX:
      hc.family = AF_UNIX;
      hc.unix_pattern = s;
      break;
    case AF_PACKET:
      parse_link(t, s, port_mode, hc, ctx);
      break;
    case AF_NETLINK:
      parse_netlink(t, s, port_mode, hc);
      break;
    case AF_UNSPEC:
    case AF_INET:
    case AF_INET6:
      parse_inet(t, s, port_mode, fam, hc, ctx);
      break;
    default:
      fail(t, "sstrace does not show vsock sockets");
  }
  // ss then shows this family only, and reads later addresses in it.
  if (fam != AF_UNSPEC) {
    ctx.family = fam;
    ctx.forced_family = fam;
  }
  return hc;
}

uint32_t parse_dev(const Token& t, const ValueContext& ctx) {
  if (uint32_t idx = ctx.resolver->ifindex(t.text)) return idx;
  // iproute2 also knows interfaces as "if<index>", then plain numbers.
  unsigned idx = 0;
  if (std::sscanf(t.text.c_str(), "if%u", &idx) == 1 && idx != 0) return idx;
  if (auto v = whole_ulong(t.text); v && *v <= UINT_MAX) return static_cast<uint32_t>(*v);
  fail(t, "no interface '" + t.text + "'");
}

std::pair<uint32_t, uint32_t> parse_mark(const Token& t) {
  // ss reads these with sscanf("%i"): any C base, trailing junk ignored.
  long mark = 0, mask = 0;
  if (t.text.find('/') != std::string::npos) {
    if (std::sscanf(t.text.c_str(), "%li/%li", &mark, &mask) != 2) fail(t, "expected MARK/MASK");
  } else {
    mask = 0xffffffff;
    if (std::sscanf(t.text.c_str(), "%li", &mark) != 1) fail(t, "expected a mark");
  }
  return {static_cast<uint32_t>(mark), static_cast<uint32_t>(mask)};
}

uint64_t parse_cgroup(const Token& t, const ValueContext& ctx) {
  std::string why;
  std::optional<uint64_t> id = ctx.resolver->cgroup_id(t.text, &why);
  if (!id || *id == 0) fail(t, "no cgroup '" + t.text + "'" + (why.empty() ? "" : ": " + why));
  return *id;
}

}  // namespace sstrace::filter
