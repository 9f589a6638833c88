#include "output/address_text.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>

namespace sstrace::output {

namespace {

// The longest run of zero 16-bit groups, the first of equal ones; none
// (len 0) when it is shorter than two groups.
struct ZeroRun {
  int base = -1;
  int len = 0;
};
ZeroRun longest_zero_run(const std::array<uint16_t, 8>& w) {
  ZeroRun best, cur;
  for (int i = 0; i < 8; ++i) {
    if (w[i] == 0) {
      if (cur.base < 0) cur = {i, 0};
      if (++cur.len > best.len) best = cur;
    } else {
      cur = {};
    }
  }
  return best.len >= 2 ? best : ZeroRun{};
}

// inet_ntop(AF_INET6)'s text, which is what ss prints: lower-case hex
// groups, the longest zero run (two groups or more) as "::", and the
// v4-mapped (::ffff:a.b.c.d) and v4-compatible (::a.b.c.d) forms. glibc
// prints every group with sprintf; to_chars into one buffer is the same
// text, tests/unit/output_append_number_test.cpp compares the two.
void append_ipv6_text(std::string& out, const std::array<uint8_t, 16>& addr) {
  std::array<uint16_t, 8> w;
  for (size_t i = 0; i < 8; ++i) w[i] = static_cast<uint16_t>(addr[2 * i] << 8 | addr[2 * i + 1]);
  const ZeroRun zeros = longest_zero_run(w);
  char buf[INET6_ADDRSTRLEN];
  char* p = buf;
  for (int i = 0; i < 8; ++i) {
    if (zeros.len && i >= zeros.base && i < zeros.base + zeros.len) {
      if (i == zeros.base) *p++ = ':';
      continue;
    }
    if (i) *p++ = ':';
    if (i == 6 && zeros.base == 0 && (zeros.len == 6 || (zeros.len == 5 && w[5] == 0xffff))) {
      for (size_t k = 12; k < 16; ++k) {
        if (k > 12) *p++ = '.';
        p = std::to_chars(p, buf + sizeof buf, unsigned{addr[k]}).ptr;
      }
      out.append(buf, static_cast<size_t>(p - buf));
      return;
    }
    p = std::to_chars(p, buf + sizeof buf, unsigned{w[i]}, 16).ptr;
  }
  if (zeros.len && zeros.base + zeros.len == 8) *p++ = ':';
  out.append(buf, static_cast<size_t>(p - buf));
}

}  // namespace

void append_addr_text(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr) {
  if (family != AF_INET6) {
    // inet_ntop's IPv4 text is four decimal bytes, which glibc prints with
    // sprintf; to_chars into one buffer and a single append is the same
    // text at a fraction of the cost.
    char buf[INET_ADDRSTRLEN];
    char* p = buf;
    for (size_t i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      p = std::to_chars(p, buf + sizeof buf, unsigned{addr[i]}).ptr;
    }
    out.append(buf, p);
    return;
  }
  append_ipv6_text(out, addr);
}

std::string addr_text(uint8_t family, const std::array<uint8_t, 16>& addr) {
  std::string out;
  append_addr_text(out, family, addr);
  return out;
}

bool addr_is_any(uint8_t family, const std::array<uint8_t, 16>& addr) {
  const size_t n = family == AF_INET6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i)
    if (addr[i]) return false;
  return true;
}

}  // namespace sstrace::output
