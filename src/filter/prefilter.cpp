// The BPF prefilter: what the expression implies about a TCP socket's ports,
// as a union of boxes (local port range x remote port range). Each node maps
// to a union that contains every socket it can match: `and` intersects
// pairwise, `or` concatenates, and negation is pushed down to the leaves,
// where only a condition on one port alone can be complemented exactly.
// Anything else is "every port pair", which is always sound.
#include "filter/prefilter.h"

#include <sys/socket.h>

#include <algorithm>
#include <limits>

#include "filter/filter.h"

namespace sstrace::filter {
namespace {

using Range = Prefilter::Range;
using Ranges = std::vector<Range>;
using Box = Prefilter::Box;
using Boxes = std::vector<Box>;

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

bool contains(const Range& outer, const Range& inner) {
  return outer.first <= inner.first && inner.second <= outer.second;
}

bool contains(const Box& outer, const Box& inner) {
  return contains(outer.lport, inner.lport) && contains(outer.rport, inner.rport);
}

Range hull(const Range& a, const Range& b) {
  return {std::min(a.first, b.first), std::max(a.second, b.second)};
}

Box hull(const Box& a, const Box& b) { return {hull(a.lport, b.lport), hull(a.rport, b.rport)}; }

double area(const Box& b) {
  return (b.lport.second - b.lport.first + 1.0) * (b.rport.second - b.rport.first + 1.0);
}

// Merges the pair of boxes whose hull grows the covered area least, until
// at most max remain.
void merge_boxes(Boxes& boxes, size_t max) {
  if (max == 0) max = 1;
  while (boxes.size() > max) {
    size_t bi = 0, bj = 1;
    double best = std::numeric_limits<double>::max();
    for (size_t i = 0; i < boxes.size(); ++i)
      for (size_t j = i + 1; j < boxes.size(); ++j) {
        const double cost = area(hull(boxes[i], boxes[j])) - area(boxes[i]) - area(boxes[j]);
        if (cost < best) {
          best = cost;
          bi = i;
          bj = j;
        }
      }
    boxes[bi] = hull(boxes[bi], boxes[bj]);
    boxes.erase(boxes.begin() + static_cast<std::ptrdiff_t>(bj));
  }
}

// Drops boxes inside others; keeps the count bounded.
Boxes tidy(Boxes in) {
  Boxes out;
  for (size_t i = 0; i < in.size(); ++i) {
    bool inside = false;
    for (size_t j = 0; j < in.size() && !inside; ++j)
      inside = j != i && contains(in[j], in[i]) && (in[i] != in[j] || j < i);
    if (!inside) out.push_back(in[i]);
  }
  merge_boxes(out, Prefilter::kMaxBoxes);
  return out;
}

Boxes meet(const Boxes& a, const Boxes& b) {
  Boxes out;
  for (const Box& x : a)
    for (const Box& y : b) {
      Box m{{std::max(x.lport.first, y.lport.first), std::min(x.lport.second, y.lport.second)},
            {std::max(x.rport.first, y.rport.first), std::min(x.rport.second, y.rport.second)}};
      if (m.lport.first <= m.lport.second && m.rport.first <= m.rport.second) out.push_back(m);
    }
  return tidy(std::move(out));
}

Boxes join(Boxes a, const Boxes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return tidy(std::move(a));
}

Boxes boxes_of(Side side, const Ranges& ranges) {
  Boxes out;
  for (const Range& r : ranges) {
    Box b;
    (side == Side::src ? b.lport : b.rport) = r;
    out.push_back(b);
  }
  return out;
}

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

Boxes analyze(const Node& n, bool negated) {
  switch (n.kind) {
    case Node::Kind::all_of:
    case Node::Kind::any_of: {
      // De Morgan: under negation `and` becomes `or` and vice versa.
      const bool conj = (n.kind == Node::Kind::all_of) != negated;
      Boxes a = analyze(*n.left, negated);
      if (conj && a.empty()) return a;
      Boxes b = analyze(*n.right, negated);
      return conj ? meet(a, b) : join(std::move(a), b);
    }
    case Node::Kind::negate:
      return analyze(*n.left, !negated);
    default:
      break;
  }
  if (auto cond = port_only(n))
    return boxes_of(cond->first, negated ? complement(cond->second) : cond->second);
  // A host condition with an address still pins the port when not negated.
  if (!negated && n.kind == Node::Kind::host && n.host.port >= 0 && n.host.family != AF_UNIX &&
      n.host.family != AF_PACKET && n.host.family != AF_NETLINK) {
    const auto p = static_cast<uint16_t>(n.host.port);
    return boxes_of(n.host.side, Ranges{{p, p}});
  }
  return Boxes{Box{}};
}

void project(Prefilter& p) {
  Ranges l, r;
  for (const Box& b : p.boxes) {
    l.push_back(b.lport);
    r.push_back(b.rport);
  }
  p.lport_ranges = normalize(std::move(l));
  p.rport_ranges = normalize(std::move(r));
}

bool in(const Range& r, uint16_t port) { return r.first <= port && port <= r.second; }

void merge_ranges(Ranges& r, size_t max) {
  if (max == 0) max = 1;
  while (r.size() > max) {
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
}

}  // namespace

Prefilter derive_prefilter(const Node* root, uint32_t states, std::optional<int> forced_family) {
  Prefilter p;
  p.states = states;
  if (root != nullptr) p.boxes = analyze(*root, false);
  project(p);
  if (forced_family) {
    p.ipv4 = *forced_family == AF_INET;
    p.ipv6 = *forced_family == AF_INET6;
  }
  return p;
}

bool Prefilter::any_lport() const { return lport_ranges == kAll; }
bool Prefilter::any_rport() const { return rport_ranges == kAll; }
bool Prefilter::any_ports() const {
  return std::any_of(boxes.begin(), boxes.end(), [](const Box& b) { return b == Box{}; });
}

bool Prefilter::matches_nothing() const { return boxes.empty() || (!ipv4 && !ipv6) || states == 0; }

bool Prefilter::admits(uint8_t family, uint8_t state, uint16_t lport, uint16_t rport) const {
  if (family == AF_INET && !ipv4) return false;
  if (family == AF_INET6 && !ipv6) return false;
  if (state >= 32 || (states & (1u << state)) == 0) return false;
  return std::any_of(boxes.begin(), boxes.end(),
                     [&](const Box& b) { return in(b.lport, lport) && in(b.rport, rport); });
}

void Prefilter::coarsen(size_t max) {
  merge_boxes(boxes, max);
  merge_ranges(lport_ranges, max);
  merge_ranges(rport_ranges, max);
}

}  // namespace sstrace::filter
