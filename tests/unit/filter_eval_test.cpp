// The evaluator: ss's semantics for each socket kind, quirks included, and
// the kernel's part for TCP/UDP/RAW (a socket shows when both accept it).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <sys/socket.h>

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "diag/sock_info.h"
#include "filter/filter.h"
#include "filter/resolver.h"

// Counts allocations on this thread while armed, to show matches() makes
// none (it runs for every socket of a dump and every event of the stream).
namespace {
thread_local bool g_count_allocs = false;
thread_local long g_allocs = 0;
}  // namespace

// GCC 12 pairs the malloc() below with the free() in operator delete once
// both are inlined into a destructor (SockInfo's key vector) and warns of a
// mismatch that is not one: these two are each other's pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (g_count_allocs) ++g_allocs;
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace sstrace::filter {
namespace {

using diag::SockInfo;
using diag::SockKind;

const TableResolver& resolver() {
  static const TableResolver r = [] {
    TableResolver t;
    t.add_host("dual", "10.0.0.1");
    t.add_host("dual", "10.0.0.2");
    t.services[{"http", "tcp"}] = 80;
    t.interfaces["lo"] = 1;
    t.interfaces["eth0"] = 2;
    t.cgroups["app"] = 4242;
    t.port_range = {32768, 60999};
    return t;
  }();
  return r;
}

Filter parse(const std::vector<std::string>& words, int family = AF_UNSPEC) {
  ParseOptions o;
  o.resolver = &resolver();
  o.family = family;
  Filter f = Filter::parse(words, o);
  f.set_default_states(0xfff);  // ss -a
  return f;
}

diag::Endpoint ep(const std::string& addr, uint16_t port) {
  diag::Endpoint e;
  inet_pton(addr.find(':') != std::string::npos ? AF_INET6 : AF_INET, addr.c_str(), e.addr.data());
  e.port = port;
  return e;
}

SockInfo tcp(const std::string& local, uint16_t lport, const std::string& remote, uint16_t rport,
             uint8_t state = diag::kEstablished) {
  SockInfo s;
  s.kind = SockKind::tcp;
  s.family = local.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  s.state = state;
  s.local = ep(local, lport);
  s.remote = ep(remote, rport);
  s.inode = 1000;
  return s;
}

SockInfo unix_sock(const std::string& path, uint64_t inode, uint64_t peer) {
  SockInfo s;
  s.kind = SockKind::unix_stream;
  s.family = AF_UNIX;
  s.state = diag::kEstablished;
  s.unix_path = path;
  s.inode = inode;
  s.unix_peer_inode = peer;
  return s;
}

SockInfo packet(uint16_t proto, uint32_t ifindex) {
  SockInfo s;
  s.kind = SockKind::packet_raw;
  s.family = AF_PACKET;
  s.state = diag::kClose;
  s.packet_protocol = proto;
  s.ifindex = ifindex;
  s.inode = 77;
  return s;
}

SockInfo netlink(uint8_t proto, uint32_t portid) {
  SockInfo s;
  s.kind = SockKind::netlink;
  s.family = AF_NETLINK;
  s.state = diag::kClose;
  s.netlink_protocol = proto;
  s.netlink_portid = portid;
  s.inode = 78;
  return s;
}

bool m(const std::vector<std::string>& words, const SockInfo& s, int family = AF_UNSPEC) {
  return parse(words, family).matches(s);
}

TEST(FilterEval, ports_and_addresses) {
  SockInfo s = tcp("10.0.0.4", 55544, "192.168.1.130", 443);
  EXPECT_TRUE(m({"src", "10.0.0.4:55544"}, s));
  EXPECT_TRUE(m({"src", ":55544"}, s));
  EXPECT_FALSE(m({"src", ":55545"}, s));
  EXPECT_TRUE(m({"dst", "192.168.1.130"}, s));
  EXPECT_TRUE(m({"dst", "192.168.0.0/16"}, s));
  EXPECT_FALSE(m({"dst", "192.168.2.0/24"}, s));
  EXPECT_TRUE(m({"( dport = :443 or sport = :443 )"}, s));
  EXPECT_TRUE(m({"dport", ">", ":442"}, s));
  EXPECT_FALSE(m({"dport", ">", ":443"}, s));
  EXPECT_TRUE(m({"dport", ">=", ":443"}, s));
  EXPECT_TRUE(m({"dport", "<=", ":443"}, s));
  EXPECT_FALSE(m({"dport", "<", ":443"}, s));
  EXPECT_TRUE(m({"sport", "!=", ":1"}, s));
  EXPECT_TRUE(m({"src", "*"}, s));
  EXPECT_TRUE(m({"src", "any"}, s));
}

TEST(FilterEval, state_test_is_part_of_matching) {
  Filter f = parse({"state", "established", "sport", "=", ":22"});
  EXPECT_TRUE(f.matches(tcp("10.0.0.1", 22, "10.0.0.2", 5000)));
  EXPECT_FALSE(f.matches(tcp("10.0.0.1", 22, "0.0.0.0", 0, diag::kListen)));
}

TEST(FilterEval, ipv4_rule_matches_v4_mapped_sockets) {
  SockInfo mapped = tcp("::ffff:10.0.0.4", 80, "::ffff:10.9.9.9", 5000);
  EXPECT_TRUE(m({"src", "10.0.0.4"}, mapped));
  EXPECT_TRUE(m({"src", "10.0.0.0/8:80"}, mapped));
  EXPECT_TRUE(m({"dst", "10.9.9.9"}, mapped));
  // ...but a v4-mapped rule selects only v4-mapped sockets.
  EXPECT_FALSE(m({"src", "[::ffff:10.0.0.4]"}, tcp("10.0.0.4", 80, "1.1.1.1", 1)));
  EXPECT_TRUE(m({"src", "[::ffff:10.0.0.4]"}, mapped));
}

TEST(FilterEval, sockets_from_proc_are_judged_by_ss_check_alone) {
  // RAW sockets read from /proc/net/raw6 (no raw_diag): no bytecode ran on
  // them, and ss's own check takes a /0 prefix of either family for any
  // address (found by the differential filter test: ss -an 'src 0.0.0.0/0'
  // lists IPv6 RAW sockets).
  SockInfo raw6 = tcp("::", 58, "::", 0, diag::kClose);
  raw6.kind = SockKind::raw;
  raw6.from_proc = true;
  EXPECT_TRUE(parse({"src", "0.0.0.0/0"}).matches(raw6));
  SockInfo raw4 = tcp("0.0.0.0", 1, "0.0.0.0", 0, diag::kClose);
  raw4.kind = SockKind::raw;
  raw4.from_proc = true;
  EXPECT_TRUE(parse({"src", "::/0"}).matches(raw4));
  // The same sockets from a dump went through the kernel's family check.
  raw6.from_proc = raw4.from_proc = false;
  EXPECT_FALSE(parse({"src", "0.0.0.0/0"}).matches(raw6));
  EXPECT_FALSE(parse({"src", "::/0"}).matches(raw4));
}

TEST(FilterEval, listeners_have_a_wildcard_peer) {
  SockInfo l4 = tcp("0.0.0.0", 22, "0.0.0.0", 0, diag::kListen);
  SockInfo l6 = tcp("::", 22, "::", 0, diag::kListen);
  EXPECT_TRUE(m({"dst", "0.0.0.0"}, l4));
  EXPECT_TRUE(m({"src", "0.0.0.0"}, l4));
  EXPECT_TRUE(m({"dport", "=", ":0"}, l4));
  EXPECT_TRUE(m({"dst", "*"}, l6));
  // ss's own check compares raw bytes and would take `::` for 0.0.0.0, but
  // the kernel's bytecode checks the family: on TCP the kernel wins.
  EXPECT_FALSE(m({"src", "0.0.0.0"}, l6));
  // Where ss sends no bytecode (`dev` in 6.1), its own check alone decides.
  EXPECT_TRUE(m({"src", "0.0.0.0", "and", "not", "dev", "lo"}, l6));
}

TEST(FilterEval, host_name_bytecode_uses_the_first_address) {
  // ss's bytecode carries the first resolved address in every entry, so on
  // TCP only that one matches, though ss's own check accepts either.
  EXPECT_TRUE(m({"dst", "dual"}, tcp("1.1.1.1", 1, "10.0.0.1", 2)));
  EXPECT_FALSE(m({"dst", "dual"}, tcp("1.1.1.1", 1, "10.0.0.2", 2)));
  EXPECT_TRUE(m({"dst", "dual", "or", "dev", "9"}, tcp("1.1.1.1", 1, "10.0.0.2", 2)));
}

TEST(FilterEval, autobound_is_the_ephemeral_range_on_inet) {
  EXPECT_TRUE(m({"autobound"}, tcp("10.0.0.1", 40000, "10.0.0.2", 80)));
  EXPECT_FALSE(m({"autobound"}, tcp("10.0.0.1", 80, "10.0.0.2", 40000)));
  EXPECT_TRUE(m({"not", "autobound"}, tcp("10.0.0.1", 80, "10.0.0.2", 40000)));
}

TEST(FilterEval, dev_mark_cgroup) {
  SockInfo s = tcp("10.0.0.1", 80, "10.0.0.2", 1234);
  s.ifindex = 2;
  EXPECT_TRUE(m({"dev", "eth0"}, s));
  EXPECT_FALSE(m({"dev", "lo"}, s));
  EXPECT_TRUE(m({"dev", "!=", "lo"}, s));
  // No mark in the dump reads as mark 0, as in ss.
  EXPECT_TRUE(m({"fwmark", "0"}, s));
  s.has_mark = true;
  s.mark = 0x1234;
  EXPECT_TRUE(m({"fwmark", "0x34/0xff"}, s));
  EXPECT_FALSE(m({"fwmark", "0x34"}, s));
  EXPECT_FALSE(m({"cgroup", "app"}, s));
  s.has_cgroup = true;
  s.cgroup_id = 4242;
  EXPECT_TRUE(m({"cgroup", "app"}, s));
}

TEST(FilterEval, unix_ports_are_inodes) {
  SockInfo u = unix_sock("/run/app.sock", 20570, 20571);
  EXPECT_TRUE(m({"sport", "=", ":20570"}, u));
  EXPECT_TRUE(m({"dport", "=", ":20571"}, u));
  EXPECT_TRUE(m({"sport", ">", ":1000"}, u));
  EXPECT_FALSE(m({"sport", "=", ":22"}, u));
}

TEST(FilterEval, unix_patterns) {
  SockInfo named = unix_sock("/run/app.sock", 1, 2);
  SockInfo unnamed = unix_sock("", 3, 4);
  SockInfo autobind = unix_sock("@00a1f", 5, 0);
  EXPECT_TRUE(m({"src", "unix:/run/*"}, named));
  EXPECT_TRUE(m({"src", "unix:/RUN/*"}, named));  // ss folds case
  EXPECT_FALSE(m({"src", "unix:/run/*"}, unnamed));
  EXPECT_TRUE(m({"src", "/run/app.sock"}, named, AF_UNIX));
  EXPECT_TRUE(m({"src", "unix:*"}, unnamed));
  // ss never knows the peer's name: `dst` patterns see "".
  EXPECT_TRUE(m({"dst", "unix:*"}, named));
  EXPECT_FALSE(m({"dst", "unix:/run/*"}, named));
  EXPECT_TRUE(m({"autobound"}, unnamed));
  EXPECT_TRUE(m({"autobound"}, autobind));
  EXPECT_FALSE(m({"autobound"}, named));
  // A `unix:` address restricts the filter to UNIX sockets.
  EXPECT_FALSE(m({"not", "src", "unix:/nothing"}, tcp("10.0.0.1", 1, "10.0.0.2", 2)));
}

TEST(FilterEval, inet_addresses_on_unix_sockets) {
  // ss's view of a UNIX socket has zero address bytes unless it is named.
  SockInfo named = unix_sock("/run/app.sock", 1, 2);
  SockInfo unnamed = unix_sock("", 3, 4);
  EXPECT_TRUE(m({"src", "0.0.0.0"}, unnamed));
  EXPECT_FALSE(m({"src", "0.0.0.0"}, named));
  EXPECT_TRUE(m({"dst", "0.0.0.0"}, named));
  EXPECT_FALSE(m({"dst", "10.0.0.1"}, named));
}

TEST(FilterEval, packet_sockets) {
  SockInfo all = packet(ETH_P_ALL, 0);
  SockInfo ip_eth0 = packet(ETH_P_IP, 2);
  EXPECT_TRUE(m({"sport", "=", ":2"}, ip_eth0));
  EXPECT_TRUE(m({"dev", "eth0"}, ip_eth0));
  EXPECT_TRUE(m({"src", "link:ip"}, ip_eth0));
  EXPECT_TRUE(m({"src", "link:ip:eth0"}, ip_eth0));
  EXPECT_FALSE(m({"src", "link:ip:lo"}, ip_eth0));
  EXPECT_TRUE(m({"src", "link:all"}, all));
  EXPECT_TRUE(m({"dst", "0.0.0.0"}, all));
  // The protocol sits where an address goes: 3 reads as 3.0.0.0.
  EXPECT_TRUE(m({"src", "3.0.0.0"}, all));
  EXPECT_TRUE(m({"autobound"}, packet(0, 0)));
  EXPECT_FALSE(m({"autobound"}, all));
}

TEST(FilterEval, netlink_sockets) {
  // ss.c netlink_show_one(): portid as the local port, -1 as the remote one,
  // the protocol where an address goes.
  SockInfo rtnl_kernel = netlink(0, 0);
  SockInfo diag_proc = netlink(4, 4254);
  SockInfo genl_auto = netlink(16, 0xfffff0a3);
  EXPECT_TRUE(m({"src", "0"}, rtnl_kernel));  // `ss -a src 0`: protocol 0
  EXPECT_FALSE(m({"src", "0"}, diag_proc));
  EXPECT_TRUE(m({"src", "4.0.0.0"}, diag_proc));
  EXPECT_TRUE(m({"sport", "=", ":4254"}, diag_proc));
  EXPECT_FALSE(m({"dport", "=", ":0"}, rtnl_kernel));
  EXPECT_TRUE(m({"autobound"}, genl_auto));
  EXPECT_FALSE(m({"autobound"}, diag_proc));
  EXPECT_FALSE(m({"src", "inet:0.0.0.0"}, rtnl_kernel));  // another family
  EXPECT_FALSE(parse({"state", "established"}).matches(rtnl_kernel));
}

TEST(FilterEval, netlink_addresses) {
  SockInfo rtnl_kernel = netlink(0, 0);
  SockInfo rtnl_proc = netlink(0, 4254);
  SockInfo diag_proc = netlink(4, 4254);
  SockInfo genl_auto = netlink(16, 0xfffff0a3);  // -3933 as ss's int
  EXPECT_TRUE(m({"src", "netlink:rtnl:kernel"}, rtnl_kernel));
  EXPECT_FALSE(m({"src", "netlink:rtnl:kernel"}, rtnl_proc));
  EXPECT_FALSE(m({"src", "netlink:rtnl:kernel"}, diag_proc));
  EXPECT_TRUE(m({"src", "netlink:tcpdiag"}, diag_proc));
  EXPECT_TRUE(m({"src", "netlink:4:*"}, diag_proc));
  EXPECT_FALSE(m({"src", "netlink:tcpdiag"}, rtnl_proc));
  EXPECT_TRUE(m({"src", "netlink:*:4254"}, rtnl_proc));
  EXPECT_TRUE(m({"src", "netlink:*:4254"}, diag_proc));
  EXPECT_TRUE(m({"src", "netlink:genl:-3933"}, genl_auto));
  // ss gives the peer port -1 and a zero address: a port never matches it,
  // protocol 0 always does.
  EXPECT_TRUE(m({"dst", "netlink:*"}, diag_proc));
  EXPECT_FALSE(m({"dst", "netlink:rtnl:kernel"}, rtnl_kernel));
  EXPECT_TRUE(m({"dst", "netlink:rtnl"}, diag_proc));
  EXPECT_FALSE(m({"dst", "netlink:tcpdiag"}, diag_proc));
  EXPECT_TRUE(m({"not", "src", "netlink:rtnl"}, diag_proc));
  // Other families are not shown once a netlink address is read.
  EXPECT_FALSE(m({"src", "netlink:*"}, tcp("0.0.0.0", 0, "0.0.0.0", 0)));
}

TEST(FilterEval, forced_family_restricts_matches) {
  SockInfo v4 = tcp("10.0.0.1", 22, "10.0.0.2", 2);
  SockInfo v6 = tcp("2001:db8::1", 22, "2001:db8::2", 2);
  EXPECT_TRUE(m({"sport", "=", ":22"}, v6));
  EXPECT_FALSE(m({"sport", "=", "inet:22"}, v6));
  EXPECT_TRUE(m({"sport", "=", "inet:22"}, v4));
  EXPECT_FALSE(m({"sport", "=", ":22"}, v6, AF_INET));
}

TEST(FilterEval, empty_expression_matches_by_state) {
  Filter f = parse({});
  EXPECT_TRUE(f.matches(tcp("10.0.0.1", 1, "10.0.0.2", 2)));
  Filter est = Filter::parse({"state", "established"});
  EXPECT_FALSE(est.matches(tcp("10.0.0.1", 1, "10.0.0.2", 2, diag::kListen)));
}

TEST(FilterEval, default_states_are_ss_connected_until_set) {
  Filter f = Filter::parse({});
  EXPECT_TRUE(f.matches(tcp("10.0.0.1", 1, "10.0.0.2", 2)));
  EXPECT_FALSE(f.matches(tcp("10.0.0.1", 1, "0.0.0.0", 0, diag::kListen)));
  EXPECT_FALSE(f.matches(tcp("10.0.0.1", 1, "10.0.0.2", 2, diag::kTimeWait)));
}

TEST(FilterEval, matching_does_not_allocate) {
  Filter f =
      parse({"state", "established", "( dport = :443 or sport = :443 ) and not src 10.0.0.0/8",
             "or", "src", "unix:/run/*", "or", "autobound", "or", "dst", "dual"});
  const std::vector<SockInfo> socks = {tcp("192.168.1.1", 443, "1.1.1.1", 50000),
                                       tcp("2001:db8::1", 1, "::ffff:10.0.0.2", 443),
                                       unix_sock("/run/app.sock", 1, 2), packet(ETH_P_ALL, 1)};
  int kept = 0;
  g_allocs = 0;
  g_count_allocs = true;
  for (int i = 0; i < 1000; ++i)
    for (const SockInfo& s : socks) kept += f.matches(s) ? 1 : 0;
  g_count_allocs = false;
  EXPECT_EQ(g_allocs, 0);
  EXPECT_GT(kept, 0);
}

}  // namespace
}  // namespace sstrace::filter
