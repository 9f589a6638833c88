// The snapshot writers against goldens (tests/unit/golden/).
//
// The sockets below are the ones a Python script opened in a network
// namespace on the reference machine (kernel 6.18, ss from iproute2 6.1,
// BBR the default congestion control), transcribed from ss's own output;
// the tcp_info fields are given in ss -i's notation and converted back to
// kernel units. The text goldens named after ss options are that ss output
// itself, byte for byte, with one change: cgroup ids here are ones no host
// has (ss printed "cgroup:unreachable:1": that machine has no cgroup2
// mount), so the goldens do not depend on the machine running the tests.
//
// SSTRACE_UPDATE_GOLDENS=1 rewrites the goldens from the current output;
// review the diff before committing it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "output/snapshot_writer.h"
#include "sys/procfs.h"

namespace sstrace::output {
namespace {

namespace fs = std::filesystem;
using diag::SockInfo;
using diag::SockKind;
using Json = nlohmann::json;

constexpr uint64_t kCgroup = 0xfffffffffff1;  // no such cgroup anywhere
constexpr uint32_t kNetns = 4026532281;

// --- Building sockets ------------------------------------------------------

std::array<uint8_t, 16> parse_addr(const std::string& text, uint8_t* family) {
  std::array<uint8_t, 16> a{};
  *family = text.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  EXPECT_EQ(inet_pton(*family, text.c_str(), a.data()), 1) << text;
  return a;
}

uint64_t to_u64(const std::string& s) { return std::stoull(s); }
uint32_t ms_to_us(const std::string& s) {
  return static_cast<uint32_t>(std::llround(std::stod(s) * 1000));
}

class Sock {
 public:
  static Sock inet(SockKind kind, uint8_t state, const std::string& laddr, uint16_t lport,
                   const std::string& raddr, uint16_t rport) {
    Sock s;
    s.s_.kind = kind;
    s.s_.state = state;
    s.s_.local.addr = parse_addr(laddr, &s.s_.family);
    s.s_.local.port = lport;
    uint8_t rfamily = 0;
    s.s_.remote.addr = parse_addr(raddr, &rfamily);
    s.s_.remote.port = rport;
    s.s_.netns = kNetns;
    return s;
  }
  static Sock tcp(uint8_t state, const std::string& laddr, uint16_t lport, const std::string& raddr,
                  uint16_t rport) {
    return inet(SockKind::tcp, state, laddr, lport, raddr, rport);
  }
  static Sock unix_sock(SockKind kind, uint8_t state, const std::string& path, uint64_t ino,
                        uint64_t peer) {
    Sock s;
    s.s_.kind = kind;
    s.s_.family = AF_UNIX;
    s.s_.state = state;
    s.s_.unix_path = path;
    s.s_.inode = ino;
    s.s_.unix_peer_inode = peer;
    s.s_.has_unix_rqlen = true;
    s.s_.has_shutdown = true;
    s.s_.netns = kNetns;
    return s;
  }
  static Sock packet(SockKind kind, uint16_t proto, uint32_t ifindex, uint64_t ino,
                     uint64_t cookie) {
    Sock s;
    s.s_.kind = kind;
    s.s_.family = AF_PACKET;
    s.s_.state = diag::kClose;
    s.s_.packet_protocol = proto;
    s.s_.ifindex = ifindex;
    s.s_.inode = ino;
    s.s_.cookie = cookie;
    s.s_.netns = kNetns;
    return s;
  }

  // portid 0 is the kernel's socket; the others here are negative
  // (autobound) or above any pid_max, so no live process names them.
  static Sock netlink(uint8_t proto, uint32_t portid, uint64_t ino, uint64_t cookie) {
    Sock s;
    s.s_.kind = SockKind::netlink;
    s.s_.family = AF_NETLINK;
    s.s_.state = diag::kClose;
    s.s_.netlink_protocol = proto;
    s.s_.netlink_portid = portid;
    s.s_.inode = ino;
    s.s_.cookie = cookie;
    s.s_.has_netlink_groups = true;
    s.s_.netns = kNetns;
    return s;
  }
  Sock& connected(uint32_t dst_group, uint32_t dst_portid) {
    s_.netlink_state = 1;
    s_.netlink_dst_group = dst_group;
    s_.netlink_dst_portid = dst_portid;
    return *this;
  }
  // PACKET_DIAG_INFO: ss -e's "ver:0 cpy_thresh:0 flags( running )".
  Sock& running_tpacket_v1() {
    s_.packet_info = diag::PacketInfo{0, 0, 0, 0, 0x1 /* PDI_RUNNING */};
    return *this;
  }
  Sock& groups(uint64_t g) {
    s_.netlink_groups = g;
    return *this;
  }

  Sock& queues(uint32_t rq, uint32_t wq) {
    s_.recv_q = rq;
    s_.send_q = wq;
    return *this;
  }
  Sock& ident(uint64_t ino, uint64_t cookie) {
    s_.inode = ino;
    s_.cookie = cookie;
    return *this;
  }
  Sock& cookie(uint64_t cookie) {
    s_.cookie = cookie;
    return *this;
  }
  // What the kernel adds for every full inet socket: cgroup, shutdown and,
  // for IPv6, v6only.
  Sock& full(uint8_t shutdown = 0) {
    s_.has_cgroup = true;
    s_.cgroup_id = kCgroup;
    s_.has_shutdown = true;
    s_.shutdown = shutdown;
    return *this;
  }
  Sock& v6only(bool on) {
    s_.has_v6only = true;
    s_.v6only = on;
    return *this;
  }
  Sock& shutdown(uint8_t mask) {
    s_.has_shutdown = true;
    s_.shutdown = mask;
    return *this;
  }
  Sock& timer(uint8_t timer, uint32_t ms, uint8_t retrans = 0) {
    s_.timer = timer;
    s_.expires_ms = ms;
    s_.retrans = retrans;
    return *this;
  }
  Sock& pending(std::vector<uint32_t> peers) {
    s_.has_unix_pending = true;
    s_.unix_pending_peers = std::move(peers);
    return *this;
  }
  Sock& vfs(uint64_t ino, uint32_t dev) {
    s_.has_unix_vfs = true;
    s_.unix_vfs_inode = ino;
    s_.unix_vfs_dev = dev;
    return *this;
  }
  Sock& uid(uint32_t uid) {
    s_.uid = uid;
    return *this;
  }
  Sock& raw_protocol(uint8_t p) {
    s_.raw_protocol = p;
    return *this;
  }
  // Read from /proc/net (no raw_diag, or ss's PROC_* variables).
  Sock& from_proc() {
    s_.from_proc = true;
    return *this;
  }
  // "r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0", as inside ss's skmem:(...).
  Sock& skmem(const std::string& text) {
    s_.has_skmem = true;
    std::istringstream in(text);
    std::string item;
    size_t i = 0;
    while (std::getline(in, item, ',')) {
      size_t digits = item.find_first_of("0123456789");
      s_.skmem.at(i++) = static_cast<uint32_t>(to_u64(item.substr(digits)));
    }
    s_.skmem_count = static_cast<uint8_t>(i);
    return *this;
  }
  // The fields of ss -i's line, in ss's notation ("send" is ss's own
  // arithmetic and is skipped).
  Sock& info(const std::string& text) {
    s_.has_tcp_info = true;
    s_.tcp_info_len = sizeof(tcp_info);
    tcp_info& t = s_.tcp_info;
    t.tcpi_reordering = 3;
    t.tcpi_snd_ssthresh = 0x7fffffff;  // TCP_INFINITE_SSTHRESH until a loss
    t.tcpi_min_rtt = ~0U;
    t.tcpi_max_pacing_rate = ~0ULL;
    std::istringstream in(text);
    std::string tok;
    while (in >> tok) info_token(in, tok);
    return *this;
  }

  const SockInfo& get() const { return s_; }

 private:
  void info_token(std::istringstream& in, const std::string& tok) {
    // Counters ss prints as "name:N", with the tcp_info field behind each.
    static const std::map<std::string, __u32 tcp_info::*> u32s = {
        {"mss", &tcp_info::tcpi_snd_mss},
        {"pmtu", &tcp_info::tcpi_pmtu},
        {"rcvmss", &tcp_info::tcpi_rcv_mss},
        {"advmss", &tcp_info::tcpi_advmss},
        {"cwnd", &tcp_info::tcpi_snd_cwnd},
        {"ssthresh", &tcp_info::tcpi_snd_ssthresh},
        {"segs_out", &tcp_info::tcpi_segs_out},
        {"segs_in", &tcp_info::tcpi_segs_in},
        {"data_segs_out", &tcp_info::tcpi_data_segs_out},
        {"data_segs_in", &tcp_info::tcpi_data_segs_in},
        {"lastsnd", &tcp_info::tcpi_last_data_sent},
        {"lastrcv", &tcp_info::tcpi_last_data_recv},
        {"lastack", &tcp_info::tcpi_last_ack_recv},
        {"delivered", &tcp_info::tcpi_delivered},
        {"unacked", &tcp_info::tcpi_unacked},
        {"lost", &tcp_info::tcpi_lost},
        {"rcv_space", &tcp_info::tcpi_rcv_space},
        {"rcv_ssthresh", &tcp_info::tcpi_rcv_ssthresh},
        {"notsent", &tcp_info::tcpi_notsent_bytes},
        {"snd_wnd", &tcp_info::tcpi_snd_wnd}};
    static const std::map<std::string, __u64 tcp_info::*> u64s = {
        {"bytes_sent", &tcp_info::tcpi_bytes_sent},
        {"bytes_retrans", &tcp_info::tcpi_bytes_retrans},
        {"bytes_acked", &tcp_info::tcpi_bytes_acked},
        {"bytes_received", &tcp_info::tcpi_bytes_received}};
    // Times ss prints in milliseconds ("0.075") that the kernel keeps in us.
    static const std::map<std::string, __u32 tcp_info::*> ms = {
        {"rto", &tcp_info::tcpi_rto},
        {"ato", &tcp_info::tcpi_ato},
        {"rcv_rtt", &tcp_info::tcpi_rcv_rtt},
        {"minrtt", &tcp_info::tcpi_min_rtt}};
    // Rates ss prints as "name 123bps"; the kernel keeps bytes per second.
    static const std::map<std::string, __u64 tcp_info::*> rates = {
        {"pacing_rate", &tcp_info::tcpi_pacing_rate},
        {"delivery_rate", &tcp_info::tcpi_delivery_rate}};
    static const std::map<std::string, int> flags = {
        {"ts", TCPI_OPT_TIMESTAMPS}, {"sack", TCPI_OPT_SACK}, {"ecn", TCPI_OPT_ECN}};

    tcp_info& t = s_.tcp_info;
    const size_t colon = tok.find(':');
    const std::string key = tok.substr(0, colon);
    const std::string val = colon == std::string::npos ? "" : tok.substr(colon + 1);
    auto pair = [&](char sep) {
      const size_t p = val.find(sep);
      return std::pair{val.substr(0, p), val.substr(p + 1)};
    };
    if (colon == std::string::npos) {
      std::string rate;
      if (auto f = flags.find(tok); f != flags.end()) {
        t.tcpi_options |= f->second;
      } else if (tok == "app_limited") {
        t.tcpi_delivery_rate_app_limited = 1;
      } else if (tok == "send") {
        in >> rate;  // ss's own arithmetic
      } else if (auto r = rates.find(tok); r != rates.end()) {
        in >> rate;
        t.*(r->second) = to_u64(rate.substr(0, rate.size() - 3)) / 8;  // "123bps"
      } else {
        s_.cong = tok;
      }
    } else if (auto u = u32s.find(key); u != u32s.end()) {
      t.*(u->second) = static_cast<__u32>(to_u64(val));
    } else if (auto u = u64s.find(key); u != u64s.end()) {
      t.*(u->second) = to_u64(val);
    } else if (auto m = ms.find(key); m != ms.end()) {
      t.*(m->second) = ms_to_us(val);
    } else if (key == "wscale") {
      auto [a, b] = pair(',');
      t.tcpi_options |= TCPI_OPT_WSCALE;
      t.tcpi_snd_wscale = std::stoi(a) & 0xf;
      t.tcpi_rcv_wscale = std::stoi(b) & 0xf;
    } else if (key == "rtt") {
      auto [a, b] = pair('/');
      t.tcpi_rtt = ms_to_us(a);
      t.tcpi_rttvar = ms_to_us(b);
    } else if (key == "retrans") {
      auto [a, b] = pair('/');
      t.tcpi_retrans = std::stoi(a);
      t.tcpi_total_retrans = std::stoi(b);
    } else if (key == "busy") {
      t.tcpi_busy_time = to_u64(val) * 1000;  // "4ms"
    } else if (key == "bbr") {
      bbr(val);
    } else {
      ADD_FAILURE() << "unknown ss -i token " << tok;
    }
  }

  // "(bw:76593744bps,mrtt:0.012,pacing_gain:2.88672,cwnd_gain:2.88672)"
  void bbr(std::string val) {
    s_.has_bbr = true;
    val = val.substr(1, val.size() - 2);
    std::istringstream in(val);
    std::string item;
    while (std::getline(in, item, ',')) {
      const size_t c = item.find(':');
      const std::string k = item.substr(0, c), v = item.substr(c + 1);
      if (k == "bw") s_.bbr.bw = to_u64(v.substr(0, v.size() - 3)) / 8;
      if (k == "mrtt") s_.bbr.min_rtt_us = ms_to_us(v);
      if (k == "pacing_gain") s_.bbr.pacing_gain = std::lround(std::stod(v) * 256);
      if (k == "cwnd_gain") s_.bbr.cwnd_gain = std::lround(std::stod(v) * 256);
    }
  }

  SockInfo s_;
};

// The TCP sockets of the reference namespace, in ss's order.
std::vector<Sock> tcp_world() {
  using namespace diag;
  const std::string listener = "r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0";
  const std::string idle = "r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0";
  std::vector<Sock> v;
  v.push_back(Sock::tcp(kListen, "127.0.0.1", 8080, "0.0.0.0", 0)
                  .queues(0, 128)
                  .ident(13285, 0x1014)
                  .full()
                  .skmem(listener)
                  .info("bbr cwnd:10"));
  v.push_back(Sock::tcp(kListen, "0.0.0.0", 22, "0.0.0.0", 0)
                  .queues(0, 128)
                  .ident(13282, 0x1015)
                  .full()
                  .skmem(listener)
                  .info("bbr cwnd:10"));
  v.push_back(
      Sock::tcp(kEstablished, "127.0.0.1", 22, "127.0.0.1", 39644)
          .queues(99000, 0)
          .ident(13287, 0x1016)
          .full()
          .skmem("r102496,rb131072,t0,tb3939840,f4000,w0,o0,bl0,d0")
          .info("ts sack bbr wscale:10,10 rto:204 rtt:0.075/0.037 ato:40 mss:32768 pmtu:65535 "
                "rcvmss:34518 advmss:65483 cwnd:10 bytes_received:100000 segs_out:2 segs_in:5 "
                "data_segs_in:3 bbr:(bw:0bps,mrtt:0.075) send 34952533333bps lastsnd:4960 "
                "lastrcv:4960 lastack:4960 pacing_rate 99889146040bps delivered:1 app_limited "
                "rcv_rtt:0.02 rcv_space:65483 rcv_ssthresh:94833 minrtt:0.075 snd_wnd:65536"));
  // A timewait minisocket: no inode, no attributes at all.
  v.push_back(
      Sock::tcp(kTimeWait, "127.0.0.1", 48488, "127.0.0.1", 8080).cookie(0x1017).timer(3, 55000));
  v.push_back(
      Sock::tcp(kFinWait2, "127.0.0.1", 48498, "127.0.0.1", 8080)
          .ident(13294, 0x1018)
          .full(2)
          .skmem(idle)
          .info("ts sack bbr wscale:10,10 rto:204 rtt:0.438/0.857 mss:32768 pmtu:65535 "
                "rcvmss:536 advmss:65483 cwnd:11 bytes_acked:2 segs_out:3 segs_in:2 "
                "bbr:(bw:76593744bps,mrtt:0.012,pacing_gain:2.88672,cwnd_gain:2.88672) "
                "send 6583525114bps lastsnd:4856 lastrcv:4856 lastack:4852 "
                "pacing_rate 623792771840bps delivery_rate 76605488bps delivered:2 app_limited "
                "busy:4ms rcv_space:65495 rcv_ssthresh:65495 minrtt:0.012 snd_wnd:65536"));
  v.push_back(Sock::tcp(kEstablished, "127.0.0.1", 39644, "127.0.0.1", 22)
                  .ident(13286, 0x1019)
                  .full()
                  .timer(2, 119 * 60000 + 59123)
                  .skmem(idle)
                  .info("ts sack bbr wscale:10,10 rto:204 rtt:0.034/0.017 mss:47616 pmtu:65535 "
                        "rcvmss:536 advmss:65483 cwnd:13 bytes_sent:100000 bytes_acked:100001 "
                        "segs_out:5 segs_in:3 data_segs_out:3 "
                        "bbr:(bw:34629807856bps,mrtt:0.011,pacing_gain:2.88672,cwnd_gain:2.88672) "
                        "send 145648941176bps lastsnd:4960 lastrcv:4960 lastack:4960 "
                        "pacing_rate 196987158232bps delivery_rate 34629818176bps delivered:4 "
                        "rcv_space:65495 rcv_ssthresh:65495 minrtt:0.011 snd_wnd:28672"));
  v.push_back(Sock::tcp(kEstablished, "127.0.0.1", 37502, "127.0.0.1", 80)
                  .ident(13290, 0x101a)
                  .full()
                  .skmem(idle)
                  .info("ts sack bbr wscale:10,10 rto:204 rtt:0.009/0.004 mss:32741 pmtu:65535 "
                        "rcvmss:536 advmss:65483 cwnd:10 bytes_acked:1 segs_out:2 segs_in:1 "
                        "bbr:(bw:0bps,mrtt:0.009,pacing_gain:1,cwnd_gain:1) send 291031111111bps "
                        "lastsnd:4960 lastrcv:4960 lastack:4960 pacing_rate 831723710664bps "
                        "delivered:1 app_limited rcv_space:65495 rcv_ssthresh:65495 minrtt:0.009 "
                        "snd_wnd:65483"));
  v.push_back(
      Sock::tcp(kCloseWait, "127.0.0.1", 8080, "127.0.0.1", 48498)
          .queues(1, 0)
          .ident(13295, 0x101b)
          .full(1)
          .skmem("r832,rb131072,t0,tb3939840,f3264,w0,o0,bl0,d0")
          .info("ts sack bbr wscale:10,10 rto:200 rtt:0.015/0.007 ato:40 mss:32768 pmtu:65535 "
                "rcvmss:536 advmss:65483 cwnd:10 bytes_received:1 segs_out:1 segs_in:3 "
                "send 174762666667bps lastsnd:4856 lastrcv:4856 lastack:4856 "
                "pacing_rate 499445730224bps delivered:1 app_limited rcv_space:65483 "
                "rcv_ssthresh:65483 minrtt:0.015 snd_wnd:65536"));
  v.push_back(Sock::tcp(kListen, "::", 80, "::", 0)
                  .queues(0, 128)
                  .ident(13283, 0x101c)
                  .full()
                  .v6only(false)
                  .skmem(listener)
                  .info("bbr cwnd:10"));
  v.push_back(Sock::tcp(kListen, "::", 443, "::", 0)
                  .queues(0, 128)
                  .ident(13284, 0x101d)
                  .full()
                  .v6only(true)
                  .skmem(listener)
                  .info("bbr cwnd:10"));
  // The kernel sends INET_DIAG_SKV6ONLY only for LISTEN and CLOSE sockets
  // (inet_diag_msg_attrs_fill), so connected ones have no v6only.
  v.push_back(
      Sock::tcp(kEstablished, "::1", 443, "::1", 35850)
          .ident(13289, 0x101e)
          .full()
          .skmem(idle)
          .info("ts sack bbr wscale:10,10 rto:204 rtt:0.049/0.028 ato:40 mss:32768 pmtu:65536 "
                "rcvmss:536 advmss:65464 cwnd:11 bytes_sent:5 bytes_acked:5 bytes_received:5 "
                "segs_out:2 segs_in:4 data_segs_out:1 data_segs_in:1 "
                "bbr:(bw:52428796872bps,mrtt:0.005,pacing_gain:2.88672,cwnd_gain:2.88672) "
                "send 58848653061bps lastsnd:4960 lastrcv:4960 lastack:4960 "
                "pacing_rate 149833719064bps delivery_rate 52428800000bps delivered:2 "
                "app_limited rcv_space:65464 rcv_ssthresh:65464 minrtt:0.005 snd_wnd:65536"));
  v.push_back(Sock::tcp(kEstablished, "::ffff:127.0.0.1", 80, "::ffff:127.0.0.1", 37502)
                  .ident(13291, 0x101f)
                  .full()
                  .skmem(idle)
                  .info("ts sack bbr wscale:10,10 rto:204 rtt:0.01/0.005 mss:32768 pmtu:65535 "
                        "rcvmss:536 advmss:65483 cwnd:10 segs_in:2 bbr:(bw:0bps,mrtt:0.01) "
                        "send 262144000000bps lastsnd:4960 lastrcv:4960 lastack:4960 "
                        "pacing_rate 749168640000bps delivered:1 app_limited rcv_space:65483 "
                        "rcv_ssthresh:65483 minrtt:0.01 snd_wnd:65536"));
  v.push_back(
      Sock::tcp(kEstablished, "::1", 35850, "::1", 443)
          .ident(13288, 0x1020)
          .full()
          .skmem(idle)
          .info("ts sack bbr wscale:10,10 rto:204 rtt:0.038/0.022 ato:40 mss:32768 pmtu:65536 "
                "rcvmss:536 advmss:65464 cwnd:11 bytes_sent:5 bytes_acked:6 bytes_received:5 "
                "segs_out:4 segs_in:3 data_segs_out:1 data_segs_in:1 "
                "bbr:(bw:43690656248bps,mrtt:0.006,pacing_gain:2.88672,cwnd_gain:2.88672) "
                "send 75883789474bps lastsnd:4960 lastrcv:4960 lastack:4960 "
                "pacing_rate 174033849296bps delivery_rate 43690666664bps delivered:2 "
                "app_limited rcv_space:65476 rcv_ssthresh:65476 minrtt:0.006 snd_wnd:65536"));
  return v;
}

std::vector<Sock> udp_world() {
  using namespace diag;
  std::vector<Sock> v;
  v.push_back(Sock::inet(SockKind::udp, kEstablished, "127.0.0.1", 45299, "127.0.0.1", 53)
                  .ident(13298, 0x1021)
                  .full());
  v.push_back(Sock::inet(SockKind::udp, kClose, "0.0.0.0", 53, "0.0.0.0", 0)
                  .queues(832, 0)
                  .ident(13296, 0x1022)
                  .full());
  v.push_back(Sock::inet(SockKind::udp, kClose, "::", 5353, "::", 0)
                  .ident(13297, 0x1023)
                  .full()
                  .v6only(false));
  return v;
}

// Unix sockets; "dev:0/65024" is how ss prints device 254:0 (it applies
// glibc's major()/minor() to the kernel's internal MAJOR << 20 | MINOR).
std::vector<Sock> unix_world() {
  using namespace diag;
  constexpr uint32_t kDev = 254u << 20;
  const std::string mem = "r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0";
  std::vector<Sock> v;
  v.push_back(Sock::unix_sock(SockKind::unix_stream, kEstablished, "", 13303, 13304)
                  .cookie(0x2001)
                  .skmem(mem));
  v.push_back(
      Sock::unix_sock(SockKind::unix_stream, kEstablished, "/tmp/sx/test.sock", 13301, 13300)
          .cookie(0x2002)
          .vfs(10953091, kDev)
          .skmem(mem));
  v.push_back(Sock::unix_sock(SockKind::unix_stream, kListen, "/tmp/sx/test.sock", 13299, 0)
                  .queues(0, 5)
                  .cookie(0x2003)
                  .vfs(10953091, kDev)
                  .pending({})
                  .skmem(mem));
  v.push_back(
      Sock::unix_sock(SockKind::unix_dgram, kClose, "/tmp/sx/dg\x01\x7f\xc3\xbf\"q.sock", 13305, 0)
          .cookie(0x2004)
          .vfs(10953092, kDev)
          .skmem(mem));
  v.push_back(Sock::unix_sock(SockKind::unix_stream, kEstablished, "@abstract-name", 13304, 13303)
                  .cookie(0x2005)
                  .skmem(mem));
  v.push_back(Sock::unix_sock(SockKind::unix_stream, kEstablished, "", 13300, 13301)
                  .cookie(0x2006)
                  .skmem(mem));
  v.push_back(Sock::unix_sock(SockKind::unix_stream, kListen, "@abstract-name", 13302, 0)
                  .queues(0, 5)
                  .cookie(0x2007)
                  .pending({13310, 13311})
                  .skmem(mem));
  return v;
}

std::vector<Sock> packet_world() {
  std::vector<Sock> v;
  auto mem = [](int r) {
    return "r" + std::to_string(r) + ",rb212992,t0,tb212992,f0,w0,o0,bl0,d0";
  };
  v.push_back(
      Sock::packet(SockKind::packet_raw, 0x0003, 0, 13306, 0x1024).queues(4, 0).skmem(mem(4)));
  v.push_back(
      Sock::packet(SockKind::packet_raw, 0x0800, 0, 13307, 0x1025).queues(2, 0).skmem(mem(2)));
  v.push_back(Sock::packet(SockKind::packet_raw, 0x86dd, 0, 13308, 0x1026).skmem(mem(0)));
  v.push_back(Sock::packet(SockKind::packet_raw, 0x88a8, 0, 13309, 0x1027).skmem(mem(0)));
  v.push_back(Sock::packet(SockKind::packet_raw, 0x88cc, 0, 13310, 0x1028).skmem(mem(0)));
  v.push_back(Sock::packet(SockKind::packet_raw, 0x1234, 0, 13311, 0x1029).skmem(mem(0)));
  v.push_back(Sock::packet(SockKind::packet_dgram, 0x0806, 1, 13312, 0x102a).skmem(mem(0)));
  // The script's sockets were plain TPACKET_V1 ones, all hooked in.
  for (Sock& s : v) s.running_tpacket_v1();
  return v;
}

// NETLINK sockets as in a fresh namespace (the kernel's, one per protocol)
// plus a few of processes'. Unlike the goldens above these are not a
// transcript of ss (the e2e tests compare live sockets with ss); the layout
// follows ss.c netlink_show_one: "proto:owner", "*" or "group:portid".
std::vector<Sock> netlink_world() {
  std::vector<Sock> v;
  auto mem = [](int r, int w = 0) {
    return "r" + std::to_string(r) + ",rb212992,t" + std::to_string(w) +
           ",tb212992,f0,w0,o0,bl0,d0";
  };
  v.push_back(Sock::netlink(0, 0, 20001, 0x3001).skmem(mem(0)));
  v.push_back(Sock::netlink(4, 0, 20002, 0x3002).queues(832, 0).skmem(mem(832)));
  v.push_back(Sock::netlink(16, 0, 20003, 0x3003).skmem(mem(0)));
  v.push_back(Sock::netlink(0, 0xfffff0a3, 20004, 0x3004).groups(0x51).skmem(mem(0)));
  v.push_back(
      Sock::netlink(15, 4194305, 20005, 0x3005).groups(0x1).queues(0, 768).skmem(mem(0, 768)));
  v.push_back(Sock::netlink(2, 4194306, 20006, 0x3006).connected(3, 4194307).skmem(mem(0)));
  v.push_back(Sock::netlink(17, 4194308, 20007, 0x3007).skmem(mem(0)));  // no iproute2 name
  return v;
}

// RAW sockets as ss reads them from /proc/net/raw (the reference kernel
// has no raw_diag): no cookie, the protocol in the port column.
std::vector<Sock> raw_world() {
  using namespace diag;
  std::vector<Sock> v;
  v.push_back(
      Sock::inet(SockKind::raw, kClose, "0.0.0.0", 1, "0.0.0.0", 0).raw_protocol(1).from_proc());
  v.push_back(
      Sock::inet(SockKind::raw, kClose, "0.0.0.0", 17, "0.0.0.0", 0).raw_protocol(17).from_proc());
  v.push_back(Sock::inet(SockKind::raw, kClose, "0.0.0.0", 255, "0.0.0.0", 0)
                  .raw_protocol(255)
                  .from_proc());
  v.push_back(Sock::inet(SockKind::raw, kClose, "::", 58, "::", 0).raw_protocol(58).from_proc());
  return v;
}

// --- Owners (-p) -------------------------------------------------------------

// A fake /proc for SocketOwners::scan: <pid>/comm, <pid>/stat, <pid>/fd/N.
class FakeProc {
 public:
  FakeProc() {
    std::string tmpl = (fs::temp_directory_path() / "sstrace-output-proc-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  ~FakeProc() { fs::remove_all(root_); }
  void socket(int pid, const std::string& comm, int fd, uint64_t inode) {
    const fs::path dir = root_ / std::to_string(pid);
    fs::create_directories(dir / "fd");
    std::ofstream(dir / "comm") << comm << "\n";
    std::ofstream(dir / "stat") << pid << " (" << comm << ") S 1 1 1 0 -1";
    fs::create_symlink("socket:[" + std::to_string(inode) + "]", dir / "fd" / std::to_string(fd));
  }
  sys::SocketOwners scan() const { return sys::SocketOwners::scan(root_.string()); }

 private:
  fs::path root_;
};

// The Python process that held the reference sockets.
void add_python_sockets(FakeProc& proc) {
  const std::pair<int, uint64_t> fds[] = {{6, 13285},  {3, 13282},  {4, 13283},  {5, 13284},
                                          {23, 13303}, {21, 13301}, {19, 13299}, {25, 13305},
                                          {24, 13304}, {20, 13300}, {22, 13302}};
  for (auto [fd, ino] : fds) proc.socket(5660, "python3", fd, ino);
}

// --- Running the writers -------------------------------------------------------

std::string run_writer(bool json, const SnapshotFormat& fmt, const std::vector<Sock>& socks,
                       const sys::SocketOwners* owners = nullptr) {
  char* data = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&data, &size);
  {
    auto w = json ? make_json_writer(out, fmt) : make_text_writer(out, fmt);
    for (const Sock& s : socks) w->sock(s.get(), owners);
    w->finish();
  }
  std::fclose(out);
  std::string text(data, size);
  std::free(data);
  return text;
}

// ss's option letters -> SnapshotFormat, as the snapshot command maps them.
SnapshotFormat format(const std::string& letters, bool netid = false, bool state = true) {
  SnapshotFormat f;
  for (char c : letters) {
    switch (c) {
      case 'n':
        f.numeric = true;
        break;
      case 'r':
        f.resolve = true;
        break;
      case 'o':
        f.timer = true;
        break;
      case 'e':
        f.extended = true;
        break;
      case 'm':
        f.memory = true;
        break;
      case 'i':
        f.info = true;
        break;
      case 'p':
        f.processes = true;
        break;
      case 'O':
        f.oneline = true;
        break;
      case 'H':
        f.header = false;
        break;
      default:
        ADD_FAILURE() << "option " << c;
    }
  }
  f.show_netid = netid;
  f.show_state = state;
  return f;
}

std::string golden_path(const std::string& name) {
  return std::string(SSTRACE_GOLDEN_DIR) + "/" + name;
}

::testing::AssertionResult matches_golden(const std::string& name, const std::string& actual) {
  const std::string path = golden_path(name);
  if (const char* u = std::getenv("SSTRACE_UPDATE_GOLDENS"); u && *u == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    return ::testing::AssertionSuccess();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ::testing::AssertionFailure() << "no golden " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string expected = ss.str();
  if (expected == actual) return ::testing::AssertionSuccess();
  // Show the first differing line, blanks made visible.
  std::istringstream e(expected), a(actual);
  std::string el, al;
  int line = 1;
  while (true) {
    const bool he = static_cast<bool>(std::getline(e, el)),
               ha = static_cast<bool>(std::getline(a, al));
    if (!he && !ha) break;
    if (!he || !ha || el != al) {
      auto vis = [](std::string s) {
        for (char& c : s)
          if (c == ' ')
            c = '.';
          else if (c == '\t')
            c = '>';
        return s;
      };
      return ::testing::AssertionFailure()
             << name << " differs at line " << line << "\n  golden: " << (he ? vis(el) : "<end>")
             << "\n  actual: " << (ha ? vis(al) : "<end>");
    }
    ++line;
  }
  return ::testing::AssertionFailure() << name << " differs (line endings?)";
}

// --- Text: byte-for-byte ss 6.1 -------------------------------------------------

TEST(SnapshotText, tcp_all_numeric_is_ss_tan) {
  EXPECT_TRUE(matches_golden("tcp_tan.txt", run_writer(false, format("n"), tcp_world())));
}

TEST(SnapshotText, tcp_details_are_ss_tanoiem) {
  EXPECT_TRUE(matches_golden("tcp_tanoiem.txt", run_writer(false, format("noiem"), tcp_world())));
}

TEST(SnapshotText, tcp_details_oneline_are_ss_tanoiemO) {
  EXPECT_TRUE(matches_golden("tcp_tanoiemO.txt", run_writer(false, format("noiemO"), tcp_world())));
}

TEST(SnapshotText, tcp_listeners_with_processes_are_ss_tlnp) {
  std::vector<Sock> listeners;
  for (const Sock& s : tcp_world())
    if (s.get().state == diag::kListen) listeners.push_back(s);
  FakeProc proc;
  add_python_sockets(proc);
  const sys::SocketOwners owners = proc.scan();
  EXPECT_TRUE(matches_golden("tcp_tlnp.txt",
                             run_writer(false, format("np", false, true), listeners, &owners)));
}

TEST(SnapshotText, udp_is_ss_uan_and_uaeon) {
  EXPECT_TRUE(matches_golden("udp_uan.txt", run_writer(false, format("n"), udp_world())));
  EXPECT_TRUE(matches_golden("udp_uaeon.txt", run_writer(false, format("neo"), udp_world())));
}

TEST(SnapshotText, unix_is_ss_xa_xae_xam_xap) {
  FakeProc proc;
  add_python_sockets(proc);
  const sys::SocketOwners owners = proc.scan();
  EXPECT_TRUE(matches_golden("unix_xa.txt", run_writer(false, format("", true), unix_world())));
  EXPECT_TRUE(matches_golden("unix_xae.txt", run_writer(false, format("e", true), unix_world())));
  EXPECT_TRUE(matches_golden("unix_xam.txt", run_writer(false, format("m", true), unix_world())));
  EXPECT_TRUE(
      matches_golden("unix_xap.txt", run_writer(false, format("p", true), unix_world(), &owners)));
}

TEST(SnapshotText, packet_is_ss_0a_0am_and_0ae) {
  EXPECT_TRUE(matches_golden("packet_0a.txt", run_writer(false, format("", true), packet_world())));
  EXPECT_TRUE(
      matches_golden("packet_0am.txt", run_writer(false, format("m", true), packet_world())));
  // -e: the identity, then "\n\tver:0 cpy_thresh:0 flags( running )".
  EXPECT_TRUE(
      matches_golden("packet_0ae.txt", run_writer(false, format("e", true), packet_world())));
}

TEST(SnapshotText, netlink_like_ss_f_netlink) {
  // -f netlink -a: one table (no Netid), one state (UNCONN), still shown
  // here for the layout; -p names no process for netlink sockets.
  FakeProc proc;
  add_python_sockets(proc);
  const sys::SocketOwners owners = proc.scan();
  EXPECT_TRUE(matches_golden("netlink_a.txt", run_writer(false, format(""), netlink_world())));
  EXPECT_TRUE(matches_golden("netlink_an.txt", run_writer(false, format("n"), netlink_world())));
  EXPECT_TRUE(matches_golden("netlink_ae.txt", run_writer(false, format("e"), netlink_world())));
  EXPECT_TRUE(matches_golden("netlink_am.txt", run_writer(false, format("m"), netlink_world())));
  EXPECT_EQ(run_writer(false, format("p"), netlink_world(), &owners),
            run_writer(false, format(""), netlink_world()));
}

TEST(SnapshotText, raw_from_proc_is_ss_wan_even_with_details) {
  EXPECT_TRUE(matches_golden("raw_wan.txt", run_writer(false, format("n"), raw_world())));
  // ss has nothing but the columns for sockets read from /proc/net/raw.
  EXPECT_TRUE(matches_golden("raw_wan.txt", run_writer(false, format("neoim"), raw_world())));
}

// --- Text: what ss cannot show the same way ---------------------------------------

TEST(SnapshotText, rates_without_n_and_no_header) {
  EXPECT_TRUE(matches_golden("tcp_tiH.txt", run_writer(false, format("iH"), tcp_world())));
}

TEST(SnapshotText, every_kind_with_netid_column) {
  std::vector<Sock> all;
  for (auto* world : {&packet_world, &unix_world, &raw_world, &udp_world, &tcp_world})
    for (Sock& s : world()) all.push_back(s);
  EXPECT_TRUE(matches_golden("all_an.txt", run_writer(false, format("n", true), all)));
}

TEST(SnapshotText, ss_does_not_measure_the_last_rows_process_field) {
  // ss sizes the Process column from every row but the last: with one
  // socket the column is as wide as its header.
  FakeProc proc;
  add_python_sockets(proc);
  const sys::SocketOwners owners = proc.scan();
  std::vector<Sock> one = {tcp_world()[1]};
  EXPECT_EQ(run_writer(false, format("np"), one, &owners),
            "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
            "LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    "
            "users:((\"python3\",pid=5660,fd=3))\n");
}

TEST(SnapshotText, nothing_to_show_prints_the_header_alone) {
  EXPECT_EQ(run_writer(false, format("n"), {}),
            "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n");
  EXPECT_EQ(run_writer(false, format("nH"), {}), "");
}

TEST(SnapshotText, state_column_can_be_dropped) {
  std::vector<Sock> one = {tcp_world()[2]};
  EXPECT_EQ(run_writer(false, format("n", false, false), one),
            "Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
            "99000  0          127.0.0.1:22      127.0.0.1:39644       \n");
}

TEST(SnapshotText, ss_prints_in_batches_of_five_buffer_chunks) {
  // ss holds at most five 1 MiB chunks of fields, then prints them with
  // the widths measured so far and goes on. These unix rows take 60 bytes
  // of ss's buffer each; ss 6.1 printed 80000 such socketpair rows (plus a
  // few wide named ones, all after the break) as the header and 69903 rows
  // in the narrow layout, then the rest wider.
  std::vector<Sock> many;
  for (int i = 0; i < 130000; ++i)
    many.push_back(
        Sock::unix_sock(SockKind::unix_stream, diag::kEstablished, "", 100000 + i, 200000 + i));
  many.push_back(Sock::unix_sock(SockKind::unix_stream, diag::kEstablished,
                                 "/a/much/longer/path/than/any/before", 1, 2));
  const std::string out = run_writer(false, format("n", true), many);
  std::istringstream in(out);
  std::string line;
  std::getline(in, line);
  const size_t header_width = line.size();
  size_t first_wide = 0, row = 0;
  while (std::getline(in, line)) {
    ++row;
    if (!first_wide && line.size() > header_width) first_wide = row;
  }
  EXPECT_EQ(row, many.size());
  // The first batch keeps the narrow layout; the rest is wider.
  EXPECT_EQ(first_wide, 69904u);
}

// --- JSON -----------------------------------------------------------------------

// The writer stamps the time of the dump; the goldens use a fixed one.
std::string fixed_ts(const std::string& jsonl) {
  static const std::regex ts(R"("ts":"[^"]*")");
  return std::regex_replace(jsonl, ts, R"("ts":"2026-11-22T02:31:07.123456Z")");
}

std::vector<Json> parse_lines(const std::string& jsonl) {
  std::vector<Json> out;
  std::istringstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_FALSE(line.empty());
    out.push_back(Json::parse(line));  // throws (fails the test) on bad JSON
  }
  return out;
}

// CONTRACT.md: every event, every event about one socket, and snapshot's own.
void expect_contract_fields(const Json& o) {
  SCOPED_TRACE(o.dump());
  EXPECT_EQ(o.at("type"), "snapshot");
  EXPECT_TRUE(std::regex_match(o.at("ts").get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  EXPECT_EQ(o.at("v"), 1);
  EXPECT_TRUE(o.at("netns").is_number_unsigned());
  EXPECT_TRUE(o.at("cookie").is_number_unsigned());
  EXPECT_TRUE(o.at("family").is_string());
  EXPECT_TRUE(o.at("proto").is_string());
  EXPECT_TRUE(o.at("laddr").is_string());
  EXPECT_TRUE(o.at("lport").is_number_unsigned());
  EXPECT_TRUE(o.at("raddr").is_string());
  EXPECT_TRUE(o.at("rport").is_number_unsigned());
  static const std::set<std::string> states = {"ESTAB",      "SYN-SENT",  "SYN-RECV", "FIN-WAIT-1",
                                               "FIN-WAIT-2", "TIME-WAIT", "CLOSE",    "CLOSE-WAIT",
                                               "LAST-ACK",   "LISTEN",    "CLOSING",  "UNCONN"};
  EXPECT_TRUE(states.count(o.at("state").get<std::string>()));
  EXPECT_TRUE(o.at("recv_q").is_number_unsigned());
  EXPECT_TRUE(o.at("send_q").is_number_unsigned());
  if (o.contains("pid")) {
    EXPECT_TRUE(o.at("pid").is_number_integer());
    EXPECT_TRUE(o.at("comm").is_string());
  }
  for (auto& [k, v] : o.items()) EXPECT_FALSE(v.is_null()) << k << " is null";
}

TEST(SnapshotJson, tcp_objects_match_golden) {
  FakeProc proc;
  add_python_sockets(proc);
  const sys::SocketOwners owners = proc.scan();
  const std::string out = run_writer(true, format("n"), tcp_world(), &owners);
  EXPECT_TRUE(matches_golden("tcp.jsonl", fixed_ts(out)));
}

TEST(SnapshotJson, udp_unix_packet_raw_objects_match_golden) {
  FakeProc proc;
  add_python_sockets(proc);
  const sys::SocketOwners owners = proc.scan();
  EXPECT_TRUE(matches_golden("udp.jsonl", fixed_ts(run_writer(true, {}, udp_world()))));
  EXPECT_TRUE(matches_golden("unix.jsonl", fixed_ts(run_writer(true, {}, unix_world(), &owners))));
  EXPECT_TRUE(matches_golden("packet.jsonl", fixed_ts(run_writer(true, {}, packet_world()))));
  EXPECT_TRUE(matches_golden("raw.jsonl", fixed_ts(run_writer(true, {}, raw_world()))));
  EXPECT_TRUE(matches_golden("netlink.jsonl", fixed_ts(run_writer(true, {}, netlink_world()))));
}

TEST(SnapshotJson, every_line_parses_and_has_the_contract_fields) {
  FakeProc proc;
  add_python_sockets(proc);
  const sys::SocketOwners owners = proc.scan();
  std::vector<Sock> all;
  for (auto* world :
       {&netlink_world, &packet_world, &unix_world, &raw_world, &udp_world, &tcp_world})
    for (Sock& s : world()) all.push_back(s);
  const auto objs = parse_lines(run_writer(true, format("n"), all, &owners));
  ASSERT_EQ(objs.size(), all.size());
  for (const Json& o : objs) expect_contract_fields(o);
  // One dump, one instant.
  for (const Json& o : objs) EXPECT_EQ(o.at("ts"), objs.front().at("ts"));
}

TEST(SnapshotJson, same_fields_whatever_the_display_options) {
  const std::string plain = fixed_ts(run_writer(true, format(""), tcp_world()));
  EXPECT_EQ(fixed_ts(run_writer(true, format("noiemOrH"), tcp_world())), plain);
}

TEST(SnapshotJson, identity_timer_skmem_and_tcp_info_in_kernel_units) {
  const auto objs = parse_lines(run_writer(true, {}, tcp_world()));
  const Json& estab = objs.at(2);
  EXPECT_EQ(estab.at("laddr"), "127.0.0.1");
  EXPECT_EQ(estab.at("lport"), 22);
  EXPECT_EQ(estab.at("raddr"), "127.0.0.1");
  EXPECT_EQ(estab.at("rport"), 39644);
  EXPECT_EQ(estab.at("recv_q"), 99000);
  EXPECT_EQ(estab.at("inode"), 13287);
  EXPECT_EQ(estab.at("cookie"), 0x1016);
  EXPECT_EQ(estab.at("uid"), 0);
  EXPECT_EQ(estab.at("cong"), "bbr");
  EXPECT_EQ(estab.at("shutdown"), "<->");
  EXPECT_EQ(estab.at("skmem").at("rmem_alloc"), 102496);
  const Json& ti = estab.at("tcp_info");
  EXPECT_EQ(ti.at("rtt_us"), 75);
  EXPECT_EQ(ti.at("rttvar_us"), 37);
  EXPECT_EQ(ti.at("rto_ms"), 204);
  EXPECT_EQ(ti.at("ato_ms"), 40);
  EXPECT_EQ(ti.at("min_rtt_us"), 75);
  EXPECT_EQ(ti.at("send_bps"), 34952533333ULL);
  EXPECT_EQ(ti.at("pacing_rate_bps"), 99889146040ULL);
  EXPECT_FALSE(ti.contains("max_pacing_rate_bps"));  // ~0: unlimited
  EXPECT_FALSE(ti.contains("ssthresh"));             // infinite
  EXPECT_EQ(estab.at("bbr").at("min_rtt_us"), 75);

  const Json& tw = objs.at(3);
  EXPECT_EQ(tw.at("state"), "TIME-WAIT");
  EXPECT_EQ(tw.at("timer"), Json({{"name", "timewait"}, {"expires_ms", 55000}, {"retrans", 0}}));
  EXPECT_FALSE(tw.contains("inode"));  // a minisocket has none
  EXPECT_FALSE(tw.contains("uid"));
  EXPECT_FALSE(tw.contains("tcp_info"));

  const Json& dual = objs.at(8);
  EXPECT_EQ(dual.at("laddr"), "*");
  EXPECT_EQ(dual.at("raddr"), "*");
  EXPECT_EQ(dual.at("v6only"), false);
  const Json& v6only = objs.at(9);
  EXPECT_EQ(v6only.at("laddr"), "::");
  EXPECT_EQ(objs.at(11).at("laddr"), "::ffff:127.0.0.1");
}

// Every field the writer can emit is declared in the schema and described
// in docs/snapshot-json.md, nested objects included.
TEST(SnapshotJson, every_field_is_in_the_schema_and_the_docs) {
  const std::string root = std::string(SSTRACE_GOLDEN_DIR) + "/../../../docs/";
  std::ifstream schema_in(root + "schema/events.schema.json");
  std::ifstream doc_in(root + "snapshot-json.md");
  ASSERT_TRUE(schema_in && doc_in);
  const Json schema = Json::parse(schema_in);
  std::stringstream doc;
  doc << doc_in.rdbuf();
  const Json& defs = schema.at("$defs");
  auto props = [&](const std::string& def) -> const Json& { return defs.at(def).at("properties"); };

  // Sockets with every optional part present.
  std::vector<Sock> socks = tcp_world();
  for (auto* world : {&netlink_world, &packet_world, &unix_world, &raw_world, &udp_world})
    for (Sock& s : world()) socks.push_back(s);
  SockInfo extra = tcp_world()[2].get();
  extra.ifindex = 1;
  extra.has_mark = extra.has_tos = extra.has_tclass = extra.has_class_id = true;
  extra.has_meminfo = true;
  extra.has_skmem = false;
  extra.has_dctcp = extra.has_vegas = true;
  extra.ulp = "tls";
  extra.tcp_info.tcpi_snd_ssthresh = 20;
  extra.tcp_info.tcpi_max_pacing_rate = 1000;
  FakeProc proc;
  proc.socket(1, "init", 3, extra.inode);
  const sys::SocketOwners owners = proc.scan();
  std::string out = run_writer(true, {}, socks, &owners);
  {
    char* data = nullptr;
    size_t size = 0;
    std::FILE* f = open_memstream(&data, &size);
    auto w = make_json_writer(f, {});
    w->sock(extra, &owners);
    w->finish();
    std::fclose(f);
    out += std::string(data, size);
    std::free(data);
  }

  std::set<std::string> seen;
  for (const Json& o : parse_lines(out)) {
    for (auto& [k, v] : o.items()) {
      if (k == "type" || k == "ts" || k == "v") continue;
      EXPECT_TRUE(props("socket").contains(k) || props("snapshot_fields").contains(k)) << k;
      EXPECT_NE(doc.str().find("`" + k + "`"), std::string::npos) << k << " not in the docs";
      seen.insert(k);
      const std::map<std::string, std::string> nested = {{"timer", "timer"},
                                                         {"skmem", "skmem"},
                                                         {"meminfo", "meminfo"},
                                                         {"tcp_info", "tcp_info"},
                                                         {"users", "user"}};
      if (auto n = nested.find(k); n != nested.end()) {
        const Json& inner = v.is_array() ? v.at(0) : v;
        for (auto& [ik, iv] : inner.items()) {
          EXPECT_TRUE(props(n->second).contains(ik)) << k << "." << ik;
          EXPECT_NE(doc.str().find(ik), std::string::npos) << k << "." << ik << " not in the docs";
        }
      } else if (v.is_object()) {
        const Json decl =
            props("snapshot_fields").at(k).at("properties");  // a copy: props() returns a temporary
        for (auto& [ik, iv] : v.items()) EXPECT_TRUE(decl.contains(ik)) << k << "." << ik;
      }
    }
  }
  for (const char* k : {"ulp", "mark", "meminfo", "dctcp", "vegas", "dev", "users"})
    EXPECT_TRUE(seen.count(k)) << k;
}

TEST(SnapshotJson, owners_are_users_and_the_first_is_pid_and_comm) {
  FakeProc proc;
  proc.socket(700, "nginx", 6, 13282);
  proc.socket(701, "nginx", 6, 13282);
  const sys::SocketOwners owners = proc.scan();
  const auto objs = parse_lines(run_writer(true, {}, {tcp_world()[1], tcp_world()[0]}, &owners));
  const Json& o = objs.at(0);
  ASSERT_TRUE(o.contains("users"));
  ASSERT_EQ(o.at("users").size(), 2u);
  EXPECT_EQ(o.at("pid"), o.at("users")[0].at("pid"));
  EXPECT_EQ(o.at("comm"), "nginx");
  for (const Json& u : o.at("users")) {
    EXPECT_EQ(u.at("comm"), "nginx");
    EXPECT_EQ(u.at("fd"), 6);
  }
  // No owner known: no users, no pid, no comm (absent, never null).
  EXPECT_FALSE(objs.at(1).contains("users"));
  EXPECT_FALSE(objs.at(1).contains("pid"));
  EXPECT_FALSE(objs.at(1).contains("comm"));
}

TEST(SnapshotText, process_names_are_cut_as_ss_cuts_them_but_json_keeps_them) {
  FakeProc proc;
  proc.socket(700, "own (a) b", 6, 13282);
  const sys::SocketOwners owners = proc.scan();
  const std::vector<Sock> socks = {tcp_world()[1]};
  const std::string text = run_writer(false, format("np"), socks, &owners);
  EXPECT_NE(text.find("users:((\"own (a\",pid=700,fd=6))"), std::string::npos) << text;
  const auto objs = parse_lines(run_writer(true, {}, socks, &owners));
  EXPECT_EQ(objs.at(0).at("comm"), "own (a) b");
  EXPECT_EQ(objs.at(0).at("users")[0].at("comm"), "own (a) b");
}

TEST(SnapshotJson, unix_paths_with_any_bytes_stay_valid_json) {
  std::vector<Sock> socks = {
      Sock::unix_sock(SockKind::unix_dgram, diag::kClose, "/run/\xff\xfe\"q\\\n\x01.sock", 9, 0),
      Sock::unix_sock(SockKind::unix_stream, diag::kListen, std::string("@x@y\xc3\xa9", 6), 10, 0)};
  const auto objs = parse_lines(run_writer(true, {}, socks));
  // The lossless form (docs/events.md, "Strings"): the bytes that are not
  // UTF-8 as the text \xhh, the backslash doubled, the rest as it was.
  EXPECT_EQ(objs.at(0).at("laddr"), "/run/\\xff\\xfe\"q\\\\\n\x01.sock");
  EXPECT_EQ(objs.at(1).at("laddr"), "@x@y\xc3\xa9");
  EXPECT_EQ(objs.at(0).at("lport"), 9);
  EXPECT_EQ(objs.at(0).at("family"), "unix");
  EXPECT_EQ(objs.at(0).at("netid"), "u_dgr");
}

}  // namespace
}  // namespace sstrace::output
