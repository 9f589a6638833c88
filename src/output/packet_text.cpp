#include "output/packet_text.h"

#include <linux/if_packet.h>
#include <linux/packet_diag.h>

#include <utility>

#include "output/append_number.h"

namespace sstrace::output {

const PacketFlagName kPacketFlagNames[5] = {
    {PDI_RUNNING, "running"}, {PDI_AUXDATA, "auxdata"}, {PDI_ORIGDEV, "origdev"},
    {PDI_VNETHDR, "vnethdr"}, {PDI_LOSS, "loss"},
};

namespace {

// ss starts each part on a line of its own, or after a blank with -O.
void start_part(std::string& out, bool oneline, const char* what) {
  out += oneline ? " " : "\n\t";
  out += what;
}

// ss prints these u32 fields with "%d".
void append_signed(std::string& out, uint32_t v) { append_int(out, static_cast<int32_t>(v)); }

// "ver:2 cpy_thresh:0 flags( running auxdata )": ss writes the first name
// without a blank before it and every other one with, so a socket that is
// not running shows "flags(  auxdata )"; no flag at all is "flags( 0 )".
void append_info(std::string& out, const diag::PacketInfo& i, bool oneline) {
  start_part(out, oneline, "ver:");
  append_signed(out, i.version);
  out += " cpy_thresh:";
  append_signed(out, i.copy_thresh);
  out += " flags( ";
  for (const PacketFlagName& f : kPacketFlagNames) {
    if (!(i.flags & f.bit)) continue;
    if (f.bit != PDI_RUNNING) out += ' ';
    out += f.name;
  }
  if (!i.flags) out += '0';
  out += " )";
}

void append_ring(std::string& out, const char* name, const diag::PacketRing& r, bool oneline) {
  start_part(out, oneline, name);
  const std::pair<const char*, uint32_t> fields[] = {
      {"(blk_size:", r.block_size}, {",blk_nr:", r.block_nr}, {",frm_size:", r.frame_size},
      {",frm_nr:", r.frame_nr},     {",tmo:", r.retire_tmo},
  };
  for (const auto& [label, value] : fields) {
    out += label;
    append_signed(out, value);
  }
  out += ",features:0x";
  append_hex(out, r.features);
  out += ')';
}

void append_fanout(std::string& out, uint32_t fanout, bool oneline) {
  const auto type = static_cast<uint16_t>(fanout >> 16);
  start_part(out, oneline, "fanout(id:");
  append_int(out, fanout & 0xffff);
  out += ",type:";
  if (std::string name = packet_fanout_type_name(type); !name.empty()) {
    out += name;
  } else {
    out += "0x";
    append_hex(out, type);
  }
  out += ')';
}

}  // namespace

std::string packet_fanout_type_name(uint16_t type) {
  switch (type) {
    case PACKET_FANOUT_HASH:
      return "hash";
    case PACKET_FANOUT_LB:
      return "lb";
    case PACKET_FANOUT_CPU:
      return "cpu";
    case PACKET_FANOUT_ROLLOVER:
      return "roll";
    case PACKET_FANOUT_RND:
      return "random";
    case PACKET_FANOUT_QM:
      return "qm";
    default:
      return "";
  }
}

void append_packet_details_text(std::string& out, const diag::SockInfo& s, bool oneline) {
  if (s.packet_info) append_info(out, *s.packet_info, oneline);
  if (s.rx_ring) append_ring(out, "ring_rx", *s.rx_ring, oneline);
  if (s.tx_ring) append_ring(out, "ring_tx", *s.tx_ring, oneline);
  if (s.fanout) append_fanout(out, *s.fanout, oneline);
}

}  // namespace sstrace::output
