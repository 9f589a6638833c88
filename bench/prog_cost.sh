#!/usr/bin/env bash
# The kernel's own run time of each of sstrace's BPF programs (bpf_stats)
# during top-rate churn in a namespace of its own: ns per run, runs per
# connection, recursion misses (programs that did not run are left out). bpf_stats adds two clock reads per run, so
# the figures are a little high; compare programs with each other, not with
# whole-process timings.
#
#   bench/prog_cost.sh [SSTRACE [CHURN [SECONDS [ROUNDS]]]]
set -euo pipefail
cd "$(dirname "$0")/.."
SSTRACE=${1:-build/sstrace} CHURN=${2:-build/bench/churn} SECS=${3:-5} ROUNDS=${4:-3}
NS=ssprog-$$
tracer=
cleanup() {
  [[ -n $tracer ]] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
  sysctl -q kernel.bpf_stats_enabled=0
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
sysctl -q kernel.bpf_stats_enabled=1
echo "| round | program | ns per run | runs per connection | recursion misses |"
echo "| --- | --- | --- | --- | --- |"
for round in $(seq "$ROUNDS"); do
  "$SSTRACE" --json -N "$NS" --ringbuf-kib 65536 >/dev/null &
  tracer=$!
  sleep 2
  conns=$("$CHURN" --netns "$NS" --duration "$SECS" --clients 16 --servers 2 | awk '{print $3}')
  # The programs this run's tracer holds: their ids from its descriptors.
  for id in $(grep -h '^prog_id:' /proc/"$tracer"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un); do
    bpftool prog show id "$id" --json | python3 -c '
import json, sys
p = json.load(sys.stdin)
runs = p.get("run_cnt", 0)
if runs:
    print("| %s | %s | %.0f | %.2f | %d |" % ('"$round"', p["name"], p["run_time_ns"] / runs,
          runs / '"$conns"', p.get("recursion_misses", 0)))'
  done
  kill -INT "$tracer"
  wait "$tracer" || true
  tracer=
done
