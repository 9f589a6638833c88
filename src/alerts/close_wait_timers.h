// Which connections have sat in CLOSE-WAIT past --close-wait-alert: a timer
// queue keyed by when each entered the state, so a check costs what is due,
// not the table's size. Pure: fed the model's events, asked with a time.
#pragma once

#include <cstdint>
#include <queue>
#include <unordered_map>
#include <vector>

#include "model/event.h"

namespace sstrace::alerts {

class CloseWaitTimers {
 public:
  explicit CloseWaitTimers(uint64_t threshold_ns) : threshold_ns_(threshold_ns) {}

  // Every event of the model (before the stream filter): who entered or
  // left CLOSE-WAIT. A seeded connection counts from when sstrace learned
  // of it (Connection::known_since_ns): the dump does not say when the
  // state was entered, and tcp_info's last_data_recv bounds it from the
  // wrong side (the FIN comes with or after the last data).
  void observe(const model::Event& e);

  struct Due {
    model::SockKey key;
    uint64_t since_ns = 0;  // when it entered CLOSE-WAIT (or was learned of)
  };
  // Connections in CLOSE-WAIT for the threshold or longer at now_ns, each
  // returned once in its life, earliest first. Valid until the next call.
  const std::vector<Due>& due(uint64_t now_ns);
  // Connections in CLOSE-WAIT now (alerted or not).
  size_t waiting() const { return since_.size(); }

 private:
  struct Entry {
    uint64_t since_ns;
    bool alerted;
  };
  struct Timer {
    uint64_t at_ns;
    model::SockKey key;
    bool operator>(const Timer& o) const { return at_ns > o.at_ns; }
  };

  uint64_t threshold_ns_;
  std::unordered_map<model::SockKey, Entry, model::SockKeyHash> since_;
  // Lazily invalidated: a timer whose connection left CLOSE-WAIT is
  // skipped when it comes up.
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<Due> due_;
};

}  // namespace sstrace::alerts
