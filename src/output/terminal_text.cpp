#include "output/terminal_text.h"

#include <cstdint>

namespace sstrace::output {

namespace {

void append_hex_escape(std::string& out, uint8_t b) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

// Length of the valid UTF-8 sequence at s[i] that is not a control
// character (C1 controls U+0080-U+009F included), or 0.
size_t printable_utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
  const uint8_t b0 = b(0);
  if (b0 >= 0x20 && b0 < 0x7f) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf && cont(1)) return (b0 == 0xc2 && b(1) < 0xa0) ? 0 : 2;
  if (b0 >= 0xe0 && b0 <= 0xef && cont(1) && cont(2)) {
    if (b0 == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (b0 == 0xed && b(1) >= 0xa0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4 && cont(1) && cont(2) && cont(3)) {
    if (b0 == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (b0 == 0xf4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void append_terminal_safe(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    size_t n = printable_utf8_length(s, i);
    if (n == 0) {
      append_hex_escape(out, static_cast<uint8_t>(s[i]));
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
}

}  // namespace sstrace::output
