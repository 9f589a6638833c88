// Why connections fail and resets are sent (CONTRACT.md "Why it churns"),
// with the kernel as the judge: a refused connect, one whose SYNs are
// dropped until it times out, one with an unreachable route, one with no
// local port left, each named once with the kernel's errno and attributed
// to the process that called connect(); and the reset reasons the kernel
// gives for close() with unread data, SO_LINGER 0 and a closed port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

std::vector<Json> of_type(const std::vector<Json>& events, const char* type) {
  std::vector<Json> out;
  for (const Json& e : events)
    if (is_type(e, type)) out.push_back(e);
  return out;
}

constexpr int kRefusedPort = 7101;  // nothing listens
constexpr int kDroppedPort = 7102;  // a listener whose SYNs nft drops
constexpr int kBusyPort = 7103;     // a listener: its two ephemeral ports held

TEST(LiveStream, failed_connects_name_the_kernels_error_once) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  // One SYN retransmission, then ETIMEDOUT (1 s + 2 s).
  ns.must({"sysctl", "-q", "-w", "net.ipv4.tcp_syn_retries=1"});
  ns.must({"sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40001"});
  ns.must({"ip", "route", "add", "unreachable", "10.77.0.0/16"});
  ns.nft(
      "table inet lvwhy {\n"
      "  chain input {\n"
      "    type filter hook input priority 0; policy accept;\n"
      "    tcp dport " +
      std::to_string(kDroppedPort) +
      " tcp flags & (syn | ack) == syn drop\n"
      "  }\n"
      "}\n");
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  // top beside the stream: its first frame says it is attached.
  LiveTrace::Config top_cfg;
  top_cfg.command = {"top"};
  top_cfg.args = {"--interval", "1"};
  LiveTrace top(ns, top_cfg);
  ASSERT_TRUE(top.wait_for([](const Json& e) { return is_type(e, "top"); }, 30s)) << top.describe();
  auto before = tcp_snmp(ns);

  Worker server(ns, "why-server", endpoint_commands);
  Worker busy(ns, "why-busy", endpoint_commands);
  Worker client(ns, "why-client", connector_commands);
  server.call("listen 127.0.0.1 " + std::to_string(kBusyPort));
  busy.call("listen 127.0.0.1 " + std::to_string(kDroppedPort));

  EXPECT_EQ(client.call("connect 127.0.0.1 " + std::to_string(kRefusedPort)), "errno ECONNREFUSED");
  EXPECT_EQ(client.call("connect 127.0.0.1 " + std::to_string(kDroppedPort), 30s),
            "errno ETIMEDOUT");
  // An `unreachable` route fails ip_route_connect() in tcp_v4_connect(),
  // before the socket leaves CLOSE: a connect_error, no close.
  EXPECT_EQ(client.call("connect 10.77.0.1 80"), "errno EHOSTUNREACH");
  // Both ports of the range toward one destination, then none left:
  // inet_hash_connect() fails after CLOSE -> SYN-SENT, and connect() puts
  // the socket back in CLOSE without a SYN.
  EXPECT_EQ(words(client.call("connect 127.0.0.1 " + std::to_string(kBusyPort))).at(0), "ok");
  EXPECT_EQ(words(client.call("connect 127.0.0.1 " + std::to_string(kBusyPort))).at(0), "ok");
  EXPECT_EQ(client.call("connect 127.0.0.1 " + std::to_string(kBusyPort)), "errno EADDRNOTAVAIL");

  auto after = tcp_snmp(ns);
  client.send("exit");
  server.send("exit");
  busy.send("exit");
  EXPECT_EQ(client.wait_exit(), 0);
  usleep(1200 * 1000);  // top's last whole interval covers them all
  ASSERT_EQ(live.stop(), 0) << live.describe();
  ASSERT_EQ(top.stop(), 0) << top.describe();

  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();

  // top: every failure once, by its error (rates times interval lengths).
  std::map<std::string, double> top_failed_by;
  double top_failed = 0, top_opens_out = 0;
  for (const Json& f : top.events()) {
    ASSERT_TRUE(events_schema().validate(f).empty()) << f.dump();
    const double s = f["interval_s"].get<double>();
    top_failed += f["totals"]["failed"].get<double>() * s;
    top_opens_out += f["totals"]["opens_out"].get<double>() * s;
    if (f["totals"].contains("failed_by"))
      for (auto& [name, rate] : f["totals"]["failed_by"].items())
        top_failed_by[name] += rate.get<double>() * s;
  }
  EXPECT_EQ(std::lround(top_failed), 4) << top.describe();
  // Active opens as the kernel counts them (TcpActiveOpens, in
  // tcp_connect()): the refused, timed-out and two held connects, not the
  // one whose SYN-SENT connect() undid for want of a port.
  EXPECT_EQ(after["ActiveOpens"] - before["ActiveOpens"], 4u);
  EXPECT_EQ(std::lround(top_opens_out), 4) << top.describe();
  std::map<std::string, long> got;
  for (auto& [name, n] : top_failed_by) got[name] = std::lround(n);
  std::map<std::string, long> want = {
      {"ECONNREFUSED", 1}, {"ETIMEDOUT", 1}, {"EHOSTUNREACH", 1}, {"EADDRNOTAVAIL", 1}};
  EXPECT_EQ(got, want) << top.describe();

  // Failed closes: one per attempt that sent a SYN, with the kernel's error.
  std::map<std::string, Json> failure_of_port;
  size_t failed_closes = 0;
  for (const Json& c : of_type(events, "close")) {
    if (str(c, "closed_by") != "failed") continue;
    ++failed_closes;
    if (c.contains("failure")) failure_of_port[std::to_string(num(c, "rport"))] = c;
    EXPECT_EQ(num(c, "pid"), client.pid()) << c.dump();
    EXPECT_TRUE(c.contains("syn_retrans")) << c.dump();
  }
  ASSERT_TRUE(failure_of_port.count(std::to_string(kRefusedPort))) << live.describe();
  ASSERT_TRUE(failure_of_port.count(std::to_string(kDroppedPort))) << live.describe();
  const Json& refused = failure_of_port[std::to_string(kRefusedPort)];
  const Json& timed_out = failure_of_port[std::to_string(kDroppedPort)];
  EXPECT_EQ(str(refused, "failure"), "ECONNREFUSED") << refused.dump();
  EXPECT_EQ(num(refused, "syn_retrans"), 0) << refused.dump();
  EXPECT_EQ(str(timed_out, "failure"), "ETIMEDOUT") << timed_out.dump();
  EXPECT_GE(num(timed_out, "syn_retrans"), 1) << timed_out.dump();
  // The failed closes with a failure are the kernel's TcpAttemptFails.
  EXPECT_EQ(failure_of_port.size(), after["AttemptFails"] - before["AttemptFails"]);
  // The no-port attempt closed too (its SYN-SENT undone), with no failure.
  EXPECT_EQ(failed_closes, 3u);

  // connect_error: the unreachable route and the missing port, once each,
  // never the refused or timed-out attempts (their error is the close's).
  auto errors = of_type(events, "connect_error");
  ASSERT_EQ(errors.size(), 2u) << live.describe();
  EXPECT_EQ(str(errors[0], "errno"), "EHOSTUNREACH") << errors[0].dump();
  EXPECT_EQ(str(errors[0], "raddr"), "10.77.0.1");
  EXPECT_EQ(num(errors[0], "rport"), 80);
  EXPECT_EQ(str(errors[1], "errno"), "EADDRNOTAVAIL") << errors[1].dump();
  EXPECT_EQ(str(errors[1], "raddr"), "127.0.0.1");
  EXPECT_EQ(num(errors[1], "rport"), kBusyPort);
  for (const Json& e : errors) {
    EXPECT_EQ(num(e, "pid"), client.pid()) << e.dump();
    EXPECT_EQ(str(e, "comm"), "why-client") << e.dump();
    EXPECT_EQ(str(e, "state"), "CLOSE") << e.dump();
  }
}

TEST(LiveStream, sent_resets_carry_the_kernels_reason) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();

  Worker server(ns, "why-server", endpoint_commands);
  Worker client(ns, "why-client", endpoint_commands);
  int port = std::stoi(words(server.call("listen 127.0.0.1 0")).at(1));
  // close() with unread data: the server resets (tcp_close()).
  server.send("accept");
  client.call("connect 127.0.0.1 " + std::to_string(port));
  server.recv();
  client.call("send 100");
  usleep(200 * 1000);  // the 100 bytes are in the server's receive queue
  server.call("close");
  client.call("reset");
  client.call("close");
  // SO_LINGER 0: the client resets.
  server.send("accept");
  client.call("connect 127.0.0.1 " + std::to_string(port));
  server.recv();
  client.call("linger0");
  server.call("reset");
  server.call("close");
  client.send("exit");
  server.send("exit");
  // A segment to a closed port: the kernel resets it with no socket.
  Worker stray(ns, "why-stray", connector_commands);
  EXPECT_EQ(stray.call("connect 127.0.0.1 7199"), "errno ECONNREFUSED");
  stray.send("exit");
  usleep(300 * 1000);
  ASSERT_EQ(live.stop(), 0) << live.describe();

  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  std::vector<std::string> reasons;
  for (const Json& r : of_type(events, "reset")) {
    if (str(r, "dir") != "sent") {
      EXPECT_FALSE(r.contains("reason")) << r.dump();
      continue;
    }
    ASSERT_TRUE(r.contains("reason")) << r.dump();
    reasons.push_back(str(r, "reason"));
    if (str(r, "reason") == "no_socket") {
      EXPECT_EQ(num(r, "cookie"), 0) << r.dump();
      EXPECT_EQ(num(r, "lport"), 7199) << r.dump();
      EXPECT_FALSE(r.contains("pid")) << r.dump();
    }
  }
  std::string all;
  for (auto& r : reasons) all += r + " ";
  ASSERT_EQ(reasons.size(), 3u) << all << "\n" << live.describe();
  EXPECT_EQ(reasons[0], "tcp_abort_on_close") << all;
  // SO_LINGER 0 on an established socket: tcp_close() -> tcp_disconnect(),
  // whose reset is for the state it left.
  EXPECT_EQ(reasons[1], "tcp_state") << all;
  EXPECT_EQ(reasons[2], "no_socket") << all;
}

}  // namespace
}  // namespace sstrace::e2e
