// Race-free seeding (PRODUCT.md): the programs are attached before the dump
// starts, so every change after attach is in a record. Records that arrive
// before the dump is done are held here; once the dump has seeded the table,
// finish() replays exactly the held records the dump did not already show.
#pragma once

#include <cstdint>
#include <vector>

#include "model/connection_table.h"
#include "sstrace/events.h"

namespace sstrace::model {

class Seeder {
 public:
  explicit Seeder(ConnectionTable& table) : table_(table) {}

  // A record drained from the ring buffer before sync.
  void hold(const sstrace_record& r) { held_.push_back(r); }
  size_t held() const { return held_.size(); }

  // The dump ran between t0 and t1 (CLOCK_MONOTONIC) and every dumped socket
  // is in the table: applies the held records that are newer than what the
  // dump showed, in kernel order. Returns how many were applied.
  size_t finish(uint64_t t0_ns, uint64_t t1_ns);

 private:
  // For each held record: does the dump already show its effect?
  std::vector<bool> reflected_by_dump(uint64_t t0_ns, uint64_t t1_ns) const;

  ConnectionTable& table_;
  std::vector<sstrace_record> held_;
};

}  // namespace sstrace::model
