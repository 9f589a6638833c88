#include "diag/parse.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/mptcp.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tls.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sstrace::diag {
namespace {

// Kernel structs are read by copy: the receive buffer promises no alignment
// to a message that follows an odd-sized one in a hand-built test buffer.
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The netlink.h length macros are int-typed; compare against size_t.
constexpr size_t kNlMsgHdrLen = NLMSG_HDRLEN;
constexpr size_t kNlAttrHdrLen = NLA_HDRLEN;
// The kernel's errors are -MAX_ERRNO..-1 (include/linux/err.h).
constexpr int kMaxErrno = 4095;

Error malformed(const char* what, const std::string& detail) {
  return Error{std::string("malformed ") + what + " reply: " + detail, EPROTO};
}

struct Attr {
  uint16_t type;
  Bytes payload;
};

// Calls fn(Attr) -> Result<void> for each netlink attribute in `data`
// (struct nlattr, linux/netlink.h: 4-byte header, payload, padding to 4).
// The last attribute may lack its padding; anything else that does not add
// up is an Error naming `what`.
template <typename Fn>
Result<void> for_each_attr(Bytes data, const char* what, Fn&& fn) {
  size_t off = 0;
  while (off < data.size()) {
    const size_t left = data.size() - off;
    if (left < kNlAttrHdrLen) {
      return malformed(what, std::to_string(left) + " stray bytes after the last attribute");
    }
    const auto hdr = load<nlattr>(data.data() + off);
    const uint16_t type = hdr.nla_type & NLA_TYPE_MASK;
    if (hdr.nla_len < kNlAttrHdrLen || hdr.nla_len > left) {
      return malformed(what, "attribute " + std::to_string(type) + " claims " +
                                 std::to_string(hdr.nla_len) + " bytes, " + std::to_string(left) +
                                 " remain");
    }
    Bytes payload = data.subspan(off + kNlAttrHdrLen, hdr.nla_len - kNlAttrHdrLen);
    if (auto r = fn(Attr{type, payload}); !r) return r;
    off += std::min<size_t>(NLA_ALIGN(hdr.nla_len), left);
  }
  return {};
}

// A fixed-size attribute must hold at least `size` bytes; newer kernels may
// append fields, which are ignored.
Result<void> need(const Attr& a, size_t size, const char* what, const char* attr_name) {
  if (a.payload.size() >= size) return {};
  return malformed(what, std::string(attr_name) + " has " + std::to_string(a.payload.size()) +
                             " bytes, needs " + std::to_string(size));
}

uint8_t attr_u8(const Attr& a) { return a.payload[0]; }
uint32_t attr_u32(const Attr& a) { return load<uint32_t>(a.payload.data()); }
uint64_t attr_u64(const Attr& a) { return load<uint64_t>(a.payload.data()); }

// Strings are NUL-terminated by nla_put_string(); stop at the NUL, or at the
// end of the payload when a sender forgot it.
void attr_string(const Attr& a, std::string& out) {
  const char* p = reinterpret_cast<const char*>(a.payload.data());
  out.assign(p, strnlen(p, a.payload.size()));
}

// SK_MEMINFO_* array (linux/sock_diag.h). ss always reads the first seven
// entries; backlog and drops arrived later and are optional.
Result<void> read_skmem(const Attr& a, const char* what, SockInfo& out) {
  if (auto r = need(a, SK_MEMINFO_BACKLOG * sizeof(uint32_t), what, "SKMEMINFO"); !r) return r;
  const size_t n = std::min<size_t>(a.payload.size() / sizeof(uint32_t), kSkMemVars);
  for (size_t i = 0; i < n; i++) out.skmem[i] = load<uint32_t>(a.payload.data() + i * 4);
  out.skmem_count = static_cast<uint8_t>(n);
  out.has_skmem = true;
  return {};
}

// The fixed body that follows the nlmsghdr, and the attributes after it.
template <typename Body>
Result<Bytes> split_body(Bytes msg, const char* what, Body& body) {
  if (msg.size() < kNlMsgHdrLen) {
    return malformed(what, "message of " + std::to_string(msg.size()) + " bytes");
  }
  const auto hdr = load<nlmsghdr>(msg.data());
  if (hdr.nlmsg_len > msg.size() || hdr.nlmsg_len < NLMSG_LENGTH(sizeof(Body))) {
    return malformed(what, "nlmsg_len " + std::to_string(hdr.nlmsg_len) + " for a " +
                               std::to_string(sizeof(Body)) + "-byte body in " +
                               std::to_string(msg.size()) + " bytes");
  }
  body = load<Body>(msg.data() + kNlMsgHdrLen);
  const size_t attrs = std::min<size_t>(NLMSG_SPACE(sizeof(Body)), hdr.nlmsg_len);
  return msg.subspan(attrs, hdr.nlmsg_len - attrs);
}

uint64_t cookie_of(const uint32_t (&c)[2]) {
  // sock_diag_save_cookie(): low half first (net/core/sock_diag.c).
  return static_cast<uint64_t>(c[1]) << 32 | c[0];
}

// ---- inet ----------------------------------------------------------------

constexpr const char* kInet = "inet_diag";

// An optional fixed-size value of a nested attribute: set when the payload
// holds it, an Error naming the attribute when it is too short.
template <typename T>
Result<void> read_opt(const Attr& a, const char* attr_name, std::optional<T>& out) {
  if (auto r = need(a, sizeof(T), kInet, attr_name); !r) return r;
  out = load<T>(a.payload.data());
  return {};
}

// INET_ULP_INFO_TLS (net/tls/tls_main.c tls_get_info()): u16 values and
// two flags.
Result<void> tls_attr(const Attr& a, TlsInfo& tls) {
  switch (a.type) {
    case TLS_INFO_VERSION:
      return read_opt(a, "TLS_INFO_VERSION", tls.version);
    case TLS_INFO_CIPHER:
      return read_opt(a, "TLS_INFO_CIPHER", tls.cipher);
    case TLS_INFO_RXCONF:
      return read_opt(a, "TLS_INFO_RXCONF", tls.rxconf);
    case TLS_INFO_TXCONF:
      return read_opt(a, "TLS_INFO_TXCONF", tls.txconf);
    case TLS_INFO_ZC_RO_TX:
      tls.zc_ro_tx = true;
      return {};
    case TLS_INFO_RX_NO_PAD:
      tls.rx_no_pad = true;
      return {};
    default:
      return {};
  }
}

// INET_ULP_INFO_MPTCP (net/mptcp/diag.c subflow_get_info()).
Result<void> mptcp_subflow_attr(const Attr& a, MptcpSubflowInfo& sf) {
  switch (a.type) {
    case MPTCP_SUBFLOW_ATTR_TOKEN_REM:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_TOKEN_REM", sf.token_rem);
    case MPTCP_SUBFLOW_ATTR_TOKEN_LOC:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_TOKEN_LOC", sf.token_loc);
    case MPTCP_SUBFLOW_ATTR_MAP_SEQ:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_MAP_SEQ", sf.map_seq);
    case MPTCP_SUBFLOW_ATTR_MAP_SFSEQ:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_MAP_SFSEQ", sf.map_sfseq);
    case MPTCP_SUBFLOW_ATTR_SSN_OFFSET:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_SSN_OFFSET", sf.ssn_offset);
    case MPTCP_SUBFLOW_ATTR_MAP_DATALEN:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_MAP_DATALEN", sf.map_datalen);
    case MPTCP_SUBFLOW_ATTR_FLAGS:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_FLAGS", sf.flags);
    case MPTCP_SUBFLOW_ATTR_ID_REM:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_ID_REM", sf.id_rem);
    case MPTCP_SUBFLOW_ATTR_ID_LOC:
      return read_opt(a, "MPTCP_SUBFLOW_ATTR_ID_LOC", sf.id_loc);
    default:  // RELWRITE_SEQ, PAD: ss shows neither
      return {};
  }
}

Result<void> inet_ulp(const Attr& a, SockInfo& out) {
  // INET_DIAG_ULP_INFO nests INET_ULP_INFO_NAME and per-ULP details.
  return for_each_attr(a.payload, kInet, [&](const Attr& inner) -> Result<void> {
    switch (inner.type) {
      case INET_ULP_INFO_NAME:
        attr_string(inner, out.ulp);
        return {};
      case INET_ULP_INFO_TLS:
        out.tls.emplace();
        return for_each_attr(inner.payload, kInet,
                             [&](const Attr& t) { return tls_attr(t, *out.tls); });
      case INET_ULP_INFO_MPTCP:
        out.mptcp_sf.emplace();
        return for_each_attr(inner.payload, kInet,
                             [&](const Attr& m) { return mptcp_subflow_attr(m, *out.mptcp_sf); });
      default:
        return {};
    }
  });
}

// INET_DIAG_MD5SIG: an array of struct tcp_diag_md5sig, one per key
// (net/ipv4/tcp_diag.c tcp_diag_put_md5sig()).
Result<void> inet_md5sig(const Attr& a, SockInfo& out) {
  constexpr size_t kEntry = sizeof(tcp_diag_md5sig);
  if (a.payload.empty() || a.payload.size() % kEntry != 0) {
    return malformed(kInet, "INET_DIAG_MD5SIG has " + std::to_string(a.payload.size()) +
                                " bytes, not a whole number of " + std::to_string(kEntry) +
                                "-byte keys");
  }
  for (size_t off = 0; off < a.payload.size(); off += kEntry) {
    const auto m = load<tcp_diag_md5sig>(a.payload.data() + off);
    Md5Key& k = out.md5keys.emplace_back();
    k.family = m.tcpm_family;
    k.prefixlen = m.tcpm_prefixlen;
    k.keylen = std::min<uint16_t>(m.tcpm_keylen, Md5Key::kMaxKeyLen);
    std::memcpy(k.addr.data(), m.tcpm_addr, k.addr.size());
    std::memcpy(k.key.data(), m.tcpm_key, k.key.size());
  }
  return {};
}

Result<void> inet_cc(const Attr& a, SockInfo& out) {
  switch (a.type) {
    case INET_DIAG_VEGASINFO: {
      if (auto r = need(a, sizeof(tcpvegas_info), kInet, "INET_DIAG_VEGASINFO"); !r) return r;
      const auto v = load<tcpvegas_info>(a.payload.data());
      out.vegas = {v.tcpv_enabled, v.tcpv_rttcnt, v.tcpv_rtt, v.tcpv_minrtt};
      out.has_vegas = true;
      return {};
    }
    case INET_DIAG_DCTCPINFO: {
      if (auto r = need(a, sizeof(tcp_dctcp_info), kInet, "INET_DIAG_DCTCPINFO"); !r) return r;
      const auto d = load<tcp_dctcp_info>(a.payload.data());
      out.dctcp = {d.dctcp_enabled, d.dctcp_ce_state, d.dctcp_alpha, d.dctcp_ab_ecn,
                   d.dctcp_ab_tot};
      out.has_dctcp = true;
      return {};
    }
    default: {  // INET_DIAG_BBRINFO
      if (auto r = need(a, sizeof(tcp_bbr_info), kInet, "INET_DIAG_BBRINFO"); !r) return r;
      const auto b = load<tcp_bbr_info>(a.payload.data());
      out.bbr = {static_cast<uint64_t>(b.bbr_bw_hi) << 32 | b.bbr_bw_lo, b.bbr_min_rtt,
                 b.bbr_pacing_gain, b.bbr_cwnd_gain};
      out.has_bbr = true;
      return {};
    }
  }
}

Result<void> inet_attr(const Attr& a, SockInfo& out) {
  switch (a.type) {
    case INET_DIAG_INFO: {
      // Kernels newer than our linux/tcp.h send a longer tcp_info and older
      // ones a shorter one; keep what both know, zero the rest (as ss does).
      const size_t n = std::min(a.payload.size(), sizeof(out.tcp_info));
      std::memcpy(&out.tcp_info, a.payload.data(), n);
      out.tcp_info_len = static_cast<uint32_t>(n);
      out.has_tcp_info = true;
      return {};
    }
    case INET_DIAG_MEMINFO: {
      if (auto r = need(a, sizeof(inet_diag_meminfo), kInet, "INET_DIAG_MEMINFO"); !r) return r;
      const auto m = load<inet_diag_meminfo>(a.payload.data());
      out.meminfo = {m.idiag_rmem, m.idiag_wmem, m.idiag_fmem, m.idiag_tmem};
      out.has_meminfo = true;
      return {};
    }
    case INET_DIAG_SKMEMINFO:
      return read_skmem(a, kInet, out);
    case INET_DIAG_CONG:
      attr_string(a, out.cong);
      return {};
    case INET_DIAG_VEGASINFO:
    case INET_DIAG_DCTCPINFO:
    case INET_DIAG_BBRINFO:
      return inet_cc(a, out);
    case INET_DIAG_ULP_INFO:
      return inet_ulp(a, out);
    case INET_DIAG_MD5SIG:
      return inet_md5sig(a, out);
    case INET_DIAG_SHUTDOWN:
      if (auto r = need(a, 1, kInet, "INET_DIAG_SHUTDOWN"); !r) return r;
      out.shutdown = attr_u8(a);
      out.has_shutdown = true;
      return {};
    case INET_DIAG_TOS:
      if (auto r = need(a, 1, kInet, "INET_DIAG_TOS"); !r) return r;
      out.tos = attr_u8(a);
      out.has_tos = true;
      return {};
    case INET_DIAG_TCLASS:
      if (auto r = need(a, 1, kInet, "INET_DIAG_TCLASS"); !r) return r;
      out.tclass = attr_u8(a);
      out.has_tclass = true;
      return {};
    case INET_DIAG_SKV6ONLY:
      if (auto r = need(a, 1, kInet, "INET_DIAG_SKV6ONLY"); !r) return r;
      out.v6only = attr_u8(a) != 0;
      out.has_v6only = true;
      return {};
    case INET_DIAG_PROTOCOL:
      if (auto r = need(a, 1, kInet, "INET_DIAG_PROTOCOL"); !r) return r;
      out.raw_protocol = attr_u8(a);
      return {};
    case INET_DIAG_MARK:
      if (auto r = need(a, 4, kInet, "INET_DIAG_MARK"); !r) return r;
      out.mark = attr_u32(a);
      out.has_mark = true;
      return {};
    case INET_DIAG_CLASS_ID:
      if (auto r = need(a, 4, kInet, "INET_DIAG_CLASS_ID"); !r) return r;
      out.class_id = attr_u32(a);
      out.has_class_id = true;
      return {};
    case INET_DIAG_CGROUP_ID:
      if (auto r = need(a, 8, kInet, "INET_DIAG_CGROUP_ID"); !r) return r;
      out.cgroup_id = attr_u64(a);
      out.has_cgroup = true;
      return {};
    default:  // PAD, SOCKOPT, BPF storages, ...: not ours to show
      return {};
  }
}

// ---- unix ----------------------------------------------------------------

constexpr const char* kUnix = "unix_diag";

// UNIX_DIAG_NAME is sun_path as bound (net/unix/diag.c), without the
// family. A path name ends at its NUL; an abstract name starts with one and
// may hold more, which ss prints as '@' like the leading one.
void unix_name(Bytes name, std::string& out) {
  const char* p = reinterpret_cast<const char*>(name.data());
  if (name.empty() || name[0] != 0) {
    out.assign(p, strnlen(p, name.size()));
    return;
  }
  out.assign(p, name.size());
  std::replace(out.begin(), out.end(), '\0', '@');
}

SockKind unix_kind(uint8_t type) {
  // ss shows anything but stream and seqpacket as u_dgr (SOCK_RAW becomes
  // SOCK_DGRAM at creation in net/unix/af_unix.c anyway).
  switch (type) {
    case SOCK_STREAM:
      return SockKind::unix_stream;
    case SOCK_SEQPACKET:
      return SockKind::unix_seqpacket;
    default:
      return SockKind::unix_dgram;
  }
}

Result<void> unix_attr(const Attr& a, SockInfo& out) {
  switch (a.type) {
    case UNIX_DIAG_NAME:
      unix_name(a.payload, out.unix_path);
      return {};
    case UNIX_DIAG_VFS: {
      if (auto r = need(a, sizeof(unix_diag_vfs), kUnix, "UNIX_DIAG_VFS"); !r) return r;
      const auto v = load<unix_diag_vfs>(a.payload.data());
      out.unix_vfs_inode = v.udiag_vfs_ino;
      out.unix_vfs_dev = v.udiag_vfs_dev;
      out.has_unix_vfs = true;
      return {};
    }
    case UNIX_DIAG_PEER:
      if (auto r = need(a, 4, kUnix, "UNIX_DIAG_PEER"); !r) return r;
      out.unix_peer_inode = attr_u32(a);
      return {};
    case UNIX_DIAG_RQLEN: {
      // Listeners: pending connections and the backlog limit; others: bytes
      // (stream) or datagram bytes queued (net/unix/diag.c sk_diag_show_rqlen).
      if (auto r = need(a, sizeof(unix_diag_rqlen), kUnix, "UNIX_DIAG_RQLEN"); !r) return r;
      const auto q = load<unix_diag_rqlen>(a.payload.data());
      out.recv_q = q.udiag_rqueue;
      out.send_q = q.udiag_wqueue;
      out.has_unix_rqlen = true;
      return {};
    }
    case UNIX_DIAG_MEMINFO:
      return read_skmem(a, kUnix, out);
    case UNIX_DIAG_SHUTDOWN:
      if (auto r = need(a, 1, kUnix, "UNIX_DIAG_SHUTDOWN"); !r) return r;
      out.shutdown = attr_u8(a);
      out.has_shutdown = true;
      return {};
    case UNIX_DIAG_UID:
      if (auto r = need(a, 4, kUnix, "UNIX_DIAG_UID"); !r) return r;
      out.uid = attr_u32(a);
      return {};
    case UNIX_DIAG_ICONS: {
      // One u32 per queued connection (net/unix/diag.c sk_diag_dump_icons);
      // present, possibly empty, on listeners only.
      if (a.payload.size() % 4 != 0) {
        return malformed(kUnix, "UNIX_DIAG_ICONS of " + std::to_string(a.payload.size()) +
                                    " bytes (not whole u32s)");
      }
      out.has_unix_pending = true;
      for (size_t off = 0; off < a.payload.size(); off += 4) {
        out.unix_pending_peers.push_back(load<uint32_t>(a.payload.data() + off));
      }
      return {};
    }
    default:
      return {};
  }
}

// ---- packet --------------------------------------------------------------

constexpr const char* kPacket = "packet_diag";

Result<void> packet_ring(const Attr& a, const char* attr_name, std::optional<PacketRing>& out) {
  if (auto r = need(a, sizeof(packet_diag_ring), kPacket, attr_name); !r) return r;
  const auto g = load<packet_diag_ring>(a.payload.data());
  out = PacketRing{g.pdr_block_size, g.pdr_block_nr,    g.pdr_frame_size, g.pdr_frame_nr,
                   g.pdr_retire_tmo, g.pdr_sizeof_priv, g.pdr_features};
  return {};
}

Result<void> packet_attr(const Attr& a, SockInfo& out) {
  switch (a.type) {
    case PACKET_DIAG_INFO: {
      if (auto r = need(a, sizeof(packet_diag_info), kPacket, "PACKET_DIAG_INFO"); !r) return r;
      const auto i = load<packet_diag_info>(a.payload.data());
      out.ifindex = i.pdi_index;
      out.packet_info =
          PacketInfo{i.pdi_version, i.pdi_reserve, i.pdi_copy_thresh, i.pdi_tstamp, i.pdi_flags};
      return {};
    }
    case PACKET_DIAG_RX_RING:
      return packet_ring(a, "PACKET_DIAG_RX_RING", out.rx_ring);
    case PACKET_DIAG_TX_RING:
      return packet_ring(a, "PACKET_DIAG_TX_RING", out.tx_ring);
    case PACKET_DIAG_FANOUT:
      if (auto r = need(a, 4, kPacket, "PACKET_DIAG_FANOUT"); !r) return r;
      out.fanout = attr_u32(a);
      return {};
    case PACKET_DIAG_UID:
      if (auto r = need(a, 4, kPacket, "PACKET_DIAG_UID"); !r) return r;
      out.uid = attr_u32(a);
      return {};
    case PACKET_DIAG_MEMINFO:
      if (auto r = read_skmem(a, kPacket, out); !r) return r;
      // ss's Recv-Q for packet sockets is the receive memory in use.
      out.recv_q = out.skmem[kRmemAlloc];
      return {};
    default:  // MCLIST, FILTER: ss shows neither with -e (FILTER only with -b)
      return {};
  }
}

// ---- netlink -------------------------------------------------------------

constexpr const char* kNetlink = "netlink_diag";

Result<void> netlink_attr(const Attr& a, SockInfo& out) {
  switch (a.type) {
    case NETLINK_DIAG_MEMINFO:  // type 0 (linux/netlink_diag.h)
      if (auto r = read_skmem(a, kNetlink, out); !r) return r;
      // ss.c netlink_show_sock(): Recv-Q and Send-Q are the memory in use.
      out.recv_q = out.skmem[kRmemAlloc];
      out.send_q = out.skmem[kWmemAlloc];
      return {};
    case NETLINK_DIAG_GROUPS: {
      // A bitmap of unsigned longs (sk_diag_dump_groups(),
      // net/netlink/diag.c); empty when the socket joined no group. ss reads
      // the first long and prints its low 32 bits.
      if (a.payload.empty()) return {};
      uint64_t g = 0;
      std::memcpy(&g, a.payload.data(), std::min(a.payload.size(), sizeof g));
      out.netlink_groups = g;
      out.has_netlink_groups = true;
      return {};
    }
    default:  // RX_RING, TX_RING, FLAGS: not shown by ss
      return {};
  }
}

// ---- /proc/net ----------------------------------------------------------

constexpr const char* kProc = "/proc/net";

template <typename T>
bool parse_num(std::string_view s, int base, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

// Splits on spaces into at most N fields; returns how many it found.
template <size_t N>
size_t split_fields(std::string_view line, std::array<std::string_view, N>& out) {
  size_t n = 0;
  size_t i = 0;
  while (n < N) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i >= line.size()) break;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') j++;
    out[n++] = line.substr(i, j - i);
    i = j;
  }
  return n;
}

// "0100007F:0035" or 32 hex digits and a port. The kernel prints each 32-bit
// word of the address as it sits in memory, read as a host integer
// (net/ipv4/raw.c, net/ipv6/datagram.c __ip6_dgram_sock_seq_show), so
// storing the parsed words back in host order restores the bytes.
bool parse_proc_endpoint(std::string_view field, uint8_t family, Endpoint& out) {
  const size_t colon = field.find(':');
  const size_t words = family == AF_INET6 ? 4 : 1;
  if (colon != words * 8) return false;
  for (size_t w = 0; w < words; w++) {
    uint32_t v = 0;
    if (!parse_num(field.substr(w * 8, 8), 16, v)) return false;
    std::memcpy(out.addr.data() + w * 4, &v, 4);
  }
  return parse_num(field.substr(colon + 1), 16, out.port);
}

}  // namespace

Result<bool> parse_proc_net_line(std::string_view line, uint8_t family, SockKind kind,
                                 SockInfo& out) {
  // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
  std::array<std::string_view, 10> f;
  const size_t n = split_fields(line, f);
  if (n >= 1 && f[0] == "sl") return false;
  out.clear();
  if (n < f.size()) {
    return malformed(kProc, "line with " + std::to_string(n) + " fields: " + std::string(line));
  }
  const size_t q = f[4].find(':');
  const bool ok = parse_proc_endpoint(f[1], family, out.local) &&
                  parse_proc_endpoint(f[2], family, out.remote) && parse_num(f[3], 16, out.state) &&
                  q != std::string_view::npos && parse_num(f[4].substr(0, q), 16, out.send_q) &&
                  parse_num(f[4].substr(q + 1), 16, out.recv_q) && parse_num(f[7], 10, out.uid) &&
                  parse_num(f[9], 10, out.inode);
  if (!ok) return malformed(kProc, "cannot read line: " + std::string(line));
  out.kind = kind;
  out.family = family;
  out.from_proc = true;
  if (kind == SockKind::raw) out.raw_protocol = static_cast<uint8_t>(out.local.port);
  return true;
}

Result<Bytes> MessageReader::next() {
  if (off_ >= data_.size()) return Bytes{};
  const size_t left = data_.size() - off_;
  if (left < kNlMsgHdrLen) {
    return malformed("netlink", "message header cut short: " + std::to_string(left) + " bytes");
  }
  const auto hdr = load<nlmsghdr>(data_.data() + off_);
  if (hdr.nlmsg_len < kNlMsgHdrLen || hdr.nlmsg_len > left) {
    return malformed("netlink", "nlmsg_len " + std::to_string(hdr.nlmsg_len) + " with " +
                                    std::to_string(left) + " bytes left in the datagram");
  }
  Bytes msg = data_.subspan(off_, hdr.nlmsg_len);
  off_ += std::min<size_t>(NLMSG_ALIGN(hdr.nlmsg_len), left);
  return msg;
}

NlHeader header_of(Bytes msg) {
  if (msg.size() < kNlMsgHdrLen) return {};
  const auto h = load<nlmsghdr>(msg.data());
  return {h.nlmsg_len, h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_pid};
}

Result<int> parse_error_msg(Bytes msg) {
  if (msg.size() < NLMSG_LENGTH(sizeof(int))) {
    return malformed("netlink", "NLMSG_ERROR of " + std::to_string(msg.size()) + " bytes");
  }
  // struct nlmsgerr starts with the negative errno (0: an ACK).
  const int v = load<int>(msg.data() + kNlMsgHdrLen);
  if (v > 0 || v < -kMaxErrno) {
    return malformed("netlink", "NLMSG_ERROR with error " + std::to_string(v));
  }
  return -v;
}

int parse_done_msg(Bytes msg) {
  if (msg.size() < NLMSG_LENGTH(sizeof(int))) return 0;
  // netlink_dump_done() puts the dump callback's result (<= 0) here; a
  // positive one is a count some dumpers return, harmless.
  const int v = load<int>(msg.data() + kNlMsgHdrLen);
  if (v < -kMaxErrno) return EPROTO;  // no errno: -INT_MIN would not even negate
  return v < 0 ? -v : 0;
}

Result<void> parse_inet(Bytes msg, SockKind kind, SockInfo& out) {
  out.clear();
  inet_diag_msg r{};
  auto attrs = split_body(msg, kInet, r);
  if (!attrs) return attrs.error();

  out.kind = kind;
  out.family = r.idiag_family;
  if (r.idiag_family == AF_INET) {
    std::memcpy(out.local.addr.data(), r.id.idiag_src, 4);
    std::memcpy(out.remote.addr.data(), r.id.idiag_dst, 4);
  } else if (r.idiag_family == AF_INET6) {
    std::memcpy(out.local.addr.data(), r.id.idiag_src, 16);
    std::memcpy(out.remote.addr.data(), r.id.idiag_dst, 16);
  } else {
    return malformed(kInet, "address family " + std::to_string(r.idiag_family));
  }
  out.local.port = ntohs(r.id.idiag_sport);
  out.remote.port = ntohs(r.id.idiag_dport);
  out.ifindex = r.id.idiag_if;
  out.cookie = cookie_of(r.id.idiag_cookie);
  // Timewait minisockets report their substate here, request minisockets
  // SYN-RECV; UDP and RAW use TCP_CLOSE for unconnected sockets (ss: UNCONN)
  // and TCP_ESTABLISHED for connected ones (net/ipv4/inet_diag.c).
  out.state = r.idiag_state;
  out.timer = r.idiag_timer;
  out.retrans = r.idiag_retrans;
  out.expires_ms = r.idiag_expires;
  out.recv_q = r.idiag_rqueue;
  out.send_q = r.idiag_wqueue;
  out.uid = r.idiag_uid;
  out.inode = r.idiag_inode;

  return for_each_attr(*attrs, kInet, [&](const Attr& a) { return inet_attr(a, out); });
}

Result<void> parse_unix(Bytes msg, SockInfo& out) {
  out.clear();
  unix_diag_msg r{};
  auto attrs = split_body(msg, kUnix, r);
  if (!attrs) return attrs.error();

  out.kind = unix_kind(r.udiag_type);
  out.family = AF_UNIX;
  out.state = r.udiag_state;
  out.inode = r.udiag_ino;
  out.cookie = cookie_of(r.udiag_cookie);
  return for_each_attr(*attrs, kUnix, [&](const Attr& a) { return unix_attr(a, out); });
}

Result<void> parse_packet(Bytes msg, SockInfo& out) {
  out.clear();
  packet_diag_msg r{};
  auto attrs = split_body(msg, kPacket, r);
  if (!attrs) return attrs.error();

  // Anything but SOCK_RAW (SOCK_DGRAM, the old SOCK_PACKET) is p_dgr in ss.
  out.kind = r.pdiag_type == SOCK_RAW ? SockKind::packet_raw : SockKind::packet_dgram;
  out.family = AF_PACKET;
  out.state = kClose;                 // ss shows every packet socket as UNCONN
  out.packet_protocol = r.pdiag_num;  // already host order (net/packet/diag.c)
  out.inode = r.pdiag_ino;
  out.cookie = cookie_of(r.pdiag_cookie);
  return for_each_attr(*attrs, kPacket, [&](const Attr& a) { return packet_attr(a, out); });
}

Result<void> parse_netlink(Bytes msg, SockInfo& out) {
  out.clear();
  netlink_diag_msg r{};
  auto attrs = split_body(msg, kNetlink, r);
  if (!attrs) return attrs.error();

  out.kind = SockKind::netlink;
  out.family = AF_NETLINK;
  out.state = kClose;  // ss.c netlink_show_one(): .state = SS_CLOSE for all
  out.netlink_protocol = r.ndiag_protocol;
  out.netlink_state = r.ndiag_state;
  out.netlink_portid = r.ndiag_portid;
  out.netlink_dst_portid = r.ndiag_dst_portid;
  out.netlink_dst_group = r.ndiag_dst_group;
  out.inode = r.ndiag_ino;
  out.cookie = cookie_of(r.ndiag_cookie);
  return for_each_attr(*attrs, kNetlink, [&](const Attr& a) { return netlink_attr(a, out); });
}

}  // namespace sstrace::diag
