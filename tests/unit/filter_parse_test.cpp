// The filter grammar: every rule, ss's precedence, state words, operand
// forms, and the one-line errors naming the token and its position.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/result.h"
#include "diag/sock_info.h"
#include "filter/filter.h"
#include "filter/resolver.h"

namespace sstrace::filter {
namespace {

using diag::kClose;
using diag::kEstablished;
using diag::kListen;
using diag::kSynRecv;
using diag::kTimeWait;

const TableResolver& resolver() {
  static const TableResolver r = [] {
    TableResolver t;
    t.add_host("localhost", "127.0.0.1");
    t.add_host("dual", "10.0.0.1");
    t.add_host("dual", "10.0.0.2");
    t.add_host("dual", "2001:db8::1");
    t.add_host("v6only", "2001:db8::2");
    t.services[{"http", "tcp"}] = 80;
    t.services[{"http", "udp"}] = 80;
    t.services[{"smtp", "tcp"}] = 25;
    t.services[{"ssh", "tcp"}] = 22;
    t.services[{"odd", "tcp"}] = 1000;
    t.services[{"odd", "udp"}] = 2000;
    t.interfaces["lo"] = 1;
    t.interfaces["eth0"] = 2;
    t.cgroups["/sys/fs/cgroup/app"] = 4242;
    t.cgroups["app"] = 4242;
    return t;
  }();
  return r;
}

ParseOptions opts(int family = AF_UNSPEC) {
  ParseOptions o;
  o.resolver = &resolver();
  o.family = family;
  return o;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The S-expression of a filter given as one string of space-separated words.
std::string tree(const std::string& words, int family = AF_UNSPEC) {
  return Filter::parse(split(words), opts(family)).str();
}

// The tree of a filter given as separate argv words.
std::string tree_words(const std::vector<std::string>& words) {
  return Filter::parse(words, opts()).str();
}

std::string error_of(const std::string& words, int family = AF_UNSPEC) {
  try {
    Filter::parse(split(words), opts(family));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

uint32_t bit(int s) { return 1u << s; }

TEST(FilterParse, empty_filter_has_no_expression) {
  Filter f = Filter::parse({}, opts());
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(f.str(), "");
  EXPECT_FALSE(f.has_states());
}

TEST(FilterParse, src_and_dst_forms) {
  EXPECT_EQ(tree("src 10.0.0.4"), "(src 10.0.0.4/32:*)");
  EXPECT_EQ(tree("dst = 10.0.0.4"), "(dst 10.0.0.4/32:*)");
  EXPECT_EQ(tree("dst == 10.0.0.0/8"), "(dst 10.0.0.0/8:*)");
  EXPECT_EQ(tree("dst eq 10.0.0.0/255.255.0.0"), "(dst 10.0.0.0/16:*)");
  EXPECT_EQ(tree("src 10.0.0.4:55544"), "(src 10.0.0.4/32:55544)");
  EXPECT_EQ(tree("src :55544"), "(src *:55544)");
  EXPECT_EQ(tree("src *"), "(src *:*)");
  EXPECT_EQ(tree("src *:*"), "(src *:*)");
  EXPECT_EQ(tree("src *:80"), "(src *:80)");
  EXPECT_EQ(tree("src 192.168.1.200:http"), "(src 192.168.1.200/32:80)");
  EXPECT_EQ(tree("src [::1]"), "(src ::1/128:*)");
  EXPECT_EQ(tree("src [::1]:22"), "(src ::1/128:22)");
  EXPECT_EQ(tree("src [::ffff:1.2.3.4]"), "(src ::ffff:1.2.3.4/128:*)");
  EXPECT_EQ(tree("src [2001:db8::/32]:443"), "(src 2001:db8::/32:443)");
  EXPECT_EQ(tree("src 2001:db8::/32"), "(src 2001:db8::/32:*)");
}

TEST(FilterParse, ss_address_oddities) {
  // ss reads "10" as 10.0.0.0 and every byte in any C base.
  EXPECT_EQ(tree("src 10"), "(src 10.0.0.0/32:*)");
  EXPECT_EQ(tree("src 0x7f.1"), "(src 127.1.0.0/32:*)");
  // An unbracketed IPv6 address loses its last group to the port.
  EXPECT_EQ(tree("src fe80::1:80"), "(src fe80::1/128:80)");
  EXPECT_NE(error_of("src fe80::1").find("'fe80:' is neither"), std::string::npos);
  // "any", "all", "default" are every address.
  EXPECT_EQ(tree("src any"), "(src *:*)");
  EXPECT_EQ(tree("dst default:22"), "(dst *:22)");
  // "[]" is no address at all.
  EXPECT_EQ(tree("src []:22"), "(src *:22)");
}

TEST(FilterParse, host_names_resolve_to_every_address) {
  EXPECT_EQ(tree("dst localhost"), "(dst 127.0.0.1/32:*)");
  EXPECT_EQ(tree("dst dual:80"), "(dst 10.0.0.1/32,10.0.0.2/32,2001:db8::1/128:80)");
  EXPECT_EQ(tree("dst dual", AF_INET6), "(dst 2001:db8::1/128:*)");
  EXPECT_EQ(tree("dst v6only"), "(dst 2001:db8::2/128:*)");
}

TEST(FilterParse, port_operators) {
  EXPECT_EQ(tree("sport = :443"), "(src *:443)");
  EXPECT_EQ(tree("sport :443"), "(src *:443)");
  EXPECT_EQ(tree("dport 443"), "(dst *:443)");
  EXPECT_EQ(tree("dport == 443"), "(dst *:443)");
  EXPECT_EQ(tree("dport eq :http"), "(dst *:80)");
  EXPECT_EQ(tree("dport != :443"), "(not (dst *:443))");
  EXPECT_EQ(tree("dport ne :443"), "(not (dst *:443))");
  EXPECT_EQ(tree("dport neq :443"), "(not (dst *:443))");
  EXPECT_EQ(tree("sport >= :1024"), "(sport >= 1024)");
  EXPECT_EQ(tree("sport ge 1024"), "(sport >= 1024)");
  EXPECT_EQ(tree("sport geq 1024"), "(sport >= 1024)");
  EXPECT_EQ(tree("sport <= 1024"), "(sport <= 1024)");
  EXPECT_EQ(tree("sport le 1024"), "(sport <= 1024)");
  EXPECT_EQ(tree("sport leq 1024"), "(sport <= 1024)");
  // ss has only >= and <=.
  EXPECT_EQ(tree("dport > :1024"), "(not (dport <= 1024))");
  EXPECT_EQ(tree("dport gt :1024"), "(not (dport <= 1024))");
  EXPECT_EQ(tree("dport < :1024"), "(not (dport >= 1024))");
  EXPECT_EQ(tree("dport lt 0x400"), "(not (dport >= 1024))");
  EXPECT_EQ(tree("sport = :0"), "(src *:0)");
  EXPECT_EQ(tree("sport = :65535"), "(src *:65535)");
  EXPECT_EQ(tree("sport = *"), "(src *:*)");
  EXPECT_EQ(tree("sport = :*"), "(src *:*)");
  EXPECT_EQ(tree("sport = :ssh"), "(src *:22)");
  EXPECT_EQ(tree("sport = ssh"), "(src *:22)");
  EXPECT_EQ(tree("sport = 010"), "(src *:8)");
  EXPECT_EQ(tree("sport = [80]"), "(src *:80)");
}

TEST(FilterParse, service_lookups_follow_the_dumped_tables) {
  EXPECT_NE(error_of("sport = :odd").find("different port for tcp and udp"), std::string::npos);
  ParseOptions tcp_only = opts();
  tcp_only.udp = false;
  EXPECT_EQ(Filter::parse({"sport", "=", ":odd"}, tcp_only).str(), "(src *:1000)");
  ParseOptions neither = opts();
  neither.tcp = neither.udp = false;
  EXPECT_THROW(Filter::parse({"sport", "=", ":ssh"}, neither), UsageError);
}

TEST(FilterParse, dev_fwmark_cgroup_autobound) {
  EXPECT_EQ(tree("dev lo"), "(dev 1)");
  EXPECT_EQ(tree("dev = eth0"), "(dev 2)");
  EXPECT_EQ(tree("dev 7"), "(dev 7)");
  EXPECT_EQ(tree("dev if9"), "(dev 9)");
  EXPECT_EQ(tree("dev != lo"), "(not (dev 1))");
  EXPECT_EQ(tree("fwmark 0x10"), "(fwmark 16/4294967295)");
  EXPECT_EQ(tree("fwmark = 0x10/0xff"), "(fwmark 16/255)");
  EXPECT_EQ(tree("fwmark != 1/1"), "(not (fwmark 1/1))");
  EXPECT_EQ(tree("fwmark -1"), "(fwmark 4294967295/4294967295)");
  EXPECT_EQ(tree("cgroup /sys/fs/cgroup/app"), "(cgroup 4242)");
  EXPECT_EQ(tree("cgroup != app"), "(not (cgroup 4242))");
  EXPECT_EQ(tree("autobound"), "autobound");
}

TEST(FilterParse, family_prefixes) {
  EXPECT_EQ(tree("src unix:/run/*"), "(src unix:/run/*)");
  EXPECT_EQ(Filter::parse(split("src unix:/run/*"), opts()).forced_family(), AF_UNIX);
  // With -x every address is a UNIX pattern.
  EXPECT_EQ(tree("src /tmp/*", AF_UNIX), "(src unix:/tmp/*)");
  EXPECT_EQ(tree("src inet6:[::1]"), "(src ::1/128:*)");
  EXPECT_EQ(Filter::parse(split("src inet6:[::1]"), opts()).forced_family(), AF_INET6);
  // A prefix changes how the following words read, as in ss.
  EXPECT_EQ(tree("src unix:/a or dst /b"), "(or (src unix:/a) (dst unix:/b))");
  EXPECT_EQ(tree("src link:ip:eth0"), "(src link:proto=2048:2)");
  EXPECT_EQ(tree("src link:0x86dd"), "(src link:proto=34525:*)");
  EXPECT_EQ(Filter::parse(split("sport = :22"), opts()).forced_family(), std::nullopt);
  EXPECT_EQ(Filter::parse(split("sport = :22"), opts(AF_INET)).forced_family(), AF_INET);
  // ss reads "kernel" alone as a protocol name, which it is not.
  EXPECT_THROW(tree("src netlink:kernel"), UsageError);
}

TEST(FilterParse, netlink_addresses) {
  // ss.c parse_hostcond: PROTO (name or 0-255) where an address goes,
  // PORTID (an int, `kernel` for 0) where a port goes, `*` or nothing: any.
  EXPECT_EQ(tree("src netlink:rtnl:kernel"), "(src netlink:0:0)");
  EXPECT_EQ(Filter::parse(split("src netlink:rtnl"), opts()).forced_family(), AF_NETLINK);
  EXPECT_EQ(tree("src netlink:*"), "(src netlink:*:*)");
  EXPECT_EQ(tree("src netlink:"), "(src netlink:*:*)");
  EXPECT_EQ(tree("src netlink:*:4242"), "(src netlink:*:4242)");
  EXPECT_EQ(tree("dst netlink:genl:*"), "(dst netlink:16:*)");
  EXPECT_EQ(tree("src netlink:0x10:-3933"), "(src netlink:16:-3933)");
  EXPECT_EQ(tree("src netlink:tcpdiag:0x10"), "(src netlink:4:16)");
  // After -f netlink every address is a netlink one; after sport/dport the
  // whole word is a port id (ss.c find_port).
  EXPECT_EQ(tree("src rtnl:kernel", AF_NETLINK), "(src netlink:0:0)");
  EXPECT_EQ(tree("sport = :4254", AF_NETLINK), "(src netlink:*:4254)");
  EXPECT_EQ(tree("sport = 16", AF_NETLINK), "(src netlink:*:16)");
  EXPECT_EQ(tree("dport = kernel", AF_NETLINK), "(dst netlink:*:0)");
  EXPECT_NE(error_of("sport = genl", AF_NETLINK).find("not a netlink port id"), std::string::npos);
  EXPECT_NE(error_of("src netlink:rtnl:bob").find("not a netlink port id"), std::string::npos);
  EXPECT_NE(error_of("src netlink:256").find("not a netlink protocol"), std::string::npos);
  EXPECT_NE(error_of("src netlink:nosuch").find("not a netlink protocol"), std::string::npos);
  EXPECT_NE(error_of("src 10.0.0.1", AF_NETLINK).find("not a netlink protocol"), std::string::npos);
  EXPECT_NE(error_of("sport > :70000", AF_NETLINK).find("0-65535"), std::string::npos);
  EXPECT_THROW(tree("src vsock:1"), UsageError);
}

TEST(FilterParse, and_or_bind_equally_from_the_left) {
  // ss's grammar: `a or b and c` is `(a or b) and c`.
  EXPECT_EQ(tree("sport = :1 or sport = :2 and sport = :3"),
            "(and (or (src *:1) (src *:2)) (src *:3))");
  EXPECT_EQ(tree("sport = :1 and sport = :2 or sport = :3"),
            "(or (and (src *:1) (src *:2)) (src *:3))");
  EXPECT_EQ(tree("sport = :1 or ( sport = :2 and sport = :3 )"),
            "(or (src *:1) (and (src *:2) (src *:3)))");
  // Juxtaposition is `and`, at the same level.
  EXPECT_EQ(tree("sport = :1 sport = :2 | sport = :3"), "(or (and (src *:1) (src *:2)) (src *:3))");
  EXPECT_EQ(tree("sport = :1 && sport = :2 || sport = :3 & sport = :4"),
            "(and (or (and (src *:1) (src *:2)) (src *:3)) (src *:4))");
}

TEST(FilterParse, not_takes_one_expression) {
  EXPECT_EQ(tree("not sport = :1 and sport = :2"), "(and (not (src *:1)) (src *:2))");
  EXPECT_EQ(tree("! sport = :1 or sport = :2"), "(or (not (src *:1)) (src *:2))");
  EXPECT_EQ(tree("! ( sport = :1 or sport = :2 )"), "(not (or (src *:1) (src *:2)))");
  EXPECT_EQ(tree("! ! autobound"), "(not (not autobound))");
}

TEST(FilterParse, parentheses_as_words_or_attached) {
  const std::string want = "(or (dst *:443) (src *:443))";
  EXPECT_EQ(tree("( dport = :443 or sport = :443 )"), want);
  EXPECT_EQ(tree("(dport = :443 or sport = :443)"), want);
  EXPECT_EQ(tree_words({"( dport = :443 or sport = :443 )"}), want);
  EXPECT_EQ(tree_words({"(dport", "=", ":443", "or", "sport", "=", ":443)"}), want);
  EXPECT_EQ(tree("((dport = :443)) or (sport = :443)"), want);
  EXPECT_EQ(tree("not (autobound)"), "(not autobound)");
  // An escaped parenthesis is part of the word.
  EXPECT_EQ(tree_words({"src", "unix:/tmp/a(1\\)"}), "(src unix:/tmp/a(1))");
}

TEST(FilterParse, backslash_escapes_a_space) {
  EXPECT_EQ(tree_words({"src", "unix:/tmp/a\\ b"}), "(src unix:/tmp/a b)");
}

TEST(FilterParse, seed_filters) {
  Filter f = Filter::parse({"state", "established", "( dport = :443 or sport = :443 )"}, opts());
  EXPECT_EQ(f.str(), "(or (dst *:443) (src *:443))");
  EXPECT_EQ(f.states(), bit(kEstablished));
  EXPECT_EQ(tree_words({"( dport = :smtp or sport = :smtp )"}), "(or (dst *:25) (src *:25))");
  EXPECT_EQ(tree_words({"( dport = :http or sport = :http )"}), "(or (dst *:80) (src *:80))");
  EXPECT_EQ(tree("dst 192.168.1.130"), "(dst 192.168.1.130/32:*)");
  EXPECT_EQ(tree("src 192.168.1.200:http"), "(src 192.168.1.200/32:80)");
  EXPECT_EQ(tree("src 192.168.1.200:smtp"), "(src 192.168.1.200/32:25)");
  EXPECT_EQ(tree("src :55544"), "(src *:55544)");
  EXPECT_EQ(tree_words({"src 10.0.0.4:55544"}), "(src 10.0.0.4/32:55544)");
  Filter listening = Filter::parse({"state", "listening"}, opts(AF_INET));
  EXPECT_TRUE(listening.empty());
  EXPECT_EQ(listening.states(), bit(kListen));
}

TEST(FilterParse, seed_filters_with_the_system_resolver) {
  // /etc/services knows http and smtp on every Debian host.
  Filter f = Filter::parse({"src", "192.168.1.200:http"});
  EXPECT_EQ(f.str(), "(src 192.168.1.200/32:80)");
  EXPECT_EQ(Filter::parse({"( dport = :smtp or sport = :smtp )"}).str(),
            "(or (dst *:25) (src *:25))");
}

TEST(FilterStates, names_groups_and_case) {
  auto states = [](std::vector<std::string> w) { return Filter::parse(w, opts()).states(); };
  EXPECT_EQ(states({"state", "established"}), bit(kEstablished));
  EXPECT_EQ(states({"state", "ESTABLISHED"}), bit(kEstablished));
  EXPECT_EQ(states({"state", "syn-rcv"}), bit(kSynRecv));
  EXPECT_EQ(states({"state", "closed"}), bit(kClose));
  EXPECT_EQ(states({"state", "close"}), bit(kClose));
  EXPECT_EQ(states({"state", "unconnected"}), bit(kClose));
  EXPECT_EQ(states({"state", "unknown"}), 1u);
  EXPECT_EQ(states({"state", "all"}), 0xfffu);
  EXPECT_EQ(states({"state", "bucket"}), bit(kSynRecv) | bit(kTimeWait));
  EXPECT_EQ(states({"state", "big"}), 0xfffu & ~(bit(kSynRecv) | bit(kTimeWait)));
  EXPECT_EQ(states({"state", "connected"}), 0xfffu & ~(bit(kClose) | bit(kListen)));
  EXPECT_EQ(states({"state", "synchronized"}),
            0xfffu & ~(bit(kClose) | bit(kListen) | bit(diag::kSynSent)));
  EXPECT_EQ(states({"state", "established", "state", "listening"}),
            bit(kEstablished) | bit(kListen));
  EXPECT_EQ(states({"exclude", "listening"}), 0xfffu & ~bit(kListen));
  EXPECT_EQ(states({"excl", "listening", "exclude", "closed"}),
            0xfffu & ~(bit(kListen) | bit(kClose)));
  EXPECT_EQ(states({"state", "all", "exclude", "time-wait"}), 0xfffu & ~bit(kTimeWait));
}

TEST(FilterStates, defaults_apply_without_states_or_when_none_is_left) {
  Filter none = Filter::parse({"sport", "=", ":22"}, opts());
  none.set_default_states(0xfff);
  EXPECT_EQ(none.states(), 0xfffu);
  EXPECT_FALSE(none.has_states());
  // ss: `state established exclude established` leaves nothing, and then
  // shows its defaults.
  Filter empty = Filter::parse({"state", "established", "exclude", "established"}, opts());
  empty.set_default_states(bit(kListen));
  EXPECT_EQ(empty.states(), bit(kListen));
  Filter given = Filter::parse({"state", "established"}, opts());
  given.set_default_states(bit(kListen));
  EXPECT_EQ(given.states(), bit(kEstablished));
  // Which defaults: ss's words also undo -a/-l, so the CLI passes what is
  // left without them.
  Filter emptied = Filter::parse({"exclude", "all"}, opts());
  emptied.set_default_states(0xfff, bit(kEstablished));
  EXPECT_EQ(emptied.states(), bit(kEstablished));
  Filter none_given = Filter::parse({"sport", "=", ":22"}, opts());
  none_given.set_default_states(0xfff, bit(kEstablished));
  EXPECT_EQ(none_given.states(), 0xfffu);
}

TEST(FilterStates, state_words_only_lead) {
  // ss takes state words only before the expression, and only as words of
  // their own.
  EXPECT_THROW(Filter::parse({"sport", "=", ":22", "state", "established"}, opts()), UsageError);
  EXPECT_THROW(Filter::parse({"state established"}, opts()), UsageError);
}

TEST(FilterErrors, name_the_token_and_its_position) {
  EXPECT_EQ(error_of("state listen"),
            "bad filter at token 2 'listen': unknown state (established, syn-sent, syn-recv, "
            "fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing, "
            "or all, connected, synchronized, bucket, big)");
  EXPECT_EQ(error_of("state"), "bad filter at token 1 'state': a state name should follow");
  EXPECT_EQ(error_of("sport = :70000"),
            "bad filter at token 3 ':70000': port 70000 is outside 0-65535");
  EXPECT_EQ(error_of("sport = :-1"), "bad filter at token 3 ':-1': port -1 is outside 0-65535");
  EXPECT_EQ(error_of("src 1.2.3.4:99999"),
            "bad filter at token 2 '1.2.3.4:99999': port 99999 is outside 0-65535");
  EXPECT_EQ(error_of("sport > *"),
            "bad filter at token 3 '*': a port comparison needs a port number");
  EXPECT_EQ(
      error_of("sport = :nosuch"),
      "bad filter at token 3 ':nosuch': 'nosuch' is neither a port number nor a known service");
  EXPECT_EQ(
      error_of("dst nosuchhost"),
      "bad filter at token 2 'nosuchhost': 'nosuchhost' is neither an address nor a known host");
  EXPECT_EQ(error_of("src ::1"),
            "bad filter at token 2 '::1': ':' is neither an address nor a known host");
  EXPECT_EQ(error_of("src [::1"), "bad filter at token 2 '[::1': missing ']'");
  EXPECT_EQ(
      error_of("src 10.0.0.0/33"),
      "bad filter at token 2 '10.0.0.0/33': '10.0.0.0/33' is neither an address nor a known host");
  // Found by the fuzzer (a misaligned read): a dotted mask must be contiguous.
  EXPECT_EQ(error_of("src 10/0.0.1"),
            "bad filter at token 2 '10/0.0.1': '10/0.0.1' is neither an address nor a known host");
  EXPECT_EQ(tree("src 10/255.0.0.0"), "(src 10.0.0.0/8:*)");
  EXPECT_EQ(error_of("dev nosuchdev"),
            "bad filter at token 2 'nosuchdev': no interface 'nosuchdev'");
  EXPECT_EQ(error_of("fwmark x"), "bad filter at token 2 'x': expected a mark");
  EXPECT_EQ(error_of("fwmark 1/"), "bad filter at token 2 '1/': expected MARK/MASK");
  EXPECT_EQ(error_of("cgroup /nope"),
            "bad filter at token 2 '/nope': no cgroup '/nope': no such cgroup");
}

TEST(FilterErrors, syntax) {
  EXPECT_EQ(error_of("sport = :1 or"),
            "bad filter at token 4 'or': filter ends where an expression should follow");
  EXPECT_EQ(error_of("or sport = :1"), "bad filter at token 1 'or': expected an expression");
  EXPECT_EQ(error_of("( sport = :1"), "bad filter at token 1 '(': '(' is never closed");
  EXPECT_EQ(error_of("sport = :1 )"), "bad filter at token 4 ')': unmatched ')'");
  EXPECT_EQ(error_of("( )"), "bad filter at token 2 ')': empty parentheses");
  EXPECT_EQ(error_of("src"),
            "bad filter at token 1 'src': filter ends where a value for 'src' should follow");
  EXPECT_EQ(error_of("src and"), "bad filter at token 2 'and': expected a value for 'src'");
  EXPECT_EQ(error_of("src != 1.2.3.4"), "bad filter at token 2 '!=': 'src' takes '='");
  EXPECT_EQ(error_of("dev > lo"), "bad filter at token 2 '>': 'dev' takes '=' or '!='");
  EXPECT_EQ(error_of("sport or"),
            "bad filter at token 2 'or': 'sport' takes =, !=, <, >, <= or >=");
  EXPECT_EQ(
      error_of("127.0.0.1"),
      "bad filter at token 1 '127.0.0.1': expected src, dst, sport, dport, dev, fwmark, cgroup, "
      "autobound, 'not' or '('");
  EXPECT_EQ(error_of("AND"),
            "bad filter at token 1 'AND': expected src, dst, sport, dport, dev, fwmark, cgroup, "
            "autobound, 'not' or '('");
  EXPECT_EQ(error_of("not"),
            "bad filter at token 1 'not': filter ends where an expression should follow");
  EXPECT_EQ(
      error_of("autobound 1.2.3.4"),
      "bad filter at token 2 '1.2.3.4': expected src, dst, sport, dport, dev, fwmark, cgroup, "
      "autobound, 'not' or '('");
}

TEST(FilterErrors, positions_count_state_words_and_split_parentheses) {
  EXPECT_EQ(Filter::parse({"state", "established"}, opts()).str(), "");
  try {
    Filter::parse({"state", "established", "(dport", "=", ":70000)"}, opts());
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "bad filter at token 6 ':70000': port 70000 is outside 0-65535");
  }
}

TEST(FilterErrors, nesting_is_bounded) {
  std::string deep(2000, '(');
  EXPECT_NE(error_of(deep + " autobound").find("nested too deeply"), std::string::npos);
  std::vector<std::string> nots(2000, "not");
  nots.push_back("autobound");
  EXPECT_THROW(Filter::parse(nots, opts()), UsageError);
}

TEST(FilterFile, reads_lines_skips_comments_and_follows_words) {
  char path[] = "/tmp/sstrace_filter_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text =
      "# web traffic\n"
      "( dport = :443\n"
      "  or sport = :443 )\n"
      "0 this line is skipped like ss skips it\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  EXPECT_EQ(Filter::parse_file(path, opts()).str(), "(or (dst *:443) (src *:443))");
  ParseOptions o = opts();
  o.file = path;
  Filter f = Filter::parse({"state", "established", "autobound"}, o);
  EXPECT_EQ(f.str(), "(and autobound (or (dst *:443) (src *:443)))");
  EXPECT_EQ(f.states(), bit(kEstablished));
  unlink(path);
}

TEST(FilterFile, errors_name_the_line) {
  char path[] = "/tmp/sstrace_filter_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "dport = :443 or\nsport = :99999\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  try {
    Filter::parse_file(path, opts());
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "bad filter at line 2 token 7 ':99999': port 99999 is outside 0-65535");
  }
  unlink(path);
  EXPECT_THROW(Filter::parse_file("/nonexistent/filter", opts()), UsageError);
}

}  // namespace
}  // namespace sstrace::filter
