// What the churn views show (CONTRACT.md "Churn analysis"): one Frame per
// interval, a row of totals and a row per group. Plain data: counts over
// the interval (the views divide by interval_s for rates), gauges at its
// end, percentiles over the group's connections.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/connection.h"

namespace sstrace::aggregate {

// What a group is. Ephemeral ports are never a key: `port` is the service
// port (the local port of a passive connection, the remote port of an
// active one).
enum class GroupBy : uint8_t { peer, port, peer_port, process };

std::string_view group_by_name(GroupBy by);  // CONTRACT.md's --by words
std::optional<GroupBy> parse_group_by(std::string_view word);
GroupBy next_group_by(GroupBy by);  // top's `g`: peer-port, port, peer, process, ...

struct GroupKey {
  uint32_t netns = 0;  // 0 unless the aggregator was told to key namespaces (--all-netns)
  // peer, peer_port: the remote address (family 0 for listeners and
  // connections whose peer is not known yet).
  uint8_t family = 0;
  std::array<uint8_t, 16> peer{};
  // port, peer_port: the service port and who opened the connection
  // (in/out; listen for a listener's own row).
  uint16_t port = 0;
  model::Direction dir = model::Direction::unknown;
  // process: the owner (its last owner for orphans and TIME-WAIT); pid 0
  // when no process is known.
  uint32_t pid = 0;
  std::string comm;

  bool operator==(const GroupKey&) const = default;
};

struct GroupKeyHash {
  size_t operator()(const GroupKey& k) const noexcept;
};

// Events in the interval.
struct Counts {
  uint64_t opens_in = 0;   // LISTEN -> SYN-RECV children (nstat PassiveOpens)
  uint64_t opens_out = 0;  // CLOSE -> SYN-SENT (nstat ActiveOpens)
  uint64_t closes = 0;     // `close` events (connections, not listeners)
  // Closed before ESTABLISHED (nstat AttemptFails), plus connect() calls
  // that failed before the socket left CLOSE (connect_error events).
  uint64_t failed = 0;
  uint64_t resets_sent = 0;
  uint64_t resets_received = 0;
  uint64_t retrans = 0;  // retransmitted segments
  // Closes whose duration is known (seeded connections' start is not),
  // and how many of them lived under a second.
  uint64_t timed_closes = 0;
  uint64_t short_closes = 0;

  uint64_t opens() const { return opens_in + opens_out; }
  uint64_t resets() const { return resets_sent + resets_received; }
  void add(const Counts& o);
};

struct Row {
  GroupKey key;  // empty for the totals row
  Counts counts;
  // Gauges at the end of the interval. alive: every connection that is
  // not a listener and not in TIME-WAIT (CLOSE-WAIT included).
  uint64_t alive = 0;
  uint64_t time_wait = 0;
  uint64_t close_wait = 0;
  // Over the srtt of the group's connections alive at the end of the
  // interval and of those that closed during it; nullopt: no sample.
  std::optional<uint32_t> srtt_p50_us, srtt_p99_us;
  // Over the durations of the connections that closed in the interval.
  std::optional<uint64_t> duration_p50_us, duration_p99_us;

  // The share of timed closes that lived under 1 s; nullopt: none closed.
  std::optional<double> short_lived() const;
};

// The columns top sorts by; the JSON `top` object is sorted by opens.
enum class Column : uint8_t {
  opens,
  closes,
  failed,
  resets,
  retrans,
  alive,
  time_wait,
  close_wait,
  short_lived,
  srtt_p50,
  srtt_p99,
};
inline constexpr int kColumnCount = 11;
std::string_view column_name(Column c);  // the `top` object's field names
// Largest first; ties by key, so a frame's order is stable between frames.
void sort_rows(std::vector<Row>& rows, Column by);

struct Frame {
  uint64_t ts_ns = 0;     // CLOCK_MONOTONIC at the end of the interval
  double interval_s = 0;  // its real length (the first may be shorter)
  GroupBy by = GroupBy::peer_port;
  Row totals;
  // totals.counts.failed by the kernel's error (a positive errno; 0: none
  // given, as when the application closed a connection in SYN-SENT).
  std::map<int, uint64_t> failed_by;
  // failed_by, the most frequent first (ties by errno).
  std::vector<std::pair<int, uint64_t>> failed_by_largest() const;
  std::vector<Row> groups;  // sorted by opens
  // Local ports of the ip_local_port_range in use by active opens
  // (TIME-WAIT included), and the range's size; range 0: not known.
  uint64_t ephemeral_in_use = 0;
  uint64_t ephemeral_range = 0;
  uint64_t lost = 0;  // kernel records lost in the interval (`lost` events)
  uint64_t lost_total = 0;
  // Since the start: `alert` events, and the drops of listen_overflow ones.
  uint64_t alerts = 0;
  uint64_t listen_drops = 0;

  double rate(uint64_t count) const { return interval_s > 0 ? double(count) / interval_s : 0; }
};

}  // namespace sstrace::aggregate
