// The FILTER applied to the live stream (docs/events.md, "Filters on the
// stream"): every socket event is tested (a `state` event with the new
// state), and a connection once shown stays shown to its end, so that a
// connection leaving the filter's states still gets the rest of its story.
#pragma once

#include <deque>
#include <unordered_set>

#include <string>
#include <vector>

#include "cli/options.h"
#include "diag/sock_info.h"
#include "filter/filter.h"
#include "model/connection.h"
#include "model/event.h"

namespace sstrace::cli {

// FILTER words (and -F FILE) read as the live stream reads them: TCP
// only, in -4/-6's family, every state unless the words name some. Throws
// UsageError. Also what top's `/` parses.
filter::Filter parse_stream_filter(const Options& opts, const std::vector<std::string>& words,
                                   const std::string& file = "");

class StreamFilter {
 public:
  explicit StreamFilter(const filter::Filter& f) : filter_(f) {}
  // Whether e is written. Not const: it remembers what was shown.
  bool shows(const model::Event& e);

 private:
  bool passes_everything() const;
  bool matches(const model::Event& e);
  void retire(const model::SockKey& key);

  const filter::Filter& filter_;
  // Connections an event was written for.
  std::unordered_set<model::SockKey, model::SockKeyHash> shown_;
  // Shown connections that ended, oldest first: kept as long as the table
  // keeps ended connections for late records (a reset sent after the close).
  std::deque<model::SockKey> ended_;
  diag::SockInfo scratch_;
};

}  // namespace sstrace::cli
