#include "metrics/rules.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>
#include <string_view>

#include "diag/sock_info.h"

namespace sstrace::metrics {

using diag::TcpState;

uint8_t followed_state(const model::Event& e) {
  if (!e.conn || is_request(e)) return 0;
  const uint8_t s = e.conn->state;
  if (s == TcpState::kClose || s == 0 || s >= TcpState::kMaxState) return 0;
  return s;
}

PeerAddr PeerAddr::of(const model::Connection& c) {
  PeerAddr p;
  p.family = c.family;
  if (c.family == AF_INET)
    std::memcpy(p.addr.data(), c.remote.addr.data(), 4);
  else
    p.addr = c.remote.addr;
  return p;
}

std::string PeerAddr::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr.data(), buf, sizeof buf)) return "?";
  return buf;
}

size_t PeerAddrHash::operator()(const PeerAddr& p) const noexcept {
  return std::hash<std::string_view>()(
             std::string_view(reinterpret_cast<const char*>(p.addr.data()), p.addr.size())) ^
         p.family;
}

}  // namespace sstrace::metrics
