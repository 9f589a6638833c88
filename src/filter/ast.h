// The filter AST (placeholder; grows with the parser).
#pragma once

#include <memory>

namespace sstrace::filter {

struct Node {
  std::unique_ptr<Node> left, right;
};

}  // namespace sstrace::filter
