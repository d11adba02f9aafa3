#!/bin/sh
# What learning costs the app per syscall: getppid in a tight loop (bench_getppid, best of 5
# inner runs of N calls) inside bulwark under profiles/default.json, inside bulwark while
# learning (`run --learn`: every call is a user notification the supervisor answers), and, for
# the peer way of watching every call (slim and strace-based learners), under `strace -f` on the
# host. ROUNDS rounds alternate the variants; medians are reported.
# usage: bench/learn.sh [BUILD_DIR] [ROUNDS] [N]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-5}
n=${3:-20000}
root="$PWD/$build/tests/rootfs"
b="$PWD/$build/bench/bench_getppid"
out=$(mktemp)
learned=$(mktemp)
trap 'rm -f "$out" "$learned"' EXIT
run() { "$build/bulwark" run --rootfs "$root" --bind "$b:/bench" "$@" -- /bench "$n" 2>/dev/null; }
i=0
while [ $i -lt "$rounds" ]; do
    echo "none $("$b" "$n")" >>"$out"
    echo "default $(run)" >>"$out"
    echo "learning $(run --learn "$learned")" >>"$out"
    echo "strace $(strace -f -qq -o /dev/null "$b" "$n")" >>"$out"
    i=$((i + 1))
done
python3 - "$out" <<'PY'
import sys, statistics
v = {}
for line in open(sys.argv[1]):
    k, x = line.split(); v.setdefault(k, []).append(float(x))
m = {k: statistics.median(x) for k, x in v.items()}
for k, x in m.items():
    print(f"{k:9s} {x:9.1f} ns per getppid (median of {len(v[k])})")
extra = m["learning"] - m["default"]
print(f"learning adds {extra/1000:.1f} us per call; strace adds {(m['strace'] - m['none'])/1000:.1f} us")
print(f"ratio learning/strace (per call, whole)  {m['learning']/m['strace']:.2f}")
PY
