#include "sys/netdb_names.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <mutex>

#include "sys/lookup_cache.h"

namespace sstrace::sys {

namespace {

struct AddrKey {
  uint8_t family;
  std::array<uint8_t, 16> addr;
  bool operator==(const AddrKey&) const = default;
};
struct AddrKeyHash {
  size_t operator()(const AddrKey& k) const {
    uint64_t a, b;
    std::memcpy(&a, k.addr.data(), 8);
    std::memcpy(&b, k.addr.data() + 8, 8);
    return std::hash<uint64_t>()(a ^ (b * 0x9e3779b97f4a7c15ULL) ^ k.family);
  }
};

}  // namespace

std::string host_name(uint8_t family, const std::array<uint8_t, 16>& addr) {
  static LookupCache<AddrKey, std::string, AddrKeyHash> cache;
  return cache.get(AddrKey{family, addr}, [&] {
    // ss looks v4-mapped IPv6 addresses up as the IPv4 address they carry.
    int af = family == AF_INET6 ? AF_INET6 : AF_INET;
    const uint8_t* p = addr.data();
    socklen_t len = af == AF_INET6 ? 16 : 4;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (af == AF_INET6 && std::memcmp(p, kMapped, 12) == 0) {
      af = AF_INET;
      p += 12;
      len = 4;
    }
    // gethostbyaddr is what ss calls (not getnameinfo): the same name for
    // the same /etc/hosts line. Its static result needs the lock.
    static std::mutex mu;
    std::lock_guard lock(mu);
    static bool opened = false;
    if (!opened) {
      sethostent(1);
      opened = true;
    }
    std::string name;
    if (const hostent* h = gethostbyaddr(p, len, af); h && h->h_name) name = h->h_name;
    return name;
  });
}

std::optional<std::string> service_name(uint16_t port, std::string_view proto) {
  static LookupCache<uint32_t, std::optional<std::string>> cache;
  const bool udp = proto == "udp";
  const uint32_t key = (udp ? 1u << 16 : 0u) | port;
  return cache.get(key, [&]() -> std::optional<std::string> {
    static std::mutex mu;  // getservbyport returns static storage
    std::lock_guard lock(mu);
    static bool opened = false;
    if (!opened) {
      setservent(1);
      opened = true;
    }
    if (const servent* se = getservbyport(htons(port), udp ? "udp" : "tcp"); se && se->s_name)
      return std::string(se->s_name);
    return std::nullopt;
  });
}

std::optional<std::string> protocol_name(unsigned proto) {
  static LookupCache<unsigned, std::optional<std::string>> cache;
  return cache.get(proto, [&]() -> std::optional<std::string> {
    static std::mutex mu;  // getprotobynumber returns static storage
    std::lock_guard lock(mu);
    if (const protoent* pe = getprotobynumber(static_cast<int>(proto)); pe && pe->p_name)
      return std::string(pe->p_name);
    return std::nullopt;
  });
}

}  // namespace sstrace::sys
