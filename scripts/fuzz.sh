#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (sanitizers on) in build-fuzz and
# runs each for SECONDS (default 30: the CI smoke run; use 600+ by hand).
# A crash leaves its input in build-fuzz/artifacts/ and fails the run: turn
# it into a unit test (tests/unit/filter_parse_test.cpp) before fixing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=${SSTRACE_FUZZ_BUILD:-build-fuzz}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSSTRACE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target sstrace_filter_fuzz
mkdir -p "$build/artifacts" "$build/corpus-filter"
# The committed corpus seeds a scratch copy, so a run never edits the tree.
cp -n tests/fuzz/corpus/filter/* "$build/corpus-filter/" 2>/dev/null || true
"$build/tests/fuzz/sstrace_filter_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -dict=tests/fuzz/filter.dict -artifact_prefix="$build/artifacts/" -print_final_stats=1 \
  "$build/corpus-filter"
