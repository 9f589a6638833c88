#!/usr/bin/env bash
# cmake_install.sh BUILD_DIR: `cmake --install` with a prefix other than the
# package's puts every file under it (but /etc's), and the unit names the
# binary where that prefix put it.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest cmake --install "$build" --prefix /opt/sstrace >"$dest"/install.log 2>&1 ||
  fail "cmake --install: $(cat "$dest"/install.log)"
for f in /opt/sstrace/bin/sstrace /opt/sstrace/share/man/man8/sstrace.8.gz \
  /opt/sstrace/share/bash-completion/completions/sstrace /opt/sstrace/lib/systemd/system/sstrace.service \
  /opt/sstrace/share/doc/sstrace/examples/rsyslog-sstrace.conf /etc/default/sstrace /etc/logrotate.d/sstrace; do
  [[ -f $dest$f ]] || fail "cmake --install put no $f"
done
grep -q '^ExecStart=/opt/sstrace/bin/sstrace ' "$dest"/opt/sstrace/lib/systemd/system/sstrace.service ||
  fail "the unit does not name /opt/sstrace/bin/sstrace: $(grep ExecStart "$dest"/opt/sstrace/lib/systemd/system/sstrace.service)"
[[ $("$dest"/opt/sstrace/bin/sstrace --version) == "sstrace "* ]] || fail "the installed binary does not run"
echo "cmake --install: every file under /opt/sstrace, the unit names its binary"
