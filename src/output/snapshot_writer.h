// Writers for `sstrace snapshot`: ss's columns for people, JSON lines
// (snapshot-shaped objects, CONTRACT.md) for pipelines.
#pragma once

#include <cstdio>
#include <memory>

#include "diag/sock_info.h"
#include "sys/procfs.h"

namespace sstrace::output {

// What ss's option letters ask to show.
struct SnapshotFormat {
  bool numeric = false;     // -n: no service names
  bool resolve = false;     // -r: host names
  bool timer = false;       // -o
  bool extended = false;    // -e
  bool memory = false;      // -m
  bool info = false;        // -i
  bool processes = false;   // -p
  bool oneline = false;     // -O
  bool header = true;       // not -H
  bool show_netid = false;  // more than one socket kind is being listed (ss's rule)
  bool show_state = true;   // ss drops the State column when a state filter selects one state
};

class SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  // `owners` may be null when -p was not given (JSON then carries no users).
  virtual void sock(const diag::SockInfo& s, const sys::SocketOwners* owners) = 0;
  // Flushes whatever is buffered (ss aligns columns over the whole output).
  virtual void finish() = 0;
};

std::unique_ptr<SnapshotWriter> make_text_writer(std::FILE* out, const SnapshotFormat& fmt);
std::unique_ptr<SnapshotWriter> make_json_writer(std::FILE* out, const SnapshotFormat& fmt);

}  // namespace sstrace::output
