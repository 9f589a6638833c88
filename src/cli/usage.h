// The text -h prints: laid out like ss's usage, so an ss user finds every
// letter where they expect it, followed by what only sstrace has.
#pragma once

#include <cstdio>

namespace sstrace::cli {

void print_usage(std::FILE* out);

}  // namespace sstrace::cli
