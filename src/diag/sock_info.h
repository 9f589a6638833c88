// One socket as a NETLINK_SOCK_DIAG dump describes it. The parser fills one
// reused SockInfo per message (no per-socket allocation on large dumps), and
// the filter, the formatters and the connection table read it. Plain data:
// no kernel headers beyond <linux/tcp.h> leak out of src/diag.
#pragma once

#include <linux/tcp.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sstrace::diag {

// Which dump a socket came from; also ss's Netid column.
enum class SockKind : uint8_t {
  tcp,
  udp,
  raw,
  unix_stream,
  unix_dgram,
  unix_seqpacket,
  packet_raw,
  packet_dgram,
  netlink  // ss's "nl"
};

// Kernel TCP state numbering (include/net/tcp_states.h); UDP, RAW, UNIX and
// PACKET sockets use the same numbers (UNCONN is TCP_CLOSE); NETLINK sockets
// are all TCP_CLOSE here, as ss shows them (their own state is
// SockInfo::netlink_state).
enum TcpState : uint8_t {
  kEstablished = 1,
  kSynSent,
  kSynRecv,
  kFinWait1,
  kFinWait2,
  kTimeWait,
  kClose,
  kCloseWait,
  kLastAck,
  kListen,
  kClosing,
  kNewSynRecv,
  kBoundInactive,
  kMaxState,
};

// ss's SK_MEMINFO_* order (linux/sock_diag.h).
enum SkMem : uint8_t {
  kRmemAlloc = 0,
  kRcvbuf,
  kWmemAlloc,
  kSndbuf,
  kFwdAlloc,
  kWmemQueued,
  kOptmem,
  kBacklog,
  kDrops,
  kSkMemVars,
};

// Congestion-control details (INET_DIAG_VEGASINFO / DCTCPINFO / BBRINFO,
// linux/inet_diag.h), what ss -i prints after the tcp_info fields.
struct VegasInfo {
  uint32_t enabled = 0;
  uint32_t rttcnt = 0;
  uint32_t rtt_us = 0;
  uint32_t minrtt_us = 0;
};
struct DctcpInfo {
  uint16_t enabled = 0;
  uint16_t ce_state = 0;
  uint32_t alpha = 0;
  uint32_t ab_ecn = 0;
  uint32_t ab_tot = 0;
};
struct BbrInfo {
  uint64_t bw = 0;  // bytes per second
  uint32_t min_rtt_us = 0;
  uint32_t pacing_gain = 0;  // << 8
  uint32_t cwnd_gain = 0;    // << 8
};

// INET_ULP_INFO_TLS (linux/tls.h TLS_INFO_*, net/tls/tls_main.c
// tls_get_info()): each part only when the kernel sent it. version and
// cipher are the TLS_*_VERSION and TLS_CIPHER_* numbers, the confs
// TLS_CONF_* (0 none, 1 sw, 2 hw, 3 hw-record).
struct TlsInfo {
  std::optional<uint16_t> version;
  std::optional<uint16_t> cipher;
  std::optional<uint16_t> rxconf;
  std::optional<uint16_t> txconf;
  bool zc_ro_tx = false;   // TLS_INFO_ZC_RO_TX: zero-copy sendfile on a hw TX path
  bool rx_no_pad = false;  // TLS_INFO_RX_NO_PAD (TLS 1.3 only)
};

// INET_ULP_INFO_MPTCP: an MPTCP subflow's state (linux/mptcp.h
// MPTCP_SUBFLOW_ATTR_*, net/mptcp/diag.c subflow_get_info()). The tokens
// and ids come to CAP_NET_ADMIN only, and ss prints them only when all four
// came.
struct MptcpSubflowInfo {
  std::optional<uint32_t> flags;  // MPTCP_SUBFLOW_FLAG_*
  std::optional<uint32_t> token_rem;
  std::optional<uint32_t> token_loc;
  std::optional<uint8_t> id_rem;
  std::optional<uint8_t> id_loc;
  std::optional<uint64_t> map_seq;
  std::optional<uint32_t> map_sfseq;
  std::optional<uint32_t> ssn_offset;
  std::optional<uint16_t> map_datalen;  // nla_put_u16 (ss reads a u32 over the padding)
  bool has_tokens() const { return token_rem && token_loc && id_rem && id_loc; }
};

// One key of INET_DIAG_MD5SIG (struct tcp_diag_md5sig, linux/tcp.h): the
// peer prefix it signs for and the key itself, which the kernel shows to
// CAP_NET_ADMIN only.
struct Md5Key {
  static constexpr size_t kMaxKeyLen = 80;  // TCP_MD5SIG_MAXKEYLEN
  uint8_t family = 0;
  uint8_t prefixlen = 0;
  uint16_t keylen = 0;  // bytes of `key` in use, at most kMaxKeyLen
  std::array<uint8_t, 16> addr{};
  std::array<uint8_t, kMaxKeyLen> key{};
};

// PACKET_DIAG_RX_RING / TX_RING (struct packet_diag_ring,
// linux/packet_diag.h): a PACKET_RX_RING/PACKET_TX_RING mmap ring's shape.
struct PacketRing {
  uint32_t block_size = 0;
  uint32_t block_nr = 0;
  uint32_t frame_size = 0;
  uint32_t frame_nr = 0;
  uint32_t retire_tmo = 0;  // TPACKET_V3 block timeout, ms
  uint32_t sizeof_priv = 0;
  uint32_t features = 0;  // TPACKET_V3 feature request word
};

// PACKET_DIAG_INFO beyond the interface (struct packet_diag_info).
struct PacketInfo {
  uint32_t version = 0;  // TPACKET_V1 (0), V2 (1), V3 (2)
  uint32_t reserve = 0;
  uint32_t copy_thresh = 0;
  uint32_t tstamp = 0;  // SOF_TIMESTAMPING_* of PACKET_TIMESTAMP
  uint32_t flags = 0;   // PDI_RUNNING, PDI_AUXDATA, PDI_ORIGDEV, PDI_VNETHDR, PDI_LOSS
};

struct Endpoint {
  std::array<uint8_t, 16> addr{};  // network order; IPv4 in the first 4 bytes
  uint16_t port = 0;               // host order
};

struct SockInfo {
  SockKind kind = SockKind::tcp;
  uint8_t family = 0;  // AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK
  uint8_t state = 0;   // TcpState
  uint32_t recv_q = 0;
  uint32_t send_q = 0;
  Endpoint local;
  Endpoint remote;
  uint32_t ifindex = 0;  // bound device (inet), interface (packet)
  uint32_t uid = 0;
  uint64_t inode = 0;
  uint64_t cookie = 0;
  uint32_t netns = 0;  // inode of the namespace the dump ran in (set by the dumper)

  // -o: idiag_timer (1 on, 2 keepalive, 3 timewait, 4 persist), expiry, retrans.
  uint8_t timer = 0;
  uint8_t retrans = 0;
  uint32_t expires_ms = 0;

  // Optional attributes: has_* says whether the kernel sent them.
  bool has_skmem = false;
  std::array<uint32_t, kSkMemVars> skmem{};
  uint8_t skmem_count = 0;  // entries the kernel sent (older kernels: no backlog/drops)
  // INET_DIAG_MEMINFO (rmem, wmem, fmem, tmem): ss -m's fallback when a
  // kernel has no SKMEMINFO.
  bool has_meminfo = false;
  std::array<uint32_t, 4> meminfo{};
  bool has_tcp_info = false;
  uint32_t tcp_info_len = 0;  // bytes the kernel filled; fields past it are absent
  struct tcp_info tcp_info {};
  std::string cong;            // INET_DIAG_CONG
  std::string ulp;             // INET_DIAG_ULP_INFO name ("tls", "mptcp"); "" when none
  std::optional<TlsInfo> tls;  // INET_ULP_INFO_TLS
  std::optional<MptcpSubflowInfo> mptcp_sf;  // INET_ULP_INFO_MPTCP
  std::vector<Md5Key> md5keys;               // INET_DIAG_MD5SIG; empty when none
  bool has_vegas = false;
  VegasInfo vegas;
  bool has_dctcp = false;
  DctcpInfo dctcp;
  bool has_bbr = false;
  BbrInfo bbr;
  bool has_shutdown = false;
  uint8_t shutdown = 0;
  bool has_mark = false;
  uint32_t mark = 0;
  bool has_tos = false;
  uint8_t tos = 0;
  bool has_tclass = false;
  uint8_t tclass = 0;
  bool has_class_id = false;
  uint32_t class_id = 0;  // INET_DIAG_CLASS_ID (net_cls, else priority)
  bool has_cgroup = false;
  uint64_t cgroup_id = 0;
  bool has_v6only = false;
  bool v6only = false;
  uint8_t raw_protocol = 0;  // RAW: IPPROTO_* it was opened with
  // Read from /proc/net (RAW without raw_diag), not from a sock_diag dump:
  // no filter bytecode ran on it in the kernel.
  bool from_proc = false;
  // Read from a saved dump (TCPDIAG_FILE): no bytecode ran on it either.
  bool from_file = false;

  // UNIX
  std::string unix_path;  // "" unnamed; abstract names start with '@'
  uint64_t unix_peer_inode = 0;
  bool has_unix_rqlen = false;
  bool has_unix_vfs = false;  // bound to a path: the file's inode and device
  uint64_t unix_vfs_inode = 0;
  uint32_t unix_vfs_dev = 0;  // kernel dev_t encoding (MAJOR << 20 | MINOR)
  // A listener's connections not yet accepted (UNIX_DIAG_ICONS, asked for
  // with DumpRequest::want_unix_pending): each one's peer inode, the
  // connecting socket's, in queue order; 0 where the peer is gone.
  bool has_unix_pending = false;
  std::vector<uint32_t> unix_pending_peers;

  // PACKET
  uint16_t packet_protocol = 0;           // host order ETH_P_*
  std::optional<PacketInfo> packet_info;  // PACKET_DIAG_INFO
  std::optional<PacketRing> rx_ring;      // PACKET_DIAG_RX_RING: only with a ring set up
  std::optional<PacketRing> tx_ring;      // PACKET_DIAG_TX_RING
  // PACKET_DIAG_FANOUT: the group id in the low 16 bits, PACKET_FANOUT_*
  // type above (net/packet/diag.c pdiag_put_fanout()).
  std::optional<uint32_t> fanout;

  // NETLINK (struct netlink_diag_msg, linux/netlink_diag.h)
  uint8_t netlink_protocol = 0;  // NETLINK_ROUTE, NETLINK_SOCK_DIAG, ...
  uint8_t netlink_state = 0;     // NETLINK_UNCONNECTED (0) or NETLINK_CONNECTED (1)
  uint32_t netlink_portid = 0;   // 0: the kernel's socket; often the owner's pid
  uint32_t netlink_dst_portid = 0;
  uint32_t netlink_dst_group = 0;
  bool has_netlink_groups = false;
  uint64_t netlink_groups = 0;  // first word of NETLINK_DIAG_GROUPS (groups 1-64)

  // Back to a fresh SockInfo, keeping the strings' and the key list's
  // capacity: the dumper reuses one SockInfo for every socket of a dump.
  void clear() {
    std::string c = std::move(cong), u = std::move(ulp), p = std::move(unix_path);
    std::vector<uint32_t> pending = std::move(unix_pending_peers);
    std::vector<Md5Key> k = std::move(md5keys);
    *this = SockInfo{};
    cong = std::move(c);
    ulp = std::move(u);
    unix_path = std::move(p);
    unix_pending_peers = std::move(pending);
    md5keys = std::move(k);
    cong.clear();
    ulp.clear();
    unix_path.clear();
    unix_pending_peers.clear();
    md5keys.clear();
  }

  bool is_inet() const {
    return kind == SockKind::tcp || kind == SockKind::udp || kind == SockKind::raw;
  }
  bool is_unix() const {
    return kind == SockKind::unix_stream || kind == SockKind::unix_dgram ||
           kind == SockKind::unix_seqpacket;
  }
  bool is_packet() const { return kind == SockKind::packet_raw || kind == SockKind::packet_dgram; }
  bool is_netlink() const { return kind == SockKind::netlink; }
  // Timewait and request minisockets: no inode, no tcp_info.
  bool is_minisocket() const {
    return kind == SockKind::tcp && inode == 0 && (timer == 3 || state == kSynRecv);
  }
};

}  // namespace sstrace::diag
