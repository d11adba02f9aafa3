#!/bin/sh
# Start-up of a guarded service and of a plain sandbox against crun, in one run each.
# 1. `bulwark run --net veth --policy policies/web.json -- /bin/true`: veth pair by netlink,
#    XDP program loaded and verified, maps sized from the policy (web.json: 1,000,000 sources),
#    attached to the sandbox's end, pinned; and everything removed at exit. Also with a policy
#    of 65,536 sources, to show what the LRU preallocation costs.
# 2. `bulwark run --net none -- /bin/true` against `crun run` of an equivalent OCI bundle
#    (bench/crun-bundle.py: read-only root, uid 65534, no capabilities, the same seccomp rules).
#    crun 1.8.1 refuses this machine's hybrid cgroups, so both run inside `unshare -m` with a
#    cgroup2 mount and `--cgroup-manager=disabled` (../shared/anchors.md).
# usage: bench/service.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
root="$build/tests/rootfs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/"max_sources": 1000000/"max_sources": 65536/' policies/web.json > "$tmp/web-64k.json"
veth="--net veth --host-addr 198.18.9.1/30 --addr 198.18.9.2/30"
hyperfine -N --warmup 3 --runs 30 --export-json "$tmp/veth.json" \
    -n "veth+web.json" "$build/bulwark run --name bench $veth --policy policies/web.json --rootfs $root -- /bin/true" \
    -n "veth+web.json, 65536 sources" "$build/bulwark run --name bench $veth --policy $tmp/web-64k.json --rootfs $root -- /bin/true" \
    -n "veth, no policy" "$build/bulwark run --name bench $veth --rootfs $root -- /bin/true" \
    -n "none" "$build/bulwark run --net none --rootfs $root -- /bin/true" >/dev/null
(cd "$tmp" && crun spec)
python3 bench/crun-bundle.py "$tmp/config.json" "$root" profiles/default.json "$tmp/bundle" /bin/true
unshare -m sh -c "umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup &&
    hyperfine -N --warmup 20 --runs 300 --export-json $tmp/crun.json \
    -n crun 'crun --cgroup-manager=disabled --root $tmp/state run --bundle $tmp/bundle bench' \
    -n bulwark '$build/bulwark run --net none --rootfs $root -- /bin/true'" >/dev/null
python3 - "$tmp/veth.json" "$tmp/crun.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    r = {x["command"]: x for x in json.load(open(f))["results"]}
    for k, v in r.items():
        print(f"{k:32s} median {v['median']*1000:8.2f} ms  (mean {v['mean']*1000:.2f} ± {v['stddev']*1000:.2f})")
    if "crun" in r:
        print(f"ratio bulwark/crun (median)      {r['bulwark']['median']/r['crun']['median']:.2f}")
    else:
        ok = r["veth+web.json"]["median"] * 1000
        print(f"target < 50 ms for veth+web.json: {'met' if ok < 50 else 'missed'} ({ok:.1f} ms)")
PY
