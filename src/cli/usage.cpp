#include "cli/usage.h"

namespace sstrace::cli {

namespace {

// ss's option letters first, in ss's order, then sstrace's own. The FILTER
// grammar summary matches what src/filter accepts.
constexpr const char kUsage[] =
    R"(Usage: sstrace [ OPTIONS ] [ FILTER ]            live stream of TCP events
       sstrace snapshot [ OPTIONS ] [ FILTER ]   one dump, like ss, then exit
       sstrace top [ OPTIONS ] [ FILTER ]        refreshing view of churn (q quits)

   -h, --help          print this help and exit
   -V, --version       print the version and exit
   -n, --numeric       show port numbers, not service names
   -r, --resolve       show host names, not addresses
   -a, --all           list sockets in every state
   -l, --listening     list listening (and unconnected) sockets only
   -o, --options       show timers
   -e, --extended      show uid, inode, cookie and more (implies -o)
   -m, --memory        show socket memory (skmem)
   -p, --processes     show the processes that hold each socket
   -i, --info          show TCP internals (tcp_info)
   -s, --summary       print socket counts, as ss -s does
   -N, --net=NAME      use the network namespace /run/netns/NAME

   -4, --ipv4          IPv4 sockets only
   -6, --ipv6          IPv6 sockets only
   -0, --packet        PACKET sockets
   -t, --tcp           TCP sockets
   -u, --udp           UDP sockets
   -w, --raw           RAW sockets
   -x, --unix          UNIX domain sockets
   -f, --family=FAMILY sockets of one family
       FAMILY := {inet|inet6|link|unix|netlink|help}

   -H, --no-header     no header line
   -O, --oneline       everything about a socket on one line

   -A, --query=QUERY, --socket=QUERY
       QUERY := {all|inet|tcp|udp|raw|unix|unix_dgram|unix_stream|
                 unix_seqpacket|packet|packet_raw|packet_dgram|netlink}[,QUERY]
                 (a leading ! removes a table: -A all,!unix)

   -D, --diag=FILE     write the raw inet_diag replies of the TCP dump to FILE
                       ("-": stdout) instead of listing sockets
   -F, --filter=FILE   read FILTER from FILE ("-": stdin)
       FILTER := [ state STATE-FILTER ] [ EXPRESSION ]
       STATE-FILTER := {all|connected|synchronized|bucket|big|TCP-STATES}
         TCP-STATES := {established|syn-sent|syn-recv|fin-wait-{1,2}|time-wait|
                        closed|close-wait|last-ack|listening|closing}
          connected := every state but listening and closed
       synchronized := connected without syn-sent
             bucket := {syn-recv|time-wait}
                big := every state but syn-recv and time-wait
       EXPRESSION := ss's: src/dst ADDR[/LEN][:PORT], sport/dport OP PORT
                     (OP: = != < > <= >= eq ne lt gt le ge), dev, fwmark,
                     cgroup, autobound, and/or/not, ( )

sstrace:
   -j, --json          JSON lines on stdout, one object per socket or event
   -v, --verbose       debug notes (and libbpf's log) on stderr
       --output=FILE   append the output to FILE (created 0640) instead of
                       stdout; the live stream and top reopen it on SIGHUP
                       (logrotate's create; copytruncate needs nothing)

live stream only (it follows TCP in every state; of ss's letters it takes
-t -a -n -4 -6 -f inet|inet6 -A tcp -m -s -N -F):
   -s, --summary                every --interval, ss -s's counts and the
                                interval's rates, among the events
       --metrics=ADDR:PORT      Prometheus metrics at http://ADDR:PORT/metrics
                                (ADDR: an address, or nothing for every
                                address), listening where sstrace was
                                started whatever -N names
       --metrics-peers=N        a peer label for the N busiest peers, the
                                rest as "other" (default 0: no peer label)
       --quiet                  no events: only what -s and --metrics give
       --interval=SECONDS       -s summaries, top frames and the check of
                                listeners' drops (default 1)
       --close-wait-alert=SECONDS
                                alert on a connection in CLOSE-WAIT this
                                long (default 30)
       --port-pressure-pct=PCT  alert when the local ports in use toward one
                                remote address and port reach PCT percent of
                                ip_local_port_range (default 80)
       --duration=SECONDS       stop by itself after SECONDS, > 0 (default:
                                run until SIGINT or SIGTERM)
       --resync=SECONDS         compare the live table with a fresh dump
                                every SECONDS (default and 0: off)
       --rtt-min-change-us=US   report an RTT move of at least US
                                microseconds (default 1000)
       --rtt-min-change-pct=PCT ... or of at least PCT percent (default 20)
       --rtt-interval-ms=MS     at most one rtt event per socket per MS
                                (default 1000)
       --ringbuf-kib=KIB        ring buffer size, a power of two (default 8192)
       --all-netns              follow every network namespace on the host
                                (not with -N)
       --user=NAME              once attached and seeded, run as NAME with
                                no capabilities (--all-netns keeps
                                CAP_SYS_ADMIN and CAP_SYS_PTRACE); also top
       --btf=FILE               the kernel's BTF from FILE, where
                                /sys/kernel/btf/vmlinux is missing; also top
       --replay=FILE            read a recording (what --json wrote; - is
                                stdin) instead of the kernel, at full speed,
                                on the events' time; also -s and top

top only (and -N, --all-netns, --duration, --interval, --close-wait-alert,
--port-pressure-pct, --replay, -j, a FILTER):
       --by=peer|port|peer-port|process
                                the first grouping (default peer-port; g
                                cycles); port is the service port
       --batch                  plain text frames, one per interval (top -b)
   -j, --json                   one `top` JSON object per interval
  keys: q quit, < > or 1-9 sort, g grouping, p pause, / filter, ? help;
  without a terminal top writes --batch frames

Exit status: 0 done, 2 bad usage, 1 anything else.
)";

}  // namespace

void print_usage(std::FILE* out) { std::fputs(kUsage, out); }

}  // namespace sstrace::cli
