// The pure part of the privilege handling: capability sets, their names,
// /proc's masks, and what each kind of run needs and keeps.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/privileges.h"
#include "common/result.h"
#include "sys/capabilities.h"

namespace sstrace {
namespace {

using sys::CapSet;

std::optional<cli::Options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "sstrace");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return cli::parse_options(int(args.size()), argv.data());
}

TEST(CapSet, holds_each_capability_as_its_bit) {
  CapSet s{CAP_BPF, CAP_PERFMON};
  EXPECT_EQ(s.mask(), (uint64_t{1} << 39) | (uint64_t{1} << 38));
  EXPECT_TRUE(s.has(CAP_BPF));
  EXPECT_FALSE(s.has(CAP_SYS_ADMIN));
  EXPECT_EQ(s.list(), (std::vector<int>{CAP_PERFMON, CAP_BPF}));
  EXPECT_EQ(s.minus({CAP_BPF}), CapSet{CAP_PERFMON});
  EXPECT_TRUE(CapSet{}.empty());
}

TEST(CapSet, names_read_as_a_sentence) {
  EXPECT_EQ(sys::describe_caps({}), "");
  EXPECT_EQ(sys::describe_caps({CAP_BPF}), "CAP_BPF");
  EXPECT_EQ(sys::describe_caps({CAP_BPF, CAP_PERFMON}), "CAP_PERFMON and CAP_BPF");
  EXPECT_EQ(sys::describe_caps({CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_BPF}),
            "CAP_SYS_PTRACE, CAP_SYS_ADMIN and CAP_BPF");
}

TEST(CapSet, parses_proc_status_masks) {
  EXPECT_EQ(sys::parse_cap_mask("0000000000000000"), CapSet{});
  EXPECT_EQ(sys::parse_cap_mask("0000000000200000\n"), CapSet{CAP_SYS_ADMIN});
  EXPECT_EQ(sys::parse_cap_mask("000001ffffffffff")->mask(), (uint64_t{1} << 41) - 1);
  EXPECT_EQ(sys::parse_cap_mask("000000C000000000"), (CapSet{CAP_BPF, CAP_PERFMON}));
  EXPECT_FALSE(sys::parse_cap_mask(""));
  EXPECT_FALSE(sys::parse_cap_mask("xyz"));
  EXPECT_FALSE(sys::parse_cap_mask("00000000000000000"));  // 17 digits: more than 64 bits
}

TEST(Privileges, a_plain_run_needs_bpf_and_perfmon_and_keeps_nothing) {
  auto o = parse({"--json"});
  ASSERT_TRUE(o);
  EXPECT_EQ(cli::caps_to_start(*o), (CapSet{CAP_BPF, CAP_PERFMON}));
  EXPECT_TRUE(cli::caps_to_keep(*o).empty());
}

TEST(Privileges, namespaces_btf_and_user_add_what_they_use) {
  auto n = parse({"-N", "web"});
  EXPECT_EQ(cli::caps_to_start(*n), (CapSet{CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN}));
  EXPECT_TRUE(cli::caps_to_keep(*n).empty());  // setns happens once, at the start

  auto all = parse({"--all-netns"});
  EXPECT_EQ(cli::caps_to_start(*all),
            (CapSet{CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE}));
  EXPECT_EQ(cli::caps_to_keep(*all), (CapSet{CAP_SYS_ADMIN, CAP_SYS_PTRACE}));

  auto btf = parse({"--btf", "/tmp/vmlinux"});
  EXPECT_EQ(cli::caps_to_start(*btf), (CapSet{CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN}));

  auto user = parse({"--user", "root"});
  EXPECT_EQ(cli::caps_to_start(*user), (CapSet{CAP_BPF, CAP_PERFMON, CAP_SETUID, CAP_SETGID}));
  EXPECT_TRUE(cli::caps_to_keep(*user).empty());
}

TEST(Privileges, sys_admin_stands_for_bpf_and_perfmon_as_in_the_kernel) {
  const CapSet needed{CAP_BPF, CAP_PERFMON};
  EXPECT_TRUE(cli::missing_caps(needed, {CAP_SYS_ADMIN}).empty());
  EXPECT_EQ(cli::missing_caps(needed, {CAP_BPF}), CapSet{CAP_PERFMON});
  EXPECT_EQ(cli::missing_caps(needed, {}), needed);
  // ... but not for the others.
  EXPECT_EQ(cli::missing_caps({CAP_SYS_ADMIN, CAP_SYS_PTRACE}, {CAP_SYS_ADMIN}),
            CapSet{CAP_SYS_PTRACE});
}

TEST(Privileges, user_is_resolved_when_the_options_are_read) {
  auto o = parse({"--user", "root"});
  ASSERT_TRUE(o && o->user);
  EXPECT_EQ(o->user->uid, 0u);
  EXPECT_EQ(o->user->name, "root");
  try {
    parse({"--user", "no-such-user-sstrace"});
    FAIL() << "an unknown user was accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--user: no such user 'no-such-user-sstrace'");
  }
  EXPECT_THROW(parse({"--btf", ""}), UsageError);
}

TEST(Privileges, user_and_btf_are_live_options_and_abbreviate) {
  EXPECT_THROW(parse({"snapshot", "--user", "root"}), UsageError);
  EXPECT_THROW(parse({"snapshot", "--btf", "/x"}), UsageError);
  auto top = parse({"top", "--us=root", "--bt", "/x"});
  ASSERT_TRUE(top);
  EXPECT_EQ(top->user->name, "root");
  EXPECT_EQ(top->btf_file, "/x");
  // "--u" and "--b" were ambiguous before (udp/unix, batch/by) and still are.
  EXPECT_THROW(parse({"--u", "root"}), UsageError);
  EXPECT_THROW(parse({"--b", "/x"}), UsageError);
}

}  // namespace
}  // namespace sstrace
