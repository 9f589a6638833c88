#include "common/result.h"

#include <gtest/gtest.h>

namespace sstrace {
namespace {

TEST(Result, carries_value_or_error) {
  Result<int> good = 42;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);

  Result<int> bad = Error{"failed to open netlink socket", EACCES};
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().str(), "failed to open netlink socket: Permission denied");
}

TEST(Result, error_without_errno_is_just_the_message) {
  Result<void> bad = Error{"bad filter"};
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().str(), "bad filter");
  EXPECT_TRUE(Result<void>().ok());
}

}  // namespace
}  // namespace sstrace
