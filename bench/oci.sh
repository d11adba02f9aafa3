#!/bin/sh
# `podman run --rm IMAGE /bin/true` through bulwark-oci against runc and crun, in one hyperfine
# run, with the same image (the busybox test rootfs imported), spec and Podman. Root on this
# machine lacks CAP_SYS_RESOURCE, and Podman's default spec raises RLIMIT_NOFILE to 1048576:
# runc and crun then refuse to start anything ("setrlimit: Operation not permitted") while
# bulwark-oci lowers the limit to the hard limit it has and logs a warning. So every row is given
# limits below the hard ones (--ulimit), which all three runtimes can set.
# usage: bench/oci.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
root="$PWD/$build/tests/rootfs"
oci="$PWD/$build/bulwark-oci"
image=localhost/bulwark-bench:latest
tmp=$(mktemp -d)
trap 'podman rmi -f "$image" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
tar -C "$root" -cf "$tmp/rootfs.tar" .
podman import "$tmp/rootfs.tar" "$image" >/dev/null
limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
hyperfine -N --warmup 5 --runs ${RUNS:-40} --export-json "$tmp/r.json" \
    -n bulwark-oci "podman --runtime $oci run --rm $limits $image /bin/true" \
    -n runc "podman --runtime /usr/sbin/runc run --rm $limits $image /bin/true" \
    -n crun "podman --runtime /usr/bin/crun run --rm $limits $image /bin/true" \
    >/dev/null
python3 - "$tmp/r.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:12s} median {v:7.2f} ms  (mean {r[k]['mean']*1000:.2f} ± {r[k]['stddev']*1000:.2f})")
print(f"ratio bulwark-oci/runc  {med['bulwark-oci']/med['runc']:.2f}")
print(f"ratio bulwark-oci/crun  {med['bulwark-oci']/med['crun']:.2f}")
PY
