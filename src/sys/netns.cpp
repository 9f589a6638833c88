#include "sys/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace sstrace::sys {
namespace {

// The calling thread's own namespace (see the note in netns.h on why not
// /proc/self).
constexpr const char* kThreadNetns = "/proc/thread-self/ns/net";

Result<UniqueFd> open_ns_path(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error("cannot open " + what + " (" + path + ")");
  return UniqueFd(fd);
}

}  // namespace

std::string netns_path(const std::string& name) { return std::string(kNetnsRunDir) + "/" + name; }

bool valid_netns_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  if (name.size() > NAME_MAX) return false;
  return name.find('/') == std::string::npos;
}

Result<UniqueFd> open_netns(const std::string& name) {
  if (!valid_netns_name(name)) {
    return Error{"invalid network namespace name '" + name + "'", EINVAL};
  }
  const std::string path = netns_path(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Error{"network namespace '" + name + "' not found (" + path + ")", err};
    }
    return Error{"cannot open network namespace '" + name + "' (" + path + ")", err};
  }
  return UniqueFd(fd);
}

Result<void> enter_netns_fd(int fd, const std::string& what) {
  // CLONE_NEWNET makes the kernel refuse a handle of another namespace type
  // with EINVAL instead of silently switching e.g. the mount namespace.
  if (::setns(fd, CLONE_NEWNET) != 0) {
    return sys_error("cannot enter network namespace " + what + " (setns needs CAP_SYS_ADMIN)");
  }
  return {};
}

Result<void> enter_netns(const std::string& name) {
  auto fd = open_netns(name);
  if (!fd) return fd.error();
  return enter_netns_fd(fd->get(), "'" + name + "'");
}

Result<uint32_t> netns_inode(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return sys_error("cannot stat network namespace handle");
  // Namespace inodes come from the proc inode allocator, which hands out
  // 32-bit numbers (fs/proc/generic.c: proc_alloc_inum).
  return static_cast<uint32_t>(st.st_ino);
}

Result<uint32_t> current_netns_inode() {
  struct stat st {};
  if (::stat(kThreadNetns, &st) != 0) {
    return sys_error(std::string("cannot stat ") + kThreadNetns + " (is /proc mounted?)");
  }
  return static_cast<uint32_t>(st.st_ino);
}

Result<std::vector<std::string>> list_netns() {
  std::vector<std::string> names;
  DIR* dir = ::opendir(kNetnsRunDir);
  if (dir == nullptr) {
    if (errno == ENOENT) return names;
    return sys_error(std::string("cannot list ") + kNetnsRunDir);
  }
  while (const dirent* ent = ::readdir(dir)) {
    std::string name = ent->d_name;
    if (valid_netns_name(name)) names.push_back(std::move(name));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Result<NetnsScope> NetnsScope::enter_fd(int fd, const std::string& what) {
  auto original = open_ns_path(kThreadNetns, "the current network namespace");
  if (!original) return original.error();
  if (auto r = enter_netns_fd(fd, what); !r) return r.error();
  return NetnsScope(std::move(*original));
}

Result<NetnsScope> NetnsScope::enter(const std::string& name) {
  auto fd = open_netns(name);
  if (!fd) return fd.error();
  return enter_fd(fd->get(), "'" + name + "'");
}

NetnsScope& NetnsScope::operator=(NetnsScope&& other) noexcept {
  if (this != &other) {
    (void)restore();
    original_ = std::move(other.original_);
  }
  return *this;
}

NetnsScope::~NetnsScope() { (void)restore(); }

Result<void> NetnsScope::restore() {
  if (!original_) return {};
  UniqueFd original = std::move(original_);
  return enter_netns_fd(original.get(), "(the original one)");
}

}  // namespace sstrace::sys
