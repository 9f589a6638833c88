#include "output/rate_text.h"

#include <gtest/gtest.h>

namespace sstrace::output {
namespace {

TEST(RateText, rates_as_ss_prints_them) {
  EXPECT_EQ(rate_text(34952533333.3, false), "35G");
  EXPECT_EQ(rate_text(4.2e6, false), "4.2M");
  EXPECT_EQ(rate_text(76605488, false), "76.6M");
  EXPECT_EQ(rate_text(623792771840, false), "624G");
  EXPECT_EQ(rate_text(1.5e12, false), "1.5T");
  EXPECT_EQ(rate_text(834000, false), "834k");
  EXPECT_EQ(rate_text(999, false), "999");
  EXPECT_EQ(rate_text(0, false), "0");
  // -n: the plain number, rounded.
  EXPECT_EQ(rate_text(34952533333.3, true), "34952533333");
  EXPECT_EQ(rate_text(0, true), "0");
  EXPECT_EQ(g_text(0.075), "0.075");
  EXPECT_EQ(g_text(204), "204");
  EXPECT_EQ(g_text(739 / 256.0), "2.88672");
}

}  // namespace
}  // namespace sstrace::output
