// NETLINK_SOCK_DIAG client: dumps of inet (TCP, UDP, RAW; v4 and v6), UNIX,
// PACKET and NETLINK sockets, streamed one message at a time into a reused SockInfo.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "diag/sock_info.h"
#include "sys/fd.h"
#include "sys/proc_env.h"

namespace sstrace::diag {

// What to dump. The dumps run in ss's order: netlink, packet, unix, raw, udp, tcp;
// within each inet protocol AF_INET before AF_INET6.
//
// RAW on kernels without raw_diag (CONFIG_INET_RAW_DIAG unset, as on the
// reference kernel): like ss, the sockets come from /proc/net/raw{,6} of the
// socket's namespace instead. Those carry no cookie (0), no bound device
// and no extensions, and the bytecode cannot run on them: the caller's
// user-space filter must decide, as ss's run_ssfilter() does for every
// socket anyway. `states` is applied here.
struct DumpRequest {
  bool tcp = false, udp = false, raw = false, unix_ = false, packet = false;
  // NETLINK sockets are all "UNCONN" too: dumped only when kClose is in
  // `states`, like packet ones. The dump includes this SockDiag's own socket.
  bool netlink = false;
  bool ipv4 = true, ipv6 = true;  // for tcp/udp/raw
  // Bitmask of 1 << TcpState, applied by the kernel to inet and unix dumps.
  // Packet and netlink sockets are all "UNCONN": like ss, they are dumped
  // only when kClose is in the mask.
  uint32_t states = ~0u;
  // Attributes to ask for (idiag_ext); cost kernel time, so only on demand.
  bool want_info = false;   // INET_DIAG_INFO (tcp_info), INET_DIAG_CONG, VEGAS/DCTCP/BBR, ULP
  bool want_skmem = false;  // INET_DIAG_SKMEMINFO (+MEMINFO), UNIX_DIAG_MEMINFO
  bool want_tos = false;    // INET_DIAG_TOS / TCLASS (+CLASS_ID)
  // UNIX_DIAG_ICONS: a listener's pending connections (ss asks with -e).
  // The kernel walks each listener's queue under its lock for it.
  bool want_unix_pending = false;
  // INET_DIAG_REQ_BYTECODE for inet dumps (filter::Filter::inet_bytecode());
  // empty: none. The kernel rejects bytecode that fails its audit (EINVAL).
  std::vector<uint8_t> inet_bytecode;
  // -D FILE: the raw netlink replies are written here as they arrive.
  std::FILE* raw_out = nullptr;
  // ss's PROC_ROOT / PROC_NET_{TCP,UDP,RAW}{,6} (sys::proc_table_override):
  // where one is given, that protocol is read from those files and
  // sock_diag is not asked, as ss does. A file that cannot be opened is an
  // error naming the variable (ss would show nothing).
  std::optional<sys::ProcTable> proc_tcp, proc_udp, proc_raw;
};

// Called once per socket; the SockInfo is reused between calls.
using SockCallback = std::function<void(const SockInfo&)>;

// Exact-match lookup key for one inet socket (no dump): the kernel answers
// with the socket, including timewait and request minisockets, or ENOENT.
struct SockKey {
  uint8_t family = 0;
  uint8_t protocol = 0;  // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_RAW
  Endpoint local;
  Endpoint remote;
  // 0 or ~0 (INET_DIAG_NOCOOKIE in both halves) when unknown: then any
  // socket with these addresses and ports answers. With a cookie, only
  // that very socket does.
  uint64_t cookie = 0;
  uint32_t ifindex = 0;      // bound device, for sockets bound to one
  uint8_t raw_protocol = 0;  // IPPROTO_RAW lookups: the protocol it was opened with
};

// Counters of the last dump(), for -v and the benchmarks.
struct DumpStats {
  uint64_t sockets = 0;    // callbacks made
  uint64_t messages = 0;   // netlink messages received
  uint64_t datagrams = 0;  // recvmsg() calls that returned data
  uint64_t bytes = 0;
  uint32_t skipped = 0;    // dumps the kernel cannot do (no diag module for them)
  uint32_t from_proc = 0;  // of which were read from /proc/net instead
};

// RAII NETLINK_SOCK_DIAG socket, bound to the network namespace the calling
// thread was in when it was opened.
class SockDiag {
 public:
  static Result<SockDiag> open();
  // Opens the socket inside /run/netns/NAME and returns the calling thread
  // to its namespace: the socket keeps dumping the named one.
  static Result<SockDiag> open_in(const std::string& netns_name);
  SockDiag(SockDiag&& other) noexcept;
  SockDiag& operator=(SockDiag&& other) noexcept;
  SockDiag(const SockDiag&) = delete;
  SockDiag& operator=(const SockDiag&) = delete;
  ~SockDiag();

  // Streams every socket the request selects. Sets SockInfo::netns to the
  // namespace inode given at open time. A protocol or family the kernel has
  // no diag module for (ENOENT/EOPNOTSUPP) is skipped silently, as ss does
  // (RAW: read from /proc/net instead, see DumpRequest).
  // If on_sock throws, the rest of that dump is drained by the next call.
  // One request at a time: on_sock must not call dump() or lookup() on the
  // same SockDiag (that is an EBUSY Error); use a second SockDiag for that.
  Result<void> dump(const DumpRequest& req, const SockCallback& on_sock);
  // Returns nullopt when the socket does not exist (any more), or when the
  // key's cookie names another socket with the same addresses (ESTALE).
  // want_info adds tcp_info and the congestion-control attributes.
  Result<std::optional<SockInfo>> lookup(const SockKey& key, bool want_info);

  int fd() const { return fd_.get(); }
  uint32_t netns() const { return netns_; }
  const DumpStats& last_stats() const { return stats_; }

 private:
  struct Query;  // one request on the wire, defined in sock_diag.cpp

  SockDiag(sys::UniqueFd fd, uint32_t netns);
  Result<void> send_query(const Query& q);
  Result<size_t> receive();
  Result<void> drain();
  Result<void> run_dump(const Query& q, std::FILE* raw_out, const SockCallback& on_sock);
  Result<bool> handle_dump_datagram(const Query& q, size_t len, const SockCallback& on_sock);
  // Reads one /proc/net/{tcp,udp,raw}{,6} table from `fd`, from its start;
  // `what` names the file in errors.
  Result<void> dump_proc_table(int fd, SockKind kind, uint8_t family, uint32_t states,
                               const std::string& what, const SockCallback& on_sock);
  Result<void> dump_proc_file(const sys::ProcTable& files, SockKind kind, uint8_t family,
                              uint32_t states, const SockCallback& on_sock);
  Result<void> proc_line(SockKind kind, uint8_t family, uint32_t states,
                         const SockCallback& on_sock);

  sys::UniqueFd fd_;
  uint32_t netns_ = 0;
  uint32_t seq_ = 0;
  bool dump_pending_ = false;  // a dump's replies are still queued on fd_
  bool busy_ = false;          // inside dump() or lookup()
  std::vector<uint8_t> buf_;   // one receive buffer for every datagram
  SockInfo info_;              // one SockInfo for every socket of a dump
  DumpStats stats_;
  // /proc/net/raw and raw6, opened with the socket so they describe the same
  // namespace; re-read from the start for each dump. -1 where absent.
  sys::UniqueFd proc_raw_[2];
  std::string line_;  // one /proc line being assembled
};

}  // namespace sstrace::diag
