// Namespace helpers that can be checked without creating a namespace:
// names, paths, error messages and the inode of our own namespace. Entering
// a namespace needs CAP_SYS_ADMIN; that part skips without it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "sys/netns.h"

namespace sstrace::sys {
namespace {

TEST(Netns, path_of_a_name) { EXPECT_EQ(netns_path("blue"), "/run/netns/blue"); }

TEST(Netns, names_ip_netns_would_refuse) {
  EXPECT_TRUE(valid_netns_name("blue"));
  EXPECT_TRUE(valid_netns_name("ns-1.test"));
  EXPECT_FALSE(valid_netns_name(""));
  EXPECT_FALSE(valid_netns_name("."));
  EXPECT_FALSE(valid_netns_name(".."));
  EXPECT_FALSE(valid_netns_name("a/b"));
  EXPECT_FALSE(valid_netns_name("../etc"));
  EXPECT_FALSE(valid_netns_name(std::string(300, 'x')));

  auto r = open_netns("../etc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EINVAL);
}

TEST(Netns, missing_namespace_says_so) {
  const std::string name = "sstrace-unit-test-no-such-ns";
  auto r = enter_netns(name);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "network namespace '" + name + "' not found (/run/netns/" + name + ")");
  EXPECT_EQ(r.error().err, ENOENT);
  EXPECT_FALSE(NetnsScope::enter(name));
}

TEST(Netns, current_inode_is_our_namespace) {
  auto ino = current_netns_inode();
  ASSERT_TRUE(ino) << ino.error().str();
  struct stat st {};
  ASSERT_EQ(stat("/proc/self/ns/net", &st), 0);  // the test runs on the main thread
  EXPECT_EQ(*ino, static_cast<uint32_t>(st.st_ino));

  UniqueFd fd(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  auto by_fd = netns_inode(fd.get());
  ASSERT_TRUE(by_fd);
  EXPECT_EQ(*by_fd, *ino);
}

TEST(Netns, listing_does_not_fail) {
  auto names = list_netns();
  ASSERT_TRUE(names) << names.error().str();
  for (const auto& n : *names) EXPECT_TRUE(valid_netns_name(n)) << n;
}

TEST(Netns, scope_enters_and_restores) {
  UniqueFd self(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(self);
  auto before = current_netns_inode();
  ASSERT_TRUE(before);
  {
    // Entering our own namespace exercises setns and the restore path
    // without building a namespace in a unit test.
    auto scope = NetnsScope::enter_fd(self.get(), "(self)");
    if (!scope && scope.error().err == EPERM) GTEST_SKIP() << "needs CAP_SYS_ADMIN";
    ASSERT_TRUE(scope) << scope.error().str();
    EXPECT_EQ(*current_netns_inode(), *before);
  }
  EXPECT_EQ(*current_netns_inode(), *before);
}

TEST(UniqueFd, closes_once_and_moves) {
  int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(b.get(), raw);
  }
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace sstrace::sys
