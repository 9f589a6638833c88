// Writers for the live stream: one line per model::Event, as JSON lines
// (docs/events.md, docs/schema/events.schema.json) or as text for people.
// Output is buffered and written in batches (one write per ring-buffer
// drain), never per event.
#pragma once

#include <cstdio>
#include <memory>
#include <string_view>

#include "model/event.h"
#include "sys/clock.h"

namespace sstrace::output {

class EventWriter {
 public:
  virtual ~EventWriter() = default;
  virtual void write(const model::Event& e) = 0;
  // Text made elsewhere (the -s summaries), in order with the events;
  // ends with a newline.
  virtual void write_text(std::string_view text) = 0;
  // Writes what is buffered. False when a write failed: error() is EPIPE
  // when the reader went away (the caller stops cleanly, as `sstrace | head`
  // expects), any other errno a failure to report (ENOSPC, EIO, ...).
  virtual bool flush() = 0;
  virtual int error() const = 0;
  uint64_t written() const { return written_; }

 protected:
  uint64_t written_ = 0;
};

struct EventFormat {
  bool numeric = true;   // text: ports as numbers
  bool details = false;  // text: snapshot/table lines carry ss -i style details
};

std::unique_ptr<EventWriter> make_json_event_writer(std::FILE* out, const sys::WallClock& clock);
std::unique_ptr<EventWriter> make_text_event_writer(std::FILE* out, const sys::WallClock& clock,
                                                    const EventFormat& fmt);

}  // namespace sstrace::output
