// net.ipv4.ip_local_port_range: the ports the kernel picks for connect()
// and bind(0), which ss leaves unnamed ("/etc/services lists a lot of
// useless names there").
#pragma once

#include <utility>

namespace sstrace::sys {

// [low, high] of the network namespace the process ran in when first
// asked, read once; ss's fallback 1024-4999 when it cannot be read.
std::pair<unsigned, unsigned> local_port_range();

}  // namespace sstrace::sys
