#include "output/summary.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace sstrace::output {
namespace {

namespace fs = std::filesystem;

// /proc/net files as a 6.x kernel writes them (net/ipv4/proc.c).
constexpr const char* kSockstat =
    "sockets: used 257\n"
    "TCP: inuse 46 orphan 0 tw 1 alloc 113 mem 12\n"
    "UDP: inuse 4 mem 3\n"
    "UDPLITE: inuse 0\n"
    "RAW: inuse 0\n"
    "FRAG: inuse 2 memory 4096\n";
constexpr const char* kSockstat6 =
    "TCP6: inuse 26\n"
    "UDP6: inuse 7\n"
    "UDPLITE6: inuse 0\n"
    "RAW6: inuse 1\n"
    "FRAG6: inuse 0 memory 0\n";
constexpr const char* kSnmp =
    "Ip: Forwarding DefaultTTL InReceives\n"
    "Ip: 1 64 1000\n"
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets "
    "CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
    "Tcp: 1 200 120000 -1 458929 435474 526 770 47 167230085 168620207 20695 39 123048 39\n"
    "Udp: InDatagrams NoPorts\n"
    "Udp: 30002 7855\n";

// ss -s on the same numbers (iproute2 6.1, print_summary): tabs after the
// row names, values left-aligned in 9 columns, a blank line at the end.
constexpr const char* kExpected =
    "Total: 257\n"
    "TCP:   114 (estab 47, closed 42, orphaned 0, timewait 1)\n"
    "\n"
    "Transport Total     IP        IPv6\n"
    "RAW\t  1         0         1        \n"
    "UDP\t  11        4         7        \n"
    "TCP\t  72        46        26       \n"
    "INET\t  84        50        34       \n"
    "FRAG\t  2         2         0        \n"
    "\n";

class NetDir {
 public:
  NetDir() {
    std::string tmpl = (fs::temp_directory_path() / "sstrace-net-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  ~NetDir() { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string path() const { return dir_.string(); }

 private:
  fs::path dir_;
};

std::string render(const Summary& s) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  print_summary(f, s);
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

TEST(Summary, parses_sockstat_and_sockstat6) {
  Summary s;
  parse_sockstat(kSockstat, s);
  parse_sockstat(kSockstat6, s);
  EXPECT_EQ(s.sockets, 257);
  EXPECT_EQ(s.tcp_inuse, 46);
  EXPECT_EQ(s.tcp_orphan, 0);
  EXPECT_EQ(s.tcp_tw, 1);
  EXPECT_EQ(s.tcp_alloc, 113);
  EXPECT_EQ(s.tcp_mem, 12);
  EXPECT_EQ(s.udp, 4);
  EXPECT_EQ(s.raw, 0);
  EXPECT_EQ(s.frag, 2);
  EXPECT_EQ(s.frag_mem, 4096);
  EXPECT_EQ(s.tcp6_inuse, 26);
  EXPECT_EQ(s.udp6, 7);
  EXPECT_EQ(s.raw6, 1);
  EXPECT_EQ(s.tcp_total(), 114);
  EXPECT_EQ(s.tcp_closed(), 42);
}

TEST(Summary, snmp_curr_estab_by_column_name) {
  auto v = parse_snmp_curr_estab(kSnmp);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 47);
  EXPECT_FALSE(parse_snmp_curr_estab("Ip: Forwarding\nIp: 1\n").ok());
  EXPECT_FALSE(parse_snmp_curr_estab("").ok());
}

TEST(Summary, prints_what_ss_prints) {
  NetDir dir;
  dir.write("sockstat", kSockstat);
  dir.write("sockstat6", kSockstat6);
  dir.write("snmp", kSnmp);
  auto s = read_summary(dir.path());
  ASSERT_TRUE(s.ok()) << s.error().str();
  EXPECT_EQ(render(*s), kExpected);
}

TEST(Summary, no_sockstat6_means_no_ipv6_counts) {
  NetDir dir;
  dir.write("sockstat", kSockstat);
  dir.write("snmp", kSnmp);
  auto s = read_summary(dir.path());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->tcp6_inuse, 0);
  EXPECT_EQ(s->udp6, 0);
  EXPECT_NE(render(*s).find("UDP\t  4         4         0        \n"), std::string::npos);
}

TEST(Summary, missing_files_are_errors) {
  NetDir dir;
  auto none = read_summary(dir.path());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().str().find("sockstat"), std::string::npos);
  dir.write("sockstat", kSockstat);
  auto no_snmp = read_summary(dir.path());
  ASSERT_FALSE(no_snmp.ok());
  EXPECT_NE(no_snmp.error().str().find("snmp"), std::string::npos);
}

TEST(Summary, json_carries_the_same_numbers) {
  Summary s;
  parse_sockstat(kSockstat, s);
  parse_sockstat(kSockstat6, s);
  s.tcp_estab = 47;
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  print_summary_json(f, s, 4026531840u);
  std::fclose(f);
  std::string line(buf, len);
  std::free(buf);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["type"], "summary");
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["netns"], 4026531840u);
  EXPECT_EQ(j["total"], 257);
  EXPECT_EQ(j["tcp"]["total"], 114);
  EXPECT_EQ(j["tcp"]["estab"], 47);
  EXPECT_EQ(j["tcp"]["closed"], 42);
  EXPECT_EQ(j["tcp"]["timewait"], 1);
  EXPECT_EQ(j["transport"]["inet"]["total"], 84);
  EXPECT_EQ(j["transport"]["udp"]["ipv6"], 7);
  std::string ts = j["ts"];
  EXPECT_EQ(ts.size(), 27u);  // 2026-11-22T02:31:07.123456Z
  EXPECT_EQ(ts.back(), 'Z');
}

TEST(Summary, reads_this_hosts_proc) {
  auto s = read_summary("/proc/self/net");
  ASSERT_TRUE(s.ok()) << s.error().str();
  EXPECT_GT(s->sockets, 0);
}

}  // namespace
}  // namespace sstrace::output
