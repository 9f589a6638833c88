// The filter grammar, hand-written recursive descent over ss's tokens.
//
//   filter   := [ list ]
//   list     := expr { [ "and" | "&" | "&&" | "or" | "|" | "||" ] expr }
//   expr     := "(" list ")" | ("!" | "not") expr | "autobound"
//             | ("src" | "dst") ["="] ADDR
//             | ("sport" | "dport") (["="] | "!=" | ">=" | "<=" | ">" | "<") PORT
//             | ("dev" | "fwmark" | "cgroup") (["="] | "!=") VALUE
//
// As in ss, `and`, `or` and juxtaposition all bind equally and group from
// the left: `a or b and c` is `(a or b) and c`. `not` applies to the one
// expression after it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filter/ast.h"
#include "filter/lexer.h"
#include "filter/values.h"

namespace sstrace::filter {

// Throws UsageError. Returns nullptr for an empty token list.
std::unique_ptr<Node> parse_expression(const std::vector<Token>& tokens, ValueContext& ctx);

// ss's state names (case-insensitive), groups included: a 1 << TcpState
// mask. Throws UsageError naming the token.
uint32_t parse_state(const Token& t);

// ss's SS_ALL: every state bit ss knows (0-11).
inline constexpr uint32_t kAllStates = (1u << 12) - 1;

}  // namespace sstrace::filter
