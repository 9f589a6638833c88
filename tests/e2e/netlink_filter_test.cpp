// `netlink:PROTO:PORTID` addresses in filters (issue 13, "ss's surface"),
// on real netlink sockets with known port ids in a test namespace, against
// ss: the same rows for every form ss reads (names, numbers, `kernel`, `*`,
// negative autobound ids, src and dst, after -f netlink), and a usage error
// where ss refuses the address too.
//
// The shared comparisons (compare_with_ss) leave every non-kernel netlink
// socket out, as the listing tool's own; here the rows of our sockets are
// kept and only the tools' own are left out, by port id.
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace sstrace::e2e {
namespace {

class NetlinkFilter : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
    // Port ids above any pid (pid_max is at most 2^22), so that no
    // process name stands in for them.
    ours_.insert(std::to_string(bind_netlink(NETLINK_ROUTE, 4200001)));
    ours_.insert(std::to_string(bind_netlink(NETLINK_GENERIC, 4200002)));
    ours_.insert(std::to_string(bind_netlink(NETLINK_SOCK_DIAG, 4200003)));
    ours_.insert(std::to_string(bind_netlink(NETLINK_ROUTE, 4200004)));
    // Two autobound usersock sockets: the first may take our pid as its
    // id, the second gets a negative one (netlink_autobind()).
    ours_.insert(std::to_string(bind_netlink(NETLINK_USERSOCK, 0)));
    autobound_ = bind_netlink(NETLINK_USERSOCK, 0);
    ours_.insert(std::to_string(autobound_));
  }
  void TearDown() override {
    socks_.reset();
    ns_.reset();
  }

  // A netlink socket of `protocol` in the namespace bound to `portid` (0:
  // the kernel picks); returns its port id as ss prints it (an int).
  int32_t bind_netlink(int protocol, uint32_t portid) {
    return ns_->call([&] {
      const int fd = socks_->adopt(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
      if (fd < 0) throw std::runtime_error("socket AF_NETLINK: " + std::string(strerror(errno)));
      sockaddr_nl a{};
      a.nl_family = AF_NETLINK;
      a.nl_pid = portid;
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("bind netlink: " + std::string(strerror(errno)));
      socklen_t len = sizeof a;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("getsockname netlink");
      return static_cast<int32_t>(a.nl_pid);
    });
  }

  // Rows of a -n listing of netlink sockets alone, as text, with the
  // listing tool's own sockets (neither the kernel's nor ours) left out.
  std::multiset<std::string> rows(const RunResult& r) const {
    SsLayout layout;
    layout.kind = "nl";
    std::multiset<std::string> out;
    for (const SsRow& row : parse_ss(r.out, layout).rows) {
      if (row.local_port != "0" && !ours_.count(row.local_port)) continue;
      out.insert(join_tokens(row));
    }
    return out;
  }

  // `ss -f netlink -an FILTER` and `sstrace snapshot` alike list the same
  // rows; returns them.
  std::multiset<std::string> expect_same_rows(const std::vector<std::string>& filter) {
    std::vector<std::string> args{"-f", "netlink", "-an"};
    args.insert(args.end(), filter.begin(), filter.end());
    RunResult theirs = run_ss(*ns_, args);
    RunResult mine = run_snapshot(*ns_, args);
    EXPECT_EQ(theirs.status, 0) << shell_join(args) << ": " << theirs.err;
    EXPECT_EQ(mine.status, 0) << shell_join(args) << ": " << mine.err;
    std::multiset<std::string> want = rows(theirs), got = rows(mine);
    EXPECT_EQ(got, want) << shell_join(args) << "\nss:\n" << theirs.out << "sstrace:\n" << mine.out;
    return want;
  }

  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
  std::set<std::string> ours_;
  int32_t autobound_ = 0;
};

size_t count_with(const std::multiset<std::string>& rows, const std::string& part) {
  size_t n = 0;
  for (const std::string& r : rows) n += r.find(part) != std::string::npos;
  return n;
}

TEST_F(NetlinkFilter, netlink_addresses_select_what_ss_selects) {
  ASSERT_LT(autobound_, 0) << "the second autobound socket should have a negative id";
  const std::multiset<std::string> all = expect_same_rows({});
  ASSERT_GE(all.size(), ours_.size() + 2) << "our sockets and the kernel's";

  struct Case {
    std::vector<std::string> filter;
    size_t at_least;  // rows ss lists, so that no case passes empty
  };
  const std::string neg = std::to_string(autobound_);
  const std::vector<Case> cases = {
      {{"src", "netlink:rtnl:kernel"}, 1},
      {{"src", "netlink:rtnl"}, 3},
      {{"src", "netlink:0"}, 3},
      {{"src", "netlink:genl:*"}, 1},
      {{"src", "netlink:0x10"}, 1},
      {{"src", "netlink:*:4200001"}, 1},
      {{"src", "netlink:tcpdiag:4200003"}, 1},
      {{"src", "netlink:usersock:" + neg}, 1},
      {{"src", "netlink:*:kernel"}, 2},
      {{"src", "netlink:*"}, all.size()},
      {{"src", "netlink:"}, all.size()},
      {{"dst", "netlink:*"}, all.size()},
      {{"dst", "netlink:rtnl"}, all.size()},
      {{"not", "src", "netlink:rtnl"}, 3},
      {{"src", "netlink:rtnl", "or", "src", "netlink:usersock"}, 5},
      {{"src", "netlink:rtnl", "and", "not", "src", "netlink:*:kernel"}, 2},
      // After -f netlink, addresses are netlink ones without the prefix.
      {{"src", "rtnl:kernel"}, 1},
      {{"sport", "=", ":4200002"}, 1},
      {{"sport", "=", "4200002"}, 1},
      {{"sport", "!=", "kernel"}, 6},
      {{"src", "genl", "and", "sport", "!=", ":0"}, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(shell_join(c.filter));
    std::multiset<std::string> got = expect_same_rows(c.filter);
    EXPECT_GE(got.size(), c.at_least);
  }
  // A port id never matches the peer (ss gives it -1): nothing at all.
  EXPECT_EQ(expect_same_rows({"dst", "netlink:rtnl:kernel"}).size(), 0u);
  EXPECT_EQ(expect_same_rows({"dst", "netlink:*:4200001"}).size(), 0u);
  // The rows that matched are the right ones, by what they print.
  EXPECT_EQ(count_with(expect_same_rows({"src", "netlink:*:4200001"}), "4200001"), 1u);
}

TEST_F(NetlinkFilter, netlink_addresses_narrow_any_listing_to_netlink_sockets) {
  // Like unix: or link:, a netlink: address keeps only its family's table.
  for (const char* base : {"-a", "-A all -a", "-tuxan"}) {
    std::vector<std::string> args = shell_split(base);
    args.insert(args.end(), {"src", "netlink:rtnl"});
    RunResult theirs = run_ss(*ns_, args);
    RunResult mine = run_snapshot(*ns_, args);
    ASSERT_EQ(theirs.status, 0) << theirs.err;
    ASSERT_EQ(mine.status, 0) << mine.err;
    EXPECT_EQ(mine.out, theirs.out) << base;
  }
}

TEST_F(NetlinkFilter, addresses_ss_cannot_read_are_usage_errors) {
  for (const char* word : {"netlink:rtnl:bob", "netlink:nosuch", "netlink:256", "netlink:kernel"}) {
    RunResult theirs = run_ss(*ns_, {"-A", "netlink", "src", word});
    RunResult mine = run_snapshot(*ns_, {"-A", "netlink", "src", word});
    EXPECT_NE(theirs.status, 0) << word << ": ss accepted it";
    EXPECT_EQ(mine.status, 2) << word << ": " << mine.err;
    ASSERT_EQ(mine.err_lines().size(), 1u) << mine.err;
    EXPECT_EQ(mine.err.rfind("sstrace: ", 0), 0u) << mine.err;
    EXPECT_EQ(mine.out, "");
  }
}

}  // namespace
}  // namespace sstrace::e2e
