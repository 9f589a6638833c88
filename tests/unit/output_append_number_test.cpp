// The printf-free formatting of src/output must spell every value exactly
// as the printf format it replaced (ss's output, and sstrace's own stream,
// must stay byte for byte the same). Each test compares against snprintf
// itself over edge cases and many random values.
#include "output/append_number.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "output/address_text.h"
#include "output/rate_text.h"
#include "output/timestamps.h"

namespace sstrace::output {
namespace {

template <typename... Args>
std::string printf_text(const char* fmt, Args... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  EXPECT_GE(n, 0);
  EXPECT_LT(n, static_cast<int>(sizeof buf));
  return std::string(buf, static_cast<size_t>(n));
}

// Doubles where printf's rounding and its %g style switches are decided:
// ties at the last digit, powers of ten, the %g exponent thresholds (1e-4
// and 10^precision), subnormals and the ends of the range.
std::vector<double> edge_doubles() {
  std::vector<double> v = {0.0,
                           -0.0,
                           1.0,
                           -1.0,
                           0.5,
                           1.5,
                           2.5,
                           0.0005,
                           0.0015,
                           0.0025,
                           1.0005,
                           2.0005,
                           0.00049999999999999999,
                           0.075,
                           0.037,
                           204.0,
                           1.595,
                           9.995,
                           99.95,
                           999.5,
                           999.95,
                           9999.5,
                           99999.5,
                           999999.0,
                           999999.5,
                           1e6,
                           1e-4,
                           9.9999e-5,
                           1e-5,
                           0.1,
                           0.2,
                           0.3,
                           1.0 / 3.0,
                           2.0 / 3.0,
                           12.3456789,
                           4294967.295,
                           4294967295.0,
                           1e15,
                           1e16,
                           1e17,
                           9007199254740993.0,
                           18446744073709551615.0,
                           1e21,
                           1e22,
                           1e300,
                           1e-300,
                           DBL_MAX,
                           -DBL_MAX,
                           DBL_MIN,
                           DBL_TRUE_MIN,
                           std::nextafter(0.0005, 0.0),
                           std::nextafter(0.0005, 1.0),
                           std::nextafter(1e6, 0.0),
                           std::nextafter(1e-4, 0.0)};
  for (int e = -20; e <= 20; ++e) {
    const double p = std::pow(10.0, e);
    v.push_back(p);
    v.push_back(std::nextafter(p, 0.0));
    v.push_back(std::nextafter(p, 1e308));
    v.push_back(p * 0.5);
    v.push_back(p * 9.995);
  }
  return v;
}

// Random doubles of three kinds: any finite bit pattern (every exponent),
// the values sstrace prints (a 32-bit microsecond count / 1000, a rate in
// bits per second), and integers.
std::vector<double> random_doubles(size_t n) {
  std::mt19937_64 rng(20261122);
  std::vector<double> v;
  v.reserve(n);
  while (v.size() < n) {
    const uint64_t bits = rng();
    switch (v.size() % 4) {
      case 0: {
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) v.push_back(d);
        break;
      }
      case 1:
        v.push_back(static_cast<uint32_t>(bits) / 1000.0);
        break;
      case 2:
        v.push_back(static_cast<double>(bits >> (bits % 64)) * 8.0);
        break;
      default:
        v.push_back(static_cast<double>(static_cast<int64_t>(bits) >> (bits % 64)));
        break;
    }
  }
  return v;
}

std::vector<double> all_test_doubles() {
  std::vector<double> v = edge_doubles();
  const std::vector<double> r = random_doubles(200000);
  v.insert(v.end(), r.begin(), r.end());
  return v;
}

std::string fixed(double d, int precision) {
  std::string out;
  append_fixed(out, d, precision);
  return out;
}

std::string general(double d, int precision) {
  std::string out;
  append_general(out, d, precision);
  return out;
}

TEST(AppendNumber, fixed_matches_printf_f) {
  for (double d : all_test_doubles()) {
    ASSERT_EQ(fixed(d, 3), printf_text("%.3f", d)) << d;
    ASSERT_EQ(fixed(d, 1), printf_text("%.1f", d)) << d;
    ASSERT_EQ(fixed(d, 0), printf_text("%.0f", d)) << d;
  }
}

TEST(AppendNumber, general_matches_printf_g) {
  for (double d : all_test_doubles()) {
    ASSERT_EQ(general(d, 6), printf_text("%g", d)) << d;
    ASSERT_EQ(general(d, 3), printf_text("%.3g", d)) << d;
  }
}

TEST(AppendNumber, thousandths_match_printf_g_of_the_quotient) {
  std::vector<uint64_t> values;
  for (uint64_t n = 0; n <= 1100000; ++n) values.push_back(n);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) values.push_back(static_cast<uint32_t>(rng()));
  values.push_back(UINT32_MAX);
  for (uint64_t n : values) {
    std::string out = "x";
    append_thousandths(out, n);
    ASSERT_EQ(out, "x" + printf_text("%g", static_cast<double>(n) / 1000.0)) << n;
  }
}

TEST(AppendNumber, not_finite_values_as_printf_spells_them) {
  for (double d :
       {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_EQ(general(d, 6), printf_text("%g", d));
    EXPECT_EQ(fixed(d, 3), printf_text("%.3f", d));
  }
}

TEST(AppendNumber, appends_to_what_is_there) {
  std::string out = "rtt:";
  append_general(out, 0.075);
  out += '/';
  append_fixed(out, 1.0005, 3);
  EXPECT_EQ(out, "rtt:0.075/" + printf_text("%.3f", 1.0005));
}

TEST(AppendNumber, integers_match_printf) {
  std::mt19937_64 rng(5);
  std::vector<uint64_t> values = {0,   1,    9,      10,      99,         100,
                                  999, 1000, 999999, 1000000, UINT32_MAX, UINT64_MAX};
  for (int i = 0; i < 100000; ++i) values.push_back(rng() >> (i % 64));
  for (uint64_t u : values) {
    std::string out;
    append_int(out, u);
    ASSERT_EQ(out, printf_text("%" PRIu64, u));
    const auto u32 = static_cast<uint32_t>(u);
    out.clear();
    append_int(out, u32);
    ASSERT_EQ(out, printf_text("%u", u32));
    const auto i32 = static_cast<int32_t>(u32);
    out.clear();
    append_int(out, i32);
    ASSERT_EQ(out, printf_text("%d", i32));
    out.clear();
    append_hex(out, u);
    ASSERT_EQ(out, printf_text("%" PRIx64, u));
    for (int width : {3, 6}) {
      out.clear();
      append_zero_padded(out, u32, width);
      ASSERT_EQ(out, printf_text("%0*u", width, u32));
    }
  }
}

// The rate spelling before it moved off printf (ss's own formats).
std::string printf_rate(double bps, bool numeric) {
  if (numeric) return printf_text("%.0f", bps);
  if (bps >= 1e12) return printf_text("%.3gT", bps / 1e12);
  if (bps >= 1e9) return printf_text("%.3gG", bps / 1e9);
  if (bps >= 1e6) return printf_text("%.3gM", bps / 1e6);
  if (bps >= 1e3) return printf_text("%.3gk", bps / 1e3);
  return printf_text("%g", bps);
}

TEST(AppendNumber, rates_match_ss_printf_formats) {
  std::vector<double> values = {0,   1,       999, 999.5,    1000, 999499, 999500, 999999,
                                1e6, 1e9 - 1, 1e9, 1e12 - 1, 1e12, 1e15,   8e18};
  for (double d : random_doubles(100000))
    if (d >= 0) values.push_back(d);
  for (double bps : values) {
    for (bool numeric : {false, true})
      ASSERT_EQ(rate_text(bps, numeric), printf_rate(bps, numeric));
  }
}

std::string ntop(int af, const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN];
  EXPECT_NE(inet_ntop(af, a.data(), buf, sizeof buf), nullptr);
  return buf;
}

TEST(AppendNumber, ipv4_text_matches_inet_ntop) {
  std::vector<std::array<uint8_t, 16>> addrs;
  for (uint32_t v : {0x00000000u, 0xffffffffu, 0x7f000001u, 0x0a000001u, 0x01020304u, 0x09630a64u,
                     0xc0a80001u, 0x00ff00ffu}) {
    std::array<uint8_t, 16> a{};
    const uint32_t be = htonl(v);
    std::memcpy(a.data(), &be, 4);
    addrs.push_back(a);
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    std::array<uint8_t, 16> a{};
    for (auto& b : a) b = static_cast<uint8_t>(rng());  // bytes past 4 must not matter
    addrs.push_back(a);
  }
  for (const auto& a : addrs) {
    ASSERT_EQ(addr_text(AF_INET, a), ntop(AF_INET, a));
    std::string out = "x";
    append_addr_text(out, AF_INET, a);
    ASSERT_EQ(out, "x" + ntop(AF_INET, a));
  }
  EXPECT_EQ(addr_text(AF_INET, {}), "0.0.0.0");
  std::array<uint8_t, 16> all{};
  all.fill(255);
  EXPECT_EQ(addr_text(AF_INET, all), "255.255.255.255");
}

TEST(AppendNumber, ipv6_text_is_inet_ntops) {
  std::mt19937 rng(11);
  for (int i = 0; i < 50000; ++i) {
    std::array<uint8_t, 16> a{};
    // Sparse addresses, so zero runs of every length and place occur.
    for (auto& b : a) b = rng() % 3 == 0 ? static_cast<uint8_t>(rng()) : 0;
    if (i % 5 == 0) {  // v4-mapped
      std::memset(a.data(), 0, 10);
      a[10] = a[11] = 0xff;
    }
    ASSERT_EQ(addr_text(AF_INET6, a), ntop(AF_INET6, a));
  }
  // Zero and non-zero groups at random (every run length and place), and
  // the v4-compatible and v4-mapped forms with small last groups.
  for (int i = 0; i < 100000; ++i) {
    std::array<uint8_t, 16> a{};
    for (size_t g = 0; g < 8; ++g) {
      if (rng() % 2) continue;
      const auto v = static_cast<uint16_t>(rng() % 4 == 0 ? rng() % 3 : rng());
      a[2 * g] = static_cast<uint8_t>(v >> 8);
      a[2 * g + 1] = static_cast<uint8_t>(v);
    }
    ASSERT_EQ(addr_text(AF_INET6, a), ntop(AF_INET6, a));
    std::string out = "x";
    append_addr_text(out, AF_INET6, a);
    ASSERT_EQ(out, "x" + ntop(AF_INET6, a));
  }
  for (const char* text :
       {"::", "::1", "::2", "::0.0.0.1", "::1.2.3.4", "::ffff:1.2.3.4", "::ffff:0:1",
        "1::", "1:0:0:2::", "1::2:0:0:3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "::fffe:1.2.3.4", "0:1::", "::1:0:0:0:1"}) {
    std::array<uint8_t, 16> a{};
    ASSERT_EQ(inet_pton(AF_INET6, text, a.data()), 1) << text;
    EXPECT_EQ(addr_text(AF_INET6, a), ntop(AF_INET6, a)) << text;
  }
}

// gmtime + printf per call: the timestamp's spelling before the cache.
std::string printf_rfc3339(int64_t ns) {
  int64_t secs = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  const time_t tt = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  return printf_text("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rem / 1000));
}

int64_t utc_ns(int year, int month, int day, int hour, int minute, int second) {
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000;
}

TEST(AppendNumber, rfc3339_cached_per_second_matches_gmtime_printf) {
  // One formatter for the whole sequence, so its per-second cache is
  // exercised: forwards, backwards, and across every boundary of the date.
  const std::vector<int64_t> boundaries = {
      0,
      utc_ns(1999, 12, 31, 23, 59, 59),  // year
      utc_ns(2000, 2, 28, 23, 59, 59),   // 2000 is a leap year
      utc_ns(2000, 2, 29, 23, 59, 59),
      utc_ns(2024, 2, 28, 23, 59, 59),   // leap year
      utc_ns(2025, 2, 28, 23, 59, 59),   // not a leap year
      utc_ns(2100, 2, 28, 23, 59, 59),   // not a leap year (century)
      utc_ns(2026, 11, 22, 2, 31, 59),   // minute
      utc_ns(2026, 11, 22, 2, 59, 59),   // hour
      utc_ns(2026, 11, 30, 23, 59, 59),  // month
      utc_ns(2038, 1, 19, 3, 14, 7),     // 32-bit time_t
      utc_ns(2262, 4, 11, 23, 47, 15),   // near the end of int64 nanoseconds
  };
  std::vector<int64_t> times;
  for (int64_t b : boundaries) {
    for (int64_t d : {-1000000001LL, -1000000000LL, -999999999LL, -1LL, 0LL, 1LL, 999LL, 1000LL,
                      999999LL, 999999999LL, 1000000000LL, 1000000001LL, 1999999999LL})
      times.push_back(b + d);
  }
  times.push_back(-1);  // before 1970: the fraction still counts up
  times.push_back(-1500000000);
  std::mt19937_64 rng(3);
  int64_t t = utc_ns(2026, 11, 22, 0, 0, 0);
  for (int i = 0; i < 100000; ++i) {
    t += static_cast<int64_t>(rng() % 300000000);  // a stream: many events per second
    times.push_back(t);
    if (i % 1000 == 0) times.push_back(static_cast<int64_t>(rng() % (INT64_MAX / 2)));
  }
  Rfc3339Formatter formatter;
  for (int64_t ns : times) {
    std::string out = "ts=";
    formatter.append(out, ns);
    ASSERT_EQ(out, "ts=" + printf_rfc3339(ns)) << ns;
    ASSERT_EQ(rfc3339_utc_ns(ns), printf_rfc3339(ns)) << ns;
  }
}

TEST(AppendNumber, per_second_text_formats_once_per_second) {
  PerSecondText text;
  int calls = 0;
  auto format = [&](int64_t s) {
    ++calls;
    return std::to_string(s);
  };
  EXPECT_EQ(text.get(5, format), "5");
  EXPECT_EQ(text.get(5, format), "5");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(text.get(6, format), "6");
  EXPECT_EQ(text.get(5, format), "5");
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace sstrace::output
