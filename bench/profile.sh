#!/usr/bin/env bash
# Profiles sstrace where bench/run.sh shows it missing a target, so the
# numbers in bench/hotspots.md can be reproduced before and after a fix.
#
#   bench/profile.sh [--build-dir DIR] [--sockets N] [--out DIR]
#
# Writes to DIR (default BUILD/profile):
#   bpf_prog_stats.txt  ns per run and recursion misses of every sstrace
#                       program during a churn (kernel.bpf_stats_enabled is
#                       switched on for the run and restored after)
#   churn_perf.txt      where the churn generator's CPU goes with sstrace
#                       attached (perf, system-wide, filtered to its comm)
#   churn_sstrace.txt   where sstrace's own CPU goes during the churn
#   snapshot_*.txt      perf of `sstrace snapshot` over N sockets (user+kernel)
#   startup.txt         perf of the live stream's start-up over N sockets
#
# Needs root, perf (linux-perf) and the same build as run.sh. Namespaces are
# ssb-prof-<pid>-*, deleted on exit; every process is bounded in time.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$REPO/build-bench
SOCKETS=100000
OUT=""
while (($#)); do
  case $1 in
    --build-dir) BUILD=$2; shift ;;
    --sockets) SOCKETS=$2; shift ;;
    --out) OUT=$2; shift ;;
    *) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
OUT=${OUT:-$BUILD/profile}
mkdir -p "$OUT"
SSTRACE=$BUILD/sstrace
B=$BUILD/bench
PFX="ssb-prof-$$"
PIDS=()
NSS=()
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v perf >/dev/null || { echo "profile.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }

# $2 = churn: the port range and TIME-WAIT room of run.sh's churn; else the
# default ephemeral range, clear of the holders' listening ports (20000+).
mkns() {
  NS="$PFX-$1"
  ip netns add "$NS"
  NSS+=("$NS")
  ip -n "$NS" link set lo up
  if [[ ${2:-} == churn ]]; then
    ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_max_tw_buckets=2000000
  fi
}

# The first $2 lines of stdin; reads it all, so no writer dies of SIGPIPE
# (this script runs with pipefail).
first() { awk -v n="$1" 'NR <= n'; }

top_symbols() { # perf.data, comm filter (or ""), lines
  local comm=()
  [[ -n $2 ]] && comm=(--comm "$2")
  perf report -i "$1" "${comm[@]}" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | first 8
  echo
  perf report -i "$1" "${comm[@]}" --no-children --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | first "$3"
}

# ---- churn: BPF program cost and the generator's profile ----
mkns churn churn
"$SSTRACE" --json -N "$NS" --duration 120 >/dev/shm/"$PFX".events 2>/dev/null &
PIDS+=($!)
SPID=$!
for _ in $(seq 300); do grep -q '"type":"sync"' /dev/shm/"$PFX".events 2>/dev/null && break; sleep 0.1; done
sysctl -qw kernel.bpf_stats_enabled=1
"$B/churn" --netns "$NS" --duration 8 --clients 8 >"$OUT/churn_rate.txt" &
PIDS+=($!)
GPID=$!
sleep 2
perf record --call-graph dwarf,16384 -F 1000 -e cpu-clock -p "$SPID" -o "$OUT/churn_sstrace.perf.data" -- sleep 4 2>/dev/null &
PIDS+=($!)
UPID=$!
perf record -a -g -e cpu-clock -F 2000 -o "$OUT/churn.perf.data" -- sleep 4 2>/dev/null
wait "$UPID" || true
wait "$GPID" || true
{
  echo "# sstrace BPF programs during 8 s of churn (run_time_ns / run_cnt)"
  # Only our sstrace's programs (others may run on a shared machine): the
  # prog_id lines of its fds' fdinfo name them.
  ids=" $(cat /proc/"$SPID"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {printf "%s ", $2}')"
  bpftool prog show 2>/dev/null | awk -v ids="$ids" '
    function flush() {
      if (name != "" && mine)
        printf "%-32s runs %10d  ns/run %8.0f  recursion_misses %d\n", name, rc, rc ? rt / rc : 0, miss
      name = ""; rt = 0; rc = 0; miss = 0; mine = 0
    }
    /^[0-9]+: / { flush()
      id = $1; sub(":", "", id)
      mine = index(ids, " " id " ") > 0
      for (i = 1; i <= NF; i++) {
        if ($i == "name") name = $(i+1)
        if ($i == "run_time_ns") rt = $(i+1)
        if ($i == "run_cnt") rc = $(i+1)
        if ($i == "recursion_misses") miss = $(i+1)
      }
      if (name !~ /^handle_/) name = ""
    }
    END { flush() }'
} >"$OUT/bpf_prog_stats.txt"
sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
kill -INT "$SPID"
wait "$SPID" || true
tail -1 /dev/shm/"$PFX".events >>"$OUT/churn_rate.txt"
rm -f /dev/shm/"$PFX".events
{
  echo "# churn generator with sstrace attached: where its CPU goes"
  top_symbols "$OUT/churn.perf.data" churn 25
  echo
  echo "# callers of the top kernel symbol"
  perf report -i "$OUT/churn.perf.data" --comm churn --no-children --symbol-filter=native_write_msr \
    -g caller,0.5,callee --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | first 30
  echo
  echo "# sstrace itself during the churn"
  top_symbols "$OUT/churn.perf.data" sstrace 20
} >"$OUT/churn_perf.txt"
{
  echo "# sstrace's process during the churn (DWARF call graphs): self, then inclusive"
  top_symbols "$OUT/churn_sstrace.perf.data" "" 30
  echo
  perf report -i "$OUT/churn_sstrace.perf.data" --children --sort sym --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]' | first 45
} >"$OUT/churn_sstrace.txt"

# ---- snapshot and start-up over N sockets ----
mkns sockets
for ((h = 0, left = SOCKETS / 2; left > 0; h++)); do
  n=$((left > 9000 ? 9000 : left))
  addr=127.0.0.1
  ((h % 2)) && addr=::1
  "$B/socket_holder" --netns "$NS" --pairs "$n" --port $((20000 + h)) --addr "$addr" --max-seconds 600 >"$OUT/.holder$h" &
  PIDS+=($!)
  for _ in $(seq 600); do grep -q ready "$OUT/.holder$h" && break; sleep 0.1; done
  left=$((left - n))
done
rm -f "$OUT"/.holder*
for opts in "-tan" "-tani" "-tani --json"; do
  f=$OUT/snapshot_${opts//[^a-z]/}.txt
  # shellcheck disable=SC2086
  perf record --call-graph dwarf,16384 -F 2000 -e cpu-clock -o "$f.data" -- "$SSTRACE" snapshot $opts -N "$NS" >/dev/null 2>&1
  { echo "# sstrace snapshot $opts over $SOCKETS sockets"; top_symbols "$f.data" "" 30; } >"$f"
done
perf record --call-graph dwarf,16384 -F 1000 -e cpu-clock -o "$OUT/startup.perf.data" -- \
  "$SSTRACE" --json -N "$NS" --duration 1 >/dev/null 2>&1
{
  echo "# sstrace --json -N NS --duration 1 over $SOCKETS sockets (start-up, then 1 s of stream)"
  top_symbols "$OUT/startup.perf.data" "" 25
  echo
  echo "# inclusive (children) view"
  perf report -i "$OUT/startup.perf.data" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | first 40
} >"$OUT/startup.txt"
echo "profile.sh: wrote $OUT"
