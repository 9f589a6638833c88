#include "output/sock_json_fields.h"

#include <sys/socket.h>

#include <algorithm>
#include <limits>

#include "output/address_text.h"
#include "output/cgroup_text.h"
#include "output/endpoint_text.h"
#include "output/names.h"
#include "output/packet_text.h"
#include "output/tcp_info_view.h"
#include "output/timer_text.h"
#include "output/ulp_text.h"

namespace sstrace::output {

using diag::SockInfo;
using diag::SockKind;

std::string json_laddr(const SockInfo& s) {
  if (s.is_unix()) return s.unix_path.empty() ? "*" : s.unix_path;
  if (s.is_packet()) return ll_proto_text(s.packet_protocol, true);
  if (s.is_netlink()) return std::to_string(s.netlink_protocol);
  // The IPv6 wildcard of a dual-stack socket is "*" in ss; v6only shows "::".
  if (s.family == AF_INET6 && !s.v6only && addr_is_any(s.family, s.local.addr)) return "*";
  return addr_text(s.family, s.local.addr);
}

std::string json_raddr(const SockInfo& s) {
  // A connected netlink socket's peer: its group, as ss prints it.
  if (s.is_netlink()) return s.netlink_state == 1 ? std::to_string(s.netlink_dst_group) : "*";
  if (!s.is_inet() || addr_is_any(s.family, s.remote.addr)) return "*";
  return addr_text(s.family, s.remote.addr);
}

namespace {

// A non-negative rate rounded to an integer, saturating at the largest
// uint64: cwnd * mss * 8 / rtt from a tcp_info can pass 2^64 (a huge window
// over a 1 us RTT), and converting such a double is undefined behaviour.
uint64_t rounded_u64(double v) {
  constexpr double kTwoTo64 = 18446744073709551616.0;
  if (!(v + 0.5 < kTwoTo64)) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(v + 0.5);
}

// The value of laddr/raddr. An inet address, the common case, goes straight
// into the line: no std::string per socket.
void write_json_addr(JsonWriter& w, const SockInfo& s, bool local) {
  const std::array<uint8_t, 16>& addr = local ? s.local.addr : s.remote.addr;
  const bool text_is_addr = s.is_inet() && !addr_is_any(s.family, addr);
  if (!text_is_addr) {
    w.value(local ? json_laddr(s) : json_raddr(s));
    return;
  }
  w.quoted([&](std::string& out) { append_addr_text(out, s.family, addr); });
}

void write_timer(JsonWriter& w, const SockInfo& s) {
  w.key("timer").begin_object();
  w.field("name", timer_name(s.timer));
  w.field("expires_ms", s.expires_ms);
  w.field("retrans", s.retrans);
  w.end_object();
}

void write_skmem(JsonWriter& w, const SockInfo& s) {
  const size_t n = std::min<size_t>(
      s.skmem_count ? size_t{s.skmem_count} : size_t{diag::kSkMemVars}, diag::kSkMemVars);
  // Literal keys (JsonWriter's unescaped path); the kernel sends the first n.
  auto var = [&]<size_t N>(size_t i, const char(&name)[N]) {
    if (i < n) w.field(name, s.skmem[i]);
  };
  w.key("skmem").begin_object();
  var(0, "rmem_alloc");
  var(1, "rcvbuf");
  var(2, "wmem_alloc");
  var(3, "sndbuf");
  var(4, "fwd_alloc");
  var(5, "wmem_queued");
  var(6, "optmem");
  var(7, "backlog");
  var(8, "drops");
  w.end_object();
}

void write_meminfo(JsonWriter& w, const SockInfo& s) {
  w.key("meminfo").begin_object();
  w.field("rmem", s.meminfo[0]);
  w.field("wmem", s.meminfo[1]);
  w.field("fmem", s.meminfo[2]);
  w.field("tmem", s.meminfo[3]);
  w.end_object();
}

void write_tcp_info(JsonWriter& w, const SockInfo& s) {
  const TcpInfoView v(s);
  const tcp_info& t = v.raw();
  w.key("tcp_info").begin_object();
  w.field("ts", (t.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0);
  w.field("sack", (t.tcpi_options & TCPI_OPT_SACK) != 0);
  w.field("ecn", (t.tcpi_options & TCPI_OPT_ECN) != 0);
  w.field("ecnseen", (t.tcpi_options & TCPI_OPT_ECN_SEEN) != 0);
  w.field("fastopen", (t.tcpi_options & TCPI_OPT_SYN_DATA) != 0);
  if (t.tcpi_options & TCPI_OPT_WSCALE) {
    w.field("snd_wscale", static_cast<unsigned>(t.tcpi_snd_wscale));
    w.field("rcv_wscale", static_cast<unsigned>(t.tcpi_rcv_wscale));
  }
// One field when the kernel's tcp_info reached it.
#define TI_FIELD(name, f) \
  if (TI_HAS(v, f)) w.field(name, t.f)
  if (TI_HAS(v, tcpi_rto)) w.field("rto_ms", t.tcpi_rto / 1000.0);
  w.field("backoff", static_cast<unsigned>(t.tcpi_backoff));
  TI_FIELD("rtt_us", tcpi_rtt);
  TI_FIELD("rttvar_us", tcpi_rttvar);
  if (TI_HAS(v, tcpi_ato)) w.field("ato_ms", t.tcpi_ato / 1000.0);
  TI_FIELD("mss", tcpi_snd_mss);
  TI_FIELD("pmtu", tcpi_pmtu);
  TI_FIELD("rcvmss", tcpi_rcv_mss);
  TI_FIELD("advmss", tcpi_advmss);
  TI_FIELD("cwnd", tcpi_snd_cwnd);
  // TCP_INFINITE_SSTHRESH (0x7fffffff) until the first loss: unknown.
  if (TI_HAS(v, tcpi_snd_ssthresh) && t.tcpi_snd_ssthresh < 0xffff)
    w.field("ssthresh", t.tcpi_snd_ssthresh);
  TI_FIELD("bytes_sent", tcpi_bytes_sent);
  TI_FIELD("bytes_retrans", tcpi_bytes_retrans);
  TI_FIELD("bytes_acked", tcpi_bytes_acked);
  TI_FIELD("bytes_received", tcpi_bytes_received);
  TI_FIELD("segs_out", tcpi_segs_out);
  TI_FIELD("segs_in", tcpi_segs_in);
  TI_FIELD("data_segs_out", tcpi_data_segs_out);
  TI_FIELD("data_segs_in", tcpi_data_segs_in);
  if (double bps = send_bps(s, v); bps > 0) w.field("send_bps", rounded_u64(bps));
  TI_FIELD("lastsnd_ms", tcpi_last_data_sent);
  TI_FIELD("lastrcv_ms", tcpi_last_data_recv);
  TI_FIELD("lastack_ms", tcpi_last_ack_recv);
  // ~0 means "no limit" for both pacing rates (SO_MAX_PACING_RATE unset).
  if (TI_HAS(v, tcpi_pacing_rate) && t.tcpi_pacing_rate != ~0ULL)
    w.field("pacing_rate_bps", t.tcpi_pacing_rate * 8);
  if (TI_HAS(v, tcpi_max_pacing_rate) && t.tcpi_max_pacing_rate != ~0ULL)
    w.field("max_pacing_rate_bps", t.tcpi_max_pacing_rate * 8);
  if (TI_HAS(v, tcpi_delivery_rate)) {
    w.field("delivery_rate_bps", t.tcpi_delivery_rate * 8);
    w.field("app_limited", t.tcpi_delivery_rate_app_limited != 0);
  }
  TI_FIELD("delivered", tcpi_delivered);
  TI_FIELD("delivered_ce", tcpi_delivered_ce);
  TI_FIELD("busy_us", tcpi_busy_time);
  TI_FIELD("rwnd_limited_us", tcpi_rwnd_limited);
  TI_FIELD("sndbuf_limited_us", tcpi_sndbuf_limited);
  TI_FIELD("unacked", tcpi_unacked);
  TI_FIELD("retrans", tcpi_retrans);
  TI_FIELD("retrans_total", tcpi_total_retrans);
  TI_FIELD("lost", tcpi_lost);
  TI_FIELD("sacked", tcpi_sacked);
  TI_FIELD("dsack_dups", tcpi_dsack_dups);
  TI_FIELD("fackets", tcpi_fackets);
  TI_FIELD("reordering", tcpi_reordering);
  TI_FIELD("reord_seen", tcpi_reord_seen);
  TI_FIELD("rcv_rtt_us", tcpi_rcv_rtt);
  TI_FIELD("rcv_space", tcpi_rcv_space);
  TI_FIELD("rcv_ssthresh", tcpi_rcv_ssthresh);
  TI_FIELD("notsent", tcpi_notsent_bytes);
  // ~0 until the first RTT sample (minmax_reset in tcp_init_sock).
  if (TI_HAS(v, tcpi_min_rtt) && t.tcpi_min_rtt != ~0U) w.field("min_rtt_us", t.tcpi_min_rtt);
  TI_FIELD("rcv_ooopack", tcpi_rcv_ooopack);
  TI_FIELD("snd_wnd", tcpi_snd_wnd);
#undef TI_FIELD
  w.end_object();
}

void write_cong_details(JsonWriter& w, const SockInfo& s) {
  if (s.has_bbr) {
    w.key("bbr").begin_object();
    w.field("bw_bps", s.bbr.bw * 8);
    w.field("min_rtt_us", s.bbr.min_rtt_us);
    w.field("pacing_gain", s.bbr.pacing_gain / 256.0);
    w.field("cwnd_gain", s.bbr.cwnd_gain / 256.0);
    w.end_object();
  }
  if (s.has_dctcp) {
    w.key("dctcp").begin_object();
    w.field("enabled", s.dctcp.enabled != 0);
    w.field("ce_state", s.dctcp.ce_state);
    w.field("alpha", s.dctcp.alpha);
    w.field("ab_ecn", s.dctcp.ab_ecn);
    w.field("ab_tot", s.dctcp.ab_tot);
    w.end_object();
  }
  if (s.has_vegas) {
    w.key("vegas").begin_object();
    w.field("enabled", s.vegas.enabled != 0);
    w.field("rttcnt", s.vegas.rttcnt);
    w.field("rtt_us", s.vegas.rtt_us);
    w.field("min_rtt_us", s.vegas.minrtt_us);
    w.end_object();
  }
}

// A TLS version or conf as ss words it, "unknown(N)" for the others.
std::string tls_word(const std::string& name, uint16_t v) {
  return name.empty() ? "unknown(" + std::to_string(v) + ")" : name;
}

void write_tls(JsonWriter& w, const diag::TlsInfo& tls) {
  w.key("tls").begin_object();
  if (tls.version) {
    w.field("version", tls_word(tls_version_name(*tls.version), *tls.version));
    w.field("version_id", *tls.version);
  }
  if (tls.cipher) {
    if (std::string name = tls_cipher_name(*tls.cipher); !name.empty()) w.field("cipher", name);
    w.field("cipher_id", *tls.cipher);
  }
  if (tls.rxconf) w.field("rxconf", tls_word(tls_conf_name(*tls.rxconf), *tls.rxconf));
  if (tls.txconf) w.field("txconf", tls_word(tls_conf_name(*tls.txconf), *tls.txconf));
  w.field("zc_ro_tx", tls.zc_ro_tx);
  w.field("rx_no_pad", tls.rx_no_pad);
  w.end_object();
}

void write_mptcp_subflow(JsonWriter& w, const diag::MptcpSubflowInfo& sf) {
  w.key("mptcp_subflow").begin_object();
  if (sf.flags) {
    w.field("flags", mptcp_subflow_flags_text(*sf.flags));
    w.field("flags_raw", *sf.flags);
  }
  auto opt = [&](const char* name, const auto& v) {
    if (v) w.field(name, static_cast<uint64_t>(*v));
  };
  opt("token_rem", sf.token_rem);
  opt("id_rem", sf.id_rem);
  opt("token_loc", sf.token_loc);
  opt("id_loc", sf.id_loc);
  opt("map_seq", sf.map_seq);
  opt("map_sfseq", sf.map_sfseq);
  opt("ssn_offset", sf.ssn_offset);
  opt("map_datalen", sf.map_datalen);
  w.end_object();
}

// The keys' peers, not the keys: a snapshot line goes to log pipelines,
// which are no place for TCP-MD5 secrets (ss prints them, to root only).
void write_md5keys(JsonWriter& w, const SockInfo& s) {
  w.key("md5keys").begin_array();
  for (const diag::Md5Key& k : s.md5keys) {
    w.begin_object();
    w.field("addr", addr_text(k.family, k.addr));
    w.field("prefixlen", k.prefixlen);
    w.field("keylen", k.keylen);
    w.end_object();
  }
  w.end_array();
}

void write_ulp_details(JsonWriter& w, const SockInfo& s) {
  if (!s.md5keys.empty()) write_md5keys(w, s);
  if (s.tls) write_tls(w, *s.tls);
  if (s.mptcp_sf) write_mptcp_subflow(w, *s.mptcp_sf);
}

void write_packet_ring(JsonWriter& w, const char* name, const diag::PacketRing& r) {
  w.key(name).begin_object();
  w.field("block_size", r.block_size);
  w.field("block_nr", r.block_nr);
  w.field("frame_size", r.frame_size);
  w.field("frame_nr", r.frame_nr);
  w.field("retire_tmo_ms", r.retire_tmo);
  w.field("sizeof_priv", r.sizeof_priv);
  w.field("features", r.features);
  w.end_object();
}

void write_packet_info(JsonWriter& w, const diag::PacketInfo& i) {
  w.field("tpacket_version", i.version);
  w.field("copy_thresh", i.copy_thresh);
  w.field("reserve", i.reserve);
  w.field("tstamp", i.tstamp);
  w.key("packet_flags").begin_array();
  for (const PacketFlagName& f : kPacketFlagNames)
    if (i.flags & f.bit) w.value(f.name);
  w.end_array();
}

void write_fanout(JsonWriter& w, uint32_t fanout) {
  const auto type = static_cast<uint16_t>(fanout >> 16);
  w.key("fanout").begin_object();
  w.field("id", fanout & 0xffff);
  if (std::string name = packet_fanout_type_name(type); !name.empty()) w.field("type", name);
  w.field("type_id", type);
  w.end_object();
}

void write_packet_details(JsonWriter& w, const SockInfo& s) {
  if (s.packet_info) write_packet_info(w, *s.packet_info);
  if (s.rx_ring) write_packet_ring(w, "rx_ring", *s.rx_ring);
  if (s.tx_ring) write_packet_ring(w, "tx_ring", *s.tx_ring);
  if (s.fanout) write_fanout(w, *s.fanout);
}

void write_kind_specific(JsonWriter& w, const SockInfo& s) {
  if (s.is_inet() && s.ifindex) {
    w.field("ifindex", s.ifindex);
    w.field("dev", if_name(s.ifindex));
  }
  if (s.kind == SockKind::raw) w.field("protocol", s.raw_protocol);
  if (s.is_packet()) {
    w.field("packet_protocol", s.packet_protocol);
    w.field("ifindex", s.ifindex);
    if (s.ifindex) w.field("dev", if_name(s.ifindex));
    write_packet_details(w, s);
  }
  if (s.is_netlink()) {
    w.field("netlink_protocol", s.netlink_protocol);
    w.field("portid", s.netlink_portid);
    if (s.netlink_state == 1) {  // NETLINK_CONNECTED
      w.field("dst_portid", s.netlink_dst_portid);
      w.field("dst_group", s.netlink_dst_group);
    }
    if (s.has_netlink_groups) w.field("groups", s.netlink_groups);
  }
  if (s.is_unix()) {
    w.field("peer_inode", s.unix_peer_inode);
    if (s.has_unix_vfs) {
      // "major:minor" of the kernel's dev_t (MAJOR << 20 | MINOR,
      // include/linux/kdev_t.h), as /proc/self/mountinfo spells devices.
      w.field("vfs_inode", s.unix_vfs_inode);
      w.field("vfs_dev", std::to_string(s.unix_vfs_dev >> 20) + ":" +
                             std::to_string(s.unix_vfs_dev & 0xfffff));
    }
    if (s.has_unix_pending) {
      w.key("pending_peers").begin_array();
      for (uint32_t peer : s.unix_pending_peers) w.value(peer);
      w.end_array();
    }
  }
}

void write_socket_options(JsonWriter& w, const SockInfo& s) {
  if (s.has_v6only) w.field("v6only", s.v6only);
  if (s.has_shutdown) w.field("shutdown", shutdown_text(s.shutdown));
  if (s.has_mark) w.field("mark", s.mark);
  if (s.has_tos) w.field("tos", s.tos);
  if (s.has_tclass) w.field("tclass", s.tclass);
  if (s.has_class_id) w.field("class_id", s.class_id);
  if (s.has_cgroup) {
    w.field("cgroup_id", s.cgroup_id);
    if (const std::string& path = cgroup_text_of_last(s.cgroup_id);
        !path.starts_with("unreachable:"))
      w.field("cgroup", path);
  }
}

// The JSON names carry the process's whole comm, not ss's text cut at the
// first ')' (users_text): they have no ss counterpart to match.
void write_users(JsonWriter& w, std::span<const sys::SocketUser> users) {
  if (users.empty()) return;
  w.field("pid", users.front().pid);
  w.field("comm", users.front().comm);
  w.key("users").begin_array();
  for (const sys::SocketUser& u : users) {
    w.begin_object();
    w.field("comm", u.comm);
    w.field("pid", u.pid);
    w.field("fd", u.fd);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

void write_sock_fields(JsonWriter& w, const SockInfo& s, std::span<const sys::SocketUser> users) {
  w.field("netns", s.netns);
  w.field("cookie", s.cookie);
  w.field("family", family_name(s));
  w.field("proto", proto_name(s.kind));
  w.field("netid", netid_name(s.kind));
  // Packet sockets have no state of their own; ss shows them UNCONN.
  w.field("state", state_name(s.is_packet() ? uint8_t{diag::kClose} : s.state));
  w.key("laddr");
  write_json_addr(w, s, true);
  // Unix: the port columns of ss are the inode and the peer's inode;
  // packet: the interface the socket is bound to.
  if (s.is_unix()) {
    w.field("lport", s.inode);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", s.unix_peer_inode);
  } else if (s.is_packet()) {
    w.field("lport", s.ifindex);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", 0);
  } else if (s.is_netlink()) {
    // ss's columns: protocol:portid, and group:portid of a connected peer.
    w.field("lport", s.netlink_portid);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", s.netlink_state == 1 ? s.netlink_dst_portid : 0);
  } else {
    w.field("lport", s.local.port);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", s.remote.port);
  }
  w.field("recv_q", s.recv_q);
  w.field("send_q", s.send_q);

  // Minisockets carry no owner: the kernel reports uid 0 and inode 0.
  if (!s.is_minisocket()) {
    // Neither the unix nor the netlink dump carries the owner's uid.
    if (!s.is_unix() && !s.is_netlink()) w.field("uid", s.uid);
    w.field("inode", s.inode);
  }
  write_kind_specific(w, s);
  write_socket_options(w, s);
  if (s.timer) write_timer(w, s);
  if (s.has_skmem) write_skmem(w, s);
  if (s.has_meminfo && !s.has_skmem) write_meminfo(w, s);
  if (!s.cong.empty()) w.field("cong", s.cong);
  if (!s.ulp.empty()) w.field("ulp", s.ulp);
  write_ulp_details(w, s);
  if (s.has_tcp_info) write_tcp_info(w, s);
  write_cong_details(w, s);
  write_users(w, users);
}

}  // namespace sstrace::output
