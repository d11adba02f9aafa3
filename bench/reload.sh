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
cleanup() {
    "$build/bulwark" xdp detach --name bench-reload >/dev/null 2>&1 || true
    [ -z "$old" ] || "$old" xdp detach --name bench-reload-old >/dev/null 2>&1 || true
    nft delete table inet bench_reload 2>/dev/null || true
    ip link del "$dev" 2>/dev/null || true
    ip link del "${dev}old" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip link add "$dev" type veth peer name "${dev}p"
ip link set "$dev" up
"$build/bulwark" xdp attach --iface "$dev" --mode skb --policy policies/web.json \
    --name bench-reload >/dev/null
# The nftables peer: the policy's lists as named interval sets, replaced atomically per run.
cat >"$tmp/web.nft" <<'NFT'
table inet bench_reload
delete table inet bench_reload
table inet bench_reload {
  set deny4 { type ipv4_addr; flags interval; elements = { 198.18.30.0/24, 203.0.113.0/24 } }
  set deny6 { type ipv6_addr; flags interval; elements = { 2001:db8:dead::/48 } }
  set trusted4 { type ipv4_addr; flags interval; elements = { 198.18.10.0/24 } }
  set trusted6 { type ipv6_addr; flags interval; elements = { 2001:db8:10::/48 } }
  chain in {
    type filter hook ingress device "bwreload0" priority -500;
    ip saddr @trusted4 accept
    ip6 saddr @trusted6 accept
    ip saddr @deny4 drop
    ip6 saddr @deny6 drop
    tcp flags syn / syn,ack meter syn4 { ip saddr limit rate 10/second burst 20 packets } accept
  }
}
NFT
set -- -n "bulwark policy reload" "$build/bulwark policy reload --name bench-reload policies/web.json"
if [ -n "$old" ]; then
    ip link add "${dev}old" type veth peer name "${dev}oldp"
    ip link set "${dev}old" up
    "$old" xdp attach --iface "${dev}old" --mode skb --policy policies/web.json \
        --name bench-reload-old >/dev/null
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
