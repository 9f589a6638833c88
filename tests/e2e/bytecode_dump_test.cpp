// The snapshot's filter runs in the kernel: the dump run_snapshot makes
// (cli::snapshot_dump_request) carries the filter's inet_diag bytecode, and
// the kernel then sends only the sockets that match. Checked on the real
// dump path with SockDiag's own count of the records it received
// (DumpStats::sockets), among a couple of thousand sockets of which a dozen
// match.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/snapshot_cmd.h"
#include "diag/sock_diag.h"
#include "filter/filter.h"
#include "harness.h"

namespace sstrace::e2e {
namespace {

constexpr uint16_t kTcpBase = 20000;
constexpr int kTcpListeners = 2000;
constexpr uint16_t kUdpBase = 10000;
constexpr int kUdpSockets = 200;
// Matches ports 21990-21999 and 20000 of the TCP listeners and 10007 of
// the UDP sockets: 12 of 2200.
constexpr const char* kFilter = "( sport >= :21990 or sport = :20000 or sport = :10007 )";
const std::set<uint16_t> kMatchingPorts = {20000, 21990, 21991, 21992, 21993, 21994,
                                           21995, 21996, 21997, 21998, 21999, 10007};

// `count` sockets of `type` bound to 127.0.0.1:base.. (listening if TCP),
// made in one pass inside the namespace; the set holds them.
void bind_many(SocketSet& set, int type, uint16_t base, int count) {
  std::vector<int> fds = set.ns().call([&] {
    std::vector<int> out;
    for (int i = 0; i < count; ++i) {
      int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
      if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
      out.push_back(fd);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(base + i));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 ||
          (type == SOCK_STREAM && listen(fd, 4) < 0)) {
        for (int f : out) ::close(f);
        throw std::runtime_error("bind/listen port " + std::to_string(base + i) + ": " +
                                 std::strerror(errno));
      }
    }
    return out;
  });
  for (int fd : fds) set.adopt(fd);
}

cli::Options snapshot_options(const std::vector<std::string>& args) {
  std::vector<std::string> store{"sstrace", "snapshot"};
  store.insert(store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : store) argv.push_back(s.data());
  argv.push_back(nullptr);
  auto opts = cli::parse_options(static_cast<int>(store.size()), argv.data());
  if (!opts) throw std::runtime_error("no options from " + shell_join(store));
  return *opts;
}

// What one dump delivered: the ports of the sockets the filter accepts,
// how many sockets the callback saw, and SockDiag's counters.
struct DumpResult {
  std::multiset<uint16_t> matching_ports;
  uint64_t delivered = 0;
  diag::DumpStats stats;
};

DumpResult dump(const Netns& ns, const diag::DumpRequest& req, const filter::Filter& f) {
  auto diag = diag::SockDiag::open_in(ns.name());
  if (!diag) throw std::runtime_error("open_in: " + diag.error().str());
  DumpResult r;
  auto done = diag->dump(req, [&](const diag::SockInfo& s) {
    ++r.delivered;
    if (f.matches(s)) r.matching_ports.insert(s.local.port);
  });
  if (!done) throw std::runtime_error("dump: " + done.error().str());
  r.stats = diag->last_stats();
  return r;
}

class BytecodeDump : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    raise_fd_limit();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
    bind_many(*socks_, SOCK_STREAM, kTcpBase, kTcpListeners);
    bind_many(*socks_, SOCK_DGRAM, kUdpBase, kUdpSockets);
  }
  void TearDown() override {
    socks_.reset();
    ns_.reset();
  }
  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
};

TEST_F(BytecodeDump, kernel_sends_only_the_matching_sockets) {
  const cli::Options opts = snapshot_options({"-tuan", kFilter});
  const filter::Filter f = cli::snapshot_filter(opts);
  const diag::DumpRequest req = cli::snapshot_dump_request(opts, f);
  ASSERT_FALSE(req.inet_bytecode.empty()) << "the snapshot sends no bytecode for " << kFilter;
  ASSERT_FALSE(req.raw) << "RAW sockets come from /proc here, unfiltered by the kernel";

  DumpResult filtered = dump(*ns_, req, f);
  // Every record the kernel sent matched: it applied the bytecode.
  EXPECT_EQ(filtered.stats.sockets, kMatchingPorts.size());
  EXPECT_EQ(filtered.delivered, filtered.stats.sockets);
  EXPECT_EQ(filtered.matching_ports,
            std::multiset<uint16_t>(kMatchingPorts.begin(), kMatchingPorts.end()));

  // The same dump without the bytecode: the kernel sends the whole
  // population, and the user-space check alone finds the same sockets.
  diag::DumpRequest unfiltered_req = req;
  unfiltered_req.inet_bytecode.clear();
  DumpResult unfiltered = dump(*ns_, unfiltered_req, f);
  EXPECT_GE(unfiltered.stats.sockets, uint64_t{kTcpListeners + kUdpSockets});
  EXPECT_EQ(unfiltered.matching_ports, filtered.matching_ports);
  // Several netlink datagrams for the whole population, fewer for the dozen.
  EXPECT_LT(filtered.stats.datagrams, unfiltered.stats.datagrams);
}

TEST_F(BytecodeDump, the_binary_lists_the_same_sockets) {
  // The CLI on top of that dump: the matching listeners, nothing else.
  RunResult r = run_snapshot(*ns_, {"-tuanH", kFilter});
  ASSERT_EQ(r.status, 0) << r.err;
  std::multiset<uint16_t> ports;
  for (const auto& row :
       parse_ss(r.out, SsLayout{.header = false, .netid = true, .state = true}).rows)
    ports.insert(static_cast<uint16_t>(std::stoi(row.local_port)));
  EXPECT_EQ(ports, std::multiset<uint16_t>(kMatchingPorts.begin(), kMatchingPorts.end())) << r.out;
}

}  // namespace
}  // namespace sstrace::e2e
