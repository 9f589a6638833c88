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
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>

namespace sstrace::output {

namespace detail {
// (pointer, length), not an iterator pair: std::string's iterator append
// goes through a general replace, which profiles showed.
inline void append_until(std::string& out, const char* begin, const char* end) {
  out.append(begin, static_cast<size_t>(end - begin));
}
}  // namespace detail

// printf("%d"), ("%u"), ("%" PRIu64): the integer in decimal.
template <std::integral T>
void append_int(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  detail::append_until(out, buf, r.ptr);
}

// printf("%0*u", width, v) for v >= 0: at least `width` digits, zeros first.
template <std::unsigned_integral T>
void append_zero_padded(std::string& out, T v, int width) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  const auto digits = static_cast<int>(r.ptr - buf);
  if (digits < width) out.append(static_cast<size_t>(width - digits), '0');
  detail::append_until(out, buf, r.ptr);
}

// printf("%x") / ("%llx"): lower-case hex without a prefix.
template <std::unsigned_integral T>
void append_hex(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  detail::append_until(out, buf, r.ptr);
}

namespace detail {
// The doubles formatted here are small (milliseconds, rates), but a
// corrupt input must not truncate: "%.3f" of DBL_MAX is 313 characters.
inline constexpr size_t kDoubleBuf = 400;

template <typename... Fmt>
void append_double(std::string& out, double v, Fmt... fmt) {
  char buf[kDoubleBuf];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, fmt...);
  if (r.ec == std::errc()) detail::append_until(out, buf, r.ptr);
}
}  // namespace detail

// printf("%.*f", precision, v). "%.0f" of a non-negative double below 2^53
// (the rates of -i -n) takes a short way: the whole part and its fraction
// are exact there, so rounding half to even by hand is printf's rounding,
// at a fraction of to_chars' cost.
inline void append_fixed(std::string& out, double v, int precision) {
  if (precision == 0 && v >= 0 && v < 0x1p53 && !std::signbit(v)) {
    auto whole = static_cast<uint64_t>(v);
    const double fraction = v - static_cast<double>(whole);
    if (fraction > 0.5 || (fraction == 0.5 && (whole & 1))) ++whole;
    return append_int(out, whole);
  }
  detail::append_double(out, v, std::chars_format::fixed, precision);
}

// printf("%.*g", precision, v); printf("%g") is precision 6.
inline void append_general(std::string& out, double v, int precision = 6) {
  detail::append_double(out, v, std::chars_format::general, precision);
}

// printf("%g", n / 1000.0): a count of microseconds as milliseconds, as ss
// prints rtt, rto, minrtt. Below 10^6 the quotient has at most six
// significant digits and three decimals, so "%g" prints it exactly, which
// integer arithmetic does without to_chars; larger counts take the general
// way.
inline void append_thousandths(std::string& out, uint64_t n) {
  if (n >= 1000000) return append_general(out, static_cast<double>(n) / 1000.0);
  append_int(out, n / 1000);
  const auto frac = static_cast<unsigned>(n % 1000);
  if (!frac) return;
  const char text[4] = {'.', static_cast<char>('0' + frac / 100),
                        static_cast<char>('0' + frac / 10 % 10),
                        static_cast<char>('0' + frac % 10)};
  size_t len = sizeof text;
  while (text[len - 1] == '0') --len;
  out.append(text, len);
}

// Each name followed by its number: " skmem:(r0,rb131072".
inline void append_named_numbers(std::string& out,
                                 std::initializer_list<std::pair<const char*, uint32_t>> items) {
  for (const auto& [name, v] : items) {
    out += name;
    append_int(out, v);
  }
}

}  // namespace sstrace::output
