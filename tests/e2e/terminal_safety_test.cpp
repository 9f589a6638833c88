// A process name is the process's own choice (prctl(PR_SET_NAME)): text
// output must show an escape sequence in it, never send it to the terminal.
#include "harness.h"

namespace sstrace::e2e {
namespace {

using namespace std::chrono_literals;

// ESC ] 0 ; ... BEL retitles an xterm; ESC [ 2 J clears the screen.
const std::string kHostileComm = "ev\x1b]0;x\x07\x1b[2J";

void expect_escaped(const RunResult& r) {
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "an ESC byte reached the output";
  EXPECT_EQ(r.out.find('\x07'), std::string::npos) << "a BEL byte reached the output";
  EXPECT_NE(r.out.find("ev\\x1b]0;x\\x07\\x1b[2J"), std::string::npos)
      << "the name is shown, escaped visibly:\n"
      << r.out << r.err;
}

TEST(TerminalSafety, a_hostile_process_name_is_escaped_in_snapshot_text) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketHolder holder(ns, kHostileComm, [](SocketSet& s) { s.tcp_listen("127.0.0.1"); });
  expect_escaped(run_snapshot(ns, {"-tlnp"}));
}

TEST(TerminalSafety, a_hostile_process_name_is_escaped_in_the_live_text_stream) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketHolder holder(ns, kHostileComm, [](SocketSet& s) { s.tcp_listen("127.0.0.1"); });
  RunResult r = run({sstrace_binary(), "-N", ns.name(), "--duration", "1"}, "", 30s);
  ASSERT_EQ(r.status, 0) << r.err;
  expect_escaped(r);
}

TEST(TerminalSafety, json_keeps_the_exact_name) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketHolder holder(ns, kHostileComm, [](SocketSet& s) { s.tcp_listen("127.0.0.1"); });
  RunResult r = run({sstrace_binary(), "--json", "-N", ns.name(), "--duration", "1"}, "", 30s);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string error;
  bool found = false;
  for (const Json& e : parse_json_lines(r.out, &error))
    found = found || (e.contains("comm") && e["comm"] == kHostileComm);
  EXPECT_EQ(error, "");
  EXPECT_TRUE(found) << r.out;
}

}  // namespace
}  // namespace sstrace::e2e
