// One line of a recording (what `sstrace --json` wrote) read back into the
// model's event structures, for --replay (docs/events.md, "Replay"). Pure:
// no I/O; a line that is not one of our events is a verdict, never an
// exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "diag/sock_info.h"
#include "model/connection.h"
#include "model/event.h"

namespace sstrace::replay {

// What the line said, owned here. `event` has no pointers yet (conn, info
// and reset_reason are bound by whoever keeps this object alive).
struct RecordedEvent {
  model::Event event;
  // The socket fields of the line (every event about one socket).
  bool has_conn = false;
  model::Connection conn;
  // snapshot: the dump's fields the filter and the views read (the line's
  // other details are not needed to replay).
  diag::SockInfo info;
  std::string reset_reason;
};

enum class Verdict : uint8_t {
  event,        // one of the stream's events
  view_output,  // a `summary` or `top` object: a view's output, recomputed by the replay
  bad,          // not JSON, not sstrace's, another schema version, a field missing or wrong
};

struct ParsedLine {
  Verdict verdict = Verdict::bad;
  std::string why;  // bad: what was wrong, for the report
  RecordedEvent recorded;
};

ParsedLine parse_event_line(std::string_view line);

// "2026-11-22T02:31:07.123456Z" to nanoseconds since the Unix epoch;
// nullopt unless it is RFC 3339 UTC as the stream writes it.
std::optional<int64_t> parse_rfc3339_ns(std::string_view text);

// State names as the stream and the snapshot spell them ("ESTAB",
// "UNCONN" and "CLOSE" both TCP's CLOSE), back to diag::TcpState.
std::optional<uint8_t> parse_tcp_state(std::string_view name);

}  // namespace sstrace::replay
