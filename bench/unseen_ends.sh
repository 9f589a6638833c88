#!/usr/bin/env bash
# Connection ends the kernel makes without running sstrace's programs.
#
#   bench/unseen_ends.sh [SECONDS [RATE [BUILD_DIR]]]
#
# bench/churn at RATE connections/s (default 700, the soak's mix of endings)
# in a namespace of its own for SECONDS (default 240), watched by
# `sstrace -v --json` and, as ground truth, by an ftrace instance recording
# inet_sock_set_state and tcp_destroy_sock for the benchmark's ports (ftrace
# has no BPF recursion guard). Prints one line: connections, the kernel's
# transitions into CLOSE (ftrace; a timewait handover is one too), sstrace's
# close events, what it counted lost, and the ends no record showed (its -v
# count of closing sockets a lookup found gone, docs/events.md). With
# `unseen` > 0 and `lost` 0, the kernel ran the tracepoint (ftrace saw it)
# but not our programs; sstrace's lookup of quiet closing sockets
# (model::kClosingQuietNs) keeps the table right. Needs root and tracefs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-240} rate=${2:-700} build=${3:-build}
[[ -x $build/sstrace && -x $build/bench/churn ]] || { echo "unseen_ends.sh: no $build/sstrace or $build/bench/churn" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "unseen_ends.sh: needs root" >&2; exit 1; }
tracefs=/sys/kernel/tracing
[[ -d $tracefs/instances ]] || mount -t tracefs nodev "$tracefs"
work=$(mktemp -d /tmp/sstrace-unseen.XXXXXX)
ns=sss-unseen-$$ inst=$tracefs/instances/sstrace-unseen-$$ tp= sp=
cleanup() {
  [[ -z $sp ]] || kill -INT "$sp" 2>/dev/null || true
  [[ -z $tp ]] || kill "$tp" 2>/dev/null || true
  [[ -d $inst ]] && { echo 0 >"$inst/events/enable" 2>/dev/null || true; rmdir "$inst" 2>/dev/null || true; }
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$inst"
echo 16384 >"$inst/buffer_size_kb"
filter='(sport >= 50000 && sport <= 50011) || (dport >= 50000 && dport <= 50011)'
for ev in sock/inet_sock_set_state tcp/tcp_destroy_sock; do
  echo "$filter" >"$inst/events/$ev/filter"
  echo 1 >"$inst/events/$ev/enable"
done
cat "$inst/trace_pipe" >"$work/ftrace" &
tp=$!
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_max_tw_buckets=2000000
"$build/sstrace" -v --json -N "$ns" --output "$work/events" 2>"$work/err" &
sp=$!
for _ in $(seq 1 300); do grep -q '"type":"sync"' "$work/events" 2>/dev/null && break; sleep 0.1; done
"$build/bench/churn" --netns "$ns" --duration "$secs" --clients 1 --servers 2 --ports-per-group 4 \
  --reset-pct 10 --rate "$rate" >"$work/churn"
sleep 15 # past kClosingQuietNs: the lookups of quiet closing sockets have run
kill -INT "$sp"
wait "$sp" || true
sp=
for ev in sock/inet_sock_set_state tcp/tcp_destroy_sock; do echo 0 >"$inst/events/$ev/enable"; done
sleep 1
read -r _ _ conns _ <"$work/churn"
# The namespace's addresses (127.42.0.x) are the benchmark's; another
# benchmark's namespace on the same ports would be counted too.
kernel_ends=$(grep -c 'newstate=TCP_CLOSE$' "$work/ftrace" || true)
closes=$(grep -c '^{"type":"close"' "$work/events" || true)
lost=$(sed -nE 's/.*"type":"exit".*"lost":([0-9]+).*/\1/p' "$work/events")
unseen=$(sed -nE 's/^sstrace: ([0-9]+) connections in a closing state ended with no record.*/\1/p' "$work/err")
printf 'unseen_ends: seconds %s rate %s connections %s kernel_closes %s closes %s lost %s unseen %s\n' \
  "$secs" "$rate" "$conns" "$kernel_ends" "$closes" "${lost:-?}" "${unseen:-?}"
