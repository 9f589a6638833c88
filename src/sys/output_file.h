// --output FILE: the file the events are appended to, put in place of a
// standard descriptor (stdout), so that every writer, error message and
// check that works on stdout works on it unchanged.
//
// Opened with O_APPEND: after logrotate's `copytruncate` empties the file,
// the next write lands at its new end, not at the old offset (which would
// leave a hole of NUL bytes before it). Reopened on request (logrotate's
// `create`: the old file was renamed, a new one is wanted at the path).
#pragma once

#include <string>

#include "common/result.h"

namespace sstrace::sys {

class OutputFile {
 public:
  // Opens `path` for appending (created with mode 0640, less the umask, when
  // missing) and puts it on `target_fd` with dup3(), which also closes what
  // `target_fd` was.
  static Result<OutputFile> open(const std::string& path, int target_fd);

  // Opens the path again and puts the new file on the target fd in one
  // dup3(): no moment where the fd is closed or names neither file. The
  // caller flushes first, so that no line is split between the two files.
  // On failure the old file stays in place.
  Result<void> reopen();

  const std::string& path() const { return path_; }

 private:
  OutputFile(std::string path, int target_fd) : path_(std::move(path)), target_fd_(target_fd) {}
  Result<void> open_onto_target();

  std::string path_;
  int target_fd_;
};

}  // namespace sstrace::sys
