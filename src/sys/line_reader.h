// A text file read one line at a time (--replay's recording). "-" is
// standard input, so that `zcat archive.gz | sstrace --replay -` works.
#pragma once

#include <cstdio>
#include <string>

#include "common/result.h"

namespace sstrace::sys {

class LineReader {
 public:
  static Result<LineReader> open(const std::string& path);
  LineReader(LineReader&& o) noexcept;
  LineReader& operator=(LineReader&&) = delete;
  ~LineReader();

  // The next line without its newline; false at the end or on a read
  // error (error() then says which). `complete` is false for a last line
  // that has no newline: a file cut while it was written.
  bool next(std::string& line, bool& complete);
  int error() const { return error_; }

 private:
  LineReader(std::FILE* f, bool owned) : file_(f), owned_(owned) {}

  std::FILE* file_ = nullptr;
  bool owned_ = false;  // not stdin
  char* buf_ = nullptr;
  size_t cap_ = 0;
  int error_ = 0;
};

}  // namespace sstrace::sys
