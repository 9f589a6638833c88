#include "diag/netlink_protocols.h"

#include <iterator>

namespace sstrace::diag {

namespace {

// Indexed by protocol number; 17 is unassigned in linux/netlink.h ("leave
// room for NETLINK_DM") and has no name in iproute2.
constexpr const char* kNames[] = {
    "rtnl",  "unused", "usersock",   "fw",        "tcpdiag", "nflog",  "xfrm",   "selinux",
    "iscsi", "audit",  "fiblookup",  "connector", "nft",     "ip6fw",  "dec-rt", "uevent",
    "genl",  nullptr,  "scsi-trans", "ecryptfs",  "rdma",    "crypto",
};

}  // namespace

const char* netlink_protocol_name(uint32_t protocol) {
  return protocol < std::size(kNames) ? kNames[protocol] : nullptr;
}

std::optional<uint32_t> netlink_protocol_number(std::string_view name) {
  for (uint32_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] != nullptr && name == kNames[i]) return i;
  }
  return std::nullopt;
}

}  // namespace sstrace::diag
