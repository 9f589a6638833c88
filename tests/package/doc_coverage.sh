#!/usr/bin/env bash
# doc_coverage.sh SSTRACE SOURCE_DIR: every long option that `sstrace --help`,
# `sstrace snapshot --help` and `sstrace top --help` print is in the man page
# and in the bash completion, so neither can fall behind the binary. The
# service's options (--output, --user, --btf: CONTRACT.md) are required too.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bin=$1
src=$2

options=$({
  "$bin" --help
  "$bin" snapshot --help
  "$bin" top --help
} | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
[[ $(wc -l <<<"$options") -ge 30 ]] || fail "found only $(wc -l <<<"$options") options in --help"
options+=$'\n--output\n--user\n--btf'

# The options each file names: the page's source with groff's escaped minus
# as a plain one, and the completion's word lists.
named() { grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]' | sort -u; }
missing_man=$(comm -23 <(sort -u <<<"$options") <(sed 's/\\-/-/g' "$src"/packaging/sstrace.8 | named))
missing_completion=$(comm -23 <(sort -u <<<"$options") <(named <"$src"/packaging/sstrace.bash-completion))
[[ -z $missing_man ]] || fail "not in packaging/sstrace.8:" $missing_man
[[ -z $missing_completion ]] || fail "not in packaging/sstrace.bash-completion:" $missing_completion
echo "documented: $(wc -w <<<"$options") long options in the man page and the completion"
