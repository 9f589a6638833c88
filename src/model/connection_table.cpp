#include "model/connection_table.h"

#include <algorithm>
#include <cstring>

namespace sstrace::model {

using diag::TcpState;

const char* event_type_name(EventType t) {
  switch (t) {
    case EventType::snapshot:
      return "snapshot";
    case EventType::sync:
      return "sync";
    case EventType::state:
      return "state";
    case EventType::rtt:
      return "rtt";
    case EventType::retransmit:
      return "retransmit";
    case EventType::reset:
      return "reset";
    case EventType::close:
      return "close";
    case EventType::lost:
      return "lost";
    case EventType::table:
      return "table";
    case EventType::alert:
      return "alert";
    case EventType::table_end:
      return "table_end";
    case EventType::exit:
      return "exit";
    case EventType::connect_error:
      return "connect_error";
  }
  return "unknown";
}

const char* alert_kind_name(AlertKind k) {
  switch (k) {
    case AlertKind::listen_overflow:
      return "listen_overflow";
    case AlertKind::close_wait:
      return "close_wait";
    case AlertKind::port_pressure:
      return "port_pressure";
  }
  return "unknown";
}

uint64_t minisocket_next_check(uint64_t now_ns, uint8_t state, uint64_t expires_ns) {
  if (state == TcpState::kFinWait2) return now_ns + std::min(expires_ns, kFinWait2PollNs);
  return now_ns + expires_ns;
}

ReportedState reported_new_state(const sstrace_record& r) {
  const auto& s = r.state;
  if (s.new_state == TcpState::kClose && (s.flags & SSTRACE_STATE_TO_TIMEWAIT)) {
    // tcp_time_wait(sk, TCP_TIME_WAIT, ...) is called once the peer's FIN
    // is in (tcp_fin, and CLOSING's final ACK); an orphaned FIN-WAIT-2 is
    // handed over with substate FIN-WAIT-2 (tcp_close, tcp_rcv_state_process).
    bool fin_in = (s.flags & SSTRACE_STATE_FIN_RECEIVED) || s.old_state == TcpState::kClosing;
    return {fin_in ? uint8_t(TcpState::kTimeWait) : uint8_t(TcpState::kFinWait2), true};
  }
  return {s.new_state, false};
}

bool ConnectionTable::TupleKey::operator==(const TupleKey& o) const {
  return netns == o.netns && family == o.family && local.port == o.local.port &&
         remote.port == o.remote.port && local.addr == o.local.addr && remote.addr == o.remote.addr;
}

size_t ConnectionTable::TupleKeyHash::operator()(const TupleKey& k) const noexcept {
  uint64_t h = (uint64_t(k.netns) << 32) ^ (uint64_t(k.local.port) << 16) ^ k.remote.port;
  for (size_t i = 0; i < 16; i += 4) {
    uint32_t a, b;
    std::memcpy(&a, &k.local.addr[i], 4);
    std::memcpy(&b, &k.remote.addr[i], 4);
    h = (h ^ a) * 0x100000001b3ULL;
    h = (h ^ b) * 0x100000001b3ULL;
  }
  return h;
}

namespace {

diag::Endpoint endpoint(const uint8_t* addr, uint16_t port) {
  diag::Endpoint e;
  std::memcpy(e.addr.data(), addr, 16);
  e.port = port;
  return e;
}

ClosedBy closed_by(const Connection& c, uint8_t old_state, uint8_t flags) {
  // Never established, whatever ended it: a refused connect (a reset to its
  // SYN) is a failed connect, not an established connection reset.
  if (old_state == TcpState::kSynSent || old_state == TcpState::kSynRecv) return ClosedBy::failed;
  if (c.reset_received) return ClosedBy::remote_reset;
  if (old_state == TcpState::kListen) return ClosedBy::listener;
  if (c.local_fin_first) return ClosedBy::local;
  if (c.remote_fin_first && old_state != TcpState::kCloseWait) return ClosedBy::remote;
  // ESTAB or CLOSE-WAIT straight to CLOSE without a reset from the peer:
  // tcp_close() aborting (SO_LINGER 0, unread data) or tcp_disconnect().
  if (old_state == TcpState::kEstablished || old_state == TcpState::kCloseWait)
    return ClosedBy::local_abort;
  if (c.remote_fin_first) return ClosedBy::remote;
  (void)flags;
  return ClosedBy::unknown;
}

}  // namespace

Connection ConnectionTable::from_record(const sstrace_record& r) const {
  Connection c;
  c.key = {r.id.netns, r.id.cookie};
  c.family = static_cast<uint8_t>(r.id.family);
  c.v6only = (r.id.flags & SSTRACE_ID_V6ONLY) != 0;
  c.local = endpoint(r.id.saddr, r.id.sport);
  c.remote = endpoint(r.id.daddr, r.id.dport);
  if (r.owner.pid)
    c.owner = {r.owner.pid, std::string(r.owner.comm, strnlen(r.owner.comm, sizeof(r.owner.comm)))};
  return c;
}

const Connection* ConnectionTable::find(const SockKey& key) const {
  auto it = conns_.find(key);
  return it == conns_.end() ? nullptr : &it->second;
}

const Connection* ConnectionTable::find_any(const SockKey& key) const {
  if (const Connection* c = find(key)) return c;
  return graveyard_.find(key);
}

void ConnectionTable::update_endpoints(Connection& c, const sstrace_sock_id& id) {
  // connect() has not chosen the local port at CLOSE -> SYN-SENT: keep what
  // we know rather than overwrite it with zeroes.
  if (id.sport) c.local = endpoint(id.saddr, id.sport);
  if (id.dport) c.remote = endpoint(id.daddr, id.dport);
  if (id.family) {
    c.family = static_cast<uint8_t>(id.family);
    c.v6only = (id.flags & SSTRACE_ID_V6ONLY) != 0;
  }
}

void ConnectionTable::adopt_owner(Connection& c, const sstrace_owner& o) {
  if (!o.pid) return;
  // An orphan's records still carry the owner the kernel side learned
  // before close(): the process that let it go.
  Owner& to = c.orphan ? c.last_owner : c.owner;
  to.pid = o.pid;
  to.comm.assign(o.comm, strnlen(o.comm, sizeof(o.comm)));
}

// The process closed it (or it became a timewait minisocket): from now on
// it has no owner, only a last one.
void ConnectionTable::let_go(Connection& c) {
  if (c.orphan) return;
  c.orphan = true;
  if (c.owner.known()) c.last_owner = std::move(c.owner);
  c.owner = {};
}

Connection& ConnectionTable::find_or_create(const sstrace_record& r, uint8_t state_if_new,
                                            bool* created) {
  auto [it, is_new] = conns_.try_emplace(SockKey{r.id.netns, r.id.cookie});
  if (is_new) {
    it->second = from_record(r);
    it->second.state = state_if_new;
  }
  if (created) *created = is_new;
  return it->second;
}

void ConnectionTable::index(const Connection& c) {
  if (c.request) requests_.insert(c.key);
  if (c.minisocket) minisockets_by_tuple_[{c.key.netns, c.family, c.local, c.remote}] = c.key;
  if (c.state == TcpState::kListen && !c.minisocket)
    listeners_[{c.key.netns, c.local.port}] = c.key;
}

void ConnectionTable::unindex(const Connection& c) {
  if (c.request) requests_.erase(c.key);
  if (c.minisocket) {
    auto it = minisockets_by_tuple_.find({c.key.netns, c.family, c.local, c.remote});
    if (it != minisockets_by_tuple_.end() && it->second == c.key) minisockets_by_tuple_.erase(it);
  }
  if (c.state == TcpState::kListen) {
    auto it = listeners_.find({c.key.netns, c.local.port});
    if (it != listeners_.end() && it->second == c.key) listeners_.erase(it);
  }
}

void ConnectionTable::remove(const SockKey& key) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  unindex(it->second);
  bury(key);
}

void ConnectionTable::bury(const SockKey& key) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  graveyard_.bury(std::move(it->second));
  conns_.erase(it);
}

void ConnectionTable::emit_state(const Connection& c, uint64_t ts, ReportedState from,
                                 ReportedState to, int64_t old_us, bool inferred, bool in_connect) {
  Event e;
  e.type = EventType::state;
  e.ts_ns = ts;
  e.conn = &c;
  e.old_state = from.state;
  e.old_minisocket = from.minisocket;
  e.old_request = from.request;
  e.new_state = to.state;
  e.new_minisocket = to.minisocket;
  e.old_us = old_us;
  e.inferred = inferred;
  e.in_connect = in_connect;
  sink_(e);
}

Connection ConnectionTable::from_dump(const diag::SockInfo& s,
                                      std::span<const sys::SocketUser> users, uint64_t now_ns) {
  Connection c;
  c.key = {s.netns, s.cookie};
  c.family = s.family;
  // As the snapshot's laddr reads it (json_laddr): unknown = dual-stack.
  c.v6only = s.has_v6only && s.v6only;
  c.local = s.local;
  c.remote = s.remote;
  c.state = s.state;
  c.minisocket = is_timewait_minisocket(s);
  c.request = is_request_minisocket(s);
  // A request is always a listener's: opened toward us.
  if (c.request) c.dir = Direction::in;
  c.seeded = true;
  c.known_since_ns = now_ns;
  // Closed by its process and still shutting down: no file, so no owner
  // (the owner scan lists descriptors); a minisocket likewise. A child
  // waiting in the accept queue has no file yet, but nobody closed it.
  c.orphan = c.minisocket ||
             (s.inode == 0 && (s.state == TcpState::kFinWait1 || s.state == TcpState::kFinWait2 ||
                               s.state == TcpState::kClosing || s.state == TcpState::kLastAck));
  if (!users.empty()) {
    Owner o{uint32_t(users.front().pid), users.front().comm};
    (c.orphan ? c.last_owner : c.owner) = std::move(o);
  }
  c.recv_q = s.recv_q;
  c.send_q = s.send_q;
  if (s.has_tcp_info) {
    c.srtt_us = s.tcp_info.tcpi_rtt;
    c.rttvar_us = s.tcp_info.tcpi_rttvar;
    c.bytes_acked = s.tcp_info.tcpi_bytes_acked;
    c.bytes_received = s.tcp_info.tcpi_bytes_received;
  }
  if (c.minisocket)
    c.check_at_ns = minisocket_next_check(now_ns, c.state, uint64_t(s.expires_ms) * 1'000'000);
  return c;
}

// A dump does not say who opened a connection. The kernel dumps listeners
// before the established hash (inet_diag_dump_icsk), so a connection on a
// listener's port is taken as its child. Without a listener (closed since,
// as a server's TIME-WAITs after a restart), the end whose port is
// ephemeral is the client's; when neither or both are, an active open.
Direction ConnectionTable::seeded_direction(const Connection& c) const {
  if (c.state == TcpState::kListen) return Direction::listen;
  if (listeners_.count({c.key.netns, c.local.port})) return Direction::in;
  auto ephemeral = [this](uint16_t p) { return p >= ephemeral_lo_ && p <= ephemeral_hi_; };
  if (ephemeral_hi_ && ephemeral(c.remote.port) && !ephemeral(c.local.port)) return Direction::in;
  return Direction::out;
}

bool ConnectionTable::is_timewait_minisocket(const diag::SockInfo& s) {
  return s.inode == 0 && s.timer == 3;  // idiag_timer 3: timewait (net/ipv4/inet_diag.c)
}

// Request minisockets (SYN-RECV in a dump). No tracepoint tells of their
// birth or end; the child that completes the handshake takes over the
// request's cookie (inet_csk_clone_lock copies ir_cookie before its
// LISTEN -> SYN-RECV, seen on the reference kernel 6.18), when one was
// made: a dump or a SYN-ACK retransmission record makes it.
bool ConnectionTable::is_request_minisocket(const diag::SockInfo& s) {
  return (s.state == TcpState::kSynRecv && s.inode == 0) || s.state == TcpState::kNewSynRecv;
}

void ConnectionTable::seed(const diag::SockInfo& s, std::span<const sys::SocketUser> users,
                           uint64_t now_ns) {
  Connection c = from_dump(s, users, now_ns);
  Event e;
  e.type = EventType::snapshot;
  e.ts_ns = now_ns;
  e.info = &s;
  e.users = users;
  if (!c.request) c.dir = seeded_direction(c);
  // A dump resumed in the middle of a hash bucket (inet_diag_dump_icsk's
  // position within the chain, which new sockets shift) can show one
  // cookie twice: a request and the child or TIME-WAIT it became. The
  // request is the older form; the other one is kept.
  if (auto old = conns_.find(c.key); old != conns_.end()) {
    if (c.request && !old->second.request) {
      e.conn = &c;
      sink_(e);
      return;
    }
    unindex(old->second);
  }
  auto [it, inserted] = conns_.insert_or_assign(c.key, std::move(c));
  index(it->second);
  if (it->second.minisocket) schedule_check(it->second, it->second.check_at_ns);
  e.conn = &it->second;
  sink_(e);
}

// Called for every state and owner record, but probes the tuple index once
// per connection: a takeover happens when the new socket gets its ports
// (connect() choosing them, a SYN reaching a TIME-WAIT), and the first
// record that carries the complete tuple is the one that reveals it.
void ConnectionTable::kill_reused_minisocket(Connection& c, uint64_t ts_ns) {
  if (c.reuse_checked || !c.local.port || !c.remote.port) return;
  auto it = minisockets_by_tuple_.find({c.key.netns, c.family, c.local, c.remote});
  if (it == minisockets_by_tuple_.end() || it->second == c.key) {
    c.reuse_checked = true;
    return;
  }
  SockKey old = it->second;
  auto cit = conns_.find(old);
  if (cit == conns_.end()) {
    minisockets_by_tuple_.erase(it);
    c.reuse_checked = true;
    return;
  }
  // A record older than the minisocket (replayed from before the seeding
  // dump, for an earlier connection on the same ports) did not kill it; a
  // later record of this connection is asked again.
  if (ts_ns < cit->second.known_since_ns) return;
  c.reuse_checked = true;
  // A new connection took the 4-tuple: the kernel killed the TIME-WAIT
  // (tcp_twsk_unique() on connect, tcp_timewait_state_process() on a SYN).
  Connection& tw = cit->second;
  ReportedState from{tw.state, true};
  int64_t old_us = tw.state_since_ns && ts_ns > tw.state_since_ns
                       ? int64_t(ts_ns - tw.state_since_ns) / 1000
                       : -1;
  unindex(tw);
  tw.state = TcpState::kClose;
  tw.minisocket = false;
  emit_state(tw, ts_ns, from, {TcpState::kClose, false}, old_us, true);
  bury(old);
}

void ConnectionTable::apply(const sstrace_record& r) {
  // A socket's held SYN-SENT comes before its next event, with the port
  // this record knows.
  if (!held_.empty()) release_held({r.id.netns, r.id.cookie}, &r.id);
  switch (r.kind) {
    case SSTRACE_REC_STATE:
      apply_state(r);
      break;
    case SSTRACE_REC_RTT:
      apply_rtt(r);
      break;
    case SSTRACE_REC_RETRANSMIT:
      apply_retransmit(r);
      break;
    case SSTRACE_REC_RESET:
      apply_reset(r);
      break;
    case SSTRACE_REC_OWNER:
      apply_owner(r);
      break;
    case SSTRACE_REC_CONNECT_ERROR:
      apply_connect_error(r);
      break;
    default:
      break;  // a newer kernel side: nothing we can say about it
  }
}

void ConnectionTable::apply_state(const sstrace_record& r) {
  const auto& s = r.state;
  bool is_new = false;
  Connection& c = find_or_create(r, s.old_state, &is_new);
  // The child completing the handshake of a request we reported, with its
  // cookie: the connection goes on, from the request's SYN-RECV.
  const bool takes_over_request = !is_new && c.request && s.old_state == TcpState::kListen;
  if (is_new || takes_over_request) {
    // Born now when the kernel reports its first state (CLOSE for an active
    // open, LISTEN for a passive child cloned from its listener).
    if (s.old_state == TcpState::kClose || s.old_state == TcpState::kListen) c.born_ns = r.ts_ns;
    if (s.old_state == TcpState::kListen) c.dir = Direction::in;
    if (s.old_state == TcpState::kClose && s.new_state == TcpState::kSynSent)
      c.dir = Direction::out;
    if (s.new_state == TcpState::kListen) c.dir = Direction::listen;
    if (s.old_state == TcpState::kListen && !c.owner.known()) {
      auto l = listeners_.find({r.id.netns, r.id.sport});
      if (l != listeners_.end())
        if (const Connection* lc = find(l->second)) c.owner = lc->owner;
    }
  }
  unindex(c);
  update_endpoints(c, r.id);
  if (takes_over_request) c.request = false;  // a full socket from now on
  ReportedState to = reported_new_state(r);
  if ((s.flags & SSTRACE_STATE_ORPHAN) || to.minisocket) let_go(c);
  adopt_owner(c, r.owner);

  ReportedState from{c.state, c.minisocket};
  if (takes_over_request)
    from = {TcpState::kSynRecv, false, true};  // as ss showed it (docs/events.md)
  else if (from.state != s.old_state)
    from = {s.old_state, false};  // the kernel knows better
  int64_t old_us = -1;
  if ((s.flags & SSTRACE_STATE_ENTER_KNOWN) && r.ts_ns >= s.enter_ns)
    old_us = int64_t(r.ts_ns - s.enter_ns) / 1000;
  else if (c.state_since_ns && r.ts_ns >= c.state_since_ns && !takes_over_request)
    old_us = int64_t(r.ts_ns - c.state_since_ns) / 1000;

  if (to.state == TcpState::kFinWait1 && !c.remote_fin_first) c.local_fin_first = true;
  if (to.state == TcpState::kCloseWait && !c.local_fin_first) c.remote_fin_first = true;
  c.state = to.state;
  c.minisocket = to.minisocket;
  c.state_since_ns = r.ts_ns;
  // connect() chooses the local port right after CLOSE -> SYN-SENT: the
  // event waits for a record that knows it.
  const bool port_unchosen =
      s.old_state == TcpState::kClose && s.new_state == TcpState::kSynSent && r.id.sport == 0;
  if (port_unchosen)
    hold_syn_sent(c, r.ts_ns, old_us);
  else
    emit_state(c, r.ts_ns, from, to, old_us, false, (s.flags & SSTRACE_STATE_IN_CONNECT) != 0);

  if (s.new_state == TcpState::kClose) {
    end_full_socket(c, r, to);
    return;
  }
  index(c);
  watch_closing(c, r.ts_ns);
  kill_reused_minisocket(c, r.ts_ns);
}

void ConnectionTable::end_full_socket(Connection& c, const sstrace_record& r, ReportedState next) {
  const auto& sum = r.state.summary;
  Event e;
  e.type = EventType::close;
  e.ts_ns = r.ts_ns;
  e.conn = &c;
  CloseSummary& cs = e.summary;
  cs.duration_us = c.born_ns && r.ts_ns >= c.born_ns ? int64_t(r.ts_ns - c.born_ns) / 1000 : -1;
  cs.bytes_acked = sum.bytes_acked;
  cs.bytes_received = sum.bytes_received;
  cs.retrans = sum.total_retrans;
  cs.srtt_us = sum.srtt_us;
  cs.min_srtt_us = sum.min_srtt_us;
  cs.max_srtt_us = sum.max_srtt_us;
  cs.avg_srtt_us = sum.srtt_samples ? uint32_t(sum.srtt_sum_us / sum.srtt_samples) : 0;
  cs.closed_by = closed_by(c, r.state.old_state, r.state.flags);
  cs.failure = r.state.sk_err;
  // tp->total_retrans in SYN-SENT counts the SYNs retransmitted (every one
  // __tcp_retransmit_skb() sent, RetransSegs' count); icsk_retransmits would
  // count timer rounds, including ones whose retransmission failed locally.
  if (r.state.old_state == TcpState::kSynSent) cs.syn_retrans = sum.total_retrans;
  e.in_connect = (r.state.flags & SSTRACE_STATE_IN_CONNECT) != 0;
  c.bytes_acked = sum.bytes_acked;
  c.bytes_received = sum.bytes_received;
  sink_(e);

  if (next.minisocket) {
    // The connection lives on as a timewait minisocket with the same cookie
    // (inet_twsk_alloc copies sk_cookie).
    schedule_check(c, minisocket_next_check(r.ts_ns, next.state, kTimewaitLenNs));
    c.known_since_ns = r.ts_ns;
    index(c);
    return;
  }
  bury(c.key);
}

void ConnectionTable::apply_rtt(const sstrace_record& r) {
  Connection& c = find_or_create(r, uint8_t(r.rtt.state));
  update_endpoints(c, r.id);
  adopt_owner(c, r.owner);
  c.srtt_us = r.rtt.srtt_us;
  c.rttvar_us = r.rtt.rttvar_us;
  if (!c.min_srtt_us || r.rtt.srtt_us < c.min_srtt_us) c.min_srtt_us = r.rtt.srtt_us;
  c.max_srtt_us = std::max(c.max_srtt_us, r.rtt.srtt_us);
  Event e;
  e.type = EventType::rtt;
  e.ts_ns = r.ts_ns;
  e.conn = &c;
  e.srtt_us = r.rtt.srtt_us;
  e.rttvar_us = r.rtt.rttvar_us;
  e.prev_srtt_us = r.rtt.prev_srtt_us;
  e.min_rtt_us = r.rtt.min_rtt_us;
  e.cwnd = r.rtt.snd_cwnd;
  e.ssthresh = r.rtt.snd_ssthresh;
  e.packets_out = r.rtt.packets_out;
  sink_(e);
}

void ConnectionTable::apply_retransmit(const sstrace_record& r) {
  Event e;
  e.type = EventType::retransmit;
  e.ts_ns = r.ts_ns;
  e.segs = r.retransmit.segs;
  e.synack = r.retransmit.synack;
  if (r.retransmit.synack) {
    apply_synack_retransmit(r, e);
    return;
  }
  SockKey key{r.id.netns, r.id.cookie};
  if (!find(key)) {
    if (const Connection* dead = find_any(key)) {
      e.conn = dead;
      sink_(e);
      return;
    }
  }
  Connection& c = find_or_create(r, uint8_t(r.retransmit.state));
  update_endpoints(c, r.id);  // a SYN retransmit knows the port connect() chose
  adopt_owner(c, r.owner);
  c.retrans_segs += r.retransmit.segs;
  e.conn = &c;
  sink_(e);
}

// The kernel retransmits a SYN-ACK only for a request no ACK completed within
// TCP_TIMEOUT_INIT (1 s, reqsk_timer_handler): the first retransmission is
// how the stream learns of a request the seeding dump did not show.
void ConnectionTable::apply_synack_retransmit(const sstrace_record& r, Event& e) {
  auto it = conns_.find({r.id.netns, r.id.cookie});
  if (it != conns_.end() && !it->second.request) {
    // Not a request in the table (a full socket with this cookie cannot
    // retransmit a SYN-ACK of a request): the record's view, not kept.
    Connection req = from_record(r);
    req.owner = {};
    req.state = TcpState::kSynRecv;
    req.request = true;
    req.dir = Direction::in;
    e.conn = &req;
    sink_(e);
    return;
  }
  e.conn = it != conns_.end() ? &it->second : &learn_request(r);
  sink_(e);
}

// A request minisocket no dump showed: it appears, inferred, from CLOSE (as
// a socket a resync finds), with no owner (ss -p shows none) and the time
// it spent in SYN-RECV unknown.
Connection& ConnectionTable::learn_request(const sstrace_record& r) {
  Connection req = from_record(r);
  req.owner = {};
  req.state = TcpState::kSynRecv;
  req.request = true;
  req.dir = Direction::in;
  req.state_since_ns = r.ts_ns;
  req.known_since_ns = r.ts_ns;
  Connection& c = conns_.insert_or_assign(req.key, std::move(req)).first->second;
  index(c);
  // A SYN that found a TIME-WAIT on these ports killed it (TCP_TW_SYN) before
  // this request was made: that end comes first.
  kill_reused_minisocket(c, r.ts_ns);
  emit_state(c, r.ts_ns, {TcpState::kClose, false}, {TcpState::kSynRecv, false, true}, -1, true);
  return c;
}

void ConnectionTable::apply_reset(const sstrace_record& r) {
  Event e;
  e.type = EventType::reset;
  e.ts_ns = r.ts_ns;
  e.reset_sent = r.reset.dir == SSTRACE_RESET_SENT;
  if (r.reset.has_reason)
    e.reset_reason = r.reset.reason < reset_reason_names_.size()
                         ? std::string_view(reset_reason_names_[r.reset.reason])
                         : std::string_view("unknown");
  if (r.id.cookie == 0) {
    // A segment that matched no socket (a closed port): no connection to
    // keep, its endpoints from the segment.
    Connection none = from_record(r);
    none.state = uint8_t(r.reset.state);
    // The segment came to our port: the churn views count it there.
    none.dir = Direction::in;
    e.conn = &none;
    sink_(e);
    return;
  }
  SockKey key{r.id.netns, r.id.cookie};
  Connection* c = nullptr;
  if (auto it = conns_.find(key); it != conns_.end()) c = &it->second;
  if (!c) {
    // tcp_close() sends its reset after moving the socket to CLOSE: the
    // connection is already in the graveyard.
    c = graveyard_.find(key);
  }
  if (!c) c = &find_or_create(r, uint8_t(r.reset.state));
  if (conns_.count(key)) update_endpoints(*c, r.id);
  adopt_owner(*c, r.owner);
  if (!e.reset_sent) c->reset_received = true;
  e.conn = c;
  sink_(e);
}

void ConnectionTable::set_reset_reason_names(std::vector<std::string> names) {
  reset_reason_names_ = std::move(names);
}

void ConnectionTable::apply_connect_error(const sstrace_record& r) {
  // Not kept: the socket is in CLOSE, as it was (and may try again).
  Connection c = from_record(r);
  c.state = TcpState::kClose;
  c.dir = Direction::out;
  Event e;
  e.type = EventType::connect_error;
  e.ts_ns = r.ts_ns;
  e.conn = &c;
  e.error = r.connect_error.err;
  sink_(e);
}

void ConnectionTable::apply_owner(const sstrace_record& r) {
  auto it = conns_.find({r.id.netns, r.id.cookie});
  if (it == conns_.end()) return;
  Connection& c = it->second;
  unindex(c);
  update_endpoints(c, r.id);
  adopt_owner(c, r.owner);
  index(c);
  kill_reused_minisocket(c, r.ts_ns);
}

bool ConnectionTable::LaterCheck::operator()(const DueCheck& a, const DueCheck& b) const {
  // Total on (time, key): duplicate entries come out of the heap together.
  if (a.check_at_ns != b.check_at_ns) return a.check_at_ns > b.check_at_ns;
  if (a.key.netns != b.key.netns) return a.key.netns > b.key.netns;
  return a.key.cookie > b.key.cookie;
}

void ConnectionTable::schedule_check(Connection& c, uint64_t check_at_ns) {
  c.check_at_ns = check_at_ns;
  if (check_at_ns) checks_.push({check_at_ns, c.key});
}

const Connection* ConnectionTable::scheduled(const DueCheck& d) const {
  const Connection* c = find(d.key);
  if (!c || c->check_at_ns != d.check_at_ns) return nullptr;
  return c->minisocket || is_closing_state(c->state) ? c : nullptr;
}

bool is_closing_state(uint8_t state) {
  return state == TcpState::kFinWait1 || state == TcpState::kFinWait2 ||
         state == TcpState::kClosing || state == TcpState::kLastAck;
}

void ConnectionTable::watch_closing(Connection& c, uint64_t now_ns) {
  if (c.minisocket || !is_closing_state(c.state)) {
    c.quiet_gap_ns = 0;
    if (!c.minisocket) c.check_at_ns = 0;  // what is in the heap is stale now
    return;
  }
  c.quiet_gap_ns = kClosingQuietNs;
  schedule_check(c, now_ns + c.quiet_gap_ns);
}

void ConnectionTable::closing_checked(Connection& c, const diag::SockInfo* found, uint64_t now_ns) {
  if (!found) {
    // Gone, and no record said how: the kernel's end of it reached none of
    // our programs. The table follows the kernel, inferred.
    ++unseen_ends_;
    const SockKey key = c.key;  // forget() buries c
    forget(key, now_ns);
    return;
  }
  if (reconcile_with(*found, now_ns)) {
    // A state no record told us of: a timewait minisocket schedules its own
    // look, a full socket in another closing state starts a new wait.
    if (!c.minisocket) watch_closing(c, now_ns);
    return;
  }
  c.quiet_gap_ns = std::min(2 * c.quiet_gap_ns, kClosingQuietMaxNs);
  schedule_check(c, now_ns + c.quiet_gap_ns);
}

const std::vector<DueMinisocket>& ConnectionTable::minisockets_due(uint64_t now_ns) {
  // Handed out last time but not answered (the lookup failed): still due.
  for (const DueMinisocket& m : due_)
    if (scheduled({m.check_at_ns, m.key})) checks_.push({m.check_at_ns, m.key});
  due_.clear();
  while (!checks_.empty() && checks_.top().check_at_ns <= now_ns) {
    DueCheck d = checks_.top();
    checks_.pop();
    const Connection* c = scheduled(d);
    bool duplicate = !due_.empty() && due_.back().key == d.key;
    if (!c || duplicate) continue;
    due_.push_back({d.key, d.check_at_ns, c->family, c->local, c->remote});
  }
  return due_;
}

void ConnectionTable::minisocket_checked(const SockKey& key, const diag::SockInfo* found,
                                         uint64_t now_ns) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  if (!it->second.minisocket) {
    if (is_closing_state(it->second.state)) closing_checked(it->second, found, now_ns);
    return;
  }
  Connection& c = it->second;
  ReportedState from{c.state, true};
  int64_t old_us = c.state_since_ns && now_ns > c.state_since_ns
                       ? int64_t(now_ns - c.state_since_ns) / 1000
                       : -1;
  if (!found) {
    // The timewait timer fired (inet_twsk_kill): no tracepoint says so.
    unindex(c);
    c.state = TcpState::kClose;
    c.minisocket = false;
    emit_state(c, now_ns, from, {TcpState::kClose, false}, old_us, true);
    bury(key);
    return;
  }
  if (found->state != c.state) {
    // FIN-WAIT-2 minisocket got the peer's FIN (tcp_timewait_state_process).
    c.state = found->state;
    c.state_since_ns = now_ns;
    emit_state(c, now_ns, from, {found->state, true}, old_us, true);
  }
  schedule_check(
      c, minisocket_next_check(
             now_ns, c.state,
             std::max<uint64_t>(uint64_t(found->expires_ms) * 1'000'000, kMinisocketRecheckNs)));
}

bool ConnectionTable::differs_from(const diag::SockInfo& s) const {
  const Connection* c = find({s.netns, s.cookie});
  // A request the table holds is as the dump shows it; one whose child took
  // over its cookie is the child's records' to tell.
  if (is_request_minisocket(s)) return !c;
  return !c || c->state != s.state || c->minisocket != is_timewait_minisocket(s);
}

bool ConnectionTable::reconcile_with(const diag::SockInfo& s, uint64_t now_ns) {
  if (!differs_from(s)) return false;
  SockKey key{s.netns, s.cookie};
  release_held(key, nullptr);  // its SYN-SENT comes before what the dump says
  auto it = conns_.find(key);
  ReportedState from{TcpState::kClose, false};
  if (it == conns_.end()) {
    // A socket no record told us of: it appears, inferred.
    it = conns_.emplace(key, from_dump(s, {}, now_ns)).first;
    it->second.seeded = false;
  } else {
    from = {it->second.state, it->second.minisocket, it->second.request};
    unindex(it->second);
  }
  Connection& c = it->second;
  c.state = s.state;
  c.minisocket = is_timewait_minisocket(s);
  c.request = is_request_minisocket(s);
  if (c.request) c.dir = Direction::in;
  if (c.minisocket) let_go(c);
  c.state_since_ns = now_ns;
  index(c);
  // Its timer as the dump shows it (a full socket we followed has none).
  if (c.minisocket)
    schedule_check(c, minisocket_next_check(now_ns, c.state, uint64_t(s.expires_ms) * 1'000'000));
  emit_state(c, now_ns, from, {c.state, c.minisocket, c.request}, -1, true);
  return true;
}

size_t ConnectionTable::forget_missing(const std::unordered_map<SockKey, bool, SockKeyHash>& seen,
                                       uint64_t now_ns) {
  std::vector<SockKey> gone;
  for (const auto& [k, c] : conns_)
    if (!seen.count(k)) gone.push_back(k);
  for (const SockKey& k : gone) forget(k, now_ns);
  return gone.size();
}

size_t ConnectionTable::forget_missing_requests(
    const std::unordered_map<SockKey, bool, SockKeyHash>& seen, uint64_t now_ns) {
  std::vector<SockKey> gone;
  for (const SockKey& k : requests_)
    if (!seen.count(k)) gone.push_back(k);
  for (const SockKey& k : gone) forget(k, now_ns);
  return gone.size();
}

void ConnectionTable::forget(const SockKey& key, uint64_t now_ns) {
  release_held(key, nullptr);
  Connection& c = conns_.at(key);
  ReportedState from{c.state, c.minisocket, c.request};
  unindex(c);
  c.state = TcpState::kClose;
  c.minisocket = false;
  // It ended as a request: the event says so (`request`), as its others did.
  emit_state(c, now_ns, from, {TcpState::kClose, false}, -1, true);
  bury(key);
}

void ConnectionTable::hold_syn_sent(const Connection& c, uint64_t ts_ns, int64_t old_us) {
  held_[c.key] = {ts_ns, old_us};
  held_order_.push_back(c.key);
}

void ConnectionTable::release_held(const SockKey& key, const sstrace_sock_id* id) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  HeldSynSent h = it->second;
  held_.erase(it);
  auto c = conns_.find(key);
  if (c == conns_.end()) return;
  if (id) update_endpoints(c->second, *id);
  emit_state(c->second, h.ts_ns, {TcpState::kClose, false}, {TcpState::kSynSent, false}, h.old_us,
             false);
}

void ConnectionTable::release_held_due(uint64_t now_ns) {
  while (!held_order_.empty()) {
    auto it = held_.find(held_order_.front());
    if (it != held_.end() && it->second.ts_ns + kHeldSynSentNs > now_ns) return;
    SockKey key = held_order_.front();
    held_order_.pop_front();
    release_held(key, nullptr);  // a no-op for one released already
  }
}

void ConnectionTable::release_all_held() { release_held_due(UINT64_MAX - kHeldSynSentNs); }

void ConnectionTable::emit_table(uint64_t now_ns) const {
  Event e;
  e.type = EventType::table;
  e.ts_ns = now_ns;
  for (const auto& [k, c] : conns_) {
    e.conn = &c;
    sink_(e);
  }
  Event end;
  end.type = EventType::table_end;
  end.ts_ns = now_ns;
  end.count = conns_.size();
  sink_(end);
}

}  // namespace sstrace::model
