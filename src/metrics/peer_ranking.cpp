#include "metrics/peer_ranking.h"

#include <algorithm>
#include <tuple>

namespace sstrace::metrics {

PeerRanking::Seen PeerRanking::note_open(const PeerAddr& p) {
  auto it = window_.find(p);
  if (it != window_.end())
    ++it->second;
  else if (window_.size() < max_candidates_ || labelled(p))
    window_.emplace(p, 1);
  if (labelled(p)) return Seen::labelled;
  if (labelled_.size() < slots_) {
    labelled_.insert(p);
    return Seen::promoted;
  }
  return Seen::other;
}

PeerRanking::Change PeerRanking::rerank() {
  struct Candidate {
    PeerAddr peer;
    uint64_t opens;
    bool incumbent;
  };
  std::vector<Candidate> c;
  c.reserve(window_.size() + labelled_.size());
  for (const auto& [p, n] : window_) c.push_back({p, n, labelled(p)});
  // Labelled peers without an open in the window still hold their slot
  // against nobody.
  for (const PeerAddr& p : labelled_)
    if (!window_.count(p)) c.push_back({p, 0, true});
  auto rank = [](const Candidate& x) {
    return std::make_tuple(x.opens, x.incumbent, x.peer.family, x.peer.addr);
  };
  std::sort(c.begin(), c.end(),
            [&](const Candidate& a, const Candidate& b) { return rank(a) > rank(b); });
  std::unordered_set<PeerAddr, PeerAddrHash> next;
  for (size_t i = 0; i < c.size() && next.size() < slots_; ++i) next.insert(c[i].peer);
  Change ch;
  for (const PeerAddr& p : labelled_)
    if (!next.count(p)) ch.demoted.push_back(p);
  for (const PeerAddr& p : next)
    if (!labelled_.count(p)) ch.promoted.push_back(p);
  labelled_ = std::move(next);
  window_.clear();
  return ch;
}

}  // namespace sstrace::metrics
