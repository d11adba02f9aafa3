#!/bin/sh
# The cache of compiled pattern tables: `check policy`, `policy test` and `policy reload` of
# policies/web.json with an empty cache (each run compiles) and with the tables in it, in one
# hyperfine run, with nftables' atomic replace of a table (`nft -f`, bench/reload.sh's) as the
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
cleanup() {
    "$build/bulwark" xdp detach --name bench-pcache >/dev/null 2>&1 || true
    nft delete table inet bench_pcache 2>/dev/null || true
    ip link del "$dev" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip link add "$dev" type veth peer name "${dev}p"
ip link set "$dev" up
"$build/bulwark" xdp attach --iface "$dev" --mode skb --policy policies/web.json \
    --name bench-pcache >/dev/null
printf 'GET /?id=1%%20UNION%%20SELECT%%202 HTTP/1.1\r\nHost: a\r\n\r\n' >"$tmp/attack.http"
cat >"$tmp/web.nft" <<NFT
table inet bench_pcache
delete table inet bench_pcache
table inet bench_pcache {
  set deny4 { type ipv4_addr; flags interval; elements = { 198.18.30.0/24, 203.0.113.0/24 } }
  set trusted4 { type ipv4_addr; flags interval; elements = { 198.18.10.0/24 } }
  chain in {
    type filter hook ingress device "$dev" priority -500;
    ip saddr @trusted4 accept
    ip saddr @deny4 drop
  }
}
NFT
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
