#!/bin/sh
# A/B of the XDP program's cost on one tracked source's SYN (a rate-limit drop, hot caches) for
# two or more bulwark binaries: each attached in turn (generic mode) to a veth pair made here,
# BPF_PROG_TEST_RUN repeat 2,000,000 best of 3, alternated ROUNDS times. No packet leaves the
# program: the test run does not transmit. usage: bench/ab_syn.sh ROUNDS BULWARK...
set -eu
rounds=$1
shift
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
python3 - "$tmp/syn6.bin" <<'PY'
import ipaddress, struct, sys
eth = bytes(6) + bytes(6) + struct.pack("!H", 0x86DD)
tcp = struct.pack("!HHIIBBHHH", 1024, 8080, 0x12000000, 0, 5 << 4, 0x02, 64240, 0, 0)
ip6 = struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + \
    ipaddress.IPv6Address("2001:2::1:0:0").packed + ipaddress.IPv6Address("2001:2:0:1::1").packed
open(sys.argv[1], "wb").write(eth + ip6 + tcp)
PY
cat > "$tmp/policy.json" <<'JSON'
{ "max_sources": 1048576,
  "limits": { "key_prefix": {"ipv6": 128},
              "default": { "connections": {"rate": "1/minute", "burst": 2} } } }
JSON
r=1
while [ "$r" -le "$rounds" ]; do
    for b in "$@"; do
        "$b" xdp attach --iface bwab0 --policy "$tmp/policy.json" --name abbench --mode skb >/dev/null
        id=$(bpftool -j link show pinned /sys/fs/bpf/bulwark/abbench/link |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["prog_id"])')
        best=""
        for _ in 1 2 3; do
            ns_=$(bpftool prog run id "$id" data_in "$tmp/syn6.bin" repeat 2000000 |
                sed -n 's/.*duration[^:]*: \([0-9]*\)ns.*/\1/p')
            [ -n "$best" ] && [ "$best" -le "$ns_" ] || best=$ns_
        done
        echo "$b $best"
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
