// A replay reads the recording line by line and hands each event to what
// the live engine would have handed it to, in the same order: the table
// (replay::ReplayTable in place of the kernel-fed model), the stream
// filter, the views and the writer. Time is the events' own: a view's
// interval ends when the first event past its end is read, as if the clock
// had struck between the two.
#include "cli/replay_cmd.h"

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/output_option.h"
#include "cli/stream_filter.h"
#include "common/result.h"
#include "output/event_writer.h"
#include "replay/bad_lines.h"
#include "replay/event_line.h"
#include "replay/replay_table.h"
#include "sys/clock.h"
#include "sys/line_reader.h"
#include "sys/output_file.h"
#include "sys/port_range.h"

namespace sstrace::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_replay_stop_signal(int) { g_stop = true; }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_replay_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is EPIPE, a clean stop
}

// The output is flushed every so many events, so a reader of a pipe sees
// it come and a closed one is noticed without reading the whole file.
constexpr uint64_t kFlushEvery = 4096;

class Replay {
 public:
  Replay(const Options& opts, MakeViews make_views)
      : opts_(opts),
        make_views_(std::move(make_views)),
        interval_ns_(uint64_t(opts.interval_s * 1e9)) {}
  int run();

 private:
  void setup();
  void read(sys::LineReader& in);
  void read_line(const std::string& line, bool complete, uint64_t number);
  void take(replay::RecordedEvent& r);
  void start_run_if_new(const model::Event& e);
  void start_intervals(uint64_t ts);
  void tick_until(uint64_t ts);
  void write(const model::Event& e);
  void show_views(const model::Event& e);
  void emit_table(uint64_t ts);
  void flush();
  void finish();
  void report() const;

  const Options& opts_;
  MakeViews make_views_;
  uint64_t interval_ns_;
  std::optional<sys::OutputFile> output_file_;
  sys::WallClock clock_{sys::WallClock::EventTime{}};
  filter::Filter filter_;
  StreamFilter stream_filter_{filter_};
  std::unique_ptr<output::EventWriter> writer_;
  bool write_events_ = false;
  std::vector<std::unique_ptr<LiveView>> views_;
  replay::ReplayTable table_;
  replay::BadLines bad_;
  std::string pending_line_;  // the line being replayed (--json writes it as it was)

  bool synced_ = false;    // the current run's sync was read
  bool run_over_ = false;  // its exit was read: a snapshot starts the next run
  uint64_t next_tick_ns_ = 0;
  uint64_t deadline_ns_ = 0;  // --duration, on the events' time
  uint64_t last_ts_ = 0;
  bool stop_ = false;
  bool pipe_closed_ = false;

  uint64_t used_ = 0;        // events replayed
  uint64_t view_lines_ = 0;  // summary and top objects: the views' output, recomputed
  uint64_t events_ = 0;      // lines written
  uint64_t lost_ = 0, ringbuf_full_ = 0, missed_runs_ = 0;
  uint64_t missed_rtt_samples_ = 0, prefiltered_ = 0;  // from the recorded exits
};

void Replay::setup() {
  output_file_ = open_output_option(opts_);
  install_signal_handlers();
  // A recording does not say its ip_local_port_range: the replaying
  // host's is taken (docs/events.md, "Replay").
  const std::optional<sys::PortRange> ephemeral = sys::read_local_port_range();
  if (ephemeral) table_.set_ephemeral_range(ephemeral->lo, ephemeral->hi);
  filter_ = parse_stream_filter(opts_, opts_.filter_words, opts_.filter_file);
  if (opts_.command == Command::live) {
    writer_ = opts_.json ? output::make_json_event_writer(stdout, clock_)
                         : output::make_text_event_writer(stdout, clock_, output::EventFormat{});
    write_events_ = !opts_.quiet;
  }
  LiveSetup setup{opts_, 0, writer_.get(), clock_, nullptr, ephemeral};
  setup.replay = &table_;
  views_ = make_views_(setup);
}

int Replay::run() {
  auto in = sys::LineReader::open(opts_.replay_file);
  if (!in) throw FatalError("--replay: " + in.error().str());
  setup();
  read(*in);
  finish();
  report();
  if (used_ == 0)
    throw FatalError("--replay: " + opts_.replay_file +
                     ": no sstrace event in it (is it what 'sstrace --json' wrote?)");
  return 0;
}

void Replay::read(sys::LineReader& in) {
  std::string line;
  bool complete = true;
  uint64_t number = 0;
  while (!stop_ && !g_stop && !pipe_closed_ && in.next(line, complete)) {
    read_line(line, complete, ++number);
    for (const auto& v : views_)
      if (v->wants_stop()) stop_ = true;
  }
  if (in.error())
    throw FatalError("--replay: cannot read " + opts_.replay_file + ": " +
                     std::strerror(in.error()));
}

void Replay::read_line(const std::string& line, bool complete, uint64_t number) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return;  // blank: nothing lost
  replay::ParsedLine p = replay::parse_event_line(line);
  switch (p.verdict) {
    case replay::Verdict::bad:
      // The last line of a file cut while it was written.
      bad_.add(number, complete ? p.why : "cut short: no newline at the end of the file");
      return;
    case replay::Verdict::view_output:
      ++view_lines_;
      return;
    case replay::Verdict::event:
      break;
  }
  ++used_;
  pending_line_ = line;
  take(p.recorded);
}

// A recording of several runs (a service restarted): a snapshot after an
// exit starts a new run, whose dump is the truth. The views let go of the
// old run's connections (an inferred CLOSE each, shown to them only: the
// file has no such line) and take the new dump's.
void Replay::start_run_if_new(const model::Event& e) {
  if (!run_over_ || (e.type != model::EventType::snapshot && e.type != model::EventType::sync))
    return;
  run_over_ = false;
  synced_ = false;
  next_tick_ns_ = 0;
  table_.emit_table(e.ts_ns, [this, &e](const model::Event& t) {
    if (t.type != model::EventType::table) return;
    model::Connection gone = *t.conn;
    gone.state = diag::kClose;
    model::Event end;
    end.type = model::EventType::state;
    end.ts_ns = e.ts_ns;
    end.conn = &gone;
    end.old_state = t.conn->state;
    end.new_state = diag::kClose;
    end.inferred = true;
    show_views(end);
  });
  table_.clear();
}

void Replay::take(replay::RecordedEvent& r) {
  model::Event& e = r.event;
  using model::EventType;
  start_run_if_new(e);
  // A file that starts within a run (a rotated log) has no sync: its
  // first interval starts at its first event after the snapshots.
  if (!synced_ && e.type != EventType::snapshot && e.type != EventType::sync) {
    model::Event sync;
    sync.type = EventType::sync;
    sync.ts_ns = e.ts_ns;
    show_views(sync);
    start_intervals(e.ts_ns);
  }
  if (deadline_ns_ && e.ts_ns >= deadline_ns_) {
    // --duration on the events' time: the run ends where a live one
    // started then would have stopped.
    tick_until(deadline_ns_);
    last_ts_ = deadline_ns_;
    stop_ = true;
    return;
  }
  tick_until(e.ts_ns);
  last_ts_ = std::max(last_ts_, e.ts_ns);
  switch (e.type) {
    case EventType::table:
      return;  // the replay writes its own at the table_end
    case EventType::table_end:
      emit_table(e.ts_ns);
      return;
    case EventType::exit:
      missed_rtt_samples_ += e.missed_rtt_samples;
      prefiltered_ += e.prefiltered;
      run_over_ = true;
      return;
    case EventType::lost:
      lost_ += e.count;
      ringbuf_full_ += e.ringbuf_full;
      missed_runs_ += e.missed_runs;
      break;
    default:
      break;
  }
  table_.apply(r);
  if (stream_filter_.shows(e)) write(e);
  if (e.type == EventType::sync) start_intervals(e.ts_ns);
}

void Replay::start_intervals(uint64_t ts) {
  synced_ = true;
  next_tick_ns_ = ts + interval_ns_;
  if (opts_.duration_s > 0) deadline_ns_ = ts + uint64_t(opts_.duration_s * 1e9);
}

// The views close the intervals that ended before ts, each at its end, as
// the live loop's tick would have.
void Replay::tick_until(uint64_t ts) {
  while (next_tick_ns_ && ts >= next_tick_ns_) {
    for (auto& v : views_) v->on_tick(next_tick_ns_);
    next_tick_ns_ += interval_ns_;
  }
}

void Replay::show_views(const model::Event& e) {
  for (auto& v : views_) v->on_event(e);
}

// To the views, then (unless --quiet) to the output: with --json the line
// as it was recorded (every field kept, the schema's own), in text the
// event as the live stream prints it.
void Replay::write(const model::Event& e) {
  show_views(e);
  if (!write_events_) return;
  const bool recorded = e.type != model::EventType::table && e.type != model::EventType::table_end;
  if (opts_.json && recorded)
    writer_->write_text(pending_line_ + "\n");
  else
    writer_->write(e);
  if (++events_ % kFlushEvery == 0) flush();
}

// The replay's own table at the moment the recording wrote one: what its
// table says then, to compare with what the live model said.
void Replay::emit_table(uint64_t ts) {
  table_.emit_table(ts, [this](const model::Event& e) {
    if (stream_filter_.shows(e)) write(e);
  });
}

void Replay::flush() {
  if (!writer_ || pipe_closed_) return;
  if (writer_->flush()) return;
  const int err = writer_->error();
  if (err != EPIPE)
    throw FatalError("cannot write events to " + describe_output(opts_) + ": " +
                     std::strerror(err) + "; the output ends at its last whole line");
  pipe_closed_ = true;
}

void Replay::finish() {
  if (!synced_ && used_) {
    // Snapshots only: the views still count what was there.
    model::Event sync;
    sync.type = model::EventType::sync;
    sync.ts_ns = last_ts_;
    show_views(sync);
  }
  for (auto& v : views_) v->on_stop(last_ts_);
  if (!write_events_ || pipe_closed_ || used_ == 0) {
    flush();
    return;
  }
  model::Event e;
  e.type = model::EventType::exit;
  e.ts_ns = last_ts_;
  e.count = events_ + 1;
  e.lost_total = lost_;
  e.missed_rtt_samples = missed_rtt_samples_;
  e.prefiltered = prefiltered_;
  writer_->write(e);
  flush();
}

// On stderr, after the output: what was not replayed, and (with no exit
// event to carry it) what the recording lost.
void Replay::report() const {
  if (bad_.count())
    std::fprintf(stderr, "sstrace: --replay %s: %s\n", opts_.replay_file.c_str(),
                 bad_.report().c_str());
  if (view_lines_)
    std::fprintf(stderr,
                 "sstrace: --replay %s: %llu summary and top lines skipped: the replay computes "
                 "its own from the events\n",
                 opts_.replay_file.c_str(), (unsigned long long)view_lines_);
  if (lost_ && !write_events_)
    std::fprintf(stderr,
                 "sstrace: --replay %s: the recording lost %llu kernel records (%llu ring buffer "
                 "full, %llu missed runs)\n",
                 opts_.replay_file.c_str(), (unsigned long long)lost_,
                 (unsigned long long)ringbuf_full_, (unsigned long long)missed_runs_);
}

}  // namespace

int run_replay(const Options& opts, MakeViews make_views) {
  Replay replay(opts, std::move(make_views));
  return replay.run();
}

}  // namespace sstrace::cli
