// How the live stream ends: cleanly (exit status 0, an exit event last, no
// event lost) on SIGINT, at --duration, and when its reader goes away; and
// how it refuses to start: exit 1 for a missing namespace, 2 for a bad
// option, each with one line on stderr.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

// One connection made, used and closed by two processes; returns the
// client's local port.
int64_t one_connection(const Netns& ns) {
  Worker server(ns, "lv-server", endpoint_commands);
  Worker client(ns, "lv-client", endpoint_commands);
  std::string port = words(server.call("listen 127.0.0.1 0")).at(1);
  server.send("accept");
  int64_t lport = std::stoi(words(client.call("connect 127.0.0.1 " + port)).at(1));
  server.recv();
  client.send("send 1000");
  server.call("recv 1000");
  client.recv();
  client.call("close");
  server.call("eof");
  server.call("close");
  server.call("close-listener");
  return lport;
}

TEST(LiveStream, sigint_stops_cleanly_with_an_exit_event) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  int64_t lport = one_connection(ns);
  // Its close is in the stream before we stop: the stop loses nothing.
  ASSERT_TRUE(live.wait_for(
      [&](const Json& e) { return is_type(e, "close") && num(e, "lport") == lport; }, 20s))
      << live.describe();
  ASSERT_EQ(live.stop(), 0) << live.describe();
  EXPECT_TRUE(stream_is_sound(live.events(), live.lines(), ns.inode())) << live.describe();
  EXPECT_EQ(live.err(), "") << "a clean stop says nothing on stderr";
}

TEST(LiveStream, sigterm_stops_cleanly_with_an_exit_event) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns);
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  one_connection(ns);
  live.signal(SIGTERM);
  ASSERT_EQ(live.wait_exit(30s), 0) << live.describe();
  EXPECT_TRUE(stream_is_sound(live.events(), live.lines(), ns.inode())) << live.describe();
}

TEST(LiveStream, duration_stops_by_itself_with_an_exit_event) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns, {.args = {"--duration", "4"}});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  int64_t lport = one_connection(ns);
  // No signal: it has to end by itself (the bound is generous, not a
  // measurement of the duration).
  ASSERT_EQ(live.wait_exit(60s), 0) << live.describe();
  auto events = live.events();
  EXPECT_TRUE(stream_is_sound(events, live.lines(), ns.inode())) << live.describe();
  bool closed = false;
  for (const Json& e : events) closed = closed || (is_type(e, "close") && num(e, "lport") == lport);
  EXPECT_TRUE(closed) << "the connection made during the run is in the stream" << live.describe();
}

TEST(LiveStream, closed_stdout_is_a_clean_stop) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  // The reader takes one line (sync: the namespace is empty) and goes away.
  LiveTrace live(ns, {.close_stdout_after = 1});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  // sstrace finds out at its next write: give it events until it exits.
  int status = -1;
  for (int i = 0; i < 20 && status == -1; ++i) {
    one_connection(ns);
    status = live.wait_exit(1s);
  }
  ASSERT_NE(status, -1) << "sstrace kept running with nobody reading" << live.describe();
  EXPECT_EQ(status, 0) << "a closed stdout pipe is a clean stop, not SIGPIPE (141) or an error"
                       << live.describe();
  EXPECT_EQ(live.lines().size(), 1u);
  EXPECT_TRUE(is_type(live.events().at(0), "sync"));
}

TEST(LiveStream, the_stream_takes_four_nice_levels_over_what_it_was_started_with) {
  // The reader must keep up with the kernel on a saturated host
  // (bench/hotspots.md, item 10): the boost is relative, so `nice -n 5
  // sstrace` still runs below an unniced one. -v says what it did.
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  for (auto [start, now] : {std::pair{5, 1}, std::pair{-18, -20}}) {
    RunResult r = run({"nice", "-n", std::to_string(start), sstrace_binary(), "-v", "--json",
                       "--duration", "0.2", "-N", ns.name()},
                      "", 60s);
    EXPECT_EQ(r.status, 0) << r.err;
    std::string said = "sstrace: priority raised: nice " + std::to_string(start) + " -> " +
                       std::to_string(now) + "\n";
    EXPECT_NE(r.err.find(said), std::string::npos) << r.err;
  }
}

// n loopback connections made and closed as fast as the kernel takes them.
void burst_of_connections(const Netns& ns, int n) {
  ns.run([n] {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(listener, 1024), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
    for (int i = 0; i < n; ++i) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
      int s = accept(listener, nullptr, nullptr);
      ASSERT_GE(s, 0);
      close(c);
      close(s);
    }
    close(listener);
  });
}

TEST(LiveStream, a_full_ring_buffer_is_reported_by_cause_and_totalled_in_exit) {
  // A 16 KiB ring holds ~95 records and the reader, below its wake-up mark,
  // looks every 50 ms: 2000 connections (~13 records each) overflow it.
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns, {.args = {"--ringbuf-kib", "16"}});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  burst_of_connections(ns, 2000);
  ASSERT_TRUE(live.wait_for([](const Json& e) { return is_type(e, "lost"); }, 20s))
      << live.describe();
  ASSERT_EQ(live.stop(), 0) << live.describe();
  uint64_t counted = 0;
  uint64_t ringbuf_full = 0;
  std::optional<uint64_t> exit_lost;
  for (const Json& e : live.events()) {
    std::vector<std::string> errors = events_schema().validate(e);
    EXPECT_TRUE(errors.empty()) << e.dump() << ": " << errors.front();
    if (is_type(e, "lost")) {
      EXPECT_EQ(num(e, "count"), num(e, "ringbuf_full") + num(e, "missed_runs")) << e.dump();
      counted += num(e, "count");
      ringbuf_full += num(e, "ringbuf_full");
    }
    if (is_type(e, "exit")) exit_lost = num(e, "lost");
  }
  EXPECT_GT(ringbuf_full, 0u) << "the overflow is the ring buffer's";
  ASSERT_TRUE(exit_lost.has_value()) << live.describe();
  EXPECT_EQ(*exit_lost, counted) << "exit's total is the sum of the lost events";
}

// Issue 13, "ghosts after a loss": connections whose ends were lost used to
// stay in the table forever. After a loss the stream resyncs by itself, and
// the table converges to the kernel's.
TEST(LiveStream, after_lost_records_the_table_converges_to_the_kernels) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace live(ns, {.args = {"--ringbuf-kib", "16", "-v"}});
  ASSERT_TRUE(live.wait_sync()) << live.describe();
  burst_of_connections(ns, 2000);
  ASSERT_TRUE(live.wait_for([](const Json& e) { return is_type(e, "lost"); }, 20s))
      << live.describe();
  // The resync comes about a second after the loss, without SIGUSR1.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (live.err().find("resync after lost records") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  ASSERT_NE(live.err().find("resync after lost records"), std::string::npos) << live.describe();
  auto table = live.dump_table();
  auto ss = ss_tane(ns);
  EXPECT_TRUE(table_matches_ss(table, ss)) << live.describe(20);
  ASSERT_EQ(live.stop(), 0) << live.describe();
  // The fixture did lose ends: the resync corrected sockets, each with an
  // inferred state event (without them the table above would hold ghosts).
  size_t corrections = 0;
  bool after_loss = false;
  for (const Json& e : live.events()) {
    after_loss = after_loss || is_type(e, "lost");
    corrections += after_loss && is_type(e, "state") && e.value("inferred", false);
  }
  EXPECT_GT(corrections, 0u) << live.err();
}

TEST(LiveStream, missing_namespace_is_exit_1_with_one_line) {
  SSTRACE_REQUIRE_PRIVILEGES();
  const std::string name = "sstrace-e2e-no-such-namespace";
  RunResult r = run({sstrace_binary(), "--json", "-N", name}, "", 30s);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, "") << "nothing on stdout, not even an exit event";
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find(name), std::string::npos) << "the message names the namespace: " << r.err;
}

TEST(LiveStream, bad_option_is_exit_2_with_one_line) {
  SSTRACE_REQUIRE_PRIVILEGES();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--json", "--no-such-option"},
        std::vector<std::string>{"--json", "--duration", "soon"},
        std::vector<std::string>{"--json", "-N"}}) {
    std::vector<std::string> argv{sstrace_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = run(argv, "", 30s);
    EXPECT_EQ(r.status, 2) << r.command << ": " << r.err;
    EXPECT_EQ(r.out, "") << r.command;
    EXPECT_EQ(r.err_lines().size(), 1u) << r.command << ": " << r.err;
  }
}

}  // namespace
}  // namespace sstrace::e2e
