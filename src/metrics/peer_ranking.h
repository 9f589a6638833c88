// Which peers get a `peer` label of their own (--metrics-peers N): the N
// busiest, the rest `other`. Pure bookkeeping, no clock of its own.
//
// "Busiest" is the number of connections opened (in and out) with the peer
// during the last ranking window (Metrics re-ranks once a minute). Until
// the first window closes, and whenever a slot is free, a peer takes a slot
// at its first open, so a quiet host shows its peers at once. At the end of
// a window the slots go to the window's N busiest; a labelled peer keeps its
// slot unless a busier one takes it (ties keep the incumbent), and a slot
// nobody outranked stays with its peer. So the label set never exceeds N
// peers plus `other`, however many peers come and go.
//
// The window's counts are kept for at most `max_candidates` peers: past
// that, a peer first seen in the window waits for the next one (a scan of a
// million addresses cannot grow the table without bound).
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "metrics/rules.h"

namespace sstrace::metrics {

class PeerRanking {
 public:
  explicit PeerRanking(size_t slots, size_t max_candidates = 4096)
      : slots_(slots), max_candidates_(max_candidates) {}

  enum class Seen : uint8_t { labelled, promoted, other };
  // An open with peer p: counts it for the window; promotes p when a slot
  // is free.
  Seen note_open(const PeerAddr& p);
  bool labelled(const PeerAddr& p) const { return labelled_.count(p) != 0; }
  size_t labelled_count() const { return labelled_.size(); }

  struct Change {
    std::vector<PeerAddr> promoted, demoted;
  };
  // Closes the window: the slots go to its busiest peers (see above).
  Change rerank();

 private:
  size_t slots_;
  size_t max_candidates_;
  std::unordered_set<PeerAddr, PeerAddrHash> labelled_;
  std::unordered_map<PeerAddr, uint64_t, PeerAddrHash> window_;
};

}  // namespace sstrace::metrics
