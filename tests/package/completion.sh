#!/usr/bin/env bash
# completion.sh SOURCE_DIR: packaging/sstrace.bash-completion parses, registers
# itself for sstrace, and completes what a user types, both with Debian's
# bash-completion loaded (its _init_completion) and without it. Namespace
# names come from a real `ip netns` namespace made here.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
src=$1
file=$src/packaging/sstrace.bash-completion

bash -n "$file" || fail "bash -n $file"
need_root
ns=sstrace-compl-$$
ip netns add "$ns" || fail "ip netns add $ns"
trap 'ip netns del "$ns"' EXIT

# complete LINE: what the function offers for the last word of LINE (a
# trailing space means a new, empty word), one per line, as bash would call
# it on TAB.
run() {
  local with_lib=$1
  bash --norc --noprofile -s <<SCRIPT
    set -u +e
    if [[ $with_lib == yes ]]; then
      source /usr/share/bash-completion/bash_completion || exit 3
    fi
    source "$file"
    complete -p sstrace | grep -q -- '-F _sstrace' || { echo "not registered"; exit 4; }
    complete_line() {
      local line=\$1
      read -ra COMP_WORDS <<<"\$line"
      [[ \$line == *' ' ]] && COMP_WORDS+=("")
      COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
      COMP_LINE=\$line
      COMP_POINT=\${#line}
      COMPREPLY=()
      _sstrace sstrace "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
      printf '%s\n' "\${COMPREPLY[@]}"
    }
    expect() {
      local line=\$1 want=\$2 got
      got=\$(complete_line "\$line")
      grep -qx -- "\$want" <<<"\$got" || { echo "'\$line' does not offer '\$want': \$got"; exit 1; }
    }
    refuse() {
      local line=\$1 unwanted=\$2 got
      got=\$(complete_line "\$line")
      ! grep -qx -- "\$unwanted" <<<"\$got" || { echo "'\$line' offers '\$unwanted'"; exit 1; }
    }
    expect 'sstrace --js' --json
    expect 'sstrace --out' --output
    expect 'sstrace --us' --user
    expect 'sstrace --bt' --btf
    expect 'sstrace sn' snapshot
    expect 'sstrace ' top
    expect 'sstrace -N ' "$ns"
    expect 'sstrace --net ' "$ns"
    expect 'sstrace --user ' root
    expect 'sstrace state ' established
    expect 'sstrace snapshot -t state time' time-wait
    expect 'sstrace top --by ' peer-port
    expect 'sstrace snapshot -f ' inet6
    expect 'sstrace snapshot -A ' unix_stream
    expect 'sstrace top --ba' --batch
    expect 'sstrace snapshot --pro' --processes
    # The live stream's own options are not offered to snapshot, nor ss's
    # snapshot-only letters to top.
    refuse 'sstrace snapshot --dur' --duration
    refuse 'sstrace top --proc' --processes
    echo ok
SCRIPT
}

out=$(run no) || fail "without bash-completion: $out"
if [[ -f /usr/share/bash-completion/bash_completion ]]; then
  out=$(run yes) || fail "with bash-completion: $out"
  echo "completion: ok with and without bash-completion"
else
  [[ ${SSTRACE_REQUIRE_PRIVILEGED:-0} == 1 ]] && fail "bash-completion is not installed (scripts/setup.sh)"
  echo "completion: ok without bash-completion (not installed)"
fi
