// Reading the owners iterator's records (src/bpf/owner_iter.h) from a
// stream that cuts them anywhere; no BPF needed.
#include "bpf/owner_iter.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "sstrace/events.h"

namespace sstrace::bpf {
namespace {

sstrace_socket_fd record(uint64_t inode, uint32_t pid, uint32_t fd, const char* comm,
                         uint32_t flags = 0) {
  sstrace_socket_fd r{};
  r.inode = inode;
  r.pid = pid;
  r.fd = fd;
  r.flags = flags;
  // A 16-character name fills comm without a NUL.
  std::memcpy(r.comm, comm, std::min(std::strlen(comm), sizeof r.comm));
  return r;
}

// A SOCK_SEQPACKET pair: each write() is one read() on the other side, so
// the test decides where reads cut the stream.
class Stream {
 public:
  Stream() {
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds_) != 0) ADD_FAILURE();
  }
  ~Stream() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  // Sends `bytes` in pieces of the given sizes, then ends the stream.
  void send(const std::vector<char>& bytes, const std::vector<size_t>& pieces) {
    size_t at = 0;
    for (size_t n : pieces) {
      ASSERT_EQ(::write(fds_[1], bytes.data() + at, n), static_cast<ssize_t>(n));
      at += n;
    }
    ASSERT_EQ(at, bytes.size());
    ::shutdown(fds_[1], SHUT_WR);
  }
  int reader() const { return fds_[0]; }

 private:
  int fds_[2] = {-1, -1};
};

std::vector<char> bytes_of(const std::vector<sstrace_socket_fd>& recs) {
  std::vector<char> out(recs.size() * sizeof(sstrace_socket_fd));
  std::memcpy(out.data(), recs.data(), out.size());
  return out;
}

TEST(OwnerIterRead, records_cut_across_reads_are_joined) {
  const auto bytes = bytes_of({record(11, 100, 3, "nginx"), record(12, 100, 4, "nginx"),
                               record(13, 200, 7, "abcdefghijklmnop")});
  const size_t one = sizeof(sstrace_socket_fd);
  Stream s;
  s.send(bytes, {one + one / 2, 3, one / 2 - 3 + one});
  auto fds = read_socket_fds(s.reader());
  ASSERT_TRUE(fds.ok()) << fds.error().str();
  ASSERT_EQ(fds->size(), 3u);
  EXPECT_EQ((*fds)[0].inode, 11u);
  EXPECT_EQ((*fds)[0].user.pid, 100);
  EXPECT_EQ((*fds)[0].user.fd, 3);
  EXPECT_EQ((*fds)[0].user.comm, "nginx");
  EXPECT_EQ((*fds)[1].inode, 12u);
  EXPECT_EQ((*fds)[1].user.fd, 4);
  EXPECT_EQ((*fds)[2].inode, 13u);
  EXPECT_EQ((*fds)[2].user.pid, 200);
  EXPECT_EQ((*fds)[2].user.comm, "abcdefghijklmnop");
}

TEST(OwnerIterRead, a_stream_ending_inside_a_record_is_an_error) {
  const auto whole = bytes_of({record(11, 100, 3, "a"), record(12, 100, 4, "a")});
  const std::vector<char> cut(whole.begin(), whole.end() - 1);
  Stream s;
  s.send(cut, {cut.size()});
  EXPECT_FALSE(read_socket_fds(s.reader()).ok());
}

TEST(OwnerIterRead, a_kernel_threads_name_comes_from_proc) {
  // /proc/<pid>/comm of a kernel thread is longer than task->comm; the
  // reader takes /proc's, as the /proc scan does. Our own pid stands in.
  const int self = static_cast<int>(getpid());
  Stream s;
  s.send(bytes_of({record(11, static_cast<uint32_t>(self), 3, "truncated",
                          SSTRACE_SOCKET_FD_KERNEL_THREAD)}),
         {sizeof(sstrace_socket_fd)});
  auto fds = read_socket_fds(s.reader());
  ASSERT_TRUE(fds.ok()) << fds.error().str();
  ASSERT_EQ(fds->size(), 1u);
  EXPECT_EQ((*fds)[0].user.comm, sys::process_comm(self));
  EXPECT_NE((*fds)[0].user.comm, "truncated");
}

}  // namespace
}  // namespace sstrace::bpf
