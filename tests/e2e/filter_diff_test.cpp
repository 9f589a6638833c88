// The differential test of the filter language: a few hundred seeded,
// generated filters (filter_gen.h), each run through `ss` and `sstrace
// snapshot` on one namespace full of varied sockets; the rows must be the
// same. SSTRACE_FILTER_SEED picks another seed, SSTRACE_FILTER_COUNT
// another number of filters; a mismatch names the seed and the filter.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "filter_gen.h"
#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

constexpr const char* kDev = "fdv0";  // a veth end inside the namespace
constexpr size_t kDefaultFilters = 320;

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// First cgroup2 mount point, from /proc/mounts ("" if none).
std::string cgroup2_mount() {
  std::ifstream in("/proc/mounts");
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string dev, dir, type;
    if (f >> dev >> dir >> type && type == "cgroup2") return dir;
  }
  return "";
}

// Moves the calling process into a cgroup v2 directory: the sockets it
// creates from then on carry that cgroup (`ss --cgroup`, `cgroup PATH`).
void join_cgroup(const std::string& dir) {
  std::ofstream procs(dir + "/cgroup.procs");
  procs << "0\n";
  procs.flush();
  if (!procs) throw std::runtime_error("cannot join cgroup " + dir);
}

sockaddr_storage inet_addr_of(const std::string& ip, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) != 1) throw std::runtime_error(ip);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &a->sin_addr) != 1) throw std::runtime_error(ip);
    len = sizeof(*a);
  }
  return ss;
}

// A TCP listener or bound UDP socket with a bound device and/or a fwmark
// set before bind(), so that what the kernel derives from them (accepted
// children) carries them too.
struct SockOpts {
  std::string dev;
  uint32_t mark = 0;
};
int bound_socket(SocketSet& s, int type, const std::string& ip, uint16_t port, const SockOpts& o) {
  return s.adopt(s.ns().call([&] {
    socklen_t len = 0;
    sockaddr_storage addr = inet_addr_of(ip, port, len);
    int fd = socket(addr.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (!o.dev.empty() &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.dev.c_str(), o.dev.size()) < 0)
      fail_errno("SO_BINDTODEVICE " + o.dev);
    if (o.mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &o.mark, sizeof(o.mark)) < 0)
      fail_errno("SO_MARK");
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0)
      fail_errno("bind " + ip + ":" + std::to_string(port));
    if (type == SOCK_STREAM && listen(fd, 16) < 0) fail_errno("listen");
    return fd;
  }));
}

void set_mark(int fd, uint32_t mark) {
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) fail_errno("SO_MARK");
}

// build_mixed_world (every TCP state, UDP, UNIX, RAW, PACKET on 127/8 and
// ::1), plus: a veth device with 10.77.0.1 and a ULA fd00:77::1 and a ULA
// fd00:1::1 on lo; sockets bound to lo and to the veth; sockets with
// fwmarks; sockets of another process in a child cgroup.
struct FilterWorld {
  FilterWorld() {
    ns.must({"ip", "link", "add", kDev, "type", "veth", "peer", "name", "fdv1"});
    ns.must({"ip", "link", "set", kDev, "up"});
    ns.must({"ip", "link", "set", "fdv1", "up"});
    ns.must({"ip", "addr", "add", "10.77.0.1/24", "dev", kDev});
    ns.must({"ip", "addr", "add", "fd00:77::1/64", "dev", kDev, "nodad"});
    ns.must({"ip", "addr", "add", "fd00:1::1/128", "dev", "lo", "nodad"});
    facts.dev_name = kDev;
    facts.dev_index = ns.call([] { return if_nametoindex(kDev); });
    if (facts.dev_index == 0) throw std::runtime_error("no ifindex for " + std::string(kDev));

    socks = std::make_unique<SocketSet>(ns);
    build_mixed_world(*socks);
    add_devices_and_marks(*socks);
    add_cgroup_sockets();
  }
  ~FilterWorld() {
    in_cgroup.reset();  // waits for the process: the cgroup is empty after
    socks.reset();
    if (!cgroup_dir.empty()) ::rmdir(cgroup_dir.c_str());
  }

  static void add_devices_and_marks(SocketSet& s) {
    // Bound to lo, with a connection through it.
    int lo = bound_socket(s, SOCK_STREAM, "127.0.0.1", 7001, {"lo", 0});
    s.tcp_connect(lo);
    bound_socket(s, SOCK_DGRAM, "::1", 7001, {"lo", 0});
    // Bound to the veth (nothing connects: its addresses are reached via lo).
    bound_socket(s, SOCK_STREAM, "10.77.0.1", 7000, {kDev, 0});
    bound_socket(s, SOCK_DGRAM, "fd00:77::1", 7300, {kDev, 0x2f});
    // The ULAs, unbound to any device.
    int ula = s.tcp_listen("fd00:77::1", 9443);
    s.tcp_connect(ula);
    s.tcp_connect(ula, "fd00:1::1");
    int v4dev = s.tcp_listen("10.77.0.1", 9443);
    s.tcp_connect(v4dev, "127.0.0.3");
    s.udp_bind("fd00:1::1", 7301);
    // Marks: a marked listener (its children inherit), a client marked
    // after connecting, marked UDP.
    int marked = bound_socket(s, SOCK_STREAM, "127.0.0.1", 7100, {"", 0x10});
    TcpPair p = s.tcp_connect(marked);
    set_mark(p.client, 0x21);
    s.tcp_connect(marked);
    bound_socket(s, SOCK_DGRAM, "127.0.0.1", 7101, {"", 0x30});
    bound_socket(s, SOCK_DGRAM, "::1", 7102, {"", 0x1});
  }

  void add_cgroup_sockets() {
    const std::string mnt = cgroup2_mount();
    if (mnt.empty()) throw std::runtime_error("no cgroup2 filesystem is mounted");
    facts.cgroup = "sstrace-e2e-filterdiff-" + std::to_string(getpid());
    cgroup_dir = mnt + "/" + facts.cgroup;
    if (::mkdir(cgroup_dir.c_str(), 0755) < 0 && errno != EEXIST) fail_errno("mkdir " + cgroup_dir);
    const std::string dir = cgroup_dir;
    in_cgroup = std::make_unique<SocketHolder>(ns, "sstrace-cg", [dir](SocketSet& s) {
      join_cgroup(dir);
      int l = s.tcp_listen("127.0.0.1", 7200);
      s.tcp_connect(l, "127.0.0.5");
      s.udp_bind("::1", 7201);
      s.tcp_time_wait(l);  // no cgroup in a minisocket: matches no cgroup
    });
  }

  Netns ns;
  FilterWorldFacts facts;
  std::string cgroup_dir;
  std::unique_ptr<SocketSet> socks;
  std::unique_ptr<SocketHolder> in_cgroup;
};

size_t filter_count() {
  if (const char* s = std::getenv("SSTRACE_FILTER_COUNT"); s != nullptr && *s != '\0')
    return std::strtoul(s, nullptr, 10);
  return kDefaultFilters;
}

size_t socket_rows(const SsTable& t) {
  size_t n = 0;
  for (const auto& r : t.rows)
    if (!is_observer_row(r)) ++n;
  return n;
}

std::string filter_file_path() {
  return "/tmp/sstrace-e2e-filterdiff-" + std::to_string(getpid()) + ".filter";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

// ss, then sstrace; only when their rows differ does the bracketed
// comparison (ss, sstrace, ss, retried) decide, since a socket may have
// moved in between. Most filters thus cost two runs, not three.
Parity compare_quickly(const Netns& ns, const std::vector<std::string>& args) {
  Parity p;
  p.attempts = 1;
  p.ss = run_ss(ns, args);
  p.sstrace = run_snapshot(ns, args);
  p.ss_table = parse_ss(p.ss.out);
  p.sstrace_table = parse_ss(p.sstrace.out);
  p.diff = diff_rows(p.ss_table, p.sstrace_table);
  if (p.diff.empty() || p.ss.status != 0 || p.sstrace.status != 0) return p;
  return compare_with_ss(ns, args);
}

class FilterDiff : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    world_.reset();
    std::filesystem::remove(filter_file_path());
  }
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    // Built once for the suite; the tests only read it.
    if (!world_) world_ = std::make_unique<FilterWorld>();
  }
  static const Netns& ns() { return world_->ns; }
  static std::vector<GeneratedFilter> generate(uint32_t seed, size_t n) {
    FilterGenerator gen(seed, world_->facts);
    std::vector<GeneratedFilter> out;
    for (size_t i = 0; i < n; ++i) out.push_back(gen.next());
    return out;
  }
  static std::unique_ptr<FilterWorld> world_;
};
std::unique_ptr<FilterWorld> FilterDiff::world_;

// Per construct: how many filters used it, and how many of those listed
// at least one socket.
void print_tally(const std::map<std::string, int>& used, std::map<std::string, int>& listing,
                 size_t filters, size_t nonempty) {
  std::ostringstream out;
  out << "[ filters  ] " << filters << " filters, " << nonempty
      << " of them list at least one socket; constructs as used/listing:\n";
  int col = 0;
  for (const auto& [name, count] : used) {
    out << "  " << name << "=" << count << "/" << listing[name];
    if (++col % 6 == 0) out << "\n";
  }
  std::cout << out.str() << "\n";
}

TEST_F(FilterDiff, world_holds_what_the_filters_look_for) {
  // Checked with ss itself: the comparisons are only worth something if
  // every state, device binding, mark and cgroup is there to be selected.
  RunResult all = run_ss(ns(), {"-tan"});
  for (const char* state : {"LISTEN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
                            "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSING"})
    EXPECT_NE(all.out.find("\n" + std::string(state) + " "), std::string::npos) << state;
  const std::string cg = world_->facts.cgroup;
  for (const std::vector<std::string>& filter : {std::vector<std::string>{"dev", "lo"},
                                                 {"dev", kDev},
                                                 {"fwmark", "0x10"},
                                                 {"fwmark", "0x21"},
                                                 {"fwmark", "0x30"},
                                                 {"cgroup", "/" + cg},
                                                 {"src", "[fd00:77::1]"},
                                                 {"src", "[fd00:1::1]"},
                                                 {"src", "10.77.0.1"},
                                                 {"autobound"}}) {
    std::vector<std::string> args{"-tuan"};
    args.insert(args.end(), filter.begin(), filter.end());
    RunResult r = run_ss(ns(), args);
    EXPECT_EQ(r.status, 0) << shell_join(args) << ": " << r.err;
    EXPECT_GE(socket_rows(parse_ss(r.out)), 1u) << shell_join(args) << " lists nothing";
  }
}

TEST_F(FilterDiff, generated_filters_match_ss) {
  const uint32_t seed = filter_seed();
  const size_t n = filter_count();
  const std::string file = filter_file_path();
  std::cout << "[ filters  ] seed " << seed << " (SSTRACE_FILTER_SEED=" << seed
            << " reproduces it)\n";
  std::map<std::string, int> tally, listing;
  size_t nonempty = 0, mismatches = 0;
  const auto filters = generate(seed, n);
  for (size_t i = 0; i < filters.size(); ++i) {
    const GeneratedFilter& f = filters[i];
    count_constructs(f, tally);
    if (f.from_file) write_file(file, f.file_text());
    Parity p = compare_quickly(ns(), f.args(file));
    if (::testing::AssertionResult same = same_as_ss(p, 0); !same) {
      ADD_FAILURE() << "seed " << seed << ", filter #" << i << ": " << f.describe() << "\n"
                    << same.message();
      if (++mismatches >= 10) {
        ADD_FAILURE() << "stopping after 10 mismatches";
        break;
      }
    }
    if (socket_rows(p.ss_table) > 0) {
      ++nonempty;
      count_constructs(f, listing);
    }
  }
  print_tally(tally, listing, filters.size(), nonempty);
  for (const auto& c : required_constructs())
    EXPECT_GT(tally[c], 0) << "seed " << seed << ": no filter used " << c;
  // The comparison is only worth something if many filters select
  // something: a generator (or a world) that only yields empty sets would
  // pass trivially.
  EXPECT_GE(nonempty * 3, filters.size()) << nonempty << " of " << filters.size();
}

// sstrace also takes parentheses attached to words ("(sport = :80)"); ss
// does not. Attached, they must select what the spaced form selects.
std::string glue_parens(const std::string& expr) {
  std::string out;
  for (size_t i = 0; i < expr.size(); ++i) {
    if (expr.compare(i, 2, "( ") == 0) {
      out += '(';
      ++i;
    } else if (expr.compare(i, 2, " )") == 0) {
      out += ')';
      ++i;
    } else {
      out += expr[i];
    }
  }
  return out;
}

TEST_F(FilterDiff, attached_parentheses_select_what_spaced_ones_do) {
  const uint32_t seed = filter_seed();
  size_t compared = 0;
  for (const GeneratedFilter& f : generate(seed, filter_count())) {
    if (f.from_file || f.expression.find("( ") == std::string::npos) continue;
    GeneratedFilter glued = f;
    glued.expression = glue_parens(f.expression);
    ++compared;
    std::string diff;
    RunResult spaced_run, glued_run;
    // Two sstrace runs in a row: retried a few times in case a socket
    // changed state in between.
    for (int attempt = 0; attempt < 3; ++attempt) {
      spaced_run = run_snapshot(ns(), f.args(""));
      glued_run = run_snapshot(ns(), glued.args(""));
      diff = diff_rows(parse_ss(spaced_run.out), parse_ss(glued_run.out));
      if (diff.empty()) break;
    }
    EXPECT_EQ(spaced_run.status, 0) << f.describe() << "\n" << spaced_run.err;
    EXPECT_EQ(glued_run.status, 0) << glued.describe() << "\n" << glued_run.err;
    EXPECT_EQ(diff, "") << "seed " << seed << ": " << glued.describe() << "\nvs " << f.describe();
  }
  EXPECT_GE(compared, 20u) << "too few generated filters with parentheses";
  // That this is an extension: ss refuses the attached form.
  RunResult ss = run_ss(ns(), {"-tan", "(sport = :8080)"});
  EXPECT_NE(ss.status, 0) << "ss now accepts attached parentheses:\n" << ss.out;
}

}  // namespace
}  // namespace sstrace::e2e
