// The parsed form of an ss filter expression. Every backend (the user-space
// evaluator, the inet_diag bytecode compiler, the BPF prefilter) walks this
// one tree. Values are resolved at parse time (host names, services,
// interfaces, cgroup paths), as ss resolves them, so the backends never do
// I/O.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sstrace::filter {

// An address prefix as ss holds it: raw bytes plus a bit length. The bytes of
// an IPv4 prefix are the first 4; the rest are zero.
struct Prefix {
  uint8_t family = 0;  // AF_INET or AF_INET6 (AF_UNSPEC for "any"/"all")
  uint8_t bitlen = 0;  // 0 matches every address
  std::array<uint8_t, 16> bytes{};
};

enum class Side : uint8_t { src, dst };

// `src`/`dst ADDR[:PORT]`, and `sport`/`dport = PORT` (ss makes the latter a
// host condition without an address, which matters for UNIX sockets).
struct HostCond {
  Side side = Side::src;
  // Family the condition was written for: AF_UNSPEC/AF_INET/AF_INET6 for
  // inet addresses, AF_UNIX for `unix:` patterns, AF_PACKET for `link:`.
  uint8_t family = 0;
  int port = -1;  // -1: any port
  // Inet: every address the name resolved to; empty or bitlen 0 = any.
  // The first one is the one ss's bytecode carries (see bytecode.cpp).
  std::vector<Prefix> prefixes;
  std::string unix_pattern;  // AF_UNIX: fnmatch(3) pattern, case-folded
  // AF_PACKET: ETH_P_* protocol in host order, when one was given.
  bool has_protocol = false;
  uint16_t protocol = 0;

  bool any_address() const { return prefixes.empty() || prefixes.front().bitlen == 0; }
};

// `sport >= N` and friends (ss's S_GE/S_LE/D_GE/D_LE); `>`, `<` become NOT
// of the opposite, as in ss.
struct PortCmp {
  Side side = Side::src;
  bool ge = true;  // true: port >= value; false: port <= value
  uint16_t port = 0;
};

struct Node {
  enum class Kind : uint8_t {
    all_of,
    any_of,
    negate,
    host,
    port_cmp,
    autobound,
    dev,
    mark,
    cgroup
  };
  Kind kind = Kind::autobound;

  std::unique_ptr<Node> left, right;  // all_of / any_of: both; negate: left

  HostCond host;
  PortCmp port_cmp;
  uint32_t ifindex = 0;                       // dev
  uint32_t mark = 0, mask = 0xffffffff;       // fwmark
  uint64_t cgroup_id = 0;                     // cgroup
  int ephemeral_low = 0, ephemeral_high = 0;  // autobound: ip_local_port_range

  // Where the expression started in the filter text, for messages.
  int token = 0;
};

}  // namespace sstrace::filter
