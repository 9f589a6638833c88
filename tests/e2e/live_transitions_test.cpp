// The live stream follows real connections between two processes in a
// namespace of their own: every kernel transition exactly once, in order per
// socket, attributed to the process that owns the socket, with a close
// summary whose counters are the kernel's (tcp_info) and reset events on the
// side that sent and the side that received them.
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

using Transitions = std::vector<std::pair<std::string, std::string>>;

// What one socket's events must say, field by field.
struct Expect {
  std::string name;  // for messages
  uint64_t cookie = 0;
  Transitions transitions;
  const Worker* owner = nullptr;
  std::string laddr = "127.0.0.1", raddr = "127.0.0.1";
  int64_t lport = 0, rport = 0;
  // The new state of the transition from which the owner has let go (a
  // close() making an orphan, a handover to a timewait minisocket): from
  // there on ss -p shows no owner, and the events carry last_pid/last_comm
  // instead of pid/comm. Empty: owned to the end.
  std::string let_go_at;
  std::string closed_by;
  int64_t bytes_acked = -1, bytes_received = -1;
  size_t resets_sent = 0, resets_received = 0;
};

::testing::AssertionResult story_matches(const std::map<uint64_t, SocketStory>& all,
                                         const Expect& x, int64_t max_duration_us) {
  auto it = all.find(x.cookie);
  if (it == all.end())
    return ::testing::AssertionFailure() << x.name << ": no event at all for its cookie "
                                         << x.cookie << " (sk:" << hex(x.cookie) << ")";
  const SocketStory& s = it->second;
  std::vector<std::string> p;
  Transitions got;
  for (const Json& e : s.states) got.emplace_back(str(e, "old"), str(e, "new"));
  if (got != x.transitions) {
    std::string want;
    for (auto& [o, n] : x.transitions) want += o + ">" + n + " ";
    p.push_back("transitions are " + transitions_text(s) + "; expected " + want);
  }
  // Every event about the socket: who owns it (or owned it), where it is.
  bool first_state = true;
  bool let_go = false;
  const std::string owner = std::to_string(x.owner->pid()) + "/" + x.owner->comm();
  for (const Json& e : s.all) {
    std::string t = str(e, "type");
    std::string at = t + " event " + e.dump().substr(0, 300) + ": ";
    if (t == "state" && !x.let_go_at.empty() && str(e, "new") == x.let_go_at) let_go = true;
    if (!let_go && (num(e, "pid") != x.owner->pid() || str(e, "comm") != x.owner->comm() ||
                    e.contains("last_pid")))
      p.push_back(at + "pid/comm should be the owner " + owner + ", without last_pid");
    if (let_go && (e.contains("pid") || e.contains("comm") ||
                   num(e, "last_pid") != x.owner->pid() || str(e, "last_comm") != x.owner->comm()))
      p.push_back(at + "no pid/comm (the owner let go, ss -p shows none), last_pid/last_comm " +
                  owner);
    if (str(e, "family") != "inet" || str(e, "proto") != "tcp")
      p.push_back(at + "family/proto should be inet/tcp");
    // The SYN-SENT too: its event waits for the port connect() chooses.
    if (str(e, "laddr") != x.laddr || num(e, "lport") != x.lport)
      p.push_back(at + "local end should be " + x.laddr + ":" + std::to_string(x.lport));
    if (str(e, "raddr") != x.raddr || num(e, "rport") != x.rport)
      p.push_back(at + "remote end should be " + x.raddr + ":" + std::to_string(x.rport));
    if (t == "state") {
      // The time spent in the old state is known for every state sstrace
      // saw the socket enter: all but the first.
      if (!first_state && !e.contains("old_us")) p.push_back(at + "no old_us");
      if (e.contains("old_us") && num(e, "old_us") < 0) p.push_back(at + "negative old_us");
      if (e.contains("inferred")) p.push_back(at + "inferred, but a tracepoint reported it");
      first_state = false;
    }
  }
  if (s.closes.size() != 1) {
    p.push_back(std::to_string(s.closes.size()) + " close events, expected 1");
  } else {
    const Json& c = s.closes[0];
    std::string at = "close " + c.dump() + ": ";
    if (!c.contains("duration_us") || num(c, "duration_us") <= 0 ||
        num(c, "duration_us") > max_duration_us)
      p.push_back(at + "duration_us must be there, > 0 and within the test's run time (" +
                  std::to_string(max_duration_us) + " us)");
    if (num(c, "bytes_acked") != x.bytes_acked)
      p.push_back(at + "bytes_acked should be " + std::to_string(x.bytes_acked));
    if (num(c, "bytes_received") != x.bytes_received)
      p.push_back(at + "bytes_received should be " + std::to_string(x.bytes_received));
    if (str(c, "closed_by") != x.closed_by) p.push_back(at + "closed_by should be " + x.closed_by);
    if (num(c, "retrans") != 0) p.push_back(at + "retransmissions on loopback without drops");
    // The summary comes with the transition that ends the full socket.
    size_t close_at = 0, end_at = 0;
    for (size_t i = 0; i < s.all.size(); ++i) {
      if (is_type(s.all[i], "close")) close_at = i;
      if (is_type(s.all[i], "state") &&
          (str(s.all[i], "new") == "CLOSE" || s.all[i].value("minisocket", false)))
        end_at = i;
    }
    if (close_at <= end_at) p.push_back("the close event does not follow the socket's end");
  }
  size_t sent = 0, received = 0;
  for (const Json& r : s.resets) {
    if (str(r, "dir") == "sent") ++sent;
    if (str(r, "dir") == "received") ++received;
  }
  if (sent != x.resets_sent || received != x.resets_received)
    p.push_back("resets sent/received " + std::to_string(sent) + "/" + std::to_string(received) +
                ", expected " + std::to_string(x.resets_sent) + "/" +
                std::to_string(x.resets_received));
  if (!s.retransmits.empty()) p.push_back("retransmit events on loopback without drops");
  if (p.empty()) return ::testing::AssertionSuccess();
  std::string out;
  for (auto& m : p) out += "  " + m + "\n";
  return ::testing::AssertionFailure() << x.name << " (sk:" << hex(x.cookie) << "):\n" << out;
}

struct Conn {
  int64_t client_port = 0, server_port = 0;
  uint64_t client_cookie = 0, server_cookie = 0;
};

// A client and a server worker around one listener, and the ss checkpoint
// that gives each connection its cookies.
class Pair {
 public:
  explicit Pair(const Netns& ns)
      : ns_(ns),
        server_(ns, "lv-server", endpoint_commands),
        client_(ns, "lv-client", endpoint_commands) {
    port_ = std::stoi(words(server_.call("listen 127.0.0.1 0")).at(1));
  }
  Worker& server() { return server_; }
  Worker& client() { return client_; }
  int64_t port() const { return port_; }

  Conn open() {
    server_.send("accept");
    auto c = words(client_.call("connect 127.0.0.1 " + std::to_string(port_)));
    auto s = words(server_.recv());
    Conn conn;
    conn.client_port = std::stoi(c.at(1));
    conn.server_port = std::stoi(s.at(1));
    if (std::stoi(s.at(2)) != conn.client_port)
      throw std::runtime_error("the server accepted another connection");
    return conn;
  }
  // Payload both ways, each side reading all of it.
  void exchange(size_t up, size_t down) { e2e::exchange(client_, server_, up, down); }
  // The cookies ss -tane shows for both ends while they are ESTAB.
  ::testing::AssertionResult checkpoint(Conn& c) {
    auto rows = ss_tane(ns_);
    std::string all;
    for (const SsSock& r : rows) {
      all += "  " + r.text + "\n";
      if (r.state != "ESTAB") continue;
      if (r.lport == c.client_port && r.rport == port_) c.client_cookie = r.cookie;
      if (r.lport == port_ && r.rport == c.client_port) c.server_cookie = r.cookie;
    }
    for (const SsSock& r : rows)
      if (r.state == "LISTEN" && r.lport == port_) listener_cookie_ = r.cookie;
    if (!c.client_cookie || !c.server_cookie || !listener_cookie_)
      return ::testing::AssertionFailure() << "ss -tane does not show the connection:\n" << all;
    return ::testing::AssertionSuccess();
  }
  uint64_t listener_cookie() const { return listener_cookie_; }

 private:
  const Netns& ns_;
  Worker server_, client_;
  int64_t port_ = 0;
  uint64_t listener_cookie_ = 0;
};

const Transitions kClientActiveClose = {{"CLOSE", "SYN-SENT"},
                                        {"SYN-SENT", "ESTAB"},
                                        {"ESTAB", "FIN-WAIT-1"},
                                        {"FIN-WAIT-1", "FIN-WAIT-2"},
                                        {"FIN-WAIT-2", "TIME-WAIT"}};
const Transitions kClientPassiveClose = {{"CLOSE", "SYN-SENT"},
                                         {"SYN-SENT", "ESTAB"},
                                         {"ESTAB", "CLOSE-WAIT"},
                                         {"CLOSE-WAIT", "LAST-ACK"},
                                         {"LAST-ACK", "CLOSE"}};
const Transitions kServerActiveClose = {{"LISTEN", "SYN-RECV"},
                                        {"SYN-RECV", "ESTAB"},
                                        {"ESTAB", "FIN-WAIT-1"},
                                        {"FIN-WAIT-1", "FIN-WAIT-2"},
                                        {"FIN-WAIT-2", "TIME-WAIT"}};
const Transitions kServerPassiveClose = {{"LISTEN", "SYN-RECV"},
                                         {"SYN-RECV", "ESTAB"},
                                         {"ESTAB", "CLOSE-WAIT"},
                                         {"CLOSE-WAIT", "LAST-ACK"},
                                         {"LAST-ACK", "CLOSE"}};

int64_t info_field(const std::string& info, size_t i) { return std::stoll(words(info).at(i)); }

TEST(LiveStream, client_and_server_transitions_arrive_once_in_order) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  auto started = std::chrono::steady_clock::now();
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  Pair pair(ns);
  Worker& client = pair.client();
  Worker& server = pair.server();
  std::vector<Expect> expect;

  // A: the client closes first. shutdown() keeps the fd, so the client's
  // FIN-WAIT-2 is a full socket until the server's FIN turns it into
  // TIME-WAIT (the orphaned case has a test of its own below).
  Conn a = pair.open();
  pair.exchange(100000, 30000);
  ASSERT_TRUE(pair.checkpoint(a));
  auto [a_client, a_server] = orderly_close(client, server);
  // tcp_info semantics: bytes_acked counts the sequence space the peer
  // acknowledged: payload, our FIN, and the client's SYN (the passive side's
  // counter starts after its SYN-ACK). bytes_received counts payload and the
  // peer's FIN, never its SYN.
  EXPECT_EQ(info_field(a_client, 2), 100000 + 2) << a_client;
  EXPECT_EQ(info_field(a_client, 3), 30000 + 1) << a_client;
  EXPECT_EQ(info_field(a_server, 2), 30000 + 1) << a_server;
  EXPECT_EQ(info_field(a_server, 3), 100000 + 1) << a_server;
  {
    Expect c{"A client (closes first)", a.client_cookie, kClientActiveClose, &client};
    c.lport = a.client_port, c.rport = pair.port(), c.let_go_at = "TIME-WAIT";
    c.closed_by = "local", c.bytes_acked = info_field(a_client, 2);
    c.bytes_received = info_field(a_client, 3);
    Expect s{"A server", a.server_cookie, kServerPassiveClose, &server};
    s.lport = pair.port(), s.rport = a.client_port;
    s.closed_by = "remote", s.bytes_acked = info_field(a_server, 2);
    s.bytes_received = info_field(a_server, 3);
    expect.push_back(c);
    expect.push_back(s);
  }

  // B: the server closes first.
  Conn b = pair.open();
  pair.exchange(70000, 20000);
  ASSERT_TRUE(pair.checkpoint(b));
  auto [b_server, b_client] = orderly_close(server, client);
  EXPECT_EQ(info_field(b_client, 2), 70000 + 2) << b_client;
  EXPECT_EQ(info_field(b_client, 3), 20000 + 1) << b_client;
  EXPECT_EQ(info_field(b_server, 2), 20000 + 1) << b_server;
  EXPECT_EQ(info_field(b_server, 3), 70000 + 1) << b_server;
  {
    Expect c{"B client", b.client_cookie, kClientPassiveClose, &client};
    c.lport = b.client_port, c.rport = pair.port();
    c.closed_by = "remote", c.bytes_acked = info_field(b_client, 2);
    c.bytes_received = info_field(b_client, 3);
    Expect s{"B server (closes first)", b.server_cookie, kServerActiveClose, &server};
    s.lport = pair.port(), s.rport = b.client_port, s.let_go_at = "TIME-WAIT";
    s.closed_by = "local", s.bytes_acked = info_field(b_server, 2);
    s.bytes_received = info_field(b_server, 3);
    expect.push_back(c);
    expect.push_back(s);
  }

  // C: the client aborts with SO_LINGER 0: it sends a reset, the server
  // receives it.
  Conn c = pair.open();
  pair.exchange(50000, 10000);
  ASSERT_TRUE(pair.checkpoint(c));
  // Everything the client sent is acknowledged by the server's data it has
  // read, so nothing moves between this look and the abort.
  std::string c_client = client.call("info");
  client.call("linger0");
  server.call("reset");
  std::string c_server = server.call("wait-closed");
  server.call("close");
  EXPECT_EQ(info_field(c_client, 2), 50000 + 1) << c_client;
  EXPECT_EQ(info_field(c_client, 3), 10000) << c_client;
  EXPECT_EQ(info_field(c_server, 2), 10000) << c_server;
  EXPECT_EQ(info_field(c_server, 3), 50000) << c_server;
  {
    Expect x{"C client (SO_LINGER 0)",
             c.client_cookie,
             {{"CLOSE", "SYN-SENT"}, {"SYN-SENT", "ESTAB"}, {"ESTAB", "CLOSE"}},
             &client};
    x.lport = c.client_port, x.rport = pair.port();
    x.closed_by = "local_abort", x.bytes_acked = info_field(c_client, 2);
    x.bytes_received = info_field(c_client, 3), x.resets_sent = 1;
    Expect s{"C server (reset received)",
             c.server_cookie,
             {{"LISTEN", "SYN-RECV"}, {"SYN-RECV", "ESTAB"}, {"ESTAB", "CLOSE"}},
             &server};
    s.lport = pair.port(), s.rport = c.client_port;
    s.closed_by = "remote_reset", s.bytes_acked = info_field(c_server, 2);
    s.bytes_received = info_field(c_server, 3), s.resets_received = 1;
    expect.push_back(x);
    expect.push_back(s);
  }

  server.call("close-listener");
  {
    Expect l{
        "listener", pair.listener_cookie(), {{"CLOSE", "LISTEN"}, {"LISTEN", "CLOSE"}}, &server};
    l.lport = pair.port(), l.raddr = "*", l.rport = 0;
    l.closed_by = "listener", l.bytes_acked = 0, l.bytes_received = 0;
    expect.push_back(l);
  }
  client.send("exit");
  server.send("exit");
  EXPECT_EQ(client.wait_exit(), 0);
  EXPECT_EQ(server.wait_exit(), 0);
  // The listener's close is the last thing the kernel reports.
  uint64_t lc = pair.listener_cookie();
  EXPECT_TRUE(
      live.wait_for([&](const Json& e) { return is_type(e, "close") && cookie_of(e) == lc; }, 20s))
      << live.describe();
  auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  ASSERT_EQ(live.stop(), 0) << live.describe();

  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  EXPECT_EQ(num(events.at(0), "sockets"), 0) << "a fresh namespace has no socket to seed";
  auto st = stories(events);
  EXPECT_TRUE(chains_are_consistent(st));
  std::set<uint64_t> known;
  for (const Expect& x : expect) {
    known.insert(x.cookie);
    EXPECT_TRUE(story_matches(st, x, elapsed_us)) << live.describe(80);
  }
  // Nothing else happened in the namespace.
  for (const auto& [cookie, s] : st)
    EXPECT_TRUE(known.count(cookie))
        << "events for a socket the test did not make: sk:" << hex(cookie) << " "
        << s.all.front().dump();
}

// A client that simply close()s: the kernel hands its orphaned FIN-WAIT-2
// socket to a minisocket at once (tcp_rcv_state_process, tcp_time_wait with
// TCP_FIN_WAIT2), and the server's FIN later turns that minisocket into
// TIME-WAIT without any tracepoint. The live model must still agree with ss.
TEST(LiveStream, orphaned_fin_wait2_becomes_time_wait_as_ss_shows) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  auto started = std::chrono::steady_clock::now();
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  Pair pair(ns);
  Worker& client = pair.client();
  Worker& server = pair.server();
  Conn a = pair.open();
  pair.exchange(40000, 9000);
  ASSERT_TRUE(pair.checkpoint(a));
  client.call("close");
  // The minisocket in FIN-WAIT-2 (no inode), the server in CLOSE-WAIT.
  ASSERT_TRUE(wait_ss(ns, [&](const std::vector<SsSock>& rows) {
    for (const SsSock& r : rows)
      if (r.cookie == a.client_cookie && r.state == "FIN-WAIT-2" && r.inode == 0) return true;
    return false;
  })) << "the client never became a FIN-WAIT-2 minisocket";
  // Nothing moves until the server closes: the table must show the
  // minisocket's FIN-WAIT-2 like ss does.
  auto seen_mid = ss_tane(ns);
  auto table_mid = live.dump_table();
  EXPECT_TRUE(table_matches_ss(table_mid, seen_mid)) << live.describe(30);
  server.call("eof");
  server.call("close");
  ASSERT_TRUE(wait_ss(ns, [&](const std::vector<SsSock>& rows) {
    bool tw = false, server_gone = true;
    for (const SsSock& r : rows) {
      if (r.cookie == a.client_cookie && r.state == "TIME-WAIT") tw = true;
      if (r.cookie == a.server_cookie) server_gone = false;
    }
    return tw && server_gone;
  })) << "the client's minisocket never reached TIME-WAIT";
  auto seen_by_ss = ss_tane(ns);
  auto table = live.dump_table();
  EXPECT_TRUE(table_matches_ss(table, seen_by_ss)) << live.describe(60);

  auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  client.send("exit");
  server.send("exit");
  ASSERT_EQ(live.stop(), 0) << live.describe();
  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  auto st = stories(events);
  EXPECT_TRUE(chains_are_consistent(st));

  // The full socket's life ends with its hand-over to the FIN-WAIT-2
  // minisocket (CONTRACT.md: reported as -> FIN-WAIT-2); the summary is read
  // then, before the server's FIN: only the payload was received.
  Expect c{"orphaned client",
           a.client_cookie,
           {{"CLOSE", "SYN-SENT"},
            {"SYN-SENT", "ESTAB"},
            {"ESTAB", "FIN-WAIT-1"},
            {"FIN-WAIT-1", "FIN-WAIT-2"},
            {"FIN-WAIT-2", "FIN-WAIT-2"}},
           &client};
  // close() itself makes the FIN-WAIT-1, while it releases the file.
  c.lport = a.client_port, c.rport = pair.port(), c.let_go_at = "FIN-WAIT-1";
  c.closed_by = "local", c.bytes_acked = 40000 + 2, c.bytes_received = 9000;
  // What the stream says after the hand-over: the move to TIME-WAIT that no
  // tracepoint reports, inferred, before the table was written.
  auto it = st.find(a.client_cookie);
  ASSERT_NE(it, st.end());
  SocketStory traced = it->second;
  std::vector<Json> inferred;
  while (!traced.states.empty() && traced.states.back().value("inferred", false)) {
    inferred.insert(inferred.begin(), traced.states.back());
    traced.states.pop_back();
  }
  std::erase_if(traced.all,
                [](const Json& e) { return e.value("inferred", false) || is_type(e, "table"); });
  std::map<uint64_t, SocketStory> one{{a.client_cookie, traced}};
  EXPECT_TRUE(story_matches(one, c, elapsed_us)) << live.describe(60);
  ASSERT_EQ(inferred.size(), 1u) << transitions_text(it->second);
  EXPECT_EQ(str(inferred[0], "old"), "FIN-WAIT-2");
  EXPECT_EQ(str(inferred[0], "new"), "TIME-WAIT");
  // The minisocket has no owner, in ss -p as in the inferred event and
  // both tables: only the process that closed it, as last_pid.
  std::vector<Json> client_rows = inferred;
  for (const auto* t : {&table_mid, &table})
    for (const Json& e : *t)
      if (cookie_of(e) == a.client_cookie) client_rows.push_back(e);
  EXPECT_EQ(client_rows.size(), 3u);
  for (const Json& e : client_rows) {
    EXPECT_FALSE(e.contains("pid")) << e.dump();
    EXPECT_EQ(num(e, "last_pid"), client.pid()) << e.dump();
    EXPECT_EQ(str(e, "last_comm"), client.comm()) << e.dump();
  }

  // The server close()s in CLOSE-WAIT: its LAST-ACK is an orphan's.
  Expect s{"server", a.server_cookie, kServerPassiveClose, &server};
  s.lport = pair.port(), s.rport = a.client_port, s.let_go_at = "LAST-ACK";
  s.closed_by = "remote", s.bytes_acked = 9000 + 1, s.bytes_received = 40000 + 1;
  auto server_story = st;
  for (auto& [k, story] : server_story)
    std::erase_if(story.all, [](const Json& e) { return is_type(e, "table"); });
  EXPECT_TRUE(story_matches(server_story, s, elapsed_us)) << live.describe(60);
}

// The same orphaned FIN-WAIT-2 minisocket when the peer never closes: it
// lives tcp_fin_timeout (here 2 s), not TCP_TIMEWAIT_LEN, and its expiry
// fires no tracepoint. Once ss no longer shows it, neither may the table.
TEST(LiveStream, expired_fin_wait2_minisocket_leaves_the_table) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  ns.must({"sysctl", "-q", "-w", "net.ipv4.tcp_fin_timeout=2"});
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  Pair pair(ns);
  Conn a = pair.open();
  pair.exchange(1000, 1000);
  ASSERT_TRUE(pair.checkpoint(a));
  pair.client().call("close");
  ASSERT_TRUE(wait_ss(ns, [&](const std::vector<SsSock>& rows) {
    for (const SsSock& r : rows)
      if (r.cookie == a.client_cookie && r.state == "FIN-WAIT-2" && r.inode == 0) return true;
    return false;
  })) << "the client never became a FIN-WAIT-2 minisocket";
  ASSERT_TRUE(wait_ss(
      ns,
      [&](const std::vector<SsSock>& rows) {
        for (const SsSock& r : rows)
          if (r.cookie == a.client_cookie) return false;
        return true;
      },
      30s))
      << "the minisocket did not expire";
  auto seen_by_ss = ss_tane(ns);
  auto table = live.dump_table();
  EXPECT_TRUE(table_matches_ss(table, seen_by_ss)) << live.describe(30);
  pair.client().send("exit");
  pair.server().send("exit");
  ASSERT_EQ(live.stop(), 0) << live.describe();

  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  auto st = stories(events);
  EXPECT_TRUE(chains_are_consistent(st));
  auto it = st.find(a.client_cookie);
  ASSERT_NE(it, st.end());
  ASSERT_FALSE(it->second.states.empty());
  const Json& last = it->second.states.back();
  EXPECT_EQ(str(last, "old"), "FIN-WAIT-2") << transitions_text(it->second);
  EXPECT_EQ(str(last, "new"), "CLOSE") << transitions_text(it->second);
  EXPECT_TRUE(last.value("inferred", false)) << "no tracepoint reports an expiry";
}

}  // namespace
}  // namespace sstrace::e2e
