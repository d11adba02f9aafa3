/* The flood benchmark's packet generator: run by BPF_PROG_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES) on a template frame, it gives each copy a fresh source port and,
 * when asked, the next of `sources` source addresses in turn (the template's plus 0..sources-1
 * in the last 32 bits: after 2 x sources packets every source has sent two), fixes the checksums and redirects the frame into a veth. Sending then costs a few
 * tens of ns per packet instead of trafgen's ~2 µs, so the receiving side's cost is what the
 * packets/s show. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct gen_config {
    __u32 ifindex; /* redirect target */
    __u32 sources; /* 1: the template's source only */
    __u32 v6;
    __u32 saddr;     /* the template's source (IPv6: its last 32 bits), as in the frame */
    __u16 sport;     /* the template's source port, as in the frame */
    __u16 tcp_check; /* the template's TCP checksum, as in the frame */
    __u32 next;      /* the next source's index; one CPU runs the generator */
    __u32 len;       /* of the template */
    __u8 frame[128]; /* the template */
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gen_config);
} gen_config SEC(".maps");

static __always_inline __u16 fold(__u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)sum;
}

SEC("xdp")
int gen(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    __u32 zero = 0;
    struct gen_config *cfg = bpf_map_lookup_elem(&gen_config, &zero);
    if (!cfg)
        return XDP_ABORTED;

    __u32 r = bpf_get_prandom_u32();
    __u16 sport = bpf_htons(1024 + (r & 0x7fff));
    __u32 saddr = cfg->saddr;
    if (cfg->sources > 1) {
        __u32 i = cfg->next;
        cfg->next = i + 1 >= cfg->sources ? 0 : i + 1;
        saddr = bpf_htonl(bpf_ntohl(saddr) + i);
    }

    /* The live-frames page keeps what was last written to it, by this program or by a receiver
     * that answered in place (XDP_TX, a redirect back: SYN cookies) and sent the page back: the
     * template is copied over it whole, then the varying fields are derived from it. */
    __u32 len = cfg->len;
    if (len < 54 || len > sizeof(cfg->frame))
        return XDP_ABORTED;
    asm volatile("" : "+r"(len)); /* 1..128 in a form the verifier can see */
    len = ((len - 1) & 127) + 1;
    if (bpf_xdp_store_bytes(ctx, 0, cfg->frame, len) < 0)
        return XDP_ABORTED;
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    struct tcphdr *tcp;
    if (cfg->v6) {
        struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
        tcp = (void *)(ip6 + 1);
        if ((void *)(tcp + 1) > end)
            return XDP_ABORTED;
        ip6->saddr.in6_u.u6_addr32[3] = saddr;
    } else {
        struct iphdr *ip = data + sizeof(struct ethhdr);
        tcp = (void *)(ip + 1);
        if ((void *)(tcp + 1) > end)
            return XDP_ABORTED;
        ip->saddr = saddr;
        ip->check = 0;
        __u32 sum = 0;
        __u16 *w = (__u16 *)ip;
#pragma unroll
        for (int i = 0; i < 10; i++)
            sum += w[i];
        ip->check = ~fold(sum);
    }
    tcp->source = sport;
    __u32 sum = (__u16)~cfg->tcp_check;
    sum += (__u16)~(cfg->saddr & 0xffff) + (__u16)~(cfg->saddr >> 16);
    sum += (saddr & 0xffff) + (saddr >> 16);
    sum += (__u16)~cfg->sport + sport;
    tcp->check = ~fold(sum);
    return bpf_redirect(cfg->ifindex, 0);
}
