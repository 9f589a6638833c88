// The BPF prefilter backend (see Prefilter in filter.h).
#pragma once

#include <cstdint>
#include <optional>

#include "filter/ast.h"
#include "filter/filter.h"

namespace sstrace::filter {

// What the expression implies about a TCP socket; root may be null.
Prefilter derive_prefilter(const Node* root, uint32_t states, std::optional<int> forced_family);

}  // namespace sstrace::filter
