# Shared by bench/flood.sh, bench/sources.sh and bench/ab_syn.sh (sourced, not run): the veth
# pair between the host (198.18.0.1, 2001:2:0:1::1) and a client namespace, the live-frames
# generator, and BPF_PROG_TEST_RUN of an instance on a SYN.
# Needs $build. Replies to spoofed sources (198.18.128.0/17, 2001:2::/96) are routed back into
# the client namespace, which drops them, instead of into ARP/ND for addresses that do not exist.
ns=bwflood
host_if=bwfl0
peer_if=bwfl1
cpu=$(($(nproc) - 1))

env_down() {
    ip link del $host_if 2>/dev/null || true
    ip netns del $ns 2>/dev/null || true
}

env_up() {
    env_down
    ip netns add $ns
    # One queue per CPU, like a NIC with RSS: the flood, sent on $cpu, lands in that CPU's
    # queue (veth picks the receive queue of the sending CPU), and the legitimate client's
    # packets, sent on CPU 0 (XPS), in CPU 0's; each queue's NAPI poll runs where it was
    # scheduled. With one queue, whichever CPU polled first would take the other's packets.
    q=$(nproc)
    ip link add $host_if numtxqueues "$q" numrxqueues "$q" type veth \
        peer name $peer_if numtxqueues "$q" numrxqueues "$q" netns $ns
    ip netns exec $ns sh -c "i=0; while [ \$i -lt $q ]; do
        printf '%x' \$((1 << i)) > /sys/class/net/$peer_if/queues/tx-\$i/xps_cpus; i=\$((i + 1)); done"
    ip addr add 198.18.0.1/24 dev $host_if
    ip addr add 2001:2:0:1::1/64 dev $host_if nodad
    ip link set $host_if up
    # Frames redirected into a veth need NAPI on the receiving end: XDP attached, or GRO on.
    # GRO on for every variant keeps the receive path the same with and without XDP.
    ethtool -K $host_if gro on >/dev/null
    ip -n $ns addr add 198.18.0.2/24 dev $peer_if
    ip -n $ns addr add 198.18.0.3/24 dev $peer_if
    ip -n $ns addr add 2001:2:0:1::2/64 dev $peer_if nodad
    ip -n $ns link set $peer_if up
    ip -n $ns link set lo up
    ip route add 198.18.128.0/17 via 198.18.0.2
    ip -6 route add 2001:2::/96 via 2001:2:0:1::2
    mac=$(cat /sys/class/net/$host_if/address)
}

# gen KIND SOURCES PACKETS [FIRST]: one flood from the client end on $cpu, from SOURCES
# addresses starting FIRST addresses up; prints "packets seconds".
gen() {
    ip netns exec $ns taskset -c $cpu "$build/bench/bench_flood_gen" \
        "$build/bench/xdp_gen.bpf.o" $peer_if "$mac" "$1" "$2" "$3" "${4:-0}" | awk '{ print $2, $4 }'
}

# Frames the host end has received on all queues (XDP or not: veth counts them in its NAPI loop).
rx_packets() { ethtool -S $host_if | awk '/rx_queue_[0-9]+_xdp_packets/ { n += $2 } END { print n }'; }

# syn6_frame FILE: one tracked source's SYN (2001:2::1:0:0 -> [2001:2:0:1::1]:8080), the first
# source of `gen syn6`, as a frame for BPF_PROG_TEST_RUN.
syn6_frame() {
    python3 - "$1" <<'PY'
import ipaddress, struct, sys
eth = bytes(6) + bytes(6) + struct.pack("!H", 0x86DD)
tcp = struct.pack("!HHIIBBHHH", 1024, 8080, 0x12000000, 0, 5 << 4, 0x02, 64240, 0, 0)
ip6 = struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + \
    ipaddress.IPv6Address("2001:2::1:0:0").packed + ipaddress.IPv6Address("2001:2:0:1::1").packed
open(sys.argv[1], "wb").write(eth + ip6 + tcp)
PY
}

# drop_ns NAME FRAME REPEAT: BPF_PROG_TEST_RUN of the program of the instance NAME on FRAME,
# REPEAT times, best of 3: its ns per run; it must drop the frame.
drop_ns() {
    id_=$(bpftool -j link show pinned "/sys/fs/bpf/bulwark/$1/link" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["prog_id"])')
    best_=""
    for _ in 1 2 3; do
        ns_=$(bpftool prog run id "$id_" data_in "$2" repeat "$3" |
            sed -n 's/.*Return value: 1, duration[^:]*: \([0-9]*\)ns.*/\1/p')
        [ -n "$ns_" ] || { echo "BPF_PROG_TEST_RUN of $1 did not drop" >&2; return 1; }
        [ -n "$best_" ] && [ "$best_" -le "$ns_" ] || best_=$ns_
    done
    echo "$best_"
}
