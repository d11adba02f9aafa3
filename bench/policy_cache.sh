#!/bin/sh
# The cache of compiled pattern tables: `check policy`, `policy test` and `policy reload` of
# policies/web.json with an empty cache (each run compiles) and with the tables in it, in one
# hyperfine run, with nftables' atomic replace of a table (`nft -f`, bench/guard-veth.sh) as the
# peer of a reload. The guard sits on a veth the script creates and removes (generic XDP; no
# traffic). The cache is a scratch directory ($BULWARK_CACHE_DIR), never /var/cache/bulwark.
# usage: bench/policy_cache.sh [BUILD_DIR] [RUNS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-5}
dev=bwpcache0
tmp=$(mktemp -d)
export BULWARK_CACHE_DIR="$tmp/cache"
. bench/guard-veth.sh
cleanup() {
    guard_down "$dev" bench-pcache "$build/bulwark" bench_pcache
    rm -rf "$tmp"
}
trap cleanup EXIT
guard_up "$dev" bench-pcache "$build/bulwark"
printf 'GET /?id=1%%20UNION%%20SELECT%%202 HTTP/1.1\r\nHost: a\r\n\r\n' >"$tmp/attack.http"
nft_lists bench_pcache "$dev" >"$tmp/web.nft"
b="$build/bulwark"
empty="rm -rf $tmp/cache/policy"
hyperfine -N --runs "$runs" --export-json "$tmp/r.json" \
    -p "$empty" -n "check policy, cold" "$b check policy policies/web.json" \
    -p true -n "check policy, cached" "$b check policy policies/web.json" \
    -p "$empty" -n "policy test, cold" "$b policy test --policy policies/web.json $tmp/attack.http" \
    -p true -n "policy test, cached" "$b policy test --policy policies/web.json $tmp/attack.http" \
    -p "$empty" -n "policy reload, cold" "$b policy reload --name bench-pcache policies/web.json" \
    -p true -n "policy reload, cached" "$b policy reload --name bench-pcache policies/web.json" \
    -p true -n "nft -f" "nft -f $tmp/web.nft" >/dev/null
python3 - "$tmp/r.json" <<'PY'
import json, sys
r = {x["command"]: (x["median"] * 1000, x["min"] * 1000, x["max"] * 1000)
     for x in json.load(open(sys.argv[1]))["results"]}
for k, (med, lo, hi) in r.items():
    print(f"{k:24s} median {med:8.1f} ms  (min {lo:.1f}, max {hi:.1f})")
for what in ("check policy", "policy test", "policy reload"):
    print(f"ratio {what}: cold / cached {r[what + ', cold'][0] / r[what + ', cached'][0]:.1f}")
print(f"ratio policy reload, cached / nft -f {r['policy reload, cached'][0] / r['nft -f'][0]:.2f}")
PY
