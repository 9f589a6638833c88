// Alerts (CONTRACT.md "Why it churns") from real traffic in a namespace of
// the test's own, judged by the kernel: a listener that never accepts
// (TcpExtListenDrops), a server that never closes after the client's FIN,
// and a destination that uses up a narrow ip_local_port_range.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

std::vector<Json> alerts_of(const std::vector<Json>& events, const char* kind) {
  std::vector<Json> out;
  for (const Json& e : events)
    if (is_type(e, "alert") && str(e, "kind") == kind) out.push_back(e);
  return out;
}

// Stops the stream (after a moment for the last records) and finds the one
// alert of `kind` in a sound stream.
::testing::AssertionResult the_one_alert(LiveTrace& live, const Netns& ns, const char* kind,
                                         Json* alert) {
  std::this_thread::sleep_for(300ms);
  if (live.stop() != 0) return ::testing::AssertionFailure() << live.describe();
  auto events = live.events();
  if (auto sound = stream_is_sound(events, live.lines(), ns.inode()); !sound) return sound;
  auto alerts = alerts_of(events, kind);
  if (alerts.size() != 1)
    return ::testing::AssertionFailure() << alerts.size() << " " << kind << " alerts, not 1\n"
                                         << live.describe();
  *alert = alerts[0];
  return ::testing::AssertionSuccess();
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// listen IP-less: a backlog-1 listener on 127.0.0.1 that never accepts.
void backlog1_listener(Channel& ch) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 1) != 0)
    throw std::runtime_error("listen failed");
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ch.send("port " + std::to_string(ntohs(a.sin_port)));
  while (ch.recv() != "") {
  }
}

// Many connections at once, scripted:
//   connect PORT N        -> "ok": N non-blocking connects (they may never complete)
//   connect-wait PORT N   -> "ok": N connects, each completed
//   abort                 -> "ok": SO_LINGER 0 and close on each (a reset for
//                            whatever the server half-opened, no more SYNs)
//   close                 -> "ok": close each (our FINs)
void many_clients(Channel& ch) {
  std::vector<int> fds;
  for (;;) {
    auto w = words(ch.recv());
    if (w.empty() || w[0] == "exit") return;
    if (w[0] == "connect" || w[0] == "connect-wait") {
      const bool wait = w[0] == "connect-wait";
      sockaddr_in a = loopback(uint16_t(std::stoi(w.at(1))));
      for (int i = 0; i < std::stoi(w.at(2)); ++i) {
        int fd = socket(AF_INET, SOCK_STREAM | (wait ? 0 : SOCK_NONBLOCK), 0);
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && wait)
          throw std::runtime_error("connect failed");
        fds.push_back(fd);
      }
    } else if (w[0] == "abort" || w[0] == "close") {
      for (int fd : fds) {
        linger l{1, 0};
        if (w[0] == "abort") setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(fd);
      }
      fds.clear();
    }
    ch.send("ok");
  }
}

TEST(LiveAlerts, listen_overflow_drops_equal_the_kernels_listen_drops) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns, {.args = {"--interval", "0.3"}});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  const uint64_t before = tcp_ext(ns).at("ListenDrops");
  Worker server(ns, "ov-server", backlog1_listener);
  const int port = std::stoi(words(server.recv()).at(1));
  Worker clients(ns, "ov-clients", many_clients);
  ASSERT_EQ(clients.call("connect " + std::to_string(port) + " 30"), "ok");
  std::this_thread::sleep_for(1500ms);  // SYNs, a retransmission of some
  ASSERT_EQ(clients.call("abort"), "ok");
  std::this_thread::sleep_for(500ms);  // the resets reach the request sockets
  const uint64_t after = tcp_ext(ns).at("ListenDrops");
  ASSERT_GT(after, before) << "the listener dropped nothing: the test proves nothing";
  auto summed = [&] {
    uint64_t n = 0;
    for (const Json& a : alerts_of(live.events(), "listen_overflow"))
      n += uint64_t(num(a, "drops"));
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (summed() < after - before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(700ms);  // two more checks: nothing more to say
  EXPECT_EQ(tcp_ext(ns).at("ListenDrops"), after) << "the kernel kept dropping";
  ASSERT_EQ(live.stop(), 0) << live.describe();
  auto events = live.events();
  ASSERT_TRUE(stream_is_sound(events, live.lines(), ns.inode()));
  auto alerts = alerts_of(events, "listen_overflow");
  ASSERT_FALSE(alerts.empty()) << live.describe();
  uint64_t sum = 0;
  for (const Json& a : alerts) {
    sum += uint64_t(num(a, "drops"));
    EXPECT_GT(num(a, "drops"), 0) << a.dump();
    EXPECT_EQ(num(a, "lport"), port) << a.dump();
    EXPECT_EQ(str(a, "laddr"), "127.0.0.1") << a.dump();
    EXPECT_EQ(str(a, "state"), "LISTEN") << a.dump();
    EXPECT_EQ(num(a, "pid"), server.pid()) << a.dump();
    EXPECT_EQ(str(a, "comm"), "ov-server") << a.dump();
  }
  EXPECT_EQ(sum, after - before) << live.describe();
}

// "listen": a listener; "accept N": N connections accepted and held open,
// never closed.
void holding_server(Channel& ch) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  std::vector<int> held;
  for (;;) {
    auto w = words(ch.recv());
    if (w.empty() || w[0] == "exit") return;
    if (w[0] == "listen") {
      sockaddr_in a = loopback(0);
      if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(lfd, 64) != 0)
        throw std::runtime_error("listen failed");
      socklen_t len = sizeof a;
      getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
      ch.send("port " + std::to_string(ntohs(a.sin_port)));
    } else if (w[0] == "accept") {
      for (int i = 0; i < std::stoi(w.at(1)); ++i) held.push_back(accept(lfd, nullptr, nullptr));
      ch.send("ok");
    }
  }
}

TEST(LiveAlerts, close_wait_alerts_once_per_connection_after_the_threshold) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns, {.args = {"--close-wait-alert", "1"}});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  Worker server(ns, "cw-server", holding_server);
  Worker clients(ns, "cw-clients", many_clients);
  const std::string port = words(server.call("listen")).at(1);
  ASSERT_EQ(clients.call("connect-wait " + port + " 3"), "ok");
  ASSERT_EQ(server.call("accept 3"), "ok");
  ASSERT_EQ(clients.call("close"), "ok");
  const auto fins = std::chrono::steady_clock::now();
  // Before the threshold: none.
  std::this_thread::sleep_for(700ms);
  EXPECT_TRUE(alerts_of(live.events(), "close_wait").empty()) << live.describe();
  // After it (and twice as long again: still one each).
  std::this_thread::sleep_for(2500ms);
  ASSERT_EQ(live.stop(), 0) << live.describe();
  const auto waited = std::chrono::steady_clock::now() - fins;
  auto events = live.events();
  ASSERT_TRUE(stream_is_sound(events, live.lines(), ns.inode()));
  auto st = stories(events);
  std::map<uint64_t, int> per_cookie;
  for (const Json& a : alerts_of(events, "close_wait")) {
    ++per_cookie[cookie_of(a)];
    EXPECT_EQ(str(a, "state"), "CLOSE-WAIT") << a.dump();
    EXPECT_EQ(num(a, "pid"), server.pid()) << a.dump();
    EXPECT_EQ(str(a, "comm"), "cw-server") << a.dump();
    EXPECT_EQ(num(a, "lport"), std::stoi(port)) << a.dump();
    EXPECT_GE(num(a, "age_us"), 1'000'000) << a.dump();
    EXPECT_LT(num(a, "age_us"),
              std::chrono::duration_cast<std::chrono::microseconds>(waited).count())
        << a.dump();
    const SocketStory& s = st[cookie_of(a)];
    EXPECT_EQ(final_state(s), "CLOSE-WAIT") << a.dump();
  }
  // Exactly the server's three connections, once each.
  size_t in_close_wait = 0;
  for (const auto& [cookie, s] : st)
    if (final_state(s) == "CLOSE-WAIT") {
      ++in_close_wait;
      EXPECT_EQ(per_cookie[cookie], 1) << "sk:" << hex(cookie) << "\n" << live.describe();
    }
  EXPECT_EQ(in_close_wait, 3u) << live.describe();
  EXPECT_EQ(per_cookie.size(), 3u) << live.describe();
}

TEST(LiveAlerts, port_pressure_fires_once_with_in_use_and_range) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  // Ten ports, and no reuse of a TIME-WAIT's port (loopback allows it by
  // default, tcp_tw_reuse 2): every TIME-WAIT holds its port.
  ns.must({"sysctl", "-qw", "net.ipv4.ip_local_port_range=40000 40009"});
  ns.must({"sysctl", "-qw", "net.ipv4.tcp_tw_reuse=0"});
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  Worker server(ns, "pp-server", endpoint_commands);
  Worker client(ns, "pp-client", endpoint_commands);
  ASSERT_EQ(server.call("listen 127.0.0.1 5000"), "port 5000");
  // Nine connections, each closed by the client first: nine TIME-WAITs
  // toward 127.0.0.1:5000. At 80% of 10 the alert fires at the 8th.
  for (int i = 0; i < 9; ++i) {
    server.send("accept");
    ASSERT_EQ(words(client.call("connect 127.0.0.1 5000")).at(0), "ok") << i;
    server.recv();
    orderly_close(client, server);
  }
  ASSERT_TRUE(wait_ss(ns, [](const std::vector<SsSock>& rows) {
    int tw = 0;
    for (const SsSock& r : rows) tw += r.state == "TIME-WAIT" && r.rport == 5000;
    return tw == 9;
  })) << "the kernel does not hold nine TIME-WAITs";
  Json a;
  ASSERT_TRUE(the_one_alert(live, ns, "port_pressure", &a));
  EXPECT_EQ(num(a, "in_use"), 8) << a.dump();
  EXPECT_EQ(num(a, "range"), 10) << a.dump();
  EXPECT_EQ(str(a, "raddr"), "127.0.0.1") << a.dump();
  EXPECT_EQ(num(a, "rport"), 5000) << a.dump();
  EXPECT_EQ(num(a, "netns"), int64_t(ns.inode())) << a.dump();
}

// The kernel's verdict counts too: a port of the range held by a listener
// (connect() skips ports bound by bind()) leaves three of four for the
// destination, so at 100% the count never reaches the line, and the fourth
// connect's EADDRNOTAVAIL raises the alert, once, with the three in use.
TEST(LiveAlerts, no_free_local_port_raises_port_pressure_below_the_line) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  ns.must({"sysctl", "-qw", "net.ipv4.ip_local_port_range=40000 40003"});
  LiveTrace::Config cfg;
  cfg.args = {"--port-pressure-pct", "100"};
  LiveTrace live(ns, cfg);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  Worker server(ns, "pp-server", endpoint_commands);
  Worker blocker(ns, "pp-blocker", endpoint_commands);
  Worker client(ns, "pp-client", connector_commands);
  ASSERT_EQ(server.call("listen 127.0.0.1 5000"), "port 5000");
  ASSERT_EQ(blocker.call("listen 127.0.0.1 40000"), "port 40000");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(words(client.call("connect 127.0.0.1 5000")).at(0), "ok") << i;
  ASSERT_EQ(client.call("connect 127.0.0.1 5000"), "errno EADDRNOTAVAIL");
  ASSERT_EQ(client.call("connect 127.0.0.1 5000"), "errno EADDRNOTAVAIL");
  Json a;
  ASSERT_TRUE(the_one_alert(live, ns, "port_pressure", &a));
  EXPECT_EQ(num(a, "in_use"), 3) << a.dump();
  EXPECT_EQ(num(a, "range"), 4) << a.dump();
  EXPECT_EQ(num(a, "rport"), 5000) << a.dump();
}

}  // namespace
}  // namespace sstrace::e2e
