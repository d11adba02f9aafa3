/* Test-only (tests/kernel/test_xdp.cpp [syncookie]): an ACK's cookie checked as the kernel
 * checks it, with bpf_tcp_raw_check_syncookie_ipv4/6. XDP_PASS when the kernel accepts it,
 * XDP_DROP when not, XDP_ABORTED for a frame this does not read (VLANs, IP options). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int check_cookie(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;
    if ((void*)(eth + 1) > data_end) return XDP_ABORTED;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr* ip = (void*)(eth + 1);
        if ((void*)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
            return XDP_ABORTED;
        struct tcphdr* th = (void*)(ip + 1);
        if ((void*)(th + 1) > data_end) return XDP_ABORTED;
        return bpf_tcp_raw_check_syncookie_ipv4(ip, th) == 0 ? XDP_PASS : XDP_DROP;
    }
    if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr* ip6 = (void*)(eth + 1);
        if ((void*)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP) return XDP_ABORTED;
        struct tcphdr* th = (void*)(ip6 + 1);
        if ((void*)(th + 1) > data_end) return XDP_ABORTED;
        return bpf_tcp_raw_check_syncookie_ipv6(ip6, th) == 0 ? XDP_PASS : XDP_DROP;
    }
    return XDP_ABORTED;
}
