#include "output/timestamps.h"

#include <gtest/gtest.h>

#include <chrono>

namespace sstrace::output {
namespace {

TEST(Timestamps, rfc3339_has_microseconds_and_z) {
  EXPECT_EQ(rfc3339_utc_ns(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(rfc3339_utc_ns(1795314667123456789LL), "2026-11-22T02:31:07.123456Z");
  EXPECT_EQ(rfc3339_utc(std::chrono::system_clock::time_point(
                std::chrono::microseconds(1795314667123456LL))),
            "2026-11-22T02:31:07.123456Z");
}

}  // namespace
}  // namespace sstrace::output
