#include "sys/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include "sys/fd.h"

namespace sstrace::sys {

namespace {

// rw for the user, r for the group (adm, say, for the log shipper); not
// world-readable: the events name every peer of the host.
constexpr mode_t kOutputMode = 0640;

}  // namespace

Result<OutputFile> OutputFile::open(const std::string& path, int target_fd) {
  OutputFile f(path, target_fd);
  if (auto r = f.open_onto_target(); !r) return r.error();
  return f;
}

Result<void> OutputFile::reopen() { return open_onto_target(); }

Result<void> OutputFile::open_onto_target() {
  // O_CLOEXEC on the temporary descriptor only: dup3() with flags 0 leaves
  // the target as a standard descriptor is (inherited by nothing we start,
  // as we start nothing).
  UniqueFd fd(
      ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, kOutputMode));
  if (!fd) return sys_error("cannot open --output file " + path_);
  if (fd.get() == target_fd_) {
    // The target was closed and open() handed us its number: already in place.
    (void)fd.release();
    return {};
  }
  if (dup3(fd.get(), target_fd_, 0) < 0) return sys_error("cannot use --output file " + path_);
  return {};
}

}  // namespace sstrace::sys
