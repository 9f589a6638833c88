#!/usr/bin/env bash
# What the reasons of issue 10 cost, paired against untraced runs:
#
#   1. a storm of refused connects (bench/churn --servers 0: every connect
#      is answered by a reset from a closed port). Per refused connect the
#      kernel runs sstrace's state program twice, tcp_send_reset (the
#      reason: a cookie-0 `reset` event), tcp_receive_reset and the connect
#      syscall's entry and exit programs: the worst case of the "why" hooks,
#      one record per dropped segment.
#   2. iperf3 over loopback, one stream: nothing of issue 10 runs per data
#      segment (tcp_probe is the only per-segment program, as before); this
#      checks that stays so.
#   3. a listen-overflow storm: a backlog-1 listener that never accepts and
#      clients whose SYNs it drops. sstrace runs nothing per drop (the drops
#      are read from the listener, sock_diag, once per --interval); the
#      workload's attempt rate shows what the dumps and the SYN-SENT events
#      cost together.
#
#   bench/why_cost.sh [--quick] [--build-dir DIR] [--rounds N] [--seconds S]
#
# Prints a Markdown report on stdout (bench/why_cost.md keeps the last one,
# and docs/BENCHMARKS.md section 7 shows it). Needs root, iperf3, ip. Every namespace it makes
# is named ssw-<pid>-* and deleted on exit.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$REPO/build
ROUNDS=5
SECONDS_PER_RUN=5
while (($#)); do
  case $1 in
    --quick) ROUNDS=1 SECONDS_PER_RUN=1 ;;
    --build-dir) BUILD=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "why_cost.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $(id -u) -eq 0 ]] || { echo "why_cost.sh: needs root (namespaces, BPF)" >&2; exit 1; }
for t in iperf3 ip; do command -v $t >/dev/null || { echo "why_cost.sh: $t not found (scripts/setup.sh installs it)" >&2; exit 1; }; done
SSTRACE=$BUILD/sstrace CHURN=$BUILD/bench/churn
[[ -x $SSTRACE && -x $CHURN ]] || { echo "why_cost.sh: no $SSTRACE or $CHURN: build first" >&2; exit 1; }

WORK=$(mktemp -d /dev/shm/why_cost.XXXXXX)
PIDS=()
NAMESPACES=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
log() { echo "[why_cost $(date +%T)] $*" >&2; }

new_ns() {
  NS=ssw-$$-$1
  ip netns add "$NS"
  NAMESPACES+=("$NS")
  ip -n "$NS" link set lo up
}
del_ns() { ip netns del "$1"; }

# sstrace in namespace $1, JSON to $2; returns once it has seeded.
start_sstrace() {
  "$SSTRACE" --json -N "$1" --duration 600 >"$2" 2>"$2.err" &
  TPID=$!
  PIDS+=("$TPID")
  local i
  for ((i = 0; i < 600; i++)); do
    grep -q '^{"type":"sync"' "$2" 2>/dev/null && return 0
    kill -0 "$TPID" 2>/dev/null || { cat "$2.err" >&2; return 1; }
    sleep 0.1
  done
  echo "why_cost.sh: sstrace did not seed in 60 s" >&2
  return 1
}
stop_sstrace() {
  kill -INT "$TPID"
  wait "$TPID" || { echo "why_cost.sh: sstrace exited $?" >&2; cat "$1.err" >&2; return 1; }
}
count() { grep -c "$1" "$2" || true; }
lost_of() { grep '^{"type":"exit"' "$1" | sed -E 's/.*"lost":([0-9]+).*/\1/'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# refused.tsv: mode round attempts/s sent-resets failed-closes lost
refused_one() {
  local mode=$1 r=$2
  local out=$WORK/refused.$mode.$r
  new_ns "r$r$mode"
  [[ $mode == none ]] || start_sstrace "$NS" "$out"
  local rate
  rate=$("$CHURN" --netns "$NS" --duration "$SECONDS_PER_RUN" --clients 2 --servers 0 | awk '{print $NF}')
  local resets=0 fails=0 lost=0
  if [[ $mode != none ]]; then
    sleep 0.5
    stop_sstrace "$out"
    resets=$(grep '^{"type":"reset"' "$out" | count '"dir":"sent"' -)
    fails=$(grep '^{"type":"close"' "$out" | count '"failure":"ECONNREFUSED"' -)
    lost=$(lost_of "$out")
  fi
  del_ns "$NS"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$r" "$rate" "$resets" "$fails" "$lost" >>"$WORK/refused.tsv"
  log "refused storm $mode round $r: $rate connects/s, sent resets $resets, refused closes $fails, lost $lost"
}

# overflow.tsv: mode round attempts/s alerts drops lost
overflow_one() {
  local mode=$1 r=$2
  local out=$WORK/overflow.$mode.$r
  new_ns "o$r$mode"
  ip netns exec "$NS" python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.42.0.1", 50000)); s.listen(1); time.sleep(600)' &
  local listener=$!
  PIDS+=("$listener")
  sleep 0.3
  [[ $mode == none ]] || start_sstrace "$NS" "$out"
  # Nonblocking connects, closed after 20 ms: each sends SYNs the full
  # queue drops (TcpExtListenDrops).
  local rate
  rate=$(ip netns exec "$NS" python3 -c '
import socket, time, sys
end = time.monotonic() + float(sys.argv[1]); n = 0; held = []
while time.monotonic() < end:
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("127.42.0.1", 50000))
    except BlockingIOError: pass
    held.append(s); n += 1
    if len(held) > 64: held.pop(0).close()
print(round(n / float(sys.argv[1])))' "$SECONDS_PER_RUN")
  local alerts=0 drops=0 lost=0
  if [[ $mode != none ]]; then
    sleep 1.2 # one more listener dump
    stop_sstrace "$out"
    alerts=$(count '"kind":"listen_overflow"' "$out")
    drops=$(grep '"kind":"listen_overflow"' "$out" | sed -E 's/.*"drops":([0-9]+).*/\1/' | awk '{s += $1} END {print s + 0}')
    lost=$(lost_of "$out")
  fi
  kill "$listener" 2>/dev/null || true
  wait "$listener" 2>/dev/null || true
  del_ns "$NS"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$r" "$rate" "$alerts" "$drops" "$lost" >>"$WORK/overflow.tsv"
  log "overflow storm $mode round $r: $rate connects/s, alerts $alerts, drops $drops, lost $lost"
}

# iperf.tsv: mode round Gbit/s
iperf_one() {
  local mode=$1 r=$2 ns=$3
  local out=$WORK/iperf.$mode.$r
  [[ $mode == none ]] || start_sstrace "$ns" "$out"
  local gbps
  gbps=$(ip netns exec "$ns" iperf3 -c 127.0.0.1 -p 5201 -t "$SECONDS_PER_RUN" -J |
    python3 -c 'import json, sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9, 3))')
  [[ $mode == none ]] || stop_sstrace "$out"
  printf '%s\t%s\t%s\n' "$mode" "$r" "$gbps" >>"$WORK/iperf.tsv"
  log "iperf3 $mode round $r: $gbps Gbit/s"
}

# "ratio" per pair: the traced run over the untraced run just before it.
pair_ratios() { awk -F'\t' '$1 == "none" {last = $3; next} last > 0 {printf "%.3f\n", $3 / last}' "$1"; }
stats() {
  local f=$1
  echo "$(pair_ratios "$f" | median) ($(pair_ratios "$f" | sort -g | head -1)–$(pair_ratios "$f" | sort -g | tail -1))"
}

main() {
  : >"$WORK/refused.tsv"
  : >"$WORK/overflow.tsv"
  : >"$WORK/iperf.tsv"
  local r
  for ((r = 1; r <= ROUNDS; r++)); do
    refused_one none "$r"
    refused_one sstrace "$r"
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    overflow_one none "$r"
    overflow_one sstrace "$r"
  done
  new_ns iperf
  local ipns=$NS
  ip netns exec "$ipns" iperf3 -s -p 5201 >/dev/null 2>&1 &
  PIDS+=($!)
  sleep 1
  for ((r = 1; r <= ROUNDS; r++)); do
    iperf_one none "$r" "$ipns"
    iperf_one sstrace "$r" "$ipns"
  done

  echo "$ROUNDS paired rounds (untraced, then \`sstrace --json -N NS > file\` on /dev/shm), $SECONDS_PER_RUN s each, $(nproc) cores, load at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| workload | traced / untraced, median (range) | what sstrace reported |"
  echo "| --- | --- | --- |"
  echo "| refused connects (\`churn --servers 0 --clients 2\`), connects/s | $(stats "$WORK/refused.tsv") | sent resets with a reason per round: $(awk -F'\t' '$1 != "none" {printf "%s%s", s, $4; s = ", "}' "$WORK/refused.tsv"); ECONNREFUSED closes: $(awk -F'\t' '$1 != "none" {printf "%s%s", s, $5; s = ", "}' "$WORK/refused.tsv"); lost: $(awk -F'\t' '$1 != "none" {printf "%s%s", s, $6; s = ", "}' "$WORK/refused.tsv") |"
  echo "| listen overflow (nonblocking connects to a backlog-1 listener), connects/s | $(stats "$WORK/overflow.tsv") | listen_overflow alerts: $(awk -F'\t' '$1 != "none" {printf "%s%s", s, $4; s = ", "}' "$WORK/overflow.tsv"); drops in them: $(awk -F'\t' '$1 != "none" {printf "%s%s", s, $5; s = ", "}' "$WORK/overflow.tsv"); lost: $(awk -F'\t' '$1 != "none" {printf "%s%s", s, $6; s = ", "}' "$WORK/overflow.tsv") |"
  echo "| iperf3 -c 127.0.0.1 -t $SECONDS_PER_RUN, Gbit/s | $(stats "$WORK/iperf.tsv") | |"
  echo
  echo "Untraced medians: refused $(awk -F'\t' '$1 == "none" {print $3}' "$WORK/refused.tsv" | median) connects/s, overflow $(awk -F'\t' '$1 == "none" {print $3}' "$WORK/overflow.tsv" | median) connects/s, iperf3 $(awk -F'\t' '$1 == "none" {print $3}' "$WORK/iperf.tsv" | median) Gbit/s."
}

main
