// Reading the operand words of the filter (addresses, ports, devices, marks,
// cgroups) with ss's rules, resolving names as ss does while it parses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "filter/ast.h"
#include "filter/lexer.h"
#include "filter/resolver.h"

namespace sstrace::filter {

struct ValueContext {
  const Resolver* resolver = nullptr;
  // ss's preferred family; an address prefix such as "inet6:" changes it
  // for the words that follow, as in ss.
  int family = 0;
  bool tcp = true, udp = true;
  // Set whenever an address or port is read in a family (ss then shows
  // that family only).
  std::optional<int> forced_family;
};

// Throws UsageError naming the token.
[[noreturn]] void fail(const Token& t, const std::string& why);

// `src`/`dst` operand (port_mode false) or `sport`/`dport` operand (true).
HostCond parse_host(const Token& t, bool port_mode, Side side, ValueContext& ctx);
uint32_t parse_dev(const Token& t, const ValueContext& ctx);
std::pair<uint32_t, uint32_t> parse_mark(const Token& t);  // mark, mask
uint64_t parse_cgroup(const Token& t, const ValueContext& ctx);

// ss's get_prefix_1(): "default"/"any"/"all", an IPv6 or (loose, base-0
// per byte) IPv4 address, an optional "/bits" or "/dotted.mask". nullopt
// where ss would go on to try a host name.
std::optional<Prefix> parse_prefix(const std::string& text, int family);

}  // namespace sstrace::filter
