// CONTRACT.md's exit statuses: 2 for a usage error (bad option, bad filter)
// with one line on stderr saying what and where; 1 for anything else, with
// a message that says what to do. Filters that ss accepts but that cannot
// mean anything (a port outside 0-65535, a negative port) are usage errors.
#include <unistd.h>

#include <fstream>
#include <memory>

#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

struct BadCase {
  std::vector<std::string> args;  // after the binary
  std::string mentions;           // the one line must name what is wrong
};

RunResult run_sstrace(const std::vector<std::string>& args) {
  std::vector<std::string> argv{sstrace_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, "", std::chrono::seconds(20));
}

::testing::AssertionResult usage_error(const BadCase& c) {
  RunResult r = run_sstrace(c.args);
  auto lines = r.err_lines();
  auto what = [&] {
    return "\n$ " + r.command + "\nexit " + std::to_string(r.status) + "\nstdout:\n" + r.out +
           "stderr:\n" + r.err;
  };
  if (r.status != 2) return ::testing::AssertionFailure() << "exit status is not 2" << what();
  if (lines.size() != 1)
    return ::testing::AssertionFailure()
           << "stderr has " << lines.size() << " lines, not exactly one" << what();
  if (!c.mentions.empty() && lines[0].find(c.mentions) == std::string::npos)
    return ::testing::AssertionFailure()
           << "the message does not name '" << c.mentions << "'" << what();
  if (!r.out.empty())
    return ::testing::AssertionFailure() << "a usage error printed on stdout" << what();
  return ::testing::AssertionSuccess();
}

// None of these needs privileges: a usage error is found before anything
// touches the kernel.
TEST(UsageErrors, unknown_option_exits_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-Q"}, "Q"}));
  EXPECT_TRUE(usage_error({{"-Q"}, "Q"}));
}

TEST(UsageErrors, bad_duration_exits_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"--duration", "abc"}, "abc"}));
  EXPECT_TRUE(usage_error({{"--duration", "-5"}, "-5"}));
}

// Issue 11: 2e10 and 1e99 overflowed the clock and stopped at once; 0 and
// -0 ran forever. Only a positive finite time is a duration.
TEST(UsageErrors, duration_that_is_not_a_positive_finite_time_exits_2) {
  EXPECT_TRUE(usage_error({{"--duration", "0"}, "not a positive number of seconds"}));
  EXPECT_TRUE(usage_error({{"--duration", "-0"}, "'-0' is not a number of seconds"}));
  EXPECT_TRUE(usage_error({{"--duration", "2e10"}, "more than ten years"}));
  EXPECT_TRUE(usage_error({{"--duration", "1e99"}, "more than ten years"}));
  EXPECT_TRUE(usage_error({{"--duration", "nan"}, "'nan' is not a number of seconds"}));
}

// Issue 11: ss's options that mean nothing to the live stream were
// accepted and ignored; the binary refuses each, before any privilege is
// needed, naming the option or the TCP-only rule.
TEST(UsageErrors, live_stream_refuses_options_it_would_ignore) {
  EXPECT_TRUE(usage_error({{"-l"}, "-l: not an option of the live stream"}));
  EXPECT_TRUE(usage_error({{"-D", "/tmp/x"}, "sstrace snapshot -D"}));
  for (auto args : {std::vector<std::string>{"-u"}, {"-x"}, {"-f", "unix"}, {"-A", "udp"}})
    EXPECT_TRUE(usage_error({args, "the live stream follows TCP only"}));
}

TEST(UsageErrors, port_out_of_range_exits_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "sport", "=", ":70000"}, "70000"}));
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "sport = :70000"}, "70000"}));
  EXPECT_TRUE(usage_error({{"sport", "=", ":70000"}, "70000"}));
}

TEST(UsageErrors, negative_port_exits_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "dport", "=", ":-1"}, "-1"}));
  EXPECT_TRUE(usage_error({{"dport", "=", ":-1"}, "-1"}));
}

TEST(UsageErrors, unbalanced_parenthesis_exits_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "(", "sport"}, ""}));
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "( sport = :22"}, ""}));
  EXPECT_TRUE(usage_error({{"(", "sport"}, ""}));
}

TEST(UsageErrors, unknown_state_exits_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "state", "bogus"}, "bogus"}));
  EXPECT_TRUE(usage_error({{"state", "bogus"}, "bogus"}));
}

TEST(UsageErrors, bad_family_and_query_exit_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-f", "bogus"}, "bogus"}));
  EXPECT_TRUE(usage_error({{"snapshot", "-A", "bogus"}, "bogus"}));
}

// /dev/zero grew memory without bound (one endless line), an empty stdin
// for `-F -` meant "match everything", a NUL byte cut a line short.
TEST(UsageErrors, filter_files_that_are_not_filters_exit_2_with_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "-F", "/dev/zero"}, "NUL byte"}));
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "-F", "-"}, "standard input is empty"}));
  EXPECT_TRUE(usage_error({{"-F", "-"}, "standard input is empty"}));
  std::string big = "/tmp/sstrace-e2e-bigfilter-" + std::to_string(getpid());
  {
    std::ofstream out(big);
    out << std::string(2 << 20, '\n');
  }
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "-F", big}, "larger than 1 MiB"}));
  unlink(big.c_str());
}

// Messages quote what they were given: an escape sequence or a newline in
// it must come out visible, on one line.
TEST(UsageErrors, control_characters_in_arguments_are_escaped_in_the_one_line) {
  EXPECT_TRUE(usage_error({{"snapshot", "-tan", "sport = :ab\x1b[2J"}, "\\x1b[2J"}));
  RunResult r = run_sstrace({"snapshot", "-tan", "-F", "/nonexistent/a\nb\x07"});
  EXPECT_TRUE(r.status == 1 || r.status == 2) << r.status;
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/a\\x0ab\\x07"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.err.find('\x07'), std::string::npos);
}

// A hint must name the real cause: a -D path is about the path (it was
// blamed on sock_diag), too few descriptors about ulimit (it was blamed on
// the verifier).
TEST(UsageErrors, hints_name_the_real_cause) {
  SSTRACE_REQUIRE_PRIVILEGES();
  RunResult d = run_sstrace({"snapshot", "-tan", "-D", "/nonexistent/raw.bin"});
  EXPECT_EQ(d.status, 1);
  ASSERT_EQ(d.err_lines().size(), 1u) << d.err;
  EXPECT_NE(d.err.find("/nonexistent/raw.bin': No such file or directory"), std::string::npos);
  EXPECT_EQ(d.err.find("modprobe"), std::string::npos) << d.err;
  RunResult f = run_shell("ulimit -n 12; exec " + sstrace_binary() + " --duration 1 >/dev/null");
  EXPECT_EQ(f.status, 1);
  ASSERT_EQ(f.err_lines().size(), 1u) << f.err;
  EXPECT_NE(f.err.find("ulimit -n"), std::string::npos) << f.err;
  EXPECT_EQ(f.err.find("verifier"), std::string::npos) << f.err;
}

TEST(UsageErrors, missing_filter_file_is_an_error_with_one_line) {
  // ss treats an unreadable -F file as a usage error too; either way it is
  // one line that names the file, and not success.
  std::string path = "/nonexistent/sstrace-e2e-filter-" + std::to_string(getpid());
  RunResult r = run_sstrace({"snapshot", "-tan", "-F", path});
  EXPECT_TRUE(r.status == 1 || r.status == 2) << r.status << "\n" << r.err;
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
}

TEST(UsageErrors, missing_namespace_exits_1_with_one_clear_line) {
  SSTRACE_REQUIRE_PRIVILEGES();
  std::string name = "sstrace-e2e-missing-" + std::to_string(getpid());
  for (auto args : std::vector<std::vector<std::string>>{{"snapshot", "-tan", "-N", name},
                                                         {"snapshot", "-s", "-N", name}}) {
    RunResult r = run_sstrace(args);
    EXPECT_EQ(r.status, 1) << r.command << "\n" << r.err;
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.command << "\n" << r.err;
    EXPECT_NE(lines[0].find(name), std::string::npos) << "names the namespace: " << lines[0];
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// A filter that matches nothing lists nothing, and ss agrees.
class EmptyResults : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
    build_mixed_world(*socks_);
  }
  void TearDown() override {
    socks_.reset();
    ns_.reset();
  }
  void expect_empty(const std::string& args) {
    SCOPED_TRACE(args);
    Parity p = compare_with_ss(*ns_, shell_split(args));
    EXPECT_TRUE(same_as_ss(p, 0));
    EXPECT_EQ(p.ss_table.rows.size(), 0u) << "the fixture matches " << args << ":\n" << p.ss.out;
    EXPECT_EQ(p.sstrace_table.rows.size(), 0u) << p.sstrace.out;
  }
  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
};

TEST_F(EmptyResults, filter_matching_nothing_lists_nothing) {
  expect_empty("-tan sport = :1");
  expect_empty("-tan dst 127.99.99.99");
  expect_empty("-tan src [::2]");
  expect_empty("-uan dport = :4");
  expect_empty("-tan state closed");
  expect_empty("-tan '( sport = :8080 and sport = :9090 )'");
  expect_empty("-xa src /nonexistent/socket");
}

TEST_F(EmptyResults, json_filter_matching_nothing_prints_nothing) {
  for (const char* args : {"-tan sport = :1", "-tan state closed"}) {
    std::vector<std::string> argv = shell_split(args);
    argv.push_back("--json");
    RunResult r = run_snapshot(*ns_, argv);
    EXPECT_EQ(r.status, 0) << r.command << "\n" << r.err;
    EXPECT_EQ(r.out, "") << r.command;
  }
}

}  // namespace
}  // namespace sstrace::e2e
