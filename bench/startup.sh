#!/bin/sh
# Startup latency: `bulwark run --net none -- /bin/true` against bwrap with the same isolation
# (all namespaces, read-only root, /proc, minimal /dev, tmpfs /tmp, uid 65534, no capabilities,
# the same seccomp filter: bulwark's compiled default.json, handed to bwrap as BPF), in one
# hyperfine run. bwrap takes the filter on an fd, so the headline pair runs both tools through
# the same `sh -c 'exec ...'`; the direct runs are shown too. usage: bench/startup.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
root="$PWD/$build/tests/rootfs"
bpf=$(mktemp)
cache=$(mktemp -d)
trap 'rm -rf "$bpf" "$bpf.json" "$cache"' EXIT
# Every bulwark row keeps its compiled filter here (after the first warm-up run), not in
# /var/cache; bulwark-nocache points at a directory that cannot be made, so it compiles each time.
export BULWARK_CACHE_DIR="$cache"
"$build/bulwark" check profile profiles/default.json --export-bpf "$bpf" >/dev/null
hyperfine -N --warmup 20 --runs 300 --export-json "$bpf.json" \
    -n bare "$root/bin/true" \
    -n bulwark "$build/bulwark run --net none --rootfs $root -- /bin/true" \
    -n bulwark-cached "env BULWARK_CACHE_DIR=$cache $build/bulwark run --net none --rootfs $root -- /bin/true" \
    -n bulwark-nocache "env BULWARK_CACHE_DIR=/proc/bulwark-nocache $build/bulwark run --net none --rootfs $root -- /bin/true" \
    -n bulwark-sh "sh -c 'exec $build/bulwark run --net none --rootfs $root -- /bin/true'" \
    -n bwrap-sh "sh -c 'exec bwrap --unshare-all --die-with-parent --new-session --uid 65534 --gid 65534 --ro-bind $root / --proc /proc --dev /dev --tmpfs /tmp --cap-drop ALL --seccomp 9 /bin/true 9<$bpf'" \
    -n "bwrap-noseccomp" "bwrap --unshare-all --die-with-parent --new-session --uid 65534 --gid 65534 --ro-bind $root / --proc /proc --dev /dev --tmpfs /tmp --cap-drop ALL /bin/true" \
    >/dev/null
python3 - "$bpf.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:12s} median {v:7.2f} ms  (mean {r[k]['mean']*1000:.2f} ± {r[k]['stddev']*1000:.2f})")
print(f"ratio bulwark-sh/bwrap-sh (same isolation and filter, same wrapper)  {med['bulwark-sh']/med['bwrap-sh']:.2f}")
print(f"ratio bulwark/bwrap-noseccomp (bulwark still loads its filter)       {med['bulwark']/med['bwrap-noseccomp']:.2f}")
print(f"ratio bulwark-cached/bulwark-nocache (filter cache, both through env)  {med['bulwark-cached']/med['bulwark-nocache']:.2f}")
PY
