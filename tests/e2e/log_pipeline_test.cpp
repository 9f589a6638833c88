// Output for log pipelines (issue 11): `--output FILE` under a real
// logrotate (`create` with a SIGHUP, and `copytruncate`) and a real rsyslog
// shipping the file over TCP to a second rsyslog, while connections churn.
// Every event line must land exactly once, whole, parseable, with no NUL
// hole, across the rotations.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"
#include "live_harness.h"

namespace sstrace::e2e {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// A directory of our own (logrotate refuses to rotate in a world-writable
// one), removed with everything in it at scope exit.
class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/sstrace-logs-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// Connections opened and closed over loopback, one every few milliseconds,
// until a line arrives on the channel.
void churn_commands(Channel& ch) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 128) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("churn: cannot listen");
  ch.send("ok");
  while (!ch.pending()) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("churn: connect failed");
    int s = accept(l, nullptr, nullptr);
    close(c);
    close(s);
    usleep(3000);
  }
  close(l);
}

bool wait_for_text(const std::string& path, const std::string& text,
                   std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The files a run wrote, oldest first: every one whole JSON lines, no NUL
// byte, none empty (each rotation moved events); no line twice; the exit
// event, last of the newest file, counts every line of all of them.
std::vector<std::string> expect_every_line_once(const std::vector<std::string>& files) {
  std::vector<std::string> all;
  std::set<std::string> seen;
  for (const std::string& f : files) {
    const std::string text = slurp(f);
    SCOPED_TRACE(f);
    EXPECT_FALSE(text.empty()) << "no event landed in " << f;
    if (text.empty()) continue;
    EXPECT_EQ(text.find('\0'), std::string::npos) << "a NUL hole in " << f;
    EXPECT_EQ(text.back(), '\n') << "a cut-off line at the end of " << f;
    std::string error;
    parse_json_lines(text, &error);
    EXPECT_EQ(error, "") << "every line of " << f << " is whole JSON";
    for (std::string& line : split_lines(text)) {
      EXPECT_TRUE(seen.insert(line).second) << "written twice: " << line;
      all.push_back(std::move(line));
    }
  }
  if (all.empty()) {
    ADD_FAILURE() << "no lines at all";
    return all;
  }
  Json exit = Json::parse(all.back(), nullptr, false);
  EXPECT_EQ(exit.value("type", ""), "exit") << all.back();
  EXPECT_EQ(exit.value("events", uint64_t(0)), all.size())
      << "the exit event's count against the lines found in every file";
  return all;
}

struct RotationRun {
  std::vector<std::string> files;  // oldest first
  std::string trace_err;
};

// sstrace --output under churn, rotated `rotations` times by logrotate with
// `directives` (PID stands for sstrace's pid), then stopped.
// `before_rotating` runs once the churn has started (a shipper catching up).
// `extra` are more options for sstrace.
RotationRun run_with_rotations(const Scratch& dir, const std::string& directives, int rotations,
                               const std::function<void()>& before_rotating = {},
                               const std::vector<std::string>& extra = {}) {
  Netns ns;
  const std::string log = dir.path("sstrace.json");
  std::vector<std::string> args{"--output", log};
  args.insert(args.end(), extra.begin(), extra.end());
  LiveTrace trace(ns, LiveTrace::Config{args});
  EXPECT_TRUE(wait_for_text(log, "\"type\":\"sync\"", 60s)) << trace.describe();
  Worker churn(ns, "churner", churn_commands);
  EXPECT_EQ(churn.recv(), "ok");
  if (before_rotating) before_rotating();

  std::string body = directives;
  for (size_t at; (at = body.find("PID")) != std::string::npos;)
    body.replace(at, 3, std::to_string(trace.pid()));
  const std::string conf = dir.path("logrotate.conf");
  write_file(conf, log + " {\n  rotate 10\n  nocompress\n" + body + "}\n");
  for (int i = 0; i < rotations; ++i) {
    std::this_thread::sleep_for(700ms);
    RunResult r = run({"logrotate", "-f", "-s", dir.path("logrotate.state"), conf});
    EXPECT_EQ(r.status, 0) << r.err;
  }
  std::this_thread::sleep_for(700ms);
  churn.send("stop");
  EXPECT_EQ(churn.wait_exit(), 0);
  EXPECT_EQ(trace.stop(), 0) << trace.describe();

  RotationRun run;
  for (int i = rotations; i >= 1; --i) run.files.push_back(log + "." + std::to_string(i));
  run.files.push_back(log);
  run.trace_err = trace.err();
  return run;
}

bool have(const char* tool) { return access(tool, X_OK) == 0; }

// logrotate's `create`: rename, a new file at the path, then the signal.
constexpr const char* kCreateAndSighup =
    "  create 0640 root root\n"
    "  postrotate\n"
    "    kill -HUP PID\n"
    "  endscript\n";

// For a shipper that tails the path (rsyslog's imfile): imfile stops
// reading a file when it is renamed (rsyslog issue #523), so the lines
// sstrace writes between logrotate's rename and the SIGHUP would never be
// shipped. Stopped across the rotation, sstrace writes nothing in between;
// it is woken after the signal is queued, and reopens before it writes
// again (the kernel holds the events meanwhile). README "Log pipelines".
constexpr const char* kCreateStoppedAndSighup =
    "  create 0640 root root\n"
    "  prerotate\n"
    "    kill -STOP PID\n"
    "  endscript\n"
    "  postrotate\n"
    "    kill -HUP PID\n"
    "    kill -CONT PID\n"
    "  endscript\n";

// copytruncate loses what is written between its copy and its truncate
// (logrotate(8) says so; README "Log pipelines"): sstrace is stopped for
// that instant so that the count is exact. What is tested is sstrace's
// part: after the truncate its next write lands at the start of the
// emptied file (O_APPEND), not at the old offset past a hole of NUL bytes,
// and no line is split.
constexpr const char* kCopytruncateStopped =
    "  copytruncate\n"
    "  prerotate\n"
    "    kill -STOP PID\n"
    "  endscript\n"
    "  postrotate\n"
    "    kill -CONT PID\n"
    "  endscript\n";

// The mode sstrace creates its file with: 0640, less the umask.
fs::perms created_mode() {
  const mode_t mask = umask(0);
  umask(mask);
  return static_cast<fs::perms>(0640 & ~mask);
}

// Three rotations with `directives` under churn: every line once, whole.
// Returns the files, oldest first (empty when logrotate is missing).
std::vector<std::string> expect_rotations_keep_every_line(
    const Scratch& dir, const char* directives, const std::vector<std::string>& extra = {}) {
  if (!have("/usr/sbin/logrotate")) {
    ADD_FAILURE() << "logrotate is missing (scripts/setup.sh)";
    return {};
  }
  RotationRun r = run_with_rotations(dir, directives, 3, {}, extra);
  EXPECT_EQ(r.trace_err, "");
  expect_every_line_once(r.files);
  return r.files;
}

TEST(LogPipeline, logrotate_create_with_sighup_moves_every_line_once) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Scratch dir;
  std::vector<std::string> files = expect_rotations_keep_every_line(dir, kCreateAndSighup);
  // The oldest file is the one sstrace created.
  if (!files.empty()) {
    EXPECT_EQ(fs::status(files.front()).permissions() & fs::perms::all, created_mode());
  }
}

// The packaged service's case: --user drops to another user once the file
// is open, so each SIGHUP reopens as that user, in a directory it owns and
// into the file logrotate created for it (as packaging's logrotate file
// does for the sstrace user).
TEST(LogPipeline, as_another_user_each_rotation_reopens_the_file_created_for_it) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Scratch dir;
  ASSERT_EQ(run({"chown", "nobody:nogroup", dir.path(".")}).status, 0);
  const char* directives =
      "  create 0640 nobody nogroup\n"
      "  su nobody nogroup\n"
      "  postrotate\n"
      "    kill -HUP PID\n"
      "  endscript\n";
  std::vector<std::string> files =
      expect_rotations_keep_every_line(dir, directives, {"--user", "nobody"});
  ASSERT_EQ(files.size(), 4u);
  // logrotate made the newest three for nobody, mode 0640: sstrace, which
  // keeps no capability after seeding (not even CAP_DAC_OVERRIDE), could
  // reopen them only as their owner, and every line above landed.
  for (size_t i = 1; i < files.size(); ++i) {
    struct stat st {};
    ASSERT_EQ(stat(files[i].c_str(), &st), 0) << files[i];
    EXPECT_EQ(st.st_uid, 65534u) << files[i];
  }
}

TEST(LogPipeline, logrotate_copytruncate_leaves_no_nul_hole) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Scratch dir;
  expect_rotations_keep_every_line(dir, kCopytruncateStopped);
}

TEST(LogPipeline, an_output_file_that_cannot_be_opened_is_one_line_and_exit_1) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Scratch dir;
  const std::string missing = dir.path("no-such-dir/sstrace.json");
  for (std::vector<std::string> cmd : {std::vector<std::string>{}, {"snapshot"}, {"top"}}) {
    cmd.insert(cmd.begin(), sstrace_binary());
    cmd.insert(cmd.end(), {"--json", "--duration", "1", "--output", missing});
    if (cmd[1] == "snapshot") cmd.erase(cmd.end() - 4, cmd.end() - 2);  // no --duration
    RunResult r = run(cmd);
    EXPECT_EQ(r.status, 1) << r.command << "\n" << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << r.command << "\n" << r.err;
    EXPECT_EQ(r.err_lines()[0],
              "sstrace: cannot open --output file " + missing + ": No such file or directory");
  }
}

TEST(LogPipeline, snapshot_appends_to_the_output_file) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  SocketSet set(ns);
  set.tcp_listen("127.0.0.1");
  Scratch dir;
  const std::string file = dir.path("dump.json");
  write_file(file, "{\"type\":\"earlier\"}\n");
  const auto mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read;
  fs::permissions(file, mode);
  for (int i = 0; i < 2; ++i) {
    RunResult r =
        run({sstrace_binary(), "snapshot", "-tln", "--json", "-N", ns.name(), "--output", file});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "") << "nothing on stdout";
  }
  std::vector<std::string> lines = split_lines(slurp(file));
  ASSERT_EQ(lines.size(), 3u) << slurp(file);
  EXPECT_EQ(lines[0], "{\"type\":\"earlier\"}") << "appended, not truncated";
  EXPECT_EQ(lines[1].rfind("{\"type\":\"snapshot\",", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("{\"type\":\"snapshot\",", 0), 0u) << lines[2];
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, mode)
      << "an existing file keeps its mode";
}

TEST(LogPipeline, a_reopen_that_fails_stops_with_the_events_in_the_old_file) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  Scratch dir;
  fs::create_directories(dir.path("logs"));
  const std::string log = dir.path("logs/sstrace.json");
  LiveTrace trace(ns, LiveTrace::Config{{"--output", log}});
  ASSERT_TRUE(wait_for_text(log, "\"type\":\"sync\"", 60s)) << trace.describe();
  // The directory moved away: the path cannot be created again.
  fs::rename(dir.path("logs"), dir.path("moved"));
  trace.signal(SIGHUP);
  EXPECT_EQ(trace.wait_exit(30s), 1) << trace.describe();
  EXPECT_EQ(trace.err(), "sstrace: SIGHUP: cannot open --output file " + log +
                             ": No such file or directory; the events before the signal are in "
                             "the file that was at that path\n");
  const std::string kept = slurp(dir.path("moved/sstrace.json"));
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back(), '\n');
  std::string error;
  parse_json_lines(kept, &error);
  EXPECT_EQ(error, "");
}

TEST(LogPipeline, without_output_sighup_neither_stops_nor_disturbs_the_stream) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  LiveTrace trace(ns);
  ASSERT_TRUE(trace.wait_sync()) << trace.describe();
  trace.signal(SIGHUP);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(trace.exited()) << trace.describe();
  EXPECT_EQ(trace.stop(), 0) << trace.describe();
  EXPECT_EQ(trace.err(), "");
  EXPECT_EQ(trace.events().back().value("type", ""), "exit") << trace.describe();
}

// Top's frames go to the file and follow it across a reopen.
TEST(LogPipeline, top_json_frames_follow_the_output_file_across_a_reopen) {
  SSTRACE_REQUIRE_PRIVILEGES();
  Netns ns;
  Scratch dir;
  const std::string log = dir.path("top.json");
  LiveTrace trace(ns, LiveTrace::Config{{"--output", log, "--interval", "0.2"}, 0, {"top"}});
  ASSERT_TRUE(wait_for_text(log, "\"type\":\"top\"", 30s)) << trace.describe();
  fs::rename(log, log + ".1");
  trace.signal(SIGHUP);
  EXPECT_TRUE(wait_for_text(log, "\"type\":\"top\"", 30s)) << trace.describe();
  EXPECT_EQ(trace.stop(), 0) << trace.describe();
  for (const std::string& f : {log + ".1", log}) {
    const std::string text = slurp(f);
    ASSERT_FALSE(text.empty()) << f;
    EXPECT_EQ(text.back(), '\n') << f;
    std::string error;
    for (const Json& frame : parse_json_lines(text, &error))
      EXPECT_EQ(frame.value("type", ""), "top");
    EXPECT_EQ(error, "") << f;
  }
}

// An rsyslogd of its own: config, pid file and work directory in the
// scratch directory, in the foreground (-n); killed at scope exit.
class Rsyslog {
 public:
  Rsyslog(const Scratch& dir, const std::string& name, const std::string& config) {
    const std::string work = dir.path(name + "-work");
    fs::create_directories(work);
    const std::string conf = dir.path(name + ".conf");
    write_file(conf, "global(workDirectory=\"" + work + "\" maxMessageSize=\"64k\")\n" + config);
    RunResult check = run({"rsyslogd", "-N1", "-f", conf});
    if (check.status != 0) throw std::runtime_error("rsyslogd -N1 " + conf + ": " + check.err);
    RunResult r = run_shell("rsyslogd -n -f " + conf + " -i " + dir.path(name + ".pid") + " >" +
                            dir.path(name + ".log") + " 2>&1 & echo $!");
    pid_ = std::atoi(r.out.c_str());
    if (r.status != 0 || pid_ <= 0) throw std::runtime_error("cannot start rsyslogd: " + r.err);
  }
  ~Rsyslog() {
    if (pid_ > 0) kill(pid_, SIGTERM);
  }
  Rsyslog(const Rsyslog&) = delete;
  Rsyslog& operator=(const Rsyslog&) = delete;

 private:
  pid_t pid_ = -1;
};

uint16_t free_loopback_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

TEST(LogPipeline, rsyslog_ships_every_line_once_across_a_rotation) {
  SSTRACE_REQUIRE_PRIVILEGES();
  ASSERT_TRUE(have("/usr/sbin/rsyslogd")) << "rsyslog is missing (scripts/setup.sh)";
  ASSERT_TRUE(have("/usr/sbin/logrotate")) << "logrotate is missing (scripts/setup.sh)";
  Scratch dir;
  const std::string port = std::to_string(free_loopback_port());
  const std::string received = dir.path("received.json");
  // The receiver writes each message's text alone; the sender forwards in
  // RFC 5424 form, whose MSG is the line exactly as imfile read it.
  Rsyslog receiver(dir, "receiver",
                   "module(load=\"imtcp\")\n"
                   "template(name=\"line\" type=\"string\" string=\"%msg%\\n\")\n"
                   "ruleset(name=\"store\") {\n"
                   "  action(type=\"omfile\" file=\"" +
                       received +
                       "\" template=\"line\")\n"
                       "}\n"
                       "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" +
                       port + "\" ruleset=\"store\")\n");
  Rsyslog sender(dir, "sender",
                 "module(load=\"imfile\" mode=\"polling\" pollingInterval=\"1\")\n"
                 "ruleset(name=\"ship\") {\n"
                 "  action(type=\"omfwd\" target=\"127.0.0.1\" port=\"" +
                     port +
                     "\" protocol=\"tcp\"\n"
                     "         template=\"RSYSLOG_SyslogProtocol23Format\"\n"
                     "         action.resumeRetryCount=\"-1\" queue.type=\"LinkedList\")\n"
                     "}\n"
                     "input(type=\"imfile\" file=\"" +
                     dir.path("sstrace.json") + "\" tag=\"sstrace\" ruleset=\"ship\")\n");

  // The shipper follows the file before it is rotated, as it would on a
  // host where the file has been there for a while (imfile in polling mode
  // finds a new file at its next poll).
  RotationRun r = run_with_rotations(dir, kCreateStoppedAndSighup, 1, [&] {
    EXPECT_TRUE(wait_for_text(received, "\"type\":\"sync\"", 30s)) << "nothing shipped";
  });
  std::vector<std::string> sent = expect_every_line_once(r.files);
  ASSERT_FALSE(sent.empty());

  // Delivered when the receiver holds as many lines; then compared whole.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::vector<std::string> got;
  while (std::chrono::steady_clock::now() < deadline) {
    got = split_lines(slurp(received));
    if (got.size() >= sent.size()) break;
    std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_for(500ms);  // anything arriving twice arrives now
  got = split_lines(slurp(received));
  std::multiset<std::string> want(sent.begin(), sent.end());
  std::multiset<std::string> have_lines(got.begin(), got.end());
  EXPECT_EQ(got.size(), sent.size())
      << slurp(dir.path("sender.log")) << slurp(dir.path("receiver.log"));
  std::string error;
  parse_json_lines(slurp(received), &error);
  EXPECT_EQ(error, "") << "every line that arrived is whole JSON";
  // Where the lost lines were, in writing order (the rotated file's lines
  // first): a run at the end of the rotated file is the shipper's.
  std::string where;
  size_t missing = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    if (have_lines.count(sent[i])) continue;
    if (missing++ < 3 || i + 1 == sent.size()) where += " #" + std::to_string(i);
  }
  EXPECT_EQ(missing, 0u) << "lines written but never delivered, at" << where << " of "
                         << sent.size() << "; the rotated file held the first "
                         << split_lines(slurp(r.files.front())).size();
  EXPECT_TRUE(want == have_lines) << "the delivered lines are exactly the written ones";
}

}  // namespace
}  // namespace sstrace::e2e
