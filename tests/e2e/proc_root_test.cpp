// ss's PROC_ROOT and PROC_NET_* variables (issue 13, "ss's surface"): with
// them set, ss reads TCP, UDP and RAW sockets from the named /proc/net
// files instead of sock_diag, -s's counts from sockstat and snmp there,
// and -p's owners from <PROC_ROOT>/<pid>/fd. A tree copied out of a test
// namespace (plus a made-up owner, and lines no kernel holds) is read by
// ss and by sstrace snapshot with the same environment; the outputs are
// compared byte for byte, as both read the same unchanging files.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

size_t lines_of(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// The inode column (10th field) of the first line of a /proc/net table
// whose state column (4th field) is `state` (hex text, e.g. "0A").
std::string first_inode_in_state(const std::string& table, const std::string& state) {
  std::istringstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::vector<std::string> w;
    for (std::string x; f >> x;) w.push_back(x);
    if (w.size() >= 10 && w[3] == state && w[9] != "0") return w[9];
  }
  return "";
}

class ProcRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
    build_mixed_world(*socks_);
    char dir[] = "/dev/shm/sstrace-procroot.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
    ASSERT_EQ(mkdir((root_ + "/net").c_str(), 0755), 0);
    // The namespace's tables as they are now; from here on they hold still.
    for (const char* name :
         {"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "sockstat", "sockstat6", "snmp"}) {
      RunResult r = ns_->enter({"cat", std::string("/proc/net/") + name});
      ASSERT_EQ(r.status, 0) << r.command << ": " << r.err;
      write_file(root_ + "/net/" + name, r.out);
    }
    // A process that exists only in this tree: "fake-owner" (pid 4242)
    // holding the first TCP listener of the copy as fd 7.
    const std::string listener = first_inode_in_state(read(root_ + "/net/tcp"), "0A");
    ASSERT_NE(listener, "");
    ASSERT_EQ(mkdir((root_ + "/4242").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/4242/fd").c_str(), 0755), 0);
    ASSERT_EQ(symlink(("socket:[" + listener + "]").c_str(), (root_ + "/4242/fd/7").c_str()), 0);
    ASSERT_EQ(symlink("/dev/null", (root_ + "/4242/fd/0").c_str()), 0);
    write_file(root_ + "/4242/stat", "4242 (fake-owner) S 1 4242 4242 0 -1 4194560 0\n");
    write_file(root_ + "/4242/comm", "fake-owner\n");
  }
  void TearDown() override {
    if (!root_.empty()) run({"rm", "-rf", root_});
    socks_.reset();  // sockets first: they pin the namespace
    ns_.reset();
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // `env VARS... TOOL ARGS...` outside any test namespace: the files name
  // everything that is read.
  static RunResult with_env(const std::vector<std::string>& vars,
                            const std::vector<std::string>& tool,
                            const std::vector<std::string>& args) {
    std::vector<std::string> argv{"env"};
    argv.insert(argv.end(), vars.begin(), vars.end());
    argv.insert(argv.end(), tool.begin(), tool.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  static std::vector<std::string> sstrace() { return {sstrace_binary(), "snapshot"}; }

  // ss and sstrace with the same variables and arguments print the same
  // bytes, and list something.
  void expect_same(const std::vector<std::string>& vars, const std::vector<std::string>& args,
                   size_t min_lines = 2) {
    RunResult theirs = with_env(vars, {"ss"}, args);
    RunResult mine = with_env(vars, sstrace(), args);
    const std::string what = shell_join(vars) + " " + shell_join(args);
    ASSERT_EQ(theirs.status, 0) << what << ": " << theirs.err;
    EXPECT_EQ(mine.status, 0) << what << ": " << mine.err;
    EXPECT_EQ(mine.err, "") << what;
    EXPECT_EQ(mine.out, theirs.out) << what;
    EXPECT_GE(lines_of(theirs.out), min_lines) << what << ": the fixture listed too little";
  }

  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
  std::string root_;
};

TEST_F(ProcRoot, tcp_udp_raw_and_owners_come_from_the_tree_as_in_ss) {
  const std::vector<std::string> env{"PROC_ROOT=" + root_};
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"-tan"},
                                             {"-tn"},
                                             {"-tln"},
                                             {"-uan"},
                                             {"-wan"},
                                             {"-tuwan"},
                                             {"-4tan"},
                                             {"-6uan"},
                                             {"-tanp"},
                                             {"-tlp"},
                                             {"-tan", "sport", ">", ":1024"},
                                             {"-tan", "dst", "127.0.0.1"},
                                             {"-tn", "state", "established"},
                                             {"-tuwan", "-H"}}) {
    expect_same(env, args, args.back() == "-H" ? 1 : 2);
  }
  // The owner exists only in the tree: -p found it there, not in /proc.
  RunResult mine = with_env(env, sstrace(), {"-tlnp"});
  EXPECT_NE(mine.out.find("users:((\"fake-owner\",pid=4242,fd=7))"), std::string::npos) << mine.out;
}

TEST_F(ProcRoot, summary_counts_come_from_the_tree_as_in_ss) {
  expect_same({"PROC_ROOT=" + root_}, {"-s"});
  // A made-up count proves the file is read: 777 sockets in use.
  std::string sockstat = read(root_ + "/net/sockstat");
  const size_t used = sockstat.find("used ");
  ASSERT_NE(used, std::string::npos);
  sockstat.replace(used + 5, sockstat.find('\n', used) - used - 5, "777");
  write_file(root_ + "/sockstat.edited", sockstat);
  expect_same({"PROC_NET_SOCKSTAT=" + root_ + "/sockstat.edited"}, {"-s"});
  RunResult mine = with_env({"PROC_NET_SOCKSTAT=" + root_ + "/sockstat.edited"}, sstrace(), {"-s"});
  EXPECT_EQ(mine.out.rfind("Total: 777\n", 0), 0u) << mine.out;
}

TEST_F(ProcRoot, one_protocol_variable_moves_that_table_only) {
  // A RAW socket no kernel holds: protocol 99 bound to 10.9.9.9, inode 4711.
  std::string raw = read(root_ + "/net/raw");
  raw +=
      "  99: 0909090A:0063 00000000:0000 07 00000000:00000000 00:00000000 00000000     0"
      "        0 4711 2 0000000000000000 0\n";
  write_file(root_ + "/raw.edited", raw);
  const std::vector<std::string> env{"PROC_NET_RAW=" + root_ + "/raw.edited"};
  expect_same(env, {"-wan"});
  expect_same(env, {"-4wan", "src", "10.9.9.9"}, 2);
  RunResult mine = with_env(env, sstrace(), {"-wan"});
  EXPECT_NE(mine.out.find("10.9.9.9"), std::string::npos) << mine.out;

  // PROC_NET_TCP alone: TCP from the file (one made-up listener on :9),
  // UDP still from the kernel (of the caller's namespace, like ss).
  std::string tcp = read(root_ + "/net/tcp");
  tcp +=
      "  99: 0100007F:0009 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
      "        0 4712 1 0000000000000000 100 0 0 10 0\n";
  write_file(root_ + "/tcp.edited", tcp);
  expect_same({"PROC_NET_TCP=" + root_ + "/tcp.edited"}, {"-tln"});
  expect_same({"PROC_NET_TCP=" + root_ + "/tcp.edited"}, {"-tln", "sport", "=", ":9"}, 2);
  // PROC_NET_TCP6 alone does not: ss asks sock_diag unless PROC_NET_TCP or
  // PROC_ROOT is set, so the kernel's TCP table (ours) shows.
  RunResult v6 = with_env({"PROC_NET_TCP6=/nonexistent"}, sstrace(), {"-tln"});
  EXPECT_EQ(v6.status, 0) << v6.err;
}

// sstrace with these variables and arguments fails: exit 1, one stderr
// line "sstrace: ..." containing `said`, nothing on stdout.
struct Refusal {
  std::vector<std::string> env;
  std::vector<std::string> args;
  std::string said;
};

void expect_refused(const std::vector<Refusal>& cases) {
  for (const Refusal& c : cases) {
    RunResult r = run([&] {
      std::vector<std::string> argv{"env"};
      argv.insert(argv.end(), c.env.begin(), c.env.end());
      argv.insert(argv.end(), {sstrace_binary(), "snapshot"});
      argv.insert(argv.end(), c.args.begin(), c.args.end());
      return argv;
    }());
    const std::string what = shell_join(c.env) + " " + shell_join(c.args);
    EXPECT_EQ(r.status, 1) << what << ": " << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << what << ": " << r.err;
    EXPECT_EQ(r.err.rfind("sstrace: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.said), std::string::npos) << what << ": " << r.err;
    EXPECT_EQ(r.out, "") << what;
  }
}

TEST_F(ProcRoot, a_file_that_cannot_be_read_or_parsed_is_exit_1_naming_it) {
  write_file(root_ + "/garbage", "  sl  local_address\nhello world\n");
  expect_refused({
      {{"PROC_NET_RAW=/nonexistent/raw"}, {"-wan"}, "/nonexistent/raw (from PROC_NET_RAW)"},
      {{"PROC_ROOT=/nonexistent"}, {"-tan"}, "/nonexistent/net/tcp (from PROC_ROOT)"},
      {{"PROC_ROOT=" + root_, "PROC_NET_UDP6=/nonexistent/u6"},
       {"-uan"},
       "/nonexistent/u6 (from PROC_NET_UDP6)"},
      {{"PROC_NET_UDP=" + root_ + "/garbage"}, {"-uan"}, "hello world"},
      {{"PROC_ROOT=/nonexistent"}, {"-s"}, "/nonexistent/net/sockstat"},
      {{"PROC_ROOT=" + root_}, {"-tan", "-D", root_ + "/dump"}, "a file is no dump to save"},
  });
}

TEST_F(ProcRoot, tables_sstrace_cannot_read_from_a_file_are_refused_not_dumped) {
  // ss would read /proc/net/unix, packet and netlink under PROC_ROOT; with
  // no reader for those, sstrace says so rather than show the kernel's.
  expect_refused({
      {{"PROC_ROOT=" + root_}, {"-xa"}, "UNIX sockets from " + root_ + "/net/unix"},
      {{"PROC_ROOT=" + root_}, {"-a"}, "sockets from " + root_ + "/net/"},
      {{"PROC_ROOT=" + root_}, {"-0a"}, "PACKET sockets"},
      {{"PROC_ROOT=" + root_}, {"-A", "netlink", "-a"}, "NETLINK sockets"},
      {{"PROC_NET_UNIX=/x/unix"}, {"-xa"}, "PROC_NET_UNIX is set"},
  });
  // The same tables without the variables are listed as usual.
  RunResult plain = run({sstrace_binary(), "snapshot", "-xa"});
  EXPECT_EQ(plain.status, 0) << plain.err;
}

}  // namespace
}  // namespace sstrace::e2e
