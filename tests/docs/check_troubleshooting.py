#!/usr/bin/env python3
"""Every message sstrace can print has an entry in docs/troubleshooting.md.

Run at test time (ctest: docs.troubleshooting_covers_every_message), so the
page cannot fall behind the code. A message is the text of:
  - a thrown UsageError(...) / FatalError(...), an Error{...} or
    sys_error(...) value (main() prints them as "sstrace: <text>"), and the
    parser's malformed(...) replies;
  - any string literal starting "sstrace: " (the printf-style warnings).
Messages are built from fixed text and formatted parts ("filter file " +
path + ": larger than 1 MiB, not a filter"), so each is matched by its
fixed part: the longest string-literal fragment of the expression, cut at
printf conversions (%s, %llu, ...) and trimmed of spaces, quotes and
punctuation at its ends. That fragment must appear verbatim somewhere in the
page. Messages whose fixed text is shorter than MIN_KEY characters (a bare
"sstrace: %s\n", e.what()) carry nothing to match and are skipped.

    tests/docs/check_troubleshooting.py [REPO]   exit 0: all covered
                                                 exit 1: lists the missing
"""
import os
import re
import sys

MIN_KEY = 6
# Messages the extractor must find, one of each shape (a literal, a fixed part
# between formatted ones, a printf format): if a refactoring hides them from
# it, the check fails instead of passing on nothing.
CANARIES = [
    "filter file -: standard input is empty or closed",
    "is not a namespace name (as ip netns lists them",
    "kernel records lost",
    "stray bytes after the last attribute",
]
SITE = re.compile(r'\b(UsageError|FatalError|sys_error|malformed)\s*\(|\bError\s*\{|"sstrace: ')
CLOSE = {"(": ")", "{": "}"}
PRINTF = re.compile(r"%[-+ #0]*[0-9*]*(?:\.[0-9*]+)?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcspn%]")
TRIM = " \t\n:;,.'\"()-=[]"


def literals(expr):
    """The string literals in a C++ expression, adjacent ones joined."""
    out, i, joined = [], 0, None
    while i < len(expr):
        c = expr[i]
        if c == '"':
            j, buf = i + 1, []
            while j < len(expr) and expr[j] != '"':
                if expr[j] == "\\" and j + 1 < len(expr):
                    buf.append({"n": "\n", "t": "\t"}.get(expr[j + 1], expr[j + 1]))
                    j += 2
                else:
                    buf.append(expr[j])
                    j += 1
            text = "".join(buf)
            if joined is not None:
                out[-1] += text
            else:
                out.append(text)
            joined = ""
            i = j + 1
        elif c.isspace():
            i += 1
        elif c == "'" and i + 2 < len(expr):
            i = expr.index("'", i + 2) + 1 if "'" in expr[i + 2 :] else len(expr)
            joined = None
        else:
            joined = None
            i += 1
    return out


def argument(src, start, opener):
    """The text from `start` up to the bracket that closes `opener`."""
    depth, i, closer = 1, start, CLOSE[opener]
    while i < len(src) and depth:
        c = src[i]
        if c == '"':
            i += 1
            while i < len(src) and src[i] != '"':
                i += 2 if src[i] == "\\" else 1
        elif c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
        i += 1
    return src[start : i - 1]


def key_of(parts):
    frags = [f.strip(TRIM) for p in parts for f in PRINTF.split(p)]
    frags = [f for f in frags if f]
    return max(frags, key=len) if frags else ""


def messages(repo):
    for root, _, files in os.walk(os.path.join(repo, "src")):
        for name in sorted(files):
            if not name.endswith((".cpp", ".h")):
                continue
            path = os.path.join(root, name)
            src = open(path, encoding="utf-8").read()
            # Comments are prose, not messages.
            code = re.sub(r"//[^\n]*", lambda m: " " * len(m.group(0)), src)
            for m in SITE.finditer(code):
                if m.group(0).startswith('"'):
                    parts = literals(code[m.start() : code.index("\n", m.start())])[:1]
                    parts = [p[len("sstrace: ") :] for p in parts]
                else:
                    opener = m.group(0)[-1]
                    parts = literals(argument(code, m.end(), opener))
                    if m.group(1) == "malformed":
                        parts = ["malformed"] + parts
                key = key_of(parts)
                if len(key) >= MIN_KEY:
                    line = code.count("\n", 0, m.start()) + 1
                    yield os.path.relpath(path, repo), line, key


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    doc = open(os.path.join(repo, "docs", "troubleshooting.md"), encoding="utf-8").read()
    seen, missing, keys = 0, [], set()
    for path, line, key in messages(repo):
        seen += 1
        keys.add(key)
        if key not in doc:
            missing.append(f"{path}:{line}: {key!r}")
    lost = [c for c in CANARIES if c not in keys]
    if lost:
        print(f"check_troubleshooting: the extractor no longer finds {lost}: it is broken")
        return 1
    for m in missing:
        print(f"not in docs/troubleshooting.md: {m}")
    print(f"check_troubleshooting: {seen - len(missing)} of {seen} messages documented")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
