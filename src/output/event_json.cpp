// JSON lines for the live stream. Field names are the contract's
// (CONTRACT.md); docs/events.md describes every one.
#include <sys/socket.h>

#include "output/address_text.h"
#include "output/event_common.h"
#include "output/event_writer.h"
#include "output/json_writer.h"
#include "output/sock_json_fields.h"
#include "output/timestamps.h"

namespace sstrace::output {

namespace {

constexpr int kSchemaVersion = 1;

// An address value appended straight into the line (no std::string).
void write_addr(JsonWriter& w, uint8_t family, const std::array<uint8_t, 16>& addr) {
  w.quoted([&](std::string& out) { append_addr_text(out, family, addr); });
}

void write_conn_fields(JsonWriter& w, const model::Connection& c) {
  w.field("netns", c.key.netns);
  w.field("cookie", c.key.cookie);
  w.field("family", c.family == AF_INET6 ? "inet6" : "inet");
  w.field("proto", "tcp");
  // The IPv6 wildcard of a dual-stack socket is "*", as in snapshot events
  // (json_laddr) and in ss.
  if (c.family == AF_INET6 && !c.v6only && addr_is_any(c.family, c.local.addr)) {
    w.field("laddr", "*");
  } else {
    w.key("laddr");
    write_addr(w, c.family, c.local.addr);
  }
  w.field("lport", c.local.port);
  if (c.remote.port == 0 && addr_is_any(c.family, c.remote.addr)) {
    w.field("raddr", "*");
  } else {
    w.key("raddr");
    write_addr(w, c.family, c.remote.addr);
  }
  w.field("rport", c.remote.port);
  w.field("state", tcp_state_name(c.state));
  if (c.minisocket) w.field("minisocket", true);
  if (c.request) w.field("request", true);
  if (c.owner.known()) {
    w.field("pid", c.owner.pid);
    w.field("comm", c.owner.comm);
  } else if (c.last_owner.known()) {
    w.field("last_pid", c.last_owner.pid);
    w.field("last_comm", c.last_owner.comm);
  }
}

void write_state(JsonWriter& w, const model::Event& e) {
  w.field("old", tcp_state_name(e.old_state));
  w.field("new", tcp_state_name(e.new_state));
  if (e.old_us >= 0) w.field("old_us", e.old_us);
  if (e.inferred) w.field("inferred", true);
}

void write_rtt(JsonWriter& w, const model::Event& e) {
  w.field("srtt_us", e.srtt_us);
  w.field("rttvar_us", e.rttvar_us);
  // Absent on a socket's first rtt event: there was no previous value.
  if (e.prev_srtt_us) w.field("prev_srtt_us", e.prev_srtt_us);
  w.field("min_rtt_us", e.min_rtt_us);
  w.field("cwnd", e.cwnd);
  w.field("ssthresh", e.ssthresh);
  w.field("packets_out", e.packets_out);
}

void write_close(JsonWriter& w, const model::CloseSummary& s) {
  if (s.duration_us >= 0) w.field("duration_us", s.duration_us);
  w.field("bytes_acked", s.bytes_acked);
  w.field("bytes_received", s.bytes_received);
  w.field("retrans", s.retrans);
  if (s.min_srtt_us) {
    w.field("min_srtt_us", s.min_srtt_us);
    w.field("avg_srtt_us", s.avg_srtt_us);
    w.field("max_srtt_us", s.max_srtt_us);
  }
  if (s.srtt_us) w.field("srtt_us", s.srtt_us);
  w.field("closed_by", closed_by_name(s.closed_by));
  if (s.failure) w.field("failure", errno_name(s.failure));
  if (s.syn_retrans >= 0) w.field("syn_retrans", s.syn_retrans);
}

// table events: the live model's view, with what it learned since seeding.
void write_table(JsonWriter& w, const model::Connection& c, uint64_t now_ns) {
  w.field("recv_q", c.recv_q);
  w.field("send_q", c.send_q);
  if (c.state_since_ns && now_ns >= c.state_since_ns)
    w.field("state_us", (now_ns - c.state_since_ns) / 1000);
  if (c.born_ns && now_ns >= c.born_ns) w.field("age_us", (now_ns - c.born_ns) / 1000);
  if (c.srtt_us) {
    w.field("srtt_us", c.srtt_us);
    w.field("rttvar_us", c.rttvar_us);
  }
  if (c.min_srtt_us) {
    w.field("min_srtt_us", c.min_srtt_us);
    w.field("max_srtt_us", c.max_srtt_us);
  }
  w.field("retrans_segs", c.retrans_segs);
  w.field("seeded", c.seeded);
}

// alert events: listen_overflow and close_wait carry their connection's
// fields; port_pressure names its destination.
void write_alert(JsonWriter& w, const model::Alert& a) {
  w.field("kind", model::alert_kind_name(a.kind));
  switch (a.kind) {
    case model::AlertKind::listen_overflow:
      w.field("drops", a.drops);
      break;
    case model::AlertKind::close_wait:
      w.field("age_us", a.age_us);
      break;
    case model::AlertKind::port_pressure:
      w.field("netns", a.netns);
      w.field("family", a.family == AF_INET6 ? "inet6" : "inet");
      w.field("proto", "tcp");
      w.key("raddr");
      write_addr(w, a.family, a.remote.addr);
      w.field("rport", a.remote.port);
      w.field("in_use", a.in_use);
      w.field("range", a.range);
      break;
  }
}

class JsonEventWriter final : public EventWriter {
 public:
  JsonEventWriter(std::FILE* out, const sys::WallClock& clock) : buf_(out), clock_(clock) {}

  void write(const model::Event& e) override {
    std::string& out = buf_.str();
    JsonWriter w(out);
    w.begin_object();
    w.field("type", model::event_type_name(e.type));
    w.key("ts").quoted([&](std::string& text) { ts_.append(text, clock_.realtime_ns(e.ts_ns)); });
    w.field("v", kSchemaVersion);
    write_body(w, e);
    w.end_object();
    out.push_back('\n');
    ++written_;
    buf_.maybe_flush();
  }

  void write_text(std::string_view text) override {
    buf_.str().append(text);
    buf_.maybe_flush();
  }

  bool flush() override { return buf_.flush(); }
  int error() const override { return buf_.error(); }

 private:
  void write_body(JsonWriter& w, const model::Event& e) {
    using model::EventType;
    if (e.type == EventType::snapshot && e.info) {
      write_sock_fields(w, *e.info, e.users);
      return;
    }
    if (e.conn) write_conn_fields(w, *e.conn);
    switch (e.type) {
      case EventType::state:
        write_state(w, e);
        break;
      case EventType::rtt:
        write_rtt(w, e);
        break;
      case EventType::retransmit:
        w.field("segs", e.segs);
        if (e.synack) w.field("synack", true);
        break;
      case EventType::reset:
        w.field("dir", e.reset_sent ? "sent" : "received");
        if (!e.reset_reason.empty()) w.field("reason", e.reset_reason);
        break;
      case EventType::connect_error:
        w.field("errno", errno_name(e.error));
        break;
      case EventType::close:
        write_close(w, e.summary);
        break;
      case EventType::table:
        if (e.conn) write_table(w, *e.conn, e.ts_ns);
        break;
      case EventType::lost:
        w.field("count", e.count);
        w.field("ringbuf_full", e.ringbuf_full);
        w.field("missed_runs", e.missed_runs);
        w.field("queue_full", e.queue_full);
        break;
      case EventType::sync:
      case EventType::table_end:
        w.field("sockets", e.count);
        break;
      case EventType::exit:
        w.field("events", e.count);
        w.field("lost", e.lost_total);
        w.field("missed_rtt_samples", e.missed_rtt_samples);
        w.field("prefiltered", e.prefiltered);
        break;
      case EventType::alert:
        write_alert(w, e.alert);
        break;
      case EventType::snapshot:
        break;
    }
  }

  LineBuffer buf_;
  const sys::WallClock& clock_;
  Rfc3339Formatter ts_;
};

}  // namespace

std::unique_ptr<EventWriter> make_json_event_writer(std::FILE* out, const sys::WallClock& clock) {
  return std::make_unique<JsonEventWriter>(out, clock);
}

}  // namespace sstrace::output
