#!/bin/sh
# The guard under a real flood, side by side with netfilter: a veth pair between the host
# (server side: 198.18.0.1, busybox httpd in a bulwark sandbox with --net host) and a client
# namespace the script creates and removes. trafgen (AF_PACKET TX ring, pinned to one CPU)
# floods from the client side; the receive path runs on the same CPU (veth hands packets to its
# peer in the sender's softirq), so packets/s is 1 / (cost of sending + cost of receiving).
# The same per-source policy, 100 new connections or requests per second with a burst of 200,
# is enforced in turn by: nothing; an XDP program dropping the flood's sources outright (the
# floor); bulwark's XDP guard; nftables meters in the netdev ingress hook and in prerouting;
# iptables hashlimit in the raw table. Variants alternate within each round so drift hits all
# alike; each cell is the median of the rounds. A legitimate client (curl from 198.18.0.3)
# makes requests during every flood: its success rate and latency are reported.
# Bounded: PACKETS per flood (default 1,000,000), ROUNDS rounds (default 3); nothing leaves
# the veth pair. usage: bench/flood.sh [BUILD_DIR] [PACKETS] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
packets=${2:-1000000}
rounds=${3:-3}
ns=bwflood
host_if=bwfl0
peer_if=bwfl1
tmp=$(mktemp -d)
cpu=$(($(nproc) - 1))

cleanup() {
    [ -n "${httpd:-}" ] && kill -TERM "$httpd" 2>/dev/null && wait "$httpd" 2>/dev/null
    "$build/bulwark" xdp detach --name flood >/dev/null 2>&1 || true
    nft delete table netdev bwflood 2>/dev/null || true
    nft delete table inet bwflood 2>/dev/null || true
    iptables -t raw -D PREROUTING -i $host_if -p tcp -j BWFLOOD 2>/dev/null || true
    iptables -t raw -F BWFLOOD 2>/dev/null || true
    iptables -t raw -X BWFLOOD 2>/dev/null || true
    ip link del $host_if 2>/dev/null || true
    ip netns del $ns 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
cleanup 2>/dev/null || true
tmp=$(mktemp -d)

ip netns add $ns
ip link add $host_if type veth peer name $peer_if netns $ns
ip addr add 198.18.0.1/24 dev $host_if
ip link set $host_if up
ip -n $ns addr add 198.18.0.2/24 dev $peer_if
ip -n $ns addr add 198.18.0.3/24 dev $peer_if
ip -n $ns link set $peer_if up
ip -n $ns link set lo up
# Replies to the spoofed sources go back into the client namespace (which drops them) instead
# of into ARP for 32k addresses that do not exist.
ip route add 198.18.128.0/17 via 198.18.0.2
mac=$(cat /sys/class/net/$host_if/address)

mkdir -p "$tmp/www"
echo ok > "$tmp/www/index.html"
"$build/bulwark" run --name floodsrv --rootfs "$build/tests/rootfs" --net host \
    --bind "$tmp/www:/www" -- /bin/httpd -f -p 198.18.0.1:8080 -h /www 2>/dev/null &
httpd=$!
i=0
until ip netns exec $ns curl -s -o /dev/null -m 1 http://198.18.0.1:8080/; do
    i=$((i + 1)); [ $i -lt 50 ] || { echo "flood: httpd did not start" >&2; exit 1; }
    sleep 0.1
done

cat > "$tmp/policy.json" <<'JSON'
{ "inspect_ports": [8080], "max_sources": 1000000,
  "limits": { "default": { "connections": {"rate": "100/second", "burst": 200},
                           "requests": {"rate": "100/second", "burst": 200} } },
  "events": { "per_source_per_second": 1 } }
JSON
# Traffic: SYNs from one source, SYNs from 32,640 sources (198.18.128.0/17), and HTTP GET
# segments (no handshake: each is counted as a request by the guards that parse HTTP).
cat > "$tmp/syn1.cfg" <<CFG
{ eth(da=$mac), ipv4(sa=198.18.128.1, da=198.18.0.1, ttl=64), tcp(sp=drnd(), dp=8080, syn, seq=drnd()) }
CFG
cat > "$tmp/synN.cfg" <<CFG
{ eth(da=$mac), ipv4(sa=198.18.128.1, sa[2]=drnd(128, 255), sa[3]=drnd(1, 254), da=198.18.0.1, ttl=64), tcp(sp=drnd(), dp=8080, syn, seq=drnd()) }
CFG
cat > "$tmp/getN.cfg" <<CFG
{ eth(da=$mac), ipv4(sa=198.18.128.1, sa[2]=drnd(128, 255), sa[3]=drnd(1, 254), da=198.18.0.1, ttl=64), tcp(sp=drnd(), dp=8080, ack, psh, seq=drnd()), "GET / HTTP/1.1\r\nHost: 198.18.0.1\r\n\r\n" }
CFG

apply() {
    case $1 in
    none) ;;
    floor) ip link set dev $host_if xdpdrv obj "$build/bench/xdp_floor.bpf.o" sec xdp ;;
    bulwark) "$build/bulwark" xdp attach --iface $host_if --policy "$tmp/policy.json" \
                 --name flood --mode native >/dev/null ;;
    nft-ingress) nft -f - <<NFT
table netdev bwflood {
    chain in { type filter hook ingress device $host_if priority 0;
        ip protocol tcp tcp flags & (syn | ack) == syn meter syn4 size 65535 { ip saddr limit rate over 100/second burst 200 packets } drop
        ip protocol tcp tcp dport 8080 @th,160,32 0x47455420 meter get4 size 65535 { ip saddr limit rate over 100/second burst 200 packets } drop
    }
}
NFT
    ;;
    nft-prerouting) nft -f - <<NFT
table inet bwflood {
    chain pre { type filter hook prerouting priority -300;
        iifname "$host_if" tcp flags & (syn | ack) == syn meter syn4 size 65535 { ip saddr limit rate over 100/second burst 200 packets } drop
        iifname "$host_if" tcp dport 8080 @th,160,32 0x47455420 meter get4 size 65535 { ip saddr limit rate over 100/second burst 200 packets } drop
    }
}
NFT
    ;;
    iptables-raw)
        iptables -t raw -N BWFLOOD
        iptables -t raw -A BWFLOOD -p tcp --syn -m hashlimit --hashlimit-above 100/sec \
            --hashlimit-burst 200 --hashlimit-mode srcip --hashlimit-name bwsyn \
            --hashlimit-htable-size 65536 --hashlimit-htable-max 1000000 -j DROP
        iptables -t raw -A BWFLOOD -p tcp --dport 8080 -m string --algo bm --from 52 --to 56 \
            --string "GET " -m hashlimit --hashlimit-above 100/sec --hashlimit-burst 200 \
            --hashlimit-mode srcip --hashlimit-name bwget --hashlimit-htable-size 65536 \
            --hashlimit-htable-max 1000000 -j DROP
        iptables -t raw -A PREROUTING -i $host_if -p tcp -j BWFLOOD ;;
    esac
}
remove() {
    case $1 in
    floor) ip link set dev $host_if xdpdrv off ;;
    bulwark) "$build/bulwark" xdp detach --name flood >/dev/null ;;
    nft-ingress) nft delete table netdev bwflood ;;
    nft-prerouting) nft delete table inet bwflood ;;
    iptables-raw)
        iptables -t raw -D PREROUTING -i $host_if -p tcp -j BWFLOOD
        iptables -t raw -F BWFLOOD
        iptables -t raw -X BWFLOOD ;;
    esac
    # Let the server's half-open connections and the spoofed sources' state expire a little.
    sleep 1
}

# One flood: trafgen pinned to $cpu; meanwhile 40 requests of the legitimate client on another
# CPU. Prints "pps ok total p50_ms p99_ms".
flood() {
    ip netns exec $ns taskset -c 0 sh -c '
        n=0; while [ $n -lt 40 ]; do
            curl -s -o /dev/null -m 1 --interface 198.18.0.3 -w "%{http_code} %{time_total}\n" \
                http://198.18.0.1:8080/ || echo "000 1"
            n=$((n + 1)); done' > "$tmp/legit" &
    legit=$!
    out=$(ip netns exec $ns taskset -c $cpu trafgen -o $peer_if --conf "$1" -n "$packets" -P 1 -q 2>/dev/null)
    wait $legit
    python3 - "$tmp/legit" "$out" <<'PY'
import re, sys
sent = re.search(r"(\d+) packets outgoing", sys.argv[2])
t = re.search(r"(\d+) sec, (\d+) usec on CPU", sys.argv[2])
if not sent or not t:
    sys.exit(f"trafgen said: {sys.argv[2]!r}")
secs = int(t.group(1)) + int(t.group(2)) / 1e6
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = [float(r[1]) * 1000 for r in rows if r[0] == "200"]
ok.sort()
pct = lambda q: ok[min(len(ok) - 1, int(q * len(ok)))] if ok else float("nan")
print(f"{int(sent.group(1)) / secs:.0f} {len(ok)} {len(rows)} {pct(0.5):.2f} {pct(0.99):.2f}")
PY
}

variants=${VARIANTS:-none floor bulwark nft-ingress nft-prerouting iptables-raw}
echo "round traffic variant pps legit_ok legit_total p50_ms p99_ms" > "$tmp/raw"
r=1
while [ $r -le "$rounds" ]; do
    for traffic in ${TRAFFIC:-syn1 synN getN}; do
        for v in $variants; do
            apply $v
            echo "$r $traffic $v $(flood "$tmp/$traffic.cfg")" >> "$tmp/raw"
            remove $v
        done
    done
    r=$((r + 1))
done
python3 - "$tmp/raw" "$packets" <<'PY'
import statistics, sys
from collections import defaultdict
rows = [l.split() for l in open(sys.argv[1])][1:]
bad = [r for r in rows if len(r) != 8]
for r in bad:
    print("flood: a run gave no result:", " ".join(r))
rows = [r for r in rows if len(r) == 8]
cell = defaultdict(list)
for r in rows:
    cell[(r[1], r[2])].append(r)
print(f"packets per flood {sys.argv[2]}, rounds {len(set(r[0] for r in rows))}; medians")
print(f"{'traffic':8s} {'variant':15s} {'pps':>9s} {'ns/pkt':>8s} {'marginal ns':>11s} {'legit ok':>9s} {'p50 ms':>7s} {'p99 ms':>7s}")
for traffic in ("syn1", "synN", "getN"):
    if not cell[(traffic, "floor")]:
        continue
    floor = statistics.median(float(r[3]) for r in cell[(traffic, "floor")])
    for v in ("none", "floor", "bulwark", "nft-ingress", "nft-prerouting", "iptables-raw"):
        rs = cell[(traffic, v)]
        if not rs:
            continue
        pps = statistics.median(float(r[3]) for r in rs)
        ok = sum(int(r[4]) for r in rs) / max(1, sum(int(r[5]) for r in rs)) * 100
        p50 = statistics.median(float(r[6]) for r in rs)
        p99 = statistics.median(float(r[7]) for r in rs)
        print(f"{traffic:8s} {v:15s} {pps:9.0f} {1e9/pps:8.0f} {1e9/pps - 1e9/floor:11.0f} {ok:8.1f}% {p50:7.2f} {p99:7.2f}")
PY
