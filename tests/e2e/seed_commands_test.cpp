// Every `ss` command of the two articles in seeds/ (PRODUCT.md: "every ss
// command in them must work with `sstrace snapshot` in its place and show
// the same sockets"), run on a namespace built like the hosts the articles
// ran them on, with the articles' addresses moved onto 127/8.
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>

#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

enum class Check {
  plain,     // token parity of the whole listing
  summary,   // -s
  pipeline,  // the shell pipeline as written, ss vs sstrace in its place
  states,    // a "state FILTER" template: every state name the article lists
  syntax,    // the synopsis line "ss [options] [ FILTER ]"
};

struct SeedCase {
  const char* command;  // as in the article (addresses are localized when run)
  Check check;
  size_t min_rows;  // the world is built so that each listing shows something
};

// The commands in the order the articles give them, then the listings
// inside the pipelines on their own (a pipeline's grep/head/awk can hide a
// difference).
const SeedCase kCases[] = {
    {"ss [options] [ FILTER ]", Check::syntax, 0},
    {"ss -u -a", Check::plain, 3},
    {"ss -t", Check::plain, 10},
    {"ss -x", Check::plain, 2},
    {"ss -s", Check::summary, 0},
    {"ss -lp", Check::plain, 10},
    {"ss -lp | grep 80", Check::pipeline, 1},
    {"ss -4 state FILTER", Check::states, 0},
    {"ss -4 state listening", Check::plain, 8},
    {"ss -6 state FILTER", Check::states, 0},
    {"ss -o state established '( dport = :smtp or sport = :smtp )'", Check::plain, 2},
    {"ss -o state established '( dport = :http or sport = :http )'", Check::plain, 6},
    {"ss dst 192.168.1.130", Check::plain, 3},
    {"ss src 192.168.1.200", Check::plain, 3},
    {"ss src 192.168.1.200:80", Check::plain, 3},
    {"ss src 192.168.1.200:http", Check::plain, 3},
    {"ss src 192.168.1.200:smtp", Check::plain, 1},
    {"ss -ant src :55544", Check::plain, 8},
    {"ss -ant dst 183.240.139.102", Check::plain, 3},
    {"ss -itO |head -n 1 &&  ss -tiO 'src 10.0.0.4:55544' | grep ESTAB | head -n 100 | awk "
     "'{print $1,$2,$3,$4,$5,$9,$15}'",
     Check::pipeline, 7},
    {"ss -mtO | grep 55544 | head -n 2", Check::pipeline, 2},
    {"ss -o state established '( dport = :443 or sport = :443 )'", Check::plain, 4},
    {"ss -lt", Check::plain, 8},
    {"ss -t | head -n 1 && ss -atonp | grep ESTAB | grep timer | head -n 2", Check::pipeline, 3},
    // The listings inside the pipelines, whole.
    {"ss -itO", Check::plain, 10},
    {"ss -tiO 'src 10.0.0.4:55544'", Check::plain, 6},
    {"ss -mtO", Check::plain, 10},
    {"ss -atonp", Check::plain, 20},
};

void PrintTo(const SeedCase& c, std::ostream* os) { *os << c.command; }

// The fixture world is shared by the cases: building it takes a few
// seconds, and none of the commands changes it.
class SeedWorld {
 public:
  SeedWorld() : socks(ns) {
    build_seed_world(socks);
    sshd = start_seed_sshd(ns);
  }
  Netns ns;
  SocketSet socks;
  std::unique_ptr<SocketHolder> sshd;
};

class SeedCommand : public ::testing::TestWithParam<SeedCase> {
 protected:
  static void TearDownTestSuite() { world_.reset(); }
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    if (!world_) world_ = std::make_unique<SeedWorld>();
  }
  static std::unique_ptr<SeedWorld> world_;
};
std::unique_ptr<SeedWorld> SeedCommand::world_;

// The arguments of a single `ss ...` command, localized.
std::string ss_args(const std::string& command) {
  std::string local = localize_seed_command(command);
  return local.substr(local.find("ss") + 2);
}

TEST_P(SeedCommand, matches_ss) {
  const SeedCase& c = GetParam();
  const Netns& ns = world_->ns;
  switch (c.check) {
    case Check::plain:
      EXPECT_TRUE(snapshot_matches_ss(ns, ss_args(c.command), c.min_rows));
      break;
    case Check::summary:
      EXPECT_TRUE(summary_matches_ss(ns, ss_args(c.command)));
      break;
    case Check::pipeline:
      EXPECT_TRUE(pipeline_matches_ss(ns, localize_seed_command(c.command), c.min_rows));
      break;
    case Check::states: {
      std::string base = ss_args(c.command);
      base = base.substr(0, base.find("FILTER"));
      for (const auto& state : kSeedStateNames) {
        SCOPED_TRACE(base + state);
        EXPECT_TRUE(snapshot_matches_ss(ns, base + state, 0));
      }
      break;
    }
    case Check::syntax:
      // "ss [options] [ FILTER ]": no option, no filter.
      EXPECT_TRUE(snapshot_matches_ss(ns, "", 10));
      break;
  }
}

std::string case_name(const ::testing::TestParamInfo<SeedCase>& info) {
  std::string name;
  for (const char* p = info.param.command; *p && name.size() < 60; ++p) {
    if (std::isalnum(static_cast<unsigned char>(*p)))
      name += *p;
    else if (!name.empty() && name.back() != '_')
      name += '_';
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  char idx[8];
  std::snprintf(idx, sizeof(idx), "%02zu_", info.index);
  return idx + name;
}

INSTANTIATE_TEST_SUITE_P(Seeds, SeedCommand, ::testing::ValuesIn(kCases), case_name);

// The table above must hold every command the articles show: read them
// back from the files, so that a command cannot be forgotten.
TEST(SeedCommands, every_ss_command_in_the_seeds_is_covered) {
  std::set<std::string> covered;
  auto normalize = [](std::string s) {
    s = std::regex_replace(s, std::regex(R"(\s+)"), " ");
    return std::regex_replace(s, std::regex(R"(^ | $)"), "");
  };
  for (const auto& c : kCases) covered.insert(normalize(c.command));
  // Code lines: indented by four spaces (article 1) or after a "$ " prompt
  // (article 2).
  static const std::regex command(R"(^(?:    |\$ )\s*(ss(?: .*)?)$)");
  size_t found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SSTRACE_SEEDS_DIR)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::smatch m;
      if (!std::regex_match(line, m, command)) continue;
      ++found;
      EXPECT_TRUE(covered.count(normalize(m[1]))) << entry.path().filename() << ": " << m[1];
    }
  }
  EXPECT_GE(found, 20u) << "the seeds in " << SSTRACE_SEEDS_DIR
                        << " hold fewer commands than expected";
}

TEST(SeedCommands, localized_commands_name_no_address_outside_loopback) {
  // Every address a test command names is on 127/8: nothing is ever sent
  // outside the test namespace.
  static const std::regex ipv4(R"((\d+)\.\d+\.\d+\.\d+)");
  for (const auto& c : kCases) {
    std::string cmd = localize_seed_command(c.command);
    for (std::sregex_iterator it(cmd.begin(), cmd.end(), ipv4), end; it != end; ++it)
      EXPECT_EQ((*it)[1].str(), "127") << cmd;
  }
}

}  // namespace
}  // namespace sstrace::e2e
