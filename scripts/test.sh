#!/usr/bin/env bash
# Set up, build and run every test (unit and end-to-end). The end-to-end
# tests need root and BPF; with SSTRACE_REQUIRE_PRIVILEGED=1 (set here, and
# so in CI) a test that would skip for lack of them fails instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
export SSTRACE_REQUIRE_PRIVILEGED=1
cd build
ctest --output-on-failure --no-tests=error -j1 "$@"
