#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (sanitizers on) in build-fuzz and
# runs them for SECONDS in total, split evenly between the TARGETs named
# (default: every target, 30 s in all: the CI smoke run). By hand, give one
# target its own long run: `scripts/fuzz.sh 600 diag`.
#
#   scripts/fuzz.sh [SECONDS] [filter|diag ...]
#
# A crash leaves its input in build-fuzz/artifacts/ and fails the run: turn
# it into a unit test (tests/unit/filter_parse_test.cpp for the filter,
# tests/unit/diag_parse_test.cpp for the sock_diag parser) before fixing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(filter diag)
for t in "${targets[@]}"; do
  case $t in
    filter | diag) ;;
    *) echo "fuzz.sh: unknown target '$t' (filter, diag)" >&2; exit 2 ;;
  esac
done
per_target=$((seconds / ${#targets[@]}))
((per_target > 0)) || per_target=1
build=${SSTRACE_FUZZ_BUILD:-build-fuzz}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSSTRACE_BUILD_BENCH=OFF >/dev/null
mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
  cmake --build "$build" -j1 --target "sstrace_${t}_fuzz"
  # The committed corpus seeds a scratch copy, so a run never edits the tree.
  mkdir -p "$build/corpus-$t"
  cp -n "tests/fuzz/corpus/$t"/* "$build/corpus-$t/" 2>/dev/null || true
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  echo "fuzz.sh: $t for ${per_target}s"
  "$build/tests/fuzz/sstrace_${t}_fuzz" -max_total_time="$per_target" -rss_limit_mb=2048 \
    "${dict[@]}" -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 \
    "$build/corpus-$t"
done
