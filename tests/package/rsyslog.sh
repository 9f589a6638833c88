#!/usr/bin/env bash
# rsyslog.sh SSTRACE SOURCE_DIR: the example rsyslog configuration
# (packaging/rsyslog-sstrace.conf) passes rsyslogd's validation as a drop-in
# of Debian's rsyslog.conf, and really forwards: one rsyslogd tails a file of
# sstrace's JSON lines with it (imfile), a second receives them over TCP
# (imtcp), in a network namespace of the test's own, and the lines arrive
# byte for byte.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bin=$1
example=$2/packaging/rsyslog-sstrace.conf
need_root

tmp=$(mktemp -d)
ns=sstrace-rsyslog-$$
cleanup() {
  for p in "$tmp"/*.pid; do [[ -f $p ]] && kill "$(cat "$p")" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp"/send "$tmp"/recv

# As Debian's /etc/rsyslog.conf includes /etc/rsyslog.d/*.conf: after the
# global work directory (imfile's state files, the forwarding queue).
cat >"$tmp"/check.conf <<CONF
global(workDirectory="$tmp/send")
include(file="$example")
CONF
out=$(rsyslogd -N1 -f "$tmp"/check.conf 2>&1) || fail "rsyslogd -N1: $out"

ip netns add "$ns" || fail "ip netns add"
ip -n "$ns" link set lo up
# The example with the file and the log host of this test.
sed -e "s|/var/log/sstrace/sstrace.json|$tmp/sstrace.json|" \
  -e 's|Target="logs.example.com" Port="514"|Target="127.0.0.1" Port="10514"|' \
  "$example" >"$tmp"/forward.conf
grep -q 'Target="127.0.0.1"' "$tmp"/forward.conf || fail "the example's Target line changed; update this test"
cat >"$tmp"/send.conf <<CONF
global(workDirectory="$tmp/send")
include(file="$tmp/forward.conf")
CONF
cat >"$tmp"/recv.conf <<CONF
global(workDirectory="$tmp/recv")
module(load="imtcp")
input(type="imtcp" port="10514" ruleset="in")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="in") { action(type="omfile" file="$tmp/received" template="raw") }
CONF
ip netns exec "$ns" rsyslogd -f "$tmp"/recv.conf -i "$tmp"/recv.pid || fail "receiving rsyslogd"
for _ in $(seq 50); do ip netns exec "$ns" ss -Htln 'sport = :10514' | grep -q . && break; sleep 0.1; done
touch "$tmp"/sstrace.json
ip netns exec "$ns" rsyslogd -f "$tmp"/send.conf -i "$tmp"/send.pid || fail "forwarding rsyslogd"
sleep 0.5 # imfile sets up its watch of the file
# Real event lines: sstrace's own JSON of the namespace's sockets.
"$bin" snapshot -N "$ns" -ta --json >>"$tmp"/sstrace.json || fail "sstrace snapshot"
[[ -s $tmp/sstrace.json ]] || fail "sstrace wrote nothing"
for _ in $(seq 100); do
  cmp -s "$tmp"/sstrace.json "$tmp"/received && break
  sleep 0.1
done
cmp -s "$tmp"/sstrace.json "$tmp"/received ||
  fail "forwarded lines differ: sent $(cat "$tmp"/sstrace.json) received $(cat "$tmp"/received 2>&1)"
echo "rsyslog: validated; $(wc -l <"$tmp"/received) lines forwarded intact"
