#include "model/seeder.h"

#include <unordered_map>

namespace sstrace::model {

namespace {

// Can a dump that found the socket in `seen` have been taken after a record
// that left it in `after`? Equal states, or the one change no tracepoint
// reports in between: a FIN-WAIT-2 minisocket getting the peer's FIN.
bool dump_can_show(ReportedState after, ReportedState seen) {
  if (after == seen) return true;
  return after.minisocket && seen.minisocket && after.state == diag::kFinWait2 &&
         seen.state == diag::kTimeWait;
}

}  // namespace

std::vector<bool> Seeder::reflected_by_dump(uint64_t t0_ns, uint64_t t1_ns) const {
  std::vector<bool> skip(held_.size(), false);
  std::unordered_map<SockKey, std::vector<size_t>, SockKeyHash> state_records;
  for (size_t i = 0; i < held_.size(); ++i)
    if (held_[i].kind == SSTRACE_REC_STATE)
      state_records[{held_[i].id.netns, held_[i].id.cookie}].push_back(i);

  for (const auto& [key, idx] : state_records) {
    const Connection* dumped = table_.find(key);
    // The dump did not see it: every record is news. Nor when it saw a
    // request: a request changes no state, so every record of its cookie
    // is its child's (which took the cookie over), after the dump.
    if (!dumped || dumped->request) continue;
    ReportedState seen{dumped->state, dumped->minisocket};
    // The dump shows the socket after the last transition into the state it
    // reports, among those that can have happened before the dump ended.
    // Socket transitions are ordered (the socket lock), so the records for
    // one socket form a chain and the match is unambiguous in practice.
    ptrdiff_t last = -1;
    for (size_t n = 0; n < idx.size(); ++n) {
      const sstrace_record& r = held_[idx[n]];
      if (r.ts_ns <= t1_ns && dump_can_show(reported_new_state(r), seen)) last = ptrdiff_t(n);
    }
    if (last >= 0) {
      for (ptrdiff_t n = 0; n <= last; ++n) skip[idx[size_t(n)]] = true;
      continue;
    }
    // No transition leads to what the dump shows: either the dump saw the
    // socket before all of them (its old state matches), or the chain started
    // before the dump and we cannot place it: then what predates the dump is
    // in the dump, what follows is news.
    if (held_[idx.front()].state.old_state == seen.state && !seen.minisocket) continue;
    for (size_t i : idx)
      if (held_[i].ts_ns < t0_ns) skip[i] = true;
  }

  // Counters (rtt, retransmit, reset) from before the dump started are in the
  // dump's tcp_info; from after, they are events.
  for (size_t i = 0; i < held_.size(); ++i) {
    const sstrace_record& r = held_[i];
    if (r.kind == SSTRACE_REC_STATE || r.kind == SSTRACE_REC_OWNER) continue;
    if (r.ts_ns < t0_ns && table_.find({r.id.netns, r.id.cookie})) skip[i] = true;
  }
  return skip;
}

size_t Seeder::finish(uint64_t t0_ns, uint64_t t1_ns) {
  std::vector<bool> skip = reflected_by_dump(t0_ns, t1_ns);
  size_t applied = 0;
  for (size_t i = 0; i < held_.size(); ++i) {
    if (skip[i]) continue;
    table_.apply(held_[i]);
    ++applied;
  }
  held_.clear();
  held_.shrink_to_fit();
  return applied;
}

}  // namespace sstrace::model
