#include "output/users_text.h"

#include <gtest/gtest.h>

#include <vector>

namespace sstrace::output {
namespace {

TEST(UsersText, users_as_ss_p_prints_them) {
  std::vector<sys::SocketUser> users = {{"sshd", 812, 3}, {"sshd", 813, 4}};
  EXPECT_EQ(users_text(users), R"(users:(("sshd",pid=812,fd=3),("sshd",pid=813,fd=4)))");
  EXPECT_EQ(users_text({}), "");
  // ss -p reads the name with "%*d (%[^)]": cut at the first ')'.
  std::vector<sys::SocketUser> odd = {{"own (a) b", 7, 1}, {")x", 8, 2}, {"a b", 9, 3}};
  EXPECT_EQ(users_text(odd), R"(users:(("own (a",pid=7,fd=1),("",pid=8,fd=2),("a b",pid=9,fd=3)))");
}

TEST(UsersText, ss_process_name_stops_at_the_first_paren) {
  EXPECT_EQ(ss_process_name("sshd"), "sshd");
  EXPECT_EQ(ss_process_name("own (a) b"), "own (a");
  EXPECT_EQ(ss_process_name("x)"), "x");
  EXPECT_EQ(ss_process_name(")"), "");
  EXPECT_EQ(ss_process_name(""), "");
}

}  // namespace
}  // namespace sstrace::output
