#include "output/endpoint_text.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <sys/socket.h>

#include <fstream>
#include <string>

#include "addr_literal.h"
#include "output/address_text.h"
#include "sys/netdb_names.h"

namespace sstrace::output {
namespace {

TEST(EndpointText, addresses_as_ss_n_prints_them) {
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

TEST(EndpointText, resolves_hosts_like_gethostbyaddr) {
  const auto lo = addr("127.0.0.1");
  const hostent* h = gethostbyaddr(lo.data(), 4, AF_INET);
  if (!h) GTEST_SKIP() << "no name for 127.0.0.1 on this machine";
  const std::string expected = h->h_name;
  EXPECT_EQ(sys::host_name(AF_INET, lo), expected);
  EXPECT_EQ(ss_host_column(AF_INET, lo, false, true), expected);
  // v4-mapped addresses resolve as the IPv4 address inside.
  EXPECT_EQ(sys::host_name(AF_INET6, addr("::ffff:127.0.0.1")), expected);
}

TEST(EndpointText, services_ports_and_protocols) {
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

TEST(EndpointText, ports_in_the_ephemeral_range_stay_numbers) {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned lo = 0, hi = 0;
  if (!(f >> lo >> hi) || lo > hi) GTEST_SKIP() << "no ip_local_port_range";
  EXPECT_EQ(service_text(static_cast<uint16_t>(lo), "tcp", false), std::to_string(lo));
  EXPECT_EQ(service_text(static_cast<uint16_t>(hi), "udp", false), std::to_string(hi));
}

TEST(EndpointText, ethertypes_as_ss_names_them) {
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

TEST(EndpointText, interfaces) {
  EXPECT_EQ(if_name(0), "*");
  EXPECT_EQ(if_name(1), "lo");  // loopback is ifindex 1 in every namespace
  EXPECT_EQ(if_name(0x7ffffff0), "if2147483632");
}

}  // namespace
}  // namespace sstrace::output
