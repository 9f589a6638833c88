// The floating-point numbers of ss -i: rates (4.2Mbps) and printf("%g")
// values.
#pragma once

#include <string>

namespace sstrace::output {

// ss's rate numbers (the caller adds "bps"): 4.2M, 35G, 834k, 0; with -n the
// plain number of bits per second, rounded.
std::string rate_text(double bits_per_second, bool numeric);
void append_rate_text(std::string& out, double bits_per_second, bool numeric);
// printf("%g"): ss's spelling of the millisecond values in -i (0.075, 204).
std::string g_text(double v);

}  // namespace sstrace::output
