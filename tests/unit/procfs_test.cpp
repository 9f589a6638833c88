#include "sys/procfs.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sstrace::sys {
namespace {

namespace fs = std::filesystem;

// A fake /proc: <root>/<pid>/comm and <root>/<pid>/fd/<n> -> link target.
class FakeProc {
 public:
  FakeProc() {
    std::string tmpl = (fs::temp_directory_path() / "sstrace-proc-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  ~FakeProc() { fs::remove_all(root_); }

  void process(int pid, const std::string& comm) {
    fs::create_directories(root_ / std::to_string(pid) / "fd");
    std::ofstream(root_ / std::to_string(pid) / "comm") << comm << "\n";
  }
  void fd(int pid, int fd, const std::string& target) {
    fs::create_symlink(target, root_ / std::to_string(pid) / "fd" / std::to_string(fd));
  }
  std::string root() const { return root_.string(); }
  const fs::path& path() const { return root_; }

 private:
  fs::path root_;
};

TEST(SocketOwners, finds_socket_links_and_comm) {
  FakeProc proc;
  proc.process(100, "nginx");
  proc.fd(100, 0, "/dev/null");
  proc.fd(100, 3, "socket:[5001]");
  proc.fd(100, 4, "pipe:[7]");
  proc.fd(100, 5, "socket:[5002]");
  proc.process(200, "sshd");
  proc.fd(200, 7, "socket:[6001]");

  SocketOwners owners = SocketOwners::scan(proc.root());
  EXPECT_EQ(owners.size(), 3u);
  auto u = owners.users(5001);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].comm, "nginx");
  EXPECT_EQ(u[0].pid, 100);
  EXPECT_EQ(u[0].fd, 3);
  ASSERT_EQ(owners.users(5002).size(), 1u);
  EXPECT_EQ(owners.users(5002)[0].fd, 5);
  ASSERT_EQ(owners.users(6001).size(), 1u);
  EXPECT_EQ(owners.users(6001)[0].comm, "sshd");
  EXPECT_TRUE(owners.users(7).empty());
  EXPECT_TRUE(owners.users(0).empty());
}

TEST(SocketOwners, shared_socket_users_in_ss_order) {
  // ss lists the newest pid first and, within a process, the highest fd
  // first (the seed article: sshd pid=2045801 before pid=2045798).
  FakeProc proc;
  proc.process(2045798, "sshd");
  proc.fd(2045798, 4, "socket:[42]");
  proc.process(2045801, "sshd");
  proc.fd(2045801, 4, "socket:[42]");
  proc.fd(2045801, 9, "socket:[42]");
  proc.process(3, "init");
  proc.fd(3, 1, "socket:[42]");

  auto u = SocketOwners::scan(proc.root()).users(42);
  ASSERT_EQ(u.size(), 4u);
  EXPECT_EQ(u[0].pid, 2045801);
  EXPECT_EQ(u[0].fd, 9);
  EXPECT_EQ(u[1].pid, 2045801);
  EXPECT_EQ(u[1].fd, 4);
  EXPECT_EQ(u[2].pid, 2045798);
  EXPECT_EQ(u[3].pid, 3);
  EXPECT_EQ(u[3].comm, "init");
}

TEST(SocketOwners, from_fds_gives_the_scans_table_whatever_the_order) {
  // The iterator finds descriptors in its own order; the table must not
  // depend on it.
  FakeProc proc;
  proc.process(7, "a");
  proc.fd(7, 3, "socket:[42]");
  proc.fd(7, 5, "socket:[42]");
  proc.fd(7, 6, "socket:[43]");
  proc.process(9, "b");
  proc.fd(9, 4, "socket:[42]");
  const SocketOwners scanned = SocketOwners::scan(proc.root());

  const SocketOwners built = SocketOwners::from_fds({
      {42, {"a", 7, 3}},
      {43, {"a", 7, 6}},
      {42, {"b", 9, 4}},
      {42, {"a", 7, 5}},
  });
  ASSERT_EQ(built.size(), scanned.size());
  scanned.for_each([&](uint64_t inode, std::span<const SocketUser> want) {
    auto got = built.users(inode);
    ASSERT_EQ(got.size(), want.size()) << inode;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].pid, want[i].pid) << inode << " #" << i;
      EXPECT_EQ(got[i].fd, want[i].fd) << inode << " #" << i;
      EXPECT_EQ(got[i].comm, want[i].comm) << inode << " #" << i;
    }
  });
  ASSERT_EQ(built.users(42).size(), 3u);
  EXPECT_EQ(built.users(42)[0].pid, 9);
  EXPECT_EQ(built.users(42)[1].fd, 5);
  EXPECT_EQ(built.users(42)[2].fd, 3);
}

TEST(SocketOwners, process_comm_is_procs_name_without_newline) {
  FakeProc proc;
  proc.process(5, "x y");
  EXPECT_EQ(process_comm(5, proc.root()), "x y");
  EXPECT_EQ(process_comm(6, proc.root()), "");
}

TEST(SocketOwners, ignores_what_is_not_a_process_or_a_socket) {
  FakeProc proc;
  fs::create_directories(proc.path() / "self" / "fd");
  fs::create_symlink("socket:[1]", proc.path() / "self" / "fd" / "3");
  fs::create_directories(proc.path() / "sys");
  std::ofstream(proc.path() / "uptime") << "1.0 2.0\n";
  fs::create_directories(proc.path() / "12a" / "fd");
  proc.process(10, "x");
  proc.fd(10, 3, "socket:[]");
  proc.fd(10, 4, "socket:[12");
  proc.fd(10, 5, "socket:[12x]");
  proc.fd(10, 6, "notsocket:[13]");
  proc.fd(10, 7, "/tmp/socket:[14]");
  fs::create_symlink("socket:[15]", proc.path() / "10" / "fd" / "info");
  proc.fd(10, 8, "socket:[18446744073709551615]");

  SocketOwners owners = SocketOwners::scan(proc.root());
  EXPECT_EQ(owners.size(), 1u);
  ASSERT_EQ(owners.users(18446744073709551615ull).size(), 1u);
  EXPECT_TRUE(owners.users(1).empty());
  EXPECT_TRUE(owners.users(15).empty());
}

TEST(SocketOwners, process_without_fd_access_or_comm_is_skipped_or_nameless) {
  FakeProc proc;
  proc.process(20, "gone");
  fs::remove(proc.path() / "20" / "fd");              // exited between readdir and open
  fs::create_directories(proc.path() / "21" / "fd");  // no comm file
  proc.fd(21, 3, "socket:[77]");

  SocketOwners owners = SocketOwners::scan(proc.root());
  ASSERT_EQ(owners.users(77).size(), 1u);
  EXPECT_EQ(owners.users(77)[0].comm, "");
  EXPECT_EQ(owners.users(77)[0].pid, 21);
}

TEST(SocketOwners, comm_is_kept_whole) {
  // ss cuts at the first ')' of /proc/<pid>/stat; comm has the real name.
  FakeProc proc;
  proc.process(30, "a) b");
  proc.fd(30, 3, "socket:[9]");
  EXPECT_EQ(SocketOwners::scan(proc.root()).users(9)[0].comm, "a) b");
}

TEST(SocketOwners, missing_root_gives_an_empty_table) {
  EXPECT_EQ(SocketOwners::scan("/nonexistent/sstrace-proc").size(), 0u);
}

TEST(SocketOwners, real_proc_sees_our_own_socket) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(sv[0], &st), 0);
  SocketOwners owners = SocketOwners::scan();
  bool found = false;
  for (const auto& u : owners.users(st.st_ino))
    if (u.pid == ::getpid() && u.fd == sv[0]) found = true;
  EXPECT_TRUE(found);
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace sstrace::sys
