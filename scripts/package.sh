#!/usr/bin/env bash
# Build sstrace and its Debian package: build/sstrace_VERSION_ARCH.deb
# (cmake/Packaging.cmake says what goes in it). Install it with
#   apt install ./build/sstrace_*.deb && systemctl enable --now sstrace
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
cpack -G DEB >/dev/null
ls "$PWD"/sstrace_*.deb
