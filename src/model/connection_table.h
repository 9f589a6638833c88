// The live model: every TCP socket sstrace knows of, seeded from a dump and
// kept exact by kernel records. Pure C++: no system calls; the caller feeds
// it dumps, records and the answers of minisocket lookups, and it emits
// Events to a sink.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "diag/sock_info.h"
#include "model/connection.h"
#include "model/event.h"
#include "model/graveyard.h"
#include "sstrace/events.h"

namespace sstrace::model {

// A timewait minisocket lives TCP_TIMEWAIT_LEN (include/net/tcp.h: 60 s);
// its expiry fires no tracepoint, so we look it up once it should be gone.
inline constexpr uint64_t kTimewaitLenNs = 60ull * 1'000'000'000;
// A minisocket still there when its timer should have fired (timer wheel
// slack, kernel/time/timer.c) is asked about again this much later.
inline constexpr uint64_t kMinisocketRecheckNs = 100'000'000;
// A FIN-WAIT-2 minisocket turns TIME-WAIT when the peer's FIN arrives, and
// no tracepoint says so: it is asked about this often.
inline constexpr uint64_t kFinWait2PollNs = 250'000'000;

// A CLOSE -> SYN-SENT reported before connect() chose the local port is
// held at most this long for a record that carries the port: the SYN's
// first retransmission (TCP_TIMEOUT_INIT, include/net/tcp.h: 1 s) comes by
// then, with room for the timer's slack. Exactly 1 s raced with it: a
// connect whose first SYN was dropped was released with port 0 or with its
// port depending on which came first (the filter e2e test saw both).
inline constexpr uint64_t kHeldSynSentNs = 1'500'000'000;

// A full socket in a closing state (FIN-WAIT-1, FIN-WAIT-2, CLOSING,
// LAST-ACK) is moved on by the kernel by itself, by its timers at the
// latest. One that no record has moved on for this long is looked up like
// a minisocket: the kernel sometimes ends a connection without running our
// programs for it, and counts nothing (docs/ARCHITECTURE.md, "Ends no
// program saw"). A socket still there is asked again after twice the
// wait, up to the maximum (an orphan retransmitting its FIN to a dead peer
// lives minutes; a half-closed FIN-WAIT-2 lives as long as its owner).
inline constexpr uint64_t kClosingQuietNs = 10'000'000'000;
inline constexpr uint64_t kClosingQuietMaxNs = 320'000'000'000;
bool is_closing_state(uint8_t state);

// When to next ask the kernel about a minisocket in `state` whose timer
// fires in `expires_ns`.
uint64_t minisocket_next_check(uint64_t now_ns, uint8_t state, uint64_t expires_ns);
// Connections kept after their end so late records (a reset sent after the
// close that caused it) still find their owner and endpoints.
inline constexpr size_t kGraveyardSize = 4096;

// (state, minisocket) as sstrace reports it: the translation the contract
// defines for FIN-WAIT-2/CLOSING -> CLOSE into a timewait minisocket.
struct ReportedState {
  uint8_t state = 0;
  bool minisocket = false;
  bool request = false;  // a request minisocket (SYN-RECV only)
  bool operator==(const ReportedState&) const = default;
};
ReportedState reported_new_state(const sstrace_record& r);

// A minisocket whose timer should have fired: what a lookup needs.
struct DueMinisocket {
  SockKey key;
  uint64_t check_at_ns = 0;  // when it became due
  uint8_t family = 0;
  diag::Endpoint local, remote;
};

class ConnectionTable {
 public:
  using Sink = std::function<void(const Event&)>;
  explicit ConnectionTable(Sink sink) : sink_(std::move(sink)), graveyard_(kGraveyardSize) {}

  // ip_local_port_range, for telling a seeded connection's client end
  // when its listener is gone (0/0: not known).
  void set_ephemeral_range(uint16_t lo, uint16_t hi) {
    ephemeral_lo_ = lo;
    ephemeral_hi_ = hi;
  }
  // One socket of the seeding dump (any TCP state, minisockets included).
  // Emits its snapshot event and keeps it, request minisockets too.
  void seed(const diag::SockInfo& s, std::span<const sys::SocketUser> users, uint64_t now_ns);
  // What seed() keeps of a dumped socket (its direction apart), and which
  // dumped sockets it only reports: a replay of a recorded snapshot builds
  // its connection the same way.
  static Connection from_dump(const diag::SockInfo& s, std::span<const sys::SocketUser> users,
                              uint64_t now_ns);
  static bool is_request_minisocket(const diag::SockInfo& s);
  // One kernel record, in ring-buffer order.
  void apply(const sstrace_record& r);
  // The kernel's reset reasons by value (enum sk_rst_reason), as reset
  // events name them; a value past the end is "unknown".
  void set_reset_reason_names(std::vector<std::string> names);

  // Minisockets due for a look (their timer should have fired by now; every
  // minisocket for UINT64_MAX), earliest first, and closing full sockets no
  // record has moved on for a while (kClosingQuietNs). Costs what is due, not the
  // table's size. The list is valid until the next call; a minisocket in it
  // that gets no minisocket_checked() (its lookup failed) is due again in
  // the next call.
  const std::vector<DueMinisocket>& minisockets_due(uint64_t now_ns);
  // The answer of that look: `found` is the kernel's view, or null if the
  // minisocket is gone. Emits inferred state events for what changed.
  void minisocket_checked(const SockKey& key, const diag::SockInfo* found, uint64_t now_ns);
  // A resync (--resync, or after lost records): does a fresh dump's view of
  // this socket differ from ours?
  bool differs_from(const diag::SockInfo& s) const;
  // Takes the dump's view, with an inferred state event, when it differs
  // (then true).
  bool reconcile_with(const diag::SockInfo& s, uint64_t now_ns);
  // Closing full sockets a lookup found gone: their end reached no program
  // (reported as inferred changes to CLOSE).
  uint64_t unseen_ends() const { return unseen_ends_; }
  // Entries a full dump did not show: gone without a tracepoint telling us.
  // Returns how many.
  size_t forget_missing(const std::unordered_map<SockKey, bool, SockKeyHash>& seen,
                        uint64_t now_ns);
  // The same for request minisockets only, after a dump of SYN-RECV
  // sockets: the requests it did not show expired, were dropped or reset.
  size_t forget_missing_requests(const std::unordered_map<SockKey, bool, SockKeyHash>& seen,
                                 uint64_t now_ns);
  // Request minisockets in the table: no tracepoint tells of their end, so
  // while there are any the caller reconciles them with SYN-RECV dumps.
  size_t requests() const { return requests_.size(); }

  // Emits the CLOSE -> SYN-SENT events held for their local port (see
  // kHeldSynSentNs) that are due at now_ns, with the port as known by then.
  void release_held_due(uint64_t now_ns);
  // Emits every held event: before a table, and at exit.
  void release_all_held();

  // SIGUSR1: one table event per connection, then table_end.
  void emit_table(uint64_t now_ns) const;

  const Connection* find(const SockKey& key) const;
  size_t size() const { return conns_.size(); }
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [k, c] : conns_) f(c);
  }

 private:
  struct TupleKey {
    uint32_t netns;
    uint8_t family;
    diag::Endpoint local, remote;
    bool operator==(const TupleKey& o) const;
  };
  struct TupleKeyHash {
    size_t operator()(const TupleKey& k) const noexcept;
  };
  struct ListenKey {
    uint32_t netns;
    uint16_t port;
    bool operator==(const ListenKey&) const = default;
  };
  struct ListenKeyHash {
    size_t operator()(const ListenKey& k) const noexcept {
      return (uint64_t(k.netns) << 16) ^ k.port;
    }
  };

  Direction seeded_direction(const Connection& c) const;
  static bool is_timewait_minisocket(const diag::SockInfo& s);
  Connection& find_or_create(const sstrace_record& r, uint8_t state_if_new,
                             bool* created = nullptr);
  const Connection* find_any(const SockKey& key) const;  // the table, then the graveyard
  Connection from_record(const sstrace_record& r) const;
  void update_endpoints(Connection& c, const sstrace_sock_id& id);
  void adopt_owner(Connection& c, const sstrace_owner& o);
  void kill_reused_minisocket(Connection& c, uint64_t ts_ns);

  void apply_state(const sstrace_record& r);
  void apply_rtt(const sstrace_record& r);
  void apply_retransmit(const sstrace_record& r);
  void apply_synack_retransmit(const sstrace_record& r, Event& e);
  Connection& learn_request(const sstrace_record& r);
  void apply_reset(const sstrace_record& r);
  void apply_owner(const sstrace_record& r);
  void apply_connect_error(const sstrace_record& r);

  void end_full_socket(Connection& c, const sstrace_record& r, ReportedState next);
  void forget(const SockKey& key, uint64_t now_ns);  // gone unseen: an inferred CLOSE
  void remove(const SockKey& key);                   // unindex, then bury
  void bury(const SockKey& key);                     // move to the graveyard
  void index(const Connection& c);
  void unindex(const Connection& c);
  // Minisocket timers: a min-heap of (check_at_ns, key). An entry whose
  // connection is gone, no longer a minisocket, or rescheduled is stale
  // and skipped when it comes up (lazy invalidation).
  struct DueCheck {
    uint64_t check_at_ns;
    SockKey key;
  };
  struct LaterCheck {
    bool operator()(const DueCheck& a, const DueCheck& b) const;
  };
  void schedule_check(Connection& c, uint64_t check_at_ns);
  // A closing full socket: looked up after it has been quiet for a while.
  void watch_closing(Connection& c, uint64_t now_ns);
  void closing_checked(Connection& c, const diag::SockInfo* found, uint64_t now_ns);
  const Connection* scheduled(const DueCheck& d) const;  // null: a stale entry

  void emit_state(const Connection& c, uint64_t ts, ReportedState from, ReportedState to,
                  int64_t old_us, bool inferred, bool in_connect = false);
  static void let_go(Connection& c);
  void hold_syn_sent(const Connection& c, uint64_t ts_ns, int64_t old_us);
  void release_held(const SockKey& key, const sstrace_sock_id* id);

  // A held CLOSE -> SYN-SENT: what its state event says.
  struct HeldSynSent {
    uint64_t ts_ns = 0;
    int64_t old_us = -1;
  };

  Sink sink_;
  std::unordered_map<SockKey, Connection, SockKeyHash> conns_;
  std::unordered_map<TupleKey, SockKey, TupleKeyHash> minisockets_by_tuple_;
  std::unordered_map<ListenKey, SockKey, ListenKeyHash> listeners_;
  Graveyard graveyard_;
  // The request minisockets among conns_ (index() keeps it).
  std::unordered_set<SockKey, SockKeyHash> requests_;
  std::priority_queue<DueCheck, std::vector<DueCheck>, LaterCheck> checks_;
  std::vector<DueMinisocket> due_;  // the last minisockets_due() answer
  uint64_t unseen_ends_ = 0;
  std::unordered_map<SockKey, HeldSynSent, SockKeyHash> held_;
  std::deque<SockKey> held_order_;  // in arrival order: oldest first
  uint16_t ephemeral_lo_ = 0, ephemeral_hi_ = 0;
  std::vector<std::string> reset_reason_names_;
};

}  // namespace sstrace::model
