// The live stream for people: one line per event, local time first, the
// connection as ss writes endpoints, then what happened.
//   14:02:11.532101 state      127.0.0.1:41234   127.0.0.1:80   ESTAB -> FIN-WAIT-1 after 1.203s
//   curl/4242
#include <sys/socket.h>
#include <time.h>

#include <cinttypes>
#include <cstdio>

#include "output/event_common.h"
#include "output/event_writer.h"
#include "output/format.h"

namespace sstrace::output {

namespace {

void append_time(std::string& out, int64_t realtime_ns) {
  time_t secs = time_t(realtime_ns / 1'000'000'000);
  tm local{};
  localtime_r(&secs, &local);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%06" PRId64, local.tm_hour, local.tm_min,
                local.tm_sec, (realtime_ns % 1'000'000'000) / 1000);
  out += buf;
}

std::string endpoint_text(uint8_t family, const diag::Endpoint& e, bool remote) {
  if (remote && e.port == 0 && addr_is_any(family, e.addr)) return "*:*";
  std::string a = addr_text(family, e.addr);
  if (family == AF_INET6) a = "[" + a + "]";
  return a + ":" + std::to_string(e.port);
}

// 1.203s, 12.4ms, 830us: the unit that keeps three significant digits.
std::string duration_text(int64_t us) {
  char buf[32];
  if (us >= 1'000'000)
    std::snprintf(buf, sizeof buf, "%.3fs", double(us) / 1e6);
  else if (us >= 1000)
    std::snprintf(buf, sizeof buf, "%.1fms", double(us) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%" PRId64 "us", us);
  return buf;
}

std::string state_text(uint8_t state, bool minisocket) {
  std::string s(tcp_state_name(state));
  if (minisocket && state != diag::kTimeWait) s += "(tw)";
  return s;
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
    append_time(out, clock_.realtime_ns(e.ts_ns));
    out += ' ';
    out += model::event_type_name(e.type);
    pad_to(out, start, 27);
    if (e.conn) {
      const model::Connection& c = *e.conn;
      out += endpoint_text(c.family, c.local, false);
      pad_to(out, start, 27 + 24);
      out += endpoint_text(c.family, c.remote, true);
      pad_to(out, start, 27 + 48);
    }
    write_body(out, e);
    if (e.conn && e.conn->owner.known()) {
      out += "  ";
      out += e.conn->owner.comm;
      out += '/';
      out += std::to_string(e.conn->owner.pid);
    }
    out += '\n';
    ++written_;
    buf_.maybe_flush();
  }

  bool flush() override { return buf_.flush(); }

 private:
  void write_body(std::string& out, const model::Event& e) {
    using model::EventType;
    char buf[160];
    switch (e.type) {
      case EventType::snapshot:
      case EventType::table:
        out += state_text(e.conn->state, e.conn->minisocket);
        if (e.type == EventType::table && e.conn->srtt_us) {
          std::snprintf(buf, sizeof buf, " srtt %.3fms", e.conn->srtt_us / 1000.0);
          out += buf;
        }
        break;
      case EventType::state:
        out += state_text(e.old_state, e.old_minisocket);
        out += " -> ";
        out += state_text(e.new_state, e.new_minisocket);
        if (e.old_us >= 0) out += " after " + duration_text(e.old_us);
        if (e.inferred) out += " (inferred)";
        break;
      case EventType::rtt:
        std::snprintf(buf, sizeof buf, "srtt %.3fms (was %.3fms) rttvar %.3fms cwnd %u",
                      e.srtt_us / 1000.0, e.prev_srtt_us / 1000.0, e.rttvar_us / 1000.0, e.cwnd);
        out += buf;
        break;
      case EventType::retransmit:
        std::snprintf(buf, sizeof buf, "%u segment%s%s", e.segs, e.segs == 1 ? "" : "s",
                      e.synack ? " (SYN-ACK)" : "");
        out += buf;
        break;
      case EventType::reset:
        out += e.reset_sent ? "reset sent" : "reset received";
        break;
      case EventType::close:
        write_close(out, e.summary);
        break;
      case EventType::lost:
        out += std::to_string(e.count) + " events lost (ring buffer full; try --ringbuf-kib)";
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
    }
  }

  static void write_close(std::string& out, const model::CloseSummary& s) {
    char buf[200];
    out += "closed by ";
    out += closed_by_name(s.closed_by);
    if (s.duration_us >= 0) out += " after " + duration_text(s.duration_us);
    std::snprintf(buf, sizeof buf, ", acked %" PRIu64 " B, received %" PRIu64 " B, retrans %u",
                  s.bytes_acked, s.bytes_received, s.retrans);
    out += buf;
    if (s.min_srtt_us) {
      std::snprintf(buf, sizeof buf, ", rtt min/avg/max %.3f/%.3f/%.3f ms", s.min_srtt_us / 1000.0,
                    s.avg_srtt_us / 1000.0, s.max_srtt_us / 1000.0);
      out += buf;
    }
  }

  LineBuffer buf_;
  const sys::WallClock& clock_;
  EventFormat fmt_;
};

}  // namespace

std::unique_ptr<EventWriter> make_text_event_writer(std::FILE* out, const sys::WallClock& clock,
                                                    const EventFormat& fmt) {
  return std::make_unique<TextEventWriter>(out, clock, fmt);
}

}  // namespace sstrace::output
