// One socket, one spelling: a [::] listener that also takes IPv4
// (IPV6_V6ONLY off) is laddr "*" in its snapshot, state and table events,
// as ss prints it; a v6only one is "::" in all of them. Both for sockets
// the seeding dump found and for sockets created while sstrace runs.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

constexpr uint16_t kSeededDual = 7101, kSeededV6only = 7102;
constexpr uint16_t kLiveDual = 7103, kLiveV6only = 7104;

// A listener on [::]:port with IPV6_V6ONLY set as asked (explicitly, not
// left to net.ipv6.bindv6only).
int listen_any6(uint16_t port, bool v6only) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int v = v6only ? 1 : 0;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v) < 0)
    throw std::runtime_error(std::string("IPV6_V6ONLY: ") + std::strerror(errno));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_any;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd, 16) < 0)
    throw std::runtime_error(std::string("bind/listen: ") + std::strerror(errno));
  return fd;
}

TEST(LiveStream, a_dual_stack_wildcard_is_star_in_every_event) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketHolder holder(ns, "lv-holder", [](SocketSet& s) {
    s.ns().call([&] {
      s.adopt(listen_any6(kSeededDual, false));
      s.adopt(listen_any6(kSeededV6only, true));
      return 0;
    });
  });
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();

  Worker w(ns, "lv-v6only", [](Channel& ch) {
    int a = listen_any6(kLiveDual, false);
    int b = listen_any6(kLiveV6only, true);
    ch.send("ok");
    ch.recv();
    close(a);
    close(b);
  });
  ASSERT_EQ(w.recv(), "ok");
  for (uint16_t port : {kLiveDual, kLiveV6only})
    ASSERT_TRUE(live.wait_for(
        [&](const Json& e) {
          return is_type(e, "state") && num(e, "lport") == port && str(e, "new") == "LISTEN";
        },
        20s))
        << live.describe();
  auto table = live.dump_table();
  ASSERT_FALSE(table.empty()) << live.describe();
  w.send("done");
  ASSERT_EQ(live.stop(), 0) << live.describe();

  const std::map<int64_t, std::string> want = {
      {kSeededDual, "*"}, {kSeededV6only, "::"}, {kLiveDual, "*"}, {kLiveV6only, "::"}};
  std::map<std::string, std::map<int64_t, int>> seen;  // type -> port -> events
  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  for (const Json& e : events) {
    if (!e.is_object() || !e.contains("lport")) continue;
    auto it = want.find(num(e, "lport"));
    if (it == want.end()) continue;
    EXPECT_EQ(str(e, "laddr"), it->second) << e.dump();
    EXPECT_EQ(str(e, "family"), "inet6") << e.dump();
    ++seen[str(e, "type")][it->first];
  }
  EXPECT_EQ(seen["snapshot"][kSeededDual], 1) << live.describe();
  EXPECT_EQ(seen["snapshot"][kSeededV6only], 1) << live.describe();
  EXPECT_GE(seen["state"][kLiveDual], 1) << live.describe();
  EXPECT_GE(seen["state"][kLiveV6only], 1) << live.describe();
  for (uint16_t port : {kSeededDual, kSeededV6only, kLiveDual, kLiveV6only})
    EXPECT_EQ(seen["table"][port], 1) << "port " << port << live.describe();
}

}  // namespace
}  // namespace sstrace::e2e
