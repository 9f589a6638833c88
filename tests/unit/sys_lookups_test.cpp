#include <gtest/gtest.h>

#include "sys/cgroup_paths.h"
#include "sys/interface_names.h"
#include "sys/port_range.h"

namespace sstrace::sys {
namespace {

// The lookups return data, not text: an absent name is nullopt, and the
// spelling of that ("if<N>", "unreachable:<id>") is output/'s.
TEST(SysLookups, absent_names_are_nullopt) {
  EXPECT_EQ(interface_name(1), "lo");  // loopback is ifindex 1 in every namespace
  EXPECT_EQ(interface_name(0x7ffffff0), std::nullopt);
  EXPECT_EQ(cgroup_path(0xfffffffffff1), std::nullopt);
}

TEST(SysLookups, local_port_range_is_a_range) {
  const auto [lo, hi] = local_port_range();
  EXPECT_LE(lo, hi);
  EXPECT_EQ(local_port_range(), std::pair(lo, hi));  // read once
}

}  // namespace
}  // namespace sstrace::sys
