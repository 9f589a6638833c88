#include "sys/port_range.h"

#include <charconv>
#include <cstdio>

namespace sstrace::sys {

namespace {

bool parse_port(std::string_view& text, uint16_t& out) {
  size_t i = text.find_first_not_of(" \t");
  if (i == std::string_view::npos) return false;
  text.remove_prefix(i);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || v > 65535) return false;
  text.remove_prefix(size_t(end - text.data()));
  out = uint16_t(v);
  return true;
}

}  // namespace

std::optional<PortRange> parse_port_range(std::string_view text) {
  PortRange r;
  if (!parse_port(text, r.lo) || !parse_port(text, r.hi)) return std::nullopt;
  if (text.find_first_not_of(" \t\n") != std::string_view::npos || r.lo > r.hi) return std::nullopt;
  return r;
}

std::optional<PortRange> read_local_port_range() {
  // /proc/sys/net answers for the opening thread's namespace (net/sysctl_net.c).
  std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
  if (!f) return std::nullopt;
  char buf[64];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  return parse_port_range(std::string_view(buf, n));
}

std::pair<unsigned, unsigned> local_port_range() {
  static const std::pair<unsigned, unsigned> range = [] {
    if (auto r = read_local_port_range()) return std::pair<unsigned, unsigned>{r->lo, r->hi};
    return std::pair{1024u, 4999u};  // ss's fallback
  }();
  return range;
}

}  // namespace sstrace::sys
