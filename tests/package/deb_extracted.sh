#!/usr/bin/env bash
# deb_extracted.sh BUILD_DIR VERSION: the .deb's contents (dpkg-deb -x into a
# temporary root), its Depends against what the binary really loads, and the
# packaged binary run for real: --version, --help, a snapshot and a short
# live stream in a namespace of its own with a real connection, under the
# unit's capability bounding set.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
deb=$(deb_file "$1") || exit 1
version=$2
need_root

tmp=$(mktemp -d)
ns=sstrace-pkg-$$
cleanup() {
  [[ -n ${server:-} ]] && kill "$server" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
root=$tmp/root
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x $deb"

for f in /usr/bin/sstrace /usr/share/man/man8/sstrace.8.gz \
  /usr/share/bash-completion/completions/sstrace /usr/lib/systemd/system/sstrace.service \
  /etc/default/sstrace /etc/logrotate.d/sstrace /usr/share/doc/sstrace/events.md \
  /usr/share/doc/sstrace/troubleshooting.md /usr/share/doc/sstrace/examples/rsyslog-sstrace.conf; do
  [[ -f $root$f ]] || fail "$f is not in the package"
done
[[ $(stat -c %a "$root"/usr/bin/sstrace) == 755 ]] || fail "/usr/bin/sstrace is not 0755"
control=$(dpkg-deb -f "$deb" Package Version Depends)
grep -qx "Version: $version" <<<"$control" || fail "Version is not $version: $control"
dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx './conffiles' || fail "no conffiles"

# Depends: every library the binary loads belongs to a package that Depends
# names, directly or through a package it depends on (libelf1 and zlib1g
# come through libbpf1: the binary does not link them itself).
depends=$(dpkg-deb -f "$deb" Depends)
package_names() { tr ',|' '\n\n' | sed 's/(.*)//; s/:any//; s/ //g' | grep -v '^$'; }
declare -A deps_of
while IFS=$'\t' read -r p d; do deps_of[$p]=$d; done < <(
  dpkg-query -W -f='${Package}\t${Depends},${Pre-Depends}\n')
closure=" "
mapfile -t queue < <(package_names <<<"$depends")
while ((${#queue[@]})); do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  [[ $closure == *" $p "* ]] && continue
  closure+="$p "
  mapfile -t -O "${#queue[@]}" queue < <(package_names <<<"${deps_of[$p]:-}")
done
# Who owns each library, from dpkg's file lists (dpkg -S is slow): by its
# real path, under /lib or /usr/lib, as the two are one on Debian 12.
mapfile -t libs < <(ldd "$root"/usr/bin/sstrace | awk '$3 ~ /^\// { print $3 }' | xargs -r realpath)
((${#libs[@]} > 3)) || fail "ldd found no libraries: $(ldd "$root"/usr/bin/sstrace)"
owners=$(grep -HxF -f <(for l in "${libs[@]}"; do echo "${l#/usr}"; echo "/usr${l#/usr}"; done) \
  /var/lib/dpkg/info/*.list)
for lib in "${libs[@]}"; do
  owner=$(awk -F '.list:' -v a="${lib#/usr}" -v b="/usr${lib#/usr}" \
    '$2 == a || $2 == b { n = split($1, p, "/"); sub(/:.*/, "", p[n]); print p[n]; exit }' <<<"$owners")
  [[ -n $owner ]] || fail "no package owns $lib"
  [[ $closure == *" $owner "* ]] || fail "$lib is from $owner, which Depends ($depends) does not bring"
done
for p in libbpf1 libelf1 zlib1g; do
  [[ $closure == *" $p "* ]] || fail "$p is not in the dependencies: $depends"
done

bin=$root/usr/bin/sstrace
[[ $("$bin" --version) == "sstrace $version" ]] || fail "--version: $("$bin" --version)"
help=$("$bin" --help) || fail "--help exited $?"
grep -q '^Usage: sstrace' <<<"$help" || fail "--help: $help"

# A namespace with a listener (iperf3's server) for a snapshot and a stream.
ip netns add "$ns" || fail "ip netns add"
ip -n "$ns" link set lo up
ip netns exec "$ns" iperf3 -s -p 5201 >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  ip netns exec "$ns" ss -Htln 'sport = :5201' | grep -q . && break
  sleep 0.1
done
"$bin" snapshot -N "$ns" -tln --json >"$tmp"/snap.json || fail "snapshot exited $?"
grep -q '"state":"LISTEN".*"lport":5201' "$tmp"/snap.json ||
  grep -q '"lport":5201.*"state":"LISTEN"' "$tmp"/snap.json || fail "snapshot: no listener: $(cat "$tmp"/snap.json)"

# The live stream runs with the unit's CapabilityBoundingSet and nothing
# more, as the service would: the set must be enough for a namespace (-N),
# with no start-up note about anything missing.
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$root"/usr/lib/systemd/system/sstrace.service)
[[ $unit_caps == CAP_* ]] || fail "no CapabilityBoundingSet in the unit"
setpriv_caps() { tr ' ' '\n' <<<"$1" | sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' | paste -sd, -; }
setpriv --bounding-set "-all,$(setpriv_caps "$unit_caps")" \
  "$bin" -N "$ns" --json --duration 2 'sport = :5201 or dport = :5201' >"$tmp"/live.json 2>"$tmp"/live.err &
live=$!
for _ in $(seq 100); do
  grep -qs '"type":"sync"' "$tmp"/live.json && break
  sleep 0.05
done
grep -q '"type":"sync"' "$tmp"/live.json || { kill "$live"; fail "live: no sync: $(cat "$tmp"/live.err)"; }
ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201; sleep 0.2' || fail "connect"
wait "$live" || fail "live exited $?: $(cat "$tmp"/live.err)"
grep '"type":"state"' "$tmp"/live.json | grep '"new":"ESTAB"' | grep -q '"rport":5201' ||
  fail "live: no ESTAB of the connection: $(cat "$tmp"/live.json)"
tail -1 "$tmp"/live.json | grep -q '"type":"exit"' || fail "live: no exit event last"
[[ ! -s $tmp/live.err ]] || fail "live under the unit's capabilities said: $(cat "$tmp"/live.err)"

# And the set is what stands between the service and BPF: without CAP_BPF
# and CAP_SYS_ADMIN (which also grants it) the stream cannot start.
without=$(sed 's/CAP_BPF//; s/CAP_SYS_ADMIN//' <<<"$unit_caps" | xargs)
setpriv --bounding-set "-all,$(setpriv_caps "$without")" "$bin" --duration 1 >/dev/null 2>"$tmp"/nobpf.err
rc=$?
((rc == 1)) || fail "without CAP_BPF and CAP_SYS_ADMIN the stream exited $rc"
grep -q '^sstrace: .*CAP_BPF' "$tmp"/nobpf.err || fail "without CAP_BPF: $(cat "$tmp"/nobpf.err)"
echo "deb: contents, Depends ($depends) cover ldd, the packaged binary ran (live: with the unit's capabilities)"
