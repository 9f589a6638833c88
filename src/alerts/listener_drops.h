// Connections each listener dropped between two dumps of listeners. The
// kernel counts every listen drop on the listener itself (sk_drops, skmem's
// `d`, SK_MEMINFO_DROPS: tcp_listendrop() in include/net/tcp.h, called
// wherever TcpExtListenDrops is counted), so the deltas are exact, where
// skb:kfree_skb sees only the drops that free a packet. Pure.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "model/connection.h"

namespace sstrace::alerts {

class ListenerDrops {
 public:
  // A dump of listeners begins.
  void begin_round() { ++round_; }
  // One listener of the dump with its sk_drops. Returns the drops since
  // the last dump that showed it. At first sight: 0 for a listener older
  // than sstrace (its drops came before we watched), all of them for one
  // born since (`born_since_start`: every drop is one we watched for).
  uint64_t observe(const model::SockKey& key, uint32_t drops, bool born_since_start);
  // Forgets the listeners this dump did not show (closed).
  void end_round();
  size_t listeners() const { return last_.size(); }

 private:
  struct Seen {
    uint32_t drops;
    uint64_t round;
  };
  uint64_t round_ = 0;
  std::unordered_map<model::SockKey, Seen, model::SockKeyHash> last_;
};

}  // namespace sstrace::alerts
