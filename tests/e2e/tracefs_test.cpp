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
  if (!tracefs_mounted()) {
    ASSERT_EQ(mount("nodev", kTracefs, "tracefs", 0, nullptr), 0);
  }
  RunResult r = run({sstrace_binary(), "--json", "-N", ns.name(), "--duration", "1"}, "", 30s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(tracefs_mounted()) << "sstrace unmounted a tracefs it did not mount";
}

// `sstrace --json --duration 1` in a new namespace, with tracefs mounted,
// as an unprivileged user holding the capabilities BPF and namespaces need
// plus `extra` ones. The stream itself must run whatever tracefs allows.
RunResult run_as_nobody_with_caps(const std::string& extra) {
  Netns ns;
  if (!tracefs_mounted()) {
    EXPECT_EQ(mount("nodev", kTracefs, "tracefs", 0, nullptr), 0);
  }
  const std::string caps = "+bpf,+perfmon,+net_admin,+sys_admin,+sys_nice,+sys_ptrace" + extra;
  RunResult r = run(
      {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=" + caps,
       "--ambient-caps=" + caps, sstrace_binary(), "--json", "-N", ns.name(), "--duration", "1"},
      "", 30s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("{\"type\":\"sync\""), std::string::npos) << r.out << r.err;
  return r;
}

// tracefs is root's (mode 0700): a user without CAP_DAC_READ_SEARCH cannot
// look inside. The note must say so, not "not mounted" and not "the kernel
// has no such tracepoint".
TEST(Tracefs, a_tracefs_mounted_but_unreadable_is_named_as_that) {
  SSTRACE_REQUIRE_PRIVILEGES();
  RunResult r = run_as_nobody_with_caps("");
  EXPECT_NE(r.err.find("tracefs is mounted but /sys/kernel/tracing/events cannot be read: "
                       "Permission denied"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("not mounted"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("no such tracepoint"), std::string::npos) << r.err;
}

// With CAP_DAC_READ_SEARCH the same user may read tracefs and every program
// attaches. The event check used access(), which tests the real uid and
// ignores capabilities, and blamed the kernel ("no such tracepoint").
TEST(Tracefs, a_tracefs_readable_through_a_capability_is_used) {
  SSTRACE_REQUIRE_PRIVILEGES();
  RunResult r = run_as_nobody_with_caps(",+dac_read_search");
  EXPECT_EQ(r.err.find("unavailable"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sstrace::e2e
