// ss's filter language: one parsed form (an AST), several backends: the
// user-space evaluator (snapshot and stream), inet_diag bytecode for the
// kernel-side dump filter, and a BPF prefilter for the live stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diag/sock_info.h"

namespace sstrace::filter {

struct Node;  // the AST, defined in filter/ast.h

class Filter {
 public:
  Filter();
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;
  ~Filter();

  // Parses ss's FILTER words (as they arrive from argv; ss joins them with
  // spaces). Throws UsageError with one line naming the token and where.
  static Filter parse(const std::vector<std::string>& words);
  static Filter parse_file(const std::string& path);  // -F FILE ("-" = stdin)

  // States selected by `state`/`exclude` (bitmask of 1 << TcpState); all
  // states but the default exclusions when none was given.
  uint32_t states() const { return states_; }
  bool has_states() const { return has_states_; }
  void set_default_states(uint32_t states);  // ss's -a / -l / default

  // Does this socket match the expression (the state test included)?
  bool matches(const diag::SockInfo& s) const;
  bool empty() const;  // no expression beyond states
  // INET_DIAG_REQ_BYTECODE for the expression, or empty if it cannot be
  // expressed (then matches() alone decides).
  std::vector<uint8_t> inet_bytecode() const;

  const Node* root() const { return root_.get(); }

 private:
  std::unique_ptr<Node> root_;
  uint32_t states_ = 0;
  bool has_states_ = false;
};

}  // namespace sstrace::filter
