// The live stream (PRODUCT.md part 2). Start order, which makes seeding
// race-free: attach the programs, then dump, holding every record that
// arrives meanwhile; seed the table from the dump; emit sync; replay the held
// records the dump did not show; stream.
#include "cli/live_cmd.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "alerts/close_wait_timers.h"
#include "alerts/listener_drops.h"
#include "alerts/port_pressure.h"
#include "bpf/btf_file.h"
#include "bpf/owner_iter.h"
#include "bpf/record_queue.h"
#include "bpf/ring_reader.h"
#include "bpf/tracer.h"
#include "cli/live_view.h"
#include "cli/output_option.h"
#include "cli/privileges.h"
#include "cli/stream_filter.h"
#include "common/result.h"
#include "diag/sock_diag.h"
#include "filter/filter.h"
#include "metrics/endpoint.h"
#include "model/connection_table.h"
#include "model/loss_resync.h"
#include "model/seeder.h"
#include "output/event_writer.h"
#include "sys/clock.h"
#include "sys/netns.h"
#include "sys/netns_all.h"
#include "sys/output_file.h"
#include "sys/port_range.h"
#include "sys/priority.h"
#include "sys/procfs.h"
#include "sys/stdio_guard.h"

namespace sstrace::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_dump_table{false};
std::atomic<bool> g_reopen_output{false};

extern "C" void on_stop_signal(int) { g_stop = true; }
extern "C" void on_usr1(int) { g_dump_table = true; }
extern "C" void on_hup(int) { g_reopen_output = true; }

void install_signal_handlers(bool have_output_file) {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: a signal landing while a write to a full pipe blocks must
  // not fail that write with EINTR (we would take it for a closed stdout
  // and never write the exit line). The ring buffer's epoll_wait is never
  // restarted (signal(7)), so the loop still sees the flags at once.
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, nullptr);
  // A closed stdout is a clean stop (CONTRACT.md): see it as EPIPE.
  signal(SIGPIPE, SIG_IGN);
  // SIGHUP is logrotate's "reopen your file": with --output, reopen it;
  // with no file of our own it must not stop a service. A terminal that
  // really hung up is seen on stdout (POLLHUP, EIO).
  if (have_output_file) {
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, nullptr);
  } else {
    signal(SIGHUP, SIG_IGN);
  }
}

constexpr uint32_t kAllTcpStates = ((1u << diag::kMaxState) - 1) & ~1u;
// Request minisockets: TCP_NEW_SYN_RECV in the kernel, SYN-RECV in a dump.
constexpr uint32_t kRequestStates = (1u << diag::kSynRecv) | (1u << diag::kNewSynRecv);
// While the table holds request minisockets, how often a SYN-RECV dump
// looks for their end (an expiry, a drop, a reset: no tracepoint fires) and
// for requests no SYN-ACK retransmission told of yet. A request lives 1 s
// before its first SYN-ACK retransmission and 31 s or more in all
// (tcp_synack_retries 5): a second keeps the table within one turn of it.
constexpr uint64_t kRequestCheckNs = 1'000'000'000;
constexpr int kPollMs = 50;  // a person notices 100 ms, not 50
constexpr uint64_t kMinisocketSweepNs = 250'000'000;
constexpr uint64_t kClockRefreshNs = 1'000'000'000;
constexpr uint64_t kReaderCheckNs = 100'000'000;  // a closed pipe ends us within 0.15 s
// The loss counters cost a dozen system calls (each program's info, a
// per-CPU map): under churn the loop turns thousands of times a second, so
// they are read every 10 ms, which still places a `lost` event among the
// records around it.
constexpr uint64_t kLostCheckNs = 10'000'000;
// --all-netns: how often the listener check looks for new namespaces (a
// walk of /proc). A listener found late loses nothing: one born since the
// start counts every drop it ever had (alerts::ListenerDrops).
constexpr uint64_t kNetnsRescanNs = 10'000'000'000;

size_t queue_cap_bytes();

class LiveStream {
 public:
  LiveStream(const Options& opts, MakeViews make_views)
      : opts_(opts),
        make_views_(std::move(make_views)),
        close_wait_(uint64_t(opts.close_wait_alert_s * 1e9)) {}
  int run();

 private:
  void check_privileges_and_btf();
  void open_metrics_endpoint();
  void setup_namespace();
  void setup_filter();
  void start_tracer();
  void start_reader();
  void take_records();
  void catch_up();
  void push_prefilter(bpf::TracerConfig& cfg) const;
  void seed(const sys::SocketOwners& owners);
  void open_diags();
  diag::SockDiag* diag_for(uint32_t netns);
  diag::DumpRequest seed_request() const;
  void stream();
  void on_record(const sstrace_record& r);
  void on_event(const model::Event& e);
  void check_lost();
  void check_listeners(uint64_t now);
  void check_close_wait(uint64_t now);
  void emit_alert(model::Event& e);
  void sweep_minisockets(uint64_t now, bool all);
  // Which sockets a resync dump covers: all, or the request minisockets.
  enum class ResyncScope { all, requests };
  size_t resync(uint64_t now, ResyncScope scope = ResyncScope::all);
  void resync_after_loss(uint64_t now);
  void emit_simple(model::EventType type, uint64_t count);
  void write(const model::Event& e);
  bool flush();
  void reopen_output_if_asked();
  void tick_views(uint64_t now);
  bool views_want_stop() const;
  bool views_want_table();
  void finish(uint64_t now);
  void report_lost_on_stderr() const;

  const Options& opts_;
  MakeViews make_views_;
  std::optional<sys::OutputFile> output_file_;           // --output, on stdout's fd
  std::unique_ptr<metrics::Endpoint> metrics_endpoint_;  // --metrics
  std::vector<std::unique_ptr<LiveView>> views_;
  // Whether events are written: not with --quiet, and never by top.
  bool write_events_ = false;
  uint32_t netns_ = 0;
  filter::Filter filter_;
  sys::WallClock clock_;
  std::unique_ptr<output::EventWriter> writer_;
  model::ConnectionTable table_{[this](const model::Event& e) { on_event(e); }};
  model::Seeder seeder_{table_};
  std::unique_ptr<bpf::Tracer> tracer_;
  // After seeding, a thread of its own empties the ring into queue_ and
  // the loop takes records from there (bench/hotspots.md, item 14). Before
  // it starts, records go straight to on_record(). Declared after tracer_:
  // the reader stops before the tracer goes.
  std::unique_ptr<bpf::RecordQueue> queue_;
  std::unique_ptr<bpf::RingReader> reader_;
  // One NETLINK_SOCK_DIAG socket per namespace we follow (a netlink socket
  // answers for the namespace it was opened in).
  std::unordered_map<uint32_t, diag::SockDiag> diags_;
  bool synced_ = false;
  // --resync and after lost records: sockets a record touched while the
  // resync dump ran.
  bool resyncing_ = false;
  model::LossResync loss_resync_;
  std::unordered_map<model::SockKey, bool, model::SockKeyHash> touched_;
  uint64_t lost_reported_ = 0;
  uint64_t ringbuf_full_reported_ = 0;
  uint64_t missed_runs_reported_ = 0;
  uint64_t queue_full_reported_ = 0;
  size_t queue_cap_ = 0;
  uint64_t events_ = 0;
  bool pipe_closed_ = false;
  StreamFilter stream_filter_{filter_};  // filter_, as the stream applies it
  // Alerts (CONTRACT.md, "Why it churns"): fed every model event, before
  // the stream filter, as the table sees them.
  alerts::CloseWaitTimers close_wait_;
  std::optional<alerts::PortPressure> port_pressure_;  // once the range is read
  alerts::ListenerDrops listener_drops_;
  uint64_t next_netns_scan_ns_ = 0;
};

// First of all: a missing privilege or a bad --btf file ends the run
// before anything is opened. The mount namespace --btf needs is made here,
// before the metrics endpoint starts its threads.
void LiveStream::check_privileges_and_btf() {
  if (!opts_.btf_file.empty())
    if (auto r = bpf::check_btf_file(opts_.btf_file, opts_.verbose); !r)
      throw UsageError(r.error().str());
  check_start_privileges(opts_);
  if (opts_.btf_file.empty()) return;
  if (auto r = bpf::provide_kernel_btf(opts_.btf_file); !r)
    throw FatalError("--btf: " + r.error().str());
}

// Before -N: the endpoint listens in the namespace sstrace was started in
// (setns() moves only this thread; the listening socket and the server's
// threads stay where they were made). A port in use ends the run here,
// before anything is attached.
void LiveStream::open_metrics_endpoint() {
  if (opts_.metrics_addr.empty()) return;
  metrics_endpoint_ = metrics::Endpoint::open(opts_.metrics_addr);
}

void LiveStream::setup_namespace() {
  if (opts_.all_netns) {
    if (!opts_.netns.empty()) throw UsageError("-N and --all-netns cannot be combined");
    netns_ = 0;  // the programs report every namespace
    return;
  }
  if (!opts_.netns.empty()) {
    if (auto r = sys::enter_netns(opts_.netns); !r) throw FatalError(r.error().str());
  }
  auto ino = sys::current_netns_inode();
  if (!ino) throw FatalError(ino.error().str());
  netns_ = *ino;
}

void LiveStream::setup_filter() {
  filter_ = parse_stream_filter(opts_, opts_.filter_words, opts_.filter_file);
}

// The cheap part of the filter goes into the kernel, so filtered-out
// traffic costs a few instructions and no ring-buffer space.
void LiveStream::push_prefilter(bpf::TracerConfig& cfg) const {
  std::optional<filter::Prefilter> pf = filter_.prefilter();
  if (!pf) return;
  pf->coarsen(SSTRACE_MAX_PORT_RANGES);
  if (pf->ipv4 && !pf->ipv6) cfg.family = AF_INET;
  if (pf->ipv6 && !pf->ipv4) cfg.family = AF_INET6;
  if (!pf->any_lport())
    for (auto [lo, hi] : pf->lport_ranges) cfg.lports.push_back({lo, hi});
  if (!pf->any_rport())
    for (auto [lo, hi] : pf->rport_ranges) cfg.rports.push_back({lo, hi});
}

void LiveStream::start_tracer() {
  bpf::TracerConfig cfg;
  cfg.netns = netns_;
  if (opts_.ipv4 && !opts_.ipv6) cfg.family = AF_INET;
  if (opts_.ipv6 && !opts_.ipv4) cfg.family = AF_INET6;
  push_prefilter(cfg);
  cfg.rtt_min_change_us = opts_.rtt_min_change_us;
  cfg.rtt_min_change_pct = opts_.rtt_min_change_pct;
  cfg.rtt_interval_ns = uint64_t(opts_.rtt_interval_ms) * 1'000'000;
  cfg.ringbuf_bytes = opts_.ringbuf_kib * 1024;
  cfg.verbose = opts_.verbose;
  cfg.btf_path = opts_.btf_file;
  auto t = bpf::Tracer::start(cfg, [this](const sstrace_record& r) {
    if (queue_)
      queue_->push(r);
    else
      on_record(r);
  });
  if (!t) throw FatalError(t.error().str());
  tracer_ = std::move(*t);
  table_.set_reset_reason_names(tracer_->reset_reason_names());
  for (const auto& d : tracer_->degradations())
    std::fprintf(stderr, "sstrace: warning: %s unavailable (%s): no %s\n", d.program.c_str(),
                 d.reason.c_str(), d.missing.c_str());
}

void LiveStream::on_record(const sstrace_record& r) {
  if (!synced_) {
    seeder_.hold(r);
    return;
  }
  if (resyncing_) touched_.emplace(model::SockKey{r.id.netns, r.id.cookie}, true);
  table_.apply(r);
}

void LiveStream::on_event(const model::Event& e) {
  close_wait_.observe(e);
  std::optional<model::Alert> pressure = port_pressure_ ? port_pressure_->observe(e) : std::nullopt;
  if (stream_filter_.shows(e)) write(e);
  if (!pressure) return;
  model::Event a;
  a.type = model::EventType::alert;
  a.ts_ns = e.ts_ns;
  a.alert = *pressure;
  emit_alert(a);
}

// Through the stream filter as any event about its connection; a
// port_pressure alert is about a destination, and always shown.
void LiveStream::emit_alert(model::Event& e) {
  if (stream_filter_.shows(e)) write(e);
}

// To the views, then (unless --quiet) to the stream.
void LiveStream::write(const model::Event& e) {
  for (auto& v : views_) v->on_event(e);
  if (!write_events_) return;
  writer_->write(e);
  ++events_;
}

void LiveStream::emit_simple(model::EventType type, uint64_t count) {
  model::Event e;
  e.type = type;
  e.ts_ns = sys::monotonic_now_ns();
  e.count = count;
  write(e);
}

void LiveStream::tick_views(uint64_t now) {
  for (auto& v : views_) v->on_tick(now);
}

bool LiveStream::views_want_stop() const {
  for (const auto& v : views_)
    if (v->wants_stop()) return true;
  return false;
}

bool LiveStream::views_want_table() {
  bool want = false;
  for (auto& v : views_) want |= v->take_table_request();
  return want;
}

bool LiveStream::flush() {
  if (!writer_) return true;
  if (pipe_closed_ || writer_->flush()) return !pipe_closed_;
  const int err = writer_->error();
  if (err != EPIPE)
    throw FatalError("cannot write events to " + describe_output(opts_) + ": " +
                     std::strerror(err) + "; the output ends at its last whole line");
  pipe_closed_ = true;
  return false;
}

diag::DumpRequest LiveStream::seed_request() const {
  diag::DumpRequest req;
  req.tcp = true;
  req.states = kAllTcpStates;
  req.want_info = true;
  req.want_skmem = opts_.memory;
  if (opts_.ipv4 && !opts_.ipv6) req.ipv6 = false;
  if (opts_.ipv6 && !opts_.ipv4) req.ipv4 = false;
  return req;
}

// Opens a diag socket in our namespace, or (--all-netns) in every namespace
// on the host not opened yet.
void LiveStream::open_diags() {
  if (!opts_.all_netns) {
    if (diags_.count(netns_)) return;
    auto d = diag::SockDiag::open();
    if (!d)
      throw FatalError(d.error().str() +
                       " (NETLINK_SOCK_DIAG: is the inet_diag module available?)");
    diags_.emplace(netns_, std::move(*d));
    return;
  }
  for (sys::NetnsHandle& ns : sys::all_netns()) {
    if (diags_.count(ns.inode)) continue;
    auto scope = sys::NetnsScope::enter_fd(ns.fd.get(), ns.what);
    if (!scope) continue;  // gone or not enterable: its events still flow, unseeded
    auto d = diag::SockDiag::open();
    if (auto r = scope->restore(); !r) throw FatalError(r.error().str());
    if (d) diags_.emplace(ns.inode, std::move(*d));
  }
}

diag::SockDiag* LiveStream::diag_for(uint32_t netns) {
  auto it = diags_.find(netns);
  return it == diags_.end() ? nullptr : &it->second;
}

void LiveStream::seed(const sys::SocketOwners& owners) {
  open_diags();
  diag::DumpRequest req = seed_request();

  uint64_t t0 = sys::monotonic_now_ns();
  uint64_t seeded = 0;
  size_t since_drain = 0;
  for (auto& [ino, d] : diags_) {
    auto r = d.dump(req, [&](const diag::SockInfo& s) {
      uint64_t before = events_;
      table_.seed(s, owners.users(s.inode), sys::monotonic_now_ns());
      seeded += events_ - before;
      // Keep the ring buffer from filling during a long dump.
      if (++since_drain == 4096) {
        since_drain = 0;
        (void)tracer_->drain();
      }
    });
    if (!r) throw FatalError("seeding dump failed: " + r.error().str());
  }
  uint64_t t1 = sys::monotonic_now_ns();
  (void)tracer_->drain();

  emit_simple(model::EventType::sync, seeded);
  synced_ = true;
  seeder_.finish(t0, t1);
  flush();
}

// After every buffered line went to the old file (top's frames are
// flushed as they are made): no line is split between the two files, and
// every later one goes to the new file.
void LiveStream::reopen_output_if_asked() {
  if (!g_reopen_output.exchange(false) || !output_file_) return;
  flush();
  reopen_output_option(*output_file_);
}

void LiveStream::check_lost() {
  uint64_t ringbuf_full = tracer_->stat(SSTRACE_STAT_RINGBUF_DROPS);
  uint64_t missed_runs = tracer_->missed_runs();
  uint64_t queue_full = queue_ ? queue_->dropped() : 0;
  if (ringbuf_full + missed_runs + queue_full <= lost_reported_) return;
  model::Event e;
  e.type = model::EventType::lost;
  e.ts_ns = sys::monotonic_now_ns();
  e.ringbuf_full = ringbuf_full - ringbuf_full_reported_;
  e.missed_runs = missed_runs - missed_runs_reported_;
  e.queue_full = queue_full - queue_full_reported_;
  e.count = e.ringbuf_full + e.missed_runs + e.queue_full;
  write(e);
  loss_resync_.on_loss(e.ts_ns);
  ringbuf_full_reported_ = ringbuf_full;
  missed_runs_reported_ = missed_runs;
  queue_full_reported_ = queue_full;
  lost_reported_ = ringbuf_full + missed_runs + queue_full;
}

// The hand-over point from the reader thread: every record it has queued,
// in the kernel's order, through the same path as before the thread.
void LiveStream::take_records() {
  queue_->consume([this](const sstrace_record& r) { on_record(r); });
}

// "Everything the kernel has sent so far is applied": before a resync dump
// and after it, before a SIGUSR1 table.
void LiveStream::catch_up() {
  if (!reader_) {
    (void)tracer_->drain();
    return;
  }
  if (!reader_->catch_up()) throw FatalError(reader_->failure()->str());
  take_records();
}

// Memory the reader thread may fill while the main thread is behind: about
// 400,000 records, a second and a half of the top churn rate's records
// (bench/hotspots.md, item 14). Only a burst longer than that is lost.
constexpr size_t kQueueCapBytes = size_t(64) << 20;

// SSTRACE_TEST_QUEUE_KIB: a smaller cap, for the test that overflows it
// (tests/e2e/live_queue_test.cpp); not an option a user needs.
size_t queue_cap_bytes() {
  const char* env = std::getenv("SSTRACE_TEST_QUEUE_KIB");
  if (!env) return kQueueCapBytes;
  char* end = nullptr;
  errno = 0;
  const unsigned long long kib = std::strtoull(env, &end, 10);
  if (errno != 0 || end == env || *end != '\0' || kib == 0 || kib > (1ull << 30) || env[0] == '-')
    throw UsageError(
        std::string("SSTRACE_TEST_QUEUE_KIB: not a size in KiB from 1 to 1073741824: ") + env);
  return size_t(kib) << 10;
}

// After the privileges are dropped: the new thread inherits the dropped
// set (capabilities are per thread), and its creator's nice value (run()).
void LiveStream::start_reader() {
  auto wake = sys::Wakeup::create();
  if (!wake) throw FatalError(wake.error().str());
  queue_ = std::make_unique<bpf::RecordQueue>(queue_cap_, std::move(*wake));
  auto r = bpf::RingReader::start(*tracer_, *queue_);
  if (!r) throw FatalError(r.error().str());
  reader_ = std::move(*r);
}

// Every --interval: the listeners' sk_drops (skmem's `d`), against the
// last dump's. A dump of listeners only, without tcp_info: cheap.
void LiveStream::check_listeners(uint64_t now) {
  diag::DumpRequest req;
  req.tcp = true;
  req.states = 1u << diag::kListen;
  req.want_skmem = true;
  if (opts_.ipv4 && !opts_.ipv6) req.ipv6 = false;
  if (opts_.ipv6 && !opts_.ipv4) req.ipv4 = false;
  if (opts_.all_netns && now >= next_netns_scan_ns_) {
    open_diags();
    next_netns_scan_ns_ = now + kNetnsRescanNs;
  }
  listener_drops_.begin_round();
  for (auto& [ino, d] : diags_) {
    auto r = d.dump(req, [&](const diag::SockInfo& s) {
      if (!s.has_skmem || s.skmem_count <= diag::kDrops) return;
      const model::SockKey key{s.netns, s.cookie};
      const model::Connection* c = table_.find(key);
      const uint64_t drops = listener_drops_.observe(key, s.skmem[diag::kDrops], c && !c->seeded);
      if (!drops) return;
      model::Connection unknown;  // a listener the table missed: the dump's view
      if (!c) {
        unknown.key = key;
        unknown.family = s.family;
        unknown.v6only = s.v6only;
        unknown.local = s.local;
        unknown.remote = s.remote;
        unknown.state = s.state;
        unknown.dir = model::Direction::listen;
        c = &unknown;
      }
      model::Event e;
      e.type = model::EventType::alert;
      e.ts_ns = sys::monotonic_now_ns();
      e.conn = c;
      e.alert.kind = model::AlertKind::listen_overflow;
      e.alert.drops = drops;
      emit_alert(e);
    });
    if (!r) {
      // Not ending the round keeps every listener's last count.
      std::fprintf(stderr, "sstrace: warning: listener dump failed: %s\n", r.error().str().c_str());
      return;
    }
  }
  listener_drops_.end_round();
}

void LiveStream::check_close_wait(uint64_t now) {
  for (const alerts::CloseWaitTimers::Due& d : close_wait_.due(now)) {
    const model::Connection* c = table_.find(d.key);
    if (!c || c->state != diag::kCloseWait) continue;
    model::Event e;
    e.type = model::EventType::alert;
    e.ts_ns = now;
    e.conn = c;
    e.alert.kind = model::AlertKind::close_wait;
    e.alert.age_us = int64_t(now - d.since_ns) / 1000;
    emit_alert(e);
  }
}

void LiveStream::sweep_minisockets(uint64_t now, bool all) {
  for (const model::DueMinisocket& c : table_.minisockets_due(all ? UINT64_MAX : now)) {
    diag::SockKey key;
    key.family = c.family;
    key.protocol = IPPROTO_TCP;
    key.local = c.local;
    key.remote = c.remote;
    key.cookie = c.key.cookie;
    diag::SockDiag* d = diag_for(c.key.netns);
    if (!d && opts_.all_netns) {
      open_diags();  // a namespace created after we started
      d = diag_for(c.key.netns);
    }
    if (!d) continue;
    auto found = d->lookup(key, false);
    if (!found) continue;  // a transient netlink error: ask again next sweep
    const std::optional<diag::SockInfo>& s = *found;
    table_.minisocket_checked(c.key, s ? &*s : nullptr, now);
  }
}

// Compares the table with a fresh dump and takes the kernel's view where
// they differ (--resync, and after lost records). A socket that changed while
// the dump ran is left to its records (the dump may show it before or after
// the change). Returns how many sockets it corrected.
size_t LiveStream::resync(uint64_t now, ResyncScope scope) {
  diag::DumpRequest req;
  req.tcp = true;
  req.states = scope == ResyncScope::all ? kAllTcpStates : kRequestStates;
  std::unordered_map<model::SockKey, bool, model::SockKeyHash> seen;
  std::vector<diag::SockInfo> differing;
  catch_up();
  if (opts_.all_netns) open_diags();
  touched_.clear();
  resyncing_ = true;
  for (auto& [ino, d] : diags_) {
    auto r = d.dump(req, [&](const diag::SockInfo& s) {
      seen.emplace(model::SockKey{s.netns, s.cookie}, true);
      if (table_.differs_from(s)) differing.push_back(s);
    });
    if (!r) {
      resyncing_ = false;
      std::fprintf(stderr, "sstrace: warning: resync dump failed: %s\n", r.error().str().c_str());
      return 0;
    }
  }
  catch_up();
  resyncing_ = false;
  size_t corrected = 0;
  for (const diag::SockInfo& s : differing)
    if (!touched_.count({s.netns, s.cookie})) corrected += table_.reconcile_with(s, now);
  for (const auto& [k, v] : touched_) seen.emplace(k, true);
  // A request gone from the dump expired or was dropped: its child, had it
  // completed the handshake, took the cookie over in a record the drain
  // above applied (the kernel reports the child's LISTEN -> SYN-RECV
  // before it replaces the request in the established hash).
  return corrected + (scope == ResyncScope::all ? table_.forget_missing(seen, now)
                                                : table_.forget_missing_requests(seen, now));
}

// After lost records the table may hold connections whose ends it never saw
// (ghosts, forever) or stale states: a resync makes it converge to the
// kernel's without the user asking (model::LossResync says when).
void LiveStream::resync_after_loss(uint64_t now) {
  const size_t corrected = resync(now);
  const uint64_t end = sys::monotonic_now_ns();
  loss_resync_.done(now, end, corrected);
  if (opts_.verbose)
    std::fprintf(stderr, "sstrace: resync after lost records: %zu sockets corrected in %.1f ms\n",
                 corrected, double(end - now) / 1e6);
}

void LiveStream::stream() {
  uint64_t start = sys::monotonic_now_ns();
  uint64_t deadline = opts_.duration_s > 0 ? start + uint64_t(opts_.duration_s * 1e9) : 0;
  uint64_t next_sweep = start + kMinisocketSweepNs;
  uint64_t next_clock = start + kClockRefreshNs;
  uint64_t next_reader_check = start;
  uint64_t next_lost_check = start;
  uint64_t resync_every = uint64_t(opts_.resync_s * 1e9);
  uint64_t next_resync = resync_every ? start + resync_every : 0;
  const uint64_t listen_every = uint64_t(opts_.interval_s * 1e9);
  uint64_t next_listen_check = start + listen_every;
  uint64_t next_request_check = start + kRequestCheckNs;

  while (!g_stop && !pipe_closed_ && !views_want_stop()) {
    uint64_t now = sys::monotonic_now_ns();
    int timeout = kPollMs;
    if (deadline) {
      if (now >= deadline) break;
      timeout = int(std::min<uint64_t>(kPollMs, (deadline - now) / 1'000'000 + 1));
    }
    if (!queue_->wait(timeout)) throw FatalError(sys_error("cannot wait for records").str());
    if (const Error* err = reader_->failure()) throw FatalError(err->str());
    // Before anything else is written: a SIGHUP that interrupted the wait
    // (or arrived while the process was stopped across a rotation) leaves
    // nothing buffered since the last flush, so every record taken from
    // here on goes to the new file.
    reopen_output_if_asked();
    take_records();
    now = sys::monotonic_now_ns();
    if (now >= next_lost_check) {
      check_lost();
      next_lost_check = now + kLostCheckNs;
    }
    const bool sigusr1 = g_dump_table.exchange(false);
    if (views_want_table() || sigusr1) {
      // A table written after a loss is the kernel's, not the ghosts'.
      if (loss_resync_.pending()) resync_after_loss(now);
      catch_up();
      // Exact at the moment it is written: every minisocket is asked about
      // now, whatever its timer says (a FIN, an expiry, a reuse), and the
      // requests are the kernel's (born since the last look, or gone).
      resync(now, ResyncScope::requests);
      next_request_check = now + kRequestCheckNs;
      sweep_minisockets(now, /*all=*/true);
      table_.release_all_held();
      table_.emit_table(now);
    }
    table_.release_held_due(now);
    if (now >= next_sweep) {
      sweep_minisockets(now, /*all=*/false);
      next_sweep = now + kMinisocketSweepNs;
    }
    if (table_.requests() && now >= next_request_check) {
      resync(now, ResyncScope::requests);
      next_request_check = now + kRequestCheckNs;
    }
    if (next_resync && now >= next_resync) {
      // A periodic resync also settles a loss that waits for its own: one
      // dump, not two in a row.
      if (loss_resync_.pending())
        resync_after_loss(now);
      else
        resync(now);
      next_resync = now + resync_every;
    }
    if (loss_resync_.due(now)) resync_after_loss(now);
    if (now >= next_listen_check) {
      check_listeners(now);
      next_listen_check = now + listen_every;
    }
    check_close_wait(now);
    if (now >= next_clock) {
      clock_.refresh();
      next_clock = now + kClockRefreshNs;
    }
    tick_views(now);
    flush();
    // `sstrace | head -1` on a quiet host: no write will fail, so ask.
    if (now >= next_reader_check) {
      if (sys::reader_gone(fileno(stdout))) pipe_closed_ = true;
      next_reader_check = now + kReaderCheckNs;
    }
  }
  // The reader's last pass may be a poll interval old: what came since is
  // still in the ring, drained here into the queue.
  reader_->stop();
  if (auto n = tracer_->drain(); !n) throw FatalError(n.error().str());
  queue_->publish();
  take_records();
  table_.release_all_held();
  check_lost();
}

// Nice levels the stream takes over the processes it watches: enough for the
// reader to get ahead of 16 busy client threads on 2 cores (bench/hotspots.md,
// item 10). The CPU it uses is what the events cost; the boost changes who
// waits when the CPUs are saturated, not how much sstrace consumes.
constexpr int kPriorityBoost = 4;
// The ring-buffer reader thread's, beyond the stream's: it uses a few
// percent of a CPU, but must get it within a fraction of a second or the
// kernel's ring overflows; at the stream's own level it did not under
// top-rate churn (bench/hotspots.md, item 14).
constexpr int kReaderExtraBoost = 6;

int LiveStream::run() {
  queue_cap_ = queue_cap_bytes();
  check_privileges_and_btf();
  output_file_ = open_output_option(opts_);
  install_signal_handlers(output_file_.has_value());
  std::string priority = sys::boost_priority(kPriorityBoost);
  if (opts_.verbose) std::fprintf(stderr, "sstrace: %s\n", priority.c_str());
  open_metrics_endpoint();
  // The filter reads interface names and the ephemeral port range: in the
  // namespace it will be applied to.
  setup_namespace();
  const std::optional<sys::PortRange> ephemeral = sys::read_local_port_range();
  if (ephemeral) {
    table_.set_ephemeral_range(ephemeral->lo, ephemeral->hi);
    port_pressure_.emplace(
        alerts::PortPressureOptions{ephemeral->lo, ephemeral->hi, opts_.port_pressure_pct});
  }
  setup_filter();
  if (opts_.command == Command::live) {
    writer_ = opts_.json ? output::make_json_event_writer(stdout, clock_)
                         : output::make_text_event_writer(stdout, clock_, output::EventFormat{});
    write_events_ = !opts_.quiet;
  }
  // In the followed namespace: views read what belongs to it (the
  // ephemeral port range, sockstat).
  LiveSetup setup{opts_, netns_, writer_.get(), clock_, metrics_endpoint_.get(), ephemeral};
  views_ = make_views_(setup);
  // Owners are listed before attaching, so the ring buffer does not fill
  // meanwhile (the /proc fallback takes seconds on a busy host). Sockets
  // born after it get their owners from connect/accept records.
  sys::SocketOwners owners = bpf::find_socket_owners(netns_, opts_.verbose, opts_.btf_file).owners;
  start_tracer();
  seed(owners);
  // Attached, iterated, seeded: the rest of the run reads fds it holds.
  {
    // Lowering a nice value takes CAP_SYS_NICE, gone after the drop; the
    // reader thread must start after it (it inherits the dropped set). So
    // this thread takes the reader's level across the drop and the thread's
    // creation, and gives it up right after.
    sys::InheritedBoost reader_level(kReaderExtraBoost);
    drop_privileges(opts_);
    start_reader();
    if (opts_.verbose)
      std::fprintf(stderr, "sstrace: reader thread: %s\n", reader_level.description().c_str());
  }
  stream();
  finish(sys::monotonic_now_ns());
  return 0;
}

void LiveStream::finish(uint64_t now) {
  for (auto& v : views_) v->on_stop(now);
  if (opts_.verbose)
    std::fprintf(stderr,
                 "sstrace: %llu state changes interrupted another on their CPU and were "
                 "handled by the second program\n",
                 static_cast<unsigned long long>(tracer_->rescued_runs()));
  if (opts_.verbose)
    std::fprintf(stderr,
                 "sstrace: %llu connections in a closing state ended with no record of it; "
                 "a lookup found them gone (inferred CLOSE)\n",
                 static_cast<unsigned long long>(table_.unseen_ends()));
  if (opts_.verbose && queue_)
    std::fprintf(
        stderr, "sstrace: reader queue: at most %llu records waiting (cap %zu KiB), %llu dropped\n",
        static_cast<unsigned long long>(queue_->high_water()), queue_->cap_bytes() >> 10,
        static_cast<unsigned long long>(queue_->dropped()));
  if (!write_events_) {
    flush();  // -s --quiet: the last summaries
    report_lost_on_stderr();
    return;
  }
  if (pipe_closed_) return;
  model::Event e;
  e.type = model::EventType::exit;
  e.ts_ns = now;
  e.count = events_ + 1;
  e.lost_total = lost_reported_;
  e.missed_rtt_samples = tracer_->missed_rtt_samples();
  e.prefiltered = tracer_->stat(SSTRACE_STAT_FILTERED);
  writer_->write(e);
  flush();
}

// With no event output there is no `exit` event to carry the count, and a
// loss must never go unsaid.
void LiveStream::report_lost_on_stderr() const {
  if (lost_reported_ == 0) return;
  std::fprintf(stderr,
               "sstrace: %llu kernel records lost (%llu ring buffer full, %llu missed runs, %llu "
               "reader queue full)\n",
               (unsigned long long)lost_reported_, (unsigned long long)ringbuf_full_reported_,
               (unsigned long long)missed_runs_reported_, (unsigned long long)queue_full_reported_);
}

}  // namespace

aggregate::AggregatorOptions LiveSetup::aggregator_options(aggregate::GroupBy by) const {
  aggregate::AggregatorOptions o;
  o.by = by;
  o.key_netns = opts.all_netns;
  if (ephemeral) {
    o.ephemeral_lo = ephemeral->lo;
    o.ephemeral_hi = ephemeral->hi;
  }
  return o;
}

int run_live(const Options& opts, MakeViews make_views) {
  LiveStream live(opts, std::move(make_views));
  return live.run();
}

}  // namespace sstrace::cli
