#include "filter/parser.h"

#include <strings.h>
#include <sys/socket.h>

#include <tuple>

#include "common/result.h"
#include "diag/sock_info.h"

namespace sstrace::filter {
namespace {

enum class Tok : uint8_t {
  word,
  lparen,
  rparen,
  bang,
  amp,
  bar,
  eq,
  neq,
  gt,
  lt,
  ge,
  le,
  src,
  dst,
  sport,
  dport,
  dev,
  fwmark,
  cgroup,
  autobound,
};

struct Keyword {
  const char* text;
  Tok tok;
};

// ss's keywords, case-sensitive.
constexpr Keyword kKeywords[] = {
    {"!", Tok::bang},        {"not", Tok::bang},
    {"&", Tok::amp},         {"&&", Tok::amp},
    {"and", Tok::amp},       {"|", Tok::bar},
    {"||", Tok::bar},        {"or", Tok::bar},
    {"(", Tok::lparen},      {")", Tok::rparen},
    {"dst", Tok::dst},       {"src", Tok::src},
    {"dport", Tok::dport},   {"sport", Tok::sport},
    {"dev", Tok::dev},       {"fwmark", Tok::fwmark},
    {"cgroup", Tok::cgroup}, {">=", Tok::ge},
    {"ge", Tok::ge},         {"geq", Tok::ge},
    {"<=", Tok::le},         {"le", Tok::le},
    {"leq", Tok::le},        {"!=", Tok::neq},
    {"ne", Tok::neq},        {"neq", Tok::neq},
    {"=", Tok::eq},          {"==", Tok::eq},
    {"eq", Tok::eq},         {">", Tok::gt},
    {"gt", Tok::gt},         {"<", Tok::lt},
    {"lt", Tok::lt},         {"autobound", Tok::autobound},
};

Tok classify(const Token& t) {
  for (const Keyword& k : kKeywords)
    if (t.text == k.text) return k.tok;
  return Tok::word;
}

// ss has no limit but bison's stack; ours keeps recursion (parser,
// evaluator, destructor) far from the thread's stack size.
constexpr int kMaxDepth = 500;
constexpr size_t kMaxTokens = 1 << 16;

std::unique_ptr<Node> make(Node::Kind kind, int token) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->token = token;
  return n;
}

std::unique_ptr<Node> negate(std::unique_ptr<Node> inner, int token) {
  auto n = make(Node::Kind::negate, token);
  n->left = std::move(inner);
  return n;
}

std::unique_ptr<Node> combine(Node::Kind kind, std::unique_ptr<Node> l, std::unique_ptr<Node> r) {
  auto n = make(kind, l->token);
  n->left = std::move(l);
  n->right = std::move(r);
  return n;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, ValueContext& ctx) : toks_(tokens), ctx_(ctx) {}

  std::unique_ptr<Node> parse() {
    if (toks_.empty()) return nullptr;
    if (toks_.size() > kMaxTokens) fail(toks_[kMaxTokens], "filter longer than 65536 words");
    auto root = list();
    if (pos_ < toks_.size()) fail(toks_[pos_], "unmatched ')'");
    return root;
  }

 private:
  bool at_end() const { return pos_ >= toks_.size(); }
  const Token& cur() const { return toks_[pos_]; }
  Tok cur_tok() const { return classify(cur()); }
  const Token& take() { return toks_[pos_++]; }

  [[noreturn]] void fail_end(const std::string& what) const {
    fail(toks_.back(), "filter ends where " + what + " should follow");
  }

  std::unique_ptr<Node> list() {
    auto node = expr();
    while (!at_end() && cur_tok() != Tok::rparen) {
      Tok t = cur_tok();
      Node::Kind kind = t == Tok::bar ? Node::Kind::any_of : Node::Kind::all_of;
      if (t == Tok::bar || t == Tok::amp) {
        take();
        if (at_end()) fail_end("an expression");
      }
      node = combine(kind, std::move(node), expr());
    }
    return node;
  }

  std::unique_ptr<Node> expr() {
    if (at_end()) fail_end("an expression");
    const Token& t = take();
    switch (classify(t)) {
      case Tok::lparen: {
        Depth d(this, t);
        if (at_end()) fail_end("an expression");
        if (cur_tok() == Tok::rparen) fail(cur(), "empty parentheses");
        auto inner = list();
        if (at_end()) fail(t, "'(' is never closed");
        take();  // ')'
        return inner;
      }
      case Tok::bang: {
        Depth d(this, t);
        return negate(expr(), t.index);
      }
      case Tok::autobound: {
        auto n = make(Node::Kind::autobound, t.index);
        auto [lo, hi] = ctx_.resolver->local_port_range();
        n->ephemeral_low = lo;
        n->ephemeral_high = hi;
        return n;
      }
      case Tok::src:
      case Tok::dst:
        return host(t, classify(t) == Tok::src ? Side::src : Side::dst);
      case Tok::sport:
      case Tok::dport:
        return port(t, classify(t) == Tok::sport ? Side::src : Side::dst);
      case Tok::dev:
      case Tok::fwmark:
      case Tok::cgroup:
        return other(t);
      case Tok::word:
        fail(t, "expected src, dst, sport, dport, dev, fwmark, cgroup, autobound, 'not' or '('");
      default:
        fail(t, "expected an expression");
    }
  }

  // The operand after a keyword (and its operator): a plain word.
  const Token& operand(const Token& keyword) {
    if (at_end()) fail_end("a value for '" + keyword.text + "'");
    if (cur_tok() != Tok::word) fail(cur(), "expected a value for '" + keyword.text + "'");
    return take();
  }

  // An optional "=" (or "==", "eq"), then `neq_ok` allows "!=" too.
  bool equality(const Token& keyword, bool neq_ok) {
    if (at_end()) fail_end("a value for '" + keyword.text + "'");
    Tok t = cur_tok();
    if (t == Tok::eq) {
      take();
      return true;
    }
    if (t == Tok::neq && neq_ok) {
      take();
      return false;
    }
    if (t == Tok::word) return true;
    if (t == Tok::neq || t == Tok::ge || t == Tok::le || t == Tok::gt || t == Tok::lt)
      fail(cur(), "'" + keyword.text + "' takes " + (neq_ok ? "'=' or '!='" : "'='"));
    fail(cur(), "expected a value for '" + keyword.text + "'");
  }

  std::unique_ptr<Node> host(const Token& kw, Side side) {
    equality(kw, false);
    const Token& v = operand(kw);
    auto n = make(Node::Kind::host, kw.index);
    n->host = parse_host(v, false, side, ctx_);
    return n;
  }

  std::unique_ptr<Node> port(const Token& kw, Side side) {
    if (at_end()) fail_end("a port for '" + kw.text + "'");
    Tok op = cur_tok();
    if (op == Tok::ge || op == Tok::le || op == Tok::gt || op == Tok::lt || op == Tok::eq ||
        op == Tok::neq)
      take();
    else if (op == Tok::word)
      op = Tok::eq;
    else
      fail(cur(), "'" + kw.text + "' takes =, !=, <, >, <= or >=");
    const Token& v = operand(kw);
    HostCond hc = parse_host(v, true, side, ctx_);
    if (op == Tok::eq || op == Tok::neq) {
      auto n = make(Node::Kind::host, kw.index);
      n->host = std::move(hc);
      return op == Tok::eq ? std::move(n) : negate(std::move(n), kw.index);
    }
    // ss would compare against -1 here (its "any port"), which the kernel
    // reads as 65535: meaningless, so refused.
    if (hc.port < 0 || hc.family == AF_UNIX) fail(v, "a port comparison needs a port number");
    // A netlink port id can exceed what the comparison holds.
    if (hc.port > 0xffff) fail(v, "a port comparison takes a port id of 0-65535");
    auto n = make(Node::Kind::port_cmp, kw.index);
    n->port_cmp.side = side;
    n->port_cmp.port = static_cast<uint16_t>(hc.port);
    // ss has only >= and <=: `>` is not <=, `<` is not >=.
    n->port_cmp.ge = op == Tok::ge || op == Tok::lt;
    if (op == Tok::gt || op == Tok::lt) return negate(std::move(n), kw.index);
    return n;
  }

  std::unique_ptr<Node> other(const Token& kw) {
    const bool eq = equality(kw, true);
    const Token& v = operand(kw);
    Tok k = classify(kw);
    auto n = make(k == Tok::dev      ? Node::Kind::dev
                  : k == Tok::fwmark ? Node::Kind::mark
                                     : Node::Kind::cgroup,
                  kw.index);
    if (k == Tok::dev) {
      n->ifindex = parse_dev(v, ctx_);
    } else if (k == Tok::fwmark) {
      std::tie(n->mark, n->mask) = parse_mark(v);
    } else {
      n->cgroup_id = parse_cgroup(v, ctx_);
    }
    return eq ? std::move(n) : negate(std::move(n), kw.index);
  }

  // Bounds nesting of "(" and "not".
  struct Depth {
    Depth(Parser* p, const Token& t) : p_(p) {
      if (++p_->depth_ > kMaxDepth) fail(t, "nested too deeply");
    }
    ~Depth() { --p_->depth_; }
    Parser* p_;
  };

  const std::vector<Token>& toks_;
  ValueContext& ctx_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::unique_ptr<Node> parse_expression(const std::vector<Token>& tokens, ValueContext& ctx) {
  return Parser(tokens, ctx).parse();
}

uint32_t parse_state(const Token& t) {
  using namespace diag;
  auto bit = [](int s) { return 1u << s; };
  struct Name {
    const char* text;
    uint32_t mask;
  };
  // ss 6.1's scan_state(): these names and groups, any letter case; note
  // there is no "listen" (only "listening") and "unknown" is state 0.
  const Name names[] = {
      {"close", bit(kClose)},
      {"closed", bit(kClose)},
      {"syn-rcv", bit(kSynRecv)},
      {"all", kAllStates},
      {"connected", kAllStates & ~(bit(kClose) | bit(kListen))},
      {"synchronized", kAllStates & ~(bit(kClose) | bit(kListen) | bit(kSynSent))},
      {"bucket", bit(kSynRecv) | bit(kTimeWait)},
      {"big", kAllStates & ~(bit(kSynRecv) | bit(kTimeWait))},
      {"unknown", bit(0)},
      {"established", bit(kEstablished)},
      {"syn-sent", bit(kSynSent)},
      {"syn-recv", bit(kSynRecv)},
      {"fin-wait-1", bit(kFinWait1)},
      {"fin-wait-2", bit(kFinWait2)},
      {"time-wait", bit(kTimeWait)},
      {"unconnected", bit(kClose)},
      {"close-wait", bit(kCloseWait)},
      {"last-ack", bit(kLastAck)},
      {"listening", bit(kListen)},
      {"closing", bit(kClosing)},
  };
  for (const Name& n : names)
    if (strcasecmp(t.text.c_str(), n.text) == 0) return n.mask;
  fail(t,
       "unknown state (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, "
       "closed, close-wait, last-ack, listening, closing, or all, connected, synchronized, "
       "bucket, big)");
}

}  // namespace sstrace::filter
