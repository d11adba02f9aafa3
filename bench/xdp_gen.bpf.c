/* The flood benchmark's packet generator: run by BPF_PROG_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES) on a template frame, it gives each copy a fresh source port and,
 * when asked, a fresh source address in 198.18.128.0/17, fixes both checksums and redirects the
 * frame into a veth. Sending then costs a few tens of ns per packet instead of trafgen's ~2 µs,
 * so the receiving side's cost is what the packets/s show. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct gen_config {
    __u32 ifindex;      /* redirect target */
    __u32 many_sources; /* 0: the template's source only */
    __u32 saddr;        /* the template's source, as in the frame */
    __u16 sport;        /* the template's source port, as in the frame */
    __u16 tcp_check;    /* the template's TCP checksum, as in the frame */
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
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct tcphdr *tcp = (void *)(ip + 1);
    if (!cfg || (void *)(tcp + 1) > end)
        return XDP_ABORTED;

    __u32 r = bpf_get_prandom_u32();
    __u16 sport = bpf_htons(1024 + (r & 0x7fff));
    __u32 saddr = cfg->saddr;
    if (cfg->many_sources) /* 198.18.128-255.1-254: 32,512 addresses, as trafgen's drnd() */
        saddr = bpf_htonl(0xc6120000 | (128 + ((r >> 16) & 127)) << 8 | (1 + (r >> 24) % 254));

    /* The live-frames page keeps what the last run wrote, so every varying field is derived
     * from the template's values, not from the frame. */
    ip->saddr = saddr;
    ip->check = 0;
    __u32 sum = 0;
    __u16 *w = (__u16 *)ip;
#pragma unroll
    for (int i = 0; i < 10; i++)
        sum += w[i];
    ip->check = ~fold(sum);

    tcp->source = sport;
    sum = (__u16)~cfg->tcp_check;
    sum += (__u16)~(cfg->saddr & 0xffff) + (__u16)~(cfg->saddr >> 16);
    sum += (saddr & 0xffff) + (saddr >> 16);
    sum += (__u16)~cfg->sport + sport;
    tcp->check = ~fold(sum);
    return bpf_redirect(cfg->ifindex, 0);
}
