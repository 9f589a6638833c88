// Privileges: the live stream checks what it needs before it starts (one
// line naming what is missing), drops everything the rest of the run does
// not need once it is seeded (--user: as another user too), and keeps
// working after the drop: events with their owners, SIGUSR1 tables.
// --btf: the kernel's BTF from a file where /sys/kernel/btf/vmlinux is
// missing (hidden here by a tmpfs in a mount namespace of the test's).
#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

constexpr uint32_t kNobody = 65534;

// One "Key:\tvalue" line of /proc/PID[/task/TID]/status.
std::string status_field(const std::string& status_path, const std::string& key) {
  std::ifstream in(status_path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  return "";
}

uint64_t cap_mask(const std::string& status_path, const std::string& key) {
  return std::stoull(status_field(status_path, key), nullptr, 16);
}

uint64_t bit(int cap) { return uint64_t{1} << cap; }

// Waits until every id of `pid` (real, effective, saved, fs) is `uid`: the
// drop after seeding has happened.
bool wait_uid(pid_t pid, uint32_t uid, std::chrono::milliseconds timeout) {
  const std::string want = std::to_string(uid);
  const std::string expected = want + "\t" + want + "\t" + want + "\t" + want;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (status_field("/proc/" + std::to_string(pid) + "/status", "Uid") == expected) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Every thread of pid: CapEff, CapPrm, CapInh, CapAmb as the test expects.
void expect_caps_of_every_thread(pid_t pid, uint64_t eff_and_prm) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  RunResult tids = run({"ls", task_dir});
  ASSERT_EQ(tids.status, 0);
  std::istringstream in(tids.out);
  std::string tid;
  int threads = 0;
  while (in >> tid) {
    const std::string st = task_dir + "/" + tid + "/status";
    EXPECT_EQ(cap_mask(st, "CapEff"), eff_and_prm) << st;
    EXPECT_EQ(cap_mask(st, "CapPrm"), eff_and_prm) << st;
    EXPECT_EQ(cap_mask(st, "CapInh"), 0u) << st;
    EXPECT_EQ(cap_mask(st, "CapAmb"), 0u) << st;
    EXPECT_EQ(status_field(st, "NoNewPrivs"), "1") << st;
    ++threads;
  }
  EXPECT_GE(threads, 1);
}

// A listener in `server`, and a connection from `client` to it.
struct Connected {
  int client_port = 0;
  std::optional<size_t> estab;  // index of the client's -> ESTAB state event
};

Connected connect_once(LiveTrace& live, Worker& server, Worker& client, int port) {
  server.send("accept");
  Connected c;
  c.client_port = std::stoi(words(client.call("connect 127.0.0.1 " + std::to_string(port))).at(1));
  words(server.recv());
  c.estab = live.wait_for(
      [&](const Json& e) {
        return is_type(e, "state") && num(e, "lport") == c.client_port && str(e, "new") == "ESTAB";
      },
      30s);
  return c;
}

TEST(LivePrivileges, as_nobody_with_no_capabilities_events_owners_and_tables_keep_coming) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  Worker server(ns, "pv-server", endpoint_commands);
  Worker client(ns, "pv-client", endpoint_commands);
  const int port = std::stoi(words(server.call("listen 127.0.0.1 0")).at(1));
  LiveTrace live(ns, {.args = {"--user", "nobody"}});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  ASSERT_TRUE(wait_uid(live.pid(), kNobody, 30s)) << live.describe();
  const std::string status = "/proc/" + std::to_string(live.pid()) + "/status";
  EXPECT_EQ(status_field(status, "Gid"), "65534\t65534\t65534\t65534");
  expect_caps_of_every_thread(live.pid(), 0);

  // A connection made after the drop: its events, with its owner.
  const Connected c = connect_once(live, server, client, port);
  const int cport = c.client_port;
  ASSERT_TRUE(c.estab) << live.describe();
  const Json e = live.events().at(*c.estab);
  EXPECT_EQ(num(e, "pid"), client.pid()) << e.dump();
  EXPECT_EQ(str(e, "comm"), client.comm()) << e.dump();

  // SIGUSR1 still writes the table (its minisocket checks are sock_diag
  // lookups on a socket opened before the drop).
  std::vector<Json> table = live.dump_table();
  ASSERT_FALSE(table.empty()) << live.describe();
  bool found = false;
  for (const Json& t : table)
    if (is_type(t, "table") && num(t, "lport") == cport && str(t, "state") == "ESTAB") {
      found = true;
      EXPECT_EQ(num(t, "pid"), client.pid()) << t.dump();
    }
  EXPECT_TRUE(found) << live.describe();
  EXPECT_EQ(live.stop(), 0) << live.describe();
  EXPECT_EQ(live.err(), "");
}

// --metrics: the exposer's threads, started before the drop, lose theirs
// too (capabilities are per thread), and the endpoint still answers.
TEST(LivePrivileges, a_plain_run_keeps_no_capability_in_any_thread) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  const std::string port = std::to_string(20000 + getpid() % 20000);
  LiveTrace live(ns, {.args = {"--metrics", "127.0.0.1:" + port}});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  // The drop follows the sync event; give it the moment it takes.
  const std::string status = "/proc/" + std::to_string(live.pid()) + "/status";
  for (int i = 0; i < 500 && cap_mask(status, "CapEff") != 0; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(status_field(status, "Uid"), "0\t0\t0\t0");  // no --user: still root, powerless
  expect_caps_of_every_thread(live.pid(), 0);
  RunResult scrape = run({"curl", "-sf", "http://127.0.0.1:" + port + "/metrics"});
  EXPECT_EQ(scrape.status, 0) << scrape.err;
  EXPECT_NE(scrape.out.find("sstrace_build_info"), std::string::npos) << scrape.out;
  EXPECT_EQ(live.stop(), 0) << live.describe();
}

// A listener with a backlog of 0 that never accepts, and 16 connects to
// it from the same process: its accept queue overflows at once.
void overflowing_listener(Channel& ch) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(l, 0) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("listen failed");
  for (int i = 0; i < 16; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(c, reinterpret_cast<sockaddr*>(&a), len);  // EINPROGRESS: never accepted
  }
  ch.send("port " + std::to_string(ntohs(a.sin_port)));
  while (ch.recv() != "") {
  }
}

// --all-netns keeps CAP_SYS_ADMIN and CAP_SYS_PTRACE, and they are what
// it takes: a namespace created after the drop still gets its listener
// checks (a sock_diag socket opened inside it, through another process's
// /proc/PID/ns/net).
TEST(LivePrivileges, all_netns_keeps_only_what_entering_new_namespaces_takes) {
  SSTRACE_REQUIRE_PRIVILEGES();
  char out[] = "/tmp/sstrace-allnetns-XXXXXX";
  const int out_fd = mkstemp(out);
  ASSERT_GE(out_fd, 0);
  close(out_fd);
  const std::string cmd = shell_join({sstrace_binary(), "--json", "--all-netns", "--user", "nobody",
                                      "--duration", "60", "state", "listening"}) +
                          " >" + out + " 2>&1 & echo $!";
  RunResult started = run_shell(cmd);
  ASSERT_EQ(started.status, 0);
  const pid_t pid = std::stoi(started.out);
  const bool dropped = wait_uid(pid, kNobody, 60s);
  if (dropped) expect_caps_of_every_thread(pid, bit(CAP_SYS_ADMIN) | bit(CAP_SYS_PTRACE));

  bool alerted = false;
  if (dropped) {
    Netns born_later;
    Worker listener(born_later, "pv-listener", overflowing_listener);
    const std::string port = words(listener.recv()).at(1);
    const std::string want = "\"netns\":" + std::to_string(born_later.inode());
    // The namespaces are looked for every 10 s, the listeners every second.
    for (int i = 0; i < 300 && !alerted; ++i) {
      std::this_thread::sleep_for(100ms);
      std::ifstream in(out);
      std::string line;
      while (std::getline(in, line))
        if (line.find("\"listen_overflow\"") != std::string::npos &&
            line.find(want) != std::string::npos &&
            line.find("\"lport\":" + port + ",") != std::string::npos)
          alerted = true;
    }
  }
  kill(pid, SIGINT);
  std::ifstream in(out);
  const std::string output((std::istreambuf_iterator<char>(in)), {});
  unlink(out);
  EXPECT_TRUE(dropped) << "sstrace --all-netns --user nobody never switched to nobody\n" << output;
  EXPECT_TRUE(alerted) << "no listen_overflow alert from a namespace born after the drop\n"
                       << output;
}

// setpriv takes the capabilities out of the bounding set before the exec:
// root's sstrace starts without them.
RunResult run_without(const std::string& caps, std::vector<std::string> args) {
  std::vector<std::string> argv{"setpriv", "--inh-caps=" + caps, "--bounding-set=" + caps,
                                sstrace_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, "", 60s);
}

TEST(LivePrivileges, a_missing_capability_is_named_in_one_line_before_anything_starts) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  // CAP_SYS_ADMIN goes too: the kernel takes it for CAP_BPF and CAP_PERFMON.
  RunResult no_bpf = run_without("-bpf,-sys_admin", {"--json", "--duration", "1"});
  EXPECT_EQ(no_bpf.status, 1) << no_bpf.err;
  EXPECT_EQ(no_bpf.err, "sstrace: needs CAP_BPF (run as root or grant it)\n");
  EXPECT_EQ(no_bpf.out, "");

  RunResult neither = run_without("-bpf,-perfmon,-sys_admin", {"--json", "--duration", "1"});
  EXPECT_EQ(neither.status, 1);
  EXPECT_EQ(neither.err, "sstrace: needs CAP_PERFMON and CAP_BPF (run as root or grant them)\n");

  RunResult top = run_without("-perfmon,-sys_admin", {"top", "--batch", "--duration", "1"});
  EXPECT_EQ(top.status, 1);
  EXPECT_EQ(top.err, "sstrace: needs CAP_PERFMON (run as root or grant it)\n");

  // With CAP_BPF and CAP_PERFMON but without CAP_SYS_ADMIN, -N cannot setns.
  RunResult netns = run_without("-sys_admin", {"--json", "-N", ns.name(), "--duration", "1"});
  EXPECT_EQ(netns.status, 1);
  EXPECT_EQ(netns.err, "sstrace: needs CAP_SYS_ADMIN (run as root or grant it)\n");
  // ... and the same run without -N needs nothing more: it streams.
  RunResult plain = run_without("-sys_admin", {"--json", "--duration", "1"});
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_NE(plain.out.find("\"type\":\"sync\""), std::string::npos) << plain.out;
}

TEST(LivePrivileges, an_unknown_user_is_a_usage_error) {
  SSTRACE_REQUIRE_PRIVILEGES();
  RunResult r = run({sstrace_binary(), "--user", "sstrace-no-such-user", "--duration", "1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "sstrace: --user: no such user 'sstrace-no-such-user'\n");
  EXPECT_EQ(r.out, "");
}

// A temporary directory with the kernel's BTF copied into it, and a
// wrapper that runs sstrace in a mount namespace of its own where
// /sys/kernel/btf is an empty tmpfs: a kernel without the sysfs file.
class HiddenBtf {
 public:
  HiddenBtf() {
    char tmpl[] = "/tmp/sstrace-btf-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (run({"cp", "/sys/kernel/btf/vmlinux", btf()}).status != 0)
      throw std::runtime_error("cannot copy /sys/kernel/btf/vmlinux");
    std::ofstream(garbage()) << "this is not BTF\n";
    std::ofstream w(wrapper());
    w << "#!/bin/sh\n"
      << "exec unshare -m sh -c 'mount -t tmpfs sstrace-e2e /sys/kernel/btf && exec \"$@\"' sh "
      << shell_join({sstrace_binary()}) << " \"$@\"\n";
    w.close();
    chmod(wrapper().c_str(), 0755);
  }
  ~HiddenBtf() { run({"rm", "-rf", dir_}); }
  std::string btf() const { return dir_ + "/vmlinux"; }
  std::string garbage() const { return dir_ + "/garbage"; }
  std::string wrapper() const { return dir_ + "/sstrace-without-sysfs-btf"; }

 private:
  std::string dir_;
};

// SSTRACE_E2E_BINARY for the length of a scope.
class BinaryOverride {
 public:
  explicit BinaryOverride(const std::string& path) {
    if (const char* old = std::getenv("SSTRACE_E2E_BINARY")) old_ = old;
    setenv("SSTRACE_E2E_BINARY", path.c_str(), 1);
  }
  ~BinaryOverride() {
    if (old_.empty())
      unsetenv("SSTRACE_E2E_BINARY");
    else
      setenv("SSTRACE_E2E_BINARY", old_.c_str(), 1);
  }

 private:
  std::string old_;
};

TEST(LiveBtf, without_sysfs_btf_a_btf_file_makes_it_run) {
  SSTRACE_REQUIRE_PRIVILEGES();
  HiddenBtf hidden;
  Netns ns;
  // The wrapper works: without --btf, no BTF.
  RunResult none = run({hidden.wrapper(), "--json", "-N", ns.name(), "--duration", "1"}, "", 60s);
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find("this kernel has no BTF"), std::string::npos) << none.err;

  Worker server(ns, "btf-server", endpoint_commands);
  Worker client(ns, "btf-client", endpoint_commands);
  const int port = std::stoi(words(server.call("listen 127.0.0.1 0")).at(1));
  {
    BinaryOverride wrapped(hidden.wrapper());
    LiveTrace live(ns, {.args = {"--btf", hidden.btf()}});
    ASSERT_TRUE(live.wait_sync()) << live.describe();
    const Connected c = connect_once(live, server, client, port);
    EXPECT_TRUE(c.estab) << live.describe();
    if (c.estab) {
      EXPECT_EQ(num(live.events().at(*c.estab), "pid"), client.pid());
    }
    EXPECT_EQ(live.stop(), 0) << live.describe();
    EXPECT_EQ(live.err(), "");
  }
  // Nothing of sstrace's mount namespace reached ours.
  RunResult mounts = run({"grep", "-c", "/sys/kernel/btf", "/proc/self/mountinfo"});
  EXPECT_EQ(mounts.out, "0\n") << mounts.out;
}

TEST(LiveBtf, a_file_that_is_not_btf_fails_in_one_line) {
  SSTRACE_REQUIRE_PRIVILEGES();
  HiddenBtf hidden;
  RunResult garbage = run({sstrace_binary(), "--btf", hidden.garbage(), "--duration", "1"});
  EXPECT_EQ(garbage.status, 2);
  EXPECT_EQ(garbage.err_lines().size(), 1u) << garbage.err;
  EXPECT_EQ(garbage.err.rfind("sstrace: --btf: '" + hidden.garbage() + "' is not BTF", 0), 0u)
      << garbage.err;

  RunResult missing = run({sstrace_binary(), "--btf", "/nonexistent/vmlinux", "--duration", "1"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.err,
            "sstrace: --btf: cannot read '/nonexistent/vmlinux': No such file or directory\n");
}

}  // namespace
}  // namespace sstrace::e2e
