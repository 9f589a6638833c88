// The owners table from the BPF iterator (src/bpf/owner_iter.h) against the
// definition of ss -p: readlink() of every /proc/<pid>/fd/<fd> of the
// processes holding a namespace's sockets, and the /proc scan the iterator
// replaces. The processes are made to catch what an fd listing can get
// wrong: a multi-threaded process whose threads opened sockets, a thread
// with a descriptor table of its own (unshare(CLONE_FILES): its sockets are
// in /proc/<pid>/task/<tid>/fd only), sockets shared with a forked child
// (two users, ss's order), an O_PATH descriptor of a socket's path (no
// socket), and a name with a space and parentheses (ss -p cuts it at the
// first ')').
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bpf/owner_iter.h"
#include "harness.h"
#include "sys/procfs.h"

namespace sstrace::e2e {
namespace {

namespace fs = std::filesystem;

constexpr int kSocketThreads = 3;

// "inode fd comm" for each socket descriptor of `pid`, by readlink() of
// /proc/<pid>/fd/*: what ss -p reads, independently of sstrace's code.
std::vector<std::string> readlink_socket_fds(pid_t pid) {
  std::string comm;
  std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/comm"), comm);
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    std::string target = fs::read_symlink(e.path(), ec).string();
    if (ec || !target.starts_with("socket:[")) continue;
    std::string inode = target.substr(8, target.size() - 9);
    out.push_back(inode + " " + e.path().filename().string() + " " + comm);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The same rows from an owners table.
std::vector<std::string> table_socket_fds(const sys::SocketOwners& owners, pid_t pid) {
  std::vector<std::string> out;
  owners.for_each([&](uint64_t inode, std::span<const sys::SocketUser> users) {
    for (const auto& u : users)
      if (u.pid == pid)
        out.push_back(std::to_string(inode) + " " + std::to_string(u.fd) + " " + u.comm);
  });
  std::sort(out.begin(), out.end());
  return out;
}

// A socket's users as ss prints them: ("comm",pid=P,fd=F),... in order.
std::string users_text(std::span<const sys::SocketUser> users) {
  std::string s;
  for (const auto& u : users)
    s += "(\"" + u.comm + "\",pid=" + std::to_string(u.pid) + ",fd=" + std::to_string(u.fd) + ")";
  return s;
}

void enter_netns_or_die(const std::string& name) {
  int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) std::abort();
  ::close(fd);
}

[[noreturn]] void sleep_forever() {
  for (;;) pause();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read_file(const std::string& path) {
  std::string s;
  std::getline(std::ifstream(path), s);
  return s;
}

// What the holders report back from inside their processes.
struct Notes {
  fs::path dir;
  Notes() {
    dir = fs::temp_directory_path() / ("sstrace-owners-" + std::to_string(getpid()));
    fs::create_directories(dir);
  }
  ~Notes() { fs::remove_all(dir); }
  std::string path(const char* name) const { return (dir / name).string(); }
};

class OwnerIterator : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    const std::string ns_name = ns_->name();
    const std::string fork_pid_file = notes_.path("fork_pid");
    const std::string private_inode_file = notes_.path("private_inode");

    // One process, one thread: TCP, UDP, UNIX, and an O_PATH fd on the
    // UNIX listener's path (readlink shows the path: not a socket).
    plain_ = std::make_unique<SocketHolder>(*ns_, "owners (a) b", [](SocketSet& s) {
      int l = s.tcp_listen("127.0.0.1");
      s.tcp_connect(l);
      s.tcp_connect(l);
      s.udp_bind("::1");
      s.unix_listen("owned");
      s.unix_connect("owned");
      if (::open(s.unix_path("owned").c_str(), O_PATH | O_CLOEXEC) < 0)
        throw std::runtime_error("O_PATH open failed");
    });

    // Sockets shared with a forked child, then threads that open sockets
    // of their own in the shared table, then a thread with a private table.
    threaded_ = std::make_unique<SocketHolder>(*ns_, "owners-mt", [=](SocketSet& s) {
      int l = s.tcp_listen("::1");
      s.tcp_connect(l);
      s.unix_socketpair();
      fork_sharer(fork_pid_file);
      // Left to the threads, which outlive this function (and never exit).
      auto& ready = *new std::latch(kSocketThreads + 1);
      for (int i = 0; i < kSocketThreads; ++i)
        std::thread([&ready, ns_name] {
          enter_netns_or_die(ns_name);
          int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          int u = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
          if (t < 0 || u < 0 || listen(t, 4) != 0) std::abort();
          prctl(PR_SET_NAME, "owners-thread");
          ready.count_down();
          sleep_forever();
        }).detach();
      std::thread([&ready, ns_name, private_inode_file] {
        if (unshare(CLONE_FILES) != 0) std::abort();
        enter_netns_or_die(ns_name);
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) std::abort();
        struct stat st {};
        fstat(pair[0], &st);
        write_file(private_inode_file, std::to_string(st.st_ino));
        ready.count_down();
        sleep_forever();
      }).detach();
      ready.wait();
    });
    fork_pid_ = std::stoi(read_file(fork_pid_file));
    private_inode_ = std::stoull(read_file(private_inode_file));
  }

  // Forks a child (named owners-fork) that holds every fd the holder has
  // now, and waits until it has its name.
  static void fork_sharer(const std::string& pid_file) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    pid_t child = fork();
    if (child < 0) throw std::runtime_error("fork");
    if (child == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      prctl(PR_SET_NAME, "owners-fork");
      if (write(p[1], "x", 1) != 1) _exit(1);
      sleep_forever();
    }
    char c;
    if (read(p[0], &c, 1) != 1) throw std::runtime_error("fork child did not start");
    ::close(p[0]);
    ::close(p[1]);
    write_file(pid_file, std::to_string(child));
  }

  void TearDown() override {
    threaded_.reset();  // holders first: their sockets pin the namespace
    plain_.reset();
    ns_.reset();
  }

  std::vector<pid_t> holders() const { return {plain_->pid(), threaded_->pid(), fork_pid_}; }

  Notes notes_;
  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketHolder> plain_, threaded_;
  pid_t fork_pid_ = 0;
  uint64_t private_inode_ = 0;
};

TEST_F(OwnerIterator, lists_what_proc_fd_lists_for_every_holder) {
  auto in_ns = bpf::iterate_socket_owners(static_cast<uint32_t>(ns_->inode()));
  ASSERT_TRUE(in_ns.ok()) << in_ns.error().str();
  auto everywhere = bpf::iterate_socket_owners(0);
  ASSERT_TRUE(everywhere.ok()) << everywhere.error().str();
  const sys::SocketOwners scanned = sys::SocketOwners::scan();

  for (pid_t pid : holders()) {
    SCOPED_TRACE("pid " + std::to_string(pid));
    const std::vector<std::string> truth = readlink_socket_fds(pid);
    EXPECT_EQ(table_socket_fds(*in_ns, pid), truth);
    EXPECT_EQ(table_socket_fds(*everywhere, pid), truth);
    EXPECT_EQ(table_socket_fds(scanned, pid), truth);
  }
  // Not vacuous: the counts the holders were built with. The threads'
  // sockets are the leader's; the private table's pair is nobody's in /proc.
  EXPECT_EQ(readlink_socket_fds(plain_->pid()).size(), plain_->sockets());
  EXPECT_EQ(readlink_socket_fds(threaded_->pid()).size(),
            threaded_->sockets() + 2 * kSocketThreads);
  EXPECT_GT(readlink_socket_fds(fork_pid_).size(), 0u);
  EXPECT_TRUE(in_ns->users(private_inode_).empty()) << users_text(in_ns->users(private_inode_));
  EXPECT_TRUE(everywhere->users(private_inode_).empty());
}

TEST_F(OwnerIterator, namespace_filter_keeps_exactly_its_sockets_with_users_in_ss_order) {
  auto in_ns = bpf::iterate_socket_owners(static_cast<uint32_t>(ns_->inode()));
  ASSERT_TRUE(in_ns.ok()) << in_ns.error().str();
  const sys::SocketOwners scanned = sys::SocketOwners::scan();

  const std::vector<pid_t> ours = holders();
  size_t shared = 0;
  in_ns->for_each([&](uint64_t inode, std::span<const sys::SocketUser> users) {
    // Only our processes hold sockets of a namespace we just made.
    for (const auto& u : users)
      EXPECT_NE(std::find(ours.begin(), ours.end(), u.pid), ours.end()) << users_text(users);
    EXPECT_EQ(users_text(users), users_text(scanned.users(inode))) << "inode " << inode;
    if (users.size() < 2) return;
    ++shared;
    // ss's order: the newest pid first (the forked child), highest fd first.
    EXPECT_TRUE(std::is_sorted(users.begin(), users.end(), [](const auto& a, const auto& b) {
      return a.pid != b.pid ? a.pid > b.pid : a.fd > b.fd;
    })) << users_text(users);
  });
  // The forked child shares the three sockets made before the fork.
  EXPECT_GE(shared, 3u);
  size_t holder_rows = 0;
  for (pid_t pid : ours) holder_rows += readlink_socket_fds(pid).size();
  size_t ns_rows = 0;
  in_ns->for_each([&](uint64_t, std::span<const sys::SocketUser> u) { ns_rows += u.size(); });
  EXPECT_EQ(ns_rows, holder_rows);
}

TEST_F(OwnerIterator, snapshot_uses_it_and_prints_what_ss_prints) {
  RunResult r = run_snapshot(*ns_, {"-tanp", "-v"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("sstrace: owners: BPF iterator"), std::string::npos) << r.err;
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tanp", 8));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-uanp", 1));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-xap", 4));
}

TEST_F(OwnerIterator, without_privileges_snapshot_falls_back_to_proc_quietly) {
  // ss -p works without root too, showing what /proc lets it see.
  const std::vector<std::string> nobody{"setpriv",        "--reuid=65534",   "--regid=65534",
                                        "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"};
  auto as_nobody = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = nobody;
    argv.push_back(sstrace_binary());
    argv.push_back("snapshot");
    argv.insert(argv.end(), args.begin(), args.end());
    return ns_->exec(argv);
  };
  RunResult quiet = as_nobody({"-tanp"});
  EXPECT_EQ(quiet.status, 0) << quiet.command << "\n" << quiet.err;
  EXPECT_EQ(quiet.err, "");
  EXPECT_NE(quiet.out.find("LISTEN"), std::string::npos) << quiet.out;
  RunResult verbose = as_nobody({"-tanp", "-v"});
  EXPECT_NE(verbose.err.find("sstrace: owners: /proc scan ("), std::string::npos) << verbose.err;
}

// In a pid namespace of its own, with the /proc of that namespace, the
// iterator numbers pids as that /proc does (ss -p's numbers there); under
// the /proc of the namespace above, sstrace falls back to the /proc scan,
// whose numbers are that /proc's, as ss's are. A bash in the namespace
// holds a connection, shared with a sleep it started.
std::vector<std::string> users_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (line.find("users:") != std::string::npos) out.push_back(line);
    at = end + 1;
  }
  return out;
}

TEST(OwnerIteratorPidNamespace, pids_are_those_of_the_proc_sstrace_sees) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketSet set(ns);
  const uint16_t port = local_port(set.tcp_listen("127.0.0.1"));
  // fd 3 is closed for the listers, or they would be users too.
  const std::string script = "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) +
                             " || exit 3\n"
                             "sleep 60 &\n" +
                             shell_join({sstrace_binary(), "snapshot", "-tanp", "-v"}) +
                             " 3>&- 2>/dev/fd/2\n"
                             "echo ===\n"
                             "ss -tanp 3>&-\n"
                             "kill $!\n";
  struct Case {
    const char* name;
    std::vector<std::string> unshare;
    const char* note;
  };
  const Case cases[] = {
      {"own /proc", {"unshare", "--pid", "--fork", "--mount-proc"}, "owners: BPF iterator"},
      {"parent's /proc",
       {"unshare", "--pid", "--fork"},
       "owners: /proc scan (/proc belongs to another pid namespace"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> argv = c.unshare;
    argv.insert(argv.end(), {"bash", "-c", script});
    RunResult r = ns.exec(argv);
    ASSERT_EQ(r.status, 0) << r.command << "\n" << r.err;
    EXPECT_NE(r.err.find(c.note), std::string::npos) << r.err;
    const size_t split = r.out.find("===\n");
    ASSERT_NE(split, std::string::npos) << r.out;
    const auto ours = users_lines(r.out.substr(0, split));
    const auto theirs = users_lines(r.out.substr(split + 4));
    EXPECT_EQ(ours, theirs);
    // The connection bash holds (the parent's /proc also shows this test
    // as the listener's user).
    auto held = std::find_if(ours.begin(), ours.end(), [](const std::string& line) {
      return line.find("((\"sleep\",pid=") != std::string::npos;
    });
    ASSERT_NE(held, ours.end()) << r.out;
    EXPECT_NE(held->find("(\"bash\",pid="), std::string::npos) << *held;
  }
}

}  // namespace
}  // namespace sstrace::e2e
