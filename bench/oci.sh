#!/bin/sh
# `podman run --rm IMAGE /bin/true` through bulwark-oci against runc, in one hyperfine run, with
# the same image (the busybox test rootfs imported), spec and Podman. Root on this
# machine lacks CAP_SYS_RESOURCE, and Podman's default spec raises RLIMIT_NOFILE to 1048576:
# runc then refuses to start anything ("setrlimit: Operation not permitted") while bulwark-oci
# lowers the limit to the hard limit it has and logs a warning. So both rows are given limits
# below the hard ones (--ulimit), which both runtimes can set. crun 1.8.1 is not a row: on this
# hybrid-cgroup host it refuses every container ("cgroups in hybrid mode not supported").
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
    >/dev/null
# The runtimes alone, without Podman: `run` of one bundle (a copy of the test rootfs, the spec of
# `bulwark-oci spec` running /bin/true), each with its own state root.
mkdir -p "$tmp/bundle" && cp -a "$root" "$tmp/bundle/rootfs"
"$oci" spec --bundle "$tmp/bundle"
python3 - "$tmp/bundle/config.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["process"]["args"] = ["/bin/true"]
json.dump(d, open(sys.argv[1], "w"))
PY
cd "$tmp/bundle"
hyperfine -N --warmup 5 --runs ${RUNS:-40} --export-json "$tmp/d.json" \
    -n bulwark-oci-run "$oci --root $tmp/s1 run b1" \
    -n runc-run "runc --root $tmp/s2 run b2" \
    >/dev/null
cd - >/dev/null
python3 - "$tmp/r.json" "$tmp/d.json" <<'PY'
import json, sys
r = {x["command"]: x for f in sys.argv[1:] for x in json.load(open(f))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
for k, v in med.items():
    print(f"{k:12s} median {v:7.2f} ms  (mean {r[k]['mean']*1000:.2f} ± {r[k]['stddev']*1000:.2f})")
print(f"ratio bulwark-oci/runc (podman run --rm)  {med['bulwark-oci']/med['runc']:.2f}")
print(f"ratio bulwark-oci/runc (run, no podman)   {med['bulwark-oci-run']/med['runc-run']:.2f}")
PY
