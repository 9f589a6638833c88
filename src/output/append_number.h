// Numbers appended to a std::string exactly as printf would spell them, but
// without stdio: the snapshot and the live stream format several numbers per
// socket or event, and each snprintf call costs a stdio set-up (and, for
// doubles, glibc's multi-precision printer), which profiles showed as the
// largest part of the text snapshot's CPU time.
//
// std::to_chars with a precision is specified to produce what printf's
// "%.*f" / "%.*g" produce in the C locale, which is the locale sstrace (and
// ss) print in; tests/unit/output_append_number_test.cpp compares both over
// many values.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdio>
#include <string>

namespace sstrace::output {

// printf("%d"), ("%u"), ("%" PRIu64): the integer in decimal.
template <std::integral T>
void append_int(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// printf("%0*u", width, v) for v >= 0: at least `width` digits, zeros first.
template <std::unsigned_integral T>
void append_zero_padded(std::string& out, T v, int width) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  const auto digits = static_cast<int>(r.ptr - buf);
  if (digits < width) out.append(static_cast<size_t>(width - digits), '0');
  out.append(buf, r.ptr);
}

// printf("%x") / ("%llx"): lower-case hex without a prefix.
template <std::unsigned_integral T>
void append_hex(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  out.append(buf, r.ptr);
}

namespace detail {
// The doubles formatted here are small (milliseconds, rates), but a
// corrupt input must not truncate: "%.3f" of DBL_MAX is 313 characters.
inline constexpr size_t kDoubleBuf = 400;

template <typename... Fmt>
void append_double(std::string& out, double v, Fmt... fmt) {
  char buf[kDoubleBuf];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, fmt...);
  if (r.ec == std::errc()) out.append(buf, r.ptr);
}
}  // namespace detail

// printf("%.*f", precision, v).
inline void append_fixed(std::string& out, double v, int precision) {
  detail::append_double(out, v, std::chars_format::fixed, precision);
}

// printf("%.*g", precision, v); printf("%g") is precision 6.
inline void append_general(std::string& out, double v, int precision = 6) {
  detail::append_double(out, v, std::chars_format::general, precision);
}

}  // namespace sstrace::output
