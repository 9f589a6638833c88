// The inet_diag bytecode backend.
#pragma once

#include <cstdint>
#include <vector>

#include "filter/ast.h"

namespace sstrace::filter {

// INET_DIAG_REQ_BYTECODE for the tree, byte for byte what ss 6.1 sends; empty
// when ss would send none (`dev`, UNIX/PACKET patterns) or it would not fit.
std::vector<uint8_t> compile_inet_bytecode(const Node& root);

}  // namespace sstrace::filter
