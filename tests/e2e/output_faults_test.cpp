// Faults of the output (issue 11): a write that fails is a message naming
// the file and the error, exit 1, and no cut-off line left behind; a closed
// pipe is a quiet exit 0, promptly even when no event flows; a closed
// stdout is refused before anything could be written into another fd; a
// SIGUSR1 right after exec does not kill.
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "harness.h"

namespace sstrace::e2e {
namespace {

using namespace std::chrono_literals;

// A 64 KiB tmpfs, unmounted and removed by the destructor.
class TinyFs {
 public:
  TinyFs() {
    char tmpl[] = "/tmp/sstrace-tinyfs-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=64k") != 0)
      throw std::runtime_error("mount tmpfs on " + dir_ + " failed");
  }
  ~TinyFs() {
    umount2(dir_.c_str(), MNT_DETACH);
    rmdir(dir_.c_str());
  }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Enough listeners that their snapshot events overflow 64 KiB.
void many_listeners(SocketSet& set, int n) {
  for (int i = 0; i < n; ++i) set.tcp_listen("127.0.0.1");
}

std::string describe(const RunResult& r) {
  return "\n$ " + r.command + "\nexit " + std::to_string(r.status) + "\nstderr:\n" + r.err;
}

// One line on stderr naming the file and ENOSPC, exit 1, and a file that
// ends with a whole line.
void expect_full_disk_failure(const RunResult& r, const std::string& file, bool json) {
  EXPECT_FALSE(r.timed_out) << describe(r);
  EXPECT_EQ(r.status, 1) << describe(r);
  auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << describe(r);
  EXPECT_NE(lines[0].find(file), std::string::npos) << "names the file" << describe(r);
  EXPECT_NE(lines[0].find("No space left on device"), std::string::npos) << describe(r);
  std::string out = slurp(file);
  ASSERT_GT(out.size(), 1000u) << "something was written before the disk filled";
  EXPECT_EQ(out.back(), '\n') << "a cut-off line was left at the end of " << file;
  if (json) {
    std::string error;
    parse_json_lines(out, &error);
    EXPECT_EQ(error, "") << "every line left is whole JSON";
  }
}

// Runs the command argv_for(namespace, json) gives into a file on a 64 KiB
// tmpfs, in JSON and in text, with enough sockets to fill it.
void expect_whole_lines_on_a_full_tmpfs(
    const std::function<std::vector<std::string>(const std::string&, bool)>& argv_for) {
  Netns ns;
  SocketSet set(ns);
  many_listeners(set, 1000);
  TinyFs fs;
  for (bool json : {true, false}) {
    std::string file = fs.file(json ? "out.jsonl" : "out.txt");
    RunResult r = run_shell(shell_join(argv_for(ns.name(), json)) + " > " + file, 60s);
    expect_full_disk_failure(r, file, json);
    unlink(file.c_str());
  }
}

TEST(OutputFaults, live_stream_on_a_full_tmpfs_is_exit_1_with_whole_lines) {
  SSTRACE_REQUIRE_PRIVILEGES();
  expect_whole_lines_on_a_full_tmpfs([](const std::string& ns, bool json) {
    return std::vector<std::string>{
        sstrace_binary(), json ? "--json" : "-n", "-N", ns, "--duration", "20"};
  });
}

TEST(OutputFaults, snapshot_on_a_full_tmpfs_is_exit_1_with_whole_lines) {
  SSTRACE_REQUIRE_PRIVILEGES();
  expect_whole_lines_on_a_full_tmpfs([](const std::string& ns, bool json) {
    return std::vector<std::string>{sstrace_binary(), "snapshot", json ? "--json" : "-n",
                                    "-tanie",         "-N",       ns};
  });
}

TEST(OutputFaults, dev_full_is_exit_1_naming_it) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketSet set(ns);
  set.tcp_listen("127.0.0.1");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--json", "--duration", "3"}, {"snapshot", "-tan"}}) {
    std::vector<std::string> argv{sstrace_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-N", ns.name()});
    RunResult r = run_shell(shell_join(argv) + " > /dev/full", 30s);
    EXPECT_EQ(r.status, 1) << describe(r);
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << describe(r);
    EXPECT_NE(lines[0].find("/dev/full"), std::string::npos) << describe(r);
    EXPECT_NE(lines[0].find("No space left on device"), std::string::npos) << describe(r);
  }
}

TEST(OutputFaults, a_closed_pipe_ends_a_quiet_stream_promptly_and_cleanly) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;  // empty: after `sync` no event will ever flow
  auto start = std::chrono::steady_clock::now();
  RunResult r = run_shell("{ " + shell_join({sstrace_binary(), "-j", "-N", ns.name()}) +
                              "; echo \"sstrace-exit=$?\" >&2; } | head -1",
                          30s);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.timed_out) << "sstrace kept running with nobody reading" << describe(r);
  EXPECT_NE(r.err.find("sstrace-exit=0"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("\"sync\""), std::string::npos) << r.out;
  EXPECT_LT(took, 10s) << "it took longer to notice than to start";
}

TEST(OutputFaults, closed_stdout_is_refused_before_anything_is_written) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  for (const char* cmd : {"--json --duration 2", "snapshot -tan"}) {
    RunResult r = run_shell(sstrace_binary() + " " + cmd + " -N " + ns.name() + " >&-", 30s);
    EXPECT_EQ(r.status, 1) << describe(r);
    auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << describe(r);
    EXPECT_NE(lines[0].find("standard output is closed"), std::string::npos) << describe(r);
  }
}

// fds 0 and 2 closed at start are taken by /dev/null before anything opens:
// the stream runs and its events still reach stdout, and `-F -` on a closed
// stdin is the "empty or closed" usage error, not "match everything".
TEST(OutputFaults, closed_stdin_and_stderr_leave_the_stream_working) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  RunResult r = run_shell(
      shell_join({sstrace_binary(), "--json", "-N", ns.name(), "--duration", "1"}) + " <&- 2>&-",
      30s);
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("{\"type\":\"sync\""), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("{\"type\":\"exit\""), std::string::npos) << describe(r);
  RunResult f = run_shell(
      shell_join({sstrace_binary(), "snapshot", "-tan", "-N", ns.name(), "-F", "-"}) + " <&-", 30s);
  EXPECT_EQ(f.status, 2) << describe(f);
  EXPECT_NE(f.err.find("standard input is empty or closed"), std::string::npos) << describe(f);
  EXPECT_EQ(f.out, "") << describe(f);
}

TEST(OutputFaults, sigusr1_right_after_exec_does_not_kill) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  std::string bin = sstrace_binary();
  // Wait until the child has exec'd sstrace and its first code has run
  // (SIGUSR1 ignored or caught in /proc/PID/status: bit 0x200), then
  // signal at once. Between the exec and that, only the dynamic loader runs,
  // mapping a dozen libraries: no program can handle a signal there.
  std::string script = shell_join({bin, "--json", "-N", ns.name(), "--duration", "2"}) +
                       " > /dev/null & p=$!; "
                       "while [ \"$(readlink /proc/$p/exe)\" != \"$(readlink -f " +
                       bin +
                       ")\" ]; do :; done; "
                       "usr1() { awk -v f=$1 '$1 == f {print $2}' /proc/$p/status; }; "
                       "while [ $(( (0x$(usr1 SigIgn:) | 0x$(usr1 SigCgt:)) & 0x200 )) -eq 0 ]; "
                       "do :; done; "
                       "kill -USR1 $p; wait $p; echo \"sstrace-exit=$?\"";
  RunResult r = run_shell(script, 30s);
  EXPECT_NE(r.out.find("sstrace-exit=0"), std::string::npos) << describe(r) << r.out;
}

TEST(OutputFaults, sighup_is_ignored_by_the_live_stream) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  RunResult r =
      run_shell(shell_join({sstrace_binary(), "--json", "-N", ns.name(), "--duration", "3"}) +
                    " > /dev/null & p=$!; sleep 1; kill -HUP $p; wait $p; "
                    "echo \"sstrace-exit=$?\"",
                30s);
  EXPECT_NE(r.out.find("sstrace-exit=0"), std::string::npos) << describe(r) << r.out;
}

}  // namespace
}  // namespace sstrace::e2e
