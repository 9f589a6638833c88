#include "cli/stream_filter.h"

#include <sys/socket.h>

#include "model/connection_table.h"
#include "model/sock_view.h"

namespace sstrace::cli {

filter::Filter parse_stream_filter(const Options& opts, const std::vector<std::string>& words,
                                   const std::string& file) {
  filter::ParseOptions popts;
  if (opts.ipv4 && !opts.ipv6) popts.family = AF_INET;
  if (opts.ipv6 && !opts.ipv4) popts.family = AF_INET6;
  popts.tcp = true;
  popts.udp = false;  // the live stream is about TCP: services are TCP's
  popts.file = file;
  filter::Filter f = filter::Filter::parse(words, popts);
  // The live stream follows every state unless the filter names some.
  f.set_default_states(((1u << diag::kMaxState) - 1) & ~1u);
  return f;
}

namespace {

// The last event of a connection's story: the close of a full socket, or
// for one handed to a timewait minisocket (whose close came at the
// handover), the inferred CLOSE of the minisocket.
bool ends_story(const model::Event& e) {
  if (e.type == model::EventType::close) return !e.conn->minisocket;
  return e.type == model::EventType::state && e.inferred && e.new_state == diag::kClose;
}

}  // namespace

bool StreamFilter::matches(const model::Event& e) {
  // A snapshot is tested on everything the dump said.
  if (e.type == model::EventType::snapshot && e.info) return filter_.matches(*e.info);
  model::to_sock_info(*e.conn, scratch_);
  return filter_.matches(scratch_);
}

// The stream's default (no expression, no state words): every event is
// shown, so there is nothing to evaluate and no story to remember. -4/-6
// alone are applied by the kernel and the dump, not here. Without this test
// the unfiltered stream paid two hash-set updates per event (16% of its CPU
// under churn, perf).
bool StreamFilter::passes_everything() const {
  return filter_.empty() && !filter_.forced_family() && !filter_.has_states();
}

bool StreamFilter::shows(const model::Event& e) {
  if (!e.conn) return true;  // not about one socket: sync, lost, exit...
  if (passes_everything()) return true;
  const model::SockKey& key = e.conn->key;
  // No socket behind it (a reset to a closed port, a connect_error of a
  // socket that never had a cookie): no story to remember, and the next
  // cookie-0 event is another socket.
  if (key.cookie == 0) return matches(e);
  if (!matches(e) && !shown_.count(key)) return false;
  shown_.insert(key);
  if (ends_story(e)) retire(key);
  return true;
}

void StreamFilter::retire(const model::SockKey& key) {
  ended_.push_back(key);
  if (ended_.size() <= model::kGraveyardSize) return;
  shown_.erase(ended_.front());
  ended_.pop_front();
}

}  // namespace sstrace::cli
