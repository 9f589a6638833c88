// What the live engine feeds besides the event stream: the churn views
// (top, the -s summary, the metrics endpoint). LiveStream passes each of
// them every event the filter lets through, in order, and ticks them from
// its loop, so a view needs no thread and no clock of its own.
#pragma once

#include <cstdint>

#include "model/event.h"

namespace sstrace::cli {

class LiveView {
 public:
  virtual ~LiveView() = default;
  // Every event the stream filter shows: snapshot events while seeding,
  // sync, then state, rtt, retransmit, reset, close and lost events.
  virtual void on_event(const model::Event& e) = 0;
  // From the stream loop, at least every 50 ms once seeding is done
  // (CLOCK_MONOTONIC). Where a view closes its intervals.
  virtual void on_tick(uint64_t now_ns) { (void)now_ns; }
  // The view asks for the whole live table once (top's `/`: a new filter
  // counts the connections already there). The engine answers from its
  // loop with a `table` event per connection and a `table_end`, shown to
  // every view and written to the stream as SIGUSR1's are. Returns true
  // once per request.
  virtual bool take_table_request() { return false; }
  // The view asks the run to end (top's `q`).
  virtual bool wants_stop() const { return false; }
  // The run ends (a signal, --duration, the reader gone): last words.
  virtual void on_stop(uint64_t now_ns) { (void)now_ns; }
};

}  // namespace sstrace::cli
