#include "sys/stdio_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace sstrace::sys {

unsigned protect_standard_fds() {
  unsigned closed = 0;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    closed |= 1u << fd;
    // open() returns the lowest free descriptor: this very fd.
    int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (got != fd && got >= 0) close(got);
  }
  return closed;
}

std::string describe_fd(int fd, const std::string& what) {
  std::array<char, 4096> path{};
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(link.c_str(), path.data(), path.size() - 1);
  if (n <= 0) return what;
  return std::string(path.data(), size_t(n)) + " (" + what + ")";
}

void trim_partial_line(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return;
  // One line is far shorter than this; a file whose last 64 KiB hold no
  // newline at all was not written by us, so it is left alone.
  constexpr off_t kWindow = 64 * 1024;
  std::array<char, kWindow> tail;
  off_t from = std::max<off_t>(0, st.st_size - kWindow);
  // fd is usually write-only (`> file`): read through a descriptor of our own.
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  int rfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return;
  ssize_t n = pread(rfd, tail.data(), size_t(st.st_size - from), from);
  close(rfd);
  if (n <= 0 || tail[size_t(n) - 1] == '\n') return;
  for (ssize_t i = n - 1; i >= 0; --i) {
    if (tail[size_t(i)] == '\n') {
      (void)!ftruncate(fd, from + i + 1);
      return;
    }
  }
  if (from == 0) (void)!ftruncate(fd, 0);
}

bool reader_gone(int fd) {
  struct pollfd p {};
  p.fd = fd;
  p.events = 0;  // POLLERR and POLLHUP are always reported
  if (poll(&p, 1, 0) != 1) return false;
  return (p.revents & (POLLERR | POLLHUP)) != 0;
}

}  // namespace sstrace::sys
