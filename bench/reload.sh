#!/bin/sh
# Policy reload latency: `bulwark policy reload` of policies/web.json on an attached guard against
# nftables' atomic replace (`nft -f`) of a table carrying the same CIDR lists, in one hyperfine
# run. The guard sits on a veth the script creates and removes (generic XDP: no
# traffic is involved, only the swap). An older bulwark binary can be given to compare with.
# usage: bench/reload.sh [BUILD_DIR] [OLD_BULWARK]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
old=${2:-}
dev=bwreload0
tmp=$(mktemp -d)
. bench/guard-veth.sh
cleanup() {
    guard_down "$dev" bench-reload "$build/bulwark" bench_reload
    [ -z "$old" ] || guard_down "${dev}old" bench-reload-old "$old" bench_reload
    rm -rf "$tmp"
}
trap cleanup EXIT
guard_up "$dev" bench-reload "$build/bulwark"
nft_lists bench_reload "$dev" >"$tmp/web.nft"
set -- -n "bulwark policy reload" "$build/bulwark policy reload --name bench-reload policies/web.json"
if [ -n "$old" ]; then
    guard_up "${dev}old" bench-reload-old "$old"
    set -- "$@" -n "old bulwark policy reload" "$old policy reload --name bench-reload-old policies/web.json"
fi
hyperfine -N --warmup 5 --runs 100 --export-json "$tmp/r.json" "$@" \
    -n "nft -f (same lists, atomic)" "nft -f $tmp/web.nft" >/dev/null
python3 - "$tmp/r.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for k, v in r.items():
    print(f"{k:32s} median {v:7.2f} ms")
nft = r["nft -f (same lists, atomic)"]
for k, v in r.items():
    if k != "nft -f (same lists, atomic)":
        print(f"ratio {k} / nft -f  {v / nft:.2f}")
PY
