// ss -i's TCP-MD5 and ULP text and ss -e's packet details, against strings
// spelled out from misc/ss.c (iproute2 6.1: tcp_show_info(),
// mptcp_subflow_info(), print_md5sig(), packet_show_sock()); and the JSON
// fields that carry the same facts. The e2e tests compare the same text
// with the real ss on real sockets.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <string>

#include "addr_literal.h"
#include "output/json_writer.h"
#include "output/packet_text.h"
#include "output/sock_json_fields.h"
#include "output/ulp_text.h"

namespace sstrace::output {
namespace {

using diag::SockInfo;
using diag::SockKind;
using Json = nlohmann::json;

Json json_of(const SockInfo& s) {
  std::string line;
  JsonWriter w(line);
  w.begin_object();
  write_sock_fields(w, s, {});
  w.end_object();
  return Json::parse(line);
}

diag::Md5Key md5key(uint8_t family, const char* address, uint8_t prefixlen, std::string key) {
  diag::Md5Key k;
  k.family = family;
  k.prefixlen = prefixlen;
  k.addr = addr(address);
  k.keylen = static_cast<uint16_t>(key.size());
  std::copy(key.begin(), key.end(), k.key.begin());
  return k;
}

std::string ulp_line(const SockInfo& s) {
  std::string t;
  append_md5keys_text(t, s, false);
  append_ulp_text(t, s);
  return t;
}

TEST(UlpText, nothing_without_keys_or_ulp) {
  SockInfo s;
  EXPECT_EQ(ulp_line(s), "");
}

TEST(UlpText, md5keys_escape_like_print_escape_buf) {
  SockInfo s;
  s.md5keys.push_back(md5key(AF_INET, "10.0.0.2", 32, "secret"));
  // Blank, comma and backslash are escaped along with the unprintable.
  s.md5keys.push_back(md5key(AF_INET6, "2001:db8::", 64, std::string("a b,c\\d\x01\xff", 9)));
  EXPECT_EQ(ulp_line(s), " md5keys:10.0.0.2/32=secret,2001:db8::/64=a\\040b\\054c\\134d\\001\\377");
}

TEST(UlpText, tls_as_tcp_tls_version_cipher_conf) {
  SockInfo s;
  s.ulp = "tls";
  s.tls.emplace();
  s.tls->version = 0x0303;
  s.tls->cipher = 51;  // TLS_CIPHER_AES_GCM_128
  s.tls->rxconf = 1;   // TLS_CONF_BASE
  s.tls->txconf = 2;   // TLS_CONF_SW
  EXPECT_EQ(ulp_line(s), " tcp-ulp-tls version: 1.2 cipher: aes-gcm-128 rxconf: none txconf: sw");

  s.tls->version = 0x0304;
  s.tls->cipher = 52;  // TLS_CIPHER_AES_GCM_256
  s.tls->rxconf = 4;   // TLS_CONF_HW_RECORD
  s.tls->txconf = 3;   // TLS_CONF_HW
  s.tls->zc_ro_tx = true;
  EXPECT_EQ(ulp_line(s),
            " tcp-ulp-tls version: 1.3 cipher: aes-gcm-256 rxconf: hw-record txconf: hw zc_ro_tx");

  // ss names two ciphers and prints nothing for the others; an unknown
  // version or conf is "unknown(N)".
  s.tls->version = 0x0302;
  s.tls->cipher = 54;  // TLS_CIPHER_CHACHA20_POLY1305
  s.tls->rxconf = 9;
  s.tls->txconf.reset();
  s.tls->zc_ro_tx = false;
  EXPECT_EQ(ulp_line(s), " tcp-ulp-tls version: unknown(770) rxconf: unknown(9)");
}

TEST(UlpText, tls_json) {
  SockInfo s;
  s.kind = SockKind::tcp;
  s.family = AF_INET;
  s.ulp = "tls";
  s.tls.emplace();
  s.tls->version = 0x0304;
  s.tls->cipher = 54;
  s.tls->rxconf = 1;
  s.tls->txconf = 2;
  const Json j = json_of(s);
  EXPECT_EQ(j["ulp"], "tls");
  EXPECT_EQ(j["tls"]["version"], "1.3");
  EXPECT_EQ(j["tls"]["version_id"], 0x0304);
  EXPECT_FALSE(j["tls"].contains("cipher"));
  EXPECT_EQ(j["tls"]["cipher_id"], 54);
  EXPECT_EQ(j["tls"]["rxconf"], "none");
  EXPECT_EQ(j["tls"]["txconf"], "sw");
  EXPECT_EQ(j["tls"]["zc_ro_tx"], false);
  EXPECT_EQ(j["tls"]["rx_no_pad"], false);
}

TEST(UlpText, mptcp_subflow_as_mptcp_subflow_info) {
  SockInfo s;
  s.ulp = "mptcp";
  s.mptcp_sf.emplace();
  s.mptcp_sf->flags = 0x1 | 0x2 | 0x40 | 0x80 | 0x100;  // M m e c v
  s.mptcp_sf->token_rem = 0xabc;
  s.mptcp_sf->id_rem = 0;
  s.mptcp_sf->token_loc = 0x12345678;
  s.mptcp_sf->id_loc = 3;
  s.mptcp_sf->map_seq = 0x1122334455ull;
  s.mptcp_sf->map_sfseq = 0x10;
  s.mptcp_sf->ssn_offset = 0xdeadbeef;
  s.mptcp_sf->map_datalen = 0x5a;
  EXPECT_EQ(ulp_line(s),
            " tcp-ulp-mptcp flags:Mmecv token:0abc(id:0)/12345678(id:3) seq:1122334455 sfseq:10"
            " ssnoff:deadbeef maplen:5a");

  // Without CAP_NET_ADMIN the kernel leaves out the tokens; ss needs all
  // four parts to print them. No flags: no "flags:".
  s.mptcp_sf->token_rem.reset();
  s.mptcp_sf->flags = 0;
  s.mptcp_sf->map_seq.reset();
  EXPECT_EQ(ulp_line(s), " tcp-ulp-mptcp sfseq:10 ssnoff:deadbeef maplen:5a");
  EXPECT_EQ(mptcp_subflow_flags_text(0x4 | 0x8 | 0x10 | 0x20), "JjBb");
}

TEST(UlpText, md5_and_mptcp_json) {
  SockInfo s;
  s.kind = SockKind::tcp;
  s.family = AF_INET;
  s.md5keys.push_back(md5key(AF_INET, "10.0.0.0", 8, "k3y"));
  s.mptcp_sf.emplace();
  s.mptcp_sf->flags = 0x80;
  s.mptcp_sf->map_sfseq = 7;
  const Json j = json_of(s);
  ASSERT_EQ(j["md5keys"].size(), 1u);
  EXPECT_EQ(j["md5keys"][0]["addr"], "10.0.0.0");
  EXPECT_EQ(j["md5keys"][0]["prefixlen"], 8);
  EXPECT_EQ(j["md5keys"][0]["keylen"], 3);
  EXPECT_FALSE(j["md5keys"][0].contains("key"));  // never the secret
  EXPECT_EQ(j["mptcp_subflow"]["flags"], "c");
  EXPECT_EQ(j["mptcp_subflow"]["flags_raw"], 0x80);
  EXPECT_EQ(j["mptcp_subflow"]["map_sfseq"], 7);
  EXPECT_FALSE(j["mptcp_subflow"].contains("token_rem"));
}

SockInfo packet_sock() {
  SockInfo s;
  s.kind = SockKind::packet_raw;
  s.family = AF_PACKET;
  s.packet_info = diag::PacketInfo{2, 0, 0, 0, 0x1 | 0x2};
  return s;
}

TEST(PacketText, info_rings_fanout_like_packet_show_sock) {
  SockInfo s = packet_sock();
  s.rx_ring = diag::PacketRing{4096, 4, 2048, 8, 100, 0, 0x1};
  s.tx_ring = diag::PacketRing{8192, 2, 8192, 2, 0, 0, 0};
  s.fanout = 3u << 16 | 42;  // PACKET_FANOUT_ROLLOVER, group 42
  std::string t;
  append_packet_details_text(t, s, false);
  EXPECT_EQ(t,
            "\n\tver:2 cpy_thresh:0 flags( running auxdata )"
            "\n\tring_rx(blk_size:4096,blk_nr:4,frm_size:2048,frm_nr:8,tmo:100,features:0x1)"
            "\n\tring_tx(blk_size:8192,blk_nr:2,frm_size:8192,frm_nr:2,tmo:0,features:0x0)"
            "\n\tfanout(id:42,type:roll)");
  t.clear();
  append_packet_details_text(t, s, true);  // -O
  EXPECT_EQ(t,
            " ver:2 cpy_thresh:0 flags( running auxdata )"
            " ring_rx(blk_size:4096,blk_nr:4,frm_size:2048,frm_nr:8,tmo:100,features:0x1)"
            " ring_tx(blk_size:8192,blk_nr:2,frm_size:8192,frm_nr:2,tmo:0,features:0x0)"
            " fanout(id:42,type:roll)");
}

TEST(PacketText, flags_spacing_and_unknown_fanout) {
  SockInfo s = packet_sock();
  s.packet_info->flags = 0x2 | 0x10;        // not running: ss leaves a double blank
  s.packet_info->copy_thresh = 0xffffffff;  // ss's "%d"
  s.fanout = 7u << 16 | 1;                  // PACKET_FANOUT_EBPF: no name in ss
  std::string t;
  append_packet_details_text(t, s, true);
  EXPECT_EQ(t, " ver:2 cpy_thresh:-1 flags(  auxdata loss ) fanout(id:1,type:0x7)");
  s.packet_info->flags = 0;
  s.fanout.reset();
  t.clear();
  append_packet_details_text(t, s, true);
  EXPECT_EQ(t, " ver:2 cpy_thresh:-1 flags( 0 )");
}

TEST(PacketText, json_fields) {
  SockInfo s = packet_sock();
  s.rx_ring = diag::PacketRing{4096, 4, 2048, 8, 100, 16, 0x1};
  s.fanout = 6u << 16 | 5;  // PACKET_FANOUT_CBPF
  const Json j = json_of(s);
  EXPECT_EQ(j["tpacket_version"], 2);
  EXPECT_EQ(j["copy_thresh"], 0);
  EXPECT_EQ(j["packet_flags"], Json::array({"running", "auxdata"}));
  EXPECT_EQ(j["rx_ring"]["block_size"], 4096);
  EXPECT_EQ(j["rx_ring"]["frame_nr"], 8);
  EXPECT_EQ(j["rx_ring"]["retire_tmo_ms"], 100);
  EXPECT_EQ(j["rx_ring"]["sizeof_priv"], 16);
  EXPECT_EQ(j["rx_ring"]["features"], 1);
  EXPECT_FALSE(j.contains("tx_ring"));
  EXPECT_EQ(j["fanout"]["id"], 5);
  EXPECT_EQ(j["fanout"]["type_id"], 6);
  EXPECT_FALSE(j["fanout"].contains("type"));
}

}  // namespace
}  // namespace sstrace::output
