#!/usr/bin/env bash
# A churning service to point sstrace at (README, "Debugging churn"): in a
# namespace of its own, bench/churn's clients and servers open and close
# loopback connections as fast as they can on ports 8000-8191 (server-first
# and client-first closes, 10% resets), a client keeps trying a port
# nobody listens on (9099: refused connects), and another a listener that
# never accepts (9100, backlog 1: listen overflows).
#
#   examples/churn-demo.sh [SECONDS] [BUILD_DIR]     (root; default 60 s, build)
#
# While it runs:  sstrace top -N sstrace-demo
set -euo pipefail

SECONDS_TO_RUN=${1:-60}
BUILD=${2:-$(cd "$(dirname "$0")/.." && pwd)/build}
NS=sstrace-demo
[[ $(id -u) -eq 0 ]] || { echo "churn-demo: run as root (it makes a network namespace)" >&2; exit 1; }
[[ -x $BUILD/bench/churn ]] || { echo "churn-demo: no $BUILD/bench/churn: build first (scripts/build.sh)" >&2; exit 1; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
echo "churn-demo: namespace $NS for ${SECONDS_TO_RUN}s; try: sstrace top -N $NS"

ip netns exec "$NS" bash -c 'while :; do (exec 3<>/dev/tcp/127.0.0.1/9099) 2>/dev/null; sleep 0.05; done' &
pids+=($!)
ip netns exec "$NS" python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 9100)); s.listen(1); time.sleep(1e9)' &
pids+=($!)
ip netns exec "$NS" bash -c 'while :; do timeout 0.2 bash -c "exec 3<>/dev/tcp/127.0.0.1/9100" 2>/dev/null; sleep 0.1; done' &
pids+=($!)
"$BUILD/bench/churn" --duration "$SECONDS_TO_RUN" --netns "$NS" --clients 1 --servers 1 \
  --reset-pct 10 --base-port 8000
