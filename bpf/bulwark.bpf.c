/* bulwark's XDP guard: per-source rate limits, CIDR classes and verdict counters.
 * Built with clang -target bpf, embedded in the launcher as a libbpf skeleton. UAPI headers
 * only. Order: ARP/ND pass -> parse (malformed: drop) -> CIDR class (deny / trusted /
 * suspicious) -> packet bucket -> connection bucket (SYN without ACK) -> request bucket (TCP
 * payload to an inspected port starting with an HTTP method) -> pass. */
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

#include "bulwark.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, BW_REASON_MAX);
    __type(key, __u32);
    __type(value, struct bw_counter);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_config);
} config SEC(".maps");

/* One byte per TCP port: 1 when its payloads are inspected. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u8);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct bw_lpm_v4);
    __type(value, __u32);
} lists_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct bw_lpm_v6);
    __type(value, __u32);
} lists_v6 SEC(".maps");

/* LRU: a spray of sources evicts the least recently seen instead of exhausting memory. The
 * loader sizes it from the policy's max_sources. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1000000);
    __type(key, struct bw_source_key);
    __type(value, struct bw_source);
} sources SEC(".maps");

/* The pattern DFA (see launcher/automaton.hpp): e[state*256+byte], all in one value. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_table);
} automaton SEC(".maps");

/* Payload bytes copied out of the frame for scanning (too big for the 512-byte stack). */
struct scratch {
    __u8 b[2048];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_meta);
} meta SEC(".maps");

#define VLAN_MAX 2
#define IPV6_EXT_MAX 6
#define CAS_TRIES 4

struct vlan_hdr {
    __be16 tci;
    __be16 proto;
};

struct pkt {
    struct bw_source_key key;
    __u32 cls;
    __u8 l4;        /* IPPROTO_* of the transport header, 0 if none (non-first fragment) */
    __u8 syn_only;  /* TCP SYN without ACK */
    __u16 dport;
    __u32 payload_off; /* TCP payload offset from data */
    __u32 payload_len;
};

static __always_inline int verdict(struct xdp_md *ctx, __u32 reason, struct bw_source *src)
{
    struct bw_counter *c = bpf_map_lookup_elem(&counters, &reason);
    if (c) {
        c->packets++;
        c->bytes += ctx->data_end - ctx->data;
    }
    int pass = reason == BW_PASS || reason == BW_PASS_TRUSTED;
    if (src) {
        if (pass)
            __sync_fetch_and_add(&src->passed, 1);
        else
            __sync_fetch_and_add(&src->dropped, 1);
        src->last_reason = reason;
    }
    return pass ? XDP_PASS : XDP_DROP;
}

/* GCRA with a compare-and-swap, so CPUs updating one source at once never lose a token. */
static __always_inline int conform(__u64 *tat, const struct bw_rate *r, __u64 now)
{
    if (r->interval_ns == 0)
        return 1;
    for (int i = 0; i < CAS_TRIES; i++) {
        __u64 old = *(volatile __u64 *)tat, next;
        if (!bw_gcra(old, now, r, &next))
            return 0;
        if (__sync_val_compare_and_swap(tat, old, next) == old)
            return 1;
    }
    return 0; /* lost every race: the bucket is being hammered, fail closed */
}

static __always_inline void mask_key(struct bw_source_key *k, const struct bw_config *cfg)
{
    __u32 prefix = k->family == 4 ? cfg->key_prefix_v4 : cfg->key_prefix_v6;
#pragma unroll
    for (int i = 0; i < 16; i++) {
        __u32 bit = i * 8;
        if (bit >= prefix)
            k->addr[i] = 0;
        else if (prefix - bit < 8)
            k->addr[i] &= (__u8)(0xff << (8 - (prefix - bit)));
    }
}

static __always_inline int is_http_request(struct xdp_md *ctx, const struct pkt *p)
{
    char b[8] = {};
    if (p->payload_len < 4 || bpf_xdp_load_bytes(ctx, p->payload_off, b, p->payload_len < 8 ? 4 : 8))
        return 0;
    if (b[0] == 'G' && b[1] == 'E' && b[2] == 'T' && b[3] == ' ')
        return 1;
    if (b[0] == 'P' && b[1] == 'U' && b[2] == 'T' && b[3] == ' ')
        return 1;
    if (p->payload_len < 8)
        return 0;
    if (b[0] == 'P' && b[1] == 'O' && b[2] == 'S' && b[3] == 'T' && b[4] == ' ')
        return 1;
    if (b[0] == 'H' && b[1] == 'E' && b[2] == 'A' && b[3] == 'D' && b[4] == ' ')
        return 1;
    if (b[0] == 'P' && b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' && b[5] == ' ')
        return 1;
    if (b[0] == 'D' && b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' && b[5] == 'E' && b[6] == ' ')
        return 1;
    if (b[0] == 'O' && b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' && b[5] == 'N' && b[6] == 'S')
        return 1;
    if (b[0] == 'C' && b[1] == 'O' && b[2] == 'N' && b[3] == 'N' && b[4] == 'E' && b[5] == 'C' && b[6] == 'T')
        return 1;
    if (b[0] == 'T' && b[1] == 'R' && b[2] == 'A' && b[3] == 'C' && b[4] == 'E' && b[5] == ' ')
        return 1;
    return 0;
}

/* One DFA step per byte over the first scan_bytes of payload; returns the matched pattern. */
static __always_inline __u32 scan_payload(struct xdp_md *ctx, const struct pkt *p, __u32 scan_bytes)
{
    __u32 zero = 0;
    struct scratch *buf = bpf_map_lookup_elem(&scratch, &zero);
    struct bw_table *t = bpf_map_lookup_elem(&automaton, &zero);
    if (!buf || !t)
        return 0;
    __u32 len = p->payload_len < scan_bytes ? p->payload_len : scan_bytes;
    if (len == 0 || len > BW_MAX_SCAN_BYTES)
        return 0;
    if (bpf_xdp_load_bytes(ctx, p->payload_off, buf->b, len))
        return 0;
    /* A bounded loop, not bpf_loop: no callback per byte (measured in bench/RESULTS.md). */
    __u32 state = 0;
    for (__u32 i = 0; i < BW_MAX_SCAN_BYTES; i++) {
        if (i >= len)
            break;
        __u32 e = t->e[(state * 256 + buf->b[i]) & (BW_AUTOMATON_MAX_STATES * 256 - 1)];
        if (BW_AC_MATCH(e))
            return BW_AC_MATCH(e);
        state = BW_AC_NEXT(e);
    }
    return 0;
}

/* Transport header at `l4`. Accesses are proven against data_end (the verifier needs the real
 * end); lengths come from the IP datagram's end, which excludes link-layer padding. */
static __always_inline int parse_l4(void *data, void *data_end, void *l4, void *l3_end, struct pkt *p)
{
    if (p->l4 == IPPROTO_TCP) {
        struct tcphdr *t = l4;
        if ((void *)(t + 1) > data_end || (void *)(t + 1) > l3_end || t->doff < 5)
            return -1;
        void *payload = l4 + t->doff * 4;
        if (payload > l3_end)
            return -1;
        p->syn_only = t->syn && !t->ack;
        p->dport = bpf_ntohs(t->dest);
        p->payload_off = payload - data;
        p->payload_len = l3_end - payload;
    } else if (p->l4 == IPPROTO_UDP) {
        if (l4 + sizeof(struct udphdr) > l3_end)
            return -1;
    } else if (p->l4 == IPPROTO_ICMP || p->l4 == IPPROTO_ICMPV6) {
        if (l4 + 4 > l3_end)
            return -1;
    }
    return 0;
}

SEC("xdp")
int bulwark_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 zero = 0;
    struct bw_config *cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg)
        return XDP_DROP; /* never reached once loaded; fail closed */

    struct pkt p = {};
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return verdict(ctx, BW_DROP_MALFORMED, 0);
    __u16 proto = bpf_ntohs(eth->h_proto);
    void *cur = eth + 1;
#pragma unroll
    for (int i = 0; i < VLAN_MAX; i++) {
        if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
            break;
        struct vlan_hdr *v = cur;
        if ((void *)(v + 1) > data_end)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        proto = bpf_ntohs(v->proto);
        cur = v + 1;
    }
    /* Neither IP nor something to police (ARP, LLDP...): the host keeps its link. */
    if (proto != ETH_P_IP && proto != ETH_P_IPV6)
        return verdict(ctx, BW_PASS, 0);

    void *l3_end;
    void *l4;
    int first_fragment = 1;
    if (proto == ETH_P_IP) {
        struct iphdr *ip = cur;
        if ((void *)(ip + 1) > data_end || ip->ihl < 5 || ip->version != 4)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        __u16 tot = bpf_ntohs(ip->tot_len);
        l4 = cur + ip->ihl * 4;
        l3_end = cur + tot;
        if (l4 > data_end || tot < ip->ihl * 4 || l3_end > data_end)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        p.key.family = 4;
        __builtin_memcpy(p.key.addr, &ip->saddr, 4);
        p.l4 = ip->protocol;
        if (bpf_ntohs(ip->frag_off) & 0x1fff)
            first_fragment = 0;
    } else {
        struct ipv6hdr *ip6 = cur;
        if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        l3_end = (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len);
        if (l3_end > data_end)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        p.key.family = 6;
        __builtin_memcpy(p.key.addr, &ip6->saddr, 16);
        __u8 next = ip6->nexthdr;
        l4 = ip6 + 1;
#pragma unroll
        for (int i = 0; i < IPV6_EXT_MAX; i++) {
            if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
                __u8 *h = l4;
                if ((void *)(h + 2) > data_end)
                    return verdict(ctx, BW_DROP_MALFORMED, 0);
                next = h[0];
                l4 += (h[1] + 1) * 8;
            } else if (next == IPPROTO_FRAGMENT) {
                __u8 *h = l4;
                if ((void *)(h + 8) > data_end)
                    return verdict(ctx, BW_DROP_MALFORMED, 0);
                next = h[0];
                if (((h[2] << 8) | h[3]) & 0xfff8)
                    first_fragment = 0;
                l4 += 8;
            } else {
                break;
            }
        }
        if (l4 > l3_end)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        p.l4 = next;
        /* Neighbour discovery always passes: a deny list must never cut the host off its link. */
        if (next == IPPROTO_ICMPV6 && first_fragment) {
            struct icmp6hdr *ic = l4;
            if ((void *)(ic + 1) > data_end)
                return verdict(ctx, BW_DROP_MALFORMED, 0);
            if (ic->icmp6_type >= 133 && ic->icmp6_type <= 137)
                return verdict(ctx, BW_PASS, 0);
        }
    }
    if (!first_fragment) {
        if (cfg->drop_fragments)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        p.l4 = 0; /* no transport header to read */
    } else if (parse_l4(data, data_end, l4, l3_end, &p) < 0) {
        return verdict(ctx, BW_DROP_MALFORMED, 0);
    }

    /* CIDR class: one LPM lookup, most specific prefix wins. */
    __u32 *cls;
    if (p.key.family == 4) {
        struct bw_lpm_v4 k = {.prefixlen = 32};
        __builtin_memcpy(k.addr, p.key.addr, 4);
        cls = bpf_map_lookup_elem(&lists_v4, &k);
    } else {
        struct bw_lpm_v6 k = {.prefixlen = 128};
        __builtin_memcpy(k.addr, p.key.addr, 16);
        cls = bpf_map_lookup_elem(&lists_v6, &k);
    }
    p.cls = cls ? *cls : BW_CLASS_DEFAULT;
    if (p.cls == BW_CLASS_DENY)
        return verdict(ctx, BW_DROP_DENY, 0);
    if (p.cls == BW_CLASS_TRUSTED)
        return verdict(ctx, BW_PASS_TRUSTED, 0);
    __u32 rc = p.cls == BW_CLASS_SUSPICIOUS ? BW_CLASS_SUSPICIOUS : BW_CLASS_DEFAULT;

    mask_key(&p.key, cfg);
    struct bw_source *src = bpf_map_lookup_elem(&sources, &p.key);
    if (!src) {
        struct bw_source fresh = {};
        bpf_map_update_elem(&sources, &p.key, &fresh, BPF_NOEXIST);
        src = bpf_map_lookup_elem(&sources, &p.key);
        if (!src)
            return verdict(ctx, BW_DROP_RATE_PACKETS, 0); /* cannot track: fail closed */
    }
    __u64 now = bpf_ktime_get_ns();
    if (!conform(&src->tat[BW_LIMIT_PACKETS], &cfg->rates[rc][BW_LIMIT_PACKETS], now))
        return verdict(ctx, BW_DROP_RATE_PACKETS, src);
    if (p.l4 == IPPROTO_TCP && p.syn_only &&
        !conform(&src->tat[BW_LIMIT_CONNECTIONS], &cfg->rates[rc][BW_LIMIT_CONNECTIONS], now))
        return verdict(ctx, BW_DROP_RATE_CONNECTIONS, src);
    if (p.l4 == IPPROTO_TCP && p.payload_len) {
        __u32 port = p.dport;
        __u8 *inspected = bpf_map_lookup_elem(&ports, &port);
        if (inspected && *inspected) {
            if (is_http_request(ctx, &p) &&
                !conform(&src->tat[BW_LIMIT_REQUESTS], &cfg->rates[rc][BW_LIMIT_REQUESTS], now))
                return verdict(ctx, BW_DROP_RATE_REQUESTS, src);
            if (cfg->scan_bytes && scan_payload(ctx, &p, cfg->scan_bytes))
                return verdict(ctx, BW_DROP_PATTERN, src);
        }
    }
    return verdict(ctx, BW_PASS, src);
}
