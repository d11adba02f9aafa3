#!/bin/sh
# A/B of the XDP program's cost on one tracked source's SYN (a rate-limit drop, hot caches) for
# two or more bulwark binaries: each attached in turn (generic mode) to a veth pair made here,
# BPF_PROG_TEST_RUN repeat 2,000,000 best of 3, alternated ROUNDS times. No packet leaves the
# program: the test run does not transmit. usage: bench/ab_syn.sh ROUNDS BULWARK...
set -eu
rounds=$1
shift
. "$(dirname "$0")/veth-env.sh"
tmp=$(mktemp -d)
cleanup() {
    for b in "$@"; do "$b" xdp detach --name abbench >/dev/null 2>&1 || true; done
    ip link del bwab0 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip link add bwab0 type veth peer name bwab1
ip link set bwab0 up
ip link set bwab1 up
syn6_frame "$tmp/syn6.bin"
cat > "$tmp/policy.json" <<'JSON'
{ "max_sources": 1048576,
  "limits": { "key_prefix": {"ipv6": 128},
              "default": { "connections": {"rate": "1/minute", "burst": 2} } } }
JSON
r=1
while [ "$r" -le "$rounds" ]; do
    for b in "$@"; do
        "$b" xdp attach --iface bwab0 --policy "$tmp/policy.json" --name abbench --mode skb >/dev/null
        ns=$(drop_ns abbench "$tmp/syn6.bin" 2000000) || exit 1
        echo "$b $ns"
        "$b" xdp detach --name abbench >/dev/null
    done
    r=$((r + 1))
done | tee "$tmp/raw"
python3 - "$tmp/raw" <<'PY'
import statistics, sys
from collections import defaultdict
cells = defaultdict(list)
for line in open(sys.argv[1]):
    b, ns = line.split()
    cells[b].append(int(ns))
first = None
for b, v in cells.items():
    m = statistics.median(v)
    first = first or m
    print(f"{b}: median {m} ns over {len(v)} rounds ({m / first:.2f}x the first)")
PY
