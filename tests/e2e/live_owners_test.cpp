// Who a connection belongs to once its process let go, and where an active
// open starts, checked against ss on the same sockets:
// - a timewait minisocket or an orphan (closed by its process, still
//   finishing its shutdown) has no owner in ss -p; its events carry no
//   pid/comm, but last_pid/last_comm, the process that owned it before
//   (CONTRACT.md, "Settled questions"). A socket that was only shut down is
//   still owned and keeps its pid.
// - CLOSE -> SYN-SENT comes before connect() chooses the local port; its
//   event still carries the port ss shows for the socket, and a `sport`
//   filter (applied in the kernel too) judges it by that port.
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

// `ss -tanpeH` in the namespace, by cookie: each row's text, which names
// the owner (users:(...)) where ss -p knows one.
std::map<uint64_t, std::string> ss_p_rows(const Netns& ns) {
  RunResult r = ns.enter({"ss", "-tanpeH"});
  if (r.status != 0) throw std::runtime_error("ss -tanpeH: " + r.err);
  std::map<uint64_t, std::string> rows;
  size_t start = 0;
  while (start < r.out.size()) {
    size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    std::string line = r.out.substr(start, end - start);
    start = end + 1;
    size_t sk = line.find(" sk:");
    if (sk != std::string::npos) rows[std::stoull(line.substr(sk + 4), nullptr, 16)] = line;
  }
  return rows;
}

// The cookie ss -tane shows for the socket with local port lport in state.
uint64_t wait_for_socket(const Netns& ns, int lport, const std::string& state) {
  uint64_t cookie = 0;
  wait_ss(ns, [&](const std::vector<SsSock>& rows) {
    for (const SsSock& r : rows)
      if (r.lport == lport && r.state == state) cookie = r.cookie;
    return cookie != 0;
  });
  return cookie;
}

int connect_to(Worker& client, Worker& server, const std::string& args) {
  server.send("accept");
  int lport = std::stoi(words(client.call("connect " + args)).at(1));
  server.recv();
  return lport;
}

int listen_on(Worker& server, int port) {
  return std::stoi(words(server.call("listen 127.0.0.1 " + std::to_string(port))).at(1));
}

// The table event of one cookie (null when the table has none).
const Json* table_row(const std::vector<Json>& table, uint64_t cookie) {
  for (const Json& e : table)
    if (is_type(e, "table") && cookie_of(e) == cookie) return &e;
  return nullptr;
}

::testing::AssertionResult owned_by(const Json& e, const Worker& w) {
  if (num(e, "pid") == w.pid() && str(e, "comm") == w.comm() && !e.contains("last_pid") &&
      !e.contains("last_comm"))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "should be owned by " << w.comm() << "/" << w.pid() << ": " << e.dump();
}

::testing::AssertionResult let_go_by(const Json& e, const Worker& w) {
  if (!e.contains("pid") && !e.contains("comm") && num(e, "last_pid") == w.pid() &&
      str(e, "last_comm") == w.comm())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "should have no owner, last " << w.comm() << "/" << w.pid() << ": " << e.dump();
}

// Two clients, each with a server of its own (a worker holds one
// connection), in a namespace with one sysctl set.
struct TwoPairs {
  TwoPairs(const std::string& sysctl, const std::string& prefix, const std::string& first,
           const std::string& second)
      : server1(ns, prefix + "-server1", endpoint_commands),
        server2(ns, prefix + "-server2", endpoint_commands),
        client1(ns, prefix + "-" + first, endpoint_commands),
        client2(ns, prefix + "-" + second, endpoint_commands) {
    ns.must({"sysctl", "-q", "-w", sysctl});
    // Fixed ports: a listener on port 0 would take one from the ephemeral
    // range, which a test may have narrowed.
    port1 = listen_on(server1, 7301);
    port2 = listen_on(server2, 7302);
  }
  std::string target(int port) const { return "127.0.0.1 " + std::to_string(port); }

  Netns ns;
  Worker server1, server2, client1, client2;
  int port1 = 0, port2 = 0;
};

// The client closes first: its TIME-WAIT is a minisocket, which ss -p shows
// without an owner; the stream names the client as its last owner, never as
// its owner, from the handover on.
TEST(LiveOwners, a_client_first_close_leaves_time_wait_with_its_last_owner) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  Worker server(ns, "lo-server", endpoint_commands);
  Worker client(ns, "lo-client", endpoint_commands);
  int port = listen_on(server, 7301);
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  int lport = connect_to(client, server, "127.0.0.1 " + std::to_string(port));
  exchange(client, server, 2000, 2000);
  orderly_close(client, server);
  uint64_t cookie = wait_for_socket(ns, lport, "TIME-WAIT");
  ASSERT_NE(cookie, 0u) << "no TIME-WAIT for the client's port " << lport;
  std::string row = ss_p_rows(ns).at(cookie);
  EXPECT_EQ(row.find("users:"), std::string::npos) << "ss -p shows an owner: " << row;

  std::vector<Json> table = live.dump_table();
  const Json* tw = table_row(table, cookie);
  ASSERT_NE(tw, nullptr) << live.describe(20);
  EXPECT_EQ(str(*tw, "state"), "TIME-WAIT") << tw->dump();
  EXPECT_TRUE(let_go_by(*tw, client));

  ASSERT_EQ(live.stop(), 0) << live.describe();
  client.send("exit");
  server.send("exit");
  std::vector<Json> events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  auto st = stories(events);
  ASSERT_TRUE(st.count(cookie));
  const SocketStory& s = st.at(cookie);
  ASSERT_EQ(transitions_text(s),
            "CLOSE>SYN-SENT SYN-SENT>ESTAB ESTAB>FIN-WAIT-1 FIN-WAIT-1>FIN-WAIT-2 "
            "FIN-WAIT-2>TIME-WAIT(mini) ")
      << live.describe(40);
  // shutdown() (the fd still open) to FIN-WAIT-2: owned; the handover and
  // the close summary that comes with it: let go.
  bool handed_over = false;
  for (const Json& e : s.all) {
    if (is_type(e, "state") && str(e, "new") == "TIME-WAIT") handed_over = true;
    if (handed_over)
      EXPECT_TRUE(let_go_by(e, client));
    else
      EXPECT_TRUE(owned_by(e, client));
  }
  EXPECT_TRUE(handed_over);
}

// The peer never closes. A client that close()s becomes an orphan: ss -p
// shows no owner for it, in FIN-WAIT-2 as a full socket (tcp_fin_timeout
// above TCP_TIMEWAIT_LEN keeps it one); its FIN-WAIT-1, made by close()
// itself, already has none. A client that only shutdown()s keeps its owner.
TEST(LiveOwners, an_orphaned_fin_wait_2_has_no_owner_in_ss_or_the_table) {
  SSTRACE_REQUIRE_PRIVILEGES();
  TwoPairs pairs("net.ipv4.tcp_fin_timeout=120", "lo", "closer", "shutter");
  const Netns& ns = pairs.ns;
  Worker &server1 = pairs.server1, &server2 = pairs.server2, &closer = pairs.client1,
         &shutter = pairs.client2;
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  int closed_port = connect_to(closer, server1, pairs.target(pairs.port1));
  int shut_port = connect_to(shutter, server2, pairs.target(pairs.port2));
  exchange(closer, server1, 3000, 1000);
  exchange(shutter, server2, 3000, 1000);
  closer.call("close");
  shutter.call("shutdown");
  uint64_t orphan = wait_for_socket(ns, closed_port, "FIN-WAIT-2");
  uint64_t owned = wait_for_socket(ns, shut_port, "FIN-WAIT-2");
  ASSERT_NE(orphan, 0u) << "the closed client never reached FIN-WAIT-2";
  ASSERT_NE(owned, 0u) << "the shut-down client never reached FIN-WAIT-2";
  auto rows = ss_p_rows(ns);
  EXPECT_EQ(rows.at(orphan).find("users:"), std::string::npos) << rows.at(orphan);
  EXPECT_EQ(rows.at(orphan).find("timewait"), std::string::npos)
      << "a full socket, not a minisocket: " << rows.at(orphan);
  EXPECT_NE(rows.at(owned).find("\"lo-shutter\",pid=" + std::to_string(shutter.pid())),
            std::string::npos)
      << rows.at(owned);

  std::vector<Json> table = live.dump_table();
  const Json* o = table_row(table, orphan);
  const Json* w = table_row(table, owned);
  ASSERT_TRUE(o && w) << live.describe(20);
  EXPECT_EQ(str(*o, "state"), "FIN-WAIT-2");
  EXPECT_FALSE(o->contains("minisocket")) << o->dump();
  EXPECT_TRUE(let_go_by(*o, closer));
  EXPECT_EQ(str(*w, "state"), "FIN-WAIT-2");
  EXPECT_TRUE(owned_by(*w, shutter));

  // Stopped first: the workers' exits would close the sockets.
  ASSERT_EQ(live.stop(), 0) << live.describe();
  for (Worker* x : {&server1, &server2, &closer, &shutter}) x->send("exit");
  std::vector<Json> events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  auto st = stories(events);
  ASSERT_TRUE(st.count(orphan) && st.count(owned)) << live.describe(40);
  for (const Json& e : st.at(orphan).states) {
    bool before_close = str(e, "new") == "SYN-SENT" || str(e, "new") == "ESTAB";
    EXPECT_TRUE(before_close ? owned_by(e, closer) : let_go_by(e, closer));
  }
  EXPECT_EQ(transitions_text(st.at(orphan)), transitions_text(st.at(owned)));
  for (const Json& e : st.at(owned).all) EXPECT_TRUE(owned_by(e, shutter));
}

// The SYN-SENT of a bound connect (port set by bind()) and of an unbound
// one (port chosen inside connect(), after the transition) both carry the
// port ss shows, and `sport = :N` streams catch exactly the one on N. The
// ephemeral range is two ports, so that a filter can name the one connect()
// will choose.
TEST(LiveStream, syn_sent_carries_the_local_port_ss_shows) {
  SSTRACE_REQUIRE_PRIVILEGES();
  TwoPairs pairs("net.ipv4.ip_local_port_range=51000 51001", "sp", "bound", "unbound");
  const Netns& ns = pairs.ns;
  Worker& bound = pairs.client1;
  Worker& unbound = pairs.client2;
  LiveTrace all(ns);
  std::map<int, std::unique_ptr<LiveTrace>> by_port;
  for (int p : {40123, 51000, 51001}) {
    LiveTrace::Config cfg;
    cfg.args = {"sport", "=", ":" + std::to_string(p)};
    by_port[p] = std::make_unique<LiveTrace>(ns, cfg);
  }
  ASSERT_TRUE(all.wait_sync()) << all.describe();
  for (auto& [p, t] : by_port) ASSERT_TRUE(t->wait_sync()) << t->describe();

  int bound_port = connect_to(bound, pairs.server1, pairs.target(pairs.port1) + " 127.0.0.1 40123");
  int chosen = connect_to(unbound, pairs.server2, pairs.target(pairs.port2));
  ASSERT_EQ(bound_port, 40123);
  ASSERT_TRUE(chosen == 51000 || chosen == 51001) << chosen;
  uint64_t bound_cookie = wait_for_socket(ns, 40123, "ESTAB");
  uint64_t unbound_cookie = wait_for_socket(ns, chosen, "ESTAB");
  ASSERT_TRUE(bound_cookie && unbound_cookie) << "ss -tane does not show both clients";

  auto syn_sent = [](const std::vector<Json>& events, uint64_t cookie) -> const Json* {
    for (const Json& e : events)
      if (is_type(e, "state") && cookie_of(e) == cookie && str(e, "new") == "SYN-SENT") return &e;
    return nullptr;
  };
  ASSERT_EQ(all.stop(), 0) << all.describe();
  std::vector<Json> events = all.events();
  EXPECT_TRUE(stream_is_sound(events, all.lines(), ns.inode())) << all.describe();
  EXPECT_TRUE(chains_are_consistent(stories(events)));
  for (auto [cookie, port, who] :
       {std::tuple{bound_cookie, 40123, &bound}, std::tuple{unbound_cookie, chosen, &unbound}}) {
    const Json* e = syn_sent(events, cookie);
    ASSERT_NE(e, nullptr) << all.describe(40);
    EXPECT_EQ(num(*e, "lport"), port) << e->dump();
    EXPECT_EQ(str(*e, "old"), "CLOSE") << e->dump();
    EXPECT_TRUE(owned_by(*e, *who));
  }

  for (auto& [p, t] : by_port) {
    SCOPED_TRACE(t->command());
    ASSERT_EQ(t->stop(), 0) << t->describe();
    std::vector<Json> got = t->events();
    EXPECT_TRUE(stream_is_sound(got, t->lines(), ns.inode())) << t->describe();
    uint64_t mine = p == 40123 ? bound_cookie : p == chosen ? unbound_cookie : 0;
    for (uint64_t cookie : {bound_cookie, unbound_cookie}) {
      const Json* e = syn_sent(got, cookie);
      if (cookie == mine) {
        ASSERT_NE(e, nullptr) << "the filter missed its SYN-SENT\n" << t->describe(40);
        EXPECT_EQ(num(*e, "lport"), p) << e->dump();
        EXPECT_TRUE(owned_by(*e, cookie == bound_cookie ? bound : unbound));
      } else {
        EXPECT_EQ(e, nullptr) << "another port's SYN-SENT: " << e->dump();
      }
    }
    // Every socket event is one of the filter's port.
    for (const Json& e : got)
      if (cookie_of(e)) {
        EXPECT_EQ(num(e, "lport"), p) << e.dump();
      }
  }
}

}  // namespace
}  // namespace sstrace::e2e
