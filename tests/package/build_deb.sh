#!/usr/bin/env bash
# build_deb.sh BUILD_DIR: the fixture of the package tests, the .deb made by
# CPack (cmake/Packaging.cmake) from this build, in BUILD_DIR/package-test.
set -euo pipefail
build=$1
rm -rf "$build"/package-test
cpack --config "$build"/CPackConfig.cmake -G DEB -B "$build"/package-test >"$build"/package-test.log 2>&1 ||
  { cat "$build"/package-test.log >&2; echo "FAIL: cpack -G DEB" >&2; exit 1; }
ls "$build"/package-test/sstrace_*.deb
