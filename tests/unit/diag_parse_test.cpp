// The sock_diag reply parser against messages built byte by byte. The
// layouts and numbers are spelled out here from the UAPI headers
// (linux/netlink.h, inet_diag.h, unix_diag.h, packet_diag.h, netlink_diag.h) instead of
// including them, so a wrong assumption in the parser cannot hide behind the
// same wrong assumption in the test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "diag/parse.h"
#include "output/json_writer.h"
#include "output/sock_json_fields.h"

namespace sstrace::diag {
namespace {

using Buf = std::vector<uint8_t>;

// linux/netlink.h
constexpr uint16_t kNlmsgError = 2;
constexpr uint16_t kNlmsgDone = 3;
constexpr uint16_t kNlmFMulti = 2;
// linux/sock_diag.h
constexpr uint16_t kSockDiagByFamily = 20;
// linux/inet_diag.h, enum of INET_DIAG_* attributes
constexpr uint16_t kInetMeminfo = 1, kInetInfo = 2, kInetCong = 4, kInetTos = 5, kInetTclass = 6,
                   kInetSkmeminfo = 7, kInetShutdown = 8, kInetProtocol = 10, kInetSkv6only = 11,
                   kInetMark = 15, kInetBbrinfo = 16, kInetUlpInfo = 19, kInetCgroupId = 21;
// linux/unix_diag.h
constexpr uint16_t kUnixName = 0, kUnixVfs = 1, kUnixPeer = 2, kUnixIcons = 3, kUnixRqlen = 4,
                   kUnixMeminfo = 5, kUnixShutdown = 6, kUnixUid = 7;
// linux/packet_diag.h
constexpr uint16_t kPacketInfo = 0, kPacketUid = 5, kPacketMeminfo = 6;
// linux/netlink_diag.h
constexpr uint16_t kNetlinkMeminfo = 0, kNetlinkGroups = 1;

// Little helpers to append host-order and network-order values.
struct Writer {
  Buf b;
  Writer& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Writer& u16(uint16_t v) { return raw(&v, 2); }
  Writer& u32(uint32_t v) { return raw(&v, 4); }
  Writer& u64(uint64_t v) { return raw(&v, 8); }
  Writer& be16(uint16_t v) {
    uint16_t n = htons(v);
    return raw(&n, 2);
  }
  Writer& raw(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  Writer& bytes(const Buf& v) { return raw(v.data(), v.size()); }
  Writer& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  // struct nlattr: u16 len (header included), u16 type, payload, pad to 4.
  Writer& attr(uint16_t type, const Buf& payload) {
    u16(static_cast<uint16_t>(4 + payload.size())).u16(type).bytes(payload);
    return zeros((4 - payload.size() % 4) % 4);
  }
};

Buf u8s(uint8_t v) { return {v}; }
Buf u32s(uint32_t v) { return Writer().u32(v).b; }
Buf u64s(uint64_t v) { return Writer().u64(v).b; }
Buf str0(const std::string& s) {
  Buf b(s.begin(), s.end());
  b.push_back(0);
  return b;
}

// struct nlmsghdr (16 bytes) in front of `payload`.
Buf nlmsg(uint16_t type, const Buf& payload, uint32_t seq = 1, uint16_t flags = kNlmFMulti) {
  Writer w;
  w.u32(static_cast<uint32_t>(16 + payload.size())).u16(type).u16(flags).u32(seq).u32(4242);
  return w.bytes(payload).b;
}

// struct inet_diag_msg (72 bytes), attributes to follow.
struct InetMsg {
  uint8_t family = AF_INET, state = 1, timer = 0, retrans = 0;
  uint16_t sport = 0, dport = 0;
  Buf src = Buf(16), dst = Buf(16);
  uint32_t ifindex = 0;
  uint64_t cookie = 0;
  uint32_t expires = 0, rqueue = 0, wqueue = 0, uid = 0, inode = 0;

  Writer body() const {
    Writer w;
    w.u8(family).u8(state).u8(timer).u8(retrans);
    w.be16(sport).be16(dport).bytes(src).bytes(dst).u32(ifindex);
    w.u32(static_cast<uint32_t>(cookie)).u32(static_cast<uint32_t>(cookie >> 32));
    w.u32(expires).u32(rqueue).u32(wqueue).u32(uid).u32(inode);
    return w;
  }
};

Buf v4(const char* text) {
  Buf b(16);
  EXPECT_EQ(inet_pton(AF_INET, text, b.data()), 1);
  return b;
}
Buf v6(const char* text) {
  Buf b(16);
  EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1);
  return b;
}
bool addr_is(const Endpoint& e, const Buf& want) {
  return std::memcmp(e.addr.data(), want.data(), 16) == 0;
}

Buf tcp_info_bytes(size_t len) {
  struct tcp_info ti {};
  ti.tcpi_state = 1;
  ti.tcpi_rtt = 1234;
  ti.tcpi_rttvar = 56;
  ti.tcpi_snd_cwnd = 10;
  Buf b(len, 0xab);  // bytes past our struct: something recognisable
  std::memcpy(b.data(), &ti, std::min(len, sizeof ti));
  return b;
}

Buf skmem(uint32_t base, size_t n = 9) {
  Writer w;
  for (size_t i = 0; i < n; i++) w.u32(base + static_cast<uint32_t>(i));
  return w.b;
}

Buf tcp_v4_established() {
  InetMsg m;
  m.state = 1;
  m.timer = 1;
  m.retrans = 2;
  m.sport = 443;
  m.dport = 51234;
  m.src = v4("10.0.0.1");
  m.dst = v4("10.0.0.2");
  m.ifindex = 3;
  m.cookie = 0x1122334455667788ull;
  m.expires = 200;
  m.rqueue = 5;
  m.wqueue = 7;
  m.uid = 1000;
  m.inode = 424242;
  Writer w = m.body();
  w.attr(kInetShutdown, u8s(2));
  w.attr(kInetInfo, tcp_info_bytes(sizeof(struct tcp_info)));
  w.attr(kInetCong, str0("cubic"));
  w.attr(kInetSkmeminfo, skmem(100));
  w.attr(kInetMeminfo, Writer().u32(1).u32(2).u32(3).u32(4).b);
  w.attr(kInetTos, u8s(0x10));
  w.attr(kInetMark, u32s(0x42));
  w.attr(kInetCgroupId, u64s(0xdeadbeefcafeull));
  return nlmsg(kSockDiagByFamily, w.b);
}

TEST(DiagParse, tcp_v4_with_attributes) {
  SockInfo s;
  auto r = parse_inet(tcp_v4_established(), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.kind, SockKind::tcp);
  EXPECT_EQ(s.family, AF_INET);
  EXPECT_EQ(s.state, kEstablished);
  EXPECT_EQ(s.timer, 1);
  EXPECT_EQ(s.retrans, 2);
  EXPECT_EQ(s.local.port, 443);
  EXPECT_EQ(s.remote.port, 51234);
  EXPECT_TRUE(addr_is(s.local, v4("10.0.0.1")));
  EXPECT_TRUE(addr_is(s.remote, v4("10.0.0.2")));
  EXPECT_EQ(s.ifindex, 3u);
  EXPECT_EQ(s.cookie, 0x1122334455667788ull);
  EXPECT_EQ(s.expires_ms, 200u);
  EXPECT_EQ(s.recv_q, 5u);
  EXPECT_EQ(s.send_q, 7u);
  EXPECT_EQ(s.uid, 1000u);
  EXPECT_EQ(s.inode, 424242u);
  EXPECT_FALSE(s.is_minisocket());

  ASSERT_TRUE(s.has_tcp_info);
  EXPECT_EQ(s.tcp_info_len, sizeof(struct tcp_info));
  EXPECT_EQ(s.tcp_info.tcpi_rtt, 1234u);
  EXPECT_EQ(s.tcp_info.tcpi_rttvar, 56u);
  EXPECT_EQ(s.tcp_info.tcpi_snd_cwnd, 10u);
  EXPECT_EQ(s.cong, "cubic");
  ASSERT_TRUE(s.has_skmem);
  EXPECT_EQ(s.skmem_count, kSkMemVars);
  EXPECT_EQ(s.skmem[kRmemAlloc], 100u);
  EXPECT_EQ(s.skmem[kDrops], 108u);
  ASSERT_TRUE(s.has_meminfo);
  EXPECT_EQ(s.meminfo[3], 4u);
  ASSERT_TRUE(s.has_shutdown);
  EXPECT_EQ(s.shutdown, 2);
  ASSERT_TRUE(s.has_tos);
  EXPECT_EQ(s.tos, 0x10);
  ASSERT_TRUE(s.has_mark);
  EXPECT_EQ(s.mark, 0x42u);
  ASSERT_TRUE(s.has_cgroup);
  EXPECT_EQ(s.cgroup_id, 0xdeadbeefcafeull);
  EXPECT_FALSE(s.has_tclass);
  EXPECT_FALSE(s.has_v6only);
}

TEST(DiagParse, tcp_v6_listener_with_bbr_and_ulp) {
  InetMsg m;
  m.family = AF_INET6;
  m.state = kListen;
  m.sport = 8443;
  m.src = v6("2001:db8::1");
  m.dst = v6("::");
  m.cookie = 7;
  m.rqueue = 0;
  m.wqueue = 4096;  // listeners: backlog limit
  m.inode = 99;
  Writer w = m.body();
  w.attr(kInetTclass, u8s(0x20));
  w.attr(kInetSkv6only, u8s(1));
  Buf bbr = Writer().u32(0x89abcdef).u32(0x1).u32(1500).u32(739).u32(512).b;
  w.attr(kInetBbrinfo, bbr);
  Buf ulp = Writer().attr(1 /* INET_ULP_INFO_NAME */, str0("tls")).b;
  w.attr(kInetUlpInfo | 0x8000 /* NLA_F_NESTED */, ulp);
  w.attr(kInetShutdown, u8s(0));

  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.family, AF_INET6);
  EXPECT_EQ(s.state, kListen);
  EXPECT_EQ(s.local.port, 8443);
  EXPECT_EQ(s.remote.port, 0);
  EXPECT_TRUE(addr_is(s.local, v6("2001:db8::1")));
  EXPECT_TRUE(addr_is(s.remote, v6("::")));
  EXPECT_EQ(s.send_q, 4096u);
  ASSERT_TRUE(s.has_tclass);
  EXPECT_EQ(s.tclass, 0x20);
  ASSERT_TRUE(s.has_v6only);
  EXPECT_TRUE(s.v6only);
  ASSERT_TRUE(s.has_bbr);
  EXPECT_EQ(s.bbr.bw, 0x189abcdefull);
  EXPECT_EQ(s.bbr.min_rtt_us, 1500u);
  EXPECT_EQ(s.bbr.pacing_gain, 739u);
  EXPECT_EQ(s.bbr.cwnd_gain, 512u);
  EXPECT_EQ(s.ulp, "tls");
  EXPECT_FALSE(s.has_tcp_info);
  EXPECT_FALSE(s.has_mark);
}

TEST(DiagParse, timewait_minisocket) {
  InetMsg m;
  m.family = AF_INET6;
  m.state = kTimeWait;
  m.timer = 3;
  m.sport = 80;
  m.dport = 40000;
  m.src = v6("::ffff:127.0.0.1");
  m.dst = v6("::ffff:127.0.0.1");
  m.cookie = 0xabcdef;
  m.expires = 59000;
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, m.body().b), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.state, kTimeWait);
  EXPECT_EQ(s.timer, 3);
  EXPECT_EQ(s.inode, 0u);
  EXPECT_EQ(s.expires_ms, 59000u);
  EXPECT_EQ(s.cookie, 0xabcdefu);
  EXPECT_TRUE(s.is_minisocket());
  EXPECT_FALSE(s.has_tcp_info);
  EXPECT_FALSE(s.has_shutdown);
  EXPECT_TRUE(addr_is(s.local, v6("::ffff:127.0.0.1")));
}

TEST(DiagParse, udp_and_raw_kinds) {
  InetMsg m;
  m.state = kClose;  // unconnected UDP: ss's UNCONN
  m.sport = 53;
  Writer w = m.body();
  SockInfo s;
  ASSERT_TRUE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::udp, s));
  EXPECT_EQ(s.kind, SockKind::udp);
  EXPECT_EQ(s.state, kClose);

  w.attr(kInetProtocol, u8s(IPPROTO_ICMP));
  ASSERT_TRUE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::raw, s));
  EXPECT_EQ(s.kind, SockKind::raw);
  EXPECT_EQ(s.raw_protocol, IPPROTO_ICMP);
}

TEST(DiagParse, tcp_info_shorter_than_ours_is_zero_filled) {
  SockInfo s;
  // A full parse first: the short one must not inherit its fields.
  ASSERT_TRUE(parse_inet(tcp_v4_established(), SockKind::tcp, s));
  ASSERT_EQ(s.tcp_info.tcpi_rtt, 1234u);

  Writer w = InetMsg().body();
  const size_t short_len = offsetof(struct tcp_info, tcpi_rtt);  // stops before rtt
  w.attr(kInetInfo, tcp_info_bytes(short_len));
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_TRUE(s.has_tcp_info);
  EXPECT_EQ(s.tcp_info_len, short_len);
  EXPECT_EQ(s.tcp_info.tcpi_state, 1);
  EXPECT_EQ(s.tcp_info.tcpi_rtt, 0u);
  EXPECT_EQ(s.tcp_info.tcpi_snd_cwnd, 0u);
  EXPECT_TRUE(s.cong.empty());
  EXPECT_FALSE(s.has_skmem);
  EXPECT_EQ(s.cookie, 0u);
}

TEST(DiagParse, tcp_info_longer_than_ours_is_cut) {
  Writer w = InetMsg().body();
  w.attr(kInetInfo, tcp_info_bytes(sizeof(struct tcp_info) + 44));
  w.attr(kInetShutdown, u8s(3));  // and the attribute after it still parses
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.tcp_info_len, sizeof(struct tcp_info));
  EXPECT_EQ(s.tcp_info.tcpi_rtt, 1234u);
  EXPECT_EQ(s.shutdown, 3);
}

TEST(DiagParse, strings_keep_their_capacity) {
  Writer w = InetMsg().body();
  w.attr(kInetCong, str0("a-congestion-control-name-longer-than-sso"));
  SockInfo s;
  ASSERT_TRUE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s));
  const char* data = s.cong.data();
  const size_t cap = s.cong.capacity();
  ASSERT_TRUE(parse_inet(tcp_v4_established(), SockKind::tcp, s));
  EXPECT_EQ(s.cong, "cubic");
  EXPECT_EQ(s.cong.data(), data);
  EXPECT_EQ(s.cong.capacity(), cap);
}

// struct unix_diag_msg (16 bytes).
Writer unix_body(uint8_t type, uint8_t state, uint32_t ino, uint64_t cookie) {
  Writer w;
  w.u8(AF_UNIX).u8(type).u8(state).u8(0).u32(ino);
  return w.u32(static_cast<uint32_t>(cookie)).u32(static_cast<uint32_t>(cookie >> 32));
}

TEST(DiagParse, unix_listener_with_path_name) {
  Writer w = unix_body(SOCK_STREAM, kListen, 5555, 0x77);
  w.attr(kUnixName, str0("/run/app.sock"));
  w.attr(kUnixVfs, Writer().u32(123).u32(0x00800001).b);
  w.attr(kUnixRqlen, Writer().u32(3).u32(128).b);  // pending, backlog
  w.attr(kUnixShutdown, u8s(0));
  w.attr(kUnixUid, u32s(1001));
  w.attr(kUnixMeminfo, skmem(0, 9));
  SockInfo s;
  auto r = parse_unix(nlmsg(kSockDiagByFamily, w.b), s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.kind, SockKind::unix_stream);
  EXPECT_EQ(s.family, AF_UNIX);
  EXPECT_EQ(s.state, kListen);
  EXPECT_EQ(s.inode, 5555u);
  EXPECT_EQ(s.cookie, 0x77u);
  EXPECT_EQ(s.unix_path, "/run/app.sock");
  ASSERT_TRUE(s.has_unix_vfs);
  EXPECT_EQ(s.unix_vfs_inode, 123u);
  EXPECT_EQ(s.unix_vfs_dev, 0x00800001u);
  ASSERT_TRUE(s.has_unix_rqlen);
  EXPECT_EQ(s.recv_q, 3u);
  EXPECT_EQ(s.send_q, 128u);
  EXPECT_EQ(s.uid, 1001u);
  EXPECT_TRUE(s.has_skmem);
  EXPECT_EQ(s.unix_peer_inode, 0u);
}

TEST(DiagParse, unix_listener_pending_peers) {
  Writer w = unix_body(SOCK_STREAM, kListen, 5555, 0x77);
  w.attr(kUnixIcons, Writer().u32(9001).u32(0).u32(9003).b);
  SockInfo s;
  auto r = parse_unix(nlmsg(kSockDiagByFamily, w.b), s);
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_TRUE(s.has_unix_pending);
  EXPECT_EQ(s.unix_pending_peers, (std::vector<uint32_t>{9001, 0, 9003}));

  // A listener with nothing queued: the attribute is there, empty.
  Writer none = unix_body(SOCK_STREAM, kListen, 5556, 0x78);
  none.attr(kUnixIcons, Buf{});
  ASSERT_TRUE(parse_unix(nlmsg(kSockDiagByFamily, none.b), s));
  EXPECT_TRUE(s.has_unix_pending);
  EXPECT_TRUE(s.unix_pending_peers.empty());

  // Without the attribute (not asked for), the reused SockInfo has none.
  ASSERT_TRUE(parse_unix(nlmsg(kSockDiagByFamily, unix_body(SOCK_STREAM, kListen, 7, 1).b), s));
  EXPECT_FALSE(s.has_unix_pending);

  Writer bad = unix_body(SOCK_STREAM, kListen, 5557, 0x79);
  bad.attr(kUnixIcons, Buf{1, 2, 3});
  EXPECT_FALSE(parse_unix(nlmsg(kSockDiagByFamily, bad.b), s));
}

TEST(DiagParse, unix_abstract_name_and_peer) {
  Writer w = unix_body(SOCK_SEQPACKET, kEstablished, 6000, 1);
  Buf name = {0, 'f', 'o', 'o', 0, 'b', 'a', 'r'};  // no trailing NUL: abstract
  w.attr(kUnixName, name);
  w.attr(kUnixPeer, u32s(6001));
  w.attr(kUnixRqlen, Writer().u32(10).u32(20).b);
  SockInfo s;
  auto r = parse_unix(nlmsg(kSockDiagByFamily, w.b), s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.kind, SockKind::unix_seqpacket);
  EXPECT_EQ(s.unix_path, "@foo@bar");
  EXPECT_EQ(s.unix_peer_inode, 6001u);
  EXPECT_EQ(s.recv_q, 10u);
  EXPECT_EQ(s.send_q, 20u);
  EXPECT_FALSE(s.has_unix_vfs);

  // Unnamed datagram socket: no name attribute at all.
  ASSERT_TRUE(parse_unix(nlmsg(kSockDiagByFamily, unix_body(SOCK_DGRAM, kClose, 7, 2).b), s));
  EXPECT_EQ(s.kind, SockKind::unix_dgram);
  EXPECT_EQ(s.unix_path, "");
  EXPECT_EQ(s.unix_peer_inode, 0u);
}

// struct packet_diag_msg (16 bytes).
Writer packet_body(uint8_t type, uint16_t proto, uint32_t ino, uint64_t cookie) {
  Writer w;
  w.u8(AF_PACKET).u8(type).u16(proto).u32(ino);
  return w.u32(static_cast<uint32_t>(cookie)).u32(static_cast<uint32_t>(cookie >> 32));
}

TEST(DiagParse, packet_socket) {
  Writer w = packet_body(SOCK_RAW, 0x0003 /* ETH_P_ALL */, 8080, 0x55);
  // struct packet_diag_info: index, version, reserve, copy_thresh, tstamp, flags
  w.attr(kPacketInfo, Writer().u32(2).u32(0).u32(0).u32(0).u32(0).u32(1).b);
  w.attr(kPacketUid, u32s(0));
  w.attr(kPacketMeminfo, skmem(4096, 9));
  SockInfo s;
  auto r = parse_packet(nlmsg(kSockDiagByFamily, w.b), s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.kind, SockKind::packet_raw);
  EXPECT_EQ(s.family, AF_PACKET);
  EXPECT_EQ(s.state, kClose);
  EXPECT_EQ(s.packet_protocol, 3);
  EXPECT_EQ(s.ifindex, 2u);
  EXPECT_EQ(s.inode, 8080u);
  EXPECT_EQ(s.cookie, 0x55u);
  EXPECT_EQ(s.recv_q, 4096u);  // skmem rmem_alloc, as ss shows it
  EXPECT_EQ(s.send_q, 0u);

  ASSERT_TRUE(parse_packet(nlmsg(kSockDiagByFamily, packet_body(SOCK_DGRAM, 0x88cc, 1, 1).b), s));
  EXPECT_EQ(s.kind, SockKind::packet_dgram);
  EXPECT_EQ(s.packet_protocol, 0x88cc);
  EXPECT_EQ(s.ifindex, 0u);
}

// struct netlink_diag_msg: family, type, protocol, state, portid, dst_portid,
// dst_group, ino, cookie[2].
Writer netlink_body(uint8_t protocol, uint8_t state, uint32_t portid, uint32_t dst_portid,
                    uint32_t dst_group, uint32_t ino, uint64_t cookie) {
  Writer w;
  w.u8(AF_NETLINK).u8(SOCK_RAW).u8(protocol).u8(state);
  w.u32(portid).u32(dst_portid).u32(dst_group).u32(ino);
  return w.u32(static_cast<uint32_t>(cookie)).u32(static_cast<uint32_t>(cookie >> 32));
}

TEST(DiagParse, netlink_socket) {
  // NETLINK_SOCK_DIAG (4), a process's socket, unconnected.
  Writer w = netlink_body(4, 0, 4254, 0, 0, 777, 0x1234);
  w.attr(kNetlinkMeminfo, skmem(4352, 9));  // rmem 4352, wmem 4354 (base + 2)
  w.attr(kNetlinkGroups, u64s(0x11));
  SockInfo s;
  auto r = parse_netlink(nlmsg(kSockDiagByFamily, w.b), s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.kind, SockKind::netlink);
  EXPECT_EQ(s.family, AF_NETLINK);
  EXPECT_EQ(s.state, kClose);  // ss shows every netlink socket UNCONN
  EXPECT_EQ(s.netlink_protocol, 4);
  EXPECT_EQ(s.netlink_state, 0);
  EXPECT_EQ(s.netlink_portid, 4254u);
  EXPECT_EQ(s.inode, 777u);
  EXPECT_EQ(s.cookie, 0x1234u);
  EXPECT_EQ(s.recv_q, 4352u);  // skmem rmem_alloc
  EXPECT_EQ(s.send_q, 4354u);  // skmem wmem_alloc
  EXPECT_TRUE(s.has_skmem);
  EXPECT_TRUE(s.has_netlink_groups);
  EXPECT_EQ(s.netlink_groups, 0x11u);

  // Connected (NETLINK_CONNECTED = 1), no groups joined: an empty GROUPS
  // attribute, and no MEMINFO: queues 0.
  Writer c = netlink_body(0, 1, 0xfffff000u, 0, 5, 1, 1);
  c.attr(kNetlinkGroups, {});
  ASSERT_TRUE(parse_netlink(nlmsg(kSockDiagByFamily, c.b), s));
  EXPECT_EQ(s.netlink_protocol, 0);
  EXPECT_EQ(s.netlink_state, 1);
  EXPECT_EQ(s.netlink_portid, 0xfffff000u);
  EXPECT_EQ(s.netlink_dst_group, 5u);
  EXPECT_FALSE(s.has_netlink_groups);
  EXPECT_FALSE(s.has_skmem);
  EXPECT_EQ(s.recv_q, 0u);

  // A body one byte short, and a MEMINFO too short for ss's seven entries.
  Buf body = netlink_body(0, 0, 0, 0, 0, 0, 0).b;
  body.pop_back();
  EXPECT_FALSE(parse_netlink(nlmsg(kSockDiagByFamily, body), s));
  Writer m = netlink_body(0, 0, 0, 0, 0, 0, 0);
  m.attr(kNetlinkMeminfo, Buf(8, 0));
  EXPECT_FALSE(parse_netlink(nlmsg(kSockDiagByFamily, m.b), s));
}

// ---- malformed input -------------------------------------------------------

TEST(DiagParse, empty_and_short_messages_are_errors) {
  SockInfo s;
  EXPECT_FALSE(parse_inet(Bytes{}, SockKind::tcp, s));
  EXPECT_FALSE(parse_unix(Bytes{}, s));
  EXPECT_FALSE(parse_packet(Bytes{}, s));
  EXPECT_FALSE(parse_netlink(Bytes{}, s));
  // A bare header: no room for the body.
  EXPECT_FALSE(parse_inet(nlmsg(kSockDiagByFamily, {}), SockKind::tcp, s));
  EXPECT_FALSE(parse_unix(nlmsg(kSockDiagByFamily, {}), s));
  EXPECT_FALSE(parse_packet(nlmsg(kSockDiagByFamily, {}), s));
  EXPECT_FALSE(parse_netlink(nlmsg(kSockDiagByFamily, {}), s));
  // Body one byte short.
  Buf body = InetMsg().body().b;
  body.pop_back();
  EXPECT_FALSE(parse_inet(nlmsg(kSockDiagByFamily, body), SockKind::tcp, s));
}

TEST(DiagParse, nlmsg_len_past_the_buffer_is_an_error) {
  Buf m = tcp_v4_established();
  const uint32_t too_long = static_cast<uint32_t>(m.size() + 4);
  std::memcpy(m.data(), &too_long, 4);
  SockInfo s;
  auto r = parse_inet(m, SockKind::tcp, s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nlmsg_len"), std::string::npos) << r.error().message;
}

TEST(DiagParse, attribute_past_the_end_is_an_error) {
  Writer w = InetMsg().body();
  w.u16(200).u16(kInetInfo).zeros(8);  // claims 200 bytes, 8 follow
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("claims 200 bytes"), std::string::npos) << r.error().message;
}

TEST(DiagParse, attribute_shorter_than_its_header_is_an_error) {
  Writer w = InetMsg().body();
  w.u16(2).u16(kInetMark).zeros(4);
  SockInfo s;
  EXPECT_FALSE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s));
}

TEST(DiagParse, stray_bytes_after_attributes_are_an_error) {
  Writer w = InetMsg().body();
  w.attr(kInetShutdown, u8s(1)).zeros(2);
  SockInfo s;
  EXPECT_FALSE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s));
}

TEST(DiagParse, fixed_size_attributes_too_short_are_errors) {
  SockInfo s;
  const struct {
    uint16_t type;
    size_t len;
  } cases[] = {{kInetMark, 2},     {kInetSkmeminfo, 8}, {kInetMeminfo, 12}, {kInetShutdown, 0},
               {kInetBbrinfo, 16}, {kInetCgroupId, 4},  {kInetTos, 0},      {kInetProtocol, 0}};
  for (const auto& c : cases) {
    Writer w = InetMsg().body();
    w.attr(c.type, Buf(c.len, 0));
    EXPECT_FALSE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s))
        << "attribute " << c.type << " with " << c.len << " bytes";
  }
  Writer u = unix_body(SOCK_STREAM, 1, 1, 1);
  u.attr(kUnixRqlen, Buf(4, 0));
  EXPECT_FALSE(parse_unix(nlmsg(kSockDiagByFamily, u.b), s));
  Writer p = packet_body(SOCK_RAW, 3, 1, 1);
  p.attr(kPacketInfo, Buf(8, 0));
  EXPECT_FALSE(parse_packet(nlmsg(kSockDiagByFamily, p.b), s));
}

TEST(DiagParse, unknown_family_is_an_error) {
  InetMsg m;
  m.family = AF_UNIX;
  SockInfo s;
  EXPECT_FALSE(parse_inet(nlmsg(kSockDiagByFamily, m.body().b), SockKind::tcp, s));
}

// Every prefix of valid messages, with nlmsg_len both left alone (claims
// more than there is) and patched to the prefix: an Error or a clean parse,
// never a read past the end (run under ASan/valgrind to see it).
TEST(DiagParse, every_truncation_is_handled) {
  Writer u = unix_body(SOCK_STREAM, kListen, 5, 6);
  u.attr(kUnixName, str0("/x")).attr(kUnixRqlen, Writer().u32(1).u32(2).b);
  Writer p = packet_body(SOCK_RAW, 3, 1, 1);
  p.attr(kPacketInfo, Buf(24, 1)).attr(kPacketMeminfo, skmem(1));
  Writer n = netlink_body(4, 0, 1, 0, 0, 1, 1);
  n.attr(kNetlinkMeminfo, skmem(1)).attr(kNetlinkGroups, u64s(1));
  const Buf msgs[] = {tcp_v4_established(), nlmsg(kSockDiagByFamily, u.b),
                      nlmsg(kSockDiagByFamily, p.b), nlmsg(kSockDiagByFamily, n.b)};
  SockInfo s;
  for (const Buf& full : msgs) {
    for (size_t len = 0; len < full.size(); len++) {
      Buf cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      (void)parse_inet(cut, SockKind::tcp, s);
      (void)parse_unix(cut, s);
      (void)parse_packet(cut, s);
      (void)parse_netlink(cut, s);
      if (len >= 4) {
        const uint32_t l = static_cast<uint32_t>(len);
        std::memcpy(cut.data(), &l, 4);
        (void)parse_inet(cut, SockKind::tcp, s);
        (void)parse_unix(cut, s);
        (void)parse_packet(cut, s);
        (void)parse_netlink(cut, s);
      }
    }
  }
}

// Random corruption of valid messages, fixed seed: no crash, no hang.
TEST(DiagParse, random_corruption_is_survived) {
  std::mt19937 rng(12345);
  const Buf base = tcp_v4_established();
  SockInfo s;
  for (int i = 0; i < 20000; i++) {
    Buf m = base;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; f++) m[rng() % m.size()] = static_cast<uint8_t>(rng());
    m.resize(rng() % (m.size() + 1));
    (void)parse_inet(m, SockKind::tcp, s);
    (void)parse_unix(m, s);
    (void)parse_packet(m, s);
    (void)parse_netlink(m, s);
    MessageReader rd(m);
    for (int k = 0; k < 64; k++) {
      auto next = rd.next();
      if (!next || next->empty()) break;
    }
  }
}

// ---- TLS/MPTCP ULP details, TCP-MD5 keys, packet rings and fanout ----------

// linux/inet_diag.h: INET_DIAG_MD5SIG = 18; INET_ULP_INFO_NAME 1, _TLS 2,
// _MPTCP 3. linux/tls.h: TLS_INFO_VERSION 1, CIPHER 2, TXCONF 3, RXCONF 4,
// ZC_RO_TX 5, RX_NO_PAD 6. linux/mptcp.h: MPTCP_SUBFLOW_ATTR_TOKEN_REM 1,
// TOKEN_LOC 2, MAP_SEQ 4, MAP_SFSEQ 5, SSN_OFFSET 6, MAP_DATALEN 7, FLAGS 8,
// ID_REM 9, ID_LOC 10.
constexpr uint16_t kInetMd5sig = 18, kUlpName = 1, kUlpTls = 2, kUlpMptcp = 3;
constexpr uint16_t kNested = 0x8000;

Buf u16s(uint16_t v) { return Writer().u16(v).b; }

Writer established_v4() {
  InetMsg m;
  m.src = v4("10.0.0.1");
  m.dst = v4("10.0.0.2");
  m.sport = 179;
  m.dport = 40000;
  return m.body();
}

TEST(DiagParse, tls_ulp_details) {
  Buf tls = Writer()
                .attr(1, u16s(0x0304))
                .attr(2, u16s(52))
                .attr(3, u16s(2))
                .attr(4, u16s(1))
                .attr(5, {})
                .attr(6, {})
                .b;
  Buf ulp = Writer().attr(kUlpName, str0("tls")).attr(kUlpTls | kNested, tls).b;
  Writer w = established_v4();
  w.attr(kInetUlpInfo | kNested, ulp);
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.ulp, "tls");
  ASSERT_TRUE(s.tls);
  EXPECT_EQ(s.tls->version, 0x0304);
  EXPECT_EQ(s.tls->cipher, 52);
  EXPECT_EQ(s.tls->txconf, 2);
  EXPECT_EQ(s.tls->rxconf, 1);
  EXPECT_TRUE(s.tls->zc_ro_tx);
  EXPECT_TRUE(s.tls->rx_no_pad);
  EXPECT_FALSE(s.mptcp_sf);

  // The next socket of the dump starts clean.
  ASSERT_TRUE(parse_inet(nlmsg(kSockDiagByFamily, established_v4().b), SockKind::tcp, s));
  EXPECT_EQ(s.ulp, "");
  EXPECT_FALSE(s.tls);
}

TEST(DiagParse, tls_attribute_too_short_is_an_error) {
  Buf tls = Writer().attr(1, u8s(3)).b;  // a u16 cut to one byte
  Buf ulp = Writer().attr(kUlpName, str0("tls")).attr(kUlpTls | kNested, tls).b;
  Writer w = established_v4();
  w.attr(kInetUlpInfo | kNested, ulp);
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("TLS_INFO_VERSION"), std::string::npos) << r.error().str();
}

TEST(DiagParse, mptcp_subflow_ulp_details) {
  Buf sf = Writer()
               .attr(1, u32s(0xaabbccdd))
               .attr(2, u32s(0x11223344))
               .attr(3, u32s(99))  // RELWRITE_SEQ: ss shows none
               .attr(4, u64s(0x1122334455667788ull))
               .attr(5, u32s(0x10))
               .attr(6, u32s(0x20))
               .attr(7, u16s(0x30))  // MAP_DATALEN is a u16
               .attr(8, u32s(0xc3))
               .attr(9, u8s(1))
               .attr(10, u8s(2))
               .b;
  Buf ulp = Writer().attr(kUlpName, str0("mptcp")).attr(kUlpMptcp | kNested, sf).b;
  Writer w = established_v4();
  w.attr(kInetUlpInfo | kNested, ulp);
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.ulp, "mptcp");
  ASSERT_TRUE(s.mptcp_sf);
  EXPECT_EQ(s.mptcp_sf->token_rem, 0xaabbccddu);
  EXPECT_EQ(s.mptcp_sf->token_loc, 0x11223344u);
  EXPECT_EQ(s.mptcp_sf->map_seq, 0x1122334455667788ull);
  EXPECT_EQ(s.mptcp_sf->map_sfseq, 0x10u);
  EXPECT_EQ(s.mptcp_sf->ssn_offset, 0x20u);
  EXPECT_EQ(s.mptcp_sf->map_datalen, 0x30u);
  EXPECT_EQ(s.mptcp_sf->flags, 0xc3u);
  EXPECT_EQ(s.mptcp_sf->id_rem, 1);
  EXPECT_EQ(s.mptcp_sf->id_loc, 2);
  EXPECT_TRUE(s.mptcp_sf->has_tokens());
}

// struct tcp_diag_md5sig: family, prefixlen, keylen, addr[4], key[80].
Buf md5sig(uint8_t family, uint8_t prefixlen, const Buf& address, const std::string& key) {
  Writer w;
  w.u8(family).u8(prefixlen).u16(static_cast<uint16_t>(key.size())).bytes(address);
  w.raw(key.data(), key.size()).zeros(80 - key.size());
  return w.b;
}

TEST(DiagParse, md5_keys) {
  Buf keys = md5sig(AF_INET, 32, v4("10.0.0.2"), "secret");
  Buf second = md5sig(AF_INET6, 48, v6("2001:db8::"), "other");
  keys.insert(keys.end(), second.begin(), second.end());
  Writer w = established_v4();
  w.attr(kInetMd5sig, keys);
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(s.md5keys.size(), 2u);
  EXPECT_EQ(s.md5keys[0].family, AF_INET);
  EXPECT_EQ(s.md5keys[0].prefixlen, 32);
  EXPECT_EQ(s.md5keys[0].keylen, 6);
  EXPECT_EQ(std::string(s.md5keys[0].key.begin(), s.md5keys[0].key.begin() + 6), "secret");
  EXPECT_EQ(Buf(s.md5keys[0].addr.begin(), s.md5keys[0].addr.end()), v4("10.0.0.2"));
  EXPECT_EQ(s.md5keys[1].family, AF_INET6);
  EXPECT_EQ(s.md5keys[1].prefixlen, 48);
  EXPECT_EQ(Buf(s.md5keys[1].addr.begin(), s.md5keys[1].addr.end()), v6("2001:db8::"));

  // clear() keeps the list's room but not its keys.
  ASSERT_TRUE(parse_inet(nlmsg(kSockDiagByFamily, established_v4().b), SockKind::tcp, s));
  EXPECT_TRUE(s.md5keys.empty());
}

TEST(DiagParse, md5_keys_cut_short_is_an_error) {
  Buf keys = md5sig(AF_INET, 32, v4("10.0.0.2"), "secret");
  keys.resize(keys.size() - 1);
  Writer w = established_v4();
  w.attr(kInetMd5sig, keys);
  SockInfo s;
  auto r = parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("INET_DIAG_MD5SIG"), std::string::npos) << r.error().str();
}

TEST(DiagParse, md5_key_length_is_capped_at_the_key_array) {
  Buf keys = md5sig(AF_INET, 32, v4("10.0.0.2"), "k");
  keys[2] = 0xff;  // keylen 0x00ff > TCP_MD5SIG_MAXKEYLEN
  Writer w = established_v4();
  w.attr(kInetMd5sig, keys);
  SockInfo s;
  ASSERT_TRUE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s));
  ASSERT_EQ(s.md5keys.size(), 1u);
  EXPECT_EQ(s.md5keys[0].keylen, 80);
}

// linux/packet_diag.h: PACKET_DIAG_RX_RING 2, TX_RING 3, FANOUT 4.
constexpr uint16_t kPacketRxRing = 2, kPacketTxRing = 3, kPacketFanout = 4;

// struct packet_diag_ring: block_size, block_nr, frame_size, frame_nr,
// retire_tmo, sizeof_priv, features.
Buf ring(uint32_t base) {
  Writer w;
  for (uint32_t i = 0; i < 7; i++) w.u32(base + i);
  return w.b;
}

TEST(DiagParse, packet_info_rings_and_fanout) {
  Writer w = packet_body(SOCK_RAW, 0x0003, 77, 0x56);
  w.attr(kPacketInfo, Writer().u32(3).u32(2).u32(16).u32(128).u32(4).u32(0x13).b);
  w.attr(kPacketRxRing, ring(100));
  w.attr(kPacketTxRing, ring(200));
  w.attr(kPacketFanout, u32s(3u << 16 | 42));
  w.attr(kPacketMeminfo, skmem(0));
  SockInfo s;
  auto r = parse_packet(nlmsg(kSockDiagByFamily, w.b), s);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(s.ifindex, 3u);
  ASSERT_TRUE(s.packet_info);
  EXPECT_EQ(s.packet_info->version, 2u);
  EXPECT_EQ(s.packet_info->reserve, 16u);
  EXPECT_EQ(s.packet_info->copy_thresh, 128u);
  EXPECT_EQ(s.packet_info->tstamp, 4u);
  EXPECT_EQ(s.packet_info->flags, 0x13u);
  ASSERT_TRUE(s.rx_ring);
  EXPECT_EQ(s.rx_ring->block_size, 100u);
  EXPECT_EQ(s.rx_ring->block_nr, 101u);
  EXPECT_EQ(s.rx_ring->frame_size, 102u);
  EXPECT_EQ(s.rx_ring->frame_nr, 103u);
  EXPECT_EQ(s.rx_ring->retire_tmo, 104u);
  EXPECT_EQ(s.rx_ring->sizeof_priv, 105u);
  EXPECT_EQ(s.rx_ring->features, 106u);
  ASSERT_TRUE(s.tx_ring);
  EXPECT_EQ(s.tx_ring->block_size, 200u);
  EXPECT_EQ(s.fanout, 3u << 16 | 42);

  // A socket without rings or fanout has neither.
  ASSERT_TRUE(parse_packet(nlmsg(kSockDiagByFamily, packet_body(SOCK_RAW, 3, 1, 1).b), s));
  EXPECT_FALSE(s.packet_info);
  EXPECT_FALSE(s.rx_ring);
  EXPECT_FALSE(s.tx_ring);
  EXPECT_FALSE(s.fanout);
}

TEST(DiagParse, packet_ring_cut_short_is_an_error) {
  Writer w = packet_body(SOCK_RAW, 0x0003, 77, 0x56);
  Buf cut = ring(1);
  cut.resize(24);
  w.attr(kPacketTxRing, cut);
  SockInfo s;
  auto r = parse_packet(nlmsg(kSockDiagByFamily, w.b), s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("PACKET_DIAG_TX_RING"), std::string::npos) << r.error().str();
}

// ---- found by tests/fuzz/diag_fuzz.cpp -------------------------------------
// Each input the fuzzer crashed on, as a message that a kernel (or a -D file)
// could send, parsed and then written as the snapshot's JSON fields: a parsed
// socket must always format as one valid JSON object.

std::string sock_json(const SockInfo& s) {
  std::string line;
  output::JsonWriter w(line);
  w.begin_object();
  output::write_sock_fields(w, s, {});
  w.end_object();
  return line;
}

// ss's send rate, cwnd * mss * 8 / rtt, overflowed uint64 for a huge window
// over a 1 us RTT (2^32 * 65535 * 8e6 bit/s): the double-to-integer
// conversion was undefined (UBSan: "outside the range of representable
// values"). The rate saturates instead.
TEST(DiagParseFuzzFound, send_rate_beyond_uint64_saturates) {
  struct tcp_info ti {};
  ti.tcpi_state = 1;
  ti.tcpi_rtt = 1;
  ti.tcpi_snd_cwnd = 0xffffffff;
  ti.tcpi_snd_mss = 0xffff;
  Buf info(sizeof ti);
  std::memcpy(info.data(), &ti, sizeof ti);
  InetMsg m;
  m.state = 1;
  m.src = v4("10.0.0.1");
  m.dst = v4("10.0.0.2");
  Writer w = m.body();
  w.attr(kInetInfo, info);
  SockInfo s;
  ASSERT_TRUE(parse_inet(nlmsg(kSockDiagByFamily, w.b), SockKind::tcp, s));
  const std::string line = sock_json(s);
  ASSERT_TRUE(nlohmann::json::accept(line)) << line;
  EXPECT_EQ(nlohmann::json::parse(line).at("tcp_info").at("send_bps").get<uint64_t>(),
            std::numeric_limits<uint64_t>::max());
}

// The kernel's errors are small negative numbers (-MAX_ERRNO, -4095, to -1);
// NLMSG_DONE carrying INT_MIN was negated into undefined behaviour (UBSan:
// "negation of -2147483648 cannot be represented"), and NLMSG_ERROR passed
// on whatever it held, a positive value included, as an errno.
TEST(DiagParseFuzzFound, done_with_an_impossible_error_is_a_protocol_error) {
  EXPECT_EQ(parse_done_msg(nlmsg(kNlmsgDone, u32s(0x80000000u))), EPROTO);
  EXPECT_EQ(parse_done_msg(nlmsg(kNlmsgDone, u32s(static_cast<uint32_t>(-4096)))), EPROTO);
  EXPECT_EQ(parse_done_msg(nlmsg(kNlmsgDone, u32s(static_cast<uint32_t>(-4095)))), 4095);
  EXPECT_EQ(parse_done_msg(nlmsg(kNlmsgDone, u32s(7))), 0);
}

TEST(DiagParseFuzzFound, error_with_an_impossible_errno_is_malformed) {
  for (uint32_t v : {0x80000000u, static_cast<uint32_t>(-4096), 5u}) {
    auto r = parse_error_msg(nlmsg(kNlmsgError, Writer().u32(v).zeros(16).b));
    EXPECT_FALSE(r) << v << " gave " << (r ? *r : 0);
  }
  auto ok =
      parse_error_msg(nlmsg(kNlmsgError, Writer().u32(static_cast<uint32_t>(-1)).zeros(16).b));
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 1);
}

// ---- /proc/net fallback ----------------------------------------------------
// Lines as net/ipv4/raw.c and net/ipv6/datagram.c print them on a
// little-endian host.

TEST(ProcNetLine, raw_v4_line) {
  SockInfo s;
  s.cookie = 99;  // from an earlier socket: must not survive
  auto r = parse_proc_net_line(
      "   1: 0100007F:0001 0200007F:0000 01 00000010:00000200 00:00000000 00000000  1000        0 "
      "348461 2 0000000000000000 0",
      AF_INET, SockKind::raw, s);
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_TRUE(*r);
  EXPECT_EQ(s.kind, SockKind::raw);
  EXPECT_EQ(s.family, AF_INET);
  EXPECT_TRUE(addr_is(s.local, v4("127.0.0.1")));
  EXPECT_TRUE(addr_is(s.remote, v4("127.0.0.2")));
  EXPECT_EQ(s.local.port, 1);
  EXPECT_EQ(s.raw_protocol, IPPROTO_ICMP);
  EXPECT_EQ(s.state, kEstablished);
  EXPECT_EQ(s.send_q, 0x10u);
  EXPECT_EQ(s.recv_q, 0x200u);
  EXPECT_EQ(s.uid, 1000u);
  EXPECT_EQ(s.inode, 348461u);
  EXPECT_EQ(s.cookie, 0u);
  EXPECT_TRUE(s.from_proc);  // the filter must not assume the kernel's bytecode ran on it
}

TEST(ProcNetLine, raw_v6_line_and_header) {
  SockInfo s;
  auto header = parse_proc_net_line(
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
      AF_INET6, SockKind::raw, s);
  ASSERT_TRUE(header);
  EXPECT_FALSE(*header);

  auto r = parse_proc_net_line(
      "   58: 00000000000000000000000001000000:003A 00000000000000000000000000000000:0000 07 "
      "00000000:00000000 00:00000000 00000000     0        0 348462 2 0000000000000000 0",
      AF_INET6, SockKind::raw, s);
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_TRUE(*r);
  EXPECT_TRUE(addr_is(s.local, v6("::1")));
  EXPECT_TRUE(addr_is(s.remote, v6("::")));
  EXPECT_EQ(s.local.port, 58);
  EXPECT_EQ(s.raw_protocol, IPPROTO_ICMPV6);
  EXPECT_EQ(s.state, kClose);
  EXPECT_EQ(s.inode, 348462u);
}

TEST(ProcNetLine, malformed_lines_are_errors) {
  SockInfo s;
  const char* bad[] = {
      "",
      "   1: 0100007F:0001",
      "   1: 0100007X:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 0",
      "   1: 0100007F:0001 00000000:0000 07 0000000000000000 00:00000000 00000000 0 0 1 2 0 0",
      "   1: 00007F:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 0",
      "   1: 0100007F:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 x 2 0 0",
  };
  for (const char* line : bad) {
    EXPECT_FALSE(parse_proc_net_line(line, AF_INET, SockKind::raw, s)) << line;
  }
  // A v4 line read as v6 does not fit either.
  EXPECT_FALSE(parse_proc_net_line(
      "   1: 0100007F:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 0",
      AF_INET6, SockKind::raw, s));
}

// ---- netlink framing -------------------------------------------------------

TEST(NetlinkFraming, reader_walks_messages_of_a_datagram) {
  Buf dgram = tcp_v4_established();
  Buf second = nlmsg(kSockDiagByFamily, unix_body(SOCK_DGRAM, kClose, 1, 1).b);
  Buf done = nlmsg(kNlmsgDone, u32s(0));
  dgram.insert(dgram.end(), second.begin(), second.end());
  dgram.insert(dgram.end(), done.begin(), done.end());

  MessageReader rd(dgram);
  auto a = rd.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size(), tcp_v4_established().size());
  EXPECT_EQ(header_of(*a).type, kSockDiagByFamily);
  EXPECT_EQ(header_of(*a).seq, 1u);
  auto b = rd.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->size(), second.size());
  auto c = rd.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(header_of(*c).type, kNlmsgDone);
  EXPECT_EQ(parse_done_msg(*c), 0);
  auto end = rd.next();
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->empty());
}

TEST(NetlinkFraming, reader_rejects_bad_lengths) {
  Buf dgram = tcp_v4_established();
  dgram.insert(dgram.end(), {1, 2, 3, 4, 5});  // a header cut short
  MessageReader rd(dgram);
  ASSERT_TRUE(rd.next());
  EXPECT_FALSE(rd.next());

  Buf tiny = nlmsg(kNlmsgDone, {});
  const uint32_t eight = 8;  // below the header's own size
  std::memcpy(tiny.data(), &eight, 4);
  MessageReader rd2(tiny);
  EXPECT_FALSE(rd2.next());

  MessageReader empty{Bytes{}};
  auto e = empty.next();
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->empty());
}

TEST(NetlinkFraming, error_and_done_payloads) {
  auto enoent =
      parse_error_msg(nlmsg(kNlmsgError, Writer().u32(static_cast<uint32_t>(-ENOENT)).zeros(16).b));
  ASSERT_TRUE(enoent);
  EXPECT_EQ(*enoent, ENOENT);
  auto ack = parse_error_msg(nlmsg(kNlmsgError, Writer().u32(0).zeros(16).b));
  ASSERT_TRUE(ack);
  EXPECT_EQ(*ack, 0);
  EXPECT_FALSE(parse_error_msg(nlmsg(kNlmsgError, Buf(2, 0))));

  EXPECT_EQ(parse_done_msg(nlmsg(kNlmsgDone, u32s(static_cast<uint32_t>(-EMSGSIZE)))), EMSGSIZE);
  EXPECT_EQ(parse_done_msg(nlmsg(kNlmsgDone, {})), 0);
}

}  // namespace
}  // namespace sstrace::diag
