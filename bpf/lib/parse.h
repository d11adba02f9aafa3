/* Packet parsing for the XDP guard, in the manner of xdp-tools' parsing_helpers.h: small inline
 * parsers moving through the frame, every access proven against data_end. Included by
 * bulwark.bpf.c only. */
#ifndef BULWARK_LIB_PARSE_H
#define BULWARK_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "../bulwark.h"

#define VLAN_MAX 2
#define IPV6_EXT_MAX 6

struct vlan_hdr {
    __be16 tci;
    __be16 proto;
};

/* What the parsers learn about a packet, and what classifying and policing add to it. */
struct pkt {
    struct bw_source_key key; /* the source masked to the key prefix: buckets, event gates */
    __u8 src[16];
    __u8 dst[16];
    __u32 cls;
    __u32 gen;
    __u32 row;     /* the rates row (bw_config.rates) its bucket is held to */
    __u32 detail;  /* inspect()'s: the pattern or rule a drop was for */
    __u8 l4;       /* IPPROTO_* of the transport header, 0 if none (non-first fragment) */
    __u8 fragment; /* a non-first fragment: no transport header */
    __u8 syn_only; /* TCP SYN without ACK */
    __u8 fin_rst;  /* TCP FIN or RST: the connection ends */
    __u32 seq;     /* TCP sequence number, host order */
    __u16 sport;
    __u16 dport;
    __u32 payload_off; /* TCP payload offset from data */
    __u32 payload_len;
    __u32 loaded;        /* payload bytes in the scratch buffer's raw[] (inspect) */
    __u8 pipelined;      /* inspect(): a request may follow the first in the segment */
    __u32 len;           /* frame length */
    __u64 events_tau_ns; /* the policy's event gate tolerance */
    __u32 ban_reasons;   /* drops that are offences towards a ban (1 << reason); 0: no bans */
};

/* A length from a header, bounded where the verifier can see it: the 6.1 verifier keeps no bound
 * through a byte swap, so pointer arithmetic with the swapped value is refused there. */
static __always_inline __u32 be16_len(__be16 v)
{
    __u32 x = bpf_ntohs(v);
    asm volatile("" : "+r"(x));
    return x & 0xffff;
}

/* Transport header at `l4`. Accesses are proven against data_end (the verifier needs the real
 * end); lengths come from the IP datagram's end, which excludes link-layer padding. */
static __always_inline int parse_l4(void *data, void *data_end, void *l4, void *l3_end,
                                    struct pkt *p)
{
    if (p->l4 == IPPROTO_TCP) {
        struct tcphdr *t = l4;
        if ((void *)(t + 1) > data_end || (void *)(t + 1) > l3_end || t->doff < 5)
            return -1;
        void *payload = l4 + t->doff * 4;
        if (payload > l3_end)
            return -1;
        p->syn_only = t->syn && !t->ack;
        p->fin_rst = t->fin || t->rst;
        p->seq = bpf_ntohl(t->seq);
        p->sport = bpf_ntohs(t->source);
        p->dport = bpf_ntohs(t->dest);
        p->payload_off = payload - data;
        p->payload_len = l3_end - payload;
    } else if (p->l4 == IPPROTO_UDP) {
        struct udphdr *u = l4;
        if ((void *)(u + 1) > data_end || (void *)(u + 1) > l3_end)
            return -1;
        p->sport = bpf_ntohs(u->source);
        p->dport = bpf_ntohs(u->dest);
    } else if (p->l4 == IPPROTO_ICMP || p->l4 == IPPROTO_ICMPV6) {
        if (l4 + 4 > l3_end)
            return -1;
    }
    return 0;
}

enum parse_result {
    PARSE_OK,        /* an IP packet to police: *p filled */
    PARSE_PASS,      /* not ours to police: not IP (ARP, LLDP...), or IPv6 neighbour discovery */
    PARSE_MALFORMED, /* truncated or inconsistent headers */
};

/* Ethernet, up to VLAN_MAX VLAN tags, IPv4 or IPv6 (with up to IPV6_EXT_MAX extension headers),
 * then the transport header of a first fragment. */
static __always_inline enum parse_result parse_packet(void *data, void *data_end, struct pkt *p)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return PARSE_MALFORMED;
    __u16 proto = bpf_ntohs(eth->h_proto);
    void *cur = eth + 1;
#pragma unroll
    for (int i = 0; i < VLAN_MAX; i++) {
        if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
            break;
        struct vlan_hdr *v = cur;
        if ((void *)(v + 1) > data_end)
            return PARSE_MALFORMED;
        proto = bpf_ntohs(v->proto);
        cur = v + 1;
    }
    /* Neither IP nor something to police (ARP, LLDP...): the host keeps its link. */
    if (proto != ETH_P_IP && proto != ETH_P_IPV6)
        return PARSE_PASS;

    void *l3_end;
    void *l4;
    if (proto == ETH_P_IP) {
        struct iphdr *ip = cur;
        if ((void *)(ip + 1) > data_end || ip->ihl < 5 || ip->version != 4)
            return PARSE_MALFORMED;
        __u32 tot = be16_len(ip->tot_len);
        l4 = cur + ip->ihl * 4;
        l3_end = cur + tot;
        if (l4 > data_end || tot < ip->ihl * 4 || l3_end > data_end)
            return PARSE_MALFORMED;
        p->key.family = 4;
        __builtin_memcpy(p->src, &ip->saddr, 4);
        __builtin_memcpy(p->dst, &ip->daddr, 4);
        p->l4 = ip->protocol;
        if (bpf_ntohs(ip->frag_off) & 0x1fff)
            p->fragment = 1;
    } else {
        struct ipv6hdr *ip6 = cur;
        if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
            return PARSE_MALFORMED;
        l3_end = (void *)(ip6 + 1) + be16_len(ip6->payload_len);
        if (l3_end > data_end)
            return PARSE_MALFORMED;
        p->key.family = 6;
        __builtin_memcpy(p->src, &ip6->saddr, 16);
        __builtin_memcpy(p->dst, &ip6->daddr, 16);
        __u8 next = ip6->nexthdr;
        l4 = ip6 + 1;
#pragma unroll
        for (int i = 0; i < IPV6_EXT_MAX; i++) {
            if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
                __u8 *h = l4;
                if ((void *)(h + 2) > data_end)
                    return PARSE_MALFORMED;
                next = h[0];
                l4 += (h[1] + 1) * 8;
            } else if (next == IPPROTO_FRAGMENT) {
                __u8 *h = l4;
                if ((void *)(h + 8) > data_end)
                    return PARSE_MALFORMED;
                next = h[0];
                if (((h[2] << 8) | h[3]) & 0xfff8)
                    p->fragment = 1;
                l4 += 8;
            } else {
                break;
            }
        }
        if (l4 > l3_end)
            return PARSE_MALFORMED;
        p->l4 = next;
        /* Neighbour discovery always passes: a deny list must never cut the host off its link. */
        if (next == IPPROTO_ICMPV6 && !p->fragment) {
            struct icmp6hdr *ic = l4;
            if ((void *)(ic + 1) > data_end)
                return PARSE_MALFORMED;
            if (ic->icmp6_type >= 133 && ic->icmp6_type <= 137)
                return PARSE_PASS;
        }
    }
    if (p->fragment) {
        p->l4 = 0; /* no transport header to read */
        return PARSE_OK;
    }
    return parse_l4(data, data_end, l4, l3_end, p) < 0 ? PARSE_MALFORMED : PARSE_OK;
}

#endif
