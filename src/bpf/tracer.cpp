#include "bpf/tracer.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "bpf/libbpf_log.h"
#include "sstrace.skel.h"

namespace sstrace::bpf {

static_assert(sizeof(sstrace_sock_id) == 56, "ABI: sstrace_sock_id");
static_assert(offsetof(sstrace_sock_id, flags) == 18, "ABI: sstrace_sock_id.flags");
static_assert(sizeof(sstrace_owner) == 24, "ABI: sstrace_owner");
static_assert(sizeof(sstrace_summary) == 48, "ABI: sstrace_summary");
static_assert(sizeof(sstrace_record) == 8 + 8 + 56 + 24 + 64, "ABI: sstrace_record");

namespace {

// Where the programs hook in, and what a user misses when one is absent.
struct Hook {
  const char* program;
  const char* btf_typedef;    // "btf_trace_<tp>" for tp_btf programs, null for classic
  const char* tracefs_event;  // "syscalls/sys_exit_accept4" for classic ones
  const char* missing;
  bool required;
};

const Hook kHooks[] = {
    {"handle_inet_sock_set_state", "btf_trace_inet_sock_set_state", nullptr,
     "all state, close and TIME-WAIT events", true},
    // After the first, so that it runs after it (tracepoint probes of one
    // priority run in the order they were attached).
    {"rescue_inet_sock_set_state", "btf_trace_inet_sock_set_state", nullptr,
     "state changes that interrupt another on its CPU (counted as lost)", false},
    {"handle_tcp_probe", "btf_trace_tcp_probe", nullptr, "rtt events and RTT in close summaries",
     false},
    {"handle_tcp_retransmit_skb", "btf_trace_tcp_retransmit_skb", nullptr, "retransmit events",
     false},
    {"handle_tcp_retransmit_synack", "btf_trace_tcp_retransmit_synack", nullptr,
     "retransmit events for SYN-ACKs", false},
    {"handle_tcp_send_reset", "btf_trace_tcp_send_reset", nullptr, "reset events (sent)", false},
    {"handle_tcp_receive_reset", "btf_trace_tcp_receive_reset", nullptr, "reset events (received)",
     false},
    {"handle_sys_enter_connect", nullptr, "syscalls/sys_enter_connect",
     "owners and local ports learned at connect()", false},
    {"handle_sys_exit_connect", nullptr, "syscalls/sys_exit_connect",
     "owners and local ports learned at connect()", false},
    {"handle_sys_exit_accept4", nullptr, "syscalls/sys_exit_accept4", "owners learned at accept4()",
     false},
    {"handle_sys_exit_accept", nullptr, "syscalls/sys_exit_accept", "owners learned at accept()",
     false},
};

constexpr const char* kTracefs = "/sys/kernel/tracing";

// Why a classic tracepoint cannot be used, empty when it can. stat(), not
// access(): access() judges by the real uid without capabilities, so a user
// with CAP_DAC_READ_SEARCH, who can open the file, was told the kernel
// lacked the tracepoint.
std::string tracefs_event_problem(const char* event) {
  const std::string path = std::string(kTracefs) + "/events/" + event + "/id";
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) return "";
  if (errno == ENOENT) return "the kernel has no such tracepoint (CONFIG_FTRACE_SYSCALLS?)";
  return sys_error("cannot read " + path).str();
}

void copy_ranges(const std::vector<PortRange>& in, sstrace_port_range* out, __u32* n) {
  *n = 0;
  for (const auto& r : in) {
    if (*n == SSTRACE_MAX_PORT_RANGES) {
      *n = 0;  // too many ranges to push down: the full filter alone decides
      return;
    }
    out[*n] = {r.lo, r.hi};
    ++*n;
  }
}

}  // namespace

struct Tracer::Impl {
  sstrace_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  std::vector<bpf_link*> links;
  int ncpus = 1;

  bool mounted_tracefs = false;  // we mounted it: we unmount it

  ~Impl() {
    if (rb) ring_buffer__free(rb);
    for (auto* l : links) bpf_link__destroy(l);
    if (skel) sstrace_bpf__destroy(skel);
    unmount_tracefs();  // a start that failed before attaching
  }

  // Leave the host as we found it, and before the privileges go (a run
  // that drops CAP_SYS_ADMIN could not unmount it at exit). Not
  // MNT_DETACH: if something else started using it meanwhile (EBUSY), it
  // stays.
  void unmount_tracefs() {
    if (mounted_tracefs) umount(kTracefs);
    mounted_tracefs = false;
  }
};

std::string reset_reason_name(std::string_view enumerator) {
  constexpr std::string_view kPrefix = "SK_RST_REASON_";
  if (enumerator.starts_with(kPrefix)) enumerator.remove_prefix(kPrefix.size());
  std::string name(enumerator);
  for (char& ch : name)
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
  return name;
}

namespace {

// Read from the kernel's own BTF rather than copied from
// include/net/rstreason.h: the enum grows (and its drop-reason-derived part
// moves) from one kernel to the next.
std::vector<std::string> read_reset_reason_names(const btf* vmlinux) {
  std::vector<std::string> names;
  int id = btf__find_by_name_kind(vmlinux, "sk_rst_reason", BTF_KIND_ENUM);
  if (id < 0) return names;
  const btf_type* t = btf__type_by_id(vmlinux, id);
  const struct btf_enum* e = btf_enum(t);
  for (int i = 0; i < btf_vlen(t); ++i) {
    if (e[i].val < 0 || e[i].val > 255) continue;  // bounded: a table index
    if (size_t(e[i].val) >= names.size()) names.resize(size_t(e[i].val) + 1, "unknown");
    names[size_t(e[i].val)] = reset_reason_name(btf__name_by_offset(vmlinux, e[i].name_off));
  }
  return names;
}

}  // namespace

Result<bool> ensure_tracefs() {
  struct stat st {};
  const std::string events = std::string(kTracefs) + "/events";
  if (stat(events.c_str(), &st) == 0) return false;
  // Mounted but unreadable (EACCES under a restricted user, say) is not the
  // same problem as "not mounted": say which.
  if (errno != ENOENT) return sys_error("tracefs is mounted but " + events + " cannot be read");
  if (mount("nodev", kTracefs, "tracefs", 0, nullptr) != 0)
    return sys_error(std::string("tracefs is not mounted and mounting it on ") + kTracefs +
                     " failed");
  return true;
}

namespace {

int on_ring_record(void* ctx, void* data, size_t size) {
  if (size < sizeof(sstrace_record)) return 0;  // cannot happen: one record type, fixed size
  auto* handler = static_cast<RecordHandler*>(ctx);
  (*handler)(*static_cast<const sstrace_record*>(data));
  return 0;
}

}  // namespace

Result<std::unique_ptr<Tracer>> Tracer::start(const TracerConfig& cfg, RecordHandler handler) {
  // Without -v, failures reach the user as our own one-line errors and
  // Degradation notes; libbpf's multi-line log is for debugging.
  set_libbpf_log(cfg.verbose);

  std::unique_ptr<Tracer> t(new Tracer());
  t->impl_ = std::make_unique<Impl>();
  t->handler_ = std::move(handler);
  Impl& im = *t->impl_;

  LIBBPF_OPTS(bpf_object_open_opts, open_opts);
  if (!cfg.btf_path.empty()) open_opts.btf_custom_path = cfg.btf_path.c_str();
  im.skel = sstrace_bpf__open_opts(&open_opts);
  if (!im.skel) return sys_error("failed to open the BPF object");

  auto* ro = im.skel->rodata;
  ro->cfg_netns = cfg.netns;
  ro->cfg_family = cfg.family;
  copy_ranges(cfg.lports, ro->cfg_lports, &ro->cfg_n_lports);
  copy_ranges(cfg.rports, ro->cfg_rports, &ro->cfg_n_rports);
  ro->cfg_rtt_enabled = cfg.rtt;
  ro->cfg_rtt_min_change_us = cfg.rtt_min_change_us;
  ro->cfg_rtt_min_change_pct = cfg.rtt_min_change_pct;
  ro->cfg_rtt_interval_ns = cfg.rtt_interval_ns;
  ro->cfg_wakeup_bytes = cfg.wakeup_bytes;
  if (int err = bpf_map__set_max_entries(im.skel->maps.events, cfg.ringbuf_bytes))
    return Error{"failed to size the ring buffer", -err};

  // Feature probe: switch off what this kernel cannot take, before load, so
  // that one missing tracepoint does not cost the others.
  btf* vmlinux =
      cfg.btf_path.empty() ? btf__load_vmlinux_btf() : btf__parse(cfg.btf_path.c_str(), nullptr);
  if (!vmlinux) {
    return Error{
        "this kernel has no BTF (/sys/kernel/btf/vmlinux): sstrace needs CONFIG_DEBUG_INFO_BTF=y",
        errno};
  }
  Result<bool> tracefs = ensure_tracefs();
  const bool tracefs_ok = tracefs.ok();
  const std::string tracefs_problem = tracefs_ok ? "" : tracefs.error().str();
  im.mounted_tracefs = tracefs_ok && *tracefs;
  for (const Hook& h : kHooks) {
    bpf_program* prog = bpf_object__find_program_by_name(im.skel->obj, h.program);
    if (!prog) continue;
    std::string why;
    if (h.btf_typedef && btf__find_by_name_kind(vmlinux, h.btf_typedef, BTF_KIND_TYPEDEF) < 0)
      why = "the kernel has no such tracepoint";
    if (h.tracefs_event && !tracefs_ok) why = tracefs_problem;
    if (h.tracefs_event && tracefs_ok && why.empty()) why = tracefs_event_problem(h.tracefs_event);
    if (why.empty()) continue;
    if (h.required) {
      btf__free(vmlinux);
      return Error{std::string("cannot trace TCP state changes: ") + h.program + ": " + why};
    }
    bpf_program__set_autoload(prog, false);
    t->degradations_.push_back({h.program, h.missing, why});
  }
  t->reset_reason_names_ = read_reset_reason_names(vmlinux);
  btf__free(vmlinux);

  if (int err = sstrace_bpf__load(im.skel)) {
    int e = -err;
    // Every map and program is a descriptor: the verifier is not to blame.
    if (e == EMFILE || e == ENFILE)
      return Error{"failed to load the BPF programs: out of file descriptors (raise ulimit -n)", e};
    if (e == EPERM || e == EACCES)
      return Error{"failed to load the BPF programs (run as root or with CAP_BPF and CAP_PERFMON)",
                   e};
    if (!cfg.btf_path.empty())
      return Error{
          "failed to load the BPF programs with --btf (tp_btf programs also need the "
          "kernel's own BTF, CONFIG_DEBUG_INFO_BTF; run with -v for libbpf's log)",
          e};
    return Error{"failed to load the BPF programs (run with -v for the verifier's log)", e};
  }

  // Attach one by one: a program that loads but will not attach is a
  // degradation, not a failure (unless it is the state tracepoint).
  for (const Hook& h : kHooks) {
    bpf_program* prog = bpf_object__find_program_by_name(im.skel->obj, h.program);
    if (!prog || !bpf_program__autoload(prog)) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (!link) {
      int e = errno;
      if (h.required) return Error{std::string("failed to attach ") + h.program, e};
      t->degradations_.push_back(
          {h.program, h.missing, std::string("attach failed: ") + std::strerror(e)});
      continue;
    }
    im.links.push_back(link);
  }
  im.unmount_tracefs();

  im.rb =
      ring_buffer__new(bpf_map__fd(im.skel->maps.events), on_ring_record, &t->handler_, nullptr);
  if (!im.rb) return sys_error("failed to set up the ring buffer reader");
  im.ncpus = libbpf_num_possible_cpus();
  if (im.ncpus <= 0) im.ncpus = 1;
  return t;
}

Tracer::~Tracer() = default;

Result<int> Tracer::poll(int timeout_ms) {
  // Records are submitted without a wake-up until enough are pending (see
  // cfg_wakeup_bytes), so a quiet poll times out with records waiting:
  // consume after every poll, whatever it returned.
  int n = ring_buffer__poll(impl_->rb, timeout_ms);
  if (n < 0 && n != -EINTR) return Error{"failed to read the ring buffer", -n};
  return drain();
}

Result<int> Tracer::drain() {
  int n = ring_buffer__consume(impl_->rb);
  if (n < 0 && n != -EINTR) return Error{"failed to read the ring buffer", -n};
  return n < 0 ? 0 : n;
}

int Tracer::ring_fd() const { return ring_buffer__epoll_fd(impl_->rb); }

namespace {

uint64_t recursion_misses(const bpf_program* prog) {
  int fd = bpf_program__fd(prog);
  if (fd < 0) return 0;  // not loaded (switched off on this kernel)
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.recursion_misses : 0;
}

}  // namespace

uint64_t Tracer::missed_rtt_samples() const {
  return recursion_misses(impl_->skel->progs.handle_tcp_probe);
}

uint64_t Tracer::missed_runs() const {
  // Rescues first: each follows a miss of the first program, so the misses
  // read after them are never fewer.
  const uint64_t rescued = stat(SSTRACE_STAT_RESCUED);
  const auto& progs = impl_->skel->progs;
  uint64_t sum = 0;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, impl_->skel->obj) {
    // rtt samples are not records; the second state program's misses are
    // changes the first handled (or counted as missed itself).
    if (prog == progs.handle_tcp_probe || prog == progs.rescue_inet_sock_set_state) continue;
    uint64_t misses = recursion_misses(prog);
    if (prog == progs.handle_inet_sock_set_state) misses -= std::min(misses, rescued);
    sum += misses;
  }
  return sum;
}

uint64_t Tracer::rescued_runs() const { return stat(SSTRACE_STAT_RESCUED); }

uint64_t Tracer::stat(sstrace_stat which) const {
  std::vector<uint64_t> per_cpu(static_cast<size_t>(impl_->ncpus));
  uint32_t key = which;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.stats), &key, per_cpu.data()) != 0)
    return 0;
  uint64_t sum = 0;
  for (uint64_t v : per_cpu) sum += v;
  return sum;
}

}  // namespace sstrace::bpf
