#!/usr/bin/env bash
# Top-rate churn in a namespace of its own, with sstrace and an in-kernel
# count of the namespace's transitions (bench/transition_counter) side by
# side. Prints, one per line:
#   counter TRANSITIONS MISSES     the kernel's transitions, as counted in it
#                                  (TRANSITIONS + MISSES: its own skipped runs)
#   sstrace STATE INFERRED LOST    sstrace's state events, the inferred ones,
#                                  and its exit event's lost
#   missed_runs N                  summed over its lost events
#   ringbuf_full N                 summed over its lost events
#   queue_full N                   summed over its lost events
#   rescued N                      from -v: changes the second program handled
#   queue_peak N                   from -v: most records that waited in the
#                                  reader queue at once
#   churn CONNECTIONS
#
#   nested_transitions.sh SSTRACE BENCH_DIR SECONDS [RINGBUF_KIB [QUEUE_KIB]]
#
# RINGBUF_KIB: sstrace's --ringbuf-kib (default 131072; "default": its own
# default); QUEUE_KIB: SSTRACE_TEST_QUEUE_KIB, the reader queue's cap (default:
# sstrace's own).
set -euo pipefail
SSTRACE=$1 BENCH=$2 SECS=$3 RINGBUF_KIB=${4:-131072} QUEUE_KIB=${5:-}
ring_args=()
[[ $RINGBUF_KIB == default ]] || ring_args=(--ringbuf-kib "$RINGBUF_KIB")
[[ -z $QUEUE_KIB ]] || export SSTRACE_TEST_QUEUE_KIB=$QUEUE_KIB
NS=ssnest-$$
OUT=$(mktemp /dev/shm/ssnest.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -f "$OUT" "$OUT".*
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
"$BENCH/transition_counter" --netns "$NS" --max-seconds 300 >"$OUT.count" &
counter=$!
pids+=("$counter")
for _ in $(seq 300); do grep -q '^ready' "$OUT.count" && break; sleep 0.1; done
# By default a ring large enough that nothing is lost for want of room: what
# is measured is the kernel skipping a program, not the reader's speed.
"$SSTRACE" -v --json -N "$NS" "${ring_args[@]}" --duration 300 >"$OUT" 2>"$OUT.err" &
tracer=$!
pids+=("$tracer")
for _ in $(seq 600); do grep -q '^{"type":"sync"' "$OUT" && break; sleep 0.1; done
grep -q '^{"type":"sync"' "$OUT" || { echo "sstrace did not seed" >&2; cat "$OUT.err" >&2; exit 1; }
conns=$("$BENCH/churn" --netns "$NS" --duration "$SECS" --clients 16 --servers 2 | awk '{print $3}')
sleep 1
kill -INT "$tracer"
wait "$tracer"
kill -INT "$counter"
wait "$counter" || true
awk '/^transitions/ {print "counter", $2, $6}' "$OUT.count"
state=$(grep -c '^{"type":"state"' "$OUT" || true)
inferred=$(grep '^{"type":"state"' "$OUT" | grep -c '"inferred":true' || true)
lost=$(grep '^{"type":"exit"' "$OUT" | sed -E 's/.*"lost":([0-9]+).*/\1/')
echo "sstrace $state $inferred ${lost:-nan}"
echo "missed_runs $(grep '^{"type":"lost"' "$OUT" | sed -E 's/.*"missed_runs":([0-9]+).*/\1/' | awk '{s += $1} END {print s + 0}')"
for cause in ringbuf_full queue_full; do
  echo "$cause $(grep '^{"type":"lost"' "$OUT" | sed -nE "s/.*\"$cause\":([0-9]+).*/\1/p" | awk '{s += $1} END {print s + 0}')"
done
# 0 where -v does not say (a build without the reader queue): an empty
# word would end the test's parsing of every line after it.
rescued=$(sed -nE 's/^sstrace: ([0-9]+) state changes interrupted.*/\1/p' "$OUT.err")
peak=$(sed -nE 's/^sstrace: reader queue: at most ([0-9]+) records.*/\1/p' "$OUT.err")
echo "rescued ${rescued:-0}"
echo "queue_peak ${peak:-0}"
echo "churn $conns"
