#!/usr/bin/env bash
# Runs every sstrace benchmark (issue 5) and writes docs/BENCHMARKS.md:
# the results against their targets, the exact commands, the machine.
#
#   bench/run.sh [--quick] [--build-dir DIR] [--out FILE] [--save-baseline]
#
#   --quick          tiny sizes, one round each, under ~2 minutes: a smoke
#                    test that every benchmark still runs (CI). Writes
#                    DIR/BENCHMARKS.quick.md unless --out is given. Exits
#                    non-zero only when a benchmark fails to run, never for
#                    a missed target (a shared CI machine is too noisy).
#   --build-dir DIR  where sstrace and bench/* were built (default:
#                    build-bench, then build, under the repository)
#   --out FILE       the report (default docs/BENCHMARKS.md)
#   --save-baseline  store this run's numbers in bench/baseline.tsv: later
#                    runs show them as the "before" column beside their own
#
# Needs root (namespaces, BPF), and: hyperfine, bpftrace, iperf3, ss, nstat,
# ip, libbpf-tools (tcpstates, tcplife, tcprtt). Every process it starts is
# bounded in time and killed by PID on exit; every namespace it creates is
# named ssb-<pid>-* and deleted on exit, failure or signal included.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
BUILD=""
OUT=""
SAVE_BASELINE=0
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --build-dir) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --save-baseline) SAVE_BASELINE=1 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ -z $BUILD ]]; then
  for d in "$REPO/build-bench" "$REPO/build"; do
    [[ -x $d/sstrace && -x $d/bench/churn ]] && { BUILD=$d; break; }
  done
fi
[[ -n $BUILD ]] || { echo "run.sh: no build with sstrace and bench/*; build first (cmake --build build-bench)" >&2; exit 1; }
BUILD=$(cd "$BUILD" && pwd)
SSTRACE=$BUILD/sstrace
B=$BUILD/bench
if [[ -z $OUT ]]; then
  if ((QUICK)); then OUT=$BUILD/BENCHMARKS.quick.md; else OUT=$REPO/docs/BENCHMARKS.md; fi
fi
BASELINE=$REPO/bench/baseline.tsv

# ---- sizes -------------------------------------------------------------------
if ((QUICK)); then
  SNAP_SIZES=(1000)
  START_SOCKETS=2000
  HF_RUNS=3
  START_RUNS=2
  CHURN_SECONDS=2
  CHURN_ROUNDS=1
  AGG_ROUNDS=1
  CHURN_CLIENTS_TRY=()
  IPERF_SECONDS=1
  IPERF_ROUNDS=1
else
  SNAP_SIZES=(10000 100000)
  START_SOCKETS=100000
  HF_RUNS=15
  START_RUNS=7
  CHURN_SECONDS=10
  CHURN_ROUNDS=3
  AGG_ROUNDS=5
  CHURN_CLIENTS_TRY=(2 4 8 16)
  IPERF_SECONDS=5
  IPERF_ROUNDS=5
fi
CHURN_CLIENTS=8
HOLDER_MAX_PAIRS=9000 # 18,001 fds: under the 20,000 per-process limit
SAFETY_S=900          # no process we start outlives this
# sstrace --metrics listens in the host's namespace: a port of this run's own.
METRICS_PORT=$((30000 + $$ % 20000))

# ---- bookkeeping and cleanup -------------------------------------------------
WORK=$(mktemp -d /dev/shm/sstrace-bench.XXXXXX)
NS_PREFIX="ssb-$$"
PIDS=()
NAMESPACES=()
RESULTS=$WORK/results.tsv
COMMANDS=$WORK/commands.md
: >"$RESULTS"
: >"$COMMANDS"

log() { echo "[run.sh $(date +%T)] $*" >&2; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -z ${BPF_STATS_WAS:-} ]] || sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS" || true
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
  ((rc == 0)) || log "failed (status $rc); namespaces and processes cleaned up"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in the background, remembers its PID for cleanup; sets BGPID.
bg() {
  "$@" &
  BGPID=$!
  PIDS+=("$BGPID")
}

# Runs "$@" to completion, but in the background: a signal to this script
# interrupts `wait` at once (it would wait for a foreground child first),
# and cleanup() knows the PID.
run_fg() {
  "$@" &
  local pid=$!
  PIDS+=("$pid")
  wait "$pid"
}

# Namespaces left by a run.sh or profile.sh that was SIGKILLed: their
# processes are gone (each is bounded in time), their names are not.
reap_stale_namespaces() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^ssb-(prof-)?[0-9]+-' || true); do
    pid=${ns#ssb-}
    pid=${pid#prof-}
    pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null || { log "deleting stale namespace $ns"; ip netns del "$ns" || true; }
  done
}

# Stops a background PID with SIGINT and waits at most $2 seconds.
stop_pid() {
  local pid=$1 limit=${2:-30} i
  kill -INT "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Waits until FILE has a line matching REGEX, at most SECONDS.
wait_line() {
  local file=$1 re=$2 limit=$3 i
  for ((i = 0; i < limit * 10; i++)); do
    grep -qE "$re" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  log "timed out waiting for /$re/ in $file"
  tail -5 "$file" >&2 || true
  return 1
}

# Creates namespace ssb-<pid>-$1 and sets NS to its name (not echoed: a
# command substitution would lose the cleanup bookkeeping in a subshell).
# With $2 = churn: the whole port range and room for every TIME-WAIT, so
# the kernel's handling does not change mid-run (the default 131072
# buckets overflow after a few seconds at the top rate). Without it the
# ephemeral range stays 32768-60999, clear of the holders' listening ports.
new_ns() {
  local ns="$NS_PREFIX-$1"
  NS=$ns
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
  if [[ ${2:-} == churn ]]; then
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
      net.ipv4.tcp_max_tw_buckets=2000000
  fi
}

del_ns() {
  ip netns del "$1" 2>/dev/null || true
  local keep=() n
  for n in "${NAMESPACES[@]}"; do [[ $n == "$1" ]] || keep+=("$n"); done
  NAMESPACES=("${keep[@]}")
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
minimum() { sort -g | head -1; }
maximum() { sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0 || a == "nan" || b == "nan") print "nan"; else printf "%.3f", a / b}'; }
fmt() { awk -v x="$1" -v f="${2:-%.1f}" 'BEGIN {if (x == "nan" || x == "") print "n/a"; else printf f, x}'; }

# result KEY VALUE OP TARGET "description" [unit]: one checked number.
result() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >>"$RESULTS"; }

# cmd "benchmark" "command line": the exact commands, for the report.
cmd() { printf -- '- %s: `%s`\n' "$1" "$2" >>"$COMMANDS"; }

check_tools() {
  [[ $(id -u) -eq 0 ]] || { echo "run.sh: needs root (namespaces, BPF)" >&2; exit 1; }
  local t missing=()
  for t in hyperfine bpftrace iperf3 ss nstat ip tcpstates tcplife tcprtt timeout; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  for t in sstrace bench/churn bench/socket_holder bench/bare_dump bench/measure bench/time_to_sync bench/transition_counter; do
    [[ -x $BUILD/$t ]] || missing+=("$BUILD/$t")
  done
  ((${#missing[@]} == 0)) || { echo "run.sh: missing: ${missing[*]} (scripts/setup.sh; apt-get install hyperfine)" >&2; exit 1; }
}

# ---- 1. snapshot ---------------------------------------------------------------
HOLDERS=0
HELD_PAIRS=0

# Grows the namespace's established pairs to $2 sockets with more holders.
grow_sockets() {
  local ns=$1 want_pairs=$(($2 / 2)) n fam addr out
  while ((HELD_PAIRS < want_pairs)); do
    n=$((want_pairs - HELD_PAIRS))
    ((n > HOLDER_MAX_PAIRS)) && n=$HOLDER_MAX_PAIRS
    # IPv4 and IPv6 alternately: the dump covers both families.
    if ((HOLDERS % 2)); then addr=::1; else addr=127.0.0.1; fi
    out=$WORK/holder.$HOLDERS
    bg "$B/socket_holder" --netns "$ns" --pairs "$n" --port $((20000 + HOLDERS)) \
      --addr "$addr" --max-seconds "$SAFETY_S" >"$out"
    wait_line "$out" '^ready' 120
    HOLDERS=$((HOLDERS + 1))
    HELD_PAIRS=$((HELD_PAIRS + n))
  done
}

# hyperfine of one option set: sstrace snapshot, ss, bare_dump.
snapshot_case() {
  local ns=$1 size=$2 name=$3 ssopts=$4 jsonflag=$5 bareopts=$6
  local csv=$WORK/hf.$size.$name.csv opts="$ssopts${jsonflag:+ $jsonflag}"
  local c_sst="$SSTRACE snapshot $opts -N $ns"
  local c_ss="ss $ssopts -N $ns"
  local c_bare="$B/bare_dump${bareopts:+ $bareopts} --netns $ns"
  run_fg hyperfine --shell=none --warmup 2 --runs "$HF_RUNS" --export-csv "$csv" \
    -n sstrace "$c_sst" -n ss "$c_ss" -n bare "$c_bare" >"$WORK/hf.$size.$name.log" 2>&1 ||
    { cat "$WORK/hf.$size.$name.log" >&2; return 1; }
  cmd "snapshot $size $name" "hyperfine --shell=none --warmup 2 --runs $HF_RUNS -n sstrace '$c_sst' -n ss '$c_ss' -n bare '$c_bare'"
  # csv: command,mean,stddev,median,user,system,min,max
  local row
  for row in sstrace ss bare; do
    awk -F, -v r="$row" -v size="$size" -v name="$name" '$1 == r {
      printf "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\n", size, name, r, $4 * 1000, $7 * 1000, ($5 + $6) * 1000, $3 * 1000
    }' "$csv" >>"$WORK/snapshot.tsv"
  done
  # Judged on CPU time (user+sys): on a shared 2-core machine the wall
  # time is mostly the run queue; both are in the table.
  local c_sst c_ss c_bare w
  c_sst=$(awk -F, '$1 == "sstrace" {print $5 + $6}' "$csv")
  c_ss=$(awk -F, '$1 == "ss" {print $5 + $6}' "$csv")
  c_bare=$(awk -F, '$1 == "bare" {print $5 + $6}' "$csv")
  w=$(awk -F, '{m[$1] = $4; n[$1] = $7} END {printf "wall median %.2f, min %.2f", m["sstrace"] / m["ss"], n["sstrace"] / n["ss"]}' "$csv")
  result "snapshot.$size.$name.vs_ss" "$(ratio "$c_sst" "$c_ss")" "<=" 1.0 \
    "snapshot $size sockets \`$opts\`: sstrace / ss, CPU ($w)" x
  w=$(awk -F, '{m[$1] = $4; n[$1] = $7} END {printf "wall median %.2f, min %.2f", m["sstrace"] / m["bare"], n["sstrace"] / n["bare"]}' "$csv")
  result "snapshot.$size.$name.vs_bare" "$(ratio "$c_sst" "$c_bare")" "<=" 1.3 \
    "snapshot $size sockets \`$opts\`: sstrace / bare dump, CPU ($w)" x
}

count_check() {
  local ns=$1 size=$2 a b c
  a=$("$SSTRACE" snapshot -tanH -N "$ns" | wc -l)
  b=$(ss -tanH -N "$ns" | wc -l)
  c=$("$B/bare_dump" --netns "$ns" | awk '{print $2}')
  printf '%s\t%s\t%s\t%s\n' "$size" "$a" "$b" "$c" >>"$WORK/snapshot_counts.tsv"
  [[ $a == "$b" && $b == "$c" ]] || log "warning: socket counts differ at $size: sstrace $a, ss $b, bare $c"
}

bench_snapshot() {
  local ns size
  new_ns snap
  ns=$NS
  : >"$WORK/snapshot.tsv"
  : >"$WORK/snapshot_counts.tsv"
  for size in $(printf '%s\n' "${SNAP_SIZES[@]}" "$START_SOCKETS" | sort -nu); do
    log "snapshot: $size sockets"
    grow_sockets "$ns" "$size"
    cmd "socket holders" "socket_holder --netns $ns --pairs N --port 20000+K --addr 127.0.0.1|::1 (alternating; N <= $HOLDER_MAX_PAIRS, until $size sockets)"
    [[ " ${SNAP_SIZES[*]} " == *" $size "* ]] || continue
    count_check "$ns" "$size"
    snapshot_case "$ns" "$size" tan "-tan" "" ""
    snapshot_case "$ns" "$size" tan-json "-tan" "--json" ""
    snapshot_case "$ns" "$size" tani "-tani" "" "--info"
    snapshot_case "$ns" "$size" tani-json "-tani" "--json" "--info"
  done
  SNAP_NS=$ns # kept, with $START_SOCKETS sockets, for start-up and memory
}

# ---- 2 and 5. start-up and memory ----------------------------------------------
bench_startup() {
  local ns=$SNAP_NS out=$WORK/startup.txt
  log "start-up and memory: $START_SOCKETS sockets, $START_RUNS runs"
  local c="$B/time_to_sync --runs $START_RUNS --settle-ms 1000 -- $SSTRACE --json -N $ns --duration $SAFETY_S"
  cmd "start-up and memory" "$c"
  run_fg $c >"$out"
  local s
  s=$(grep '^time_to_sync:' "$out")
  # "... sync_ms min A median B max C ..."
  STARTUP_MIN=$(awk '{for (i = 1; i < NF; i++) if ($i == "sync_ms") {print $(i+2); exit}}' <<<"$s")
  STARTUP_MED=$(awk '{for (i = 1; i < NF; i++) if ($i == "sync_ms") {print $(i+4); exit}}' <<<"$s")
  STARTUP_MAX=$(awk '{for (i = 1; i < NF; i++) if ($i == "sync_ms") {print $(i+6); exit}}' <<<"$s")
  HWM=$(awk '{for (i = 1; i < NF; i++) if ($i == "settled_hwm_kib") {print $(i+2) / 1024; exit}}' <<<"$s")
  RSS=$(awk '{for (i = 1; i < NF; i++) if ($i == "settled_rss_kib") {print $(i+2) / 1024; exit}}' <<<"$s")
  # The CPU sstrace used up to sync: the wall time on an idle machine.
  STARTUP_CPU=$(awk '/^run / {for (i = 1; i < NF; i++) if ($i == "cpu_s") print $(i+1)}' "$out" | median)
  result "startup.$START_SOCKETS.sync_ms" "$(awk -v x="$STARTUP_MED" 'BEGIN {printf "%.0f", x}')" "<" 1000 \
    "start-up: exec to \`sync\` with $START_SOCKETS sockets, wall (median of $START_RUNS; CPU used by then: $(fmt "$STARTUP_CPU" %.2f) s)" ms
  result "memory.$START_SOCKETS.vmhwm_mib" "$(fmt "$HWM")" "<" 64 "memory: VmHWM after sync, $START_SOCKETS connections" MiB
  result "memory.$START_SOCKETS.vmrss_mib" "$(fmt "$RSS")" "<" 64 "memory: VmRSS after sync, $START_SOCKETS connections" MiB
  del_ns "$ns"
}

# ---- 3. churn --------------------------------------------------------------------
# CPU seconds (user+sys, every thread) a live process has used so far.
proc_cpu() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) } # after "pid (comm) ": field 12 is utime, 13 stime
  awk -v t="$(getconf CLK_TCK)" '{print ($12 + $13) / t}' <<<"$s"
}

# The PID of the command measure PID $1 runs.
child_of() { pgrep -P "$1" | head -1 || true; }

# Waits until the libbpf-tools tracer under measure PID $1 has attached and
# opened its perf buffer: a perf_event fd for the tracepoint plus one per
# CPU. (Its header line is no sign: stdout to a file is block-buffered.)
wait_attached() {
  local mpid=$1 limit=$2 i child n
  for ((i = 0; i < limit * 10; i++)); do
    child=$(child_of "$mpid")
    if [[ -n $child ]]; then
      n=$(ls -l "/proc/$child/fd" 2>/dev/null | grep -c 'perf_event' || true)
      ((n >= $(nproc) + 1)) && { sleep 0.2; return 0; }
    fi
    sleep 0.1
  done
  log "timed out waiting for the tracer under PID $mpid to attach"
  return 1
}

# Waits until the process under measure PID $1 holds BPF links (its
# programs are attached), at most $2 seconds.
wait_bpf_links() {
  local mpid=$1 limit=$2 i child
  for ((i = 0; i < limit * 10; i++)); do
    child=$(child_of "$mpid")
    if [[ -n $child ]] && ls -l "/proc/$child/fd" 2>/dev/null | grep -q 'bpf[-_]link'; then
      sleep 0.2
      return 0
    fi
    sleep 0.1
  done
  log "timed out waiting for the tracer under PID $mpid to attach"
  return 1
}

# Waits until URL $1 answers, at most $2 seconds.
wait_http() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "timed out waiting for $1"
  return 1
}

# Starts tracer $1 (none, sstrace, sstrace-metrics, sstrace-top, tcpstates,
# tcplife, tcprtt, bpftrace-tcp_probe) for namespace $2 under measure,
# output in $3.*.
# Sets TPID (measure's PID, empty for none); returns 1 if it did not start.
start_tracer() {
  local kind=$1 ns=$2 base=$3
  TPID=""
  case $kind in
    none) return 0 ;;
    sstrace)
      bg "$B/measure" --out "$base.cpu" -- "$SSTRACE" --json -N "$ns" --duration "$SAFETY_S" >"$base.out" 2>"$base.err"
      TPID=$BGPID
      wait_line "$base.out" '^\{"type":"sync"' 120 ;;
    sstrace-metrics)
      bg "$B/measure" --out "$base.cpu" -- "$SSTRACE" --metrics "127.0.0.1:$METRICS_PORT" --quiet \
        -N "$ns" --duration "$SAFETY_S" >"$base.out" 2>"$base.err"
      TPID=$BGPID
      wait_bpf_links "$TPID" 120
      # Records that arrive while it seeds are held and replayed, not lost:
      # attached is ready. The endpoint must answer for the scrape at the end.
      wait_http "http://127.0.0.1:$METRICS_PORT/metrics" 30 ;;
    sstrace-top)
      bg "$B/measure" --out "$base.cpu" -- "$SSTRACE" top --json -N "$ns" --duration "$SAFETY_S" \
        >"$base.out" 2>"$base.err"
      TPID=$BGPID
      # The first object ends the first interval after sync.
      wait_line "$base.out" '^\{"type":"top"' 120 ;;
    tcpstates | tcplife)
      bg "$B/measure" --out "$base.cpu" --timeout "$SAFETY_S" -- "$kind" >"$base.out" 2>"$base.err"
      TPID=$BGPID
      wait_attached "$TPID" 60 ;;
    tcprtt)
      # Needs fentry or a kprobe on tcp_rcv_established: on kernels that
      # allow neither it exits at once.
      bg "$B/measure" --out "$base.cpu" --timeout "$SAFETY_S" -- tcprtt >"$base.out" 2>"$base.err"
      TPID=$BGPID
      sleep 3
      kill -0 "$(child_of "$TPID")" 2>/dev/null || { wait "$TPID" 2>/dev/null || true; TPID=""; return 1; } ;;
    bpftrace-tcp_probe)
      bg "$B/measure" --out "$base.cpu" --timeout "$SAFETY_S" -- \
        bpftrace -e 'tracepoint:tcp:tcp_probe { @srtt_us = hist(args->srtt >> 3); }' >"$base.out" 2>/dev/null
      TPID=$BGPID
      wait_line "$base.out" 'Attaching' 90 ;;
  esac
}

# CPU the tracer under measure PID $1 has used so far (0 for none).
tracer_cpu_now() { [[ -n $1 ]] && proc_cpu "$(child_of "$1")" || echo 0; }

churn_generator() {
  local ns=$1 secs=$2 clients=$3
  "$B/churn" --netns "$ns" --duration "$secs" --clients "$clients" --servers 2
}

calibrate_churn() {
  ((${#CHURN_CLIENTS_TRY[@]})) || return 0
  local best=0 c rate ns
  for c in "${CHURN_CLIENTS_TRY[@]}"; do
    new_ns "cal$c" churn
    ns=$NS
    rate=$(churn_generator "$ns" 3 "$c" | awk '{print $7}')
    del_ns "$ns"
    log "churn calibration: $c client threads: $rate connections/s"
    printf '%s\t%s\n' "$c" "$rate" >>"$WORK/calibration.tsv"
    if awk -v a="$rate" -v b="$best" 'BEGIN {exit !(a > b)}'; then best=$rate CHURN_CLIENTS=$c; fi
  done
}

# Events delivered, events expected, events lost for tracer $1.
tracer_counts() {
  local kind=$1 base=$2 all=$3 closes=$4
  case $kind in
    none) echo "0 0 0" ;;
    sstrace)
      local state inferred lost
      state=$(grep -c '^{"type":"state"' "$base.out" || true)
      inferred=$(grep '^{"type":"state"' "$base.out" | grep -c '"inferred":true' || true)
      lost=$(grep '^{"type":"exit"' "$base.out" | sed -E 's/.*"lost":([0-9]+).*/\1/')
      echo "$((state - inferred)) $all ${lost:-nan}" ;;
    sstrace-metrics)
      # Delivered: the transitions it counted (sstrace_transitions_total,
      # summed, scraped before it stopped). Lost: what it says at exit
      # ("N kernel records lost" on stderr, printed only when N > 0).
      local n lost
      n=$(prom_sum "$base.prom" sstrace_transitions_total)
      lost=$(sed -nE 's/^sstrace: ([0-9]+) kernel records lost.*/\1/p' "$base.err" | tail -1)
      echo "$n $all ${lost:-0}" ;;
    sstrace-top)
      # No transition count in a `top` object; lost: the intervals' `lost`.
      local lost
      lost=$(jq -s '[.[] | select(.type == "top") | .lost] | add // 0' "$base.out")
      echo "nan $all ${lost:-nan}" ;;
    tcpstates | tcplife)
      local n lost expected=$all
      [[ $kind == tcplife ]] && expected=$closes
      n=$(grep -c '127\.42\.0\.' "$base.out" || true)
      lost=$(awk '/lost [0-9]+ events/ {s += $2} END {print s + 0}' "$base.err")
      echo "$n $expected $lost" ;;
  esac
}

# churn.tsv columns (bench_churn and churn_tables read them by number):
#  1 tracer  2 round  3 conn/s  4 transitions  5 CLOSEs  6 nstat opens
#  7 delivered  8 expected  9 lost  10 tracer CPU s (from the generator's
#  start to the tracer's exit)  11 tracer max RSS MiB  12 events written
#  13 generator CPU s  14 counter misses  15 connections
# and for the aggregate modes (bench_aggregate, into agg.tsv): 16 opens out
# 17 opens in (sstrace's own count: sstrace_connections_opened_total, or
# the `top` objects' rates times their intervals)  18 lost as scraped
# (sstrace_events_lost_total)  19 tracer exit status
# Rows go to $CHURN_TSV (default churn.tsv).
churn_one() {
  local kind=$1 round=$2 ns base
  base=$WORK/churn.$kind.$round
  new_ns "c$round$kind" churn
  ns=$NS
  bg "$B/transition_counter" --netns "$ns" --max-seconds "$SAFETY_S" >"$base.count"
  local counter=$BGPID
  wait_line "$base.count" '^ready' 30
  start_tracer "$kind" "$ns" "$base"
  local cpu0
  cpu0=$(tracer_cpu_now "$TPID")
  run_fg "$B/measure" --out "$base.gencpu" -- "$B/churn" --netns "$ns" --duration "$CHURN_SECONDS" \
    --clients "$CHURN_CLIENTS" --servers 2 >"$base.gen"
  sleep 1 # the server's last closes, then the tracers' last drain
  # What a Prometheus scraping it would see at the end.
  [[ $kind != sstrace-metrics ]] || curl -fsS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics" >"$base.prom" || true
  [[ -z $TPID ]] || stop_pid "$TPID" 60
  stop_pid "$counter" 30
  local rate conns all closes misses opens delivered expected lost cpu=0 rss=0 total gencpu
  rate=$(awk '{print $7}' "$base.gen")
  conns=$(awk '{print $3}' "$base.gen")
  read -r all closes misses <<<"$(awk '/^transitions/ {print $2, $4, $6}' "$base.count")"
  opens=$(ip netns exec "$ns" nstat -az TcpActiveOpens TcpPassiveOpens | awk '/Opens/ {s += $2} END {print s + 0}')
  read -r delivered expected lost <<<"$(tracer_counts "$kind" "$base" "${all:-0}" "${closes:-0}")"
  if [[ -n $TPID ]]; then
    cpu=$(awk -v c0="$cpu0" '{print $6 - c0}' "$base.cpu")
    rss=$(awk '{print $8 / 1024}' "$base.cpu")
  fi
  gencpu=$(awk '{print $6}' "$base.gencpu")
  total=$delivered
  [[ $kind == sstrace-* ]] && total=0 # nothing written per event
  [[ $kind == sstrace ]] && total=$(grep '^{"type":"exit"' "$base.out" | sed -E 's/.*"events":([0-9]+).*/\1/')
  local tsv=${CHURN_TSV:-$WORK/churn.tsv}
  printf '%s\t' "$kind" "$round" "$rate" "${all:-0}" "${closes:-0}" "$opens" "$delivered" "$expected" \
    "$lost" "$cpu" "$rss" "${total:-0}" "$gencpu" "${misses:-nan}" >>"$tsv"
  if [[ -n ${CHURN_TSV:-} ]]; then
    printf '%s\t' "$conns" >>"$tsv"
    aggregate_counts "$kind" "$base" >>"$tsv"
  else
    printf '%s\n' "$conns" >>"$tsv"
  fi
  log "churn $kind round $round: $rate conn/s, delivered $delivered / expected $expected, lost $lost, tracer cpu ${cpu}s, generator cpu ${gencpu}s"
  rm -f "$base.out"
  del_ns "$ns"
}

# Sum of the series of Prometheus family $2 in scrape $1 whose labels
# contain $3 (every series without it); nan without a scrape.
prom_sum() {
  [[ -s $1 ]] || { echo nan; return; }
  awk -v f="$2" -v l="${3:-}" '($1 == f || index($1, f "{") == 1) && index($1, l) {s += $NF}
    END {printf "%.0f\n", s}' "$1"
}

# agg.tsv's columns 16-19 for run $2 of aggregate mode $1, tab-separated.
aggregate_counts() {
  local kind=$1 base=$2 out=nan in=nan scraped=nan status=""
  [[ ! -f $base.cpu ]] || status=$(awk '{for (i = 1; i < NF; i++) if ($i == "status") print $(i+1)}' "$base.cpu")
  case $kind in
    sstrace-metrics)
      out=$(prom_sum "$base.prom" sstrace_connections_opened_total 'dir="out"')
      in=$(prom_sum "$base.prom" sstrace_connections_opened_total 'dir="in"')
      scraped=$(prom_sum "$base.prom" sstrace_events_lost_total) ;;
    sstrace-top)
      read -r out in <<<"$(jq -rs '[.[] | select(.type == "top")] |
        "\([.[] | .totals.opens_out * .interval_s] | add // 0 | round) \([.[] | .totals.opens_in * .interval_s] | add // 0 | round)"' "$base.out")" ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$out" "$in" "$scraped" "${status:-nan}"
}

# Median over rounds of an awk expression over churn.tsv's columns, for
# tracer $1.
churn_med() { awk -F'\t' -v k="$1" '$1 == k {print '"$2"'}' "$WORK/churn.tsv" | median; }

# CPU (generator + tracer) per connection, µs: on a machine the generator
# has to itself, its rate is the inverse of this, so the ratio of two is
# the slowdown; unlike the raw rate, it does not depend on how much CPU the
# machine's other work left it.
CPU_PER_CONN='($13 + $10) / $15 * 1e6'

bench_churn() {
  : >"$WORK/churn.tsv"
  : >"$WORK/calibration.tsv"
  calibrate_churn
  log "churn: $CHURN_CLIENTS client threads, $CHURN_SECONDS s, $CHURN_ROUNDS rounds"
  local r k
  for ((r = 1; r <= CHURN_ROUNDS; r++)); do
    for k in none sstrace tcpstates tcplife; do churn_one "$k" "$r"; done
  done
  cmd "churn generator" "measure --out cpu -- churn --netns NS --duration $CHURN_SECONDS --clients $CHURN_CLIENTS --servers 2 (defaults: 10% reset, 45% server-first, 45% client-first)"
  cmd "expected transitions (every run)" "transition_counter --netns NS"
  cmd "churn: sstrace" "measure --out cpu -- sstrace --json -N NS > file (tmpfs)"
  cmd "churn: tcpstates / tcplife" "measure --out cpu -- tcpstates > file; measure --out cpu -- tcplife > file"
  local missing lost cpe_s cpe_t cpc_none cpc_s
  missing=$(awk -F'\t' '$1 == "sstrace" {d = $8 - $7; if (d > m) m = d} END {print m + 0}' "$WORK/churn.tsv")
  lost=$(awk -F'\t' '$1 == "sstrace" {if ($9 > m) m = $9} END {print m + 0}' "$WORK/churn.tsv")
  # CPU per event: the tracer's CPU seconds over the events it wrote.
  cpe_s=$(churn_med sstrace '$10 / $12 * 1e6')
  cpe_t=$(churn_med tcpstates '$10 / $7 * 1e6')
  cpc_none=$(churn_med none "$CPU_PER_CONN")
  cpc_s=$(churn_med sstrace "$CPU_PER_CONN")
  CHURN_RATE_NONE=$(churn_med none '$3')
  CHURN_CPC_NONE=$cpc_none
  result churn.lost "$lost" "==" 0 "churn at the top rate: sstrace events lost (max over rounds, default ring buffer)" events
  result churn.missing "$missing" "==" 0 "churn: state transitions the kernel reported that sstrace did not write (max over rounds)" events
  result churn.cpu_per_event_vs_tcpstates "$(ratio "$cpe_s" "$cpe_t")" "<" 1.0 \
    "churn: sstrace CPU per event / tcpstates CPU per event (medians)" x
  result churn.slowdown_pct "$(awk -v a="$cpc_none" -v b="$cpc_s" 'BEGIN {printf "%.1f", (1 - a / b) * 100}')" "<" 5 \
    "churn: generator slowdown with sstrace, from CPU per connection (generator + tracer; raw rate ratio $(ratio "$(churn_med sstrace '$3')" "$CHURN_RATE_NONE"))" "%"
}

# ---- 3b. churn with only aggregates (issue 9) ------------------------------------
AGG_MODES=(sstrace-metrics sstrace-top)

agg_command() {
  case $1 in
    sstrace-metrics) echo "sstrace --metrics 127.0.0.1:PORT --quiet -N NS" ;;
    sstrace-top) echo "sstrace top --json -N NS > file (tmpfs)" ;;
  esac
}

# "mode ratio" per pair: a mode's rate over the untraced run just before it.
agg_pairs() {
  awk -F'\t' '$1 == "none" {last = $3; next} last > 0 {print $1, $3 / last, $2, last}' "$WORK/agg.tsv"
}
agg_ratio_stat() { agg_pairs | awk -v k="$1" '$1 == k {print $2}' | "$2"; }
agg_med() { awk -F'\t' -v k="$1" '$1 == k {print '"$2"'}' "$WORK/agg.tsv" | median; }

# Issue 9's performance target: with only aggregates asked for, nothing lost
# and the workload at >= 0.95 of its untraced rate. Each mode's run follows
# an untraced run of its own (none, metrics, none, top: A B A B), at the top
# rate bench_churn calibrated, so a pair sees the same moment's machine.
bench_aggregate() {
  : >"$WORK/agg.tsv"
  log "churn, aggregates only: $CHURN_CLIENTS client threads, $CHURN_SECONDS s, $AGG_ROUNDS rounds"
  local r k
  for ((r = 1; r <= AGG_ROUNDS; r++)); do
    for k in "${AGG_MODES[@]}"; do
      CHURN_TSV=$WORK/agg.tsv churn_one none "$r"
      CHURN_TSV=$WORK/agg.tsv churn_one "$k" "$r"
    done
  done
  for k in "${AGG_MODES[@]}"; do cmd "churn, aggregates only: $k" "measure --out cpu -- $(agg_command "$k")"; done
  cmd "churn, aggregates only: metrics scrape (1 s after the generator ends)" "curl -fsS http://127.0.0.1:PORT/metrics"
  local med mn mx lost cpc_none cpc
  for k in "${AGG_MODES[@]}"; do
    med=$(agg_ratio_stat "$k" median)
    mn=$(agg_ratio_stat "$k" minimum)
    mx=$(agg_ratio_stat "$k" maximum)
    lost=$(awk -F'\t' -v k="$k" '$1 == k {v = ($18 != "nan" && $18 > $9) ? $18 : $9; if (v == "nan" || v > m) m = v} END {print m == "" ? "nan" : m}' "$WORK/agg.tsv")
    cpc_none=$(agg_med none "$CPU_PER_CONN")
    cpc=$(agg_med "$k" "$CPU_PER_CONN")
    result "churn.agg.$k.rate_ratio" "$(fmt "$med" %.3f)" ">=" 0.95 \
      "churn at the top rate, \`$(agg_command "$k" | sed 's/ >.*//')\`: workload rate / untraced (median of $AGG_ROUNDS paired rounds, range $(fmt "$mn" %.3f)–$(fmt "$mx" %.3f); from CPU per connection $(ratio "$cpc_none" "$cpc"))" x
    result "churn.agg.$k.lost" "$lost" "==" 0 \
      "churn at the top rate, \`$(agg_command "$k" | sed 's/ >.*//')\`: kernel records lost (max over rounds, sstrace's own report)" records
  done
}

agg_tables() {
  echo "| mode | round | untraced conn/s (run before) | conn/s | rate / untraced | kernel transitions | sstrace_transitions_total | lost (exit report) | lost (scrape) | tracer CPU s | tracer CPU µs per connection | tracer max RSS MiB | exit status |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F'\t' '$1 == "none" {last = $3; next}
    {printf "| %s | %s | %s | %s | %.3f | %s | %s | %s | %s | %.2f | %.2f | %.1f | %s |\n", $1, $2, last, $3, (last > 0 ? $3 / last : 0), $4, $7, $9, $18, $10, ($15 > 0 ? $10 / $15 * 1e6 : 0), $11, $19}' "$WORK/agg.tsv"
  echo
  echo "Medians over rounds (tracer CPU: from the generator's start to the tracer's exit,"
  echo "about $((CHURN_SECONDS + 1)) s; share of a core over the generator's $CHURN_SECONDS s):"
  echo
  echo "| mode | rate / untraced, median (min–max) | total CPU per connection, untraced / traced | lost, max | tracer CPU s | share of a core | tracer CPU µs per connection |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  local k cpu
  for k in "${AGG_MODES[@]}"; do
    cpu=$(agg_med "$k" '$10')
    echo "| \`$(agg_command "$k" | sed 's/ >.*//')\` | $(fmt "$(agg_ratio_stat "$k" median)" %.3f) ($(fmt "$(agg_ratio_stat "$k" minimum)" %.3f)–$(fmt "$(agg_ratio_stat "$k" maximum)" %.3f)) | $(ratio "$(agg_med none "$CPU_PER_CONN")" "$(agg_med "$k" "$CPU_PER_CONN")") | $(awk -F'\t' -v k="$k" '$1 == k {if ($9 > m) m = $9; if ($18 != "nan" && $18 > m) m = $18} END {print m + 0}' "$WORK/agg.tsv") | $(fmt "$cpu" %.2f) | $(awk -v c="$cpu" -v s="$CHURN_SECONDS" 'BEGIN {printf "%.0f%%", c / s * 100}') | $(fmt "$(agg_med "$k" '$10 / $15 * 1e6')" %.2f) |"
  done
  echo
  echo "Sanity, sstrace's own counts against the workload's (per round):"
  echo
  echo "| mode | round | kernel transitions | sstrace transitions | opens out (sstrace) | connections made (churn) | opens in + out (sstrace) | nstat Active + Passive opens |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F'\t' '$1 != "none" {printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $4, $7, $16, $15, ($16 == "nan" ? "nan" : $16 + $17), $6}' "$WORK/agg.tsv"
}

# ---- 4. per-packet cost ---------------------------------------------------------
# iperf3 -J: "gbps cpu_s" (received rate; client + server CPU seconds).
iperf_parse() {
  awk '/"sum_received"/ {r = 1}
    r && /"seconds":/ {gsub(/[^0-9.e+-]/, "", $2); secs = $2}
    r && /"bytes":/ {gsub(/[^0-9]/, "", $2); bytes = $2; r = 0}
    /"host_total":/ {gsub(/[^0-9.e+-]/, "", $2); host = $2}
    /"remote_total":/ {gsub(/[^0-9.e+-]/, "", $2); remote = $2}
    END {if (secs > 0) printf "%.3f %.3f %.0f\n", bytes * 8 / secs / 1e9, (host + remote) / 100 * secs, bytes; else print "nan nan nan"}'
}

# Run time (ns) of sstrace's per-segment program (handle_tcp_probe) in
# process $1, counted while kernel.bpf_stats_enabled is 1. Its id comes from
# the prog_id lines of the process's fds' fdinfo. Only this program fires
# per segment; it also runs for other namespaces' segments (the namespace
# test is inside it), so on a shared machine this is an upper bound.
bpf_probe_ns() {
  local id ns
  for id in $(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {print $2}' | sort -u); do
    ns=$(bpftool prog show id "$id" 2>/dev/null |
      awk '/name handle_tcp_probe / {for (i = 1; i < NF; i++) if ($i == "run_time_ns") print $(i+1)}')
    [[ -n $ns ]] && { echo "$ns"; return 0; }
  done
  echo 0
}

# iperf.tsv: tracer round Gbit/s iperf-CPU-s bytes tracer-CPU-s BPF-s
#   (BPF-s: handle_tcp_probe's run time, sstrace only)
iperf_one() {
  local kind=$1 round=$2 ns=$3 base
  base=$WORK/iperf.$kind.$round
  if ! start_tracer "$kind" "$ns" "$base"; then
    printf '%s\t%s\tnan\tnan\tnan\tnan\tnan\n' "$kind" "$round" >>"$WORK/iperf.tsv"
    return 0
  fi
  local c0 c1 res b0=0 b1=0 tracer=""
  [[ -n $TPID ]] && tracer=$(child_of "$TPID")
  [[ $kind == sstrace ]] && b0=$(bpf_probe_ns "$tracer")
  c0=$(tracer_cpu_now "$TPID")
  res=$(ip netns exec "$ns" timeout $((IPERF_SECONDS + 30)) iperf3 -c 127.0.0.1 -p 5201 -t "$IPERF_SECONDS" -J | iperf_parse)
  c1=$(tracer_cpu_now "$TPID")
  [[ $kind == sstrace ]] && b1=$(bpf_probe_ns "$tracer")
  [[ -z $TPID ]] || stop_pid "$TPID" 30
  read -r gbps cpu bytes <<<"$res"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$round" "$gbps" "$cpu" "$bytes" \
    "$(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}')" "$(awk -v a="$b0" -v b="$b1" 'BEGIN {print (b - a) / 1e9}')" >>"$WORK/iperf.tsv"
  log "iperf3 $kind round $round: $gbps Gbit/s, iperf3 CPU ${cpu}s"
}

# CPU seconds (iperf3's and the tracer's) per GB received.
CPU_PER_GB='($4 + $6) / ($5 / 1e9)'

bench_iperf() {
  : >"$WORK/iperf.tsv"
  local ns r k server
  new_ns iperf
  ns=$NS
  bg ip netns exec "$ns" timeout "$SAFETY_S" iperf3 -s -p 5201 >/dev/null 2>&1
  server=$BGPID
  sleep 1
  # Program run times are counted only with bpf_stats on (two clock reads
  # per run: it makes sstrace's figure a little worse, never better).
  sysctl -qw kernel.bpf_stats_enabled=1
  for ((r = 1; r <= IPERF_ROUNDS; r++)); do
    for k in none sstrace tcprtt bpftrace-tcp_probe; do iperf_one "$k" "$r" "$ns"; done
  done
  sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS"
  stop_pid "$server" 10
  del_ns "$ns"
  cmd "per-packet cost: server" "ip netns exec NS iperf3 -s -p 5201"
  cmd "per-packet cost: client" "ip netns exec NS iperf3 -c 127.0.0.1 -p 5201 -t $IPERF_SECONDS -J (sum_received; cpu_utilization_percent)"
  cmd "per-packet cost: tracers" "sstrace --json -N NS; tcprtt; bpftrace -e 'tracepoint:tcp:tcp_probe { @srtt_us = hist(args->srtt >> 3); }'"
  # Judged on what sstrace itself costs per GB (its programs' run time in
  # the kernel plus its process's CPU) over what the transfer costs without
  # it: a small difference of two noisy numbers (iperf3's CPU per GB with and
  # without) cannot resolve 2% on a shared machine; the measured cost can.
  local none own cpu raw
  none=$(iperf_med none "$CPU_PER_GB")
  own=$(iperf_med sstrace '($7 + $6) / ($5 / 1e9)')
  cpu=$(ratio "$(iperf_med sstrace "$CPU_PER_GB")" "$none")
  raw=$(ratio "$(iperf_med sstrace '$3')" "$(iperf_med none '$3')")
  IPERF_OWN=$own IPERF_NONE=$none
  result iperf.loss_pct "$(awk -v a="$none" -v b="$own" 'BEGIN {printf "%.2f", b / (a + b) * 100}')" "<" 2 \
    "per-packet: iperf3 throughput loss with sstrace, from sstrace's own CPU per GB (tcp_probe run time + process) over iperf3's (CPU per GB ratio $cpu, raw throughput ratio $raw; median of $IPERF_ROUNDS)" "%"
}

iperf_med() { awk -F'\t' -v k="$1" '$1 == k && $3 != "nan" {print '"$2"'}' "$WORK/iperf.tsv" | median; }

# ---- report ----------------------------------------------------------------------
met() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "nan" || v == "") {print "n/a"; exit}
    ok = (op == "<=" && v <= t) || (op == "<" && v < t) || (op == "==" && v == t) || (op == ">=" && v >= t)
    print ok ? "met" : "**not met**"
  }'
}

summary_table() {
  echo "| benchmark | target | before | after | met |"
  echo "| --- | --- | --- | --- | --- |"
  local key val op target desc unit before after judged
  while IFS=$'\t' read -r key val op target desc unit; do
    before=$val
    after="—"
    # A quick run's sizes are not the baseline's: no "before" for it.
    if [[ -f $BASELINE && $SAVE_BASELINE -eq 0 && $QUICK -eq 0 ]]; then
      before=$(awk -F'\t' -v k="$key" '$1 == k {print $2}' "$BASELINE")
      after=$val
    fi
    judged=$val
    echo "| $desc | $op $target $unit | ${before:-—} | $after | $(met "$judged" "$op" "$target") |"
  done <"$RESULTS"
}

snapshot_tables() {
  echo "| sockets | options | tool | median ms | min ms | CPU ms (user+sys, mean) | stddev ms |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7}' "$WORK/snapshot.tsv"
  echo
  echo "Sockets listed (sstrace / ss / bare dump, listeners included):"
  awk -F'\t' '{printf "%s: %s / %s / %s. ", $1, $2, $3, $4}' "$WORK/snapshot_counts.tsv"
  echo
}

churn_tables() {
  echo "Client threads: $CHURN_CLIENTS (calibration, 3 s each, no tracer: $(awk -F'\t' '{printf "%s threads %s/s; ", $1, $2}' "$WORK/calibration.tsv"))."
  echo
  echo "| tracer | round | conn/s | transitions | CLOSEs | counter misses | nstat opens | delivered | expected | lost | generator CPU s | tracer CPU s | tracer max RSS MiB | events written |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %.1f | %s |\n", $1, $2, $3, $4, $5, $14, $6, $7, $8, $9, $13, $10, $11, $12}' "$WORK/churn.tsv"
  echo
  echo "Medians over rounds. CPU per event: the tracer's CPU over the events it wrote"
  echo "(every line for sstrace; a line per transition for tcpstates, per connection end"
  echo "for tcplife). CPU per connection: generator + tracer; its ratio to no tracer is"
  echo "the slowdown a machine of the generator's own would see."
  echo
  echo "| tracer | conn/s | rate vs none | tracer CPU µs per event | tracer CPU µs per connection | total CPU µs per connection | slowdown from CPU |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  local k rate cpe tpc cpc
  for k in none sstrace tcpstates tcplife; do
    rate=$(churn_med "$k" '$3')
    if [[ $k == sstrace ]]; then cpe=$(churn_med "$k" '$10 / $12 * 1e6'); else cpe=$(churn_med "$k" '($7 > 0) ? $10 / $7 * 1e6 : "nan"'); fi
    tpc=$(churn_med "$k" '$10 / $15 * 1e6')
    cpc=$(churn_med "$k" "$CPU_PER_CONN")
    [[ $k == none ]] && cpe=nan tpc=nan
    echo "| $k | $(fmt "$rate" %.0f) | $(ratio "$rate" "$CHURN_RATE_NONE") | $(fmt "$cpe" %.2f) | $(fmt "$tpc" %.2f) | $(fmt "$cpc" %.1f) | $(awk -v a="$CHURN_CPC_NONE" -v b="$cpc" 'BEGIN {printf "%.1f%%", (1 - a / b) * 100}') |"
  done
}

iperf_table() {
  echo "| tracer | median Gbit/s | min | max | iperf3 + tracer CPU s per GB | tracer process CPU s per GB | tcp_probe BPF s per GB | loss from CPU | loss from throughput |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  local k med mn mx cpg tpg bpg none_g none_c
  none_g=$(iperf_med none '$3')
  none_c=$(iperf_med none "$CPU_PER_GB")
  for k in none sstrace tcprtt bpftrace-tcp_probe; do
    med=$(iperf_med "$k" '$3')
    if [[ $med == nan ]]; then
      echo "| $k | did not run (see above) | | | | | | | |"
      continue
    fi
    mn=$(awk -F'\t' -v k="$k" '$1 == k && $3 != "nan" {print $3}' "$WORK/iperf.tsv" | minimum)
    mx=$(awk -F'\t' -v k="$k" '$1 == k && $3 != "nan" {print $3}' "$WORK/iperf.tsv" | maximum)
    cpg=$(iperf_med "$k" "$CPU_PER_GB")
    tpg=$(iperf_med "$k" '$6 / ($5 / 1e9)')
    bpg=$(iperf_med "$k" '$7 / ($5 / 1e9)')
    [[ $k == sstrace ]] || bpg=nan
    echo "| $k | $(fmt "$med" %.2f) | $(fmt "$mn" %.2f) | $(fmt "$mx" %.2f) | $(fmt "$cpg" %.4f) | $(fmt "$tpg" %.5f) | $(fmt "$bpg" %.5f) | $(awk -v a="$none_c" -v b="$cpg" 'BEGIN {printf "%.1f%%", (1 - a / b) * 100}') | $(awk -v a="$none_g" -v b="$med" 'BEGIN {printf "%.1f%%", (1 - b / a) * 100}') |"
  done
}

machine() {
  echo "- CPUs: $(nproc) ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'))"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -r)"
  echo "- load average at start / end: $LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: other work runs beside the benchmarks)"
  echo "- sstrace: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (with uncommitted changes in the tree)'), $(basename "$BUILD") ($(awk -F= '/^CMAKE_BUILD_TYPE/ {print $2}' "$BUILD/CMakeCache.txt"))"
  echo "- tools: $(ss -V 2>&1 | head -1), $(hyperfine --version), $(bpftrace --version), $(iperf3 --version | head -1 | cut -d' ' -f1-2), libbpf-tools $(dpkg-query -W -f='${Version}' libbpf-tools 2>/dev/null)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); mode: $( ((QUICK)) && echo quick || echo full)"
}

write_report() {
  {
    echo "# Benchmarks"
    echo
    echo "Written by \`bench/run.sh$( ((QUICK)) && echo ' --quick')\`; do not edit by hand (the analysis comes"
    echo "from bench/hotspots.md). Ratios are the portable result; absolute figures are for"
    echo "the machine below. Targets are issue 5's; 3b's and 6's are issue 9's."
    echo
    echo "## Machine"
    echo
    machine
    echo
    echo "## How to run"
    echo
    echo "As root, after building (\`cmake --build build-bench\`):"
    echo
    echo "- \`bench/run.sh\`: everything, about 15 minutes; rewrites this file."
    echo "  \`--save-baseline\` stores the numbers in bench/baseline.tsv; later runs show them"
    echo "  as \"before\" beside their own."
    echo "- \`bench/run.sh --quick\`: tiny sizes, one round, under 2 minutes; writes"
    echo "  build-bench/BENCHMARKS.quick.md; fails only if a benchmark cannot run."
    echo "- \`bench/profile.sh\`: the profiles behind the hot spots below (perf, bpf_stats)."
    echo
    echo "Packages beyond scripts/setup.sh: hyperfine (snapshot timing), linux-perf"
    echo "(profile.sh only)."
    echo
    echo "## Results against targets"
    echo
    echo "\"before\" is bench/baseline.tsv (\`run.sh --save-baseline\`) when there is one, else this run;"
    echo "\"after\" is this run when a baseline exists. \"met\" judges this run."
    echo
    summary_table
    echo
    echo "## 1. Snapshot"
    echo
    echo "Established pairs on loopback in a namespace (IPv4 and IPv6 holders alternating,"
    echo "at most $HOLDER_MAX_PAIRS pairs per process). Each tool dumps every TCP socket"
    echo "(\`-a\`); ss has no JSON output, so \`--json\` rows compare with ss's text."
    echo "bare = bench/bare_dump: the netlink dump of TCP v4+v6, parsed to the attributes and"
    echo "discarded (\`--info\` asks for the same extensions as \`-i\`). hyperfine, $HF_RUNS runs, 2 warm-ups."
    echo
    snapshot_tables
    echo
    echo "## 2. Start-up and 5. memory"
    echo
    echo "exec → end of the \`sync\` line on stdout, $START_SOCKETS sockets, $START_RUNS runs: min"
    echo "$(fmt "$STARTUP_MIN") ms, median $(fmt "$STARTUP_MED") ms, max $(fmt "$STARTUP_MAX") ms. Memory read from"
    echo "/proc/PID/status 1 s after sync (median over runs): VmHWM $(fmt "$HWM") MiB, VmRSS $(fmt "$RSS") MiB."
    echo
    echo '```'
    cat "$WORK/startup.txt"
    echo '```'
    echo
    echo "## 3. Churn"
    echo
    echo "bench/churn in a fresh namespace per run: 10% reset (SO_LINGER 0), 45% server closes"
    echo "first, 45% client closes first; $CHURN_SECONDS s per run, $CHURN_ROUNDS rounds, tracers interleaved."
    echo "Expected events are exact, counted in the kernel by bench/transition_counter: a"
    echo "\`tp_btf/inet_sock_set_state\` program filtered to the namespace's inode counts every"
    echo "transition (sstrace's and tcpstates' expected \`state\` lines) and every → CLOSE"
    echo "(tcplife's expected lines); its recursion misses are shown (0: the count is exact)."
    echo "It runs in every run, the no-tracer one included. (bpftrace is no counter here: its"
    echo "classic-tracepoint program shares the per-CPU bpf_prog_active guard with"
    echo "tcpstates' and tcplife's and silently skips events while theirs run.) nstat's opens"
    echo "are a cross-check. sstrace's delivered count is its non-inferred \`state\` lines."
    echo "tcpstates and tcplife trace every namespace: their lines are counted by the"
    echo "benchmark's addresses (127.42.0.x), their CPU includes the host's other TCP work."
    echo "CPU: bench/measure (rusage), the tracer's from the generator's start to its exit."
    echo
    churn_tables
    echo
    echo "## 3b. Churn with only aggregates: \`--metrics --quiet\` and \`top --json\`"
    echo
    echo "Issue 9's target: at the top churn rate above, with only aggregates asked for,"
    echo "nothing lost and the workload at >= 0.95 of its untraced rate. Same generator,"
    echo "client threads and counter as section 3; each traced run follows an untraced"
    echo "run of its own (none, metrics, none, top, ... : $AGG_ROUNDS rounds), and the ratio is"
    echo "per pair. \`--metrics\` is scraped once, 1 s after the generator ends, before"
    echo "sstrace is stopped. Lost: sstrace's own report (with \`--quiet\`, \"N kernel records"
    echo "lost\" on stderr at exit, absent when none; with \`top --json\`, the sum of the"
    echo "\`top\` objects' \`lost\`) and, for \`--metrics\`, \`sstrace_events_lost_total\`."
    echo "Neither mode writes an event."
    echo
    agg_tables
    echo
    echo "## 4. Per-packet cost"
    echo
    echo "iperf3, one stream over loopback in a namespace, $IPERF_SECONDS s per run, $IPERF_ROUNDS rounds,"
    echo "tracers interleaved (sstrace with its defaults: rtt tracking on, default thresholds)."
    echo "Loopback throughput is CPU-bound, so on a machine of its own the loss in"
    echo "throughput is the rise in CPU per byte. Three views: the raw throughput (on a"
    echo "shared machine mostly the run queue), iperf3's CPU per GB (its client and server"
    echo "CPU from its own report, plus the tracer's; ±10% noise here), and the one judged:"
    echo "sstrace's own cost per GB, the run time of its per-segment program"
    echo "(handle_tcp_probe, kernel.bpf_stats_enabled during these runs; an upper bound:"
    echo "it includes the segments of other namespaces on a shared machine) plus its"
    echo "process's CPU, over iperf3's CPU per GB without a tracer. tcprtt (libbpf-tools) attaches to"
    echo "\`tcp_rcv_established\` with fentry or a kprobe, neither of which this kernel allows,"
    echo "so it may not run; a bpftrace histogram of srtt on \`tcp:tcp_probe\` (sstrace's hook)"
    echo "stands in for it."
    echo
    iperf_table
    echo
    # Not run by run.sh (bench/top_frame's own numbers, written by hand).
    if [[ -f $REPO/bench/top_frame.md ]]; then
      cat "$REPO/bench/top_frame.md"
      echo
    fi
    # Not run by run.sh either (bench/why_cost.sh's last report, kept by hand).
    if [[ -f $REPO/bench/why_cost.md ]]; then
      cat "$REPO/bench/why_cost.md"
      echo
    fi
    if [[ -f $REPO/bench/hotspots.md ]]; then
      echo "## Hot spots (profiled; fixes proposed to the owners)"
      echo
      echo "From bench/hotspots.md (hand-written; numbers from bench/profile.sh)."
      echo
      # Without its title and the blank line after it.
      awk 'NR == 1 && /^# / {t = 1; next} t && /^$/ {t = 0; next} {t = 0; print}' "$REPO/bench/hotspots.md"
      echo
    fi
    echo "## Commands"
    echo
    echo "All tools are in \`$(basename "$BUILD")/bench/\`; NS is a namespace run.sh creates."
    echo
    cat "$COMMANDS"
  } >"$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
  log "wrote $OUT"
}

save_baseline() {
  ((SAVE_BASELINE)) || return 0
  cut -f1,2 "$RESULTS" >"$BASELINE"
  log "saved the baseline in $BASELINE"
}

main() {
  check_tools
  reap_stale_namespaces
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
  log "build $BUILD, work dir $WORK, $( ((QUICK)) && echo quick || echo full) mode"
  bench_snapshot
  bench_startup
  bench_churn
  bench_aggregate
  bench_iperf
  write_report
  save_baseline
}

main
