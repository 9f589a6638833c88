// AST -> inet_diag bytecode, op for op what ss 6.1's ssfilter_bytecompile()
// emits, so the kernel filters sstrace's dumps exactly as it filters ss's.
#include "filter/compile.h"

#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

#include "diag/bytecode.h"
#include "filter/eval.h"

namespace sstrace::filter {
namespace {

using diag::bc::Op;
using diag::bc::Program;

Program host(const HostCond& h) {
  // ss repeats its first address once per resolved address (it writes the
  // head of its list into every entry); the kernel thus sees only the first.
  diag::bc::HostAddr first;
  first.family = h.family;
  if (!h.prefixes.empty()) {
    first.prefix_len = h.prefixes.front().bitlen;
    std::memcpy(first.addr, h.prefixes.front().bytes.data(), sizeof(first.addr));
  }
  std::vector<diag::bc::HostAddr> entries(h.prefixes.empty() ? 1 : h.prefixes.size(), first);
  return Program::host(h.side == Side::src ? Op::s_cond : Op::d_cond, h.port, entries);
}

Program compile(const Node& n) {
  switch (n.kind) {
    case Node::Kind::all_of:
      return Program::all_of(compile(*n.left), compile(*n.right));
    case Node::Kind::any_of:
      return Program::any_of(compile(*n.left), compile(*n.right));
    case Node::Kind::negate:
      return Program::negate(compile(*n.left));
    case Node::Kind::host:
      return host(n.host);
    case Node::Kind::port_cmp: {
      const bool src = n.port_cmp.side == Side::src;
      const Op op = n.port_cmp.ge ? (src ? Op::s_ge : Op::d_ge) : (src ? Op::s_le : Op::d_le);
      return Program::port_cmp(op, n.port_cmp.port);
    }
    case Node::Kind::autobound:
      return Program::autobound();
    case Node::Kind::mark:
      return Program::mark(n.mark, n.mask);
    case Node::Kind::cgroup:
      return Program::cgroup(n.cgroup_id);
    case Node::Kind::dev:
      // ss 6.1 compiles no DEV_COND: `dev` anywhere means no bytecode.
      break;
  }
  throw std::logic_error("not expressible as inet_diag bytecode");
}

}  // namespace

std::vector<uint8_t> compile_inet_bytecode(const Node& root) {
  if (!kernel_expressible(root)) return {};
  try {
    return compile(root).release();
  } catch (const std::length_error&) {
    return {};  // longer than the 16-bit jumps reach: let user space decide
  }
}

}  // namespace sstrace::filter
