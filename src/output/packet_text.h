// What ss -e adds for a packet socket after its identity: the TPACKET
// version, copy threshold and flags, the mmap rings and the fanout group
// (misc/ss.c packet_show_sock(), iproute2 6.1), each on a line of its own
// after "\n\t", or after a blank with -O.
#pragma once

#include <cstdint>
#include <string>

#include "diag/sock_info.h"

namespace sstrace::output {

void append_packet_details_text(std::string& out, const diag::SockInfo& s, bool oneline);

// The PACKET_FANOUT_* name ss prints ("hash", "lb", "cpu", "roll",
// "random", "qm"), "" for the others (ss prints those as 0x<type>).
std::string packet_fanout_type_name(uint16_t type);
// The PDI_* flags as ss names them, in ss's order.
struct PacketFlagName {
  uint32_t bit;
  const char* name;
};
extern const PacketFlagName kPacketFlagNames[5];

}  // namespace sstrace::output
