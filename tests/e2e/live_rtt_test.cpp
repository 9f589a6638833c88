// RTT that rises and falls: the client's data crosses a veth whose egress
// is a 1 Mbit/s tbf queue of up to 400 ms. A bulk transfer fills it (srtt
// rises to hundreds of ms), then small request/response pings over the
// empty queue bring srtt back down. The rtt events show both, and stay far
// fewer than the segments: the change detection runs in the kernel.
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

constexpr int kPort = 5301;
constexpr int64_t kHighSrttUs = 100'000;  // the queue adds up to 400 ms
constexpr int64_t kLowSrttUs = 20'000;    // veth without a queue: well under 1 ms

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in v4(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad ip " + ip);
  return a;
}

// Echoes one 'P' for every 'p' it reads, swallows bulk bytes, closes at EOF.
void echo_server(Channel& ch, const std::string& ip) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = v4(ip, kPort);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) fail_errno("bind");
  if (listen(l, 16) < 0) fail_errno("listen");
  ch.send("ok");
  int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) fail_errno("accept");
  char buf[65536];
  for (;;) {
    ssize_t n = read(c, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("read");
    if (n == 0) break;
    size_t pings = static_cast<size_t>(std::count(buf, buf + n, 'p'));
    std::string reply(pings, 'P');
    if (!reply.empty() && write(c, reply.data(), reply.size()) < 0) fail_errno("write");
  }
  close(c);
  close(l);
  ch.send("ok");
  ch.recv();
}

// Commands: "connect IP", "bulk" (until "stop"), "ping" (until "stop"),
// "finish" (close both ways, wait for CLOSE).
void rtt_client(Channel& ch) {
  int fd = -1;
  for (;;) {
    std::string line = ch.recv();
    if (line.empty() || line == "exit") break;
    auto w = words(line);
    if (w[0] == "connect") {
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      // A small send buffer: enough in flight to fill the 50 KB queue, and
      // little to drain at 1 Mbit/s once the bulk stops.
      int sndbuf = 65536;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
      sockaddr_in a = v4(w.at(1), kPort);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) fail_errno("connect");
      sockaddr_in me{};
      socklen_t len = sizeof(me);
      getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len);
      ch.send("ok " + std::to_string(ntohs(me.sin_port)));
    } else if (w[0] == "bulk") {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      std::string chunk(16384, 'b');
      size_t sent = 0;
      while (!ch.pending()) {
        pollfd p[2] = {{fd, POLLOUT, 0}, {ch.fd(), POLLIN, 0}};
        poll(p, 2, 100);
        if (!(p[0].revents & POLLOUT)) continue;
        ssize_t n = write(fd, chunk.data(), chunk.size());
        if (n > 0) sent += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN) fail_errno("write");
      }
      if (ch.recv() != "stop") throw std::runtime_error("bulk: expected stop");
      // Wait until everything is acknowledged: the queue is empty again.
      for (int i = 0; i < 6000; ++i) {
        int outq = 0;
        ioctl(fd, SIOCOUTQ, &outq);
        if (outq == 0) break;
        usleep(10000);
      }
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      ch.send("ok " + std::to_string(sent));
    } else if (w[0] == "ping") {
      size_t pings = 0;
      while (!ch.pending()) {
        char b = 'p';
        if (write(fd, &b, 1) != 1) fail_errno("write ping");
        if (read(fd, &b, 1) != 1 || b != 'P') fail_errno("read pong");
        ++pings;
        usleep(10000);
      }
      if (ch.recv() != "stop") throw std::runtime_error("ping: expected stop");
      ch.send("ok " + std::to_string(pings));
    } else if (w[0] == "finish") {
      shutdown(fd, SHUT_WR);
      char b[256];
      while (read(fd, b, sizeof(b)) > 0) {
      }
      close(fd);
      fd = -1;
      ch.send("ok");
    } else {
      throw std::runtime_error("unknown command " + line);
    }
  }
}

TEST(LiveStream, rtt_rises_under_a_full_queue_and_falls_back) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns server_ns, client_ns;
  VethLink link = connect_veth(server_ns, client_ns, 77);
  client_ns.must({"tc", "qdisc", "add", "dev", link.dev_b, "root", "tbf", "rate", "1mbit", "burst",
                  "10kb", "latency", "400ms"});
  LiveTrace live(client_ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  auto before = tcp_snmp(client_ns);

  std::string server_ip = link.ip4_a;
  Worker server(server_ns, "lv-echo", [&](Channel& ch) { echo_server(ch, server_ip); });
  ASSERT_EQ(server.recv(), "ok");
  Worker client(client_ns, "lv-rtt", rtt_client);
  int64_t lport = std::stoi(words(client.call("connect " + server_ip)).at(1));
  auto ours = [&](const Json& e) { return num(e, "lport") == lport && num(e, "rport") == kPort; };

  client.send("bulk");
  auto high = live.wait_for(
      [&](const Json& e) {
        return is_type(e, "rtt") && ours(e) && num(e, "srtt_us") >= kHighSrttUs;
      },
      30s);
  client.send("stop");
  client.recv(90s);
  ASSERT_TRUE(high) << "srtt never rose above " << kHighSrttUs << " us" << live.describe(60);

  client.send("ping");
  auto low = live.wait_for(
      [&](const Json& e) {
        return is_type(e, "rtt") && ours(e) && num(e, "srtt_us") <= kLowSrttUs;
      },
      30s, *high + 1);
  client.send("stop");
  client.recv();
  ASSERT_TRUE(low) << "srtt never fell back under " << kLowSrttUs << " us" << live.describe(60);

  client.call("finish", 60s);
  EXPECT_EQ(server.recv(60s), "ok");
  auto after = tcp_snmp(client_ns);
  EXPECT_TRUE(live.wait_for([&](const Json& e) { return is_type(e, "close") && ours(e); }, 20s));
  ASSERT_EQ(live.stop(), 0) << live.describe();

  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), client_ns.inode())) << live.describe();
  std::vector<Json> rtts;
  for (const Json& e : events)
    if (is_type(e, "rtt") && ours(e)) rtts.push_back(e);
  ASSERT_GE(rtts.size(), 2u);
  // prev_srtt_us is the last value reported for the socket: the events
  // form a chain starting from none (the first event has no prev_srtt_us).
  int64_t prev = 0, lowest = INT64_MAX, highest = 0;
  for (const Json& e : rtts) {
    if (prev == 0)
      EXPECT_FALSE(e.contains("prev_srtt_us")) << e.dump();
    else
      EXPECT_EQ(num(e, "prev_srtt_us"), prev) << e.dump();
    prev = num(e, "srtt_us");
    lowest = std::min(lowest, prev);
    highest = std::max(highest, prev);
    EXPECT_GT(num(e, "rttvar_us"), 0) << e.dump();
    EXPECT_GT(num(e, "cwnd"), 0) << e.dump();
    EXPECT_GT(num(e, "min_rtt_us"), 0) << e.dump();
    EXPECT_LE(num(e, "min_rtt_us"), num(e, "srtt_us")) << e.dump();
    EXPECT_EQ(num(e, "pid"), client.pid()) << e.dump();
    EXPECT_EQ(str(e, "comm"), "lv-rtt") << e.dump();
    EXPECT_EQ(str(e, "laddr"), link.ip4_b) << e.dump();
    EXPECT_EQ(str(e, "raddr"), link.ip4_a) << e.dump();
  }
  // Far fewer events than segments: user space is not woken per ACK.
  uint64_t in_segs = after.at("InSegs") - before.at("InSegs");
  EXPECT_LE(rtts.size() * 10, in_segs)
      << rtts.size() << " rtt events for " << in_segs << " segments received";
  // The close summary's RTT statistics cover every sample, reported or not.
  auto st = stories(events);
  EXPECT_TRUE(chains_are_consistent(st));
  const Json* close = nullptr;
  for (const Json& e : events)
    if (is_type(e, "close") && ours(e)) close = &e;
  ASSERT_NE(close, nullptr);
  EXPECT_LE(num(*close, "min_srtt_us"), lowest) << close->dump();
  EXPECT_GE(num(*close, "max_srtt_us"), highest) << close->dump();
  EXPECT_GE(num(*close, "avg_srtt_us"), num(*close, "min_srtt_us")) << close->dump();
  EXPECT_LE(num(*close, "avg_srtt_us"), num(*close, "max_srtt_us")) << close->dump();
  // Nothing from the server's namespace.
  for (const Json& e : events) {
    if (!e.contains("netns")) continue;
    EXPECT_EQ(num(e, "netns"), static_cast<int64_t>(client_ns.inode())) << e.dump();
  }
  client.send("exit");
  server.send("exit");
}

}  // namespace
}  // namespace sstrace::e2e
