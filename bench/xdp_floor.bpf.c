/* The flood benchmark's floor: drops every IPv4 packet from 198.18.128.0/17 and every IPv6
 * packet from 2001:2::/32 (the floods' sources) and passes the rest, with nothing else. Whatever bulwark does beyond this is its
 * marginal cost. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int floor_drop(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IPV6))
        return ip6->saddr.in6_u.u6_addr32[0] == bpf_htonl(0x20010002) ? XDP_DROP : XDP_PASS;
    if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if ((bpf_ntohl(ip->saddr) & 0xffff8000) == 0xc6128000) /* 198.18.128.0/17 */
        return XDP_DROP;
    return XDP_PASS;
}
