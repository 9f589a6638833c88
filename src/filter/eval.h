// The user-space evaluator. ss decides in two places whether a socket is
// shown, and sstrace reproduces both:
//  - its own check (run_ssfilter() in misc/ss.c) on every socket it parsed,
//    with ss's view of the socket (ports, address bytes, interface, mark,
//    cgroup) which for UNIX and PACKET sockets holds other things than the
//    names suggest;
//  - for TCP, UDP and RAW, the kernel's run of the bytecode ss sent
//    (inet_diag_bc_run() in net/ipv4/inet_diag.c), which differs from the
//    first on families, v4-mapped addresses and host names.
// A socket is shown when both accept it.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "diag/sock_info.h"
#include "filter/ast.h"

namespace sstrace::filter {

// A socket as run_ssfilter() sees it.
struct SsView {
  uint8_t family = 0;
  int lport = 0, rport = 0;  // UNIX: inode, peer inode; PACKET: ifindex, 0;
                             // NETLINK: portid, -1
  std::array<uint8_t, 16> local{}, remote{};
  // UNIX: ss keeps a pointer to the name in the address bytes, which no
  // prefix can meaningfully match; a named socket's bytes are "opaque".
  bool local_opaque = false;
  uint32_t iface = 0;
  uint32_t mark = 0;
  uint64_t cgroup = 0;
  std::string_view unix_name;  // "" when unnamed
};

void make_view(const diag::SockInfo& s, SsView& v);
bool ss_eval(const Node& n, const SsView& v);

// The kernel's answer for an inet socket, where knowable: the kernel sees
// fields a dump does not carry (SOCK_BINDPORT_LOCK for `autobound`, the
// mark of a timewait socket).
enum class Tri : uint8_t { no, yes, unknown };
Tri kernel_eval(const Node& n, const diag::SockInfo& s);

// Can ss's bytecode express this tree (no `dev`, no UNIX or PACKET
// patterns; ss sends no bytecode at all for `dev` in 6.1)?
bool kernel_expressible(const Node& n);

// The first `bits` bits of a and b agree (bitstring_match()).
bool prefix_match(const uint8_t* a, const uint8_t* b, int bits);

}  // namespace sstrace::filter
