#!/bin/sh
# The guard under a real flood, side by side with netfilter and nginx: a veth pair between the
# host (server side: 198.18.0.1, busybox httpd in a bulwark sandbox with --net host) and a
# client namespace the script creates and removes. The flood comes from the client end of the
# veth; the receive path runs in the same CPU's softirq, so with that CPU saturated the packets/s
# is 1 / (cost of sending + cost of receiving) and a protection's marginal cost is its ns per
# packet minus the floor's.
#
# Generator (GEN): "xdp" (default), bench_flood_gen: BPF_PROG_RUN live frames redirected into
# the veth, ~40 ns per packet to send; "trafgen": netsniff-ng's AF_PACKET TX ring, ~2 µs per
# packet on this VM, which hides most of the receive side. The host end has GRO on so that veth
# receives through NAPI for every variant, XDP or not (redirected frames need it).
#
# The same per-source policy, 100 new connections or requests per second with a burst of 200,
# is enforced in turn by: nothing; an XDP program dropping the flood's sources outright (the
# floor); bulwark's XDP guard; nftables meters in the netdev ingress hook and in prerouting;
# iptables hashlimit in the raw table; nginx limit_req in front of the server. Variants alternate
# within each round so drift hits all alike; each cell is the median of the rounds.
#
# Traffic: SYNs and HTTP GET segments (no handshake: each is a request to the guards that parse
# HTTP), from one source (198.18.128.1) and from 30,000 (198.18.128.1 up, in turn); "idle": no
# flood, the legitimate client alone (its connect times unloaded).
#
# SYN cookies (issue 19): "nft-synproxy" answers SYNs with netfilter SYNPROXY (SYNs untracked
# in raw prerouting, SYNPROXY in input, as its documentation sets it up); "bulwark-cookies" is
# bulwark's guard with "syn_flood": {"cookies": "always"} (SYN-ACK cookies from XDP, SYNPROXY
# rules for the ACKs loaded by attach); "none" under a spoofed SYN flood is the kernel's own
# SYN cookie path (the listener's queue overflows at once). Each flood also reports the
# listener's TcpExtListenOverflows and ListenDrops (nstat deltas).
#
# A legitimate client (curl from 198.18.0.3, on the other CPU) makes LEGIT requests; the flood
# runs in chunks of PACKETS for as long as the client is busy (at most 30 chunks), so every
# request meets the flood. Bounded: 30 x PACKETS per flood; nothing leaves the veth pair.
# usage: bench/flood.sh [BUILD_DIR] [PACKETS] [ROUNDS]   env: GEN TRAFFIC VARIANTS LEGIT KEEP
set -eu
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
packets=${2:-1000000}
rounds=${3:-3}
gen=${GEN:-xdp}
legit_n=${LEGIT:-40}
tmp=""
. bench/veth-env.sh

stop_server() {
    [ -n "${httpd:-}" ] || return 0
    kill -TERM "$httpd" 2>/dev/null || true
    wait "$httpd" 2>/dev/null || true
    httpd=""
}
cleanup() {
    stop_server
    [ -n "${upstream:-}" ] && kill -TERM "$upstream" 2>/dev/null && wait "$upstream" 2>/dev/null
    [ -n "${nginx:-}" ] && kill -TERM "$nginx" 2>/dev/null && wait "$nginx" 2>/dev/null
    "$build/bulwark" xdp detach --name flood >/dev/null 2>&1 || true
    nft delete table netdev bwflood 2>/dev/null || true
    nft delete table inet bwflood 2>/dev/null || true
    nft delete table inet bwsynproxy 2>/dev/null || true
    [ -z "${loose:-}" ] || echo "$loose" > /proc/sys/net/netfilter/nf_conntrack_tcp_loose
    iptables -t raw -D PREROUTING -i $host_if -p tcp -j BWFLOOD 2>/dev/null || true
    iptables -t raw -F BWFLOOD 2>/dev/null || true
    iptables -t raw -X BWFLOOD 2>/dev/null || true
    env_down
    [ -z "$tmp" ] || [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup 2>/dev/null || true
tmp=$(mktemp -d)

env_up
# SYN-ACKs that bulwark's cookies send back reach the client's end by redirect, through NAPI:
# GRO on there for every variant, so the receive path of the answers is the same for all.
ip netns exec $ns ethtool -K $peer_if gro on >/dev/null
loose=$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_loose)

mkdir -p "$tmp/www"
echo ok > "$tmp/www/index.html"
# serve NAME ADDR:PORT: busybox httpd in a bulwark sandbox sharing the host's network.
serve() {
    "$build/bulwark" run --name "$1" --rootfs "$build/tests/rootfs" --net host \
        --bind "$tmp/www:/www" -- /bin/httpd -f -p "$2" -h /www 2>/dev/null &
}
wait_http() {
    i=0
    until ip netns exec $ns curl -s -o /dev/null -m 1 "$1"; do
        i=$((i + 1)); [ $i -lt 50 ] || { echo "flood: nothing answers $1" >&2; exit 1; }
        sleep 0.1
    done
}
start_server() { serve floodsrv 198.18.0.1:8080; httpd=$!; wait_http http://198.18.0.1:8080/; }
start_server

cat > "$tmp/policy.json" <<'JSON'
{ "inspect_ports": [8080], "max_sources": 1000000,
  "limits": { "default": { "connections": {"rate": "100/second", "burst": 200},
                           "requests": {"rate": "100/second", "burst": 200} } },
  "events": { "per_source_per_second": 1 } }
JSON
cat > "$tmp/cookies.json" <<'JSON'
{ "inspect_ports": [8080], "max_sources": 1000000,
  "limits": { "default": { "connections": {"rate": "100/second", "burst": 200},
                           "requests": {"rate": "100/second", "burst": 200} } },
  "events": { "per_source_per_second": 1 },
  "syn_flood": { "cookies": "always" } }
JSON
cat > "$tmp/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.log;
events { worker_connections 4096; }
http {
    access_log off;
    # 64 bytes per IPv4 state: 64 MB holds about a million sources.
    limit_req_zone \$binary_remote_addr zone=per_source:64m rate=100r/s;
    server {
        listen 198.18.0.1:8080 backlog=4096;
        location / {
            limit_req zone=per_source burst=200 nodelay;
            proxy_pass http://127.0.0.1:8081;
        }
    }
}
NGINX
# trafgen's versions of the traffic (GEN=trafgen); the many-source ones draw from 198.18.128.0/17.
src1="sa=198.18.128.1"
srcN="sa=198.18.128.1, sa[2]=drnd(128, 255), sa[3]=drnd(1, 254)"
for t in syn1 synN get1 getN; do
    case $t in *1) src=$src1 ;; *) src=$srcN ;; esac
    case $t in
    syn*) l4="tcp(sp=drnd(), dp=8080, syn, seq=drnd())" ;;
    *) l4='tcp(sp=drnd(), dp=8080, ack, psh, seq=drnd()), "GET / HTTP/1.1\r\nHost: bulwark-flood\r\n\r\n"' ;;
    esac
    echo "{ eth(da=$mac), ipv4($src, da=198.18.0.1, ttl=64), $l4 }" > "$tmp/$t.cfg"
done

apply() {
    case $1 in
    none) ;;
    floor) ip link set dev $host_if xdpdrv obj "$build/bench/xdp_floor.bpf.o" sec xdp ;;
    bulwark) "$build/bulwark" xdp attach --iface $host_if --policy "$tmp/policy.json" \
                 --name flood --mode native >/dev/null ;;
    bulwark-cookies) "$build/bulwark" xdp attach --iface $host_if --policy "$tmp/cookies.json" \
                 --name flood --mode native >/dev/null ;;
    nft-synproxy)
        echo 0 > /proc/sys/net/netfilter/nf_conntrack_tcp_loose
        nft -f - <<NFT
table inet bwsynproxy {
    chain raw { type filter hook prerouting priority raw;
        iifname "$host_if" tcp dport 8080 tcp flags syn notrack
    }
    chain in { type filter hook input priority filter;
        iifname "$host_if" tcp dport 8080 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
        iifname "$host_if" tcp dport 8080 ct state invalid drop
    }
}
NFT
    ;;
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
        # Offsets from the IP header: the payload of a 20-byte IP and a 20-byte TCP header.
        iptables -t raw -A BWFLOOD -p tcp --dport 8080 -m string --algo bm --from 40 --to 44 \
            --string "GET " -m hashlimit --hashlimit-above 100/sec --hashlimit-burst 200 \
            --hashlimit-mode srcip --hashlimit-name bwget --hashlimit-htable-size 65536 \
            --hashlimit-htable-max 1000000 -j DROP
        iptables -t raw -A PREROUTING -i $host_if -p tcp -j BWFLOOD ;;
    nginx)
        # nginx takes the server's address; the sandboxed httpd moves behind it.
        stop_server
        serve floodup 127.0.0.1:8081; upstream=$!
        nginx -c "$tmp/nginx.conf" & nginx=$!
        wait_http http://198.18.0.1:8080/ ;;
    esac
}
remove() {
    case $1 in
    floor) ip link set dev $host_if xdpdrv off ;;
    bulwark | bulwark-cookies) "$build/bulwark" xdp detach --name flood >/dev/null ;;
    nft-synproxy)
        nft delete table inet bwsynproxy
        echo "$loose" > /proc/sys/net/netfilter/nf_conntrack_tcp_loose ;;
    nft-ingress) nft delete table netdev bwflood ;;
    nft-prerouting) nft delete table inet bwflood ;;
    iptables-raw)
        iptables -t raw -D PREROUTING -i $host_if -p tcp -j BWFLOOD
        iptables -t raw -F BWFLOOD
        iptables -t raw -X BWFLOOD ;;
    nginx)
        kill -TERM "$nginx" "$upstream"; wait "$nginx" "$upstream" 2>/dev/null || true
        nginx=""; upstream=""
        start_server ;;
    esac
    # Let the server's half-open connections and the spoofed sources' state expire a little.
    sleep 1
}

# One chunk of flood from the client end, on $cpu. Prints "packets seconds".
chunk() {
    if [ "$gen" = trafgen ]; then
        ip netns exec $ns taskset -c $cpu trafgen -o $peer_if --conf "$tmp/$1.cfg" -n "$packets" \
            -P 1 -q 2>/dev/null | tr -d '\r' |
            awk '/packets outgoing/ { n = $1 } /usec on CPU/ { s = $1 + $3 / 1e6 } END { print n, s }'
    else
        case $1 in syn*) k=syn ;; get*) k=get ;; esac
        case $1 in *1) n=1 ;; *N) n=30000 ;; esac
        gen $k $n "$packets"
    fi
}

# The listener's TcpExt counter NAME (this namespace).
tcpext() { nstat -az "TcpExt$1" | awk -v k="TcpExt$1" '$1 == k { print $2 }'; }

# One flood while the legitimate client makes its requests on another CPU. Prints
# "sent delivered seconds ok total p50_ms p99_ms overflows drops".
flood() {
    : > "$tmp/legit"
    ip netns exec $ns taskset -c 0 sh -c '
        n=0; while [ $n -lt '"$legit_n"' ]; do
            curl -s -o /dev/null -m 1 --interface 198.18.0.3 -w "%{http_code} %{time_total}\n" \
                http://198.18.0.1:8080/ || true
            n=$((n + 1)); done' > "$tmp/legit" &
    legit=$!
    before=$(rx_packets)
    over0=$(tcpext ListenOverflows); drop0=$(tcpext ListenDrops)
    : > "$tmp/chunks"
    c=0
    while [ "$1" != idle ] && [ $c -lt 30 ]; do
        chunk "$1" >> "$tmp/chunks"
        c=$((c + 1))
        kill -0 $legit 2>/dev/null || break
    done
    wait $legit
    after=$(rx_packets)
    [ "$1" != idle ] || echo "0 0" > "$tmp/chunks"
    python3 - "$tmp/legit" "$tmp/chunks" "$((after - before))" "$gen" \
        "$(($(tcpext ListenOverflows) - over0))" "$(($(tcpext ListenDrops) - drop0))" <<'PY'
import sys
chunks = [l.split() for l in open(sys.argv[2]) if l.strip()]
if not chunks or any(len(c) != 2 for c in chunks):
    sys.exit(f"flood: the generator said {chunks!r}")
sent = sum(int(c[0]) for c in chunks)
secs = sum(float(c[1]) for c in chunks)
# trafgen's frames that the host end's ring refused count as sent, not delivered.
delivered = int(sys.argv[3]) if sys.argv[4] == "xdp" else sent
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = sorted(float(r[1]) * 1000 for r in rows if r[0] == "200")
pct = lambda q: ok[min(len(ok) - 1, int(q * len(ok)))] if ok else float("nan")
print(f"{sent} {delivered} {secs:.6f} {len(ok)} {len(rows)} {pct(0.5):.2f} {pct(0.99):.2f} {sys.argv[5]} {sys.argv[6]}")
PY
}

variants=${VARIANTS:-none floor bulwark bulwark-cookies nft-synproxy nft-ingress nft-prerouting iptables-raw nginx}
echo "round traffic variant sent delivered seconds legit_ok legit_total p50_ms p99_ms overflows drops" > "$tmp/raw"
r=1
while [ $r -le "$rounds" ]; do
    for traffic in ${TRAFFIC:-idle syn1 synN get1 getN}; do
        for v in $variants; do
            apply $v
            echo "$r $traffic $v $(flood $traffic)" >> "$tmp/raw"
            remove $v
        done
    done
    r=$((r + 1))
done
[ -z "${KEEP:-}" ] || echo "raw results: $tmp/raw"
python3 - "$tmp/raw" "$packets" "$gen" <<'PY'
import statistics, sys
from collections import defaultdict
rows = [l.split() for l in open(sys.argv[1])][1:]
for r in rows:
    if len(r) != 12:
        print("flood: a run gave no result:", " ".join(r))
rows = [r for r in rows if len(r) == 12]
cell = defaultdict(list)
for r in rows:
    cell[(r[1], r[2])].append(r)
print(f"generator {sys.argv[3]}, chunks of {sys.argv[2]} packets, rounds {len(set(r[0] for r in rows))}; medians")
print(f"{'traffic':8s} {'variant':15s} {'pps':>9s} {'ns/pkt':>7s} {'marginal':>8s} {'lost':>6s} {'legit ok':>9s} {'p50 ms':>7s} {'p99 ms':>7s} {'overflows':>9s} {'drops':>7s}")
pps_of = lambda r: int(r[4]) / float(r[5])
variants = ("none", "floor", "bulwark", "bulwark-cookies", "nft-synproxy", "nft-ingress",
            "nft-prerouting", "iptables-raw", "nginx")
for v in variants:  # the client alone
    rs = cell[("idle", v)]
    if rs:
        ok = sum(int(r[6]) for r in rs) / max(1, sum(int(r[7]) for r in rs)) * 100
        print(f"{'idle':8s} {v:15s} {'':>9s} {'':>7s} {'':>8s} {'':>6s} {ok:8.1f}% "
              f"{statistics.median(float(r[8]) for r in rs):7.2f} "
              f"{statistics.median(float(r[9]) for r in rs):7.2f}")
for traffic in ("syn1", "synN", "get1", "getN"):
    if not cell[(traffic, "floor")]:
        continue
    floor = statistics.median(pps_of(r) for r in cell[(traffic, "floor")])
    for v in variants:
        rs = cell[(traffic, v)]
        if not rs:
            continue
        pps = statistics.median(pps_of(r) for r in rs)
        # delivered also counts the legitimate client's packets: a few more than sent.
        lost = sum(max(0, int(r[3]) - int(r[4])) for r in rs) / max(1, sum(int(r[3]) for r in rs)) * 100
        ok = sum(int(r[6]) for r in rs) / max(1, sum(int(r[7]) for r in rs)) * 100
        p50 = statistics.median(float(r[8]) for r in rs)
        p99 = statistics.median(float(r[9]) for r in rs)
        over = sum(int(r[10]) for r in rs)
        drops = sum(int(r[11]) for r in rs)
        print(f"{traffic:8s} {v:15s} {pps:9.0f} {1e9/pps:7.0f} {1e9/pps - 1e9/floor:8.0f} {lost:5.1f}% {ok:8.1f}% {p50:7.2f} {p99:7.2f} {over:9d} {drops:7d}")
PY
