#include "diag/bytecode.h"

#include <linux/inet_diag.h>
#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

namespace sstrace::diag::bc {

static_assert(static_cast<int>(Op::nop) == INET_DIAG_BC_NOP);
static_assert(static_cast<int>(Op::jmp) == INET_DIAG_BC_JMP);
static_assert(static_cast<int>(Op::s_ge) == INET_DIAG_BC_S_GE);
static_assert(static_cast<int>(Op::s_le) == INET_DIAG_BC_S_LE);
static_assert(static_cast<int>(Op::d_ge) == INET_DIAG_BC_D_GE);
static_assert(static_cast<int>(Op::d_le) == INET_DIAG_BC_D_LE);
static_assert(static_cast<int>(Op::autobound) == INET_DIAG_BC_AUTO);
static_assert(static_cast<int>(Op::s_cond) == INET_DIAG_BC_S_COND);
static_assert(static_cast<int>(Op::d_cond) == INET_DIAG_BC_D_COND);
static_assert(static_cast<int>(Op::dev_cond) == INET_DIAG_BC_DEV_COND);
static_assert(static_cast<int>(Op::mark_cond) == INET_DIAG_BC_MARK_COND);
static_assert(static_cast<int>(Op::s_eq) == INET_DIAG_BC_S_EQ);
static_assert(static_cast<int>(Op::d_eq) == INET_DIAG_BC_D_EQ);
static_assert(static_cast<int>(Op::cgroup_cond) == INET_DIAG_BC_CGROUP_COND);
static_assert(sizeof(inet_diag_bc_op) == kOpSize);
static_assert(sizeof(inet_diag_hostcond) == kHostCondSize);
static_assert(sizeof(inet_diag_markcond) == 8);

namespace {

// Jump offsets are 16-bit ("no") and 8-bit ("yes"): a longer program cannot
// be expressed at all.
constexpr size_t kMaxLen = 0xffff - 4;

void check_len(size_t len) {
  if (len > kMaxLen) throw std::length_error("inet_diag bytecode longer than 64 KiB");
}

}  // namespace

void Program::put_op(Op op, uint8_t yes, uint16_t no) {
  inet_diag_bc_op h{static_cast<unsigned char>(op), yes, no};
  const auto* p = reinterpret_cast<const uint8_t*>(&h);
  code_.insert(code_.end(), p, p + sizeof(h));
}

void Program::set_no(size_t op_offset, uint16_t no) {
  std::memcpy(code_.data() + op_offset + offsetof(inet_diag_bc_op, no), &no, sizeof(no));
}

uint16_t Program::no_at(size_t op_offset) const {
  uint16_t no;
  std::memcpy(&no, code_.data() + op_offset + offsetof(inet_diag_bc_op, no), sizeof(no));
  return no;
}

void Program::leaf(Op op, std::span<const uint8_t> payload) {
  const size_t len = kOpSize + payload.size();
  // "yes" falls through to the next op; "no" lands 4 bytes past the end.
  rejects_.push_back(code_.size());
  put_op(op, static_cast<uint8_t>(len), static_cast<uint16_t>(len + 4));
  code_.insert(code_.end(), payload.begin(), payload.end());
}

Program Program::port_cmp(Op op, uint16_t port) {
  // The operand travels in the "no" field of a second, otherwise unused op.
  inet_diag_bc_op arg{0, 0, port};
  Program p;
  p.leaf(op, {reinterpret_cast<const uint8_t*>(&arg), sizeof(arg)});
  return p;
}

Program Program::host(Op op, int port, std::span<const HostAddr> entries) {
  if (entries.empty()) throw std::invalid_argument("host condition without an entry");
  // ss sizes every entry by the first entry's family.
  const size_t alen = entries.front().family == AF_INET6 ? 16 : 4;
  const size_t oplen = kOpSize + kHostCondSize + alen;
  const size_t total = entries.size() * oplen + (entries.size() - 1) * kOpSize;
  check_len(total);

  Program p;
  for (size_t i = 0; i < entries.size(); ++i) {
    const HostAddr& e = entries[i];
    const bool last = i + 1 == entries.size();
    // A miss skips this entry's trailing JMP and tries the next entry; the
    // last entry's miss rejects.
    if (last) p.rejects_.push_back(p.code_.size());
    p.put_op(op, static_cast<uint8_t>(oplen), static_cast<uint16_t>(oplen + 4));
    uint8_t cond[kHostCondSize + 16] = {};
    cond[0] = e.family;
    cond[1] = e.prefix_len;
    std::memcpy(cond + offsetof(inet_diag_hostcond, port), &port, sizeof(port));
    std::memcpy(cond + kHostCondSize, e.addr, alen);
    p.code_.insert(p.code_.end(), cond, cond + kHostCondSize + alen);
    if (!last) {
      // A hit jumps to the end: accepted.
      const size_t to_end = total - p.code_.size();
      p.put_op(Op::jmp, 4, static_cast<uint16_t>(to_end));
    }
  }
  return p;
}

Program Program::autobound() {
  Program p;
  p.leaf(Op::autobound, {});
  return p;
}

Program Program::dev(uint32_t ifindex) {
  Program p;
  p.leaf(Op::dev_cond, {reinterpret_cast<const uint8_t*>(&ifindex), sizeof(ifindex)});
  return p;
}

Program Program::mark(uint32_t mark, uint32_t mask) {
  inet_diag_markcond c{mark, mask};
  Program p;
  p.leaf(Op::mark_cond, {reinterpret_cast<const uint8_t*>(&c), sizeof(c)});
  return p;
}

Program Program::cgroup(uint64_t id) {
  Program p;
  p.leaf(Op::cgroup_cond, {reinterpret_cast<const uint8_t*>(&id), sizeof(id)});
  return p;
}

Program Program::all_of(Program a, Program b) {
  check_len(a.code_.size() + b.code_.size());
  // a's rejects pointed 4 past a's end; move them 4 past b's end. a's
  // accepting exit (its end) now runs b.
  const size_t shift = b.code_.size();
  for (size_t off : a.rejects_) a.set_no(off, static_cast<uint16_t>(a.no_at(off) + shift));
  for (size_t off : b.rejects_) a.rejects_.push_back(off + a.code_.size());
  a.code_.insert(a.code_.end(), b.code_.begin(), b.code_.end());
  return a;
}

Program Program::any_of(Program a, Program b) {
  check_len(a.code_.size() + b.code_.size() + kOpSize);
  // a's rejects land right after the JMP, i.e. on b; a's accept hits the
  // JMP, which always takes "no" and lands on the end: accepted.
  Program p;
  p.code_ = std::move(a.code_);
  p.put_op(Op::jmp, 4, static_cast<uint16_t>(b.code_.size() + 4));
  for (size_t off : b.rejects_) p.rejects_.push_back(off + p.code_.size());
  p.code_.insert(p.code_.end(), b.code_.begin(), b.code_.end());
  return p;
}

Program Program::negate(Program a) {
  check_len(a.code_.size() + kOpSize);
  // a's rejects now land exactly on the new end (accept); a's accept runs
  // into a JMP whose "no" lands 4 past the new end (reject).
  Program p;
  p.code_ = std::move(a.code_);
  p.rejects_.push_back(p.code_.size());
  p.put_op(Op::jmp, 4, 8);
  return p;
}

std::vector<DecodedOp> decode(std::span<const uint8_t> code) {
  std::vector<DecodedOp> ops;
  size_t off = 0;
  while (off + kOpSize <= code.size()) {
    inet_diag_bc_op h;
    std::memcpy(&h, code.data() + off, sizeof(h));
    DecodedOp d;
    d.offset = off;
    d.op = static_cast<Op>(h.code);
    d.yes = h.yes;
    d.no = h.no;
    const size_t end = off + (h.yes < kOpSize ? kOpSize : h.yes);
    d.payload =
        code.subspan(off + kOpSize, (end <= code.size() ? end : code.size()) - off - kOpSize);
    ops.push_back(d);
    if (h.yes < kOpSize) break;  // malformed: would loop
    off += h.yes;
  }
  return ops;
}

namespace {

// Does a forward jump from the start land on an op boundary at `target`
// bytes before the end? (valid_cc() in net/ipv4/inet_diag.c)
bool lands_on_op(std::span<const uint8_t> code, size_t remaining_at_target) {
  size_t len = code.size();
  size_t off = 0;
  while (len > 0) {
    if (len == remaining_at_target) return true;
    if (off + kOpSize > code.size()) return false;
    const uint8_t yes = code[off + 1];
    if (yes < kOpSize || yes > len) return false;
    off += yes;
    len -= yes;
  }
  return false;
}

}  // namespace

std::string audit(std::span<const uint8_t> code, bool net_admin) {
  if (code.size() < kOpSize) return "shorter than one op";
  size_t len = code.size();
  size_t off = 0;
  while (len > 0) {
    if (len < kOpSize) return "truncated op at " + std::to_string(off);
    inet_diag_bc_op h;
    std::memcpy(&h, code.data() + off, sizeof(h));
    size_t min_len = kOpSize;
    switch (static_cast<Op>(h.code)) {
      case Op::s_cond:
      case Op::d_cond: {
        min_len += kHostCondSize;
        if (len < min_len) return "truncated host condition at " + std::to_string(off);
        const uint8_t family = code[off + kOpSize];
        const uint8_t plen = code[off + kOpSize + 1];
        size_t alen;
        if (family == AF_UNSPEC) {
          alen = 0;
        } else if (family == AF_INET) {
          alen = 4;
        } else if (family == AF_INET6) {
          alen = 16;
        } else {
          return "host condition family " + std::to_string(family) + " at " + std::to_string(off);
        }
        min_len += alen;
        if (len < min_len) return "truncated host address at " + std::to_string(off);
        if (plen > 8 * alen) return "prefix longer than the address at " + std::to_string(off);
        break;
      }
      case Op::dev_cond:
        min_len += sizeof(uint32_t);
        break;
      case Op::s_eq:
      case Op::s_ge:
      case Op::s_le:
      case Op::d_eq:
      case Op::d_ge:
      case Op::d_le:
        min_len += kOpSize;
        break;
      case Op::mark_cond:
        if (!net_admin) return "mark condition needs CAP_NET_ADMIN";
        min_len += sizeof(inet_diag_markcond);
        break;
      case Op::cgroup_cond:
        min_len += sizeof(uint64_t);
        break;
      case Op::autobound:
      case Op::jmp:
      case Op::nop:
        break;
      default:
        return "unknown op " + std::to_string(h.code) + " at " + std::to_string(off);
    }
    if (len < min_len) return "truncated op at " + std::to_string(off);
    if (static_cast<Op>(h.code) != Op::nop) {
      if (h.no < min_len || h.no > len + 4 || (h.no & 3) != 0)
        return "bad no-jump at " + std::to_string(off);
      if (h.no < len && !lands_on_op(code, len - h.no))
        return "no-jump into the middle of an op at " + std::to_string(off);
    }
    if (h.yes < min_len || h.yes > len + 4 || (h.yes & 3) != 0)
      return "bad yes-jump at " + std::to_string(off);
    if (h.yes > len) return "yes-jump past the end at " + std::to_string(off);
    off += h.yes;
    len -= h.yes;
  }
  return {};
}

}  // namespace sstrace::diag::bc
