// The live stream for people: one line per event, local time first, the
// connection as ss writes endpoints, then what happened.
//   14:02:11.532101 state      127.0.0.1:41234   127.0.0.1:80   ESTAB -> FIN-WAIT-1 after 1.203s
//   curl/4242
#include <sys/socket.h>
#include <time.h>

#include <cinttypes>
#include <cstdio>

#include "output/address_text.h"
#include "output/append_number.h"
#include "output/event_common.h"
#include "output/event_writer.h"
#include "output/terminal_text.h"
#include "output/timestamps.h"

namespace sstrace::output {

namespace {

// HH:MM:SS.uuuuuu in local time; the HH:MM:SS. part is formatted once per
// second (localtime_r is not cheap: it checks the time zone).
void append_time(std::string& out, PerSecondText& clock_text, int64_t realtime_ns) {
  const int64_t us = (realtime_ns % 1'000'000'000) / 1000;
  const std::string& hms = clock_text.get(realtime_ns / 1'000'000'000, [](int64_t second) {
    const time_t secs = static_cast<time_t>(second);
    tm local{};
    localtime_r(&secs, &local);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.", local.tm_hour, local.tm_min, local.tm_sec);
    return std::string(buf);
  });
  out += hms;
  if (us < 0) {  // before 1970: printf's "%06" of a negative number
    char buf[16];
    std::snprintf(buf, sizeof buf, "%06" PRId64, us);
    out += buf;
    return;
  }
  append_zero_padded(out, static_cast<uint64_t>(us), 6);
}

void append_endpoint(std::string& out, uint8_t family, const diag::Endpoint& e, bool remote,
                     bool v6only = true) {
  if (remote && e.port == 0 && addr_is_any(family, e.addr)) {
    out += "*:*";
    return;
  }
  // A dual-stack IPv6 wildcard: "*:443", as ss prints it.
  if (!remote && family == AF_INET6 && !v6only && addr_is_any(family, e.addr)) {
    out += "*:";
    append_int(out, e.port);
    return;
  }
  if (family == AF_INET6) out += '[';
  append_addr_text(out, family, e.addr);
  if (family == AF_INET6) out += ']';
  out += ':';
  append_int(out, e.port);
}

// 1.203s, 12.4ms, 830us: the unit that keeps three significant digits.
void append_duration(std::string& out, int64_t us) {
  if (us >= 1'000'000) {
    append_fixed(out, double(us) / 1e6, 3);
    out += 's';
  } else if (us >= 1000) {
    append_fixed(out, double(us) / 1e3, 1);
    out += "ms";
  } else {
    append_int(out, us);
    out += "us";
  }
}

void append_state(std::string& out, uint8_t state, bool minisocket, bool request = false) {
  out += tcp_state_name(state);
  if (minisocket && state != diag::kTimeWait) out += "(tw)";
  if (request) out += "(req)";
}

// " 1.203ms": printf's "%.3fms" of a microsecond count.
void append_ms(std::string& out, std::string_view before, double us) {
  out += before;
  append_fixed(out, us / 1000.0, 3);
  out += "ms";
}

// The owner as comm/pid; an orphan's former owner as last:comm/pid (ss -p
// shows no owner there, so the text must not look like one).
void append_owner(std::string& out, const model::Connection& c) {
  const model::Owner& o = c.owner.known() ? c.owner : c.last_owner;
  if (!o.known()) return;
  out += c.owner.known() ? "  " : "  last:";
  append_terminal_safe(out, o.comm);
  out += '/';
  append_int(out, o.pid);
}

void pad_to(std::string& out, size_t line_start, size_t column) {
  size_t len = out.size() - line_start;
  out.append(len < column ? column - len : 1, ' ');
}

class TextEventWriter final : public EventWriter {
 public:
  TextEventWriter(std::FILE* out, const sys::WallClock& clock, const EventFormat& fmt)
      : buf_(out), clock_(clock), fmt_(fmt) {}

  void write(const model::Event& e) override {
    std::string& out = buf_.str();
    size_t start = out.size();
    append_time(out, clock_text_, clock_.realtime_ns(e.ts_ns));
    out += ' ';
    out += model::event_type_name(e.type);
    pad_to(out, start, 27);
    if (e.conn) {
      const model::Connection& c = *e.conn;
      append_endpoint(out, c.family, c.local, false, c.v6only);
      pad_to(out, start, 27 + 24);
      append_endpoint(out, c.family, c.remote, true);
      pad_to(out, start, 27 + 48);
    }
    write_body(out, e);
    if (e.conn) append_owner(out, *e.conn);
    out += '\n';
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
  void write_body(std::string& out, const model::Event& e) {
    using model::EventType;
    switch (e.type) {
      case EventType::snapshot:
      case EventType::table:
        append_state(out, e.conn->state, e.conn->minisocket, e.conn->request);
        if (e.type == EventType::table && e.conn->srtt_us)
          append_ms(out, " srtt ", e.conn->srtt_us);
        break;
      case EventType::state:
        append_state(out, e.old_state, e.old_minisocket, e.old_request);
        out += " -> ";
        append_state(out, e.new_state, e.new_minisocket,
                     e.conn->request && e.new_state == diag::kSynRecv);
        if (e.old_us >= 0) {
          out += " after ";
          append_duration(out, e.old_us);
        }
        if (e.inferred) out += " (inferred)";
        break;
      case EventType::rtt:
        append_ms(out, "srtt ", e.srtt_us);
        if (e.prev_srtt_us)
          append_ms(out, " (was ", e.prev_srtt_us);
        else
          out += " (first";
        append_ms(out, ") rttvar ", e.rttvar_us);
        out += " cwnd ";
        append_int(out, e.cwnd);
        break;
      case EventType::retransmit:
        append_int(out, e.segs);
        out += e.segs == 1 ? " segment" : " segments";
        if (e.synack) out += " (SYN-ACK)";
        break;
      case EventType::reset:
        out += e.reset_sent ? "reset sent" : "reset received";
        if (!e.reset_reason.empty()) {
          out += " (";
          out += e.reset_reason;
          out += ')';
        }
        break;
      case EventType::connect_error:
        out += "connect failed: ";
        out += errno_name(e.error);
        break;
      case EventType::close:
        write_close(out, e.summary);
        break;
      case EventType::lost:
        write_lost(out, e);
        break;
      case EventType::sync:
        out += std::to_string(e.count) + " sockets seeded; streaming";
        break;
      case EventType::table_end:
        out += std::to_string(e.count) + " connections in the table";
        break;
      case EventType::exit:
        out += std::to_string(e.count) + " events, " + std::to_string(e.lost_total) + " lost";
        break;
      case EventType::alert:
        write_alert(out, e.alert);
        break;
    }
  }

  static void write_alert(std::string& out, const model::Alert& a) {
    out += model::alert_kind_name(a.kind);
    switch (a.kind) {
      case model::AlertKind::listen_overflow:
        out += ": ";
        append_int(out, a.drops);
        out += a.drops == 1 ? " connection dropped" : " connections dropped";
        break;
      case model::AlertKind::close_wait:
        out += ": in CLOSE-WAIT for ";
        append_duration(out, a.age_us);
        break;
      case model::AlertKind::port_pressure:
        out += ": ";
        append_int(out, a.in_use);
        out += " of ";
        append_int(out, a.range);
        out += " local ports in use toward ";
        append_endpoint(out, a.family, a.remote, true);
        break;
    }
  }

  // Says which remedy applies: a full ring buffer is a reader behind the
  // kernel; skipped runs are softirqs nesting inside our programs; a full
  // reader queue is the formatting and writing behind the reader.
  static void write_lost(std::string& out, const model::Event& e) {
    append_int(out, e.count);
    out += " events lost (";
    append_int(out, e.ringbuf_full);
    out += " ring buffer full: try --ringbuf-kib; ";
    append_int(out, e.missed_runs);
    out += " runs skipped by the kernel";
    // Named only when it happened: it is rare, and the line stays short.
    if (e.queue_full) {
      out += "; ";
      append_int(out, e.queue_full);
      out += " reader queue full: the output is too slow";
    }
    out += ')';
  }

  static void write_close(std::string& out, const model::CloseSummary& s) {
    out += "closed by ";
    out += closed_by_name(s.closed_by);
    if (s.failure) {
      out += " (";
      out += errno_name(s.failure);
      out += ')';
    }
    if (s.duration_us >= 0) {
      out += " after ";
      append_duration(out, s.duration_us);
    }
    out += ", acked ";
    append_int(out, s.bytes_acked);
    out += " B, received ";
    append_int(out, s.bytes_received);
    out += " B, retrans ";
    append_int(out, s.retrans);
    if (s.syn_retrans >= 0) {
      out += ", syn_retrans ";
      append_int(out, s.syn_retrans);
    }
    if (s.min_srtt_us) {
      out += ", rtt min/avg/max ";
      append_fixed(out, s.min_srtt_us / 1000.0, 3);
      out += '/';
      append_fixed(out, s.avg_srtt_us / 1000.0, 3);
      out += '/';
      append_fixed(out, s.max_srtt_us / 1000.0, 3);
      out += " ms";
    }
  }

  LineBuffer buf_;
  const sys::WallClock& clock_;
  EventFormat fmt_;
  PerSecondText clock_text_;
};

}  // namespace

std::unique_ptr<EventWriter> make_text_event_writer(std::FILE* out, const sys::WallClock& clock,
                                                    const EventFormat& fmt) {
  return std::make_unique<TextEventWriter>(out, clock, fmt);
}

}  // namespace sstrace::output
