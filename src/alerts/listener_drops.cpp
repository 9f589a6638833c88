#include "alerts/listener_drops.h"

#include <iterator>

namespace sstrace::alerts {

uint64_t ListenerDrops::observe(const model::SockKey& key, uint32_t drops, bool born_since_start) {
  auto [it, inserted] = last_.try_emplace(key, Seen{drops, round_});
  if (inserted) return born_since_start ? drops : 0;
  // sk_drops is an atomic_t reported as u32: the difference wraps right.
  const uint32_t delta = drops - it->second.drops;
  it->second = Seen{drops, round_};
  return delta;
}

void ListenerDrops::end_round() {
  for (auto it = last_.begin(); it != last_.end();)
    it = it->second.round == round_ ? std::next(it) : last_.erase(it);
}

}  // namespace sstrace::alerts
