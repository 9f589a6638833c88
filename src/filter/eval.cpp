#include "filter/eval.h"

#include <fnmatch.h>
#include <sys/socket.h>

#include <cstring>

namespace sstrace::filter {

bool prefix_match(const uint8_t* a, const uint8_t* b, int bits) {
  const int bytes = bits / 8;
  if (std::memcmp(a, b, bytes) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

void make_view(const diag::SockInfo& s, SsView& v) {
  v = SsView{};
  v.family = s.family;
  if (s.is_unix()) {
    v.lport = static_cast<int>(s.inode);
    v.rport = static_cast<int>(s.unix_peer_inode);
    v.local_opaque = !s.unix_path.empty();
    v.unix_name = s.unix_path;
    return;
  }
  if (s.is_packet()) {
    // ss puts the interface where a port goes and the protocol, as a
    // host-order u32, where an address goes.
    v.lport = static_cast<int>(s.ifindex);
    const uint32_t proto = s.packet_protocol;
    std::memcpy(v.local.data(), &proto, sizeof(proto));
    v.iface = s.ifindex;
    return;
  }
  if (s.is_netlink()) {
    // ss.c netlink_show_one(): the portid as the local port, -1 as the
    // remote one, the protocol (a host-order u32) as the local address.
    v.lport = static_cast<int32_t>(s.netlink_portid);
    v.rport = -1;
    const uint32_t proto = s.netlink_protocol;
    std::memcpy(v.local.data(), &proto, sizeof(proto));
    return;
  }
  v.lport = s.local.port;
  v.rport = s.remote.port;
  // An IPv4 address is 4 bytes followed by zeros in ss's view.
  const size_t len = s.family == AF_INET ? 4 : 16;
  std::memcpy(v.local.data(), s.local.addr.data(), len);
  std::memcpy(v.remote.data(), s.remote.addr.data(), len);
  v.iface = s.ifindex;
  v.mark = s.has_mark ? s.mark : 0;
  v.cgroup = s.has_cgroup ? s.cgroup_id : 0;
}

namespace {

bool is_v4_mapped(const uint8_t* a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, kPrefix, sizeof(kPrefix)) == 0;
}

// ss's inet2_addr_match(): raw bytes, whatever the families; an IPv4
// prefix also matches the IPv4 inside a v4-mapped IPv6 address.
bool ss_addr_match(uint8_t family, const uint8_t* addr, const Prefix& p) {
  if (prefix_match(addr, p.bytes.data(), p.bitlen)) return true;
  return p.family == AF_INET && family == AF_INET6 && is_v4_mapped(addr) &&
         prefix_match(addr + 12, p.bytes.data(), p.bitlen);
}

bool ss_host(const HostCond& h, const SsView& v) {
  const bool src = h.side == Side::src;
  if (h.family == AF_UNIX) {
    // A pattern is matched against the socket's name; ss never learns the
    // peer's name from the kernel, so for `dst` it matches against "".
    // On other sockets ss would read their address bytes as a pointer; we
    // say no.
    if (v.family != AF_UNIX) return false;
    const char* name = src && !v.unix_name.empty() ? v.unix_name.data() : "";
    return fnmatch(h.unix_pattern.c_str(), name, FNM_CASEFOLD) == 0;
  }
  if (h.port != -1 && h.port != (src ? v.lport : v.rport)) return false;
  if (h.any_address()) return true;
  if (src && v.local_opaque) return false;
  const uint8_t* addr = src ? v.local.data() : v.remote.data();
  for (const Prefix& p : h.prefixes)
    if (ss_addr_match(v.family, addr, p)) return true;
  return false;
}

bool ss_autobound(const Node& n, const SsView& v) {
  if (v.family == AF_UNIX) {
    // Unnamed, or the kernel's autobind name: '@' and five hex digits.
    const std::string_view name = v.unix_name;
    if (name.empty()) return true;
    if (name.size() != 6 || name[0] != '@') return false;
    return name.find_first_not_of("0123456789abcdef", 1) == std::string_view::npos;
  }
  if (v.family == AF_PACKET) {
    uint32_t proto;
    std::memcpy(&proto, v.local.data(), sizeof(proto));
    return v.lport == 0 && proto == 0;
  }
  // Kernel-assigned portids are negative (netlink_autobind()).
  if (v.family == AF_NETLINK) return v.lport < 0;
  return v.lport >= n.ephemeral_low && v.lport <= n.ephemeral_high;
}

Tri tri_not(Tri t) { return t == Tri::unknown ? t : t == Tri::yes ? Tri::no : Tri::yes; }
Tri tri(bool b) { return b ? Tri::yes : Tri::no; }

// INET_DIAG_BC_S_COND / D_COND as the kernel runs them, on what ss sends:
// the first address only (ss writes the first resolved address into every
// entry of its list).
Tri kernel_host(const HostCond& h, const diag::SockInfo& s) {
  const bool src = h.side == Side::src;
  const int port = src ? s.local.port : s.remote.port;
  if (h.port != -1 && h.port != port) return Tri::no;
  Prefix p;
  if (!h.prefixes.empty()) p = h.prefixes.front();
  p.family = h.family;
  const uint8_t* addr = src ? s.local.addr.data() : s.remote.addr.data();
  if (p.family != AF_UNSPEC && p.family != s.family) {
    // Only an IPv4 condition on a v4-mapped IPv6 address gets a second look.
    return tri(s.family == AF_INET6 && p.family == AF_INET && is_v4_mapped(addr) &&
               prefix_match(addr + 12, p.bytes.data(), p.bitlen));
  }
  if (p.bitlen == 0) return Tri::yes;
  return tri(prefix_match(addr, p.bytes.data(), p.bitlen));
}

}  // namespace

bool ss_eval(const Node& n, const SsView& v) {
  switch (n.kind) {
    case Node::Kind::all_of:
      return ss_eval(*n.left, v) && ss_eval(*n.right, v);
    case Node::Kind::any_of:
      return ss_eval(*n.left, v) || ss_eval(*n.right, v);
    case Node::Kind::negate:
      return !ss_eval(*n.left, v);
    case Node::Kind::host:
      return ss_host(n.host, v);
    case Node::Kind::port_cmp: {
      const int port = n.port_cmp.side == Side::src ? v.lport : v.rport;
      return n.port_cmp.ge ? port >= n.port_cmp.port : port <= n.port_cmp.port;
    }
    case Node::Kind::autobound:
      return ss_autobound(n, v);
    case Node::Kind::dev:
      return v.iface == n.ifindex;
    case Node::Kind::mark:
      return (v.mark & n.mask) == n.mark;
    case Node::Kind::cgroup:
      return v.cgroup == n.cgroup_id;
  }
  return false;
}

Tri kernel_eval(const Node& n, const diag::SockInfo& s) {
  switch (n.kind) {
    case Node::Kind::all_of: {
      Tri l = kernel_eval(*n.left, s);
      if (l == Tri::no) return Tri::no;
      Tri r = kernel_eval(*n.right, s);
      if (r == Tri::no) return Tri::no;
      return l == Tri::yes && r == Tri::yes ? Tri::yes : Tri::unknown;
    }
    case Node::Kind::any_of: {
      Tri l = kernel_eval(*n.left, s);
      if (l == Tri::yes) return Tri::yes;
      Tri r = kernel_eval(*n.right, s);
      if (r == Tri::yes) return Tri::yes;
      return l == Tri::no && r == Tri::no ? Tri::no : Tri::unknown;
    }
    case Node::Kind::negate:
      return tri_not(kernel_eval(*n.left, s));
    case Node::Kind::host:
      return kernel_host(n.host, s);
    case Node::Kind::port_cmp: {
      const uint16_t port = n.port_cmp.side == Side::src ? s.local.port : s.remote.port;
      return tri(n.port_cmp.ge ? port >= n.port_cmp.port : port <= n.port_cmp.port);
    }
    case Node::Kind::autobound:
      // !(sk_userlocks & SOCK_BINDPORT_LOCK): not in any dump.
      return Tri::unknown;
    case Node::Kind::dev:
      return tri(s.ifindex == n.ifindex);
    case Node::Kind::mark:
      // Timewait and request sockets carry tw_mark / ir_mark, which no
      // dump reports.
      return s.has_mark ? tri((s.mark & n.mask) == n.mark) : Tri::unknown;
    case Node::Kind::cgroup:
      // The kernel uses 0 for sockets that are not full sockets.
      if (s.has_cgroup) return tri(s.cgroup_id == n.cgroup_id);
      return s.is_minisocket() ? tri(n.cgroup_id == 0) : Tri::unknown;
  }
  return Tri::unknown;
}

bool kernel_expressible(const Node& n) {
  switch (n.kind) {
    case Node::Kind::all_of:
    case Node::Kind::any_of:
      return kernel_expressible(*n.left) && kernel_expressible(*n.right);
    case Node::Kind::negate:
      return kernel_expressible(*n.left);
    case Node::Kind::host:
      return n.host.family != AF_UNIX && n.host.family != AF_PACKET && n.host.family != AF_NETLINK;
    case Node::Kind::dev:
      return false;
    default:
      return true;
  }
}

}  // namespace sstrace::filter
