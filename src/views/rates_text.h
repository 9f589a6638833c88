// One line of a frame's totals for people: the live -s text prints it under
// ss -s's layout.
#pragma once

#include <string>

#include "aggregate/frame.h"

namespace sstrace::views {

// "Rates (1.00 s): opens 120.0/s (in 100.0, out 20.0), closes ...".
std::string rates_line(const aggregate::Frame& f);
// 1234 us -> "1.234ms" (ss's unit for rtt).
std::string ms_text(uint64_t us);

}  // namespace sstrace::views
