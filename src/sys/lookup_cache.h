// A cache for lookups that ask libc or the kernel once per distinct value
// (host, service and interface names) and keep the answer for the life of
// the process.
#pragma once

#include <mutex>
#include <unordered_map>
#include <utility>

namespace sstrace::sys {

// Guarded by a mutex: the live stream may format from more than one thread,
// and every lookup behind it is slow (NSS, syscalls). The lock is not held
// while `compute` runs; two threads may compute the same key, and the first
// answer stored is the one kept.
template <typename K, typename V, typename Hash = std::hash<K>>
class LookupCache {
 public:
  template <typename F>
  V get(const K& key, F compute) {
    {
      std::lock_guard lock(mu_);
      if (auto it = map_.find(key); it != map_.end()) return it->second;
    }
    V v = compute();
    std::lock_guard lock(mu_);
    return map_.emplace(key, std::move(v)).first->second;
  }

 private:
  std::mutex mu_;
  std::unordered_map<K, V, Hash> map_;
};

}  // namespace sstrace::sys
