// sstrace mounts tracefs when it is missing (the classic syscall
// tracepoints attach through it) and leaves the host as it found it.
#include <sys/mount.h>

#include <cstring>
#include <fstream>

#include "harness.h"

namespace sstrace::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTracefs = "/sys/kernel/tracing";

bool tracefs_mounted() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(std::string(" ") + kTracefs + " ") != std::string::npos &&
        line.find(" - tracefs ") != std::string::npos)
      return true;
  return false;
}

// Unmounts tracefs for the test and mounts it back after, whatever happens.
class TracefsAway {
 public:
  TracefsAway() : was_mounted_(tracefs_mounted()) {
    if (was_mounted_ && umount(kTracefs) != 0)
      throw std::runtime_error(std::string("cannot unmount tracefs for the test: ") +
                               std::strerror(errno));
  }
  ~TracefsAway() {
    if (was_mounted_ && !tracefs_mounted()) mount("nodev", kTracefs, "tracefs", 0, nullptr);
  }

 private:
  bool was_mounted_;
};

TEST(Tracefs, a_tracefs_sstrace_mounted_is_unmounted_on_exit) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  TracefsAway away;
  ASSERT_FALSE(tracefs_mounted());
  RunResult r = run({sstrace_binary(), "--json", "-N", ns.name(), "--duration", "1"}, "", 30s);
  EXPECT_EQ(r.status, 0) << r.err;
  // Every program attached: no degradation note about tracefs.
  EXPECT_EQ(r.err.find("tracefs"), std::string::npos) << r.err;
  EXPECT_FALSE(tracefs_mounted()) << "sstrace left the tracefs it mounted behind";
}

TEST(Tracefs, a_tracefs_that_was_there_stays) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  if (!tracefs_mounted()) ASSERT_EQ(mount("nodev", kTracefs, "tracefs", 0, nullptr), 0);
  RunResult r = run({sstrace_binary(), "--json", "-N", ns.name(), "--duration", "1"}, "", 30s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(tracefs_mounted()) << "sstrace unmounted a tracefs it did not mount";
}

}  // namespace
}  // namespace sstrace::e2e
