// A sparse log-bucketed histogram (HDR-style: 32 buckets per power of two,
// exact below 64). A percentile is the midpoint of the bucket its rank
// falls in, within 1.6% of the exact value. Counts may be taken back
// (add(v, -1)), so a connection's srtt can move between buckets as it
// changes, and a frame reads percentiles without walking connections.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace sstrace::aggregate {

class LogHistogram {
 public:
  void add(uint64_t v, int64_t n = 1);
  void merge(const LogHistogram& o);
  void clear();
  uint64_t count() const { return count_; }
  // Nearest rank: the value below which a share q (0..1] of the samples lie.
  std::optional<uint64_t> percentile(double q) const;

  static uint32_t bucket_of(uint64_t v);
  static uint64_t value_of(uint32_t bucket);  // the bucket's midpoint

 private:
  // (bucket, count), sorted by bucket, no zero counts: a group holds few
  // distinct buckets, and most groups are small.
  std::vector<std::pair<uint32_t, uint64_t>> buckets_;
  uint64_t count_ = 0;
};

}  // namespace sstrace::aggregate
