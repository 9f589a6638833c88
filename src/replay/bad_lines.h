// The lines of a recording that could not be replayed: counted, and the
// first few named with their line numbers and what was wrong, so that a
// person can find them (`sed -n 1234p FILE`) without a flood on stderr.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sstrace::replay {

class BadLines {
 public:
  static constexpr size_t kListed = 5;

  void add(uint64_t line_number, std::string why);
  uint64_t count() const { return count_; }
  // "3 lines are not sstrace events and were skipped: line 2 (not JSON),
  // ..., and 1 more"; what was wrong is made safe for a terminal (it may
  // quote the file).
  std::string report() const;

 private:
  struct Listed {
    uint64_t line;
    std::string why;
  };
  uint64_t count_ = 0;
  std::vector<Listed> listed_;
};

}  // namespace sstrace::replay
