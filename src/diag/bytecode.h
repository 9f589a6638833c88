// A tiny builder for inet_diag filter bytecode (INET_DIAG_REQ_BYTECODE), the
// program the kernel runs on every socket of a dump (inet_diag_bc_run() in
// net/ipv4/inet_diag.c). src/diag is the only place that includes
// linux/inet_diag.h, so the op encoding lives here and the filter's compiler
// (src/filter) composes Programs without knowing the byte layout.
//
// Execution model (the kernel's): ops run front to back; each has a "yes"
// and a "no" byte offset to jump by. The program accepts when it ends
// exactly at its last byte and rejects when a jump lands 4 bytes past it.
// A Program here is a fragment with that shape; fragments compose the way
// iproute2's ss composes them, so sstrace sends the bytes ss sends.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sstrace::diag::bc {

// INET_DIAG_BC_* (linux/inet_diag.h), checked against the header in
// bytecode.cpp.
enum class Op : uint8_t {
  nop = 0,
  jmp = 1,
  s_ge = 2,
  s_le = 3,
  d_ge = 4,
  d_le = 5,
  autobound = 6,
  s_cond = 7,
  d_cond = 8,
  dev_cond = 9,
  mark_cond = 10,
  s_eq = 11,
  d_eq = 12,
  cgroup_cond = 13,
};

// One address of a host condition (struct inet_diag_hostcond).
struct HostAddr {
  uint8_t family = 0;      // AF_UNSPEC, AF_INET or AF_INET6
  uint8_t prefix_len = 0;  // bits; 0 matches any address
  uint8_t addr[16] = {};   // network order; AF_INET uses the first 4 bytes
};

class Program {
 public:
  // Port comparisons: s_ge, s_le, d_ge, d_le, s_eq, d_eq.
  static Program port_cmp(Op op, uint16_t port);
  // S_COND / D_COND over a list of addresses (any may match), all with the
  // same port (-1: any). Each entry is as long as entries.front()'s family
  // makes it, as ss lays them out.
  static Program host(Op op, int port, std::span<const HostAddr> entries);
  static Program autobound();
  static Program dev(uint32_t ifindex);
  static Program mark(uint32_t mark, uint32_t mask);
  static Program cgroup(uint64_t id);

  static Program all_of(Program a, Program b);
  static Program any_of(Program a, Program b);
  static Program negate(Program a);

  const std::vector<uint8_t>& bytes() const { return code_; }
  std::vector<uint8_t> release() && { return std::move(code_); }

 private:
  // Appends one op whose "no" exit rejects (jumps past the end).
  void leaf(Op op, std::span<const uint8_t> payload);
  void put_op(Op op, uint8_t yes, uint16_t no);
  void set_no(size_t op_offset, uint16_t no);
  uint16_t no_at(size_t op_offset) const;

  std::vector<uint8_t> code_;
  // Offsets of ops whose "no" exit rejects: composition moves those exits.
  std::vector<size_t> rejects_;
};

// The kernel's validation of a program (inet_diag_bc_audit()): empty when it
// would be accepted, else what is wrong. MARK_COND needs CAP_NET_ADMIN.
std::string audit(std::span<const uint8_t> code, bool net_admin);

// One decoded op, for tests and -v dumps.
struct DecodedOp {
  size_t offset = 0;
  Op op = Op::nop;
  uint8_t yes = 0;
  uint16_t no = 0;
  std::span<const uint8_t> payload;  // bytes between this op and op+yes
};
std::vector<DecodedOp> decode(std::span<const uint8_t> code);

// The sizes of the payloads that follow each op header.
inline constexpr size_t kOpSize = 4;
inline constexpr size_t kHostCondSize = 8;  // family, prefix_len, pad, int port

}  // namespace sstrace::diag::bc
