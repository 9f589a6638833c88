#include "cli/summary_view.h"

#include <cmath>

#include "aggregate/aggregator.h"
#include "common/result.h"
#include "output/summary.h"
#include "output/timestamps.h"
#include "replay/replay_table.h"
#include "views/frame_json.h"
#include "views/rates_text.h"

namespace sstrace::cli {

namespace {

class SummaryView final : public LiveView {
 public:
  explicit SummaryView(const LiveSetup& setup)
      : writer_(*setup.writer),
        clock_(setup.clock),
        json_(setup.opts.json),
        netns_(setup.netns),
        replay_(setup.replay),
        interval_ns_(uint64_t(setup.opts.interval_s * 1e9)),
        // The summary shows totals only: the grouping with the fewest groups.
        aggregator_(setup.aggregator_options(aggregate::GroupBy::port)) {}

  void on_event(const model::Event& e) override {
    aggregator_.observe(e);
    // The first interval starts when the table is seeded: the snapshot
    // events before it are what was there, not churn.
    if (e.type == model::EventType::sync) start(e.ts_ns);
  }

  void on_tick(uint64_t now) override {
    if (next_ns_ && now >= next_ns_) write_summary(now);
  }

  void on_stop(uint64_t now) override {
    // The last, partial interval: what happened since the last summary.
    if (next_ns_ && now > next_ns_ - interval_ns_) write_summary(now);
  }

 private:
  void start(uint64_t ts) {
    aggregator_.frame(ts);  // discards the seeding's counts
    next_ns_ = ts + interval_ns_;
  }

  void write_summary(uint64_t now) {
    aggregate::Frame f = aggregator_.frame(now);
    next_ns_ = now + interval_ns_;
    if (replay_) {
      write_replay_summary(f, now);
      return;
    }
    // /proc/net answers for the namespace we entered (-N).
    Result<output::Summary> s = output::read_summary();
    if (!s) throw FatalError("cannot read the socket counts: " + s.error().str());
    if (json_) {
      nlohmann::ordered_json j = output::summary_json(*s, netns_, ts_text(now));
      j["interval_s"] = std::round(f.interval_s * 1000) / 1000;
      views::add_totals_json(j, f);
      writer_.write_text(j.dump() + "\n");
    } else {
      writer_.write_text(output::summary_text(*s) + views::rates_line(f) + "\n");
    }
  }

  // A replay's counts are its table's: TCP only, as the recording holds,
  // with no /proc of the recorded host to read.
  void write_replay_summary(const aggregate::Frame& f, uint64_t now) {
    const replay::ReplayTable::TcpCounts n = replay_->tcp_counts();
    output::Summary s;
    s.tcp_alloc = int64_t(n.full);
    s.tcp_tw = int64_t(n.timewait);
    // ss's closed = alloc - (inuse - tw): the full sockets in CLOSE.
    s.tcp_inuse = int64_t(n.full - n.closed + n.timewait);
    s.tcp_orphan = int64_t(n.orphaned);
    s.tcp_estab = int64_t(n.estab);
    if (json_) {
      nlohmann::ordered_json j = output::summary_tcp_json(s, ts_text(now));
      j["interval_s"] = std::round(f.interval_s * 1000) / 1000;
      views::add_totals_json(j, f);
      writer_.write_text(j.dump() + "\n");
    } else {
      writer_.write_text(output::summary_tcp_line(s) + views::rates_line(f) + "\n");
    }
  }

  std::string ts_text(uint64_t now) const {
    return output::rfc3339_utc_ns(clock_.realtime_ns(now));
  }

  output::EventWriter& writer_;
  const sys::WallClock& clock_;
  bool json_;
  uint32_t netns_;
  const replay::ReplayTable* replay_;  // --replay: counts from its table
  uint64_t interval_ns_;
  aggregate::Aggregator aggregator_;
  uint64_t next_ns_ = 0;  // 0: not seeded yet
};

}  // namespace

std::unique_ptr<LiveView> make_summary_view(const LiveSetup& setup) {
  return std::make_unique<SummaryView>(setup);
}

}  // namespace sstrace::cli
