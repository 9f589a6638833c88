// `-s`: the socket counts ss -s prints, from the files ss reads them from
// (/proc/net/sockstat, sockstat6 and snmp's Tcp CurrEstab; iproute2
// misc/ss.c print_summary). /proc/net follows the reading thread's network
// namespace, so after -N the counts are the namespace's.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace sstrace::output {

// The counters, named after the kernel's sockstat fields
// (net/ipv4/proc.c sockstat_seq_show, net/ipv6/proc.c sockstat6_seq_show).
struct Summary {
  int64_t sockets = 0;     // sockets: used
  int64_t tcp_inuse = 0;   // TCP: inuse (IPv4 hashed)
  int64_t tcp_orphan = 0;  // TCP: orphan
  int64_t tcp_tw = 0;      // TCP: tw
  int64_t tcp_alloc = 0;   // TCP: alloc
  int64_t tcp_mem = 0;     // TCP: mem (pages)
  int64_t udp = 0, raw = 0, frag = 0, frag_mem = 0;
  int64_t tcp6_inuse = 0, udp6 = 0, raw6 = 0, frag6 = 0, frag6_mem = 0;
  int64_t tcp_estab = 0;  // snmp Tcp: CurrEstab (ESTABLISHED + CLOSE-WAIT)

  // The derived numbers ss prints on its TCP line.
  int64_t tcp_total() const { return tcp_alloc + tcp_tw; }
  int64_t tcp_closed() const { return tcp_alloc - (tcp_inuse + tcp6_inuse - tcp_tw); }
};

// Adds what one sockstat or sockstat6 text says to `s`.
void parse_sockstat(std::string_view text, Summary& s);
// snmp's "Tcp:" CurrEstab, or an error if the text has none.
Result<int64_t> parse_snmp_curr_estab(std::string_view text);

// Reads the three files in `net_dir`. sockstat must exist; sockstat6 is
// absent when IPv6 is off (zeros then, as in ss).
Result<Summary> read_summary(const std::string& net_dir = "/proc/thread-self/net");
// The same from three named files (ss's PROC_NET_SOCKSTAT, PROC_NET_SOCKSTAT6
// and PROC_NET_SNMP overrides).
struct SummaryFiles {
  std::string sockstat, sockstat6, snmp;
};
Result<Summary> read_summary(const SummaryFiles& files);

// Exactly ss -s's text.
std::string summary_text(const Summary& s);
// Its TCP line alone ("TCP:   N (estab ..., timewait ...)"): what a replay
// knows (a recording of the stream holds TCP sockets only).
std::string summary_tcp_line(const Summary& s);
void print_summary(std::FILE* out, const Summary& s);
// The summary object; the live -s adds its interval's rates to it.
nlohmann::ordered_json summary_json(const Summary& s, uint32_t netns, const std::string& ts);
// The same object with its TCP counts only (no `total`, no `transport`).
nlohmann::ordered_json summary_tcp_json(const Summary& s, const std::string& ts);
// One JSON object: {"type":"summary","ts":...,"v":1,"netns":...,...}.
// netns 0: not known, left out.
void print_summary_json(std::FILE* out, const Summary& s, uint32_t netns);

}  // namespace sstrace::output
