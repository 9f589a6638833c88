// Interface names for ifindexes, looked up once per index and kept for the
// life of the process; safe to call from several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sstrace::sys {

// if_indextoname's answer; nullopt when there is no such interface (it has
// gone, or lives in another network namespace).
std::optional<std::string> interface_name(uint32_t ifindex);

}  // namespace sstrace::sys
