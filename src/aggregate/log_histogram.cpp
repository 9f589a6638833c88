#include "aggregate/log_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sstrace::aggregate {

namespace {

constexpr int kSubBits = 5;  // 32 buckets per power of two
constexpr uint64_t kExact = uint64_t(1) << (kSubBits + 1);

}  // namespace

uint32_t LogHistogram::bucket_of(uint64_t v) {
  if (v < kExact) return uint32_t(v);
  const int top = 63 - std::countl_zero(v);  // >= kSubBits + 1
  const int shift = top - kSubBits;
  const uint64_t mantissa = v >> shift;  // in [32, 63]
  return uint32_t(shift) * 32 + uint32_t(mantissa);
}

uint64_t LogHistogram::value_of(uint32_t bucket) {
  if (bucket < kExact) return bucket;
  const int shift = int(bucket / 32) - 1;
  const uint64_t mantissa = bucket - uint32_t(shift) * 32;
  const uint64_t lo = mantissa << shift;
  const uint64_t hi = ((mantissa + 1) << shift) - 1;
  return lo + (hi - lo) / 2;
}

void LogHistogram::add(uint64_t v, int64_t n) {
  const uint32_t b = bucket_of(v);
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), b,
                             [](const auto& e, uint32_t key) { return e.first < key; });
  if (it == buckets_.end() || it->first != b) {
    if (n <= 0) return;  // nothing there to take back
    buckets_.insert(it, {b, uint64_t(n)});
    count_ += uint64_t(n);
    return;
  }
  if (n < 0 && uint64_t(-n) >= it->second) {
    count_ -= it->second;
    buckets_.erase(it);
    return;
  }
  it->second = uint64_t(int64_t(it->second) + n);
  count_ = uint64_t(int64_t(count_) + n);
}

void LogHistogram::merge(const LogHistogram& o) {
  for (const auto& [b, n] : o.buckets_) add(value_of(b), int64_t(n));
}

void LogHistogram::clear() {
  buckets_.clear();
  count_ = 0;
}

std::optional<uint64_t> LogHistogram::percentile(double q) const {
  if (count_ == 0) return std::nullopt;
  uint64_t rank = uint64_t(std::ceil(q * double(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (const auto& [b, n] : buckets_) {
    seen += n;
    if (seen >= rank) return value_of(b);
  }
  return value_of(buckets_.back().first);
}

}  // namespace sstrace::aggregate
