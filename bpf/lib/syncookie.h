/* The SYN-ACK the XDP guard answers a SYN with when SYN cookies are on (policy syn_flood): the
 * client's options read, the answer's options written, the timestamp that carries what the
 * cookie cannot, and the Internet checksum. Pure code shared by bulwark.bpf.c and the unit
 * tests; the cookie itself is the kernel's (bpf_tcp_raw_gen_syncookie_ipv4/6). */
#ifndef BULWARK_LIB_SYNCOOKIE_H
#define BULWARK_LIB_SYNCOOKIE_H

#include "../bulwark.h"

#define BW_TCPOPT_EOL 0
#define BW_TCPOPT_NOP 1
#define BW_TCPOPT_MSS 2
#define BW_TCPOPT_WSCALE 3
#define BW_TCPOPT_SACK_PERM 4
#define BW_TCPOPT_TS 8
#define BW_TCP_OPTS_MAX 40
#define BW_WSCALE_NONE 0xf /* in a timestamp cookie: the client offered no window scaling */
#define BW_TS_OPT_SACK (1u << 4)
#define BW_TS_BITS 6

/* What a SYN offers. */
struct bw_tcp_opts {
    __u32 tsval; /* the client's timestamp, echoed in the SYN-ACK */
    __u16 mss;   /* 0: none given */
    __u8 wscale; /* BW_WSCALE_NONE: none given */
    __u8 sack;   /* SACK permitted */
    __u8 ts;     /* timestamps */
    __u8 pad[3];
};

BW_INLINE void bw_tcp_opts_init(struct bw_tcp_opts *out)
{
    out->mss = 0;
    out->wscale = BW_WSCALE_NONE;
    out->sack = 0;
    out->ts = 0;
    out->tsval = 0;
}

/* One step of the walk through a SYN's options, `len` bytes of `o` (which holds 64): the option
 * at *at. Returns 1 when the walk is over. An option whose length runs past the end or is under
 * 2 ends it: what was read before counts, as in Linux's tcp_parse_options. Window scales over
 * 14 are taken as 14 (RFC 7323 2.3). A step at a time, so that the program can run it under
 * bpf_loop: a loop the verifier had to unroll with every path through it was too many states. */
BW_INLINE int bw_tcp_opt_step(const __u8 *o, __u32 len, __u32 *at, struct bw_tcp_opts *out)
{
    __u32 i = *at;
    if (i >= len || i >= BW_TCP_OPTS_MAX)
        return 1;
    __u8 kind = o[i & 63];
    if (kind == BW_TCPOPT_EOL)
        return 1;
    if (kind == BW_TCPOPT_NOP) {
        *at = i + 1;
        return 0;
    }
    if (i + 1 >= len)
        return 1;
    __u32 olen = o[(i + 1) & 63];
    if (olen < 2 || i + olen > len)
        return 1;
#define BW_OPT_BYTE(k) ((__u32)o[(i + 2 + (k)) & 63])
    if (kind == BW_TCPOPT_MSS && olen == 4) {
        out->mss = (__u16)((BW_OPT_BYTE(0) << 8) | BW_OPT_BYTE(1));
    } else if (kind == BW_TCPOPT_WSCALE && olen == 3) {
        out->wscale = BW_OPT_BYTE(0) > 14 ? 14 : BW_OPT_BYTE(0);
    } else if (kind == BW_TCPOPT_SACK_PERM && olen == 2) {
        out->sack = 1;
    } else if (kind == BW_TCPOPT_TS && olen == 10) {
        out->ts = 1;
        out->tsval = (BW_OPT_BYTE(0) << 24) | (BW_OPT_BYTE(1) << 16) | (BW_OPT_BYTE(2) << 8) |
                     BW_OPT_BYTE(3);
    }
#undef BW_OPT_BYTE
    *at = i + olen;
    return 0;
}

/* The whole walk (at most BW_TCP_OPTS_MAX bytes: one option or NOP a step). */
BW_INLINE void bw_tcp_opts_parse(const __u8 *o, __u32 len, struct bw_tcp_opts *out)
{
    bw_tcp_opts_init(out);
    __u32 at = 0;
    for (__u32 step = 0; step < BW_TCP_OPTS_MAX; step++)
        if (bw_tcp_opt_step(o, len, &at, out))
            break;
}

/* The SYN-ACK's TSval: the time in milliseconds with its low BW_TS_BITS replaced by what the
 * cookie cannot hold, the client's window scale and SACK, laid out as the kernel's
 * cookie_init_timestamp() does, since netfilter SYNPROXY decodes them from the ACK's echo of it
 * the same way. Never ahead of the clock (the kernel's rule too). */
BW_INLINE __u32 bw_cookie_tsval(__u64 now_ns, const struct bw_tcp_opts *c)
{
    __u32 opts = c->wscale;
    if (c->sack)
        opts |= BW_TS_OPT_SACK;
    __u32 ms = (__u32)(now_ns / 1000000);
    __u32 ts = (ms >> BW_TS_BITS << BW_TS_BITS) | opts;
    if (ts > ms)
        ts -= 1u << BW_TS_BITS;
    return ts;
}

/* The SYN-ACK's options for a SYN that offered `c`, into `o` (20 bytes); returns their length.
 * MSS always. SACK, timestamps and window scaling only when the SYN had timestamps: the ACK
 * brings back only the cookie and the timestamp, so without one nothing says they were agreed,
 * and offering them would leave the client and the listener disagreeing. Window scaling only
 * when the client offered it (RFC 7323: a SYN-ACK may not offer it otherwise). Linux's order. */
BW_INLINE __u32 bw_synack_opts(__u8 *o, const struct bw_tcp_opts *c, __u16 mss, __u8 wscale,
                               __u32 tsval)
{
    o[0] = BW_TCPOPT_MSS;
    o[1] = 4;
    o[2] = (__u8)(mss >> 8);
    o[3] = (__u8)(mss & 0xff);
    if (!c->ts)
        return 4;
    o[4] = c->sack ? BW_TCPOPT_SACK_PERM : BW_TCPOPT_NOP;
    o[5] = c->sack ? 2 : BW_TCPOPT_NOP;
    o[6] = BW_TCPOPT_TS;
    o[7] = 10;
    o[8] = (__u8)(tsval >> 24);
    o[9] = (__u8)(tsval >> 16);
    o[10] = (__u8)(tsval >> 8);
    o[11] = (__u8)tsval;
    o[12] = (__u8)(c->tsval >> 24);
    o[13] = (__u8)(c->tsval >> 16);
    o[14] = (__u8)(c->tsval >> 8);
    o[15] = (__u8)c->tsval;
    int ws = c->wscale != BW_WSCALE_NONE;
    o[16] = BW_TCPOPT_NOP;
    o[17] = ws ? BW_TCPOPT_WSCALE : BW_TCPOPT_NOP;
    o[18] = ws ? 3 : BW_TCPOPT_NOP;
    o[19] = ws ? wscale : BW_TCPOPT_NOP;
    return 20;
}

/* One's complement sum of `len` bytes (even, at most 64) as big-endian 16-bit words. */
BW_INLINE __u32 bw_csum_add(__u32 sum, const __u8 *b, __u32 len)
{
    for (__u32 i = 0; i < 64 && i < len; i += 2)
        sum += ((__u32)b[i] << 8) | b[i + 1];
    return sum;
}

/* The checksum field's value for `sum` (host order). */
BW_INLINE __u16 bw_csum_fold(__u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

#endif
