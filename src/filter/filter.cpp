#include "filter/filter.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/result.h"
#include "filter/ast.h"
#include "filter/compile.h"
#include "filter/eval.h"
#include "filter/lexer.h"
#include "filter/parser.h"
#include "filter/prefilter.h"
#include "filter/resolver.h"

namespace sstrace::filter {
namespace {

using diag::kClose;
using diag::kListen;
using diag::kSynRecv;
using diag::kTimeWait;

// ss's SS_CONN, its default without -a/-l/state: what a Filter selects until
// the CLI says otherwise.
constexpr uint32_t kConnected =
    kAllStates & ~((1u << kListen) | (1u << kClose) | (1u << kTimeWait) | (1u << kSynRecv));

void print(const Node& n, std::string& out);

void print_prefix(const Prefix& p, std::string& out) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (p.family == AF_INET || p.family == AF_INET6)
    inet_ntop(p.family, p.bytes.data(), buf, sizeof(buf));
  out += buf;
  out += "/" + std::to_string(p.bitlen);
}

void print_host(const HostCond& h, std::string& out) {
  out += h.side == Side::src ? "src" : "dst";
  if (h.family == AF_UNIX) {
    out += " unix:" + h.unix_pattern;
    return;
  }
  if (h.family == AF_PACKET) out += " link";
  if (h.has_protocol) out += ":proto=" + std::to_string(h.protocol);
  if (h.family == AF_NETLINK) {
    uint32_t proto = 0;
    if (!h.any_address()) std::memcpy(&proto, h.prefixes.front().bytes.data(), sizeof(proto));
    out += h.any_address() ? " netlink:*" : " netlink:" + std::to_string(proto);
  } else if (h.family != AF_PACKET) {
    if (h.any_address()) {
      out += " *";
    } else {
      for (size_t i = 0; i < h.prefixes.size(); ++i) {
        out += i == 0 ? " " : ",";
        print_prefix(h.prefixes[i], out);
      }
    }
  }
  // -1 is "any port" (as in ss); a netlink port id may be any other negative.
  out += ":" + (h.port == -1 ? std::string("*") : std::to_string(h.port));
}

void print(const Node& n, std::string& out) {
  switch (n.kind) {
    case Node::Kind::all_of:
    case Node::Kind::any_of:
      out += n.kind == Node::Kind::all_of ? "(and " : "(or ";
      print(*n.left, out);
      out += " ";
      print(*n.right, out);
      out += ")";
      return;
    case Node::Kind::negate:
      out += "(not ";
      print(*n.left, out);
      out += ")";
      return;
    case Node::Kind::host:
      out += "(";
      print_host(n.host, out);
      out += ")";
      return;
    case Node::Kind::port_cmp:
      out += n.port_cmp.side == Side::src ? "(sport " : "(dport ";
      out += n.port_cmp.ge ? ">= " : "<= ";
      out += std::to_string(n.port_cmp.port) + ")";
      return;
    case Node::Kind::autobound:
      out += "autobound";
      return;
    case Node::Kind::dev:
      out += "(dev " + std::to_string(n.ifindex) + ")";
      return;
    case Node::Kind::mark:
      out += "(fwmark " + std::to_string(n.mark) + "/" + std::to_string(n.mask) + ")";
      return;
    case Node::Kind::cgroup:
      out += "(cgroup " + std::to_string(n.cgroup_id) + ")";
      return;
  }
}

}  // namespace

Filter::Filter() : states_(kConnected) {}
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;
Filter::~Filter() = default;

Filter Filter::parse(const std::vector<std::string>& words, const ParseOptions& opts) {
  return parse_all(words, opts);
}

Filter Filter::parse_file(const std::string& path, const ParseOptions& opts) {
  ParseOptions o = opts;
  o.file = path;
  return parse_all({}, o);
}

Filter Filter::parse_all(const std::vector<std::string>& words, const ParseOptions& opts) {
  Filter f;
  // Leading `state X` / `exclude X` word pairs, as ss's main() takes them
  // before the expression (they are not part of its grammar).
  size_t i = 0;
  int index = 1;
  for (; i < words.size(); i += 2, index += 2) {
    const bool state = words[i] == "state";
    if (!state && words[i] != "exclude" && words[i] != "excl") break;
    Token kw{words[i], index, 0};
    if (i + 1 == words.size()) fail(kw, "a state name should follow");
    const uint32_t mask = parse_state(Token{words[i + 1], index + 1, 0});
    if (!f.has_states_) f.parsed_states_ = state ? 0 : kAllStates;
    f.parsed_states_ = state ? f.parsed_states_ | mask : f.parsed_states_ & ~mask;
    f.has_states_ = true;
  }
  if (f.has_states_ && f.parsed_states_ != 0) f.states_ = f.parsed_states_;

  Lexer lexer;
  lexer.skip_index(static_cast<int>(i));
  for (; i < words.size(); ++i) lexer.add_word(words[i]);
  if (!opts.file.empty()) lexer.add_file(opts.file);

  ValueContext ctx;
  ctx.resolver = opts.resolver != nullptr ? opts.resolver : &system_resolver();
  ctx.family = opts.family;
  ctx.tcp = opts.tcp;
  ctx.udp = opts.udp;
  f.root_ = parse_expression(lexer.tokens(), ctx);
  f.forced_family_ = ctx.forced_family;
  f.kernel_applies_ = f.root_ != nullptr && kernel_expressible(*f.root_);
  return f;
}

void Filter::set_default_states(uint32_t states, uint32_t if_none_left) {
  if (!has_states_) states_ = states;
  // ss: an empty result of state/exclude falls back to defaults too.
  if (has_states_ && parsed_states_ == 0) states_ = if_none_left;
}

bool Filter::matches(const diag::SockInfo& s) const {
  if (s.state >= 32 || (states_ & (1u << s.state)) == 0) return false;
  if (forced_family_ && s.family != *forced_family_) return false;
  if (!root_) return true;
  SsView v;
  make_view(s, v);
  if (!ss_eval(*root_, v)) return false;
  // Sockets read from /proc or a saved dump never met the bytecode: ss's own
  // check alone decides for them (it shows `src 0.0.0.0/0` matching IPv6 RAW
  // sockets).
  const bool kernel_ran = kernel_applies_ && s.is_inet() && !s.from_proc && !s.from_file;
  return !(kernel_ran && kernel_eval(*root_, s) == Tri::no);
}

bool Filter::empty() const { return root_ == nullptr; }

std::vector<uint8_t> Filter::inet_bytecode() const {
  if (!root_ || !kernel_applies_) return {};
  return compile_inet_bytecode(*root_);
}

std::optional<Prefilter> Filter::prefilter() const {
  Prefilter p = derive_prefilter(root_.get(), states_, forced_family_);
  if (p.any_ports() && p.ipv4 && p.ipv6 && (p.states & kAllStates) == kAllStates)
    return std::nullopt;
  return p;
}

std::string Filter::str() const {
  if (!root_) return "";
  std::string out;
  print(*root_, out);
  return out;
}

}  // namespace sstrace::filter
