// The BPF prefilter: what the expression implies about a TCP socket's ports,
// as a box (local port set x remote port set). Each node maps to a box that
// contains every socket it can match; `and` intersects boxes, `or` takes
// their hull, and negation is pushed down to the leaves, where only a
// condition on one port alone can be complemented exactly.
#include "filter/prefilter.h"

#include <sys/socket.h>

#include <algorithm>
#include <limits>

#include "filter/filter.h"

namespace sstrace::filter {
namespace {

using Range = Prefilter::Range;
using Ranges = std::vector<Range>;

const Ranges kAll{{0, 65535}};

Ranges normalize(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (const Range& x : r) {
    if (!out.empty() && static_cast<uint32_t>(out.back().second) + 1 >= x.first)
      out.back().second = std::max(out.back().second, x.second);
    else
      out.push_back(x);
  }
  return out;
}

Ranges unite(const Ranges& a, const Ranges& b) {
  Ranges r = a;
  r.insert(r.end(), b.begin(), b.end());
  return normalize(std::move(r));
}

Ranges intersect(const Ranges& a, const Ranges& b) {
  Ranges out;
  for (const Range& x : a)
    for (const Range& y : b) {
      const uint16_t lo = std::max(x.first, y.first), hi = std::min(x.second, y.second);
      if (lo <= hi) out.emplace_back(lo, hi);
    }
  return normalize(std::move(out));
}

Ranges complement(const Ranges& a) {
  Ranges out;
  uint32_t next = 0;
  for (const Range& x : a) {
    if (x.first > next)
      out.emplace_back(static_cast<uint16_t>(next), static_cast<uint16_t>(x.first - 1));
    next = static_cast<uint32_t>(x.second) + 1;
  }
  if (next <= 65535) out.emplace_back(static_cast<uint16_t>(next), 65535);
  return out;
}

struct Box {
  Ranges l = kAll, r = kAll;
};

Box meet(const Box& a, const Box& b) { return {intersect(a.l, b.l), intersect(a.r, b.r)}; }
Box hull(const Box& a, const Box& b) { return {unite(a.l, b.l), unite(a.r, b.r)}; }

// A condition on one port alone: the exact set it allows, else nullopt.
std::optional<std::pair<Side, Ranges>> port_only(const Node& n) {
  if (n.kind == Node::Kind::port_cmp) {
    const uint16_t p = n.port_cmp.port;
    return std::make_pair(n.port_cmp.side, n.port_cmp.ge ? Ranges{{p, 65535}} : Ranges{{0, p}});
  }
  // `sport = :N` is a host condition without an address; on a TCP socket it
  // means exactly "the port is N" (both in ss and in the kernel).
  if (n.kind == Node::Kind::host && n.host.port >= 0 && n.host.family == AF_UNSPEC &&
      n.host.any_address()) {
    const auto p = static_cast<uint16_t>(n.host.port);
    return std::make_pair(n.host.side, Ranges{{p, p}});
  }
  return std::nullopt;
}

Box analyze(const Node& n, bool negated) {
  switch (n.kind) {
    case Node::Kind::all_of:
    case Node::Kind::any_of: {
      // De Morgan: under negation `and` becomes `or` and vice versa.
      const bool conj = (n.kind == Node::Kind::all_of) != negated;
      Box a = analyze(*n.left, negated), b = analyze(*n.right, negated);
      return conj ? meet(a, b) : hull(a, b);
    }
    case Node::Kind::negate:
      return analyze(*n.left, !negated);
    default:
      break;
  }
  Box box;
  if (auto cond = port_only(n)) {
    Ranges allowed = negated ? complement(cond->second) : cond->second;
    (cond->first == Side::src ? box.l : box.r) = std::move(allowed);
    return box;
  }
  // A host condition with an address still pins the port when not negated.
  if (!negated && n.kind == Node::Kind::host && n.host.port >= 0 && n.host.family != AF_UNIX &&
      n.host.family != AF_PACKET) {
    const auto p = static_cast<uint16_t>(n.host.port);
    (n.host.side == Side::src ? box.l : box.r) = Ranges{{p, p}};
  }
  return box;
}

}  // namespace

Prefilter derive_prefilter(const Node* root, uint32_t states, std::optional<int> forced_family) {
  Prefilter p;
  p.states = states;
  if (root != nullptr) {
    Box b = analyze(*root, false);
    p.lport_ranges = std::move(b.l);
    p.rport_ranges = std::move(b.r);
  }
  if (forced_family) {
    p.ipv4 = *forced_family == AF_INET;
    p.ipv6 = *forced_family == AF_INET6;
  }
  return p;
}

bool Prefilter::any_lport() const { return lport_ranges == kAll; }
bool Prefilter::any_rport() const { return rport_ranges == kAll; }

bool Prefilter::matches_nothing() const {
  return lport_ranges.empty() || rport_ranges.empty() || (!ipv4 && !ipv6) || states == 0;
}

bool Prefilter::admits(uint8_t family, uint8_t state, uint16_t lport, uint16_t rport) const {
  auto in = [](const Ranges& r, uint16_t port) {
    return std::any_of(r.begin(), r.end(),
                       [port](const Range& x) { return x.first <= port && port <= x.second; });
  };
  if (family == AF_INET && !ipv4) return false;
  if (family == AF_INET6 && !ipv6) return false;
  if (state >= 32 || (states & (1u << state)) == 0) return false;
  return in(lport_ranges, lport) && in(rport_ranges, rport);
}

void Prefilter::coarsen(size_t max_ranges) {
  auto shrink = [max_ranges](Ranges& r) {
    if (max_ranges == 0) {
      if (!r.empty()) r = {{r.front().first, r.back().second}};
      return;
    }
    while (r.size() > max_ranges) {
      // Close the smallest gap.
      size_t best = 0;
      uint32_t best_gap = std::numeric_limits<uint32_t>::max();
      for (size_t i = 0; i + 1 < r.size(); ++i) {
        const uint32_t gap = static_cast<uint32_t>(r[i + 1].first) - r[i].second;
        if (gap < best_gap) {
          best_gap = gap;
          best = i;
        }
      }
      r[best].second = r[best + 1].second;
      r.erase(r.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
  };
  shrink(lport_ranges);
  shrink(rport_ranges);
}

}  // namespace sstrace::filter
