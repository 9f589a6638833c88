#include "output/format.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

namespace sstrace::output {
namespace {

using diag::SockInfo;
using diag::SockKind;

std::array<uint8_t, 16> addr(const char* text) {
  std::array<uint8_t, 16> a{};
  const int af = std::string(text).find(':') != std::string::npos ? AF_INET6 : AF_INET;
  EXPECT_EQ(inet_pton(af, text, a.data()), 1) << text;
  return a;
}

TEST(Format, state_names_are_ss_spelling) {
  EXPECT_EQ(state_name(diag::kEstablished), "ESTAB");
  EXPECT_EQ(state_name(diag::kSynSent), "SYN-SENT");
  EXPECT_EQ(state_name(diag::kSynRecv), "SYN-RECV");
  EXPECT_EQ(state_name(diag::kFinWait1), "FIN-WAIT-1");
  EXPECT_EQ(state_name(diag::kFinWait2), "FIN-WAIT-2");
  EXPECT_EQ(state_name(diag::kTimeWait), "TIME-WAIT");
  EXPECT_EQ(state_name(diag::kClose), "UNCONN");
  EXPECT_EQ(state_name(diag::kCloseWait), "CLOSE-WAIT");
  EXPECT_EQ(state_name(diag::kLastAck), "LAST-ACK");
  EXPECT_EQ(state_name(diag::kListen), "LISTEN");
  EXPECT_EQ(state_name(diag::kClosing), "CLOSING");
  EXPECT_EQ(state_name(0), "UNKNOWN");
  EXPECT_EQ(state_name(diag::kNewSynRecv), "UNKNOWN");
  EXPECT_EQ(state_name(200), "UNKNOWN");
}

TEST(Format, netids_families_and_protos) {
  EXPECT_EQ(netid_name(SockKind::tcp), "tcp");
  EXPECT_EQ(netid_name(SockKind::udp), "udp");
  EXPECT_EQ(netid_name(SockKind::raw), "raw");
  EXPECT_EQ(netid_name(SockKind::unix_stream), "u_str");
  EXPECT_EQ(netid_name(SockKind::unix_dgram), "u_dgr");
  EXPECT_EQ(netid_name(SockKind::unix_seqpacket), "u_seq");
  EXPECT_EQ(netid_name(SockKind::packet_raw), "p_raw");
  EXPECT_EQ(netid_name(SockKind::packet_dgram), "p_dgr");
  SockInfo s;
  s.kind = SockKind::udp;
  s.family = AF_INET6;
  EXPECT_EQ(family_name(s), "inet6");
  s.family = AF_INET;
  EXPECT_EQ(family_name(s), "inet");
  s.kind = SockKind::unix_seqpacket;
  EXPECT_EQ(family_name(s), "unix");
  EXPECT_EQ(proto_name(s.kind), "unix");
  s.kind = SockKind::packet_dgram;
  EXPECT_EQ(family_name(s), "packet");
  EXPECT_EQ(proto_name(s.kind), "packet");
}

TEST(Format, timers_as_ss_prints_them) {
  EXPECT_EQ(timer_name(1), "on");
  EXPECT_EQ(timer_name(2), "keepalive");
  EXPECT_EQ(timer_name(3), "timewait");
  EXPECT_EQ(timer_name(4), "persist");
  EXPECT_EQ(timer_name(9), "unknown");
  // ss's print_ms_timer, including its "1.595ms" for 1.595 seconds.
  EXPECT_EQ(ms_timer(89 * 60000 + 12345), "89min");
  EXPECT_EQ(ms_timer(5 * 60000 + 7500), "5min7sec");
  EXPECT_EQ(ms_timer(5 * 60000 + 17500), "5min17sec");
  EXPECT_EQ(ms_timer(55000), "55sec");
  EXPECT_EQ(ms_timer(59999), "59sec");
  EXPECT_EQ(ms_timer(1595), "1.595ms");
  EXPECT_EQ(ms_timer(1000), "1sec");
  EXPECT_EQ(ms_timer(204), "204ms");
  EXPECT_EQ(ms_timer(7), "007ms");
  EXPECT_EQ(ms_timer(0), "");
  EXPECT_EQ(timer_text(2, 119 * 60000 + 59000, 0), "timer:(keepalive,119min,0)");
  EXPECT_EQ(timer_text(1, 201, 3), "timer:(on,201ms,3)");
  EXPECT_EQ(timer_text(3, 0, 0), "timer:(timewait,,0)");
}

TEST(Format, rates_as_ss_prints_them) {
  EXPECT_EQ(rate_text(34952533333.3, false), "35G");
  EXPECT_EQ(rate_text(4.2e6, false), "4.2M");
  EXPECT_EQ(rate_text(76605488, false), "76.6M");
  EXPECT_EQ(rate_text(623792771840, false), "624G");
  EXPECT_EQ(rate_text(1.5e12, false), "1.5T");
  EXPECT_EQ(rate_text(834000, false), "834k");
  EXPECT_EQ(rate_text(999, false), "999");
  EXPECT_EQ(rate_text(0, false), "0");
  // -n: the plain number, rounded.
  EXPECT_EQ(rate_text(34952533333.3, true), "34952533333");
  EXPECT_EQ(rate_text(0, true), "0");
  EXPECT_EQ(g_text(0.075), "0.075");
  EXPECT_EQ(g_text(204), "204");
  EXPECT_EQ(g_text(739 / 256.0), "2.88672");
}

TEST(Format, addresses_as_ss_n_prints_them) {
  EXPECT_EQ(addr_text(AF_INET, addr("127.0.0.1")), "127.0.0.1");
  EXPECT_EQ(addr_text(AF_INET, addr("0.0.0.0")), "0.0.0.0");
  EXPECT_EQ(addr_text(AF_INET6, addr("::1")), "::1");
  EXPECT_EQ(addr_text(AF_INET6, addr("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  EXPECT_EQ(addr_text(AF_INET6, addr("fe80::1:2")), "fe80::1:2");
  EXPECT_EQ(addr_text(AF_INET6, addr("::ffff:127.0.0.1")), "::ffff:127.0.0.1");
  EXPECT_TRUE(addr_is_any(AF_INET, addr("0.0.0.0")));
  EXPECT_TRUE(addr_is_any(AF_INET6, addr("::")));
  EXPECT_FALSE(addr_is_any(AF_INET6, addr("::1")));

  EXPECT_EQ(ss_host_column(AF_INET, addr("0.0.0.0"), false, false), "0.0.0.0");
  EXPECT_EQ(ss_host_column(AF_INET6, addr("::"), false, false), "*");
  EXPECT_EQ(ss_host_column(AF_INET6, addr("::"), true, false), "[::]");
  EXPECT_EQ(ss_host_column(AF_INET6, addr("::ffff:127.0.0.1"), false, false), "[::ffff:127.0.0.1]");
}

TEST(Format, resolves_hosts_like_gethostbyaddr) {
  const auto lo = addr("127.0.0.1");
  const hostent* h = gethostbyaddr(lo.data(), 4, AF_INET);
  if (!h) GTEST_SKIP() << "no name for 127.0.0.1 on this machine";
  const std::string expected = h->h_name;
  EXPECT_EQ(host_name(AF_INET, lo), expected);
  EXPECT_EQ(ss_host_column(AF_INET, lo, false, true), expected);
  // v4-mapped addresses resolve as the IPv4 address inside.
  EXPECT_EQ(host_name(AF_INET6, addr("::ffff:127.0.0.1")), expected);
}

TEST(Format, services_ports_and_protocols) {
  EXPECT_EQ(service_text(0, "tcp", false), "*");
  EXPECT_EQ(service_text(22, "tcp", true), "22");
  EXPECT_EQ(ip_proto_text(255, true), "255");
  if (const servent* se = getservbyport(htons(22), "tcp"); se) {
    EXPECT_EQ(service_text(22, "tcp", false), se->s_name);
  }
  if (const servent* se = getservbyport(htons(53), "udp"); se) {
    EXPECT_EQ(service_text(53, "udp", false), se->s_name);
  }
  if (const protoent* pe = getprotobynumber(1); pe) {
    EXPECT_EQ(ip_proto_text(1, false), pe->p_name);
  }
  if (!getprotobynumber(255)) {
    EXPECT_EQ(ip_proto_text(255, false), "ipproto-255");
  }
}

TEST(Format, ports_in_the_ephemeral_range_stay_numbers) {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned lo = 0, hi = 0;
  if (!(f >> lo >> hi) || lo > hi) GTEST_SKIP() << "no ip_local_port_range";
  EXPECT_EQ(service_text(static_cast<uint16_t>(lo), "tcp", false), std::to_string(lo));
  EXPECT_EQ(service_text(static_cast<uint16_t>(hi), "udp", false), std::to_string(hi));
}

TEST(Format, ethertypes_as_ss_names_them) {
  EXPECT_EQ(ll_proto_text(0x0003, false), "*");
  EXPECT_EQ(ll_proto_text(0x0003, true), "*");
  EXPECT_EQ(ll_proto_text(0x0800, false), "ip");
  EXPECT_EQ(ll_proto_text(0x0800, true), "[2048]");
  EXPECT_EQ(ll_proto_text(0x86dd, false), "ipv6");
  EXPECT_EQ(ll_proto_text(0x0806, false), "arp");
  EXPECT_EQ(ll_proto_text(0x8100, false), "802.1Q");
  EXPECT_EQ(ll_proto_text(0x88a8, false), "802.1ad");
  EXPECT_EQ(ll_proto_text(0x88cc, false), "LLDP");
  EXPECT_EQ(ll_proto_text(0x1234, false), "[4660]");
}

TEST(Format, interfaces_and_cgroups) {
  EXPECT_EQ(if_name(0), "*");
  EXPECT_EQ(if_name(1), "lo");  // loopback is ifindex 1 in every namespace
  EXPECT_EQ(if_name(0x7ffffff0), "if2147483632");
  EXPECT_EQ(cgroup_text(0xfffffffffff1), "unreachable:fffffffffff1");
}

TEST(Format, the_kept_cgroup_text_follows_the_id_asked) {
  // Known ids (this process's cgroup, by its directory's inode, when
  // cgroup2 is mounted) and unknown ones, in runs and alternating.
  std::vector<uint64_t> ids = {0xfffffffffff1, 0xfffffffffff1, 0xfffffffffff2};
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    struct stat st {};
    if (type == "cgroup2" && ::stat(dir.c_str(), &st) == 0) {
      EXPECT_EQ(cgroup_text(st.st_ino), "/");
      ids.insert(ids.end(), {st.st_ino, st.st_ino, 0xfffffffffff1, st.st_ino});
    }
  }
  for (uint64_t id : ids) EXPECT_EQ(cgroup_text_of_last(id), cgroup_text(id)) << id;
}

TEST(Format, users_and_shutdown) {
  std::vector<sys::SocketUser> users = {{"sshd", 812, 3}, {"sshd", 813, 4}};
  EXPECT_EQ(users_text(users), R"(users:(("sshd",pid=812,fd=3),("sshd",pid=813,fd=4)))");
  EXPECT_EQ(users_text({}), "");
  // ss -p reads the name with "%*d (%[^)]": cut at the first ')'.
  std::vector<sys::SocketUser> odd = {{"own (a) b", 7, 1}, {")x", 8, 2}, {"a b", 9, 3}};
  EXPECT_EQ(users_text(odd), R"(users:(("own (a",pid=7,fd=1),("",pid=8,fd=2),("a b",pid=9,fd=3)))");
}

TEST(Format, ss_process_name_stops_at_the_first_paren) {
  EXPECT_EQ(ss_process_name("sshd"), "sshd");
  EXPECT_EQ(ss_process_name("own (a) b"), "own (a");
  EXPECT_EQ(ss_process_name("x)"), "x");
  EXPECT_EQ(ss_process_name(")"), "");
  EXPECT_EQ(ss_process_name(""), "");
  EXPECT_EQ(shutdown_text(0), "<->");
  EXPECT_EQ(shutdown_text(1), "-->");
  EXPECT_EQ(shutdown_text(2), "<--");
  EXPECT_EQ(shutdown_text(3), "---");
}

TEST(Format, skmem_prints_what_the_kernel_sent) {
  SockInfo s;
  EXPECT_EQ(skmem_text(s), "");
  s.has_skmem = true;
  s.skmem = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(skmem_text(s), " skmem:(r1,rb2,t3,tb4,f5,w6,o7,bl8,d9)");
  s.skmem_count = 7;  // a kernel from before backlog and drops
  EXPECT_EQ(skmem_text(s), " skmem:(r1,rb2,t3,tb4,f5,w6,o7)");
  s.has_skmem = false;
  s.has_meminfo = true;
  s.meminfo = {10, 20, 30, 40};
  EXPECT_EQ(skmem_text(s), " mem:(r10,w20,f30,t40)");
}

TEST(Format, tcp_info_line_in_ss_order) {
  SockInfo s;
  EXPECT_EQ(tcp_info_text(s, true, true), "");
  s.has_tcp_info = true;
  s.tcp_info_len = sizeof(tcp_info);
  tcp_info& t = s.tcp_info;
  t.tcpi_options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;
  t.tcpi_snd_wscale = 7;
  t.tcpi_rcv_wscale = 10;
  t.tcpi_rto = 204000;
  t.tcpi_rtt = 1234;
  t.tcpi_rttvar = 617;
  t.tcpi_snd_mss = 1448;
  t.tcpi_snd_cwnd = 10;
  t.tcpi_snd_ssthresh = 0x7fffffff;  // infinite: not shown
  t.tcpi_reordering = 3;             // the default: not shown
  t.tcpi_total_retrans = 2;
  t.tcpi_min_rtt = ~0U;        // no sample yet: not shown
  t.tcpi_pacing_rate = ~0ULL;  // unlimited: not shown
  t.tcpi_busy_time = 10000;
  t.tcpi_rwnd_limited = 2500;
  s.cong = "cubic";
  EXPECT_EQ(tcp_info_text(s, false, false),
            " cubic wscale:7,10 rto:204 rtt:1.234/0.617 mss:1448 cwnd:10 send 93.9Mbps"
            " busy:10ms rwnd_limited:2ms(25.0%) retrans:0/2");
  EXPECT_EQ(tcp_info_text(s, true, true),
            " ts sack cubic wscale:7,10 rto:204 rtt:1.234/0.617 mss:1448 cwnd:10"
            " send 93873582bps busy:10ms rwnd_limited:2ms(25.0%) retrans:0/2");
}

TEST(Format, tcp_info_fields_past_the_kernels_length_are_absent) {
  SockInfo s;
  s.has_tcp_info = true;
  s.tcp_info.tcpi_rto = 201000;
  s.tcp_info.tcpi_snd_wnd = 65535;
  s.tcp_info.tcpi_reordering = 3;
  s.tcp_info_len = offsetof(tcp_info, tcpi_bytes_sent);  // a 4.18 kernel
  EXPECT_EQ(tcp_info_text(s, false, true), " rto:201");
}

TEST(Format, rfc3339_has_microseconds_and_z) {
  EXPECT_EQ(rfc3339_utc_ns(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(rfc3339_utc_ns(1795314667123456789LL), "2026-11-22T02:31:07.123456Z");
  EXPECT_EQ(rfc3339_utc(std::chrono::system_clock::time_point(
                std::chrono::microseconds(1795314667123456LL))),
            "2026-11-22T02:31:07.123456Z");
}

TEST(Format, json_addresses) {
  SockInfo s;
  s.kind = SockKind::tcp;
  s.family = AF_INET6;
  s.local.addr = addr("::");
  EXPECT_EQ(json_laddr(s), "*");  // dual-stack wildcard, as ss -n shows it
  s.v6only = true;
  s.has_v6only = true;
  EXPECT_EQ(json_laddr(s), "::");
  EXPECT_EQ(json_raddr(s), "*");
  s.remote.addr = addr("::ffff:10.0.0.1");
  EXPECT_EQ(json_raddr(s), "::ffff:10.0.0.1");
  s.family = AF_INET;
  s.local.addr = addr("0.0.0.0");
  s.remote.addr = addr("0.0.0.0");
  EXPECT_EQ(json_laddr(s), "0.0.0.0");
  EXPECT_EQ(json_raddr(s), "*");
  s.kind = SockKind::unix_stream;
  EXPECT_EQ(json_laddr(s), "*");
  s.unix_path = "@abstract";
  EXPECT_EQ(json_laddr(s), "@abstract");
  s.kind = SockKind::packet_raw;
  s.packet_protocol = 0x0800;
  EXPECT_EQ(json_laddr(s), "[2048]");
}

}  // namespace
}  // namespace sstrace::output
