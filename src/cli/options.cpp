// Command-line parsing. CLI11 does the tokenising (combined short flags,
// attached values, --long=value, "--"); the meaning of the letters is ss's,
// applied in command-line order as ss's getopt loop applies them, because
// some of it is order dependent (-t before -A is forgotten, -A after it is
// not).
#include "cli/options.h"

#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>

#include "cli/usage.h"
#include "common/result.h"

namespace sstrace::cli {

namespace {

using diag::SockKind;
using diag::TcpState;

constexpr uint32_t state_bit(TcpState s) { return 1u << s; }

// ss's state sets (misc/ss.c SS_ALL, SS_CONN). SS_ALL covers the numbers ss
// knows (0 .. CLOSING); the kernel's NEW_SYN_RECV is reported as SYN-RECV.
constexpr uint32_t kAllStates = (1u << diag::kNewSynRecv) - 1;
constexpr uint32_t kConnStates =
    kAllStates & ~(state_bit(diag::kListen) | state_bit(diag::kClose) | state_bit(diag::kTimeWait) |
                   state_bit(diag::kSynRecv));
constexpr uint32_t kListenStates = state_bit(diag::kListen) | state_bit(diag::kClose);

// ss's socket tables ("dbs") that sstrace knows. dccp, sctp, mptcp, vsock,
// tipc and xdp are left out: sstrace cannot list them, and leaving them out
// never changes ss's one-table-or-several decision for the Netid column.
enum Table : unsigned {
  kTcpTable,
  kUdpTable,
  kRawTable,
  kUnixDgramTable,
  kUnixStreamTable,
  kUnixSeqTable,
  kPacketDgramTable,
  kPacketRawTable,
  kNetlinkTable,
  kTableCount,
};
constexpr uint32_t table_bit(Table t) { return 1u << t; }
constexpr uint32_t kInetTables = table_bit(kTcpTable) | table_bit(kUdpTable) | table_bit(kRawTable);
constexpr uint32_t kUnixTables =
    table_bit(kUnixDgramTable) | table_bit(kUnixStreamTable) | table_bit(kUnixSeqTable);
constexpr uint32_t kPacketTables = table_bit(kPacketDgramTable) | table_bit(kPacketRawTable);
constexpr uint32_t kAllTables = (1u << kTableCount) - 1;

enum Family : unsigned { kInet, kInet6, kUnix, kPacket, kNetlink, kFamilyCount };
constexpr uint32_t family_bit(Family f) { return 1u << f; }
constexpr uint32_t kInetFamilies = family_bit(kInet) | family_bit(kInet6);

// ss's default_dbs[]: the states a table lists by default, and its families.
struct TableDefaults {
  uint32_t states;
  uint32_t families;
  SockKind kind;  // unused for netlink
};
constexpr TableDefaults kTableDefaults[kTableCount] = {
    {kConnStates, kInetFamilies, SockKind::tcp},
    {state_bit(diag::kEstablished), kInetFamilies, SockKind::udp},
    {state_bit(diag::kEstablished), kInetFamilies, SockKind::raw},
    {state_bit(diag::kClose), family_bit(kUnix), SockKind::unix_dgram},
    {kConnStates, family_bit(kUnix), SockKind::unix_stream},
    {kConnStates, family_bit(kUnix), SockKind::unix_seqpacket},
    {state_bit(diag::kClose), family_bit(kPacket), SockKind::packet_dgram},
    {state_bit(diag::kClose), family_bit(kPacket), SockKind::packet_raw},
    {state_bit(diag::kClose), family_bit(kNetlink), SockKind::tcp},
};

// ss's default_afs[]: the tables a family brings, and its default states.
struct FamilyDefaults {
  uint32_t tables;
  uint32_t states;
};
constexpr FamilyDefaults kFamilyDefaults[kFamilyCount] = {
    {kInetTables, kConnStates},
    {kInetTables, kConnStates},
    {kUnixTables, kConnStates},
    {kPacketTables, state_bit(diag::kClose)},
    {table_bit(kNetlinkTable), state_bit(diag::kClose)},
};

// -A QUERY names (ss's filter_db_parse table, with its short aliases).
const std::map<std::string_view, uint32_t>& query_tables() {
  static const std::map<std::string_view, uint32_t> tables = {
      {"all", kAllTables},
      {"inet", kInetTables},
      {"tcp", table_bit(kTcpTable)},
      {"udp", table_bit(kUdpTable)},
      {"raw", table_bit(kRawTable)},
      {"unix", kUnixTables},
      {"unix_stream", table_bit(kUnixStreamTable)},
      {"u_str", table_bit(kUnixStreamTable)},
      {"unix_dgram", table_bit(kUnixDgramTable)},
      {"u_dgr", table_bit(kUnixDgramTable)},
      {"unix_seqpacket", table_bit(kUnixSeqTable)},
      {"u_seq", table_bit(kUnixSeqTable)},
      {"packet", kPacketTables},
      {"packet_raw", table_bit(kPacketRawTable)},
      {"p_raw", table_bit(kPacketRawTable)},
      {"packet_dgram", table_bit(kPacketDgramTable)},
      {"p_dgr", table_bit(kPacketDgramTable)},
      {"netlink", table_bit(kNetlinkTable)},
  };
  return tables;
}

// ss's `struct filter` while the options are read, and its merge rules.
class Selection {
 public:
  void set_table(Table t, bool enable = true) {
    if (enable) {
      states_ |= kTableDefaults[t].states;
      tables_ |= table_bit(t);
    } else {
      tables_ &= ~table_bit(t);
    }
    do_default_ = false;
  }
  void set_tables(uint32_t tables, bool enable) {
    for (unsigned t = 0; t < kTableCount; ++t)
      if (tables & (1u << t)) set_table(static_cast<Table>(t), enable);
  }
  void set_family(Family f) {
    states_ |= kFamilyDefaults[f].states;
    families_ |= family_bit(f);
    do_default_ = false;
    preferred_ = f;
  }
  void set_state_filter(uint32_t states) { state_filter_ = states; }

  // The first -A replaces the tables chosen so far (ss forgets a -t given
  // before it) and makes "connected" the state default unless -a/-l came.
  void start_query() {
    if (saw_query_) return;
    tables_ = 0;
    if (state_filter_ == 0) state_filter_ = kConnStates;
    saw_query_ = true;
    do_default_ = false;
  }

  // ss's end of option parsing: nothing chosen means every table in the
  // connected states; -a/-l/-A's state set wins over the tables' defaults;
  // then every table gets its families and every family its tables.
  void finish(Options& opts) {
    if (do_default_) {
      if (state_filter_ == 0) state_filter_ = kConnStates;
      set_tables(kAllTables, true);
      do_default_ = true;
    }
    // ss reads the FILTER's state words into the variable -a/-l/-A set, so
    // words that leave no state also undo those; what remains is "connected"
    // without table options, else the tables' and families' own defaults.
    states_if_none_left_ = do_default_ ? kConnStates : states_;
    if (state_filter_ != 0) states_ = state_filter_;
    for (unsigned t = 0; t < kTableCount; ++t)
      if ((tables_ & (1u << t)) && !(kTableDefaults[t].families & families_))
        families_ |= kTableDefaults[t].families;
    for (unsigned f = 0; f < kFamilyCount; ++f)
      if ((families_ & (1u << f)) && !(kFamilyDefaults[f].tables & tables_))
        tables_ |= kFamilyDefaults[f].tables;
    export_to(opts);
  }

 private:
  void export_to(Options& opts) const {
    opts.kinds = 0;
    for (unsigned t = 0; t < kTableCount; ++t) {
      if (t == kNetlinkTable || !(tables_ & (1u << t))) continue;
      opts.kinds |= 1u << static_cast<unsigned>(kTableDefaults[t].kind);
    }
    opts.netlink = tables_ & table_bit(kNetlinkTable);
    opts.tcp = tables_ & table_bit(kTcpTable);
    opts.udp = tables_ & table_bit(kUdpTable);
    opts.raw = tables_ & table_bit(kRawTable);
    opts.unix_ = tables_ & kUnixTables;
    opts.packet = tables_ & kPacketTables;
    opts.ipv4 = families_ & family_bit(kInet);
    opts.ipv6 = families_ & family_bit(kInet6);
    opts.kinds_given = !do_default_;
    opts.default_states = states_;
    opts.states_if_none_left = states_if_none_left_;
    // After -f netlink, addresses are netlink ones (PROTO:PORTID), as in ss.
    static constexpr int kAf[kFamilyCount] = {AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK};
    opts.family = preferred_ < kFamilyCount ? kAf[preferred_] : AF_UNSPEC;
  }

  uint32_t tables_ = 0;
  uint32_t families_ = 0;
  uint32_t states_ = 0;
  uint32_t state_filter_ = 0;
  uint32_t states_if_none_left_ = 0;
  bool do_default_ = true;
  bool saw_query_ = false;
  unsigned preferred_ = kFamilyCount;  // none yet
};

// Why: getopt_long lets ss users abbreviate long options (--list,
// --num); CLI11 does not. The long names sstrace knows, for expanding them.
constexpr std::string_view kLongOptions[] = {
    "tcp",
    "udp",
    "unix",
    "raw",
    "packet",
    "all",
    "listening",
    "numeric",
    "resolve",
    "ipv4",
    "ipv6",
    "family",
    "query",
    "socket",
    "info",
    "memory",
    "extended",
    "options",
    "processes",
    "summary",
    "oneline",
    "no-header",
    "net",
    "filter",
    "diag",
    "version",
    "help",
    "json",
    "verbose",
    "duration",
    "resync",
    "metrics",
    "rtt-min-change-us",
    "rtt-min-change-pct",
    "rtt-interval-ms",
    "ringbuf-kib",
    "all-netns",
    "quiet",
    "metrics-peers",
    "interval",
    "by",
    "batch",
    "close-wait-alert",
    "port-pressure-pct",
    "output",
    "user",
    "btf",
    "replay",
};
// Long options that take a value. The others are flags, and "--tcp=1" is a
// mistake rather than a flag value.
constexpr std::string_view kValueOptions[] = {
    "family",
    "query",
    "socket",
    "net",
    "filter",
    "diag",
    "duration",
    "resync",
    "metrics",
    "rtt-min-change-us",
    "rtt-min-change-pct",
    "rtt-interval-ms",
    "ringbuf-kib",
    "metrics-peers",
    "interval",
    "by",
    "close-wait-alert",
    "port-pressure-pct",
    "output",
    "user",
    "btf",
    "replay",
};

bool takes_value(std::string_view name) {
  for (auto v : kValueOptions)
    if (v == name) return true;
  return false;
}

// Does this short group ("-tN", "-f") end in a letter that takes the next
// word as its value? ("-Nfoo" carries its value; "-tN" does not.)
bool short_group_wants_next(std::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-' || arg[1] == '-') return false;
  for (size_t i = 1; i < arg.size(); ++i)
    if (std::string_view("fANFD").find(arg[i]) != std::string_view::npos)
      return i + 1 == arg.size();
  return false;
}

// "--lis" -> "--listening"; exact names and non-options pass through.
std::string expand_long(const std::string& arg) {
  auto eq = arg.find('=');
  std::string_view name = std::string_view(arg).substr(2, eq == std::string::npos ? eq : eq - 2);
  std::string rest = eq == std::string::npos ? "" : arg.substr(eq);
  std::vector<std::string_view> matches;
  for (auto opt : kLongOptions) {
    if (opt == name) return arg;
    if (opt.substr(0, name.size()) == name) matches.push_back(opt);
  }
  if (matches.empty()) throw UsageError("unknown option '--" + std::string(name) + "'");
  if (matches.size() > 1) {
    std::string list;
    for (auto m : matches) list += (list.empty() ? "--" : ", --") + std::string(m);
    throw UsageError("option '--" + std::string(name) + "' is ambiguous (" + list + ")");
  }
  return "--" + std::string(matches.front()) + rest;
}

// The arguments CLI11 sees: no program name, no subcommand, long options
// spelled out. Also rejects "--tcp=x" (a flag given a value).
std::vector<std::string> prepare_args(int argc, char** argv, Command& command) {
  std::vector<std::string> args;
  int first = 1;
  if (argc > 1 && std::string_view(argv[1]) == "snapshot") {
    command = Command::snapshot;
    first = 2;
  } else if (argc > 1 && std::string_view(argv[1]) == "top") {
    command = Command::top;
    first = 2;
  }
  bool options_done = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done) {
      args.push_back(arg);
      continue;
    }
    if (arg == "--") options_done = true;
    bool wants_next = short_group_wants_next(arg);
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      arg = expand_long(arg);
      auto eq = arg.find('=');
      std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
      if (eq != std::string::npos && !takes_value(name))
        throw UsageError("--" + name + ": takes no value");
      wants_next = eq == std::string::npos && takes_value(name);
    }
    args.push_back(arg);
    // A value option swallows the next word, option-like or not (getopt
    // does too); pass it through untouched so "-N --x" names a namespace.
    if (wants_next && i + 1 < argc) args.push_back(argv[++i]);
  }
  return args;
}

// ---- values -------------------------------------------------------------

// Ten years: longer is a typo, and in nanoseconds it still fits the
// monotonic clock's uint64_t with centuries to spare (1e99 did not).
constexpr double kMaxSeconds = 10 * 365 * 86400.0;

double parse_seconds(const std::string& opt, const std::string& v) {
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(d) || std::signbit(d))
    throw UsageError(opt + ": '" + v + "' is not a number of seconds");
  if (d > kMaxSeconds) throw UsageError(opt + ": '" + v + "' seconds is more than ten years");
  return d;
}

// --duration: 0 would mean "stop at once" or "never" depending on whom you
// ask; neither is what a person means, so only a positive time is taken.
double parse_positive_seconds(const std::string& opt, const std::string& v) {
  double d = parse_seconds(opt, v);
  if (d <= 0) throw UsageError(opt + ": '" + v + "' is not a positive number of seconds");
  return d;
}

uint32_t parse_u32(const std::string& opt, const std::string& v, const char* what) {
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty())
    throw UsageError(opt + ": '" + v + "' is not " + what);
  return n;
}

uint32_t parse_ringbuf_kib(const std::string& opt, const std::string& v) {
  uint32_t kib = parse_u32(opt, v, "a size in KiB");
  // BPF_MAP_TYPE_RINGBUF: a power of two and a multiple of the page size
  // (kernel/bpf/ringbuf.c); past 1 GiB is a typo, not a buffer.
  long page_kib = sysconf(_SC_PAGESIZE) / 1024;
  if (page_kib < 1) page_kib = 4;
  if ((kib & (kib - 1)) != 0 || kib < static_cast<uint32_t>(page_kib) || kib > (1u << 20))
    throw UsageError(opt + ": '" + v + "' is not a power of two between " +
                     std::to_string(page_kib) + " and 1048576");
  return kib;
}

// A second --output would leave one of the two files unwritten.
std::string parse_output_file(const std::string& opt, const std::string& v,
                              const std::string& given) {
  if (!given.empty()) throw UsageError(opt + ": only one output file may be given");
  if (v.empty()) throw UsageError(opt + ": empty file name");
  return v;
}

std::string parse_metrics_addr(const std::string& opt, const std::string& v) {
  auto bad = [&] { return UsageError(opt + ": '" + v + "' is not ADDR:PORT"); };
  auto colon = v.rfind(':');
  if (colon == std::string::npos) throw bad();
  std::string host = v.substr(0, colon);
  std::string port = v.substr(colon + 1);
  uint32_t p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
    throw bad();
  // A bare IPv6 address is ambiguous with its port: ss and Prometheus both
  // want it in brackets.
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (!bracketed && host.find_first_of(":[]") != std::string::npos) throw bad();
  return v;
}

// --interval: rates over less than 0.1 s are noise, and a frame every
// hour is not a view.
double parse_interval(const std::string& opt, const std::string& v) {
  double d = parse_seconds(opt, v);
  if (d < 0.1 || d > 3600)
    throw UsageError(opt + ": '" + v + "' is not between 0.1 and 3600 seconds");
  return d;
}

// --close-wait-alert: a whole second at least (the check runs with the
// stream's 50 ms loop), a day at most (past that it is no alert).
double parse_close_wait_alert(const std::string& opt, const std::string& v) {
  double d = parse_seconds(opt, v);
  if (d < 1 || d > 86400)
    throw UsageError(opt + ": '" + v + "' is not between 1 and 86400 seconds");
  return d;
}

// --port-pressure-pct: 1 to 100 (100: only a range used up).
uint32_t parse_port_pressure_pct(const std::string& opt, const std::string& v) {
  uint32_t p = parse_u32(opt, v, "a percentage");
  if (p < 1 || p > 100) throw UsageError(opt + ": '" + v + "' is not between 1 and 100");
  return p;
}

std::string parse_by(const std::string& opt, const std::string& v) {
  for (const char* w : {"peer", "port", "peer-port", "process"})
    if (v == w) return v;
  throw UsageError(opt + ": '" + v + "' is not one of peer, port, peer-port, process");
}

// Resolved now, so that an unknown user ends the run before anything is
// attached (tcpdump -Z waits until after; a typo should not cost a start).
sys::UserIds parse_user(const std::string& opt, const std::string& v) {
  std::optional<sys::UserIds> user = sys::lookup_user(v);
  if (!user) throw UsageError(opt + ": no such user '" + v + "'");
  return *user;
}

std::string parse_file_name(const std::string& opt, const std::string& v) {
  if (v.empty()) throw UsageError(opt + ": empty file name");
  return v;
}

std::string check_netns_name(const std::string& opt, const std::string& v) {
  // ip-netns names: one path component under /run/netns.
  if (v.empty() || v == "." || v == ".." || v.find('/') != std::string::npos || v.size() > 255)
    throw UsageError(opt + ": '" + v + "' is not a namespace name (as ip netns lists them)");
  return v;
}

bool apply_family(Selection& sel, const std::string& v) {
  if (v == "inet")
    sel.set_family(kInet);
  else if (v == "inet6")
    sel.set_family(kInet6);
  else if (v == "link")
    sel.set_family(kPacket);
  else if (v == "unix")
    sel.set_family(kUnix);
  else if (v == "netlink")
    sel.set_family(kNetlink);
  else if (v == "help")
    return false;
  else
    throw UsageError("-f: unknown family '" + v + "' (inet, inet6, link, unix, netlink)");
  return true;
}

// Applies -A's list; returns whether it names TCP's table alone (the only
// one the live stream follows).
bool apply_query(Selection& sel, const std::string& v) {
  sel.start_query();
  bool tcp_only = true;
  size_t pos = 0;
  while (true) {
    size_t comma = v.find(',', pos);
    std::string item = v.substr(pos, comma == std::string::npos ? comma : comma - pos);
    bool enable = true;
    std::string name = item;
    if (!name.empty() && name[0] == '!') {
      enable = false;
      name.erase(0, 1);
    }
    auto it = query_tables().find(name);
    if (it == query_tables().end()) throw UsageError("-A: unknown socket table '" + item + "'");
    sel.set_tables(it->second, enable);
    tcp_only = tcp_only && item == "tcp";
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return tcp_only;
}

// ss letters sstrace deliberately lacks: a clearer word than "unknown".
const char* unsupported_ss_option(char c) {
  switch (c) {
    case 'd':
      return "DCCP sockets";
    case 'S':
      return "SCTP sockets";
    case 'M':
      return "MPTCP sockets";
    case 'K':
      return "killing sockets";
    case 'E':
      return "ss's --events (the live stream replaces it)";
    case 'b':
      return "BPF socket filters";
    case 'Z':
    case 'z':
      return "SELinux contexts";
    case 'T':
      return "per-thread owners";
    default:
      return nullptr;
  }
}

[[noreturn]] void unknown_option(const std::string& arg) {
  std::string name = arg.compare(0, 2, "--") == 0 ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
  if (name.size() == 2 && name[0] == '-') {
    if (const char* what = unsupported_ss_option(name[1]))
      throw UsageError("option '" + name + "' (" + what + ") is not supported by sstrace");
  }
  throw UsageError("unknown option '" + name + "'");
}

// CLI11 throws ArgumentMismatch only when argv ran out before a value: the
// option is the last argument's (the last letter of a short group).
[[noreturn]] void missing_value(const std::vector<std::string>& args) {
  std::string last = args.empty() ? "" : args.back();
  std::string name = last.compare(0, 2, "--") == 0 ? last : "-" + last.substr(last.size() - 1);
  throw UsageError(name + ": requires an argument");
}

// One CLI11 definition per option; `display` is how errors name it.
struct Spec {
  CLI::Option* opt = nullptr;
  std::string display;
};

// Never in a command line a person types (ASCII unit separator).
constexpr char kBracketShield = '\x1f';

std::string unshield(std::string s) {
  if (!s.empty() && s.front() == kBracketShield) s.erase(0, 1);
  return s;
}

class Parser {
 public:
  Parser() {
    app_.set_help_flag();
    app_.allow_extras();
    app_.add_option("FILTER", opts_.filter_words);
  }

  CLI::Option* flag(const std::string& names) { return app_.add_flag(names); }
  CLI::Option* value(const std::string& names) {
    return app_.add_option(names)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }

  std::optional<Options> parse(int argc, char** argv);

 private:
  void apply(CLI::Option* opt, const std::string& v, Selection& sel);
  void reject_live_only_in_snapshot() const;
  void reject_snapshot_only_in_live() const;
  void reject_misplaced_long_options() const;
  void check_quiet() const;
  void reject_live_only_in_replay() const;

  CLI::App app_{"sstrace"};
  Options opts_;
  std::map<CLI::Option*, char> letter_;       // short letter of each ss option
  std::map<CLI::Option*, std::string> long_;  // sstrace's long-only (live) options
  bool help_ = false, version_ = false;
  int filter_files_ = 0;
  std::string letters_given_;       // each ss letter given, once, in order
  bool non_tcp_selection_ = false;  // a table other than TCP's was asked for
};

void Parser::apply(CLI::Option* opt, const std::string& v, Selection& sel) {
  if (auto it = long_.find(opt); it != long_.end()) {
    const std::string& n = it->second;
    std::string o = "--" + n;
    if (n == "duration")
      opts_.duration_s = parse_positive_seconds(o, v);
    else if (n == "resync")
      opts_.resync_s = parse_seconds(o, v);
    else if (n == "metrics")
      opts_.metrics_addr = parse_metrics_addr(o, v);
    else if (n == "rtt-min-change-us")
      opts_.rtt_min_change_us = parse_u32(o, v, "a number of microseconds");
    else if (n == "rtt-min-change-pct")
      opts_.rtt_min_change_pct = parse_u32(o, v, "a percentage");
    else if (n == "rtt-interval-ms")
      opts_.rtt_interval_ms = parse_u32(o, v, "a number of milliseconds");
    else if (n == "ringbuf-kib")
      opts_.ringbuf_kib = parse_ringbuf_kib(o, v);
    else if (n == "all-netns")
      opts_.all_netns = true;
    else if (n == "quiet")
      opts_.quiet = true;
    else if (n == "metrics-peers")
      opts_.metrics_peers = parse_u32(o, v, "a number of peers");
    else if (n == "interval")
      opts_.interval_s = parse_interval(o, v);
    else if (n == "by")
      opts_.by = parse_by(o, v);
    else if (n == "close-wait-alert")
      opts_.close_wait_alert_s = parse_close_wait_alert(o, v);
    else if (n == "port-pressure-pct")
      opts_.port_pressure_pct = parse_port_pressure_pct(o, v);
    else if (n == "batch")
      opts_.batch = true;
    else if (n == "output")
      opts_.output_file = parse_output_file(o, v, opts_.output_file);
    else if (n == "user")
      opts_.user = parse_user(o, v);
    else if (n == "btf")
      opts_.btf_file = parse_file_name(o, v);
    else if (n == "replay")
      opts_.replay_file = parse_file_name(o, v);
    return;
  }
  const char letter = letter_.at(opt);
  if (letters_given_.find(letter) == std::string::npos) letters_given_ += letter;
  if (std::string_view("uxw0").find(letter) != std::string_view::npos ||
      (letter == 'f' && v != "inet" && v != "inet6"))
    non_tcp_selection_ = true;
  switch (letter) {
    case 't':
      sel.set_table(kTcpTable);
      break;
    case 'u':
      sel.set_table(kUdpTable);
      break;
    case 'w':
      sel.set_table(kRawTable);
      break;
    case 'x':
      sel.set_family(kUnix);
      break;
    case '0':
      sel.set_family(kPacket);
      break;
    case '4':
      sel.set_family(kInet);
      break;
    case '6':
      sel.set_family(kInet6);
      break;
    case 'f':
      if (!apply_family(sel, v)) help_ = true;
      break;
    case 'A':
      if (!apply_query(sel, v)) non_tcp_selection_ = true;
      break;
    case 'a':
      sel.set_state_filter(kAllStates);
      opts_.all = true;
      break;
    case 'l':
      sel.set_state_filter(kListenStates);
      opts_.listening = true;
      break;
    case 'n':
      opts_.numeric = true;
      break;
    case 'r':
      opts_.resolve = true;
      break;
    case 'i':
      opts_.info = true;
      break;
    case 'm':
      opts_.memory = true;
      break;
    case 'e':
      opts_.extended = true;
      break;
    case 'o':
      opts_.timer = true;
      break;
    case 'p':
      opts_.processes = true;
      break;
    case 's':
      opts_.summary = true;
      break;
    case 'O':
      opts_.oneline = true;
      break;
    case 'H':
      opts_.no_header = true;
      break;
    case 'j':
      opts_.json = true;
      break;
    case 'v':
      opts_.verbose = true;
      break;
    case 'N':
      opts_.netns = check_netns_name("-N", v);
      break;
    case 'F':
      // ss refuses a second filter file rather than pick one.
      if (++filter_files_ > 1) throw UsageError("-F: only one filter file may be given");
      if (v.empty()) throw UsageError("-F: empty file name");
      opts_.filter_file = v;
      break;
    case 'D':
      if (v.empty()) throw UsageError("-D: empty file name");
      opts_.diag_file = v;
      break;
    case 'V':
      version_ = true;
      break;
    case 'h':
      help_ = true;
      break;
    default:
      break;
  }
}

void Parser::reject_live_only_in_snapshot() const {
  if (opts_.command != Command::snapshot) return;
  for (const auto& [opt, name] : long_)
    if (opt->count() > 0 && name != "output")
      throw UsageError("--" + name + ": only the live stream takes this option");
}

// Options of one live command that the other would ignore.
const char* not_for_command(Command c, const std::string& name) {
  if (c == Command::live && (name == "by" || name == "batch"))
    return "only 'sstrace top' takes this option";
  if (c == Command::top && name == "quiet") return "top writes no events to quiet";
  if (c == Command::top && name == "resync")
    return "top counts from the live table; --resync is the event stream's";
  return nullptr;
}

void Parser::reject_misplaced_long_options() const {
  for (const auto& [opt, name] : long_)
    if (opt->count() > 0)
      if (const char* why = not_for_command(opts_.command, name))
        throw UsageError("--" + name + ": " + why);
}

// --quiet leaves only the aggregate outputs; with none of them there would
// be nothing at all.
void Parser::check_quiet() const {
  if (opts_.quiet && !opts_.summary && opts_.metrics_addr.empty())
    throw UsageError("--quiet: with no -s and no --metrics there would be no output at all");
  if (opts_.metrics_peers && opts_.metrics_addr.empty())
    throw UsageError("--metrics-peers: only with --metrics");
  if (opts_.quiet && !opts_.summary && !opts_.output_file.empty())
    throw UsageError("--output: --quiet without -s writes nothing to it");
}

// Why each ss letter that means nothing to the live stream is refused
// there: an option that parses and changes nothing would let a person
// believe it did (`sstrace -l` still streams every state).
const char* snapshot_only_letter(char c) {
  switch (c) {
    case 'l':
      return "the live stream follows every state; to see listeners, filter with 'state listening'";
    case 'r':
      return "the live stream prints addresses as numbers only";
    case 'i':
    case 'e':
    case 'o':
    case 'p':
      return "the live stream's events always carry what this option shows in ss";
    case 'O':
    case 'H':
      return "the live stream writes one event per line and no header already";
    case 'D':
      return "the raw dump is written by 'sstrace snapshot -D'";
    default:
      return nullptr;
  }
}

// With --replay the events come from the file: an option that sets up the
// kernel side (or the process) of a live run would be accepted and do
// nothing, and the alerts are the recording's, decided when it was made.
const char* not_for_replay(const std::string& name) {
  if (name == "all-netns" || name == "resync" || name == "ringbuf-kib" ||
      name == "rtt-min-change-us" || name == "rtt-min-change-pct" || name == "rtt-interval-ms" ||
      name == "btf" || name == "user")
    return "it sets up a live run's kernel side or process, and a replay reads the file";
  if (name == "metrics" || name == "metrics-peers")
    return "the endpoint serves a live process's counters to a scraper";
  if (name == "close-wait-alert" || name == "port-pressure-pct")
    return "the recording's alerts are replayed as they were written";
  return nullptr;
}

void Parser::reject_live_only_in_replay() const {
  if (opts_.replay_file.empty()) return;
  if (!opts_.netns.empty())
    throw UsageError(
        "-N: not an option of --replay: the file's events are from the namespaces "
        "they were recorded in");
  if (letters_given_.find('m') != std::string::npos)
    throw UsageError("-m: not an option of --replay: there is no dump to read socket memory from");
  for (const auto& [opt, name] : long_)
    if (opt->count() > 0)
      if (const char* why = not_for_replay(name))
        throw UsageError("--" + name + ": not an option of --replay: " + why);
}

void Parser::reject_snapshot_only_in_live() const {
  if (opts_.command == Command::snapshot) return;
  const char* what = opts_.command == Command::top ? "of top" : "of the live stream";
  for (char c : letters_given_) {
    if (c == 's' && opts_.command == Command::top)
      throw UsageError("-s: not an option of top: its header carries the summary's counts");
    if (const char* why = snapshot_only_letter(c))
      throw UsageError(std::string("-") + c + ": not an option " + what + ": " + why);
  }
  // -u, -x, -w, -0, and -f or -A naming another table: the stream is TCP's.
  if (non_tcp_selection_)
    throw UsageError(
        "the live stream follows TCP only: -u, -x, -w, -0, or -f/-A naming a table other than "
        "tcp, are 'sstrace snapshot' options");
  reject_misplaced_long_options();
  reject_live_only_in_replay();
  check_quiet();
}

std::optional<Options> Parser::parse(int argc, char** argv) {
  struct Letter {
    char c;
    const char* names;
    bool value;
  };
  static constexpr Letter kLetters[] = {
      {'t', "-t,--tcp", false},           {'u', "-u,--udp", false},
      {'x', "-x,--unix", false},          {'w', "-w,--raw", false},
      {'0', "-0,--packet", false},        {'a', "-a,--all", false},
      {'l', "-l,--listening", false},     {'n', "-n,--numeric", false},
      {'r', "-r,--resolve", false},       {'4', "-4,--ipv4", false},
      {'6', "-6,--ipv6", false},          {'f', "-f,--family", true},
      {'A', "-A,--query,--socket", true}, {'i', "-i,--info", false},
      {'m', "-m,--memory", false},        {'e', "-e,--extended", false},
      {'o', "-o,--options", false},       {'p', "-p,--processes", false},
      {'s', "-s,--summary", false},       {'O', "-O,--oneline", false},
      {'H', "-H,--no-header", false},     {'N', "-N,--net", true},
      {'F', "-F,--filter", true},         {'D', "-D,--diag", true},
      {'V', "-V,--version", false},       {'h', "-h,--help", false},
      {'j', "-j,--json", false},          {'v', "-v,--verbose", false},
  };
  for (const auto& l : kLetters) letter_[l.value ? value(l.names) : flag(l.names)] = l.c;
  for (const char* n : {"duration", "resync", "metrics", "rtt-min-change-us", "rtt-min-change-pct",
                        "rtt-interval-ms", "ringbuf-kib", "metrics-peers", "interval", "by",
                        "close-wait-alert", "port-pressure-pct", "output", "user", "btf", "replay"})
    long_[value(std::string("--") + n)] = n;
  for (const char* n : {"all-netns", "quiet", "batch"}) long_[flag(std::string("--") + n)] = n;

  std::vector<std::string> args = prepare_args(argc, argv, opts_.command);
  // CLI11 reads a word like "[::1]" as a bracketed list and strips it to
  // "::1" (Option::_add_result); shield such words and unshield them after.
  for (std::string& a : args)
    if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a.insert(0, 1, kBracketShield);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
  try {
    app_.parse(reversed);
  } catch (const CLI::ArgumentMismatch&) {
    missing_value(args);
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }

  // Replay the options in command-line order, as ss's getopt loop would.
  Selection sel;
  std::map<CLI::Option*, size_t> seen;
  for (CLI::Option* opt : app_.parse_order()) {
    if (letter_.count(opt) == 0 && long_.count(opt) == 0) continue;  // FILTER
    size_t i = seen[opt]++;
    const auto& results = opt->results();
    apply(opt, i < results.size() ? unshield(results[i]) : std::string(), sel);
  }
  if (help_) {
    print_usage(stdout);
    return std::nullopt;
  }
  if (version_) {
    std::printf("sstrace %s\n", SSTRACE_VERSION);
    return std::nullopt;
  }
  for (std::string& w : opts_.filter_words) w = unshield(w);
  for (const std::string& extra : app_.remaining())
    if (extra != "--") unknown_option(unshield(extra));
  reject_live_only_in_snapshot();
  sel.finish(opts_);
  reject_snapshot_only_in_live();
  return opts_;
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv) {
  Parser parser;
  return parser.parse(argc, argv);
}

}  // namespace sstrace::cli
