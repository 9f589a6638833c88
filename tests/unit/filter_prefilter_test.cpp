// The BPF prefilter: what it derives, and that it is sound (never drops a
// TCP socket the full filter keeps) on generated filters and sockets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>
#include <string>
#include <vector>

#include "diag/sock_info.h"
#include "filter/filter.h"
#include "filter/resolver.h"

namespace sstrace::filter {
namespace {

using Ranges = std::vector<Prefilter::Range>;

const TableResolver& resolver() {
  static const TableResolver r = [] {
    TableResolver t;
    t.services[{"http", "tcp"}] = 80;
    t.interfaces["lo"] = 1;
    return t;
  }();
  return r;
}

Filter parse(const std::string& text, int family = AF_UNSPEC) {
  ParseOptions o;
  o.resolver = &resolver();
  o.family = family;
  Filter f = Filter::parse({text}, o);
  f.set_default_states(0xfff);
  return f;
}

Prefilter pf(const std::string& text, int family = AF_UNSPEC) {
  std::optional<Prefilter> p = parse(text, family).prefilter();
  EXPECT_TRUE(p.has_value()) << text;
  return p.value_or(Prefilter{});
}

TEST(FilterPrefilter, nothing_to_derive) {
  EXPECT_FALSE(parse("").prefilter());
  EXPECT_FALSE(parse("autobound").prefilter());
  EXPECT_FALSE(parse("src 10.0.0.0/8").prefilter());
  EXPECT_FALSE(parse("not src 10.0.0.1:80").prefilter());
  EXPECT_FALSE(parse("sport = :22 or dev lo").prefilter());
}

using Box = Prefilter::Box;
using Boxes = std::vector<Box>;

TEST(FilterPrefilter, ports) {
  Prefilter p = pf("( dport = :443 or sport = :443 )");
  // Two boxes; each port alone can be anything.
  EXPECT_EQ(p.boxes, (Boxes{Box{{0, 65535}, {443, 443}}, Box{{443, 443}, {0, 65535}}}));
  EXPECT_TRUE(p.any_lport());
  EXPECT_TRUE(p.any_rport());
  EXPECT_TRUE(p.admits(AF_INET, diag::kEstablished, 443, 5000));
  EXPECT_TRUE(p.admits(AF_INET6, diag::kEstablished, 5000, 443));
  EXPECT_FALSE(p.admits(AF_INET, diag::kEstablished, 5000, 5000));
  p = pf("dport = :443");
  EXPECT_EQ(p.rport_ranges, (Ranges{{443, 443}}));
  EXPECT_TRUE(p.any_lport());
  p = pf("sport = :80 or sport = :http or sport = :8080");
  EXPECT_EQ(p.lport_ranges, (Ranges{{80, 80}, {8080, 8080}}));
  EXPECT_EQ(p.boxes.size(), 2u);
  p = pf("sport >= :1024 and sport < :2048 and not sport = :1500");
  EXPECT_EQ(p.lport_ranges, (Ranges{{1024, 1499}, {1501, 2047}}));
  p = pf("not ( sport <= :1023 or dport = :22 )");
  EXPECT_EQ(p.lport_ranges, (Ranges{{1024, 65535}}));
  EXPECT_EQ(p.rport_ranges, (Ranges{{0, 21}, {23, 65535}}));
  p = pf("src 10.0.0.1:80");
  EXPECT_EQ(p.lport_ranges, (Ranges{{80, 80}}));
  p = pf("sport = :1 and sport = :2");
  EXPECT_TRUE(p.matches_nothing());
  p = pf("( sport = :22 or sport = :80 ) and ( dport = :1 or dport = :2 )");
  EXPECT_EQ(p.boxes.size(), 4u);
}

TEST(FilterPrefilter, states_and_families) {
  Filter f = Filter::parse({"state", "established", "dport", "=", ":443"});
  std::optional<Prefilter> p = f.prefilter();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->states, 1u << diag::kEstablished);
  Filter listening = Filter::parse({"state", "listening"});
  ASSERT_TRUE(listening.prefilter());
  EXPECT_TRUE(listening.prefilter()->any_lport());
  Prefilter v6 = pf("src inet6:[::1]");
  EXPECT_FALSE(v6.ipv4);
  EXPECT_TRUE(v6.ipv6);
  Prefilter unix_only = pf("src unix:/x");
  EXPECT_TRUE(unix_only.matches_nothing());
}

TEST(FilterPrefilter, coarsen_only_widens) {
  Prefilter p = pf("sport = :1 or sport = :5 or sport = :6 or sport = :100");
  EXPECT_EQ(p.lport_ranges, (Ranges{{1, 1}, {5, 6}, {100, 100}}));
  EXPECT_EQ(p.boxes.size(), 4u);
  p.coarsen(2);
  EXPECT_EQ(p.lport_ranges, (Ranges{{1, 6}, {100, 100}}));
  EXPECT_EQ(p.boxes, (Boxes{Box{{1, 6}, {0, 65535}}, Box{{100, 100}, {0, 65535}}}));
  p.coarsen(0);
  EXPECT_EQ(p.lport_ranges, (Ranges{{1, 100}}));
  EXPECT_EQ(p.boxes, (Boxes{Box{{1, 100}, {0, 65535}}}));
}

TEST(FilterPrefilter, box_count_is_bounded) {
  std::string text = "sport = :1";
  for (int i = 2; i <= 40; ++i) text += " or sport = :" + std::to_string(i * 3);
  Prefilter p = pf(text);
  EXPECT_LE(p.boxes.size(), Prefilter::kMaxBoxes);
  for (int i = 2; i <= 40; ++i)
    EXPECT_TRUE(p.admits(AF_INET, diag::kEstablished, static_cast<uint16_t>(i * 3), 9));
}

std::string gen_filter(std::mt19937& rng, int depth = 0) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  static const char* leaves[] = {
      "sport = :22",     "dport = :443", "sport >= :1024", "sport <= :1023",  "dport > :1000",
      "dport < :80",     "sport != :80", "src :8080",      "dst 10.0.0.1:53", "src 10.0.0.0/8",
      "autobound",       "dst *:*",      "sport = *",      "dev lo",          "fwmark 1",
      "dport >= :65535", "sport <= :0",  "dst [::1]:22",   "sport = :40000",  "dport != :22"};
  const int k = pick(depth > 3 ? 6 : 10);
  if (k == 6) return "( " + gen_filter(rng, depth + 1) + " )";
  if (k == 7) return "not " + gen_filter(rng, depth + 1);
  if (k >= 8)
    return gen_filter(rng, depth + 1) + (pick(2) ? " or " : " and ") + gen_filter(rng, depth + 1);
  return leaves[pick(20)];
}

TEST(FilterPrefilter, never_drops_what_the_filter_keeps) {
  std::mt19937 rng(4242);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  static const uint16_t ports[] = {0,   1,    22,   53,   79,   80,    81,
                                   443, 1000, 1023, 1024, 8080, 40000, 65535};
  int kept = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string text = gen_filter(rng);
    Filter f = parse(text);
    std::optional<Prefilter> p = f.prefilter();
    if (p && pick(3) == 0) p->coarsen(static_cast<size_t>(pick(4)));
    for (int k = 0; k < 50; ++k) {
      diag::SockInfo s;
      s.kind = diag::SockKind::tcp;
      s.family = pick(2) ? AF_INET : AF_INET6;
      s.state = static_cast<uint8_t>(1 + pick(11));
      inet_pton(s.family, s.family == AF_INET ? "10.0.0.1" : "::1", s.local.addr.data());
      inet_pton(s.family, s.family == AF_INET ? "10.0.0.1" : "::1", s.remote.addr.data());
      s.local.port = pick(4) ? ports[pick(14)] : static_cast<uint16_t>(rng());
      s.remote.port = pick(4) ? ports[pick(14)] : static_cast<uint16_t>(rng());
      s.ifindex = static_cast<uint32_t>(pick(2));
      if (!f.matches(s)) continue;
      ++kept;
      if (p) {
        ASSERT_TRUE(p->admits(s.family, s.state, s.local.port, s.remote.port))
            << text << " lport " << s.local.port << " rport " << s.remote.port;
      }
    }
  }
  EXPECT_GT(kept, 10000);
}

}  // namespace
}  // namespace sstrace::filter
