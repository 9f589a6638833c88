// ss's PROC_ROOT / PROC_NET_* resolution (iproute2 misc/ss.c
// generic_proc_open and the netlink-or-file choice in tcp_show & co).
#include "sys/proc_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace sstrace::sys {
namespace {

// Clears the variables these tests set, before and after each.
class ProcEnv : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* v : {"PROC_ROOT", "PROC_NET_RAW", "PROC_NET_RAW6", "PROC_NET_TCP6"})
      unsetenv(v);
  }
};

TEST_F(ProcEnv, nothing_set_means_the_kernel_answers) {
  EXPECT_EQ(proc_root(), "/proc");
  EXPECT_FALSE(proc_root_set());
  EXPECT_EQ(proc_file("PROC_NET_SNMP", "net/snmp"), "/proc/net/snmp");
  EXPECT_EQ(proc_table_override("PROC_NET_RAW", "PROC_NET_RAW6", "raw"), std::nullopt);
}

TEST_F(ProcEnv, proc_root_moves_every_file) {
  setenv("PROC_ROOT", "/host/proc", 1);
  EXPECT_EQ(proc_root(), "/host/proc");
  auto t = proc_table_override("PROC_NET_RAW", "PROC_NET_RAW6", "raw");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->v4, "/host/proc/net/raw");
  EXPECT_EQ(t->v6, "/host/proc/net/raw6");
  EXPECT_EQ(t->v4_from, "PROC_ROOT");
  EXPECT_STREQ(t->env, "PROC_ROOT");
  // Set but empty still counts, as getenv() != NULL does in ss.
  setenv("PROC_ROOT", "", 1);
  EXPECT_TRUE(proc_root_set());
  EXPECT_EQ(proc_file("X_UNSET", "net/tcp"), "/net/tcp");
}

TEST_F(ProcEnv, the_ipv4_variable_decides_for_its_protocol) {
  setenv("PROC_NET_RAW", "/tmp/raw", 1);
  auto t = proc_table_override("PROC_NET_RAW", "PROC_NET_RAW6", "raw");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->v4, "/tmp/raw");
  EXPECT_EQ(t->v6, "/proc/net/raw6");
  EXPECT_EQ(t->v6_from, "/proc while PROC_NET_RAW is set");
  setenv("PROC_NET_RAW6", "/tmp/raw6", 1);
  EXPECT_EQ(proc_table_override("PROC_NET_RAW", "PROC_NET_RAW6", "raw")->v6, "/tmp/raw6");
  // The IPv6 variable alone moves nothing: ss still asks sock_diag.
  setenv("PROC_NET_TCP6", "/tmp/tcp6", 1);
  EXPECT_EQ(proc_table_override("PROC_NET_TCP", "PROC_NET_TCP6", "tcp"), std::nullopt);
}

}  // namespace
}  // namespace sstrace::sys
