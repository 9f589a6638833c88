# Shared by the package tests (ctest label `package`). Each test is a script
# that exits non-zero with a line on stderr saying what is wrong.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

need_root() {
  # These tests install a package (in an overlay) and make namespaces: in CI
  # (SSTRACE_REQUIRE_PRIVILEGED=1) a missing privilege is a failure, else a
  # skip that ctest shows as one, never a pass.
  if [[ $(id -u) -ne 0 ]]; then
    [[ ${SSTRACE_REQUIRE_PRIVILEGED:-0} == 1 ]] && fail "needs root"
    echo "[  SKIPPED ] needs root"
    exit 0
  fi
}

# The .deb the build_deb fixture made.
deb_file() {
  local build=$1 deb
  deb=$(ls "$build"/package-test/sstrace_*.deb 2>/dev/null | head -1)
  [[ -f $deb ]] || fail "no .deb in $build/package-test (the package.build_deb test makes it)"
  echo "$deb"
}

# Runs "$@" (a function of the caller) with the .deb really installed by
# dpkg, in a throwaway copy of this host: an overlay of / in a private mount
# namespace, chrooted, so that the host's files, users and dpkg database stay
# untouched. The caller's function runs inside the mount namespace with
# ROOT set; `in_root CMD...` runs a command chrooted there.
with_installed_package() {
  local deb=$1
  shift
  if [[ -z ${SSTRACE_PKG_IN_NS:-} ]]; then
    SSTRACE_PKG_IN_NS=1 exec unshare --mount --propagation private -- "$BASH" "$0" "${ORIG_ARGS[@]}"
  fi
  local tmp
  tmp=$(mktemp -d /tmp/sstrace-pkg.XXXXXX)
  # Everything the test writes lives on a tmpfs of this mount namespace, so
  # nothing is ever removed file by file (the root holds a bind of /dev).
  mount -t tmpfs tmpfs "$tmp" || fail "cannot mount a tmpfs on $tmp"
  PKG_TMP=$tmp
  trap 'umount -R -l "$PKG_TMP" && rmdir "$PKG_TMP"' EXIT
  mkdir -p "$tmp"/upper "$tmp"/work "$tmp"/root
  mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp"/root ||
    fail "cannot mount an overlay of / (overlayfs)"
  ROOT=$tmp/root
  mount -t proc proc "$ROOT"/proc
  mount --rbind /dev "$ROOT"/dev
  mount -t sysfs sysfs "$ROOT"/sys
  # A clean /run and /tmp: no /run/systemd/system, so the maintainer scripts
  # see a host without a running systemd, as in a container.
  mount -t tmpfs tmpfs "$ROOT"/run
  mount -t tmpfs tmpfs "$ROOT"/tmp
  cp "$deb" "$ROOT"/tmp/
  # man-db's trigger would rebuild the whole index of this copy (seconds).
  rm -f "$ROOT"/var/lib/man-db/auto-update
  in_root dpkg -i "/tmp/$(basename "$deb")" >"$tmp"/dpkg.log 2>&1 ||
    { cat "$tmp"/dpkg.log >&2; fail "dpkg -i $(basename "$deb") failed"; }
  "$@"
}

in_root() {
  chroot "$ROOT" "$@"
}
