// ss's filter language: one parsed form (an AST), several backends: the
// user-space evaluator (snapshot and stream), inet_diag bytecode for the
// kernel-side dump filter, and a BPF prefilter for the live stream.
//
// The semantics are iproute2 ss 6.1's, quirks included, because sstrace is
// checked against ss on the same host (eval.h explains the two checks ss
// makes and the comments in eval.cpp and values.cpp each quirk).
// Deliberate differences: ports outside 0-65535, negative ports and port
// comparisons without a number are usage errors (a netlink port id, from
// `netlink:PROTO:PORTID`, is an int as in ss: negative ones are the
// kernel's autobound ids); parentheses may be attached to words ("(dport"
// and ":443)"); vsock: addresses are refused (sstrace does not dump vsock).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "diag/sock_info.h"

namespace sstrace::filter {

struct Node;  // the AST, defined in filter/ast.h
class Resolver;

// What ss knows from its options when it parses the filter; each changes
// how words are read, as in ss.
struct ParseOptions {
  // ss's "preferred family": the last of -4, -6, -f FAMILY, -x, -0 given
  // (AF_INET, AF_INET6, AF_UNIX, AF_PACKET), else AF_UNSPEC. Addresses are
  // read in it (with -x, `src /tmp/*` is a UNIX path pattern).
  int family = AF_UNSPEC;
  // Which tables will be dumped: a service name is looked up for tcp and/or
  // udp accordingly, and is an error if it names different ports in both.
  bool tcp = true;
  bool udp = true;
  // -F FILE ("-" = stdin): its expression follows the FILTER words.
  std::string file;
  // Host, service, interface and cgroup lookups; nullptr: the system's.
  const Resolver* resolver = nullptr;
};

// A cheap, conservative summary of the expression for the live stream's BPF
// side: a TCP socket the full filter keeps always passes it (it may pass
// sockets the filter then drops).
struct Prefilter {
  using Range = std::pair<uint16_t, uint16_t>;  // inclusive
  // A rectangle of (local port, remote port) pairs.
  struct Box {
    Range lport{0, 65535};
    Range rport{0, 65535};
    bool operator==(const Box&) const = default;
  };
  // The socket's (local, remote) ports must fall in one of these boxes
  // (at most kMaxBoxes); empty = no socket can match. `( dport = :443 or
  // sport = :443 )` is two boxes.
  std::vector<Box> boxes{Box{}};
  // The same, projected: the local (remote) port must fall in one of these
  // sorted, disjoint ranges; {{0, 65535}} = any, empty = none. Weaker than
  // boxes, for a consumer that checks each port alone.
  std::vector<Range> lport_ranges{{0, 65535}};
  std::vector<Range> rport_ranges{{0, 65535}};
  bool ipv4 = true;
  bool ipv6 = true;
  // 1 << TcpState, ss's bits (0-11): request sockets count as SYN-RECV.
  uint32_t states = ~0u;

  static constexpr size_t kMaxBoxes = 16;

  bool any_lport() const;
  bool any_rport() const;
  bool any_ports() const;  // the boxes allow every port pair
  bool matches_nothing() const;
  // Would a TCP socket with these fields pass?
  bool admits(uint8_t family, uint8_t state, uint16_t lport, uint16_t rport) const;
  // Merges boxes (and ranges) until there are at most max of each; still
  // sound, as it only ever widens.
  void coarsen(size_t max);
};

class Filter {
 public:
  Filter();
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;
  ~Filter();

  // Parses ss's FILTER words (as they arrive from argv): leading `state X` /
  // `exclude X` pairs, then the expression (ss joins the words with spaces).
  // Throws UsageError with one line naming the token and where.
  static Filter parse(const std::vector<std::string>& words, const ParseOptions& opts = {});
  static Filter parse_file(const std::string& path,
                           const ParseOptions& opts = {});  // -F FILE ("-" = stdin)

  // States selected by `state`/`exclude` (bitmask of 1 << TcpState); the
  // defaults when none was given, or when they left no state at all (ss
  // falls back to its defaults then too).
  uint32_t states() const { return states_; }
  bool has_states() const { return has_states_; }
  // ss's -a / -l / default; `if_none_left` instead when the state words
  // left no state at all (ss then shows its tables' defaults, which need
  // not be what -a / -l chose).
  void set_default_states(uint32_t states) { set_default_states(states, states); }
  void set_default_states(uint32_t states, uint32_t if_none_left);

  // The one family the expression restricts the dump to, as ss does after
  // reading an address in a family (`src unix:...`, `src inet6:...`, or any
  // address or port while ParseOptions::family is set).
  std::optional<int> forced_family() const { return forced_family_; }

  // Does this socket match the expression (the state test included)?
  // Allocation-free.
  bool matches(const diag::SockInfo& s) const;
  bool empty() const;  // no expression beyond states
  // INET_DIAG_REQ_BYTECODE for the expression, or empty if it cannot be
  // expressed (then matches() alone decides). The same bytes ss sends.
  std::vector<uint8_t> inet_bytecode() const;
  // For the live stream's BPF side; nullopt when nothing cheap follows.
  std::optional<Prefilter> prefilter() const;

  // The expression as an S-expression, e.g. (and (sport = 22) (not autobound)).
  std::string str() const;

  const Node* root() const { return root_.get(); }

 private:
  static Filter parse_all(const std::vector<std::string>& words, const ParseOptions& opts);

  std::unique_ptr<Node> root_;
  uint32_t states_ = 0;
  uint32_t parsed_states_ = 0;
  bool has_states_ = false;
  std::optional<int> forced_family_;
  // The kernel's bytecode applies to inet sockets (ss sends it, and shows a
  // socket only when both the kernel and its own check accept it).
  bool kernel_applies_ = false;
};

}  // namespace sstrace::filter
