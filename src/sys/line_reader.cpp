#include "sys/line_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace sstrace::sys {

Result<LineReader> LineReader::open(const std::string& path) {
  if (path == "-") return LineReader(stdin, false);
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return sys_error("cannot open " + path);
  // A directory opens, then fails every read with EISDIR: say so now.
  struct stat st {};
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return sys_error("cannot read " + path, EISDIR);
  }
  return LineReader(f, true);
}

LineReader::LineReader(LineReader&& o) noexcept
    : file_(std::exchange(o.file_, nullptr)),
      owned_(o.owned_),
      buf_(std::exchange(o.buf_, nullptr)),
      cap_(std::exchange(o.cap_, 0)),
      error_(o.error_) {}

LineReader::~LineReader() {
  std::free(buf_);
  if (file_ && owned_) std::fclose(file_);
}

bool LineReader::next(std::string& line, bool& complete) {
  errno = 0;
  const ssize_t n = getline(&buf_, &cap_, file_);
  if (n < 0) {
    if (std::ferror(file_)) error_ = errno ? errno : EIO;
    return false;
  }
  complete = n > 0 && buf_[n - 1] == '\n';
  line.assign(buf_, size_t(n) - (complete ? 1 : 0));
  return true;
}

}  // namespace sstrace::sys
