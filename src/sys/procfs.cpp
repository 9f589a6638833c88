// One pass over /proc/<pid>/fd, the way ss -p builds its user table, but
// without building a path per descriptor: each fd directory is opened once
// and its links are read with readlinkat() relative to it, a process's comm
// is read only if it holds a socket, and large hosts are scanned by a few
// threads at once.
#include "sys/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string_view>
#include <thread>
#include <vector>

#include "sys/fd.h"

namespace sstrace::sys {

namespace {

// Reads a directory with getdents64() into a reused buffer. fdopendir()
// would add an fcntl() and an fstat() per directory: two of the ~16 system
// calls each process costs the scan.
class DirReader {
 public:
  DirReader(int fd, std::vector<char>& buf) : fd_(fd), buf_(buf) {}
  // The next entry's name, or nullptr at the end (or on an error: a
  // process that exits mid-read just ends its listing).
  const char* next() {
    if (pos_ >= len_) {
      ssize_t n = ::getdents64(fd_, buf_.data(), buf_.size());
      if (n <= 0) return nullptr;
      len_ = static_cast<size_t>(n);
      pos_ = 0;
    }
    const auto* d = reinterpret_cast<const dirent64*>(buf_.data() + pos_);
    pos_ += d->d_reclen;
    return d->d_name;
  }

 private:
  int fd_;
  std::vector<char>& buf_;
  size_t pos_ = 0, len_ = 0;
};

constexpr size_t kDirBuffer = 32 * 1024;  // a few hundred entries per call

// "1234" -> 1234; anything else (".", "self", "12a") -> -1.
int parse_number(const char* s) {
  int n = -1;
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, n);
  if (ec != std::errc() || p != end || s == end) return -1;
  return n;
}

// "socket:[12345]" -> 12345; other link targets -> 0.
uint64_t socket_inode(std::string_view link) {
  constexpr std::string_view kPrefix = "socket:[";
  if (link.size() <= kPrefix.size() + 1 || link.substr(0, kPrefix.size()) != kPrefix ||
      link.back() != ']')
    return 0;
  uint64_t ino = 0;
  const char* b = link.data() + kPrefix.size();
  const char* e = link.data() + link.size() - 1;
  auto [p, ec] = std::from_chars(b, e, ino);
  return (ec == std::errc() && p == e) ? ino : 0;
}

// /proc/<pid>/comm without its newline. ss reads the name out of
// /proc/<pid>/stat up to the first ')'; comm gives the same name without
// cutting one that contains ')'.
std::string read_comm(int proc_fd, int pid) {
  char path[32];
  std::snprintf(path, sizeof path, "%d/comm", pid);
  UniqueFd fd(::openat(proc_fd, path, O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  char buf[64];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) return {};
  std::string_view comm(buf, static_cast<size_t>(n));
  if (!comm.empty() && comm.back() == '\n') comm.remove_suffix(1);
  return std::string(comm);
}

// The numeric entries of /proc: one per process (thread-group leader).
std::vector<int> list_pids(int proc_fd) {
  std::vector<int> pids;
  UniqueFd dir(::openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return pids;
  std::vector<char> buf(kDirBuffer);
  DirReader entries(dir.get(), buf);
  while (const char* name = entries.next()) {
    int pid = parse_number(name);
    if (pid > 0) pids.push_back(pid);
  }
  return pids;
}

// Every socket descriptor of one process. `buf` is the caller's, reused.
void scan_process(int proc_fd, int pid, std::vector<char>& buf, std::vector<SocketFd>& out) {
  char fd_path[32];
  std::snprintf(fd_path, sizeof fd_path, "%d/fd", pid);
  // Gone, or not ours to look at (EACCES without CAP_SYS_PTRACE): skip.
  UniqueFd dir(::openat(proc_fd, fd_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return;
  char link[64];  // "socket:[18446744073709551615]" fits; longer targets are no sockets
  std::string comm;
  bool have_comm = false;
  DirReader entries(dir.get(), buf);
  while (const char* name = entries.next()) {
    int fd = parse_number(name);
    if (fd < 0) continue;
    ssize_t n = ::readlinkat(dir.get(), name, link, sizeof link);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof link) continue;
    uint64_t ino = socket_inode(std::string_view(link, static_cast<size_t>(n)));
    if (ino == 0) continue;
    if (!have_comm) {
      comm = read_comm(proc_fd, pid);
      have_comm = true;
    }
    out.push_back(SocketFd{ino, SocketUser{comm, pid, fd}});
  }
}

// The cost is one readlinkat() per descriptor on the host, all in the
// kernel and independent per process, so processes are shared out among a
// few threads (a hundred thousand descriptors take ~0.4 s on one core).
unsigned worker_count(size_t pids) {
  constexpr size_t kPidsPerWorker = 256;  // below this a thread costs more than it saves
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::clamp<size_t>(pids / kPidsPerWorker, 1, std::min(cores, 8u)));
}

}  // namespace

SocketOwners SocketOwners::scan(const std::string& proc_root) {
  UniqueFd root_fd(::open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return {};
  const int proc_fd = root_fd.get();
  const std::vector<int> pids = list_pids(proc_fd);

  const unsigned workers = worker_count(pids.size());
  std::vector<std::vector<SocketFd>> found(workers);
  std::atomic<size_t> next{0};
  auto work = [&](std::vector<SocketFd>& out) {
    constexpr size_t kBatch = 4;
    std::vector<char> buf(kDirBuffer);
    for (size_t i; (i = next.fetch_add(kBatch)) < pids.size();)
      for (size_t j = i; j < std::min(i + kBatch, pids.size()); ++j)
        scan_process(proc_fd, pids[j], buf, out);
  };
  {
    std::vector<std::jthread> threads;
    for (unsigned w = 1; w < workers; ++w) threads.emplace_back(work, std::ref(found[w]));
    work(found[0]);
  }

  if (found.size() == 1) return from_fds(std::move(found[0]));
  size_t total = 0;
  for (const auto& f : found) total += f.size();
  std::vector<SocketFd> all;
  all.reserve(total);
  for (auto& f : found) std::move(f.begin(), f.end(), std::back_inserter(all));
  return from_fds(std::move(all));
}

SocketOwners SocketOwners::from_fds(std::vector<SocketFd> fds) {
  SocketOwners owners;
  owners.by_inode_.reserve(fds.size());
  for (auto& [ino, user] : fds) owners.by_inode_[ino].push_back(std::move(user));

  // ss pushes each (pid, fd) onto the front of its hash chain while walking
  // /proc in ascending pid and fd order, so it prints a shared socket's
  // users newest pid first, highest fd first. Sorting gives that order
  // whatever the order the descriptors were found in (scan threads,
  // readdir, a test's fake /proc, the iterator).
  for (auto& [ino, users] : owners.by_inode_) {
    if (users.size() < 2) continue;
    std::sort(users.begin(), users.end(), [](const SocketUser& a, const SocketUser& b) {
      return a.pid != b.pid ? a.pid > b.pid : a.fd > b.fd;
    });
  }
  return owners;
}

std::span<const SocketUser> SocketOwners::users(uint64_t inode) const {
  auto it = by_inode_.find(inode);
  if (it == by_inode_.end()) return {};
  return it->second;
}

std::string process_comm(int pid, const std::string& proc_root) {
  UniqueFd root_fd(::open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return root_fd ? read_comm(root_fd.get(), pid) : std::string();
}

std::optional<std::string> stat_comm(int pid, const std::string& proc_root) {
  const std::string path = proc_root + "/" + std::to_string(pid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[128];  // "pid (comm) ...": comm is at most 15 bytes (TASK_COMM_LEN)
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  std::string_view stat(buf, static_cast<size_t>(n));
  const size_t open = stat.find(" (");
  if (open == std::string_view::npos) return std::nullopt;
  stat.remove_prefix(open + 2);
  const size_t close = stat.find(')');
  // %[^)] needs at least one character, and stops at the first ')'.
  if (close == 0) return std::nullopt;
  return std::string(stat.substr(0, close));
}

}  // namespace sstrace::sys
