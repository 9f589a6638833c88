#include "cli/options.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "cli/snapshot_cmd.h"
#include "common/result.h"

namespace sstrace::cli {
namespace {

using diag::SockKind;

constexpr uint32_t st(diag::TcpState s) { return 1u << s; }
constexpr uint32_t kAll = (1u << diag::kNewSynRecv) - 1;
constexpr uint32_t kConn =
    kAll & ~(st(diag::kListen) | st(diag::kClose) | st(diag::kTimeWait) | st(diag::kSynRecv));
constexpr uint32_t kListening = st(diag::kListen) | st(diag::kClose);

constexpr uint32_t kb(SockKind k) { return 1u << static_cast<unsigned>(k); }
constexpr uint32_t kUnix =
    kb(SockKind::unix_stream) | kb(SockKind::unix_dgram) | kb(SockKind::unix_seqpacket);
constexpr uint32_t kPacket = kb(SockKind::packet_raw) | kb(SockKind::packet_dgram);
constexpr uint32_t kInet = kb(SockKind::tcp) | kb(SockKind::udp) | kb(SockKind::raw);
constexpr uint32_t kEvery = kInet | kUnix | kPacket;

std::optional<Options> parse(const std::vector<const char*>& args) {
  std::vector<std::string> store{"sstrace"};
  for (const char* a : args) store.emplace_back(a);
  std::vector<char*> argv;
  for (auto& s : store) argv.push_back(s.data());
  argv.push_back(nullptr);
  return parse_options(static_cast<int>(store.size()), argv.data());
}

std::optional<Options> parse(std::initializer_list<const char*> args) {
  return parse(std::vector<const char*>(args));
}

Options ok(std::initializer_list<const char*> args) {
  auto o = parse(args);
  EXPECT_TRUE(o.has_value());
  return o.value_or(Options{});
}

// ss's letters as `sstrace snapshot` reads them: the live stream refuses
// the ones that mean nothing to it (tested apart below).
Options ss_ok(std::initializer_list<const char*> args) {
  std::vector<const char*> v{"snapshot"};
  v.insert(v.end(), args.begin(), args.end());
  auto o = parse(v);
  EXPECT_TRUE(o.has_value());
  return o.value_or(Options{});
}

// The one-line message of the UsageError `args` throw ("" if none).
std::string usage_error(std::initializer_list<const char*> args) {
  try {
    parse(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Options, no_arguments_is_the_live_stream_with_ss_defaults) {
  Options o = ok({});
  EXPECT_EQ(o.command, Command::live);
  EXPECT_FALSE(o.kinds_given);
  EXPECT_EQ(o.kinds, kEvery);
  EXPECT_TRUE(o.netlink);  // ss's default tables include netlink
  EXPECT_TRUE(o.ipv4 && o.ipv6);
  EXPECT_EQ(o.default_states, kConn);
  EXPECT_TRUE(o.filter_words.empty());
}

TEST(Options, snapshot_subcommand) {
  Options o = ok({"snapshot", "-t"});
  EXPECT_EQ(o.command, Command::snapshot);
  EXPECT_EQ(o.kinds, kb(SockKind::tcp));
  // Only as the first word: elsewhere it is a FILTER word.
  EXPECT_EQ(ok({"-t", "snapshot"}).filter_words, std::vector<std::string>{"snapshot"});
}

TEST(Options, table_letters_and_their_default_states) {
  Options t = ss_ok({"-t"});
  EXPECT_TRUE(t.kinds_given);
  EXPECT_EQ(t.kinds, kb(SockKind::tcp));
  EXPECT_TRUE(t.tcp && !t.udp && !t.raw && !t.unix_ && !t.packet && !t.netlink);
  EXPECT_EQ(t.default_states, kConn);
  EXPECT_TRUE(t.ipv4 && t.ipv6);

  Options u = ss_ok({"-u"});
  EXPECT_EQ(u.kinds, kb(SockKind::udp));
  EXPECT_EQ(u.default_states, st(diag::kEstablished));

  Options w = ss_ok({"-w"});
  EXPECT_EQ(w.kinds, kb(SockKind::raw));
  EXPECT_EQ(w.default_states, st(diag::kEstablished));

  Options x = ss_ok({"-x"});
  EXPECT_EQ(x.kinds, kUnix);
  EXPECT_TRUE(x.unix_);
  EXPECT_EQ(x.default_states, kConn);

  Options p = ss_ok({"-0"});
  EXPECT_EQ(p.kinds, kPacket);
  EXPECT_TRUE(p.packet);
  EXPECT_EQ(p.default_states, st(diag::kClose));

  Options tu = ss_ok({"-tu"});
  EXPECT_EQ(tu.kinds, kb(SockKind::tcp) | kb(SockKind::udp));
  EXPECT_EQ(tu.default_states, kConn);  // union of the tables' defaults
}

TEST(Options, long_forms_of_the_table_letters) {
  EXPECT_EQ(ss_ok({"--tcp"}).kinds, kb(SockKind::tcp));
  EXPECT_EQ(ss_ok({"--udp"}).kinds, kb(SockKind::udp));
  EXPECT_EQ(ss_ok({"--raw"}).kinds, kb(SockKind::raw));
  EXPECT_EQ(ss_ok({"--unix"}).kinds, kUnix);
  EXPECT_EQ(ss_ok({"--packet"}).kinds, kPacket);
}

TEST(Options, all_and_listening_replace_the_default_states) {
  EXPECT_EQ(ss_ok({"-a"}).default_states, kAll);
  EXPECT_EQ(ss_ok({"-l"}).default_states, kListening);
  EXPECT_EQ(ss_ok({"-ua"}).default_states, kAll);
  EXPECT_EQ(ss_ok({"-lu"}).default_states, kListening);
  EXPECT_TRUE(ss_ok({"--all"}).all);
  EXPECT_TRUE(ss_ok({"--listening"}).listening);
  // -a and -l do not pick tables: still every table.
  EXPECT_FALSE(ss_ok({"-a"}).kinds_given);
  EXPECT_EQ(ss_ok({"-l"}).kinds, kEvery);
  // The last one wins, as in ss.
  EXPECT_EQ(ss_ok({"-a", "-l"}).default_states, kListening);
  EXPECT_EQ(ss_ok({"-l", "-a"}).default_states, kAll);
}

TEST(Options, state_words_that_leave_no_state_fall_back_to_the_tables_defaults) {
  // ss reads `state`/`exclude` into the variable -a/-l/-A set: words that
  // leave no state undo those too. Without table options that is
  // "connected"; with them, their own defaults (found by the differential
  // filter test: `ss -uan state established exclude established` lists no
  // UNCONN socket, sstrace listed them).
  EXPECT_EQ(ss_ok({"-an"}).states_if_none_left, kConn);
  EXPECT_EQ(ss_ok({"-l"}).states_if_none_left, kConn);
  EXPECT_EQ(ss_ok({"-tan"}).states_if_none_left, kConn);
  EXPECT_EQ(ss_ok({"-uan"}).states_if_none_left, st(diag::kEstablished));
  EXPECT_EQ(ss_ok({"-4", "-ua"}).states_if_none_left, kConn);  // -4 brings "connected" with it
  EXPECT_EQ(ss_ok({"-xa"}).states_if_none_left, kConn);        // -x is a family in ss
  EXPECT_EQ(ss_ok({"-0a"}).states_if_none_left, st(diag::kClose));
  EXPECT_EQ(ss_ok({"-l", "-A", "udp"}).states_if_none_left, st(diag::kEstablished));
}

TEST(Options, ip_versions_pick_inet_tables_and_families) {
  Options v4 = ss_ok({"-4"});
  EXPECT_EQ(v4.kinds, kInet);
  EXPECT_TRUE(v4.ipv4);
  EXPECT_FALSE(v4.ipv6);
  EXPECT_EQ(v4.default_states, kConn);

  Options v6 = ss_ok({"-6"});
  EXPECT_EQ(v6.kinds, kInet);
  EXPECT_FALSE(v6.ipv4);
  EXPECT_TRUE(v6.ipv6);

  Options t4 = ss_ok({"-t4"});
  EXPECT_EQ(t4.kinds, kb(SockKind::tcp));
  EXPECT_TRUE(t4.ipv4 && !t4.ipv6);

  Options both = ss_ok({"--ipv4", "--ipv6"});
  EXPECT_TRUE(both.ipv4 && both.ipv6);

  // ss: a table whose family was not named brings its own families back.
  Options tx = ss_ok({"-t", "-x"});
  EXPECT_EQ(tx.kinds, kb(SockKind::tcp) | kUnix);
  EXPECT_TRUE(tx.ipv4 && tx.ipv6);
}

TEST(Options, preferred_family_is_the_last_family_given) {
  EXPECT_EQ(ss_ok({}).family, AF_UNSPEC);
  EXPECT_EQ(ss_ok({"-t"}).family, AF_UNSPEC);
  EXPECT_EQ(ss_ok({"-4"}).family, AF_INET);
  EXPECT_EQ(ss_ok({"-4", "-6"}).family, AF_INET6);
  EXPECT_EQ(ss_ok({"-6", "-x"}).family, AF_UNIX);
  EXPECT_EQ(ss_ok({"-0"}).family, AF_PACKET);
  EXPECT_EQ(ss_ok({"-f", "inet"}).family, AF_INET);
  EXPECT_EQ(ss_ok({"-f", "link"}).family, AF_PACKET);
  EXPECT_EQ(ss_ok({"-f", "netlink"}).family, AF_NETLINK);  // netlink:PROTO:PORTID
}

TEST(Options, filter_file_and_words_together) {
  // ss reads the file's expression after the words (`-F f state listening`).
  Options o = ok({"-F", "f.txt", "state", "listening"});
  EXPECT_EQ(o.filter_file, "f.txt");
  EXPECT_EQ(o.filter_words, (std::vector<std::string>{"state", "listening"}));
}

TEST(Options, family_values) {
  EXPECT_EQ(ss_ok({"-f", "inet"}).kinds, kInet);
  EXPECT_TRUE(ss_ok({"-f", "inet"}).ipv4);
  EXPECT_FALSE(ss_ok({"-f", "inet"}).ipv6);
  EXPECT_FALSE(ss_ok({"-finet6"}).ipv4);
  EXPECT_EQ(ss_ok({"--family=unix"}).kinds, kUnix);
  EXPECT_EQ(ss_ok({"--family", "link"}).kinds, kPacket);
  Options nl = ss_ok({"-f", "netlink"});
  EXPECT_EQ(nl.kinds, 0u);
  EXPECT_TRUE(nl.netlink);
  EXPECT_EQ(nl.default_states, st(diag::kClose));
  EXPECT_EQ(ss_ok({"-f", "inet", "-f", "unix"}).kinds, kInet | kUnix);
}

TEST(Options, query_values) {
  EXPECT_EQ(ss_ok({"-A", "tcp"}).kinds, kb(SockKind::tcp));
  EXPECT_EQ(ss_ok({"-A", "tcp,udp"}).kinds, kb(SockKind::tcp) | kb(SockKind::udp));
  EXPECT_EQ(ss_ok({"--query=inet"}).kinds, kInet);
  EXPECT_EQ(ss_ok({"--socket", "unix"}).kinds, kUnix);
  EXPECT_EQ(ss_ok({"-Aunix_stream"}).kinds, kb(SockKind::unix_stream));
  EXPECT_EQ(ss_ok({"-A", "unix_dgram"}).kinds, kb(SockKind::unix_dgram));
  EXPECT_EQ(ss_ok({"-A", "unix_seqpacket"}).kinds, kb(SockKind::unix_seqpacket));
  EXPECT_EQ(ss_ok({"-A", "u_str,u_dgr,u_seq"}).kinds, kUnix);
  EXPECT_EQ(ss_ok({"-A", "packet"}).kinds, kPacket);
  EXPECT_EQ(ss_ok({"-A", "packet_raw"}).kinds, kb(SockKind::packet_raw));
  EXPECT_EQ(ss_ok({"-A", "p_dgr"}).kinds, kb(SockKind::packet_dgram));
  EXPECT_TRUE(ss_ok({"-A", "netlink"}).netlink);
  EXPECT_EQ(ss_ok({"-A", "all"}).kinds, kEvery);
  EXPECT_EQ(ss_ok({"-A", "all,!unix,!netlink"}).kinds, kInet | kPacket);
  EXPECT_FALSE(ss_ok({"-A", "all,!unix,!netlink"}).netlink);
  // -A makes "connected" the default state set, even for UDP.
  EXPECT_EQ(ss_ok({"-A", "udp"}).default_states, kConn);
  EXPECT_EQ(ss_ok({"-l", "-A", "udp"}).default_states, kListening);
  EXPECT_EQ(ss_ok({"-A", "udp", "-a"}).default_states, kAll);
}

TEST(Options, first_query_forgets_tables_given_before_it) {
  // ss.c: the first -A clears the tables; later letters add to it.
  EXPECT_EQ(ss_ok({"-t", "-A", "udp"}).kinds, kb(SockKind::udp));
  EXPECT_EQ(ss_ok({"-A", "udp", "-t"}).kinds, kb(SockKind::tcp) | kb(SockKind::udp));
  EXPECT_EQ(ss_ok({"-A", "udp", "-A", "raw"}).kinds, kb(SockKind::udp) | kb(SockKind::raw));
}

TEST(Options, show_letters) {
  Options o = ss_ok({"-n", "-r", "-i", "-m", "-e", "-o", "-p", "-s", "-O", "-H", "-j", "-v"});
  EXPECT_TRUE(o.numeric && o.resolve && o.info && o.memory && o.extended && o.timer);
  EXPECT_TRUE(o.processes && o.summary && o.oneline && o.no_header && o.json && o.verbose);
  EXPECT_FALSE(o.kinds_given);
  Options l =
      ss_ok({"--numeric", "--resolve", "--info", "--memory", "--extended", "--options",
             "--processes", "--summary", "--oneline", "--no-header", "--json", "--verbose"});
  EXPECT_TRUE(l.numeric && l.resolve && l.info && l.memory && l.extended && l.timer);
  EXPECT_TRUE(l.processes && l.summary && l.oneline && l.no_header && l.json && l.verbose);
}

TEST(Options, combined_short_flags_from_the_articles) {
  Options tanp = ss_ok({"-tanp"});
  EXPECT_EQ(tanp.kinds, kb(SockKind::tcp));
  EXPECT_EQ(tanp.default_states, kAll);
  EXPECT_TRUE(tanp.numeric && tanp.processes);

  Options tlnp = ss_ok({"-tlnp"});
  EXPECT_EQ(tlnp.default_states, kListening);
  EXPECT_TRUE(tlnp.numeric && tlnp.processes);

  Options itO = ss_ok({"-itO"});
  EXPECT_TRUE(itO.info && itO.oneline);
  EXPECT_EQ(itO.kinds, kb(SockKind::tcp));

  Options atonp = ss_ok({"-atonp"});
  EXPECT_TRUE(atonp.timer && atonp.numeric && atonp.processes);
  EXPECT_EQ(atonp.default_states, kAll);

  Options mtO = ss_ok({"-mtO"});
  EXPECT_TRUE(mtO.memory && mtO.oneline);

  Options ua = ss_ok({"-u", "-a"});
  EXPECT_EQ(ua.kinds, kb(SockKind::udp));
  EXPECT_EQ(ua.default_states, kAll);
}

TEST(Options, values_attached_or_separate) {
  EXPECT_EQ(ss_ok({"-N", "blue"}).netns, "blue");
  EXPECT_EQ(ss_ok({"-Nblue"}).netns, "blue");
  EXPECT_EQ(ss_ok({"--net=blue"}).netns, "blue");
  EXPECT_EQ(ss_ok({"--net", "blue"}).netns, "blue");
  EXPECT_EQ(ss_ok({"-tN", "blue"}).netns, "blue");
  EXPECT_EQ(ss_ok({"-F", "f.txt"}).filter_file, "f.txt");
  EXPECT_EQ(ss_ok({"--filter=-"}).filter_file, "-");
  EXPECT_EQ(ss_ok({"-D", "raw.bin"}).diag_file, "raw.bin");
  EXPECT_EQ(ss_ok({"--diag", "-"}).diag_file, "-");
  // A value option takes the next word even if it looks like an option.
  EXPECT_EQ(ss_ok({"-N", "--odd"}).netns, "--odd");
}

TEST(Options, live_stream_values) {
  Options o = ok({"--duration", "2.5", "--resync=30", "--rtt-min-change-us", "500",
                  "--rtt-min-change-pct=10", "--rtt-interval-ms", "250", "--ringbuf-kib", "16384"});
  EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
  EXPECT_DOUBLE_EQ(o.resync_s, 30);
  EXPECT_EQ(o.rtt_min_change_us, 500u);
  EXPECT_EQ(o.rtt_min_change_pct, 10u);
  EXPECT_EQ(o.rtt_interval_ms, 250u);
  EXPECT_EQ(o.ringbuf_kib, 16384u);
  EXPECT_FALSE(ok({}).all_netns);
  EXPECT_TRUE(ok({"--all-netns"}).all_netns);
  EXPECT_DOUBLE_EQ(ok({"--resync", "0"}).resync_s, 0);
  // The last of a repeated value wins, as getopt users expect.
  EXPECT_DOUBLE_EQ(ok({"--duration", "1", "--duration", "3"}).duration_s, 3);
}

// --duration is a positive, finite time that fits the clock: 0 and -0 ran
// forever and 1e99 stopped at once before.
TEST(Options, duration_must_be_positive_and_finite) {
  EXPECT_EQ(usage_error({"--duration", "0"}),
            "--duration: '0' is not a positive number of seconds");
  EXPECT_EQ(usage_error({"--duration", "-0"}), "--duration: '-0' is not a number of seconds");
  EXPECT_EQ(usage_error({"--duration", "1e99"}),
            "--duration: '1e99' seconds is more than ten years");
  EXPECT_EQ(usage_error({"--duration", "2e10"}),
            "--duration: '2e10' seconds is more than ten years");
  EXPECT_EQ(usage_error({"--duration", "inf"}), "--duration: 'inf' is not a number of seconds");
  EXPECT_EQ(usage_error({"--resync", "1e99"}), "--resync: '1e99' seconds is more than ten years");
  EXPECT_DOUBLE_EQ(ok({"--duration", "315360000"}).duration_s, 315360000);
}

// An option that parses and changes nothing would be a lie: the live stream
// refuses ss's letters that mean nothing to it, each with the reason.
TEST(Options, live_stream_refuses_what_it_would_ignore) {
  for (const char* l : {"-l", "-r", "-i", "-e", "-o", "-p", "-O", "-H"})
    EXPECT_EQ(usage_error({l}).rfind(std::string(l) + ": not an option of the live stream: ", 0),
              0u)
        << l << ": " << usage_error({l});
  EXPECT_NE(usage_error({"-D", "x"}).find("sstrace snapshot -D"), std::string::npos);
  for (auto args : {std::vector<const char*>{"-u"},
                    {"-x"},
                    {"-w"},
                    {"-0"},
                    {"-f", "unix"},
                    {"-f", "link"},
                    {"-A", "udp"},
                    {"-A", "tcp,udp"},
                    {"-A", "inet"},
                    {"-tu"}}) {
    std::string err;
    try {
      parse(args);
    } catch (const UsageError& e) {
      err = e.what();
    }
    EXPECT_EQ(err.rfind("the live stream follows TCP only", 0), 0u) << args[0] << ": " << err;
  }
  // What it does take.
  for (auto args : {std::vector<const char*>{"-t"},
                    {"-tan"},
                    {"-4"},
                    {"-6"},
                    {"-f", "inet6"},
                    {"-A", "tcp"},
                    {"-m"},
                    {"-s"},
                    {"-j"},
                    {"--metrics", "127.0.0.1:9100"},
                    {"--metrics", ":9100", "--quiet"},
                    {"--metrics", "[::1]:9100", "--metrics-peers", "5"}})
    EXPECT_TRUE(parse(args).has_value()) << args[0];
}

TEST(Options, alert_thresholds) {
  Options d = ok({});
  EXPECT_EQ(d.close_wait_alert_s, 30);
  EXPECT_EQ(d.port_pressure_pct, 80u);
  EXPECT_EQ(d.interval_s, 1);
  Options o = ok({"--close-wait-alert", "1.5", "--port-pressure-pct=50", "--interval", "2"});
  EXPECT_EQ(o.close_wait_alert_s, 1.5);
  EXPECT_EQ(o.port_pressure_pct, 50u);
  EXPECT_EQ(o.interval_s, 2);
  Options t = ok({"top", "--close-wait-alert=60", "--port-pressure-pct", "100"});
  EXPECT_EQ(t.close_wait_alert_s, 60);
  EXPECT_EQ(t.port_pressure_pct, 100u);
  EXPECT_EQ(usage_error({"--close-wait-alert", "0.5"}),
            "--close-wait-alert: '0.5' is not between 1 and 86400 seconds");
  EXPECT_EQ(usage_error({"--close-wait-alert", "x"}),
            "--close-wait-alert: 'x' is not a number of seconds");
  EXPECT_EQ(usage_error({"--port-pressure-pct", "0"}),
            "--port-pressure-pct: '0' is not between 1 and 100");
  EXPECT_EQ(usage_error({"--port-pressure-pct", "101"}),
            "--port-pressure-pct: '101' is not between 1 and 100");
  EXPECT_EQ(usage_error({"snapshot", "--close-wait-alert", "1"}),
            "--close-wait-alert: only the live stream takes this option");
  EXPECT_EQ(usage_error({"snapshot", "--port-pressure-pct", "1"}),
            "--port-pressure-pct: only the live stream takes this option");
}

TEST(Options, output_file_is_long_only_and_given_once) {
  EXPECT_EQ(ok({"--output", "/var/log/sstrace/sstrace.json", "--json"}).output_file,
            "/var/log/sstrace/sstrace.json");
  EXPECT_EQ(ok({"--output=events.txt"}).output_file, "events.txt");
  EXPECT_EQ(ok({"top", "--json", "--output", "top.json"}).output_file, "top.json");
  EXPECT_EQ(ok({"snapshot", "-tn", "--json", "--output", "dump.json"}).output_file, "dump.json");
  EXPECT_EQ(ok({"-s", "--quiet", "--output", "s.txt"}).output_file, "s.txt");
  EXPECT_EQ(usage_error({"--output", "a", "--output", "b"}),
            "--output: only one output file may be given");
  EXPECT_EQ(usage_error({"--output", ""}), "--output: empty file name");
  EXPECT_EQ(usage_error({"--metrics", ":9100", "--quiet", "--output", "x"}),
            "--output: --quiet without -s writes nothing to it");
  // -o stays ss's timer option.
  EXPECT_TRUE(ok({"snapshot", "-o"}).timer);
  EXPECT_TRUE(ok({"snapshot", "-o"}).output_file.empty());
}

TEST(Options, churn_view_options_belong_to_their_commands) {
  Options o = ok({"-s", "--interval", "0.5", "--quiet"});
  EXPECT_TRUE(o.summary);
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.interval_s, 0.5);
  EXPECT_EQ(usage_error({"--quiet"}),
            "--quiet: with no -s and no --metrics there would be no output at all");
  EXPECT_EQ(usage_error({"--interval", "0"}),
            "--interval: '0' is not between 0.1 and 3600 seconds");
  EXPECT_EQ(usage_error({"--interval", "x"}), "--interval: 'x' is not a number of seconds");
  EXPECT_EQ(usage_error({"--by", "port"}), "--by: only 'sstrace top' takes this option");
  EXPECT_EQ(usage_error({"--batch"}), "--batch: only 'sstrace top' takes this option");
  EXPECT_EQ(usage_error({"snapshot", "--interval", "1"}),
            "--interval: only the live stream takes this option");

  Options t = ok({"top", "--by", "process", "--batch", "--interval", "2", "-N", "x"});
  EXPECT_EQ(t.command, Command::top);
  EXPECT_EQ(t.by, "process");
  EXPECT_TRUE(t.batch);
  EXPECT_EQ(t.interval_s, 2);
  EXPECT_EQ(usage_error({"top", "--by", "host"}),
            "--by: 'host' is not one of peer, port, peer-port, process");
  EXPECT_EQ(usage_error({"top", "--quiet"}), "--quiet: top writes no events to quiet");
  EXPECT_EQ(usage_error({"top", "-s"}),
            "-s: not an option of top: its header carries the summary's counts");
  EXPECT_EQ(usage_error({"top", "-l"}).rfind("-l: not an option of top: ", 0), 0u);
  EXPECT_EQ(usage_error({"top", "-u"}).rfind("the live stream follows TCP only", 0), 0u);
}

TEST(Options, defaults_of_the_live_values) {
  Options o = ok({});
  EXPECT_EQ(o.duration_s, 0);
  EXPECT_EQ(o.rtt_min_change_us, 1000u);
  EXPECT_EQ(o.rtt_min_change_pct, 20u);
  EXPECT_EQ(o.rtt_interval_ms, 1000u);
  EXPECT_EQ(o.ringbuf_kib, 8192u);
}

TEST(Options, long_options_may_be_abbreviated_as_in_getopt) {
  EXPECT_TRUE(ss_ok({"--list"}).listening);
  EXPECT_TRUE(ss_ok({"--num"}).numeric);
  EXPECT_EQ(ss_ok({"--fam=unix"}).kinds, kUnix);
  EXPECT_DOUBLE_EQ(ok({"--dur", "4"}).duration_s, 4);
}

TEST(Options, filter_words_are_positional) {
  Options o = ok({"snapshot", "-o", "state", "established", "( dport = :443 or sport = :443 )"});
  EXPECT_EQ(o.filter_words,
            (std::vector<std::string>{"state", "established", "( dport = :443 or sport = :443 )"}));
  EXPECT_TRUE(o.timer);
  Options words = ok({"!", "(", "dport", "=", ":443", ")", "-t"});
  EXPECT_EQ(words.filter_words, (std::vector<std::string>{"!", "(", "dport", "=", ":443", ")"}));
  EXPECT_TRUE(words.tcp);
  EXPECT_EQ(ok({"-ant", "src", ":55544"}).filter_words,
            (std::vector<std::string>{"src", ":55544"}));
  EXPECT_EQ(ok({"dst", "192.168.1.130"}).filter_words,
            (std::vector<std::string>{"dst", "192.168.1.130"}));
  // Negative numbers reach the filter, which rejects them with its own words.
  EXPECT_EQ(ok({"sport", "=", "-1"}).filter_words, (std::vector<std::string>{"sport", "=", "-1"}));
  // After "--" everything is FILTER.
  EXPECT_EQ(ok({"--", "-t"}).filter_words, std::vector<std::string>{"-t"});
  EXPECT_FALSE(ok({"--", "-t"}).kinds_given);
}

TEST(Options, help_and_version_print_and_return_nothing) {
  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"-h"}).has_value());
  std::string help = testing::internal::GetCapturedStdout();
  EXPECT_NE(help.find("Usage: sstrace"), std::string::npos);
  EXPECT_NE(help.find("-f, --family=FAMILY"), std::string::npos);
  EXPECT_NE(help.find("--duration=SECONDS"), std::string::npos);

  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"snapshot", "--help"}).has_value());
  EXPECT_FALSE(testing::internal::GetCapturedStdout().empty());

  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"-f", "help"}).has_value());
  EXPECT_NE(testing::internal::GetCapturedStdout().find("Usage:"), std::string::npos);

  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"-V"}).has_value());
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            std::string("sstrace ") + SSTRACE_VERSION + "\n");

  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"--version"}).has_value());
  testing::internal::GetCapturedStdout();
}

TEST(Options, unknown_options) {
  EXPECT_EQ(usage_error({"-Q"}), "unknown option '-Q'");
  EXPECT_EQ(usage_error({"-tQ"}), "unknown option '-Q'");
  EXPECT_EQ(usage_error({"-Qt"}), "unknown option '-Q'");
  EXPECT_EQ(usage_error({"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(usage_error({"--bogus=1"}), "unknown option '--bogus'");
  EXPECT_EQ(usage_error({"-1"}), "");  // a number: a FILTER word
  EXPECT_EQ(usage_error({"-K"}), "option '-K' (killing sockets) is not supported by sstrace");
  EXPECT_EQ(usage_error({"-d"}), "option '-d' (DCCP sockets) is not supported by sstrace");
}

TEST(Options, ambiguous_and_misused_long_options) {
  EXPECT_EQ(usage_error({"--s"}), "option '--s' is ambiguous (--socket, --summary)");
  EXPECT_EQ(usage_error({"--re"}), "option '--re' is ambiguous (--resolve, --resync, --replay)");
  EXPECT_EQ(usage_error({"--tcp=1"}), "--tcp: takes no value");
  EXPECT_EQ(usage_error({"--all-netns=yes"}), "--all-netns: takes no value");
}

TEST(Options, missing_values) {
  EXPECT_EQ(usage_error({"-f"}), "-f: requires an argument");
  EXPECT_EQ(usage_error({"-tN"}), "-N: requires an argument");
  EXPECT_EQ(usage_error({"-A"}), "-A: requires an argument");
  EXPECT_EQ(usage_error({"-F"}), "-F: requires an argument");
  EXPECT_EQ(usage_error({"-D"}), "-D: requires an argument");
  EXPECT_EQ(usage_error({"--family"}), "--family: requires an argument");
  EXPECT_EQ(usage_error({"--duration"}), "--duration: requires an argument");
}

TEST(Options, bad_values) {
  EXPECT_EQ(usage_error({"-f", "foo"}),
            "-f: unknown family 'foo' (inet, inet6, link, unix, netlink)");
  EXPECT_EQ(usage_error({"-A", "foo"}), "-A: unknown socket table 'foo'");
  EXPECT_EQ(usage_error({"-A", "tcp,"}), "-A: unknown socket table ''");
  EXPECT_EQ(usage_error({"-A", "tcp,!bar"}), "-A: unknown socket table '!bar'");
  EXPECT_EQ(usage_error({"-N", "a/b"}),
            "-N: 'a/b' is not a namespace name (as ip netns lists them)");
  EXPECT_EQ(usage_error({"-N", ".."}), "-N: '..' is not a namespace name (as ip netns lists them)");
  EXPECT_EQ(usage_error({"-F", "a", "-F", "b"}), "-F: only one filter file may be given");
  EXPECT_EQ(usage_error({"--duration", "abc"}), "--duration: 'abc' is not a number of seconds");
  EXPECT_EQ(usage_error({"--duration", "-1"}), "--duration: '-1' is not a number of seconds");
  EXPECT_EQ(usage_error({"--duration=inf"}), "--duration: 'inf' is not a number of seconds");
  EXPECT_EQ(usage_error({"--duration", "5s"}), "--duration: '5s' is not a number of seconds");
  EXPECT_EQ(usage_error({"--resync", "x"}), "--resync: 'x' is not a number of seconds");
  EXPECT_EQ(usage_error({"--metrics", "9100"}), "--metrics: '9100' is not ADDR:PORT");
  EXPECT_EQ(usage_error({"--metrics", "host:0"}), "--metrics: 'host:0' is not ADDR:PORT");
  EXPECT_EQ(usage_error({"--metrics", "host:70000"}), "--metrics: 'host:70000' is not ADDR:PORT");
  EXPECT_EQ(usage_error({"--metrics", "::1:9100"}), "--metrics: '::1:9100' is not ADDR:PORT");
  EXPECT_EQ(usage_error({"--rtt-min-change-us", "-5"}),
            "--rtt-min-change-us: '-5' is not a number of microseconds");
  EXPECT_EQ(usage_error({"--rtt-min-change-pct", "ten"}),
            "--rtt-min-change-pct: 'ten' is not a percentage");
  EXPECT_EQ(usage_error({"--rtt-interval-ms", "99999999999"}),
            "--rtt-interval-ms: '99999999999' is not a number of milliseconds");
  EXPECT_EQ(usage_error({"--ringbuf-kib", "1000"}),
            "--ringbuf-kib: '1000' is not a power of two between 4 and 1048576");
  EXPECT_EQ(usage_error({"--ringbuf-kib", "2"}),
            "--ringbuf-kib: '2' is not a power of two between 4 and 1048576");
  EXPECT_EQ(usage_error({"--ringbuf-kib", "x"}), "--ringbuf-kib: 'x' is not a size in KiB");
}

TEST(Options, live_only_options_are_refused_by_snapshot) {
  EXPECT_EQ(usage_error({"snapshot", "--duration", "5"}),
            "--duration: only the live stream takes this option");
  EXPECT_EQ(usage_error({"snapshot", "--metrics", ":9100"}),
            "--metrics: only the live stream takes this option");
  EXPECT_EQ(usage_error({"snapshot", "--all-netns"}),
            "--all-netns: only the live stream takes this option");
  EXPECT_EQ(usage_error({"--duration", "5"}), "");
}

// ---- what the snapshot makes of the options ------------------------------

TEST(SnapshotPlan, netid_column_when_several_tables) {
  EXPECT_FALSE(snapshot_format(ss_ok({"-t"}), kConn).show_netid);
  EXPECT_TRUE(snapshot_format(ss_ok({"-tu"}), kConn).show_netid);
  EXPECT_TRUE(snapshot_format(ss_ok({"-x"}), kConn).show_netid);  // three unix tables
  EXPECT_TRUE(snapshot_format(ss_ok({}), kConn).show_netid);
  EXPECT_TRUE(snapshot_format(ss_ok({"-4"}), kConn).show_netid);
  EXPECT_FALSE(snapshot_format(ss_ok({"-A", "unix_stream"}), kConn).show_netid);
  EXPECT_FALSE(snapshot_format(ss_ok({"-f", "netlink"}), st(diag::kClose)).show_netid);
}

TEST(SnapshotPlan, state_column_unless_one_state) {
  EXPECT_TRUE(snapshot_format(ss_ok({"-t"}), kConn).show_state);
  EXPECT_TRUE(snapshot_format(ss_ok({"-lt"}), kListening).show_state);
  EXPECT_FALSE(snapshot_format(ss_ok({"-u"}), st(diag::kEstablished)).show_state);
  EXPECT_FALSE(snapshot_format(ss_ok({"-t"}), st(diag::kListen)).show_state);
}

TEST(SnapshotPlan, format_follows_the_letters) {
  auto f = snapshot_format(ss_ok({"-nrimpOH"}), kConn);
  EXPECT_TRUE(f.numeric && f.resolve && f.info && f.memory && f.processes && f.oneline);
  EXPECT_FALSE(f.header);
  EXPECT_FALSE(f.timer);
  // ss -e shows timers too.
  EXPECT_TRUE(snapshot_format(ss_ok({"-e"}), kConn).timer);
  EXPECT_TRUE(snapshot_format(ss_ok({"-e"}), kConn).extended);
  EXPECT_TRUE(snapshot_format(ss_ok({"-o"}), kConn).timer);
}

TEST(SnapshotPlan, dump_request) {
  auto req = snapshot_request(ss_ok({"-t4im"}), kConn, {1, 2, 3});
  EXPECT_TRUE(req.tcp);
  EXPECT_FALSE(req.udp || req.raw || req.unix_ || req.packet);
  EXPECT_TRUE(req.ipv4);
  EXPECT_FALSE(req.ipv6);
  EXPECT_EQ(req.states, kConn);
  EXPECT_TRUE(req.want_info && req.want_skmem);
  EXPECT_EQ(req.inet_bytecode, (std::vector<uint8_t>{1, 2, 3}));

  auto all = snapshot_request(ss_ok({"-a"}), kAll, {});
  EXPECT_TRUE(all.tcp && all.udp && all.raw && all.unix_ && all.packet);
  // PACKET sockets only when UNCONN is among the states (ss's packet_show).
  auto conn = snapshot_request(ss_ok({}), kConn, {});
  EXPECT_TRUE(conn.unix_);
  EXPECT_FALSE(conn.packet);
  EXPECT_TRUE(snapshot_request(ss_ok({"-x"}), kConn, {}).unix_);
  EXPECT_TRUE(snapshot_request(ss_ok({"-A", "u_dgr"}), kConn, {}).unix_);
}

TEST(SnapshotPlan, summary_alone_unless_tables_or_filter_given) {
  EXPECT_TRUE(summary_only(ss_ok({"-s"})));
  EXPECT_TRUE(summary_only(ss_ok({"-sa"})));
  EXPECT_FALSE(summary_only(ss_ok({"-st"})));
  EXPECT_FALSE(summary_only(ss_ok({"-s", "state", "established"})));
}

}  // namespace
}  // namespace sstrace::cli

namespace sstrace::cli {
namespace {

// CLI11 treats "[a,b]" as a list; a bracketed IPv6 address must reach the
// filter as typed.
TEST(Options, bracketed_filter_words_arrive_as_typed) {
  std::vector<std::string> argv = {"sstrace", "snapshot", "-tan", "src",
                                   "[::1]",   "or",       "dst",  "[::1]:22"};
  std::vector<char*> ptrs;
  for (auto& a : argv) ptrs.push_back(a.data());
  auto o = parse_options(int(ptrs.size()), ptrs.data());
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->filter_words, (std::vector<std::string>{"src", "[::1]", "or", "dst", "[::1]:22"}));
}

}  // namespace
}  // namespace sstrace::cli

namespace sstrace::cli {
namespace {

// --replay reads a file: what sets up a live run's kernel side would be
// accepted and do nothing, so it is refused; the rest works on event time.
TEST(Options, replay_takes_the_stream_top_and_summary_options) {
  EXPECT_EQ(ok({"--replay", "f.json", "--json", "state", "established"}).replay_file, "f.json");
  EXPECT_EQ(ok({"top", "--replay", "f.json", "--json", "--interval", "2"}).replay_file, "f.json");
  EXPECT_EQ(ok({"-s", "--replay", "-", "--duration", "10"}).replay_file, "-");
}

TEST(Options, replay_refuses_what_only_a_live_run_can_do) {
  EXPECT_EQ(usage_error({"--replay", "f", "-N", "ns1"}),
            "-N: not an option of --replay: the file's events are from the namespaces they were "
            "recorded in");
  EXPECT_EQ(usage_error({"--replay", "f", "--all-netns"}),
            "--all-netns: not an option of --replay: it sets up a live run's kernel side or "
            "process, and a replay reads the file");
  EXPECT_EQ(usage_error({"--replay", "f", "--metrics", ":9464"}),
            "--metrics: not an option of --replay: the endpoint serves a live process's counters "
            "to a scraper");
  EXPECT_EQ(usage_error({"top", "--replay", "f", "--close-wait-alert", "5"}),
            "--close-wait-alert: not an option of --replay: the recording's alerts are replayed as "
            "they were written");
  for (const char* o : {"--resync", "--ringbuf-kib", "--rtt-interval-ms", "--btf"}) {
    const std::string v = std::string(o) == "--btf" ? "x" : "1024";
    EXPECT_NE(usage_error({"--replay", "f", o, v.c_str()}).find("not an option of --replay"),
              std::string::npos)
        << o;
  }
  EXPECT_EQ(usage_error({"--replay", "f", "-m"}),
            "-m: not an option of --replay: there is no dump to read socket memory from");
  EXPECT_EQ(usage_error({"snapshot", "--replay", "f"}),
            "--replay: only the live stream takes this option");
  EXPECT_EQ(usage_error({"--replay", ""}), "--replay: empty file name");
}

}  // namespace
}  // namespace sstrace::cli
