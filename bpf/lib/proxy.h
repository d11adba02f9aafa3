/* The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): the header a TLS
 * terminator or load balancer puts at the start of a connection to name the client. Pure code
 * shared by the XDP program (bulwark.bpf.c, for sources in lists.proxies) and the unit tests.
 * Only what the guard needs is taken: the client's address and port of a PROXY command over
 * TCP; LOCAL, UNKNOWN, UNSPEC and non-TCP families name no client; TLVs are skipped. */
#ifndef BULWARK_LIB_PROXY_H
#define BULWARK_LIB_PROXY_H

#include "../bulwark.h"

#define BW_PROXY_V1_MAX 107 /* the longest v1 line, CRLF included */
#define BW_PROXY_V2_HEAD 16 /* signature, version and command, family, length */
#define BW_PROXY_BAD (-1)   /* starts as a PROXY header but is not a valid one */

/* What a header says: family 0 when it names no client (LOCAL, UNKNOWN, UNSPEC, UDP, UNIX).
 * An IPv4-mapped IPv6 address is given as IPv4, so that IPv4 lists and keys apply to it. */
struct bw_proxy_client {
    __u8 family; /* 4, 6 or 0 */
    __u8 pad;
    __u16 port; /* host order */
    __u8 addr[16];
};

BW_INLINE void bw_proxy_unmap(struct bw_proxy_client *c)
{
    if (c->family != 6)
        return;
    for (int i = 0; i < 10; i++)
        if (c->addr[i])
            return;
    if (c->addr[10] != 0xff || c->addr[11] != 0xff)
        return;
    c->family = 4;
    for (int i = 0; i < 4; i++)
        c->addr[i] = c->addr[12 + i];
    for (int i = 4; i < 16; i++)
        c->addr[i] = 0;
}

/* Version 2 at b[0, len): the header's length (16 + its length field), 0 when b does not start
 * with the v2 signature, BW_PROXY_BAD for a bad version, command or a length too short for its
 * family. The addresses must be in b; TLVs past len are the caller's to skip. */
BW_INLINE int bw_proxy_v2(const __u8 *b, __u32 len, struct bw_proxy_client *out)
{
    /* The signature, "\r\n\r\n\0\r\nQUIT\n", compared without a table (no .rodata in BPF). */
    if (len < 12 || b[0] != 0x0d || b[1] != 0x0a || b[2] != 0x0d || b[3] != 0x0a || b[4] != 0 ||
        b[5] != 0x0d || b[6] != 0x0a || b[7] != 'Q' || b[8] != 'U' || b[9] != 'I' || b[10] != 'T' ||
        b[11] != 0x0a)
        return 0;
    if (len < BW_PROXY_V2_HEAD)
        return BW_PROXY_BAD;
    __u32 ver = b[12] >> 4, cmd = b[12] & 0xf, fam = b[13];
    __u32 body = ((__u32)b[14] << 8) | b[15];
    if (ver != 2 || cmd > 1)
        return BW_PROXY_BAD;
    out->family = 0;
    if (cmd == 0) /* LOCAL: the proxy's own connection (a health check) */
        return BW_PROXY_V2_HEAD + body;
    if (fam == 0x11) { /* TCP over IPv4: src, dst, sport, dport */
        if (body < 12)
            return BW_PROXY_BAD;
        if (len < BW_PROXY_V2_HEAD + 12)
            return BW_PROXY_BAD;
        out->family = 4;
        for (int i = 0; i < 16; i++)
            out->addr[i] = i < 4 ? b[16 + i] : 0;
        out->port = (__u16)((b[24] << 8) | b[25]);
    } else if (fam == 0x21) { /* TCP over IPv6 */
        if (body < 36)
            return BW_PROXY_BAD;
        if (len < BW_PROXY_V2_HEAD + 36)
            return BW_PROXY_BAD;
        out->family = 6;
        for (int i = 0; i < 16; i++)
            out->addr[i] = b[16 + i];
        out->port = (__u16)((b[48] << 8) | b[49]);
        bw_proxy_unmap(out);
    } else if ((fam >> 4) > 3 || (fam & 0xf) > 2) {
        return BW_PROXY_BAD;
    }
    return BW_PROXY_V2_HEAD + body;
}

/* Version 1, a text line, read one byte at a time after "PROXY TCP4 " or "PROXY TCP6 " (the
 * XDP program steps it from a bpf_loop, so the state lives in this struct, not in registers).
 * Fields: source and destination address, source and destination port, CRLF. Addresses are
 * what inet_ntop writes, and what it reads: IPv6 with "::" and a dotted IPv4 tail. */
enum bw_v1_field { BW_V1_SRC = 0, BW_V1_DST, BW_V1_SPORT, BW_V1_DPORT, BW_V1_LF, BW_V1_UNKNOWN };
struct bw_v1_addr {
    __u32 val;     /* the number in progress: an octet, or (IPv6) a hex group */
    __u32 dec;     /* IPv6: the same digits read as decimal, should they start a dotted tail */
    __u32 digits;  /* digits of the number in progress */
    __u32 decimal; /* IPv6: they are all decimal digits */
    __u32 parts;   /* octets, or groups, done */
    __u32 gap;     /* IPv6: the group where "::" stands, 8 when none */
    __u32 colon;   /* IPv6: the byte before was ':' (2: a leading one, which needs another) */
    __u32 tail;    /* IPv6: octets of a dotted IPv4 tail done (0: none begun) */
    __u32 lead0;   /* IPv6: the number in progress starts with '0' */
    __u16 g[8];
    __u8 v4[4];
};
struct bw_proxy_v1 {
    __u32 field;  /* enum bw_v1_field */
    __u32 family; /* 4 or 6: what both addresses must be */
    __u32 port;   /* the port in progress */
    __u32 port_digits;
    __u32 cr; /* BW_V1_UNKNOWN: the byte before was '\r' */
    struct bw_v1_addr a;
    struct bw_proxy_client client;
    struct bw_proxy_client dst; /* parsed to be validated, then ignored */
};

BW_INLINE void bw_v1_addr_reset(struct bw_v1_addr *a)
{
    __builtin_memset(a, 0, sizeof *a);
    a->gap = 8;
}

/* The start of a v1 line: "PROXY TCP4 ", "PROXY TCP6 " or "PROXY UNKNOWN". Returns the bytes
 * taken (the caller steps on from there), 0 when b is no v1 header, BW_PROXY_BAD when it is one
 * with another protocol. */
BW_INLINE int bw_proxy_v1_begin(const __u8 *b, __u32 len, struct bw_proxy_v1 *st)
{
    if (len < 6 || b[0] != 'P' || b[1] != 'R' || b[2] != 'O' || b[3] != 'X' || b[4] != 'Y' ||
        b[5] != ' ')
        return 0;
    __builtin_memset(st, 0, sizeof *st);
    bw_v1_addr_reset(&st->a);
    if (len >= 11 && b[6] == 'T' && b[7] == 'C' && b[8] == 'P' && (b[9] == '4' || b[9] == '6') &&
        b[10] == ' ') {
        st->family = b[9] - '0';
        return 11;
    }
    if (len >= 13 && b[6] == 'U' && b[7] == 'N' && b[8] == 'K' && b[9] == 'N' && b[10] == 'O' &&
        b[11] == 'W' && b[12] == 'N') {
        st->field = BW_V1_UNKNOWN; /* anything up to CRLF, ignored */
        return 13;
    }
    return BW_PROXY_BAD;
}

/* An address field ends: 1 when what was read is one whole address of the line's family, then
 * in *out. */
BW_INLINE int bw_v1_address_end(struct bw_v1_addr *a, __u32 family, struct bw_proxy_client *out)
{
    __builtin_memset(out, 0, sizeof *out);
    if (family == 4) {
        if (a->parts != 3 || a->digits == 0)
            return 0;
        out->family = 4;
        for (int i = 0; i < 3; i++)
            out->addr[i] = a->v4[i];
        out->addr[3] = (__u8)a->val;
        return 1;
    }
    __u32 parts = a->parts;
    if (a->tail) {
        if (a->tail != 3 || a->digits == 0)
            return 0;
        a->g[(parts + 1) & 7] |= (__u16)a->val; /* the tail's fourth octet */
        parts += 2;
    } else if (a->digits) {
        a->g[parts & 7] = (__u16)a->val;
        parts++;
    } else if (a->colon != 1 || a->gap != parts) {
        return 0; /* empty, or a single ':' at the end */
    }
    if (a->gap == 8 ? parts != 8 : parts > 7)
        return 0;
    /* The groups after "::" go to the end (group i is read group i + parts - 8); zeros fill
     * the gap. */
    __u32 gap = a->gap;
    for (__u32 i = 0; i < 8; i++) {
        __u16 v = 0;
        if (gap == 8 || i < gap)
            v = a->g[BW_MASKED(i, 7)];
        else if (i + parts >= 8 + gap)
            v = a->g[BW_MASKED(i + parts, 7)];
        out->addr[BW_MASKED(2 * i, 15)] = (__u8)(v >> 8);
        out->addr[BW_MASKED(2 * i + 1, 15)] = (__u8)v;
    }
    out->family = 6;
    return 1;
}

/* A decimal octet's next byte: digits, or the '.' that ends it (at most `dots` of them). No
 * leading zeros, as inet_pton and inet_ntop. */
BW_INLINE int bw_v1_octet(struct bw_v1_addr *a, __u8 ch, __u32 done, __u32 dots)
{
    if (ch >= '0' && ch <= '9') {
        if (a->digits == 1 && a->val == 0)
            return 0;
        a->val = a->val * 10 + (ch - '0');
        return ++a->digits <= 3 && a->val <= 255;
    }
    return ch == '.' && a->digits && done < dots;
}

/* The next byte of an address: 1 to go on, 0 on error. */
BW_INLINE int bw_v1_address_byte(struct bw_v1_addr *a, __u32 family, __u8 ch)
{
    if (family == 4) {
        if (!bw_v1_octet(a, ch, a->parts, 3))
            return 0;
        if (ch == '.') {
            a->v4[a->parts & 3] = (__u8)a->val;
            a->parts++;
            a->val = a->digits = 0;
        }
        return 1;
    }
    if (a->tail) {
        if (!bw_v1_octet(a, ch, a->tail, 3))
            return 0;
        if (ch == '.') { /* octet `tail` of the tail is done */
            __u32 o = a->tail;
            a->g[(a->parts + (o >> 1)) & 7] |= (__u16)(a->val << ((o & 1) ? 0 : 8));
            a->tail++;
            a->val = a->digits = 0;
        }
        return 1;
    }
    int h = bw_hex(ch);
    if (h >= 0) {
        if (a->colon == 2)
            return 0; /* a lone leading ':' */
        a->decimal = (a->digits == 0 || a->decimal) && h < 10;
        if (a->digits == 0)
            a->lead0 = h == 0;
        a->val = a->val * 16 + h;
        a->dec = a->dec * 10 + (h < 10 ? h : 0);
        a->colon = 0;
        return ++a->digits <= 4;
    }
    if (ch == ':') {
        if (a->colon) { /* "::" */
            if (a->gap != 8)
                return 0;
            a->gap = a->parts;
            a->colon = 1;
            return 1;
        }
        if (a->digits) {
            if (a->parts >= 7)
                return 0;
            a->g[a->parts & 7] = (__u16)a->val;
            a->parts++;
            a->val = a->dec = a->digits = 0;
            a->colon = 1;
            return 1;
        }
        if (a->parts == 0) { /* the first of a leading "::" */
            a->colon = 2;
            return 1;
        }
        return 0;
    }
    if (ch == '.' && a->digits && a->decimal && a->digits <= 3 && a->dec <= 255 &&
        !(a->lead0 && a->digits > 1) && a->parts <= 6) {
        /* A dotted IPv4 tail (::ffff:198.18.0.9): its first octet was read as hex. */
        a->g[a->parts & 7] = (__u16)(a->dec << 8);
        a->val = a->digits = 0;
        a->tail = 1;
        return 1;
    }
    return 0;
}

/* The next byte of a v1 line: 0 to go on, 1 once its CRLF is read, BW_PROXY_BAD. */
BW_INLINE int bw_proxy_v1_step(struct bw_proxy_v1 *st, __u8 ch)
{
    switch (st->field) {
    case BW_V1_UNKNOWN:
        if (ch == '\n')
            return st->cr ? 1 : BW_PROXY_BAD;
        st->cr = ch == '\r';
        return 0;
    case BW_V1_LF:
        if (ch != '\n')
            return BW_PROXY_BAD;
        bw_proxy_unmap(&st->client);
        return 1;
    case BW_V1_SPORT:
    case BW_V1_DPORT:
        if (ch >= '0' && ch <= '9') {
            st->port = st->port * 10 + (ch - '0');
            return ++st->port_digits <= 5 && st->port <= 65535 ? 0 : BW_PROXY_BAD;
        }
        if (st->port_digits == 0 || ch != (st->field == BW_V1_SPORT ? ' ' : '\r'))
            return BW_PROXY_BAD;
        if (st->field == BW_V1_SPORT)
            st->client.port = (__u16)st->port;
        st->field++;
        st->port = st->port_digits = 0;
        return 0;
    case BW_V1_SRC:
    case BW_V1_DST:
        if (ch != ' ')
            return bw_v1_address_byte(&st->a, st->family, ch) ? 0 : BW_PROXY_BAD;
        if (!bw_v1_address_end(&st->a, st->family, st->field == BW_V1_SRC ? &st->client : &st->dst))
            return BW_PROXY_BAD;
        bw_v1_addr_reset(&st->a);
        st->field++;
        return 0;
    default:
        return BW_PROXY_BAD;
    }
}

/* X-Forwarded-For in a request's headers. The caller finds the line: at each '\n' of the
 * headers, bw_xff_line says whether the headers end there, or an X-Forwarded-For line starts
 * (the last one counts). Its value is then read one byte at a time (the XDP program steps it
 * from a bpf_loop, so the state lives in this struct): the last BW_XFF_KEEP addresses are
 * kept, in order, and the caller takes the rightmost that is not a proxy. A token that is no
 * address (a port, "unknown", garbage) is kept as family 0, which stops the walk to the left:
 * what lies beyond it was not written by a proxy. Each token is fed to an IPv4 and an IPv6
 * parser at once, since its family shows only as it goes. */
#define BW_XFF_KEEP 4
#define BW_XFF_NAME_LEN 16 /* "x-forwarded-for:" */
struct bw_xff {
    __u32 complete; /* the value's line ended within the text */
    __u32 n;        /* tokens so far */
    __u32 len;      /* bytes of the token in progress */
    __u32 after;    /* whitespace came after the token: only ',' or the line's end may follow */
    __u32 ok4, ok6; /* the token still parses as an IPv4 / IPv6 address */
    __u32 value_at; /* for the caller: the value's offset, once a line search found it */
    struct bw_v1_addr a4, a6;
    struct bw_proxy_client got[BW_XFF_KEEP]; /* token i at got[i % BW_XFF_KEEP] */
};

#define BW_XFF_BYTES(a, b, c, d, e, f, g, h)                                                       \
    ((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |       \
     (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)

/* At b[q] == '\n' of a text of `len` bytes: 1 when the headers end at this line (an empty
 * one, or the text's end), else 0, with *value set past "X-Forwarded-For:" when the next line
 * is one (the name in any case). Two 8-byte compares, letters folded by OR 0x20; '-' and ':'
 * are compared exactly, since '\r' | 0x20 is '-'. */
BW_INLINE int bw_xff_line(const __u8 *b, __u32 q, __u32 len, __u32 *value)
{
    if (q + 1 >= len || b[q + 1] == '\n' || (b[q + 1] == '\r' && q + 2 < len && b[q + 2] == '\n'))
        return 1;
    if (q + 1 + BW_XFF_NAME_LEN > len)
        return 0;
    const __u8 *n = b + q + 1;
    const __u64 fold = 0x2020202020202020ULL;
    if ((BW_LOAD64(n) | fold) == BW_XFF_BYTES('x', '-', 'f', 'o', 'r', 'w', 'a', 'r') &&
        (BW_LOAD64(n + 8) | fold) == BW_XFF_BYTES('d', 'e', 'd', '-', 'f', 'o', 'r', ':') &&
        n[1] == '-' && n[11] == '-' && n[15] == ':')
        *value = q + 1 + BW_XFF_NAME_LEN;
    return 0;
}

BW_INLINE void bw_xff_token_reset(struct bw_xff *x)
{
    x->len = x->after = 0;
    x->ok4 = x->ok6 = 1;
    bw_v1_addr_reset(&x->a4);
    bw_v1_addr_reset(&x->a6);
}

BW_INLINE void bw_xff_begin(struct bw_xff *x)
{
    __builtin_memset(x, 0, sizeof *x);
    bw_xff_token_reset(x);
}

BW_INLINE void bw_xff_token_end(struct bw_xff *x)
{
    if (x->len == 0)
        return; /* an empty element (",,") is no element */
    struct bw_proxy_client *c = &x->got[BW_MASKED(x->n, BW_XFF_KEEP - 1)];
    if (!(x->ok4 && bw_v1_address_end(&x->a4, 4, c)) &&
        !(x->ok6 && bw_v1_address_end(&x->a6, 6, c)))
        c->family = 0;
    bw_proxy_unmap(c);
    x->n++;
    bw_xff_token_reset(x);
}

/* The value's next byte: 0 to go on, 1 at the line's end (then x->complete). */
BW_INLINE int bw_xff_step(struct bw_xff *x, __u8 ch)
{
    if (ch == '\r' || ch == '\n') {
        bw_xff_token_end(x);
        x->complete = 1;
        return 1;
    }
    if (ch == ',') {
        bw_xff_token_end(x);
    } else if (ch == ' ' || ch == '\t') {
        x->after = x->len > 0;
    } else if (x->after) {
        x->ok4 = x->ok6 = 0; /* "1.2.3.4 5": not one address */
        x->len++;
    } else {
        x->ok4 = x->ok4 && bw_v1_address_byte(&x->a4, 4, ch);
        x->ok6 = x->ok6 && bw_v1_address_byte(&x->a6, 6, ch);
        x->len++;
    }
    return 0;
}

#endif /* BULWARK_LIB_PROXY_H */
