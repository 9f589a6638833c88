#include "worlds.h"

#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sstrace::e2e {

void build_mixed_world(SocketSet& s) {
  // Listeners on several addresses of both families.
  int l4 = s.tcp_listen("127.0.0.1", 8080);
  int l4b = s.tcp_listen("127.0.0.2", 8080);
  int l6 = s.tcp_listen("::1", 8080);
  int any4 = s.tcp_listen("0.0.0.0", 9090);
  int any6 = s.tcp_listen("::", 9090);

  // Established pairs, one with keepalive timers on both ends.
  TcpPair ka = s.tcp_connect(l4);
  s.keepalive(ka.client);
  s.keepalive(ka.server);
  s.tcp_connect(l4);
  s.tcp_connect(l4b, "127.0.0.3");
  s.tcp_connect(l6);
  s.tcp_connect(l6);
  s.tcp_connect(any4, "127.0.0.5", 0, "127.0.0.4");
  s.tcp_connect(any6);

  // A connection nobody accepted yet: the listener's Recv-Q is 1.
  int backlog = s.tcp_listen("127.0.0.1", 6060);
  s.tcp_connect_unaccepted(backlog);

  // Queues: 1000 unread bytes on one side, a full send queue on the other.
  int small = s.tcp_listen("127.0.0.1", 8081, 128, 4096);
  s.tcp_with_queues(small, 1000, false);
  s.tcp_with_queues(small, 0, true);

  // Closing states.
  s.tcp_time_wait(l4);
  s.tcp_time_wait(l6);
  s.tcp_fin_wait2(l4);  // and CLOSE-WAIT on the server side
  s.tcp_fin_wait2(l6);
  s.tcp_fin_wait1(l4b);
  s.tcp_last_ack(l4);
  s.tcp_closing(l6);

  // Opening states.
  s.tcp_syn_sent("127.0.0.9", 9);
  s.tcp_syn_sent("::1", 9);
  int synrecv = s.tcp_listen("127.0.0.1", 7070);
  s.tcp_syn_recv(synrecv);

  // UDP.
  s.udp_bind("127.0.0.1", 5353);
  s.udp_bind("::1", 5353);
  s.udp_bind("0.0.0.0", 6000);
  s.udp_bind("::", 6000);
  s.udp_connect("127.0.0.1", 5353);
  s.udp_connect("::1", 5353, "::1");

  // UNIX: path, abstract and unnamed; stream, dgram and seqpacket.
  s.unix_listen("stream.sock");
  s.unix_connect("stream.sock");
  s.unix_listen("@sstrace-e2e-abstract-" + std::to_string(getpid()));
  s.unix_listen("seqpacket.sock", SOCK_SEQPACKET);
  s.unix_socketpair(SOCK_STREAM);
  s.unix_socketpair(SOCK_DGRAM);
  s.unix_dgram("dgram.sock");
  s.unix_dgram();

  // RAW and PACKET.
  s.raw(AF_INET, IPPROTO_ICMP);
  s.raw(AF_INET6, IPPROTO_ICMPV6);
  s.packet(SOCK_RAW, ETH_P_ALL);
  s.packet(SOCK_DGRAM, ETH_P_IP);
}

const std::vector<SeedAddr> kSeedAddrs = {
    {"10.0.0.4", "127.10.0.4"},
    {"183.240.139.102", "127.183.139.102"},
    {"113.90.165.102", "127.113.165.102"},
    {"23.51.2.3", "127.23.2.3"},
    {"140.82.112.25", "127.140.112.25"},
    {"192.168.1.130", "127.192.1.130"},
    {"192.168.1.200", "127.192.1.200"},
};

std::string localize_seed_command(std::string cmd) {
  for (const auto& a : kSeedAddrs) {
    std::string from = a.seed;
    for (size_t pos = cmd.find(from); pos != std::string::npos; pos = cmd.find(from, pos)) {
      cmd.replace(pos, from.size(), a.here);
      pos += std::string(a.here).size();
    }
  }
  return cmd;
}

void build_seed_world(SocketSet& s) {
  // Article 2's server 10.0.0.4: :55544 on every address of both families.
  int p55544 = s.tcp_listen("0.0.0.0", 55544);
  int p55544v6 = s.tcp_listen("::", 55544);
  for (int i = 0; i < 2; ++i) s.tcp_connect(p55544, "127.183.139.102", 0, "127.10.0.4");
  for (int i = 0; i < 4; ++i) {
    TcpPair p = s.tcp_connect(p55544, "127.113.165.102", 0, "127.10.0.4");
    if (i == 0) s.keepalive(p.server);
  }
  int small = s.tcp_listen("127.10.0.4", 55545, 128, 4096);
  s.tcp_with_queues(small, 3314, false);
  s.tcp_connect(p55544v6);
  s.tcp_time_wait(p55544, "127.113.165.102");

  // Its https clients with keepalive (article 2, "ss -o state established").
  for (const char* server : {"127.23.2.3", "127.140.112.25"}) {
    int l = s.tcp_listen(server, 443);
    TcpPair p = s.tcp_connect(l, "127.10.0.4");
    s.keepalive(p.client);
  }

  // "ss -lt": submission and hostmon.
  s.tcp_listen("0.0.0.0", 587);
  s.tcp_listen("0.0.0.0", 5355);
  // "ss -lp | grep 80" (article 1): ss names port 80 "http", so only a port
  // printed as a number can match.
  s.tcp_listen("127.10.0.4", 18080);

  // Article 1's host 192.168.1.200 serving http and smtp to 192.168.1.130.
  int http = s.tcp_listen("127.192.1.200", 80);
  int smtp = s.tcp_listen("127.192.1.200", 25);
  s.tcp_connect(http, "127.192.1.130");
  s.tcp_connect(http, "127.192.1.130");
  s.tcp_connect(smtp, "127.192.1.130");
  TcpPair out = s.tcp_connect(http, "127.10.0.4");  // a third party, for dst filters
  s.keepalive(out.client);

  // Something for the UDP, UNIX, -4 and -6 listings.
  s.udp_bind("127.10.0.4", 53);
  s.udp_bind("::1", 53);
  s.udp_connect("127.10.0.4", 53, "127.192.1.130");
  s.unix_listen("seed.sock");
  s.unix_connect("seed.sock");
  s.unix_socketpair(SOCK_STREAM);
  s.unix_dgram("seed-dgram.sock");
  int l6 = s.tcp_listen("::1", 8443);
  s.tcp_connect(l6);
}

std::unique_ptr<SocketHolder> start_seed_sshd(const Netns& ns) {
  return std::make_unique<SocketHolder>(ns, "sshd", [](SocketSet& s) {
    int l = s.tcp_listen("127.10.0.4", 22);
    for (const char* peer : {"127.113.165.102", "127.113.165.102", "127.183.139.102"}) {
      TcpPair p = s.tcp_connect(l, peer);
      s.keepalive(p.server);
    }
  });
}

const std::vector<std::string> kSeedStateNames = {
    "established", "syn-sent",     "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait",
    "closed",      "close-wait",   "last-ack", "listening",  "closing",    "all",
    "connected",   "synchronized", "bucket",   "big"};

std::vector<std::unique_ptr<SocketHolder>> build_big_world(const Netns& ns, size_t n,
                                                           int processes) {
  std::vector<std::unique_ptr<SocketHolder>> holders;
  size_t per = n / static_cast<size_t>(processes);
  for (int p = 0; p < processes; ++p) {
    std::string comm = "e2e-holder-" + std::to_string(p);
    holders.push_back(std::make_unique<SocketHolder>(ns, comm, [per, p](SocketSet& s) {
      // Shares of one `unit` (~100 sockets): TCP 60, UDP 15, UNIX 25.
      size_t units = per / 100 ? per / 100 : 1;
      std::string a4 = "127.1." + std::to_string(p) + ".1";
      std::string a6 = "::1";
      for (size_t u = 0; u < units; ++u) {
        uint16_t port = static_cast<uint16_t>(20000 + p * 1000 + u * 10);
        int l4 = s.tcp_listen(a4, port);
        int l6 = s.tcp_listen(a6, port);
        for (int i = 0; i < 15; ++i) s.tcp_connect(l4, "127.2." + std::to_string(p) + ".1");
        for (int i = 0; i < 10; ++i) s.tcp_connect(l6);
        for (int i = 0; i < 3; ++i) s.tcp_time_wait(l4);
        s.tcp_fin_wait2(l4);
        s.tcp_listen(a4, static_cast<uint16_t>(port + 1));
        s.tcp_listen("::", static_cast<uint16_t>(port + 2));
        for (int i = 0; i < 5; ++i) s.udp_bind(a4, static_cast<uint16_t>(port + 3 + i));
        for (int i = 0; i < 5; ++i) s.udp_connect(a4, static_cast<uint16_t>(port + 3 + i), a4);
        for (int i = 0; i < 5; ++i) s.udp_bind("::1", static_cast<uint16_t>(port + 3 + i));
        std::string name = "big-" + std::to_string(u) + ".sock";
        s.unix_listen(name);
        for (int i = 0; i < 4; ++i) s.unix_connect(name);
        for (int i = 0; i < 6; ++i) s.unix_socketpair(i % 2 ? SOCK_DGRAM : SOCK_STREAM);
        s.unix_dgram();
        s.unix_listen("@big-" + std::to_string(p) + "-" + std::to_string(u));
      }
    }));
  }
  return holders;
}

}  // namespace sstrace::e2e
