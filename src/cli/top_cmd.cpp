#include "cli/top_cmd.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <sstream>
#include <utility>

#include "aggregate/aggregator.h"
#include "cli/live_cmd.h"
#include "cli/output_option.h"
#include "cli/replay_cmd.h"
#include "cli/stream_filter.h"
#include "common/result.h"
#include "output/event_writer.h"
#include "output/timestamps.h"
#include "sys/stdio_guard.h"
#include "views/frame_json.h"
#include "views/top_screen.h"
#include "views/top_state.h"
#include "views/top_text.h"

namespace sstrace::cli {

namespace {

enum class TopMode { screen, batch, json };

// Without a terminal to draw on (or to read keys from), top writes text
// frames, as `top` does without one: `sstrace top > file` is --batch.
TopMode top_mode(const Options& opts) {
  if (opts.json) return TopMode::json;
  // --output is a file, as `> file` is: frames, not a screen. A replay
  // runs at full speed, and a screen would show its last frame only.
  if (opts.batch || !opts.output_file.empty() || !opts.replay_file.empty()) return TopMode::batch;
  if (isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) return TopMode::screen;
  return TopMode::batch;
}

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

class TopView final : public LiveView {
 public:
  TopView(const LiveSetup& setup, TopMode mode)
      : opts_(setup.opts),
        clock_(setup.clock),
        mode_(mode),
        interval_ns_(uint64_t(setup.opts.interval_s * 1e9)),
        state_(*aggregate::parse_group_by(setup.opts.by)) {
    agg_opts_ = setup.aggregator_options(state_.by());
    aggregator_ = std::make_unique<aggregate::Aggregator>(agg_opts_);
    if (mode_ != TopMode::screen) writer_ = output::make_json_event_writer(stdout, clock_);
  }

  void on_event(const model::Event& e) override {
    if (awaiting_table_) {
      // The table answers a new `/` filter: it is the truth at its time,
      // so what came before it is not counted again.
      if (e.type == model::EventType::table) {
        model::Event seeded = e;
        seeded.type = model::EventType::snapshot;
        observe(seeded);
      } else if (e.type == model::EventType::table_end) {
        awaiting_table_ = false;
        shown_ = aggregator_->frame(e.ts_ns);  // gauges now; counts from here
        next_ns_ = e.ts_ns + interval_ns_;
        dirty_ = true;
      } else if (e.type == model::EventType::lost) {
        aggregator_->observe(e);
      }
      return;
    }
    if (e.type == model::EventType::table || e.type == model::EventType::table_end) return;
    observe(e);
    // The first interval starts when the table is seeded: the snapshot
    // events before it are what was there, not churn.
    if (e.type == model::EventType::sync) start(e.ts_ns);
  }

  void on_tick(uint64_t now) override {
    if (!next_ns_) return;
    if (screen_) read_keys(now);
    if (!awaiting_table_ && now >= next_ns_) {
      aggregate::Frame f = aggregator_->frame(now);
      next_ns_ = now + interval_ns_;
      if (!screen_) {
        write_frame(f);
      } else if (state_.paused()) {
        latest_ = std::move(f);  // counted, not shown
      } else {
        shown_ = std::move(f);
        dirty_ = true;
      }
    }
    if (screen_ && dirty_) draw(now);
  }

  bool take_table_request() override { return std::exchange(table_request_, false); }
  bool wants_stop() const override { return stop_; }

  void on_stop(uint64_t now) override {
    // --batch and --json: the last, partial interval, unless it is too
    // short for its rates to mean anything (--interval's own minimum).
    if (!screen_ && next_ns_ && !awaiting_table_ && now + interval_ns_ >= next_ns_ + 100'000'000)
      write_frame(aggregator_->frame(now));
  }

 private:
  void observe(const model::Event& e) {
    if (live_filter_ && !live_stream_filter_->shows(e)) return;
    aggregator_->observe(e);
  }

  void start(uint64_t ts) {
    // Discards the seeding's counts; shown until the first interval ends:
    // what is there, with no rates yet.
    shown_ = aggregator_->frame(ts);
    shown_.interval_s = 0;
    next_ns_ = ts + interval_ns_;
    if (mode_ != TopMode::screen) return;
    try {
      screen_ = std::make_unique<views::TopScreen>();
    } catch (const std::runtime_error& e) {
      throw FatalError(std::string("top: ") + e.what() + "; --batch writes plain text frames");
    }
    dirty_ = true;
  }

  void read_keys(uint64_t now) {
    for (int k; (k = screen_->read_key()) != views::kKeyNone;) {
      switch (state_.key(k)) {
        case views::TopAction::none:
          break;
        case views::TopAction::redraw:
          if (!state_.paused() && latest_.ts_ns > shown_.ts_ns) shown_ = std::move(latest_);
          dirty_ = true;
          break;
        case views::TopAction::quit:
          stop_ = true;
          return;
        case views::TopAction::regroup:
          aggregator_->set_group_by(state_.by(), now);
          regrouped(now);
          break;
        case views::TopAction::filter:
          apply_filter(state_.pending_filter());
          dirty_ = true;
          break;
      }
    }
  }

  // Every connection regrouped at once: the gauges show the new grouping
  // now, and the rates restart with a whole interval.
  void regrouped(uint64_t now) {
    shown_ = aggregator_->frame(now);
    latest_ = {};
    next_ns_ = now + interval_ns_;
    dirty_ = true;
  }

  // `/`: the view counts what `sstrace FILTER` would stream from now on.
  // A new aggregator is seeded from the live table (every connection there
  // that matches counts as alive at once), and counts restart. A bad
  // expression leaves everything as it was and says why in the footer.
  void apply_filter(const std::string& text) {
    std::unique_ptr<filter::Filter> f;
    const std::vector<std::string> words = split_words(text);
    if (!words.empty()) {
      try {
        f = std::make_unique<filter::Filter>(parse_stream_filter(opts_, words));
      } catch (const std::exception& e) {
        state_.reject_filter(e.what());
        return;
      }
    }
    state_.accept_filter();
    live_stream_filter_.reset();
    live_filter_ = std::move(f);
    if (live_filter_) live_stream_filter_ = std::make_unique<StreamFilter>(*live_filter_);
    agg_opts_.by = state_.by();
    aggregator_ = std::make_unique<aggregate::Aggregator>(agg_opts_);
    awaiting_table_ = true;
    table_request_ = true;
  }

  void draw(uint64_t now) {
    dirty_ = false;
    views::TopHeader h = header(shown_.ts_ns ? shown_.ts_ns : now);
    screen_->draw(shown_, h, state_);
  }

  views::TopHeader header(uint64_t ts) const {
    views::TopHeader h;
    h.ts = output::rfc3339_utc_ns(clock_.realtime_ns(ts));
    h.sort = state_.sort();
    h.filter = state_.filter();
    h.paused = state_.paused();
    return h;
  }

  void write_frame(const aggregate::Frame& f) {
    if (mode_ == TopMode::json)
      writer_->write_text(views::top_json(f, header(f.ts_ns).ts).dump() + "\n");
    else
      writer_->write_text(views::top_batch_text(f, header(f.ts_ns)));
    if (writer_->flush()) return;
    if (writer_->error() != EPIPE)
      throw FatalError("cannot write to " + describe_output(opts_) + ": " +
                       std::strerror(writer_->error()));
    stop_ = true;  // the reader went away: a clean stop (CONTRACT.md)
  }

  const Options& opts_;
  const sys::WallClock& clock_;
  TopMode mode_;
  uint64_t interval_ns_;
  views::TopState state_;
  aggregate::AggregatorOptions agg_opts_;
  std::unique_ptr<aggregate::Aggregator> aggregator_;
  std::unique_ptr<output::EventWriter> writer_;  // --batch, --json
  std::unique_ptr<views::TopScreen> screen_;     // the terminal, from sync to the end
  // The `/` filter, on top of the command line's (which the engine applies).
  std::unique_ptr<filter::Filter> live_filter_;
  std::unique_ptr<StreamFilter> live_stream_filter_;
  bool table_request_ = false;
  bool awaiting_table_ = false;
  aggregate::Frame shown_;   // on the screen
  aggregate::Frame latest_;  // the last frame made while paused
  uint64_t next_ns_ = 0;     // 0: not seeded yet
  bool dirty_ = false;
  bool stop_ = false;
};

}  // namespace

int run_top(const Options& opts) {
  if (opts.json && opts.batch) throw UsageError("--batch and --json: choose one");
  if (opts.memory) throw UsageError("-m: not an option of top: it shows no socket memory");
  const TopMode mode = top_mode(opts);
  MakeViews views = [mode](const LiveSetup& setup) {
    std::vector<std::unique_ptr<LiveView>> v;
    v.push_back(std::make_unique<TopView>(setup, mode));
    return v;
  };
  return opts.replay_file.empty() ? run_live(opts, views) : run_replay(opts, views);
}

}  // namespace sstrace::cli
