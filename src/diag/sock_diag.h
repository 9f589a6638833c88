// NETLINK_SOCK_DIAG client: dumps of inet (TCP, UDP, RAW; v4 and v6), UNIX
// and PACKET sockets, streamed one message at a time into a reused SockInfo.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <vector>

#include "common/result.h"
#include "diag/sock_info.h"

namespace sstrace::diag {

struct DumpRequest {
  bool tcp = false, udp = false, raw = false, unix_ = false, packet = false;
  bool ipv4 = true, ipv6 = true;  // for tcp/udp/raw
  uint32_t states = ~0u;          // bitmask of 1 << TcpState (inet and unix)
  // Attributes to ask for (idiag_ext); cost kernel time, so only on demand.
  bool want_info = false;   // INET_DIAG_INFO (tcp_info), INET_DIAG_CONG, ...
  bool want_skmem = false;  // INET_DIAG_SKMEMINFO
  bool want_tos = false;    // INET_DIAG_TOS / TCLASS
  // INET_DIAG_REQ_BYTECODE for inet dumps (src/diag/bytecode.h); empty: none.
  std::vector<uint8_t> inet_bytecode;
  // -D FILE: the raw netlink replies are written here as they arrive.
  std::FILE* raw_out = nullptr;
};

// Called once per socket; the SockInfo is reused between calls.
using SockCallback = std::function<void(const SockInfo&)>;

// Exact-match lookup key for one inet socket (no dump): the kernel answers
// with the socket, including timewait and request minisockets, or ENOENT.
struct SockKey {
  uint8_t family = 0;
  uint8_t protocol = 0;  // IPPROTO_TCP, IPPROTO_UDP
  Endpoint local;
  Endpoint remote;
  uint64_t cookie = 0;  // INET_DIAG_NOCOOKIE when unknown
};

// RAII NETLINK_SOCK_DIAG socket, bound to the network namespace the calling
// thread was in when it was opened.
class SockDiag {
 public:
  static Result<SockDiag> open();
  SockDiag(SockDiag&& other) noexcept;
  SockDiag& operator=(SockDiag&& other) noexcept;
  SockDiag(const SockDiag&) = delete;
  SockDiag& operator=(const SockDiag&) = delete;
  ~SockDiag();

  // Streams every socket the request selects. Sets SockInfo::netns to the
  // namespace inode given at open time.
  Result<void> dump(const DumpRequest& req, const SockCallback& on_sock);
  // Returns nullopt when the socket does not exist (any more).
  Result<std::optional<SockInfo>> lookup(const SockKey& key, bool want_info);

  int fd() const { return fd_; }
  uint32_t netns() const { return netns_; }

 private:
  SockDiag(int fd, uint32_t netns) : fd_(fd), netns_(netns) {}
  int fd_ = -1;
  uint32_t netns_ = 0;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace sstrace::diag
