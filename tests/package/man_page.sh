#!/usr/bin/env bash
# man_page.sh SOURCE_DIR: packaging/sstrace.8 renders with no groff warning,
# has the sections a reader looks for, and shows every event type that
# docs/events.md documents, each with what it carries.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
src=$1
page=$src/packaging/sstrace.8

# man exits 0 on warnings; they are on stderr.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>"$tmp"/warnings >"$tmp"/page ||
  fail "man -l $page failed: $(cat "$tmp"/warnings)"
[[ -s $tmp/warnings ]] && fail "man --warnings: $(cat "$tmp"/warnings)"
text=$(col -b <"$tmp"/page)

for section in NAME SYNOPSIS DESCRIPTION OPTIONS FILTER EVENTS "EXIT STATUS" SIGNALS FILES EXAMPLES; do
  grep -qx "$section" <<<"$text" || fail "no $section section"
done
# Every event type that has a heading in docs/events.md (### `type`), each
# with an example line.
events=$(sed -n 's/^### `\([a-z_]*\)`.*/\1/p; s/^### `\([a-z_]*\)`, `\([a-z_]*\)`.*/\2/p' "$src"/docs/events.md | sort -u)
[[ $(wc -l <<<"$events") -ge 10 ]] || fail "found only $(wc -l <<<"$events") event types in docs/events.md"
section=$(sed -n '/^EVENTS$/,/^EXIT STATUS$/p' <<<"$text")
for e in $events; do
  grep -qE "^ {7}($e|[a-z_]+, $e)([[:space:],]|\$)" <<<"$section" || fail "event type '$e' is not described under EVENTS"
  grep -qF "{\"type\":\"$e\"" "$page" || fail "event type '$e' has no example"
done
for status in 0 1 2; do
  sed -n '/^EXIT STATUS$/,/^SIGNALS$/p' <<<"$text" | grep -qE "^ {7}$status([[:space:]]|\$)" || fail "exit status $status is not described"
done
for sig in SIGINT SIGTERM SIGUSR1 SIGHUP; do
  sed -n '/^SIGNALS$/,/^ENVIRONMENT$/p' <<<"$text" | grep -q "$sig" || fail "$sig is not described"
done
echo "man page: no warnings, $(wc -w <<<"$events") event types with examples"
