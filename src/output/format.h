// Formatting shared by the snapshot writers and the live stream's event
// writers: names and numbers spelled exactly as ss (iproute2 6.1) prints
// them, the event timestamp, and the per-socket JSON fields.
//
// The name lookups (services, hosts, protocols, interfaces, cgroups) go to
// libc or the filesystem once per distinct value and are cached for the
// life of the process; they are safe to call from several threads.
#pragma once

#include <array>
#include <chrono>
#include <climits>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "diag/sock_info.h"
#include "output/json_writer.h"
#include "sys/procfs.h"

namespace sstrace::output {

// --- Names -----------------------------------------------------------------

// ESTAB, SYN-SENT, ..., UNCONN (TCP_CLOSE), LISTEN, CLOSING; "UNKNOWN" for
// numbers ss has no name for.
std::string_view state_name(uint8_t state);
// ss's Netid column: tcp udp raw u_str u_dgr u_seq p_raw p_dgr nl.
std::string_view netid_name(diag::SockKind kind);
// JSON "family": inet inet6 unix packet netlink.
std::string_view family_name(const diag::SockInfo& s);
// JSON "proto": tcp udp raw unix packet netlink.
std::string_view proto_name(diag::SockKind kind);
// idiag_timer: 1 on, 2 keepalive, 3 timewait, 4 persist, others unknown;
// 0 ("off") is never printed by ss.
std::string_view timer_name(uint8_t timer);
// ss's shutdown arrows: '<' unless reads are shut down, '>' unless writes
// are ("<->" is open both ways).
std::string shutdown_text(uint8_t mask);

// --- Numbers as ss prints them ---------------------------------------------

// ss's print_ms_timer: 89min, 55sec, 1.595ms (that is 1.595 seconds: ss's
// own spelling), 200ms. Whole minutes drop the seconds past 9 minutes.
std::string ms_timer(uint32_t ms);
// ss's timer column: timer:(keepalive,89min,0).
std::string timer_text(uint8_t timer, uint32_t expires_ms, uint8_t retrans);
// ss's rate numbers (the caller adds "bps"): 4.2M, 35G, 834k, 0; with -n the
// plain number of bits per second, rounded.
std::string rate_text(double bits_per_second, bool numeric);
void append_rate_text(std::string& out, double bits_per_second, bool numeric);
// printf("%g"): ss's spelling of the millisecond values in -i (0.075, 204).
std::string g_text(double v);

// --- Addresses --------------------------------------------------------------

// The address as ss -n prints it, without brackets: inet_ntop's text
// (IPv6 compressed; v4-mapped as ::ffff:1.2.3.4).
std::string addr_text(uint8_t family, const std::array<uint8_t, 16>& addr);
// The same text appended to `out` (no allocation for IPv4 or IPv6).
void append_addr_text(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr);
bool addr_is_any(uint8_t family, const std::array<uint8_t, 16>& addr);
// The address part of an ss column, before ":port": "*" for the IPv6
// wildcard of a socket that also takes IPv4 (not v6only), otherwise the
// address, host name with -r, IPv6 literals in brackets.
std::string ss_host_column(uint8_t family, const std::array<uint8_t, 16>& addr, bool v6only,
                           bool resolve);
void append_ss_host_column(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr,
                           bool v6only, bool resolve);
// Reverse lookup (gethostbyaddr, as ss -r does; v4-mapped addresses are
// looked up as IPv4). Empty when there is no name.
std::string host_name(uint8_t family, const std::array<uint8_t, 16>& addr);
// ss's port column for TCP/UDP: "*" for 0; a service name from
// /etc/services unless `numeric` or the port is in the ephemeral range
// (net.ipv4.ip_local_port_range), like ss; else the number.
std::string service_text(uint16_t port, std::string_view proto, bool numeric);
void append_service_text(std::string& out, uint16_t port, std::string_view proto, bool numeric);
// ss's port column for RAW sockets, which show the protocol there:
// /etc/protocols name or "ipproto-N"; the number with -n.
std::string ip_proto_text(unsigned proto, bool numeric);
// ss's local-address column for PACKET sockets: "*" for ETH_P_ALL, the
// iproute2 name of the ethertype (ip, ipv6, arp, 802.1Q, ...) or "[N]",
// always "[N]" with -n.
std::string ll_proto_text(uint16_t proto, bool numeric);
// ss's local-address column for NETLINK sockets: iproute2's name of the
// netlink protocol (rtnl, tcpdiag, genl, ...), the number when it has none
// or with -n.
std::string nl_proto_text(uint8_t proto, bool numeric);
// ss's local-port column for NETLINK sockets: "kernel" for portid 0,
// "comm/pid" when a process with that pid exists (ss assumes the portid is
// its owner's pid, as it is for a process's first netlink socket), else the
// portid as a signed number; always the number with -n.
std::string netlink_owner_text(uint32_t portid, bool numeric);
// Interface name for an ifindex ("*" for 0, "if<N>" when it is gone).
std::string if_name(uint32_t ifindex);
// The cgroup v2 path of a cgroup id, relative to the cgroup2 mount ("/" for
// the root), or ss's "unreachable:<hex id>" when there is no cgroup2 mount or
// no such cgroup.
std::string cgroup_text(uint64_t id);
// The same text, kept per thread for the last id asked: sockets come in runs
// of one cgroup, and this skips the map's lock, lookup and copy for each.
// Valid until the thread's next call.
const std::string& cgroup_text_of_last(uint64_t id);

// --- Process owners and details --------------------------------------------

// users:(("sshd",pid=812,fd=3),("sshd",pid=813,fd=3)); empty for no users.
// Each name is cut at its first ')', as ss -p shows it (ss_process_name).
std::string users_text(std::span<const sys::SocketUser> users);
// The name ss -p gives a process: ss reads /proc/<pid>/stat with
// "%*d (%[^)]", which stops at the first ')', so "own (a) b" is "own (a"
// ("" when the name starts with ')': the scan fails and ss keeps "").
std::string_view ss_process_name(std::string_view comm);
// " skmem:(r0,rb131072,...)" (leading space as ss prints it), or ss's older
// " mem:(r,w,f,t)" when the kernel sent only INET_DIAG_MEMINFO; "" when
// neither is present.
std::string skmem_text(const diag::SockInfo& s);
void append_skmem_text(std::string& out, const diag::SockInfo& s);
// ss -i's tcp_info fields, each with a leading space, in ss's order:
// " ts sack bbr wscale:10,10 rto:204 rtt:0.075/0.037 ... snd_wnd:65536".
// `options` adds ss -o's option flags (ts sack ecn ecnseen fastopen);
// `numeric` is -n (rates as plain numbers). "" without tcp_info.
std::string tcp_info_text(const diag::SockInfo& s, bool options, bool numeric);
void append_tcp_info_text(std::string& out, const diag::SockInfo& s, bool options, bool numeric);

// --- Events -----------------------------------------------------------------

// RFC 3339 UTC with microseconds: 2026-11-22T02:31:07.123456Z.
std::string rfc3339_utc(std::chrono::system_clock::time_point t);
std::string rfc3339_utc_ns(int64_t ns_since_epoch);

// The text of a timestamp's whole second, made by `format(second)` only when
// the second differs from the previous call's: a stream writes many events
// per second, and gmtime/localtime plus printf per event was a sixth of the
// stream's CPU.
class PerSecondText {
 public:
  template <typename Format>
  const std::string& get(int64_t second, Format&& format) {
    if (second != second_) {
      text_ = format(second);
      second_ = second;
    }
    return text_;
  }

 private:
  int64_t second_ = INT64_MIN;  // no nanosecond count divides down to it
  std::string text_;
};

// rfc3339_utc_ns's text appended to `out`, the date and time of day cached
// per second: only the microseconds are formatted per call.
class Rfc3339Formatter {
 public:
  void append(std::string& out, int64_t ns_since_epoch);

 private:
  PerSecondText prefix_;  // "2026-11-22T02:31:07."
};

// The per-socket JSON fields of snapshot and table events (CONTRACT.md plus
// what ss -e -o -m -i -p would show), everything except type/ts/v. Written
// into an object the caller has opened. docs/snapshot-json.md describes each
// field; `users` may be empty (then no users/pid/comm).
void write_sock_fields(JsonWriter& w, const diag::SockInfo& s,
                       std::span<const sys::SocketUser> users);

// laddr/raddr as the JSON events spell them: the address as ss -n prints it
// without brackets ("*" for the dual-stack IPv6 wildcard); a remote address
// that is unset is "*". Unix: the path ("*" when unnamed); packet: ss -n's
// ethertype ("*" for all, "[2048]").
std::string json_laddr(const diag::SockInfo& s);
std::string json_raddr(const diag::SockInfo& s);

}  // namespace sstrace::output
