#!/usr/bin/env bash
# Paired rounds of the top-rate churn (section 3's workload) for two sstrace
# binaries with the JSON stream to a file, default settings, beside an
# untraced run in the same round: issue 12's target 1 (no record lost, every
# transition once, workload rate >= 0.80 of untraced, tracer CPU per line).
# Rounds alternate the order of A and B so that neither always runs first
# on a machine whose load drifts.
#
#   bench/churn_pair.sh SSTRACE_A SSTRACE_B [ROUNDS [SECONDS [BUILD_DIR]]]
#
# One tab-separated row per run on stdout:
#   run round conn/s transitions counter_misses state_lines inferred lost
#   ringbuf_full missed_runs queue_full lines tracer_cpu_s cpu_us_per_line
# (tracer CPU: from the generator's start to the tracer's exit, as run.sh's).
# Needs root; every namespace is named sspair-<pid>-* and deleted on exit.
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-3} SECS=${4:-10}
BUILD=${5:-$(cd "$(dirname "$0")/.." && pwd)/build}
WORK=$(mktemp -d /dev/shm/sspair.XXXXXX)
PIDS=()
NSS=()
cleanup() {
  local p n
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

new_ns() {
  NS=sspair-$$-$1
  ip netns add "$NS"
  NSS+=("$NS")
  ip -n "$NS" link set lo up
  ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
    net.ipv4.tcp_max_tw_buckets=2000000
}

wait_line() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "churn_pair: timed out waiting for /$2/ in $1" >&2
  return 1
}

proc_cpu() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  awk -v t="$(getconf CLK_TCK)" '{print ($12 + $13) / t}' <<<"$s"
}

sum_field() { { grep '^{"type":"lost"' "$1" || true; } | sed -nE "s/.*\"$2\":([0-9]+).*/\\1/p" | awk '{s += $1} END {print s + 0}'; }

# One run: "none" or a binary's label and path.
one_run() {
  local label=$1 bin=$2 round=$3 base=$WORK/$1.$3
  new_ns "$label$round"
  local ns=$NS tracer="" counter cpu0=0 cpu=0
  "$BUILD/bench/transition_counter" --netns "$ns" --max-seconds 600 >"$base.count" &
  counter=$!
  PIDS+=("$counter")
  wait_line "$base.count" '^ready' 30
  if [[ -n $bin ]]; then
    "$BUILD/bench/measure" --out "$base.cpu" -- "$bin" -v --json -N "$ns" --output "$base.out" \
      --duration 600 2>"$base.err" &
    tracer=$!
    PIDS+=("$tracer")
    wait_line "$base.out" '^\{"type":"sync"' 120
    cpu0=$(proc_cpu "$(pgrep -P "$tracer" | head -1)")
  fi
  "$BUILD/bench/churn" --netns "$ns" --duration "$SECS" --clients 16 --servers 2 >"$base.gen"
  sleep 1
  if [[ -n $tracer ]]; then
    kill -INT "$(pgrep -P "$tracer" | head -1)" 2>/dev/null || true
    wait "$tracer" || true
    cpu=$(awk -v c0="$cpu0" '{print $6 - c0}' "$base.cpu")
  fi
  kill -INT "$counter"
  wait "$counter" || true
  local rate all misses state=0 inferred=0 lost=0 rb=0 mr=0 qf=0 lines=0
  rate=$(awk '{print $7}' "$base.gen")
  read -r all misses <<<"$(awk '/^transitions/ {print $2, $6}' "$base.count")"
  if [[ -n $bin ]]; then
    state=$(grep -c '^{"type":"state"' "$base.out" || true)
    inferred=$(grep '^{"type":"state"' "$base.out" | grep -c '"inferred":true' || true)
    lost=$(grep '^{"type":"exit"' "$base.out" | sed -E 's/.*"lost":([0-9]+).*/\1/')
    rb=$(sum_field "$base.out" ringbuf_full)
    mr=$(sum_field "$base.out" missed_runs)
    qf=$(sum_field "$base.out" queue_full)
    lines=$(wc -l <"$base.out")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$rate" \
    "$all" "$misses" "$state" "$inferred" "${lost:-nan}" "$rb" "$mr" "$qf" "$lines" "$cpu" \
    "$(awk -v c="$cpu" -v l="$lines" 'BEGIN {if (l > 0) printf "%.3f", c / l * 1e6; else print "nan"}')"
  rm -f "$base.out"
  ip netns del "$ns"
}

printf 'run\tround\tconn/s\ttransitions\tcounter_misses\tstate_lines\tinferred\tlost\tringbuf_full\tmissed_runs\tqueue_full\tlines\ttracer_cpu_s\tcpu_us_per_line\n'
for r in $(seq "$ROUNDS"); do
  one_run none "" "$r"
  if ((r % 2)); then
    one_run A "$A" "$r"
    one_run B "$B" "$r"
  else
    one_run B "$B" "$r"
    one_run A "$A" "$r"
  fi
done
