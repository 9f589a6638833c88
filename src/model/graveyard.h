// Connections kept after their end, so that late records (a reset sent
// after the close that caused it) still find their owner and endpoints.
// The last `capacity` burials are kept, the oldest evicted first. Storage
// is fixed at construction: a burial under churn (one per closed socket)
// allocates nothing (a Connection's only string, the comm, fits the
// small-string buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/connection.h"

namespace sstrace::model {

class Graveyard {
 public:
  explicit Graveyard(size_t capacity);

  // Keeps `c`, evicting the oldest burial when full. A key buried again
  // (a late record revived it, then it ended again) replaces its earlier
  // entry.
  void bury(Connection&& c);
  Connection* find(const SockKey& key);
  const Connection* find(const SockKey& key) const;
  size_t size() const { return size_; }
  size_t capacity() const { return ring_.size(); }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  // The index: open addressing with linear probing, at most half full.
  // A bucket holds the key beside the slot number, so a probe does not
  // touch the ring (a cache miss per Connection).
  struct Bucket {
    SockKey key;
    uint32_t slot = kEmpty;
  };
  size_t home_of(const SockKey& key) const;
  size_t bucket_of(const SockKey& key) const;  // its bucket, or the empty one ending its probe
  uint32_t slot_of(const SockKey& key) const;  // kEmpty: not buried
  void unindex_bucket(size_t bucket);          // backward-shift deletion
  void evict(uint32_t slot);

  std::vector<Connection> ring_;
  std::vector<uint8_t> occupied_;  // per ring slot
  std::vector<Bucket> buckets_;
  size_t mask_ = 0;     // buckets_.size() - 1
  unsigned shift_ = 0;  // 64 - log2(buckets_.size())
  uint32_t next_ = 0;   // the slot the next burial takes
  size_t size_ = 0;
};

}  // namespace sstrace::model
