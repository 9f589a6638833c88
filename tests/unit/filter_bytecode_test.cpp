// The inet_diag bytecode backend: byte-for-byte what ss 6.1 sends (goldens
// captured with strace from `ss -tan FILTER` on the reference machine), valid
// for the kernel's audit, and, run through a model of the kernel's
// interpreter (inet_diag_bc_run() in net/ipv4/inet_diag.c), in agreement
// with the evaluator on many generated filters and sockets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "diag/bytecode.h"
#include "diag/sock_info.h"
#include "filter/ast.h"
#include "filter/eval.h"
#include "filter/filter.h"
#include "filter/resolver.h"

namespace sstrace::filter {
namespace {

using diag::SockInfo;
using diag::bc::Op;

const TableResolver& resolver() {
  static const TableResolver r = [] {
    TableResolver t;
    t.add_host("localhost", "127.0.0.1");
    t.add_host("dual", "10.0.0.1");
    t.add_host("dual", "10.0.0.2");
    t.add_host("dual", "2001:db8::1");
    t.services[{"http", "tcp"}] = 80;
    t.services[{"http", "udp"}] = 80;
    t.services[{"smtp", "tcp"}] = 25;
    t.cgroups["app"] = 4242;
    t.interfaces["lo"] = 1;
    return t;
  }();
  return r;
}

Filter parse(const std::string& text) {
  ParseOptions o;
  o.resolver = &resolver();
  Filter f = Filter::parse({text}, o);
  f.set_default_states(0xfff);
  return f;
}

std::string hex(const std::vector<uint8_t>& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

// ---- a model of the kernel's interpreter ----------------------------------

struct Entry {
  uint8_t family = AF_INET;
  const uint8_t* saddr = nullptr;
  const uint8_t* daddr = nullptr;
  uint16_t sport = 0, dport = 0;
  uint32_t ifindex = 0;
  bool bindport_locked = false;  // sk_userlocks & SOCK_BINDPORT_LOCK
  uint32_t mark = 0;
  uint64_t cgroup_id = 0;
};

bool bits_match(const uint8_t* a, const uint8_t* b, int bits) {
  return std::memcmp(a, b, bits / 8) == 0 &&
         (bits % 8 == 0 || ((a[bits / 8] ^ b[bits / 8]) & (0xff00 >> (bits % 8)) & 0xff) == 0);
}

bool kernel_run(const std::vector<uint8_t>& code, const Entry& e) {
  long len = static_cast<long>(code.size());
  size_t pc = 0;
  while (len > 0) {
    const uint8_t op = code[pc];
    const uint8_t yes_len = code[pc + 1];
    uint16_t no_len;
    std::memcpy(&no_len, &code[pc + 2], 2);
    const uint8_t* arg = &code[pc + 4];
    bool yes = true;
    switch (static_cast<Op>(op)) {
      case Op::nop:
        break;
      case Op::jmp:
        yes = false;
        break;
      case Op::s_eq:
      case Op::s_ge:
      case Op::s_le:
      case Op::d_eq:
      case Op::d_ge:
      case Op::d_le: {
        uint16_t v;
        std::memcpy(&v, arg + 2, 2);
        const bool s = op == static_cast<uint8_t>(Op::s_eq) ||
                       op == static_cast<uint8_t>(Op::s_ge) || op == static_cast<uint8_t>(Op::s_le);
        const uint16_t port = s ? e.sport : e.dport;
        if (op == static_cast<uint8_t>(Op::s_eq) || op == static_cast<uint8_t>(Op::d_eq))
          yes = port == v;
        else if (op == static_cast<uint8_t>(Op::s_ge) || op == static_cast<uint8_t>(Op::d_ge))
          yes = port >= v;
        else
          yes = port <= v;
        break;
      }
      case Op::autobound:
        yes = !e.bindport_locked;
        break;
      case Op::s_cond:
      case Op::d_cond: {
        const uint8_t family = arg[0], plen = arg[1];
        int port;
        std::memcpy(&port, arg + 4, 4);
        const uint8_t* cond_addr = arg + 8;
        const bool s = op == static_cast<uint8_t>(Op::s_cond);
        if (port != -1 && port != (s ? e.sport : e.dport)) {
          yes = false;
          break;
        }
        const uint8_t* addr = s ? e.saddr : e.daddr;
        if (family != AF_UNSPEC && family != e.family) {
          static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
          if (e.family == AF_INET6 && family == AF_INET && std::memcmp(addr, mapped, 12) == 0 &&
              bits_match(addr + 12, cond_addr, plen))
            break;
          yes = false;
          break;
        }
        if (plen == 0) break;
        if (bits_match(addr, cond_addr, plen)) break;
        yes = false;
        break;
      }
      case Op::dev_cond: {
        uint32_t idx;
        std::memcpy(&idx, arg, 4);
        yes = idx == e.ifindex;
        break;
      }
      case Op::mark_cond: {
        uint32_t mark, mask;
        std::memcpy(&mark, arg, 4);
        std::memcpy(&mask, arg + 4, 4);
        yes = (e.mark & mask) == mark;
        break;
      }
      case Op::cgroup_cond: {
        uint64_t id;
        std::memcpy(&id, arg, 8);
        yes = id == e.cgroup_id;
        break;
      }
    }
    const long step = yes ? yes_len : no_len;
    len -= step;
    pc += static_cast<size_t>(step);
  }
  return len == 0;
}

Entry entry_of(const SockInfo& s, bool locked) {
  Entry e;
  e.family = s.family;
  e.saddr = s.local.addr.data();
  e.daddr = s.remote.addr.data();
  e.sport = s.local.port;
  e.dport = s.remote.port;
  e.ifindex = s.ifindex;
  e.bindport_locked = locked;
  e.mark = s.mark;
  e.cgroup_id = s.cgroup_id;
  return e;
}

// ---- goldens ---------------------------------------------------------------

struct Golden {
  const char* filter;
  const char* bytes;
};

// `ss -tan FILTER` on iproute2 6.1 (Debian 12), INET_DIAG_REQ_BYTECODE of
// its AF_INET request.
constexpr Golden kGoldens[] = {
    {"sport = :1 or sport = :2 and sport = :3",
     "07101400000000000100000000000000010414000710240000000000020000000000000007101400000000000300"
     "000000000000"},
    {"sport = :1 and sport = :2 or sport = :3",
     "07102400000000000100000000000000071014000000000002000000000000000104140007101400000000000300"
     "000000000000"},
    {"not sport = :1 and sport = :2",
     "071014000000000001000000000000000104180007101400000000000200000000000000"},
    {"sport = :1 sport = :2", "0710240000000000010000000000000007101400000000000200000000000000"},
    {"sport = :1 or ( sport = :2 and sport = :3 )",
     "07101400000000000100000000000000010424000710240000000000020000000000000007101400000000000300"
     "000000000000"},
    {"! ! sport = :1", "071014000000000001000000000000000104080001040800"},
    {"autobound", "06040800"},
    {"not autobound or dport = :22", "06040800010408000104140008101400000000001600000000000000"},
    {"sport > :5", "03080c000000050001040800"},
    {"sport lt :5", "02080c000000050001040800"},
    {"dport geq :5", "04080c0000000500"},
    {"dport <= :1023", "05080c000000ff03"},
    {"dport != :5", "0810140000000000050000000000000001040800"},
    {"src [::1]", "071c20000a800000ffffffff00000000000000000000000000000001"},
    {"src [::1]:22", "071c20000a8000001600000000000000000000000000000000000001"},
    {"src :80", "07101400000000005000000000000000"},
    {"sport = :*", "0710140000000000ffffffff00000000"},
    {"sport = 0x16", "07101400000000001600000000000000"},
    {"src *:80", "07101400000000005000000000000000"},
    {"src 1.2.3.4:80", "07101400022000005000000001020304"},
    {"dst 127.0.0.1/8", "0810140002080000ffffffff7f000001"},
    {"dst 10.0.0.0/255.255.0.0", "0810140002100000ffffffff0a000000"},
    {"src default", "0710140000000000ffffffff00000000"},
    {"src 10", "0710140002200000ffffffff0a000000"},
    {"src 0x7f.1", "0710140002200000ffffffff7f010000"},
    {"src fe80::1:80", "071c20000a80000050000000fe800000000000000000000000000001"},
    {"dst localhost", "0810140002200000ffffffff7f000001"},
    {"src 192.168.1.200:http", "071014000220000050000000c0a801c8"},
    {"fwmark = 0x1/0xff", "0a0c100001000000ff000000"},
    {"fwmark 1", "0a0c100001000000ffffffff"},
    {"fwmark != 7", "0a0c100007000000ffffffff01040800"},
    {"( dport = :443 or sport = :443 )",
     "0810140000000000bb01000000000000010414000710140000000000bb01000000000000"},
    {"( dport = :smtp or sport = :smtp ) and not src 10.0.0.0/8",
     "0810140000000000190000000000000001041400071028000000000019000000000000000710140002080000ffff"
     "ffff0a00000001040800"},
    {"( sport >= :1024 and sport <= :2048 ) or ( dport > :100 and not dport = :200 )",
     "020814000000000403080c00000000080104240005080c000000640001041c000810140000000000c80000000000"
     "000001040800"},
    {"not ( src 10.0.0.1 or dst 10.0.0.2:99 ) autobound",
     "0710140002200000ffffffff0a000001010414000810140002200000630000000a00000201040c0006040800"},
};

TEST(FilterBytecode, matches_what_ss_sends) {
  for (const Golden& g : kGoldens) {
    Filter f = parse(g.filter);
    EXPECT_EQ(hex(f.inet_bytecode()), g.bytes) << g.filter;
    EXPECT_EQ(diag::bc::audit(f.inet_bytecode(), true), "") << g.filter;
  }
}

TEST(FilterBytecode, cgroup_op) {
  Filter f = parse("cgroup app");
  // INET_DIAG_BC_CGROUP_COND, yes 12, no 16, then the u64 id.
  EXPECT_EQ(hex(f.inet_bytecode()), "0d0c10009210000000000000");
}

TEST(FilterBytecode, host_names_repeat_the_first_address_like_ss) {
  Filter f = parse("dst dual");
  // Three entries (two IPv4, one IPv6), each the first address, 4-byte
  // sized: S_COND, JMP to the end, S_COND, JMP, S_COND.
  const std::string entry = "02200000ffffffff0a000001";
  EXPECT_EQ(hex(f.inet_bytecode()),
            "08101400" + entry + "01042800" + "08101400" + entry + "01041400" + "08101400" + entry);
  EXPECT_EQ(diag::bc::audit(f.inet_bytecode(), true), "");
}

TEST(FilterBytecode, none_for_dev_and_non_inet_patterns) {
  EXPECT_TRUE(parse("dev lo").inet_bytecode().empty());
  EXPECT_TRUE(parse("sport = :22 or dev 1").inet_bytecode().empty());
  EXPECT_TRUE(parse("src unix:/run/*").inet_bytecode().empty());
  EXPECT_TRUE(parse("").inet_bytecode().empty());
}

TEST(FilterBytecode, audit_catches_broken_programs) {
  EXPECT_NE(diag::bc::audit({}, true), "");
  EXPECT_NE(
      diag::bc::audit(std::vector<uint8_t>{0x0a, 0x0c, 0x10, 0, 1, 0, 0, 0, 0xff, 0, 0, 0}, false),
      "");
  EXPECT_NE(diag::bc::audit(std::vector<uint8_t>{0x02, 0x08, 0x0d, 0, 0, 0, 5, 0}, true),
            "");                                                                    // no & 3
  EXPECT_NE(diag::bc::audit(std::vector<uint8_t>{0x63, 0x04, 0x08, 0}, true), "");  // unknown op
  EXPECT_NE(diag::bc::audit(std::vector<uint8_t>{0x07, 0x10, 0x14, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff,
                                                 0xff, 0, 0, 0, 0},
                            true),
            "");  // AF_UNIX host condition
}

// ---- generated filters and sockets -----------------------------------------

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  std::string filter(int depth = 0) {
    const int kind = pick(depth > 3 ? 6 : 10);
    switch (kind) {
      case 6:
        return "( " + filter(depth + 1) + " )";
      case 7:
        return "not " + filter(depth + 1);
      case 8:
      case 9: {
        static const char* joins[] = {" and ", " or ", " ", " & ", " | ", " && ", " || "};
        return filter(depth + 1) + joins[pick(7)] + filter(depth + 1);
      }
      default:
        return leaf();
    }
  }

  SockInfo sock() {
    static const char* v4[] = {"10.0.0.1", "10.0.0.2",      "127.0.0.1",
                               "0.0.0.0",  "192.168.1.200", "10.1.2.3"};
    static const char* v6[] = {"::1",
                               "::",
                               "2001:db8::1",
                               "::ffff:10.0.0.1",
                               "::ffff:127.0.0.1",
                               "a00:1::",
                               "::ffff:192.168.1.200",
                               "fe80::1"};
    SockInfo s;
    s.kind = diag::SockKind::tcp;
    s.family = pick(2) ? AF_INET : AF_INET6;
    s.state = static_cast<uint8_t>(1 + pick(11));
    auto addr = [&](diag::Endpoint& e) {
      const char* a = s.family == AF_INET ? v4[pick(6)] : v6[pick(8)];
      inet_pton(s.family, a, e.addr.data());
      e.port = port();
    };
    addr(s.local);
    addr(s.remote);
    s.ifindex = static_cast<uint32_t>(pick(3));
    s.has_mark = true;
    s.mark = static_cast<uint32_t>(pick(4));
    s.has_cgroup = true;
    s.cgroup_id = pick(2) ? 4242 : 1;
    s.inode = 1;
    return s;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  uint16_t port() {
    static const uint16_t ports[] = {0, 1, 22, 25, 80, 443, 1023, 1024, 1025, 32768, 40000, 65535};
    return pick(4) == 0 ? static_cast<uint16_t>(rng_()) : ports[pick(12)];
  }

  std::string port_word(bool any_ok) {
    static const char* words[] = {":0",    ":1",     ":22",   ":80", ":443",
                                  ":1024", ":65535", ":http", "25",  "0x50"};
    if (any_ok && pick(8) == 0) return pick(2) ? "*" : ":*";
    return words[pick(10)];
  }

  std::string leaf() {
    static const char* ops[] = {"=",   "!=", ">=", "<=", ">",  "<", "eq",
                                "neq", "gt", "lt", "ge", "le", ""};
    static const char* addrs[] = {"10.0.0.1",
                                  "10.0.0.0/8",
                                  "10.0.0.1:80",
                                  ":80",
                                  "*",
                                  "[::1]",
                                  "[2001:db8::/32]:443",
                                  "[::ffff:10.0.0.1]",
                                  "0.0.0.0",
                                  "127.0.0.1/32:22",
                                  "dual",
                                  "localhost",
                                  "any",
                                  "*:1024",
                                  "[::/0]",
                                  "192.168.1.200:http",
                                  "10.0.0.0/7",
                                  "[::ffff:0.0.0.0/96]"};
    switch (pick(9)) {
      case 0:
      case 1: {
        const char* op = ops[pick(13)];
        const bool eq = std::string(op) == "=" || std::string(op) == "!=" ||
                        std::string(op) == "eq" || std::string(op) == "neq" ||
                        std::string(op).empty();
        return std::string(pick(2) ? "sport " : "dport ") + op + (*op ? " " : "") + port_word(eq);
      }
      case 2:
      case 3:
      case 4:
        return std::string(pick(2) ? "src " : "dst ") + (pick(3) == 0 ? "= " : "") +
               addrs[pick(18)];
      case 5:
        return "autobound";
      case 6:
        return pick(2) ? "fwmark 0x1/0x1" : "fwmark != 2";
      case 7:
        return "cgroup app";
      default:
        return pick(2) ? "dport = :0" : "sport != :65535";
    }
  }

  std::mt19937 rng_;
};

TEST(FilterBytecode, kernel_model_agrees_with_the_evaluator) {
  Gen gen(12345);
  int checked = 0, programs = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string text = gen.filter();
    Filter f = parse(text);
    const std::vector<uint8_t> code = f.inet_bytecode();
    ASSERT_FALSE(code.empty()) << text;
    ASSERT_EQ(diag::bc::audit(code, true), "") << text;
    ++programs;
    for (int k = 0; k < 60; ++k) {
      SockInfo s = gen.sock();
      const Tri model = kernel_eval(*f.root(), s);
      for (bool locked : {false, true}) {
        const bool ran = kernel_run(code, entry_of(s, locked));
        // The bytecode does what the evaluator's kernel half says, wherever
        // that is knowable from a dump.
        if (model != Tri::unknown) {
          ASSERT_EQ(ran, model == Tri::yes) << text << " on socket " << k;
          ++checked;
        }
        // A socket the evaluator keeps is never dropped by the kernel with
        // the same program, except where only the kernel can know
        // (SOCK_BINDPORT_LOCK for autobound).
        if (f.matches(s) && model != Tri::unknown) {
          ASSERT_TRUE(ran) << text;
        }
      }
    }
  }
  EXPECT_GT(checked, 100000);
  EXPECT_EQ(programs, 1500);
}

TEST(FilterBytecode, same_family_filters_agree_with_ss_own_check) {
  // Where families line up (IPv4 rules, IPv4 sockets), ss's two checks are
  // the same function, and so are ours.
  Gen gen(777);
  int checked = 0;
  for (int i = 0; i < 800; ++i) {
    const std::string text = gen.filter();
    if (text.find('[') != std::string::npos || text.find("dual") != std::string::npos ||
        text.find("autobound") != std::string::npos)
      continue;
    Filter f = parse(text);
    const std::vector<uint8_t> code = f.inet_bytecode();
    for (int k = 0; k < 50; ++k) {
      SockInfo s = gen.sock();
      if (s.family != AF_INET) continue;
      SsView v;
      make_view(s, v);
      ASSERT_EQ(kernel_run(code, entry_of(s, false)), ss_eval(*f.root(), v)) << text;
      ++checked;
    }
  }
  EXPECT_GT(checked, 5000);
}

}  // namespace
}  // namespace sstrace::filter
