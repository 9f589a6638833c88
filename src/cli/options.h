// The command line (CONTRACT.md): ss's option letters, meaning what they
// mean in ss, plus sstrace's own long options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "diag/sock_info.h"
#include "sys/capabilities.h"

namespace sstrace::cli {

enum class Command { live, snapshot, top };

struct Options {
  Command command = Command::live;

  // Socket kinds (-t -u -w -x -0, -A QUERY, -f FAMILY). None given: ss's
  // default set for the command.
  bool tcp = false, udp = false, raw = false, unix_ = false, packet = false;
  bool ipv4 = false, ipv6 = false;  // -4 / -6 / -f inet|inet6 (neither: both)
  bool kinds_given = false;         // any of the above was given

  // The same selection after ss's rules (options.cpp explains them): the
  // socket kinds to list (netlink apart), whether netlink sockets are listed,
  // and the states to list when FILTER has no `state`/`exclude` (-a, -l, or
  // the tables' defaults).
  uint32_t kinds = 0;           // bitmask of 1 << diag::SockKind
  bool netlink = false;         // -f netlink, -A netlink
  uint32_t default_states = 0;  // bitmask of 1 << diag::TcpState
  // The states ss lists when FILTER's `state`/`exclude` words leave none
  // (`state established exclude established`): not default_states, as
  // those words also undo -a/-l (options.cpp).
  uint32_t states_if_none_left = 0;
  bool has_kind(diag::SockKind k) const { return (kinds >> static_cast<unsigned>(k)) & 1u; }
  // ss's "preferred family": AF_INET, AF_INET6, AF_UNIX or AF_PACKET of the
  // last -4 / -6 / -f / -x / -0, else AF_UNSPEC (0). The filter reads
  // addresses in it.
  int family = 0;

  bool all = false;        // -a
  bool listening = false;  // -l
  bool numeric = false;    // -n
  bool resolve = false;    // -r
  bool info = false;       // -i
  bool memory = false;     // -m
  bool extended = false;   // -e
  bool timer = false;      // -o
  bool processes = false;  // -p
  bool summary = false;    // -s
  bool oneline = false;    // -O
  bool no_header = false;  // -H
  bool json = false;       // -j / --json
  bool verbose = false;    // -v: libbpf's log and debug notes on stderr

  std::string netns;                      // -N NAME (/run/netns/NAME)
  bool all_netns = false;                 // --all-netns: the live stream in every namespace
  std::string filter_file;                // -F FILE
  std::string diag_file;                  // -D FILE (raw netlink replies)
  std::vector<std::string> filter_words;  // FILTER

  // Live stream only.
  double duration_s = 0;              // --duration SECONDS (0: until a signal)
  double resync_s = 0;                // --resync SECONDS (0: off)
  std::string metrics_addr;           // --metrics ADDR:PORT
  uint32_t rtt_min_change_us = 1000;  // --rtt-min-change-us: absolute srtt move to report
  uint32_t rtt_min_change_pct = 20;   // --rtt-min-change-pct: relative srtt move to report
  uint32_t rtt_interval_ms = 1000;  // --rtt-interval-ms: at most one rtt event per socket per this
  uint32_t ringbuf_kib = 8192;      // --ringbuf-kib: ring buffer size (power of two)
  bool quiet = false;               // --quiet: no event output (-s or --metrics only)
  uint32_t metrics_peers = 0;       // --metrics-peers N: peer labels for the N busiest (0: none)

  // Every command: --output FILE, events (or the snapshot, or top's
  // frames) appended to FILE instead of stdout; SIGHUP reopens it.
  std::string output_file;
  // Live stream and top: privileges (cli/privileges.h) and the kernel's BTF.
  std::optional<sys::UserIds> user;  // --user NAME: run as NAME once set up
  std::string btf_file;              // --btf FILE: the kernel's BTF from FILE

  // Live stream and top.
  double interval_s = 1;  // --interval SECONDS: -s summaries, top frames, listener drop checks
  double close_wait_alert_s = 30;   // --close-wait-alert SECONDS: CLOSE-WAIT this long is an alert
  uint32_t port_pressure_pct = 80;  // --port-pressure-pct: ports in use toward one destination

  // Live stream, -s and top: read a recording (what --json wrote) instead
  // of the kernel (docs/events.md, "Replay"); "-" is standard input.
  std::string replay_file;  // --replay FILE

  // top only.
  std::string by = "peer-port";  // --by peer|port|peer-port|process
  bool batch = false;            // --batch: plain text frames, as top -b
};

// Parses argv. Throws UsageError (one line: what and where) on a bad option;
// prints help or version and returns nullopt for -h / -V.
std::optional<Options> parse_options(int argc, char** argv);

}  // namespace sstrace::cli
