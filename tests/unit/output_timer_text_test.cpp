#include "output/timer_text.h"

#include <gtest/gtest.h>

namespace sstrace::output {
namespace {

TEST(TimerText, timers_as_ss_prints_them) {
  EXPECT_EQ(timer_name(1), "on");
  EXPECT_EQ(timer_name(2), "keepalive");
  EXPECT_EQ(timer_name(3), "timewait");
  EXPECT_EQ(timer_name(4), "persist");
  EXPECT_EQ(timer_name(9), "unknown");
  // ss's print_ms_timer, including its "1.595ms" for 1.595 seconds.
  EXPECT_EQ(ms_timer(89 * 60000 + 12345), "89min");
  EXPECT_EQ(ms_timer(5 * 60000 + 7500), "5min7sec");
  EXPECT_EQ(ms_timer(5 * 60000 + 17500), "5min17sec");
  EXPECT_EQ(ms_timer(55000), "55sec");
  EXPECT_EQ(ms_timer(59999), "59sec");
  EXPECT_EQ(ms_timer(1595), "1.595ms");
  EXPECT_EQ(ms_timer(1000), "1sec");
  EXPECT_EQ(ms_timer(204), "204ms");
  EXPECT_EQ(ms_timer(7), "007ms");
  EXPECT_EQ(ms_timer(0), "");
  EXPECT_EQ(timer_text(2, 119 * 60000 + 59000, 0), "timer:(keepalive,119min,0)");
  EXPECT_EQ(timer_text(1, 201, 3), "timer:(on,201ms,3)");
  EXPECT_EQ(timer_text(3, 0, 0), "timer:(timewait,,0)");
}

}  // namespace
}  // namespace sstrace::output
