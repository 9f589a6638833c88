#include "output/skmem_text.h"

#include <gtest/gtest.h>

namespace sstrace::output {
namespace {

using diag::SockInfo;

TEST(SkmemText, skmem_prints_what_the_kernel_sent) {
  SockInfo s;
  EXPECT_EQ(skmem_text(s), "");
  s.has_skmem = true;
  s.skmem = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(skmem_text(s), " skmem:(r1,rb2,t3,tb4,f5,w6,o7,bl8,d9)");
  s.skmem_count = 7;  // a kernel from before backlog and drops
  EXPECT_EQ(skmem_text(s), " skmem:(r1,rb2,t3,tb4,f5,w6,o7)");
  s.has_skmem = false;
  s.has_meminfo = true;
  s.meminfo = {10, 20, 30, 40};
  EXPECT_EQ(skmem_text(s), " mem:(r10,w20,f30,t40)");
}

}  // namespace
}  // namespace sstrace::output
