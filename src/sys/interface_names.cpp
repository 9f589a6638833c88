#include "sys/interface_names.h"

#include <net/if.h>

#include "sys/lookup_cache.h"

namespace sstrace::sys {

std::optional<std::string> interface_name(uint32_t ifindex) {
  static LookupCache<uint32_t, std::optional<std::string>> cache;
  return cache.get(ifindex, [&]() -> std::optional<std::string> {
    char buf[IF_NAMESIZE];
    if (if_indextoname(ifindex, buf)) return std::string(buf);
    return std::nullopt;
  });
}

}  // namespace sstrace::sys
