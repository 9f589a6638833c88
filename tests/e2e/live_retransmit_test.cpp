// Retransmissions against the kernel's own counter: with a share of the
// client's segments dropped on the input hook (real losses: a drop on output
// is sent again without being counted), the segs of every retransmit event
// add up to the namespace's RetransSegs over the same interval.
#include <map>
#include <string>
#include <vector>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

constexpr int kPort = 5201;
constexpr size_t kBulk = 1'500'000;

TEST(LiveStream, retransmitted_segments_add_up_to_the_kernels_count) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  // Loopback's 64 KB MTU makes a transfer a few dozen segments; at 1500 it
  // is a thousand, so losses are repaired by fast retransmit, not only by
  // timeouts.
  ns.must({"ip", "link", "set", "lo", "mtu", "1500"});
  // The first SYN is always lost (a 100-byte quota holds one 60-byte SYN),
  // so that a retransmission in SYN-SENT is part of every run; then a fifth
  // of everything the client sends.
  const std::string port = std::to_string(kPort);
  ns.nft(
      "table inet lvloss {\n"
      "  chain input {\n"
      "    type filter hook input priority 0; policy accept;\n"
      "    tcp dport " +
      port +
      " tcp flags & (syn | ack) == syn quota until 100 bytes drop\n"
      "    tcp dport " +
      port +
      " numgen random mod 10 < 2 drop\n"
      "  }\n"
      "}\n");
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  auto before = tcp_snmp(ns);
  auto before_ext = tcp_ext(ns);

  Worker server(ns, "lv-sink", endpoint_commands);
  Worker client(ns, "lv-bulk", endpoint_commands);
  server.call("listen 127.0.0.1 " + std::to_string(kPort));
  server.send("accept");
  auto c = words(client.call("connect 127.0.0.1 " + std::to_string(kPort), 60s));
  int64_t client_port = std::stoi(c.at(1));
  // The data goes out at once: with the handshake's last ACK dropped, only
  // the client's (retransmitted) segments complete it quickly on the server
  // side, not SYN-ACK retransmissions backing off to seconds.
  client.send("send " + std::to_string(kBulk));
  server.recv(120s);
  server.call("recv " + std::to_string(kBulk), 180s);
  client.recv(180s);
  orderly_close(client, server, 60s);
  server.call("close-listener");
  client.send("exit");
  server.send("exit");
  EXPECT_EQ(client.wait_exit(), 0);
  EXPECT_EQ(server.wait_exit(), 0);
  // Only the client's TIME-WAIT is left, and a minisocket never
  // retransmits: the counter cannot move any more.
  ASSERT_TRUE(wait_ss(ns, [](const std::vector<SsSock>& rows) {
    for (const SsSock& r : rows)
      if (r.state != "TIME-WAIT") return false;
    return true;
  }));
  auto after = tcp_snmp(ns);
  auto after_ext = tcp_ext(ns);
  // Stopping drains the ring buffer: every retransmission the kernel counted
  // above is in the stream by the exit event.
  ASSERT_EQ(live.stop(), 0) << live.describe();

  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  uint64_t kernel = after.at("RetransSegs") - before.at("RetransSegs");
  ASSERT_GT(kernel, 0u) << "the fixture is wrong: nothing was lost";

  uint64_t sum = 0;
  std::map<uint64_t, uint64_t> per_cookie;
  std::vector<Json> synacks;
  for (const Json& e : events) {
    if (!is_type(e, "retransmit")) continue;
    EXPECT_GE(num(e, "segs"), 1) << e.dump();
    sum += static_cast<uint64_t>(num(e, "segs"));
    per_cookie[cookie_of(e)] += static_cast<uint64_t>(num(e, "segs"));
    if (e.value("synack", false)) {
      synacks.push_back(e);
      EXPECT_EQ(num(e, "lport"), kPort) << e.dump();
      EXPECT_EQ(num(e, "rport"), client_port) << e.dump();
      EXPECT_EQ(str(e, "state"), "SYN-RECV") << e.dump();
    }
  }
  // TCPRetransFail counts retransmissions whose transmit failed: the
  // kernel adds them to RetransSegs all the same (__tcp_retransmit_skb
  // counts before it transmits).
  EXPECT_EQ(sum, kernel) << "sum of segs over retransmit events vs RetransSegs delta; "
                         << "TCPRetransFail delta "
                         << after_ext.at("TCPRetransFail") - before_ext.at("TCPRetransFail");

  // Per connection, against tcp_sock's total_retrans in the close summary.
  // The passive side's counter starts with its SYN-ACK retransmissions
  // (tcp_create_openreq_child copies req->num_retrans); the request socket
  // they were reported on hands its cookie to the child when it has one
  // (6.18 does), so they count under the child's cookie or, on a kernel that
  // does not, under the request's own.
  auto st = stories(events);
  EXPECT_TRUE(chains_are_consistent(st));
  size_t connections = 0;
  for (const auto& [cookie, s] : st) {
    if (s.closes.empty() || str(s.closes[0], "closed_by") == "listener") continue;
    ++connections;
    const Json& close = s.closes[0];
    bool is_client = num(close, "lport") == client_port;
    uint64_t expected = per_cookie[cookie];
    if (!is_client)
      for (const Json& r : synacks)
        if (cookie_of(r) != cookie) expected += static_cast<uint64_t>(num(r, "segs"));
    EXPECT_EQ(static_cast<uint64_t>(num(close, "retrans")), expected)
        << (is_client ? "client " : "server ") << close.dump();
    // A retransmission runs in a timer or softirq: the owner must still be
    // the process that owns the socket, never the interrupted one. A
    // request socket (SYN-ACK) has no owner of its own: absent is honest.
    const Worker& owner = is_client ? client : server;
    size_t syn_sent = 0;
    for (const Json& r : s.retransmits) {
      // The local port is chosen before the first SYN leaves: every
      // retransmission knows both ends.
      EXPECT_EQ(num(r, "lport"), is_client ? client_port : kPort) << r.dump();
      EXPECT_EQ(num(r, "rport"), is_client ? kPort : client_port) << r.dump();
      syn_sent += str(r, "state") == "SYN-SENT";
      bool synack = r.value("synack", false);
      if (synack && !r.contains("pid")) continue;
      EXPECT_TRUE(num(r, "pid") == owner.pid() && str(r, "comm") == owner.comm()) << r.dump();
    }
    if (is_client) {
      EXPECT_GE(syn_sent, 1u) << "the first SYN was dropped: it was retransmitted";
    }
  }
  EXPECT_EQ(connections, 2u) << "one client and one server socket";
}

}  // namespace
}  // namespace sstrace::e2e
