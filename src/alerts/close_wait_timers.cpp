#include "alerts/close_wait_timers.h"

#include "diag/sock_info.h"

namespace sstrace::alerts {

void CloseWaitTimers::observe(const model::Event& e) {
  if (!e.conn || e.type == model::EventType::alert) return;
  const model::Connection& c = *e.conn;
  if (c.state != diag::TcpState::kCloseWait || c.minisocket) {
    since_.erase(c.key);
    return;
  }
  if (since_.count(c.key)) return;
  uint64_t since = c.state_since_ns ? c.state_since_ns : c.known_since_ns;
  if (!since) since = e.ts_ns;
  since_.emplace(c.key, Entry{since, false});
  timers_.push({since + threshold_ns_, c.key});
}

const std::vector<CloseWaitTimers::Due>& CloseWaitTimers::due(uint64_t now_ns) {
  due_.clear();
  while (!timers_.empty() && timers_.top().at_ns <= now_ns) {
    Timer t = timers_.top();
    timers_.pop();
    auto it = since_.find(t.key);
    if (it == since_.end() || it->second.alerted || it->second.since_ns + threshold_ns_ != t.at_ns)
      continue;
    it->second.alerted = true;
    due_.push_back({t.key, it->second.since_ns});
  }
  return due_;
}

}  // namespace sstrace::alerts
