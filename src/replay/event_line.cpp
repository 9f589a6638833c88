#include "replay/event_line.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <ctime>
#include <limits>

#include <nlohmann/json.hpp>

#include "model/sock_view.h"
#include "output/event_common.h"
#include "output/names.h"

namespace sstrace::replay {

namespace {

using nlohmann::json;
constexpr int kSchemaVersion = 1;  // what this build writes, and reads back

// A field that is missing or of the wrong kind ends the line's reading;
// the message names the field, for the bad-line report.
struct BadField {
  std::string why;
};

const json& need(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw BadField{std::string("no \"") + key + "\""};
  return *it;
}

template <typename T>
T number(const json& j, const char* key) {
  const json& v = need(j, key);
  if (!v.is_number_integer()) throw BadField{std::string("\"") + key + "\" is not an integer"};
  // Out of T's range is a corrupt line, not a value to wrap.
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<T>::max()))
      throw BadField{std::string("\"") + key + "\" is out of range"};
    return T(u);
  }
  const int64_t s = v.get<int64_t>();
  if (s < int64_t(std::numeric_limits<T>::min()) ||
      (s > 0 && uint64_t(s) > uint64_t(std::numeric_limits<T>::max())))
    throw BadField{std::string("\"") + key + "\" is out of range"};
  return T(s);
}

template <typename T>
T number_or(const json& j, const char* key, T fallback) {
  return j.contains(key) ? number<T>(j, key) : fallback;
}

std::string text(const json& j, const char* key) {
  const json& v = need(j, key);
  if (!v.is_string()) throw BadField{std::string("\"") + key + "\" is not a string"};
  return v.get<std::string>();
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) throw BadField{std::string("\"") + key + "\" is not a boolean"};
  return it->get<bool>();
}

uint8_t family_of(const json& j) {
  const std::string f = text(j, "family");
  if (f == "inet") return AF_INET;
  if (f == "inet6") return AF_INET6;
  throw BadField{"\"family\" is not inet or inet6"};
}

// "*" is the wildcard (and for IPv6 the dual-stack one); otherwise the
// text inet_ntop wrote.
diag::Endpoint endpoint(const json& j, const char* addr_key, const char* port_key, uint8_t family) {
  diag::Endpoint e;
  e.port = number<uint16_t>(j, port_key);
  const std::string a = text(j, addr_key);
  if (a == "*") return e;
  if (inet_pton(family, a.c_str(), e.addr.data()) != 1)
    throw BadField{std::string("\"") + addr_key + "\" is not an address"};
  return e;
}

uint8_t state_field(const json& j, const char* key) {
  const std::string name = text(j, key);
  if (auto s = parse_tcp_state(name)) return *s;
  throw BadField{std::string("\"") + key + "\" is not a TCP state"};
}

model::Owner owner(const json& j, const char* pid_key, const char* comm_key) {
  model::Owner o;
  if (!j.contains(pid_key)) return o;
  o.pid = number<uint32_t>(j, pid_key);
  o.comm = text(j, comm_key);
  return o;
}

// The fields every event about one socket carries (CONTRACT.md).
void read_conn(const json& j, RecordedEvent& r) {
  model::Connection& c = r.conn;
  c.key.netns = number<uint32_t>(j, "netns");
  c.key.cookie = number<uint64_t>(j, "cookie");
  c.family = family_of(j);
  if (text(j, "proto") != "tcp") throw BadField{"\"proto\" is not tcp"};
  c.local = endpoint(j, "laddr", "lport", c.family);
  c.remote = endpoint(j, "raddr", "rport", c.family);
  // The stream writes the IPv6 wildcard "*" for a dual-stack socket, "::"
  // for a v6only one.
  c.v6only = c.family == AF_INET6 && text(j, "laddr") == "::";
  c.state = state_field(j, "state");
  c.minisocket = flag(j, "minisocket");
  c.request = flag(j, "request");  // a request minisocket (docs/events.md)
  c.owner = owner(j, "pid", "comm");
  c.last_owner = owner(j, "last_pid", "last_comm");
  r.has_conn = true;
}

// The snapshot's dump fields that the filter, the views and the table read.
void read_snapshot(const json& j, RecordedEvent& r) {
  read_conn(j, r);
  diag::SockInfo& s = r.info;
  model::Connection& c = r.conn;
  model::to_sock_info(c, s);
  s.recv_q = number<uint32_t>(j, "recv_q");
  s.send_q = number<uint32_t>(j, "send_q");
  s.inode = number_or<uint64_t>(j, "inode", 0);
  if (j.contains("v6only")) {
    s.has_v6only = true;
    s.v6only = flag(j, "v6only");
  }
  if (auto t = j.find("timer");
      t != j.end() && t->is_object() && t->value("name", "") == "timewait")
    s.timer = 3;  // idiag_timer 3, as the dump said
  if (auto ti = j.find("tcp_info"); ti != j.end() && ti->is_object()) {
    s.has_tcp_info = true;
    s.tcp_info.tcpi_rtt = number_or<uint32_t>(*ti, "rtt_us", 0);
    s.tcp_info.tcpi_rttvar = number_or<uint32_t>(*ti, "rttvar_us", 0);
    s.tcp_info.tcpi_bytes_acked = number_or<uint64_t>(*ti, "bytes_acked", 0);
    s.tcp_info.tcpi_bytes_received = number_or<uint64_t>(*ti, "bytes_received", 0);
  }
  // The snapshot's owner is the first of its users; pid/comm say it.
  c.v6only = s.has_v6only && s.v6only;
}

int errno_field(const json& j, const char* key) {
  const std::string name = text(j, key);
  for (int e = 1; e < 4096; ++e)
    if (output::errno_name(e) == name) return e;
  throw BadField{std::string("\"") + key + "\" is not an errno name"};
}

model::ClosedBy closed_by_field(const json& j) {
  const std::string name = text(j, "closed_by");
  for (int c = 0; c <= int(model::ClosedBy::listener); ++c)
    if (output::closed_by_name(model::ClosedBy(c)) == name) return model::ClosedBy(c);
  throw BadField{"\"closed_by\" is not a known cause"};
}

void read_close(const json& j, model::CloseSummary& s) {
  s.duration_us = number_or<int64_t>(j, "duration_us", -1);
  s.bytes_acked = number<uint64_t>(j, "bytes_acked");
  s.bytes_received = number<uint64_t>(j, "bytes_received");
  s.retrans = number<uint32_t>(j, "retrans");
  s.min_srtt_us = number_or<uint32_t>(j, "min_srtt_us", 0);
  s.avg_srtt_us = number_or<uint32_t>(j, "avg_srtt_us", 0);
  s.max_srtt_us = number_or<uint32_t>(j, "max_srtt_us", 0);
  s.srtt_us = number_or<uint32_t>(j, "srtt_us", 0);
  s.closed_by = closed_by_field(j);
  s.failure = j.contains("failure") ? errno_field(j, "failure") : 0;
  s.syn_retrans = number_or<int64_t>(j, "syn_retrans", -1);
}

void read_alert(const json& j, RecordedEvent& r) {
  model::Alert& a = r.event.alert;
  const std::string kind = text(j, "kind");
  if (kind == "listen_overflow") {
    a.kind = model::AlertKind::listen_overflow;
    read_conn(j, r);
    a.drops = number<uint64_t>(j, "drops");
  } else if (kind == "close_wait") {
    a.kind = model::AlertKind::close_wait;
    read_conn(j, r);
    a.age_us = number<int64_t>(j, "age_us");
  } else if (kind == "port_pressure") {
    a.kind = model::AlertKind::port_pressure;
    a.netns = number<uint32_t>(j, "netns");
    a.family = family_of(j);
    a.remote = endpoint(j, "raddr", "rport", a.family);
    a.in_use = number<uint32_t>(j, "in_use");
    a.range = number<uint32_t>(j, "range");
  } else {
    throw BadField{"unknown alert kind \"" + kind + "\""};
  }
}

// The kernel's reset-reason names are lower-case identifiers: anything
// else in the field is not ours, and must not reach a terminal.
std::string reset_reason(const json& j) {
  std::string r = text(j, "reason");
  for (char ch : r)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
      throw BadField{"\"reason\" is not a reset reason name"};
  return r;
}

// connect() undoing its own CLOSE -> SYN-SENT (no free local port) is the
// one SYN-SENT -> CLOSE whose socket never got a local port: the stream
// holds the SYN-SENT until the port is known, so only that case is written
// with lport 0. The live model has a kernel flag for it; the line has this.
bool undone_in_connect(const model::Event& e, const model::Connection& c) {
  return e.old_state == diag::kSynSent && e.new_state == diag::kClose && c.local.port == 0;
}

std::optional<model::EventType> event_type(std::string_view name) {
  using model::EventType;
  for (EventType t : {EventType::snapshot, EventType::sync, EventType::state, EventType::rtt,
                      EventType::retransmit, EventType::reset, EventType::close, EventType::lost,
                      EventType::table, EventType::table_end, EventType::exit,
                      EventType::connect_error, EventType::alert})
    if (model::event_type_name(t) == name) return t;
  return std::nullopt;
}

void read_body(const json& j, RecordedEvent& r) {
  model::Event& e = r.event;
  using model::EventType;
  switch (e.type) {
    case EventType::snapshot:
      read_snapshot(j, r);
      break;
    case EventType::state:
      read_conn(j, r);
      e.old_state = state_field(j, "old");
      e.new_state = state_field(j, "new");
      e.new_minisocket = r.conn.minisocket;
      e.old_us = number_or<int64_t>(j, "old_us", -1);
      e.inferred = flag(j, "inferred");
      // The child taking over a reported request's cookie is the one
      // transition the stream writes as SYN-RECV -> SYN-RECV.
      e.old_request = !e.inferred && e.old_state == diag::TcpState::kSynRecv &&
                      e.new_state == diag::TcpState::kSynRecv;
      e.in_connect = !e.inferred && undone_in_connect(e, r.conn);
      break;
    case EventType::rtt:
      read_conn(j, r);
      e.srtt_us = number<uint32_t>(j, "srtt_us");
      e.rttvar_us = number<uint32_t>(j, "rttvar_us");
      e.prev_srtt_us = number_or<uint32_t>(j, "prev_srtt_us", 0);
      e.min_rtt_us = number_or<uint32_t>(j, "min_rtt_us", 0);
      e.cwnd = number_or<uint32_t>(j, "cwnd", 0);
      e.ssthresh = number_or<uint32_t>(j, "ssthresh", 0);
      e.packets_out = number_or<uint32_t>(j, "packets_out", 0);
      break;
    case EventType::retransmit:
      read_conn(j, r);
      e.segs = number<uint32_t>(j, "segs");
      e.synack = flag(j, "synack");
      break;
    case EventType::reset: {
      read_conn(j, r);
      const std::string dir = text(j, "dir");
      if (dir != "sent" && dir != "received") throw BadField{"\"dir\" is not sent or received"};
      e.reset_sent = dir == "sent";
      if (j.contains("reason")) r.reset_reason = reset_reason(j);
      break;
    }
    case EventType::close:
      read_conn(j, r);
      read_close(j, e.summary);
      e.in_connect = r.conn.local.port == 0 && e.summary.closed_by == model::ClosedBy::failed &&
                     e.summary.failure == 0 && e.summary.syn_retrans <= 0;
      break;
    case EventType::connect_error:
      read_conn(j, r);
      e.error = errno_field(j, "errno");
      break;
    case EventType::table:
      read_conn(j, r);
      break;
    case EventType::lost:
      e.count = number<uint64_t>(j, "count");
      e.ringbuf_full = number_or<uint64_t>(j, "ringbuf_full", 0);
      e.missed_runs = number_or<uint64_t>(j, "missed_runs", 0);
      e.queue_full = number_or<uint64_t>(j, "queue_full", 0);
      break;
    case EventType::sync:
    case EventType::table_end:
      e.count = number<uint64_t>(j, "sockets");
      break;
    case EventType::exit:
      e.count = number<uint64_t>(j, "events");
      e.lost_total = number<uint64_t>(j, "lost");
      e.missed_rtt_samples = number_or<uint64_t>(j, "missed_rtt_samples", 0);
      e.prefiltered = number_or<uint64_t>(j, "prefiltered", 0);
      break;
    case EventType::alert:
      read_alert(j, r);
      break;
  }
}

ParsedLine bad(std::string why) {
  ParsedLine p;
  p.verdict = Verdict::bad;
  p.why = std::move(why);
  return p;
}

}  // namespace

std::optional<uint8_t> parse_tcp_state(std::string_view name) {
  for (uint8_t s = 1; s < diag::kMaxState; ++s)
    if (output::tcp_state_name(s) == name || output::state_name(s) == name) return s;
  return std::nullopt;
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_rfc3339_ns(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  int y, mo, d, h, mi, s;
  if (!digits(t, 0, 4, y) || t.size() < 20 || t[4] != '-' || !digits(t, 5, 2, mo) || t[7] != '-' ||
      !digits(t, 8, 2, d) || t[10] != 'T' || !digits(t, 11, 2, h) || t[13] != ':' ||
      !digits(t, 14, 2, mi) || t[16] != ':' || !digits(t, 17, 2, s))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (t[pos] == '.') {
    int64_t scale = 100'000'000;
    size_t n = 0;
    for (++pos; pos < t.size() && t[pos] >= '0' && t[pos] <= '9'; ++pos, ++n) {
      frac_ns += (t[pos] - '0') * scale;
      scale /= 10;
    }
    if (n == 0 || n > 9) return std::nullopt;
  }
  if (pos + 1 != t.size() || t[pos] != 'Z') return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const time_t secs = timegm(&tm);
  if (secs < 0) return std::nullopt;
  return int64_t(secs) * 1'000'000'000 + frac_ns;
}

ParsedLine parse_event_line(std::string_view line) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("not JSON");
  if (!j.is_object()) return bad("not a JSON object");
  try {
    const json& v = need(j, "v");
    if (!v.is_number_integer() || v.get<int64_t>() != kSchemaVersion)
      return bad("schema version " + v.dump() + ", this sstrace reads " +
                 std::to_string(kSchemaVersion));
    const std::string type = text(j, "type");
    const auto ts = parse_rfc3339_ns(text(j, "ts"));
    if (!ts) return bad("\"ts\" is not an RFC 3339 UTC time");
    ParsedLine p;
    if (type == "summary" || type == "top") {
      p.verdict = Verdict::view_output;
      return p;
    }
    const auto t = event_type(type);
    if (!t) return bad("unknown type \"" + type + "\"");
    p.recorded.event.type = *t;
    p.recorded.event.ts_ns = uint64_t(*ts);
    read_body(j, p.recorded);
    p.verdict = Verdict::event;
    return p;
  } catch (const BadField& e) {
    return bad(e.why);
  } catch (const json::exception& e) {
    return bad(std::string("unreadable field: ") + e.what());
  }
}

}  // namespace sstrace::replay
