// libFuzzer target for the sock_diag reply parser (src/diag/parse.*): any
// bytes as the replies of a dump, as `-D` writes them (netlink messages back
// to back) and as a TCPDIAG_FILE replay or a hostile kernel module would
// hand them over. Byte 0 picks what the rest is:
//  - bits 0-1: the protocol the inet request asked for (tcp, udp, raw),
//    since an inet reply does not say;
//  - bit 7: lines of /proc/net/{tcp,udp,raw}{,6} (the RAW fallback) instead
//    of netlink messages; bit 6 picks IPv6 for those.
// Each message goes to the parser of the family it names, as the dumper
// dispatches it, and then through every other parser too, so the
// corpus of one family hardens all of them. A message the parser accepts
// must come out of the JSON formatter as one valid JSON object: whatever
// the kernel (or a file) says, a snapshot line never breaks the log.
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "diag/parse.h"
#include "output/json_writer.h"
#include "output/sock_json_fields.h"

namespace {

using sstrace::diag::Bytes;
using sstrace::diag::SockInfo;
using sstrace::diag::SockKind;

// linux/netlink.h, linux/sock_diag.h: spelled out so this target includes no
// UAPI header (only src/diag may).
constexpr uint16_t kNlmsgError = 2;
constexpr uint16_t kNlmsgDone = 3;

// The formatter's output for an accepted socket must parse as JSON.
void check_json(const SockInfo& s) {
  std::string line;
  sstrace::output::JsonWriter w(line);
  w.begin_object();
  sstrace::output::write_sock_fields(w, s, {});
  w.end_object();
  if (!nlohmann::json::accept(line)) {
    std::fprintf(stderr, "a parsed socket formats as invalid JSON: %s\n", line.c_str());
    std::abort();
  }
}

void parse_one(Bytes msg, SockKind inet_kind, SockInfo& s) {
  const auto hdr = sstrace::diag::header_of(msg);
  if (hdr.type == kNlmsgError) {
    (void)sstrace::diag::parse_error_msg(msg);
    return;
  }
  if (hdr.type == kNlmsgDone) {
    (void)sstrace::diag::parse_done_msg(msg);
    return;
  }
  // The dumper's dispatch: the family byte right after the header.
  const uint8_t family = msg.size() > 16 ? msg[16] : 0;
  sstrace::Result<void> r = sstrace::Error{"no family"};
  if (family == AF_INET || family == AF_INET6) r = sstrace::diag::parse_inet(msg, inet_kind, s);
  if (family == AF_UNIX) r = sstrace::diag::parse_unix(msg, s);
  if (family == AF_PACKET) r = sstrace::diag::parse_packet(msg, s);
  if (family == AF_NETLINK) r = sstrace::diag::parse_netlink(msg, s);
  if (r) check_json(s);
  // Every parser on every message: each must survive what the others get.
  if (sstrace::diag::parse_inet(msg, inet_kind, s)) check_json(s);
  if (sstrace::diag::parse_unix(msg, s)) check_json(s);
  if (sstrace::diag::parse_packet(msg, s)) check_json(s);
  if (sstrace::diag::parse_netlink(msg, s)) check_json(s);
}

void parse_messages(Bytes data, SockKind inet_kind) {
  SockInfo s;
  sstrace::diag::MessageReader rd(data);
  for (;;) {
    auto next = rd.next();
    if (!next || next->empty()) return;
    parse_one(*next, inet_kind, s);
  }
}

void parse_proc_lines(std::string_view text, uint8_t family, SockKind kind) {
  SockInfo s;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    auto r = sstrace::diag::parse_proc_net_line(line, family, kind, s);
    if (r && *r) check_json(s);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const SockKind kInet[] = {SockKind::tcp, SockKind::udp, SockKind::raw, SockKind::tcp};
  const SockKind kind = kInet[data[0] & 3];
  const Bytes rest(data + 1, size - 1);
  if (data[0] & 0x80) {
    const uint8_t family = (data[0] & 0x40) ? AF_INET6 : AF_INET;
    parse_proc_lines({reinterpret_cast<const char*>(rest.data()), rest.size()}, family, kind);
  } else {
    parse_messages(rest, kind);
  }
  return 0;
}
