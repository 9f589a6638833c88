#!/usr/bin/env bash
# installed.sh CHECK BUILD_DIR: the .deb installed by dpkg in a throwaway
# overlay of this host (lib.sh), then one CHECK, or `all` of them:
#   postinst  the system user, the log directory, conffiles, upgrade, purge
#   systemd   systemd-analyze verify and an offline security review of the unit
#   logrotate logrotate -d of the config, then a real forced rotation
set -uo pipefail
ORIG_ARGS=("$@")
source "$(dirname "$0")/lib.sh"
check=$1
deb=$(deb_file "$2") || exit 1
need_root

check_postinst() {
  local pw uid shell
  pw=$(in_root getent passwd sstrace) || fail "postinst made no user sstrace"
  IFS=: read -r _ _ uid _ _ _ shell <<<"$pw"
  ((uid < 1000)) || fail "sstrace is not a system user (uid $uid)"
  [[ $shell == */nologin || $shell == */false ]] || fail "sstrace has a login shell: $shell"
  in_root getent group sstrace >/dev/null || fail "postinst made no group sstrace"
  local owner
  owner=$(in_root stat -c '%U %G %a' /var/log/sstrace) || fail "postinst made no /var/log/sstrace"
  [[ $owner == "sstrace adm 2750" ]] || fail "/var/log/sstrace is '$owner', not 'sstrace adm 2750'"

  local conffiles
  conffiles=$(in_root dpkg-query -W -f='${Conffiles}' sstrace)
  for f in /etc/default/sstrace /etc/logrotate.d/sstrace; do
    grep -q "^ $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
  done
  in_root sstrace --version | grep -qx "sstrace [0-9.]*" || fail "the installed sstrace --version"
  [[ $(in_root man -w sstrace) == /usr/share/man/man8/sstrace.8.gz ]] || fail "man -w sstrace"

  # A local change to a conffile survives a reinstall (an upgrade's path:
  # postinst configure with the old version), and the user is not made twice.
  echo 'SSTRACE_ARGS="--all-netns"' >>"$ROOT"/etc/default/sstrace
  in_root dpkg -i --force-confold "/tmp/$(basename "$deb")" >/dev/null 2>&1 || fail "reinstall failed"
  grep -q -- '--all-netns' "$ROOT"/etc/default/sstrace || fail "reinstall lost a conffile change"
  [[ $(in_root getent passwd sstrace) == "$pw" ]] || fail "reinstall changed the user"

  in_root dpkg --purge sstrace >/dev/null 2>&1 || fail "dpkg --purge sstrace failed"
  for f in /usr/bin/sstrace /etc/default/sstrace /etc/logrotate.d/sstrace /var/log/sstrace \
    /usr/lib/systemd/system/sstrace.service; do
    [[ ! -e $ROOT$f ]] || fail "$f is left after purge"
  done
  echo "postinst: user uid $uid, /var/log/sstrace $owner, conffiles kept, purge clean"
}

check_systemd() {
  local unit=/usr/lib/systemd/system/sstrace.service out
  grep -qx 'ExecStart=/usr/bin/sstrace --json --output /var/log/sstrace/sstrace.json --user sstrace $SSTRACE_ARGS' \
    "$ROOT$unit" || fail "ExecStart is not the documented command line"
  # verify loads the unit as systemd would: unknown directives, bad values,
  # missing executables (ExecStart, ExecReload) and the Documentation= page.
  out=$(in_root systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify warns: $out"
  # The hardening as systemd itself scores it (offline: no manager needed).
  out=$(in_root systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
  local score
  score=$(grep -o 'Overall exposure level for sstrace.service: [0-9.]*' <<<"$out" | grep -o '[0-9.]*$')
  [[ -n $score ]] || fail "systemd-analyze security gave no score: $out"
  echo "systemd: verify clean, exposure $score"
  awk -v s="$score" 'BEGIN { exit !(s <= 4.5) }' || fail "exposure $score is above 4.5 (was 4.2): $out"
}

check_logrotate() {
  local conf=/etc/logrotate.d/sstrace out
  out=$(in_root logrotate -d "$conf" 2>&1) || fail "logrotate -d: $out"
  grep -qi 'error' <<<"$out" && fail "logrotate -d: $out"
  # A real rotation, as the daily timer would do it.
  echo '{"type":"sync"}' >"$ROOT"/var/log/sstrace/sstrace.json
  out=$(in_root logrotate -f -s /tmp/logrotate.state "$conf" 2>&1) || fail "logrotate -f: $out"
  grep -qx '{"type":"sync"}' "$ROOT"/var/log/sstrace/sstrace.json.1 || fail "no rotated file"
  local mode
  mode=$(stat -c '%a' "$ROOT"/var/log/sstrace/sstrace.json) || fail "no new sstrace.json"
  [[ $mode == 640 ]] || fail "the new file has mode $mode"
  [[ $(in_root stat -c '%U %G' /var/log/sstrace/sstrace.json) == "sstrace adm" ]] ||
    fail "the new file is not sstrace:adm"
  echo "logrotate: -d clean, rotated, new file 0640 sstrace:adm"
}

# One installation for every check (dpkg -i takes seconds); the purge of
# check_postinst comes last.
check_all() {
  check_systemd && check_logrotate && check_postinst
}

case $check in
  all | postinst | systemd | logrotate) with_installed_package "$deb" "check_$check" ;;
  *) fail "unknown check '$check'" ;;
esac
