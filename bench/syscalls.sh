#!/bin/sh
# Per-syscall cost (getppid in a tight loop, best of 5 inner runs) with no filter, with an
# allow-all filter (the fixed cost of seccomp being on), under profiles/default.json,
# profiles/strict.json and Docker's default profile, each inside bulwark. ROUNDS rounds
# alternate the variants so drift hits all alike; medians are reported.
# usage: bench/syscalls.sh [BUILD_DIR] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-15}
root="$PWD/$build/tests/rootfs"
b="$PWD/$build/bench/bench_getppid"
docker=../shared/testdata/seccomp/docker-default.json
inside() { "$build/bulwark" run --rootfs "$root" --profile "$1" --bind "$b:/bench" -- /bench 2>/dev/null; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=0
while [ $i -lt "$rounds" ]; do
    echo "none $("$b")" >>"$out"
    echo "allow-all $(inside bench/allow-all.json)" >>"$out"
    echo "default $(inside profiles/default.json)" >>"$out"
    echo "strict $(inside profiles/strict.json)" >>"$out"
    echo "docker $(inside "$docker")" >>"$out"
    i=$((i + 1))
done
python3 - "$out" <<'PY'
import sys, statistics
v = {}
for line in open(sys.argv[1]):
    k, x = line.split(); v.setdefault(k, []).append(float(x))
m = {k: statistics.median(x) for k, x in v.items()}
print(f"{'filter':28s} {'median ns':>9s} {'min':>7s} {'max':>7s} {'vs none':>8s} {'vs allow-all':>13s}")
names = {"none": "none (host)", "allow-all": "allow-all (seccomp floor)", "default": "profiles/default.json",
         "strict": "profiles/strict.json", "docker": "docker-default.json"}
for k in ["none", "allow-all", "default", "strict", "docker"]:
    print(f"{names[k]:28s} {m[k]:9.1f} {min(v[k]):7.1f} {max(v[k]):7.1f} {m[k]/m['none']:8.3f} {m[k]/m['allow-all']:13.3f}")
PY
