// A UNIX listener's connections not yet accepted (issue 13, "ss's
// surface"): with -e, ss asks the kernel for them (UDIAG_SHOW_ICONS) and
// prints " peers:" and each one's peer inode, that of the connecting
// socket, in queue order. Real listeners with real unaccepted connects,
// against ss, and the inodes against fstat() of the clients.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace sstrace::e2e {
namespace {

class UnixPending : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
  }
  void TearDown() override {
    socks_.reset();
    ns_.reset();
  }

  // Connects to the listener `name` without accepting; returns the client
  // socket's inode (the listener reports its peer: this socket).
  uint64_t connect_unaccepted(const std::string& name, int type = SOCK_STREAM) {
    return ns_->call([&] {
      const int fd = socks_->adopt(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
      if (fd < 0) throw std::runtime_error("socket AF_UNIX: " + std::string(strerror(errno)));
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      const std::string path = socks_->unix_path(name);
      std::memcpy(a.sun_path, path.data(), path.size());
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("connect " + path + ": " + strerror(errno));
      struct stat st {};
      if (::fstat(fd, &st) != 0) throw std::runtime_error("fstat");
      return static_cast<uint64_t>(st.st_ino);
    });
  }

  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
};

// The tokens after "peers:" in the row of the listener whose path ends in
// `name`; nullopt when there is no such row or no "peers:".
std::optional<std::vector<std::string>> peers_of(const SsTable& t, const std::string& name) {
  for (const SsRow& row : t.rows) {
    if (!row.local_addr.ends_with("/" + name)) continue;
    for (size_t i = 0; i < row.extras.size(); ++i) {
      if (row.extras[i] != "peers:") continue;
      std::vector<std::string> out;
      for (size_t j = i + 1; j < row.extras.size() && row.extras[j].find(':') == std::string::npos;
           ++j)
        out.push_back(row.extras[j]);
      return out;
    }
  }
  return std::nullopt;
}

TEST_F(UnixPending, listeners_show_their_unaccepted_peers_as_ss_does) {
  socks_->unix_listen("busy");
  socks_->unix_listen("idle");
  socks_->unix_listen("seq", SOCK_SEQPACKET);
  std::vector<std::string> busy;
  for (int i = 0; i < 3; ++i) busy.push_back(std::to_string(connect_unaccepted("busy")));
  const std::string seq = std::to_string(connect_unaccepted("seq", SOCK_SEQPACKET));
  // An accepted connection leaves the queue: only the other two stay.
  auto accepted = socks_->unix_connect("idle");
  (void)accepted;

  for (const char* args : {"-xae", "-xle", "-xlen", "-xleO", "-xae src */busy"}) {
    SCOPED_TRACE(args);
    Parity p = compare_with_ss(*ns_, shell_split(args));
    EXPECT_TRUE(same_as_ss(p, std::string(args).find("busy") == std::string::npos ? 3 : 1));
    // What ss shows is what the kernel holds: the clients, in connect order.
    auto mine = peers_of(p.sstrace_table, "busy");
    ASSERT_TRUE(mine) << p.sstrace.out;
    EXPECT_EQ(*mine, busy) << p.sstrace.out;
    if (std::string(args).find("busy") == std::string::npos) {
      EXPECT_EQ(peers_of(p.sstrace_table, "seq"), std::vector<std::string>{seq});
      EXPECT_EQ(peers_of(p.sstrace_table, "idle"), std::vector<std::string>{});
    }
  }
  // Without -e neither asks nor prints.
  Parity plain = compare_with_ss(*ns_, {"-xl"});
  EXPECT_TRUE(same_as_ss(plain, 3));
  EXPECT_EQ(plain.sstrace.out.find("peers:"), std::string::npos) << plain.sstrace.out;
}

TEST_F(UnixPending, json_lists_the_pending_peers_of_listeners_only) {
  socks_->unix_listen("busy");
  socks_->unix_listen("idle");
  const uint64_t a = connect_unaccepted("busy");
  const uint64_t b = connect_unaccepted("busy");
  EXPECT_TRUE(json_matches_ss(*ns_, "-xa", 4));
  RunResult r = run_snapshot(*ns_, {"-xae", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string error;
  std::vector<Json> lines = parse_json_lines(r.out, &error);
  ASSERT_EQ(error, "");
  int listeners = 0;
  for (const Json& o : lines) {
    EXPECT_EQ(events_schema().validate(o), std::vector<std::string>{}) << o.dump();
    const std::string local = o.value("laddr", "");
    if (o.value("state", "") != "LISTEN") {
      EXPECT_FALSE(o.contains("pending_peers")) << o.dump();
      continue;
    }
    ++listeners;
    ASSERT_TRUE(o.contains("pending_peers")) << o.dump();
    if (local.ends_with("/busy")) {
      EXPECT_EQ(o["pending_peers"], Json::array({a, b})) << o.dump();
    } else if (local.ends_with("/idle")) {
      EXPECT_EQ(o["pending_peers"], Json::array()) << o.dump();
    }
  }
  EXPECT_EQ(listeners, 2);
  // Without -e the kernel is not asked, and the field is absent.
  RunResult plain = run_snapshot(*ns_, {"-xa", "--json"});
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.out.find("pending_peers"), std::string::npos);
}

}  // namespace
}  // namespace sstrace::e2e
