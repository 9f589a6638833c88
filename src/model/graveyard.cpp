#include "model/graveyard.h"

#include <algorithm>
#include <bit>

namespace sstrace::model {

Graveyard::Graveyard(size_t capacity) : ring_(capacity), occupied_(capacity, 0) {
  // Twice the slots, rounded up to a power of two: probes stay short.
  size_t buckets = std::bit_ceil(std::max<size_t>(2 * capacity, 2));
  buckets_.assign(buckets, Bucket{});
  mask_ = buckets - 1;
  shift_ = 64 - unsigned(std::countr_zero(buckets));
}

size_t Graveyard::home_of(const SockKey& key) const {
  // Fibonacci hashing: the top bits of the product, since cookies are
  // sequential and SockKeyHash's low bits follow theirs.
  uint64_t h = uint64_t(SockKeyHash()(key)) * 0x9e3779b97f4a7c15ULL;
  return size_t(h >> shift_) & mask_;
}

size_t Graveyard::bucket_of(const SockKey& key) const {
  size_t b = home_of(key);
  while (buckets_[b].slot != kEmpty && !(buckets_[b].key == key)) b = (b + 1) & mask_;
  return b;
}

void Graveyard::unindex_bucket(size_t hole) {
  // Entries after the hole that could not sit at their home because of it
  // move back into it, so every probe still ends at the first empty bucket.
  for (size_t b = (hole + 1) & mask_; buckets_[b].slot != kEmpty; b = (b + 1) & mask_) {
    size_t home = home_of(buckets_[b].key);
    bool home_after_hole = ((b - home) & mask_) < ((b - hole) & mask_);
    if (home_after_hole) continue;
    buckets_[hole] = buckets_[b];
    hole = b;
  }
  buckets_[hole] = Bucket{};
}

void Graveyard::evict(uint32_t slot) {
  if (!occupied_[slot]) return;
  unindex_bucket(bucket_of(ring_[slot].key));
  occupied_[slot] = 0;
  --size_;
}

void Graveyard::bury(Connection&& c) {
  if (ring_.empty()) return;
  size_t b = bucket_of(c.key);
  if (buckets_[b].slot != kEmpty) evict(buckets_[b].slot);
  evict(next_);
  ring_[next_] = std::move(c);
  occupied_[next_] = 1;
  ++size_;
  buckets_[bucket_of(ring_[next_].key)] = {ring_[next_].key, next_};
  next_ = uint32_t((next_ + 1) % ring_.size());
}

uint32_t Graveyard::slot_of(const SockKey& key) const {
  return ring_.empty() ? kEmpty : buckets_[bucket_of(key)].slot;
}

Connection* Graveyard::find(const SockKey& key) {
  uint32_t slot = slot_of(key);
  return slot == kEmpty ? nullptr : &ring_[slot];
}

const Connection* Graveyard::find(const SockKey& key) const {
  uint32_t slot = slot_of(key);
  return slot == kEmpty ? nullptr : &ring_[slot];
}

}  // namespace sstrace::model
