#include "cli/snapshot_cmd.h"

#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "bpf/owner_iter.h"
#include "cli/output_option.h"
#include "cli/proc_overrides.h"
#include "common/result.h"
#include "diag/dump_file.h"
#include "filter/filter.h"
#include "output/summary.h"
#include "sys/netns.h"
#include "sys/proc_env.h"
#include "sys/procfs.h"
#include "sys/stdio_guard.h"

namespace sstrace::cli {

namespace {

using diag::SockKind;

constexpr uint32_t kind_bit(SockKind k) { return 1u << static_cast<unsigned>(k); }
constexpr uint32_t kUnixKinds = kind_bit(SockKind::unix_stream) | kind_bit(SockKind::unix_dgram) |
                                kind_bit(SockKind::unix_seqpacket);
constexpr uint32_t kPacketKinds = kind_bit(SockKind::packet_raw) | kind_bit(SockKind::packet_dgram);

bool several(uint32_t mask) { return (mask & (mask - 1)) != 0; }

// What to tell the user beside the system's words.
std::string hint_for(int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return " (run sstrace as root, or with CAP_NET_ADMIN and CAP_SYS_ADMIN)";
    case ENOENT:
    case EOPNOTSUPP:
      return " (is the kernel's sock_diag support loaded? try: modprobe -a inet_diag tcp_diag "
             "udp_diag raw_diag unix_diag packet_diag)";
    default:
      return "";
  }
}

[[noreturn]] void fatal(const Error& e) { throw FatalError(e.str() + hint_for(e.err)); }

void enter_namespace(const std::string& name) {
  if (name.empty()) return;
  auto entered = sys::enter_netns(name);
  if (!entered) {
    const Error& e = entered.error();
    if (e.err == ENOENT) throw FatalError(e.str() + " (ip netns list shows the names)");
    fatal(e);
  }
}

// ss -p's table. The dump is of our namespace only, so the owners of other
// namespaces' sockets need not be listed.
sys::SocketOwners find_owners(bool verbose) {
  // ss -p reads PROC_ROOT's <pid>/fd links: a tree from elsewhere, which
  // the kernel's own view (the iterator) would not match.
  if (owners_from_proc_root()) return sys::SocketOwners::scan(sys::proc_root());
  auto netns = sys::current_netns_inode();
  return bpf::find_socket_owners(netns ? *netns : 0, verbose).owners;
}

// ss narrows the dump to one family when the expression reads an address
// in it (`src unix:...`, or any address after -4/-6/-x/-0): the tables of
// other families then list nothing.
void narrow_to_family(diag::DumpRequest& req, int family) {
  bool inet4 = family == AF_INET, inet6 = family == AF_INET6;
  if (!inet4 && !inet6) req.tcp = req.udp = req.raw = false;
  req.ipv4 = req.ipv4 && inet4;
  req.ipv6 = req.ipv6 && inet6;
  if (family != AF_UNIX) req.unix_ = false;
  if (family != AF_PACKET) req.packet = false;
  if (family != AF_NETLINK) req.netlink = false;
}

// ss -s's files: /proc/net of our namespace unless PROC_ROOT or a
// PROC_NET_* variable moves them (ss.c net_sockstat_open, net_snmp_open).
output::SummaryFiles summary_files() {
  const char* vars[] = {"PROC_ROOT", "PROC_NET_SOCKSTAT", "PROC_NET_SOCKSTAT6", "PROC_NET_SNMP"};
  bool moved = false;
  for (const char* v : vars) moved = moved || std::getenv(v) != nullptr;
  const std::string here = "/proc/thread-self/net";
  if (!moved) return {here + "/sockstat", here + "/sockstat6", here + "/snmp"};
  return {sys::proc_file("PROC_NET_SOCKSTAT", "net/sockstat"),
          sys::proc_file("PROC_NET_SOCKSTAT6", "net/sockstat6"),
          sys::proc_file("PROC_NET_SNMP", "net/snmp")};
}

void print_summary(const Options& opts) {
  auto summary = output::read_summary(summary_files());
  if (!summary) throw FatalError("cannot read socket counts: " + summary.error().str());
  if (opts.json) {
    auto ns = sys::current_netns_inode();
    output::print_summary_json(stdout, *summary, ns ? *ns : 0);
  } else {
    output::print_summary(stdout, *summary);
  }
}

// -D FILE: like ss, the raw inet_diag replies of the TCP dump (the state
// set applied, no expression), and nothing else.
int dump_raw(const Options& opts, uint32_t states) {
  if (!opts.tcp) throw UsageError("-D: writes the TCP dump, but the options select no TCP sockets");
  // ss reads TCP from the file then, and -D saves nothing.
  if (auto files = sys::proc_table_override("PROC_NET_TCP", "PROC_NET_TCP6", "tcp")) {
    throw FatalError(std::string("-D: ") + files->env + " is set: TCP sockets would come from " +
                     files->v4 + ", and a file is no dump to save; unset " + files->env);
  }
  bool to_stdout = opts.diag_file == "-";
  std::FILE* out = to_stdout ? stdout : std::fopen(opts.diag_file.c_str(), "wb");
  // A path problem: no sock_diag or privilege hint, which would mislead.
  if (!out) throw FatalError(sys_error("cannot open -D file '" + opts.diag_file + "'").str());
  diag::DumpRequest req;
  req.tcp = true;
  req.ipv4 = opts.ipv4;
  req.ipv6 = opts.ipv6;
  req.states = states;
  req.raw_out = out;
  auto diag = diag::SockDiag::open();
  if (!diag) fatal(diag.error());
  auto done = diag->dump(req, [](const diag::SockInfo&) {});
  bool write_failed = std::fflush(out) != 0 || std::ferror(out);
  if (!to_stdout) write_failed = std::fclose(out) != 0 || write_failed;
  if (!done) fatal(done.error());
  if (write_failed)
    throw FatalError(sys_error("cannot write -D file '" + opts.diag_file + "'").str());
  return 0;
}

}  // namespace

filter::Filter snapshot_filter(const Options& opts) {
  filter::ParseOptions popts;
  popts.family = opts.family;
  popts.tcp = opts.tcp;
  popts.udp = opts.udp;
  popts.file = opts.filter_file;
  filter::Filter f = filter::Filter::parse(opts.filter_words, popts);
  f.set_default_states(opts.default_states, opts.states_if_none_left);
  return f;
}

bool summary_only(const Options& opts) { return !opts.kinds_given && opts.filter_words.empty(); }

diag::DumpRequest snapshot_request(const Options& opts, uint32_t states,
                                   std::vector<uint8_t> inet_bytecode) {
  diag::DumpRequest req;
  req.tcp = opts.has_kind(SockKind::tcp);
  req.udp = opts.has_kind(SockKind::udp);
  req.raw = opts.has_kind(SockKind::raw);
  req.unix_ = (opts.kinds & kUnixKinds) != 0;
  // ss lists PACKET sockets only when the state set has UNCONN (their one
  // state): ss.c packet_show.
  req.packet = (opts.kinds & kPacketKinds) != 0 && (states & (1u << diag::kClose));
  // NETLINK likewise (ss.c netlink_show).
  req.netlink = opts.netlink && (states & (1u << diag::kClose));
  req.ipv4 = opts.ipv4;
  req.ipv6 = opts.ipv6;
  req.states = states;
  req.want_info = opts.info;
  req.want_skmem = opts.memory;
  req.want_unix_pending = opts.extended;
  req.inet_bytecode = std::move(inet_bytecode);
  return req;
}

diag::DumpRequest snapshot_dump_request(const Options& opts, const filter::Filter& filter) {
  diag::DumpRequest req = snapshot_request(
      opts, filter.states(), filter.empty() ? std::vector<uint8_t>{} : filter.inet_bytecode());
  if (auto family = filter.forced_family()) narrow_to_family(req, *family);
  return req;
}

output::SnapshotFormat snapshot_format(const Options& opts, uint32_t states) {
  output::SnapshotFormat fmt;
  fmt.numeric = opts.numeric;
  fmt.resolve = opts.resolve;
  fmt.timer = opts.timer || opts.extended;  // ss -e turns on -o's timers too
  fmt.extended = opts.extended;
  fmt.memory = opts.memory;
  fmt.info = opts.info;
  fmt.processes = opts.processes;
  fmt.oneline = opts.oneline;
  fmt.header = !opts.no_header;
  // ss.c main(): Netid when more than one socket table is listed, State
  // when more than one state is.
  uint32_t tables = opts.kinds;
  fmt.show_netid = several(tables) || (tables != 0 && opts.netlink);
  fmt.show_state = several(states);
  return fmt;
}

namespace {

// The first error of a write to stdout (stdio keeps only a flag; errno
// right after the failing call says why).
int g_stdout_errno = 0;

bool stdout_failed() {
  if (g_stdout_errno == 0 && std::ferror(stdout)) g_stdout_errno = errno != 0 ? errno : EIO;
  return g_stdout_errno != 0;
}

// A reader that went away (| head) is a clean stop; any other failure
// (ENOSPC, EIO, /dev/full) is exit 1, naming the file, with no cut-off
// line left at its end.
int finish_stdout(const Options& opts, int rc) {
  stdout_failed();  // errno still says why the writer's last fwrite failed
  if (std::fflush(stdout) != 0) stdout_failed();
  if (!stdout_failed() || g_stdout_errno == EPIPE) return rc;
  sys::trim_partial_line(fileno(stdout));
  throw FatalError("cannot write to " + describe_output(opts) + ": " +
                   std::strerror(g_stdout_errno) + "; the output ends at its last whole line");
}

int list_sockets(const Options& opts);

}  // namespace

int run_snapshot(const Options& opts) {
  // A reader that goes away (| head) ends the output, not sstrace with a
  // signal: writes fail with EPIPE and we stop writing.
  std::signal(SIGPIPE, SIG_IGN);
  // Not refused as ss would (it has no such option): a cron job appending
  // `snapshot --json` to the file a log shipper tails (and replay reads)
  // wants the same O_APPEND file that --output gives the stream, safe
  // beside logrotate's copytruncate, and one message naming it on failure.
  std::optional<sys::OutputFile> out = open_output_option(opts);
  return finish_stdout(opts, list_sockets(opts));
}

namespace {

// TCPDIAG_FILE: the saved sockets, in the families the request asks for
// (the kernel would have applied that, and the file holds them all).
void show_saved_tcp(const std::string& path, const diag::DumpRequest& req,
                    const diag::SockCallback& show) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!in) throw FatalError(sys_error("cannot open TCPDIAG_FILE '" + path + "'").str());
  auto done = diag::read_dump_file(in.get(), path, [&](const diag::SockInfo& s) {
    if ((s.family == AF_INET && req.ipv4) || (s.family == AF_INET6 && req.ipv6)) show(s);
  });
  if (!done) throw FatalError(done.error().str());
}

int list_sockets(const Options& opts) {
  enter_namespace(opts.netns);

  if (opts.summary) {
    print_summary(opts);
    if (summary_only(opts)) return 0;
  }
  // ss's messages for selections that list nothing; not errors in ss.
  if (opts.kinds == 0 && !opts.netlink) {
    std::fprintf(stderr, "sstrace: no socket tables to show with such filter.\n");
    return 0;
  }
  filter::Filter filter = snapshot_filter(opts);
  uint32_t states = filter.states();
  if (states == 0) {
    std::fprintf(stderr, "sstrace: no socket states to show with such filter.\n");
    return 0;
  }
  if (!opts.diag_file.empty()) return dump_raw(opts, states);

  diag::DumpRequest req = snapshot_dump_request(opts, filter);
  // TCP from a saved dump instead (ss's TCPDIAG_FILE); its other tables
  // still come from the kernel, and TCP is listed last either way.
  const char* tcpdiag_file = std::getenv("TCPDIAG_FILE");
  const bool tcp_from_file = tcpdiag_file != nullptr && *tcpdiag_file != '\0' && req.tcp;
  diag::DumpRequest from_kernel = req;
  from_kernel.tcp = !tcp_from_file && req.tcp;
  apply_proc_overrides(from_kernel, tcp_from_file);

  std::optional<sys::SocketOwners> owners;
  if (opts.processes) owners = find_owners(opts.verbose);
  const sys::SocketOwners* owners_ptr = owners ? &*owners : nullptr;

  output::SnapshotFormat fmt = snapshot_format(opts, states);
  auto writer =
      opts.json ? output::make_json_writer(stdout, fmt) : output::make_text_writer(stdout, fmt);
  const diag::SockCallback show = [&](const diag::SockInfo& s) {
    const bool wanted = s.is_netlink() ? opts.netlink : opts.has_kind(s.kind);
    if (!wanted || stdout_failed()) return;
    if (filter.matches(s)) writer->sock(s, owners_ptr);
  };
  auto diag = diag::SockDiag::open();
  if (!diag) fatal(diag.error());
  auto done = diag->dump(from_kernel, show);
  if (!done) fatal(done.error());
  if (tcp_from_file) show_saved_tcp(tcpdiag_file, req, show);
  writer->finish();
  return 0;
}

}  // namespace

}  // namespace sstrace::cli
