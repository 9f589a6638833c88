#!/bin/bash
# The workload of docs/metrics.md's sample scrape: a listener that never
# accepts, 20 connections to it (10 closed, then the client exits), 3
# connects to a closed port; sstrace --metrics in namespace mdemo. Root.
set -e
ip netns del mdemo 2>/dev/null || true
ip netns add mdemo; ip -n mdemo link set lo up
"${SSTRACE:-build/sstrace}" -N mdemo --metrics 127.0.0.1:9464 --quiet --metrics-peers 2 & P=$!
sleep 2
ip netns exec mdemo python3 -c "
import socket, time
l=socket.socket(); l.bind(('127.0.0.1',8080)); l.listen(64)
time.sleep(6)" & L=$!
sleep 0.5
ip netns exec mdemo python3 - <<'PY'
import socket, time
cs=[]
for i in range(20):
    c=socket.socket(); c.connect(('127.0.0.1',8080)); cs.append(c)
for c in cs[:10]: c.close()
for i in range(3):
    c=socket.socket()
    try: c.connect(('127.0.0.1',8081))
    except ConnectionRefusedError: pass
    c.close()
PY
sleep 1.5
curl -s 127.0.0.1:9464/metrics | grep -v '^exposer\|^# .* exposer'
kill $P; wait $P || true
wait $L || true
ip netns del mdemo
