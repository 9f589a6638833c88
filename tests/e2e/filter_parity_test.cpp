// ss's filter language, options that pick socket kinds, and -s, on the mixed
// world: `sstrace snapshot ARGS` lists what `ss ARGS` lists.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

class FilterParity : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
    build_mixed_world(*socks_);
  }
  void TearDown() override {
    socks_.reset();
    ns_.reset();
  }
  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
};

TEST_F(FilterParity, every_state_name_matches_ss) {
  // The names article 1 lists, for TCP and through -4 / -6 for every kind.
  for (const auto& state : kSeedStateNames) {
    for (const char* base : {"-tan state ", "-4 state ", "-6 state "}) {
      SCOPED_TRACE(base + state);
      EXPECT_TRUE(snapshot_matches_ss(*ns_, base + state, 0));
    }
  }
}

TEST_F(FilterParity, every_state_is_in_the_fixture) {
  // What every_state_name_matches_ss compares is only worth something if
  // the states are there: check the fixture against ss itself.
  RunResult r = run_ss(*ns_, {"-tan"});
  for (const char* state : {"LISTEN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
                            "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSING"})
    EXPECT_NE(r.out.find("\n" + std::string(state) + " "), std::string::npos)
        << state << " missing:\n"
        << r.out;
}

TEST_F(FilterParity, several_states_and_exclude_match_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan state established state close-wait", 5));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan exclude listening", 10));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan exclude established exclude time-wait", 10));
}

TEST_F(FilterParity, port_expressions_match_ss) {
  for (const char* f :
       {"'( dport = :8080 or sport = :8080 )'", "sport = :8080", "dport != :8080", "sport > :8080",
        "sport < :8080", "sport >= :8080", "sport le :8081", "'sport ge :8080 and sport le :9090'",
        "'not sport = :8080'", "'! ( sport = :8080 )'", "dport eq :9", "sport neq :8080",
        "'( sport = :8080 || dport = :8080 ) && ! src 127.0.0.2'", "sport = :http-alt",
        "'dport = :webcache'"}) {
    SCOPED_TRACE(f);
    EXPECT_TRUE(snapshot_matches_ss(*ns_, std::string("-tan ") + f, 1));
  }
}

TEST_F(FilterParity, address_expressions_match_ss) {
  for (const char* f : {"src 127.0.0.1", "dst 127.0.0.1", "src 127.0.0.0/8", "dst 127.0.0.2/32",
                        "src [::1]", "dst [::1]", "'src [::1/128]'", "'src [::1]:8080'",
                        "src 127.0.0.1:8080", "'dst 127.0.0.1:*'", "src '*:8080'",
                        "'src 127.0.0.1 and dst 127.0.0.1'", "'src 127.0.0.3 or dst 127.0.0.3'",
                        "src ::/0", "'dst [::/0]'", "'src 0.0.0.0/0'", "src localhost"}) {
    SCOPED_TRACE(f);
    EXPECT_TRUE(snapshot_matches_ss(*ns_, std::string("-tan ") + f, 1));
  }
}

TEST_F(FilterParity, filter_on_udp_unix_and_all_kinds_matches_ss) {
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-uan sport = :5353", 2));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-uan dst [::1]", 1));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-an sport = :5353", 2));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-an state listening", 10));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-xa src " + socks_->unix_path("stream.sock"), 1));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-xa state connected", 2));
}

TEST_F(FilterParity, filter_file_matches_ss) {
  std::string path = "/tmp/sstrace-e2e-filter-" + std::to_string(getpid());
  {
    std::ofstream f(path);
    f << "( dport = :8080 or sport = :8080 )\n";
  }
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan -F " + path, 5));
  EXPECT_TRUE(snapshot_matches_ss(*ns_, "-tan state established -F " + path, 3));
  std::filesystem::remove(path);
}

TEST_F(FilterParity, family_and_query_options_match_ss) {
  for (const char* args : {"-f inet -an", "-f inet6 -an", "-f unix -a", "-f link -a",
                           "-f netlink -a", "-A tcp,udp -an", "-A inet -an", "-A unix_stream -a",
                           "-A unix_dgram,packet -a", "-A raw -an", "-A all -an", "-4 -an",
                           "-6 -an", "-t -u -an", "-tun -l", "-x -l", "-0 -a", "-w -a"}) {
    SCOPED_TRACE(args);
    EXPECT_TRUE(snapshot_matches_ss(*ns_, args, 1));
  }
}

TEST_F(FilterParity, numeric_and_resolved_forms_match_ss) {
  // -r resolves host names: on 127/8 that is /etc/hosts' "localhost".
  for (const char* args : {"-ta", "-tan", "-tar", "-uar", "-tanr", "-ua", "-l"}) {
    SCOPED_TRACE(args);
    EXPECT_TRUE(snapshot_matches_ss(*ns_, args, 1));
  }
}

TEST_F(FilterParity, summary_matches_ss) {
  EXPECT_TRUE(summary_matches_ss(*ns_, "-s"));
  // The fixture's numbers, so that the comparison compared something.
  RunResult r = run_ss(*ns_, {"-s"});
  auto s = parse_summary(r.out);
  ASSERT_TRUE(s) << r.out;
  EXPECT_GE(s->estab, 10) << r.out;
  EXPECT_GE(s->timewait, 2) << r.out;
  EXPECT_GE(s->transport["UDP"][0], 6) << r.out;
  EXPECT_GE(s->transport["RAW"][0], 2) << r.out;
}

}  // namespace
}  // namespace sstrace::e2e
