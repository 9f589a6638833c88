// The connection table a replay keeps: what the live model knew of each
// socket, rebuilt from the recorded events alone (each event carries the
// socket's fields after it; what it does not carry -- who opened the
// connection, since when it is in its state, its RTT extremes -- is
// followed here as the live model follows it). Pure: no I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "model/connection.h"
#include "model/event.h"
#include "replay/event_line.h"

namespace sstrace::replay {

// Per-port key of a listener: (netns << 16 | port).
using ListenerKey = uint64_t;

class ReplayTable {
 public:
  // ip_local_port_range, for the direction of a seeded connection (as the
  // live model guesses it; 0/0: unknown).
  void set_ephemeral_range(uint16_t lo, uint16_t hi) {
    ephemeral_lo_ = lo;
    ephemeral_hi_ = hi;
  }

  // Takes in what r says about its socket and binds r.event to the
  // connection as the table knows it after the event (r.event.conn; for a
  // snapshot also r.event.info). r must outlive the use of r.event.
  void apply(RecordedEvent& r);

  // A new seeding (a recording's next run, after its exit): the dump is
  // the truth again.
  void clear();

  // The live model's `table` events at ts_ns, one per connection, then
  // `table_end` (what SIGUSR1 writes).
  void emit_table(uint64_t ts_ns, const std::function<void(const model::Event&)>& sink) const;

  size_t size() const { return conns_.size(); }
  const model::Connection* find(const model::SockKey& key) const;

  // Counts the -s summary reads in place of /proc (TCP only: the stream
  // follows nothing else).
  struct TcpCounts {
    uint64_t full = 0;      // full sockets (not minisockets)
    uint64_t estab = 0;     // ESTAB and CLOSE-WAIT (snmp CurrEstab)
    uint64_t closed = 0;    // full sockets in CLOSE
    uint64_t orphaned = 0;  // closed by their process, still shutting down
    uint64_t timewait = 0;  // timewait minisockets
  };
  TcpCounts tcp_counts() const;

 private:
  model::Connection& take_in(const RecordedEvent& r, bool* created);
  model::Direction seeded_direction(const model::Connection& c) const;
  void apply_snapshot(RecordedEvent& r);
  void apply_state(RecordedEvent& r);
  void apply_rtt(RecordedEvent& r);
  void apply_retransmit(RecordedEvent& r);
  void apply_close(RecordedEvent& r);
  void apply_alert(RecordedEvent& r);
  void bind_scratch(RecordedEvent& r, model::Direction dir);
  void bind_known_or_scratch(RecordedEvent& r, model::Direction dir);
  void bury(const model::SockKey& key, RecordedEvent& r);

  std::unordered_map<model::SockKey, model::Connection, model::SockKeyHash> conns_;
  // Ended connections, for the records that come after a close (a reset
  // sent after it), as the live model keeps them: the newest kGraveyardSize.
  std::unordered_map<model::SockKey, model::Connection, model::SockKeyHash> graveyard_;
  std::deque<model::SockKey> buried_;
  std::unordered_set<ListenerKey> listeners_;
  uint16_t ephemeral_lo_ = 0, ephemeral_hi_ = 0;
};

}  // namespace sstrace::replay
