#include "sys/mount_ns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

namespace sstrace::sys {

Result<void> enter_own_mount_namespace() {
  if (unshare(CLONE_NEWNS) != 0)
    return sys_error("cannot make a mount namespace of our own (needs CAP_SYS_ADMIN)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return sys_error("cannot keep our mounts from the host (mount --make-rslave /)");
  return {};
}

Result<void> bind_file(const std::string& source, const std::string& target) {
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error("cannot bind-mount " + source + " on " + target);
  return {};
}

Result<std::string> make_file_on_tmpfs(const std::string& dir, const std::string& name) {
  if (mount("sstrace", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0)
    return sys_error("cannot mount a tmpfs on " + dir);
  const std::string path = dir + "/" + name;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return sys_error("cannot create " + path);
  close(fd);
  return path;
}

}  // namespace sstrace::sys
