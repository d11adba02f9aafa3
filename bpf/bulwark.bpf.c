/* bulwark's XDP guard: CIDR classes, per-source rate limits, request-line rules, payload
 * patterns, verdict counters and throttled drop events.
 * Built with clang -target bpf, embedded in the launcher as a libbpf skeleton. UAPI headers
 * only; parsing in lib/parse.h, token buckets in lib/rate.h. Order: ARP/ND pass -> parse
 * (malformed: drop) -> CIDR class (deny / trusted / suspicious) -> packet bucket -> connection
 * bucket (SYN without ACK) -> on inspected ports, for a payload that starts with an HTTP method:
 * first matching rule (exempt, or its own bucket), request bucket -> pattern scan -> pass. The
 * per-packet helpers are global functions: the verifier checks each once, not once per call site
 * and path (inlined, the rule loop and five CAS loops multiplied to ~1M insns). */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bulwark.h"
#include "lib/parse.h"
#include "lib/proxy.h"
#include "lib/rate.h"
#include "lib/syncookie.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, BW_REASON_MAX);
    __type(key, __u32);
    __type(value, struct bw_counter);
} counters SEC(".maps");

/* Which generation of the policy tables is in force (see BW_GENERATIONS). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} policy_gen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, BW_GENERATIONS);
    __type(key, __u32);
    __type(value, struct bw_config);
} config SEC(".maps");

/* Per generation, the inspected TCP ports (struct bw_ports). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, BW_GENERATIONS);
    __type(key, __u32);
    __type(value, struct bw_ports);
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

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, BW_GENERATIONS);
    __type(key, __u32);
    __type(value, struct bw_rules);
} rules SEC(".maps");

/* The pattern DFAs (see launcher/guard/automaton.hpp): rows of bw_dfa.classes entries, one value
 * per table, gen * BW_DFA_TABLES + table. Mmap-able so that a reload writes only the states a
 * policy uses into the idle generation, not the whole 4 MiB value through a syscall's bounce
 * buffer. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, (BW_GENERATIONS * BW_DFA_TABLES));
    __type(key, __u32);
    __type(value, struct bw_table);
} automaton SEC(".maps");

/* Pattern texts, gen * BW_MAX_PATTERNS + index; read by `bulwark events` only. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, (BW_GENERATIONS * BW_MAX_PATTERNS));
    __type(key, __u32);
    __type(value, struct bw_pattern_name);
} patterns SEC(".maps");

/* LRU maps: a spray of sources evicts the least recently seen instead of exhausting memory.
 * The loader sizes them from the policy's max_sources. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1000000);
    __type(key, struct bw_source_key);
    __type(value, struct bw_source);
} sources SEC(".maps");

/* Aggregates (struct bw_sprays): the buckets untracked sources share in spray mode, and the
 * aggregate limits every source is held to as well. LRU; the loader sizes it. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct bw_source_key);
    __type(value, struct bw_source);
} aggregates SEC(".maps");

/* Which sources `sources` may hold (struct bw_seen): the loader sizes it, a power of two. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 128);
    __type(key, __u32);
    __type(value, struct bw_seen);
} seen SEC(".maps");

/* Each CPU's rate of new sources and spray mode. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_spray);
} spray SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_syn);
} syn SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_device);
} device SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1000000);
    __type(key, struct bw_rule_key);
    __type(value, __u64);
} rule_buckets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1000000);
    __type(key, struct bw_gate_key);
    __type(value, __u64);
} event_gate SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, BW_EVENTS_RING_BYTES);
} events SEC(".maps");

/* Events that found the ring buffer full. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} events_lost SEC(".maps");

/* Payload bytes copied out of the frame once, for the method check, rules and the scan, and
 * their decoding (bw_scan_buf: too big for the 512-byte stack). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_scan_buf);
} scratch SEC(".maps");

/* Drops per pattern, gen * BW_MAX_PATTERNS + index, for `bulwark stats`. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, (BW_GENERATIONS * BW_MAX_PATTERNS));
    __type(key, __u32);
    __type(value, __u64);
} pattern_hits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_meta);
} meta SEC(".maps");

/* Bans (struct bw_ban): a plain hash, not LRU, so a spray of new sources cannot evict the bans
 * already given; the loader sizes it from the policy's bans.table. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct bw_source_key);
    __type(value, struct bw_ban);
} bans SEC(".maps");

/* Offences towards a ban: LRU, touched only by drops; an evicted count starts again. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct bw_source_key);
    __type(value, struct bw_strike);
} strikes SEC(".maps");

/* Bans issued and refused (BW_BANS_*), for `bulwark stats`. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} bans_stats SEC(".maps");

/* Connections from proxies (lists.proxies) and the client their PROXY header named: LRU, so a
 * proxy's connections that ended without a FIN or RST seen age out. The loader sizes it
 * (max_sources, at most 65,536). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct bw_flow_key);
    __type(value, struct bw_proxied);
} proxied SEC(".maps");

/* A PROXY header's parse state (off the stack: 6.1 allows 512 bytes over the whole call chain,
 * and the v1 line's steps run two calls deep). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_proxy_v1);
} proxy_state SEC(".maps");

/* X-Forwarded-For's parse state, per CPU for the same reason. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bw_xff);
} xff_state SEC(".maps");

static __always_inline void fill_event(struct bw_event *e, const struct pkt *p, __u32 reason,
                                       __u32 detail, __u64 now)
{
    e->time_ns = now;
    e->reason = reason;
    e->detail = detail;
    e->len = p->len;
    e->sport = p->sport;
    e->dport = p->dport;
    e->family = p->key.family;
    e->proto = p->l4;
    e->cls = p->cls;
    e->gen = p->gen;
    __builtin_memcpy(e->src, p->src, 16);
    __builtin_memcpy(e->dst, p->dst, 16);
    e->extra = 0;
}

/* At most `per_source_per_second` events per (source, reason), the rate reasons sharing one gate
 * in the source entry, then one ring-buffer record; a full ring buffer counts a loss. Global:
 * verified once. */
__noinline int emit(const struct pkt *p, __u32 reason, __u32 detail, __u64 now, __u64 *gate)
{
    if (!p)
        return 0;
    __u32 zero = 0, gen = p->gen;
    struct bw_config *cfg = bpf_map_lookup_elem(&config, &gen);
    if (!cfg || cfg->events.interval_ns == 0)
        return 0;
    __u64 *tat = gate;
    if (!tat) {
        struct bw_gate_key gk = {.reason = reason};
        __builtin_memcpy(&gk.src, &p->key, sizeof gk.src);
        __u64 fresh = 0;
        tat = lookup_or_try_init(&event_gate, &gk, &fresh);
    }
    /* The gate is best effort: a lost race here means one event fewer, never a wrong verdict. */
    struct bw_rate r = cfg->events;
    __u64 old, next;
    if (!tat || !bw_gcra(old = *(volatile __u64 *)tat, now, &r, &next) ||
        __sync_val_compare_and_swap(tat, old, next) != old)
        return 0;
    struct bw_event *e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
    if (!e) {
        __u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);
        if (lost)
            *lost += 1;
        return 0;
    }
    fill_event(e, p, reason, detail, now);
    bpf_ringbuf_submit(e, 0);
    return 1;
}

/* One more offence of the source; the one that completes `after` within the window bans it,
 * for a length that doubles with each ban in a row, and tells userspace (one event per ban,
 * not throttled). Counts race across CPUs: a lost increment delays a ban by one offence.
 * Global: verified once. */
__noinline int offend(const struct pkt *p, __u32 reason, __u64 now)
{
    if (!p)
        return 0;
    __u32 gen = p->gen;
    struct bw_config *cfg = bpf_map_lookup_elem(&config, &gen);
    if (!cfg || !cfg->bans.for_ns)
        return 0;
    /* On the stack: before 6.3 a global function's argument memory cannot be a map key. */
    struct bw_source_key key;
    __builtin_memcpy(&key, &p->key, sizeof key);
    struct bw_strike fresh = {.start_ns = now};
    struct bw_strike *s = lookup_or_try_init(&strikes, &key, &fresh);
    if (!s)
        return 0;
    if (now - s->start_ns > cfg->bans.within_ns) {
        s->start_ns = now;
        s->count = 0;
    }
    if (__sync_fetch_and_add(&s->count, 1) + 1 < cfg->bans.after)
        return 0;
    s->count = 0;
    s->start_ns = now;
    __u32 level = 0;
    struct bw_ban *old = bpf_map_lookup_elem(&bans, &key);
    if (old) {
        if (now < old->until_ns)
            return 0; /* another CPU banned it already */
        if (now - old->until_ns <= cfg->bans.forget_ns)
            level = old->level;
    }
    struct bw_bans rules = cfg->bans;
    __u64 len = bw_ban_length(&rules, level);
    struct bw_ban b = {
        .until_ns = now + len, .start_ns = now, .level = level + 1, .reason = reason};
    __u32 k = bpf_map_update_elem(&bans, &key, &b, BPF_ANY) == 0 ? BW_BANS_ISSUED : BW_BANS_REFUSED;
    __u64 *n = bpf_map_lookup_elem(&bans_stats, &k);
    if (n)
        *n += 1;
    if (k != BW_BANS_ISSUED)
        return 0;
    struct bw_event *e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
    if (!e) {
        __u32 zero = 0;
        __u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);
        if (lost)
            *lost += 1;
        return 1;
    }
    fill_event(e, p, BW_EVENT_BANNED, reason, now);
    e->extra = (__u32)(len / 1000000000ULL);
    bpf_ringbuf_submit(e, 0);
    return 1;
}

static __always_inline int verdict(struct xdp_md *ctx, __u32 reason, struct bw_source *src)
{
    struct bw_counter *c = bpf_map_lookup_elem(&counters, &reason);
    if (c) {
        c->packets++;
        c->bytes += ctx->data_end - ctx->data;
    }
    if (reason == BW_TX_SYN_COOKIE)
        return XDP_TX;
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

/* A drop worth telling userspace about: counted, then offered to the throttled event stream. */
static __always_inline int drop(struct xdp_md *ctx, const struct pkt *p, __u32 reason, __u32 detail,
                                struct bw_source *src, __u64 now)
{
    /* A proxy's own packets are never offences: banning it would ban every client. */
    if ((p->ban_reasons >> (reason & 31)) & 1 && p->cls != BW_CLASS_PROXY)
        offend(p, reason, now);
    __u64 *gate = 0;
    if (src && reason >= BW_DROP_RATE_PACKETS && reason <= BW_DROP_RATE_REQUESTS) {
        gate = &src->event_tat;
        /* Under a flood the gate is nearly always shut: see so here rather than in a call. */
        __u64 tat = *(volatile __u64 *)gate;
        if (tat > now && tat - now > p->events_tau_ns)
            return verdict(ctx, reason, src);
    }
    emit(p, reason, detail, now, gate);
    return verdict(ctx, reason, src);
}

/* Whether the payload starts an HTTP request (bw_is_request). */
__noinline int is_http_request(struct bw_scan_buf *buf, __u32 len)
{
    return buf && bw_is_request(buf, len);
}

struct rule_line_ctx {
    struct bw_scan_buf *sb;
};

static long rule_line_cb(__u64 idx, void *ctx)
{
    struct rule_line_ctx *c = ctx;
    struct bw_scan_buf *sb = c->sb;
    return sb && bw_rule_line_step(sb->raw, &sb->rln) ? 0 : 1;
}

/* match_rule's answer for a line whose ".." climbs past what bw_rule_line_step recorded. */
#define RULE_UNRESOLVED 0xffffffffu
/* match_rule's answer when the line must be built and the payload has bytes not yet loaded:
 * load them and ask again. */
#define RULE_LOAD_MORE 0xfffffffeu

/* The line as the rules compare it: the raw words when the path ends ('?' or CR) in the
 * first 64 bytes and has no '%', '\\', ';', "//" or "/." (most requests: eight words tested, no
 * byte loop), else the line bw_rule_line_step builds. Returns its length (the raw length when
 * raw), RULE_UNRESOLVED, or RULE_LOAD_MORE when the line must be built and `more` says the
 * payload has bytes past len (the path may run past them). */
static __always_inline __u32 rule_line(struct bw_scan_buf *buf, __u32 len, int more,
                                       const __u64 **words)
{
    const __u64 *b = (const __u64 *)buf->raw;
    __u64 odd = 0, carry = 0;
    int ended = 0;
#pragma unroll
    for (int w = 0; w < BW_MAX_RULE_LEN / 8; w++) {
        __u64 x = b[w];
        __u64 end = bw_bytes_eq(x, '?') | bw_bytes_eq(x, '\r');
        __u64 before = ~0ULL;
        if (end) {
            before = (end & -end) - 1; /* the bytes before the first: exact, unlike above */
            ended = 1;
        }
        __u64 sl = bw_bytes_eq(x, '/');
        __u64 after_sl = (sl << 8) | carry;
        carry = sl >> 56;
        odd |= (bw_bytes_eq(x, '%') | bw_bytes_eq(x, '\\') | bw_bytes_eq(x, ';') |
                (after_sl & (sl | bw_bytes_eq(x, '.')))) &
               before;
        if (ended)
            break;
    }
    *words = b;
    if (ended && !odd)
        return len;
    if (more)
        return RULE_LOAD_MORE;
    struct bw_rule_line *r = &buf->rln;
    __builtin_memset(r, 0, sizeof *r);
    r->len = len;
    struct rule_line_ctx c = {.sb = buf};
    bpf_loop(BW_MAX_SCAN_BYTES, rule_line_cb, &c, 0);
    if (r->unresolved)
        return RULE_UNRESOLVED;
    *words = (const __u64 *)r->line;
    return r->out < BW_MAX_RULE_LEN ? r->out : BW_MAX_RULE_LEN;
}

/* The first rule whose text is a prefix of the request line (rule_line): its index + 1, 0,
 * RULE_UNRESOLVED or RULE_LOAD_MORE. Each rule is compared as eight masked 64-bit words, without
 * a branch per byte: the verifier walks 32 short straight-line bodies instead of 32 x 64 byte
 * loops. */
__noinline __u32 match_rule(const struct bw_rules *rs, __u32 nrules, struct bw_scan_buf *buf,
                            __u32 len, int more)
{
    if (!rs || !buf)
        return 0;
    const __u64 *b;
    len = rule_line(buf, len, more, &b);
    if (len == RULE_UNRESOLVED || len == RULE_LOAD_MORE)
        return len;
    for (__u32 i = 0; i < BW_MAX_RULES; i++) {
        if (i >= nrules)
            break;
        const struct bw_rule *r = &rs->r[i];
        if (r->len == 0 || r->len > len)
            continue;
        const __u64 *m = (const __u64 *)r->match;
        const __u64 *k = (const __u64 *)r->mask;
        __u64 diff = 0;
#pragma unroll
        for (int w = 0; w < BW_MAX_RULE_LEN / 8; w++)
            diff |= (b[w] ^ m[w]) & k[w];
        if (diff == 0)
            return i + 1;
    }
    return 0;
}

struct scan_ctx {
    struct bw_scan_buf *sb;
    const struct bw_table *t;
    const struct bw_dfa *d;
};

#define SCAN_LOCALS                                                                                \
    struct scan_ctx *c = ctx;                                                                      \
    struct bw_scan_buf *sb = c->sb;                                                                \
    const struct bw_table *t = c->t;                                                               \
    const __u8 *buf = sb->st.raw ? sb->raw : sb->dec

/* One step of a stream whose bytes start at `p`: the byte's class, then the next state.
 * Past the text the buffer holds BW_PAD_BYTE, whose class leaves every state where it is, so
 * a stream that has run out needs no test. */
#define STEP(state, p, j) state = BW_DFA_AT(t->e, state + BW_DFA_CLASS(t->e, (p)[j]))

/* BW_SCAN_BATCH lockstep steps of the four streams (bw_plan_scan), without a branch: a match
 * state keeps the stream in it, so looking once after the batch finds it. The state lives in
 * the map, so the verifier checks this once however many times it runs. */
static long scan_cb(__u64 idx, void *ctx)
{
    SCAN_LOCALS;
    __u32 s0 = sb->st.s[0], s1 = sb->st.s[1], s2 = sb->st.s[2], s3 = sb->st.s[3];
    /* Each stream's bytes for this batch, as a pointer: a step is then a load at a constant
     * offset (the positions stay below 2 * BW_MAX_SCAN_BYTES; the masks are for the
     * verifier). */
    const __u8 *p0 = buf + (sb->st.pos[0] & (BW_SCAN_BUF - 1));
    const __u8 *p1 = buf + (sb->st.pos[1] & (BW_SCAN_BUF - 1));
    const __u8 *p2 = buf + (sb->st.pos[2] & (BW_SCAN_BUF - 1));
    const __u8 *p3 = buf + (sb->st.pos[3] & (BW_SCAN_BUF - 1));
#pragma unroll
    for (int j = 0; j < BW_SCAN_BATCH; j++) {
        STEP(s0, p0, j);
        STEP(s1, p1, j);
        STEP(s2, p2, j);
        STEP(s3, p3, j);
    }
    __u32 accept = c->d->accept;
    __u32 m = s0 >= accept ? s0 : s1 >= accept ? s1 : s2 >= accept ? s2 : s3 >= accept ? s3 : 0;
    if (m) {
        sb->st.match = m;
        return 1;
    }
    sb->st.s[0] = s0, sb->st.s[1] = s1, sb->st.s[2] = s2, sb->st.s[3] = s3;
#pragma unroll
    for (int k = 0; k < BW_SCAN_STREAMS; k++)
        sb->st.pos[k] += BW_SCAN_BATCH;
    return 0;
}

/* A stream past its planned steps, on until nothing is in progress (bw_plan_scan). */
static long extend_cb(__u64 idx, void *ctx)
{
    SCAN_LOCALS;
    __u32 k = sb->st.cur & 3, n = sb->st.n;
    __u32 s = sb->st.s[k], pos = sb->st.pos[k];
    if (pos >= n || s < c->d->quiet)
        return 1;
    s = BW_DFA_AT(t->e, s + BW_DFA_CLASS(t->e, buf[pos & (BW_SCAN_BUF - 1)]));
    if (s >= c->d->accept) {
        sb->st.match = s;
        return 1;
    }
    sb->st.s[k] = s;
    sb->st.pos[k] = pos + 1;
    return 0;
}

/* BW_PAD_BYTE after the text, `words` eight-byte words: as far as the scan reads past its end
 * (the streams of a plan: their last starts before the end and runs `steps`; the lanes: to
 * the end of their last batch). */
__noinline int pad_text(struct bw_scan_buf *sb, __u32 raw, __u32 words)
{
    if (!sb)
        return 0;
    __u8 *buf = raw ? sb->raw : sb->dec;
    __u32 n = raw ? sb->raw_len : sb->dec_len;
    for (__u32 i = 0; i < BW_SCAN_BUF / 16; i++) {
        if (i >= words)
            break;
        /* at stays below 2 * BW_MAX_SCAN_BYTES + 8; the mask is for the verifier. */
        __u32 at = (n + i * 8) & (BW_SCAN_BUF - 1);
        asm volatile("" : "+r"(at));
        BW_STORE64(&buf[at & (BW_SCAN_BUF - 1)], 0xffffffffffffffffULL);
    }
    return 1;
}

/* The pattern a match state stands for, 1-based among the policy's (bw_dfa.accept). */
static __always_inline __u32 pattern_of(const struct bw_dfa *d, __u32 state)
{
    __u32 row = d->classes * 4;
    return row ? d->first + (state - d->accept) / row + 1 : 0;
}

/* The DFA over dec[] (or, for raw sets, raw[]) of `sb` in the streams of `pl`: the four in
 * lockstep so their dependent table loads overlap, then each of the first three on while it
 * has a match in progress. Returns the matched pattern's index + 1. */
static __always_inline __u32 scan(struct scan_ctx *c, __u32 raw)
{
    struct bw_scan_buf *sb = c->sb;
    const struct bw_plan *pl = &sb->plan;
#pragma unroll
    for (int k = 0; k < BW_SCAN_STREAMS; k++) {
        sb->st.s[k] = pl->state[k];
        sb->st.pos[k] = pl->start[k];
    }
    sb->st.n = raw ? sb->raw_len : sb->dec_len;
    sb->st.raw = raw;
    sb->st.match = 0;
    pad_text(sb, raw, pl->steps / 8 + 2);
    bpf_loop(pl->steps / BW_SCAN_BATCH, scan_cb, c, 0);
    if (sb->st.match)
        return pattern_of(c->d, sb->st.match);
#pragma unroll
    for (int k = 0; k < BW_SCAN_STREAMS - 1; k++) {
        sb->st.cur = k;
        sb->st.pos[k] = pl->start[k] + pl->steps;
        bpf_loop(BW_MAX_SCAN_BYTES, extend_cb, c, 0);
        if (sb->st.match)
            return pattern_of(c->d, sb->st.match);
    }
    return 0;
}

struct decode_ctx {
    struct bw_scan_buf *sb;
};

/* One decoder step per bpf_loop call: a step copies up to four words and the lines they end,
 * and two steps in one callback put the verifier over its budget of a million instructions
 * (bench/RESULTS.md, "The decoder's word copy ends lines"). */
static long decode_cb(__u64 i, void *ctx)
{
    struct bw_scan_buf *sb = ((struct decode_ctx *)ctx)->sb;
    return !bw_decode_step(sb, &sb->d);
}

/* The plan (bw_plan_scan) in global functions, each verified once whatever calls it, with what
 * one step finds kept in the map for the next: the verifier's paths through the line search,
 * the header name's run and each stream would otherwise multiply. */
__noinline int plan_line(struct bw_scan_buf *sb, __u32 raw, __u32 k)
{
    if (!sb)
        return 0;
    __u32 x, ls, next;
    bw_plan_line(raw ? sb->raw_lines : sb->lines, sb->nlines, raw ? sb->raw_hdr_end : sb->hdr_end,
                 raw ? sb->raw_len : sb->dec_len, k, &x, &ls, &next);
    sb->st.pos[k & 3] = x;
    sb->st.s[k & 3] = ls;
    sb->plan.state[k & 3] = next;
    return 1;
}

__noinline int plan_state(struct bw_scan_buf *sb, const struct bw_table *t, const struct bw_dfa *d,
                          __u32 http, __u32 k)
{
    if (!sb || !t || !d)
        return 0;
    __u32 raw = d->raw, x, state;
    bw_plan_state(raw ? sb->raw : sb->dec, sb->st.pos[k & 3], sb->st.s[k & 3],
                  sb->plan.state[k & 3], raw ? sb->raw_hdr_end : sb->hdr_end, http, t->e, d,
                  d->start, &x, &state);
    sb->plan.start[k & 3] = x;
    sb->plan.state[k & 3] = state;
    return 1;
}

/* One table's DFA over the text it reads (dec[], or raw[] for raw sets): the match's pattern,
 * 1-based among the policy's, or 0. Global: verified once for all the tables. */
__noinline __u32 scan_table(struct bw_scan_buf *sb, const struct bw_config *cfg, __u32 gen, __u32 i,
                            __u32 http)
{
    if (!sb || !cfg)
        return 0;
    const struct bw_dfa *d = &cfg->dfa[i & (BW_DFA_TABLES - 1)];
    __u32 key = gen * BW_DFA_TABLES + (i & (BW_DFA_TABLES - 1));
    struct bw_table *t = bpf_map_lookup_elem(&automaton, &key);
    if (!t)
        return 0;
    __u32 raw = d->raw;
    for (__u32 k = 1; k < BW_SCAN_STREAMS; k++) {
        plan_line(sb, raw, k);
        plan_state(sb, t, d, http, k);
    }
    sb->plan.start[0] = 0;
    sb->plan.state[0] = d->start[http ? BW_START_REQUEST : BW_START_MID];
    bw_plan_finish(&sb->plan, raw ? sb->raw_len : sb->dec_len);
    struct scan_ctx sc = {.sb = sb, .t = t, .d = d};
    return scan(&sc, raw);
}

/* Two or more tables, none raw: one stream per table, in lockstep over the decoded text from
 * its start (a lane per table: two, three or four lanes, as many as the policy has tables).
 * One text for all keeps the callback's registers, and the stack, small enough for 6.1's 512
 * bytes over the call chain; a policy with raw sets takes scan_table. The tables' independent
 * loads overlap as the streams' do in scan(), without a plan, a restart or a stream's
 * extension: a short request costs its own length, a step a byte per table. */
struct lanes_ctx {
    struct bw_scan_buf *sb;
    const struct bw_table *t[BW_SCAN_STREAMS];
};

/* One lane's step: its table's column for the byte (a u16 byte offset from table 0's map,
 * BW_DFA_LANES_MAP), then the next state. The state is bounded by a compare (BW_DFA_STATE_END:
 * the compiler keeps states below it, so it never ends the scan), not a mask. The table
 * pointers are read from the context at each step: held in locals, four lanes' pointers are
 * spilled to the stack anyway (BPF has ten registers), and two or three lanes' kept in
 * registers were no faster (bench/RESULTS.md, "What bounds the scan"). Six instructions a
 * step; four lanes cost their instructions, two wait on their chains of dependent loads. */
#define LANE_STEP(state, c, cls, k)                                                                \
    do {                                                                                           \
        const __u8 *tc_ = *(const __u8 *volatile *)&(c)->t[k];                                     \
        tc_ += *(const __u16 *)((cls) + BW_DFA_LANES_MAP + (k)*2);                                 \
        if (state > BW_DFA_STATE_END - 4)                                                          \
            goto bad;                                                                              \
        state = *(const __u32 *)(tc_ + state);                                                     \
    } while (0)

/* BW_SCAN_BATCH steps of `n` lanes (a constant in each callback, so the lanes past it are
 * not compiled in). */
static __always_inline long lanes_steps(void *ctx, const int n)
{
    struct lanes_ctx *c = ctx;
    struct bw_scan_buf *sb = c->sb;
    __u32 s0 = sb->st.s[0], s1 = sb->st.s[1], s2 = sb->st.s[2], s3 = sb->st.s[3];
    const __u8 *p = sb->dec + (sb->st.pos[0] & (BW_SCAN_BUF - 1));
#pragma unroll
    for (int j = 0; j < BW_SCAN_BATCH; j++) {
        const __u8 *cls = *(const __u8 *volatile *)&c->t[0];
        cls += p[j] * (BW_DFA_TABLES * 2);
        LANE_STEP(s0, c, cls, 0);
        LANE_STEP(s1, c, cls, 1);
        if (n > 2)
            LANE_STEP(s2, c, cls, 2);
        if (n > 3)
            LANE_STEP(s3, c, cls, 3);
    }
    sb = c->sb;
    sb->st.s[0] = s0, sb->st.s[1] = s1;
    if (n > 2)
        sb->st.s[2] = s2;
    if (n > 3)
        sb->st.s[3] = s3;
    sb->st.pos[0] += BW_SCAN_BATCH;
    /* Lane 0's match is the answer (the lowest table); the others' stay in their match
     * states, looked at once the text is done. */
    return s0 >= sb->plan.state[0];
bad:
    return 1;
}

/* One callback for every lane count, so that scan_lanes has one bpf_loop call with one
 * callback: the verifier inlines only such a call. Three callbacks at three calls were merged
 * by clang into one call whose callback is chosen at run time, which the kernel then ran
 * through the bpf_loop helper, an indirect call (a retpoline here) per 16 bytes. The branch on
 * the count is the same at every call, so it is predicted. */
static long lanes_cb(__u64 idx, void *ctx)
{
    __u32 n = ((struct lanes_ctx *)ctx)->sb->st.lanes;
    if (n == 2)
        return lanes_steps(ctx, 2);
    if (n == 3)
        return lanes_steps(ctx, 3);
    return lanes_steps(ctx, 4);
}

__noinline __u32 scan_lanes(struct bw_scan_buf *sb, const struct bw_config *cfg, __u32 gen,
                            __u32 http)
{
    if (!sb || !cfg)
        return 0;
    /* The lanes' accept offsets wait in plan.state[] (the stack is spent by the callers). The
     * lanes past the policy's tables are set up on table 0, never run and never match. */
    struct lanes_ctx lc = {.sb = sb};
    __u32 len = sb->dec_len;
#pragma unroll
    for (int k = 0; k < BW_SCAN_STREAMS; k++) {
        __u32 i = k < cfg->ndfa ? k : 0;
        const struct bw_dfa *d = &cfg->dfa[i & (BW_DFA_TABLES - 1)];
        __u32 key = gen * BW_DFA_TABLES + (i & (BW_DFA_TABLES - 1));
        lc.t[k] = bpf_map_lookup_elem(&automaton, &key);
        if (!lc.t[k])
            return 0;
        sb->st.s[k] = d->start[http ? BW_START_REQUEST : BW_START_MID];
        sb->plan.state[k] = k < cfg->ndfa ? d->accept : 0xffffffff;
    }
    sb->st.pos[0] = 0;
    sb->plan.steps = (len + BW_SCAN_BATCH - 1) / BW_SCAN_BATCH * BW_SCAN_BATCH;
    pad_text(sb, 0, (sb->plan.steps - len) / 8 + 1);
    sb->st.lanes = cfg->ndfa;
    bpf_loop(sb->plan.steps / BW_SCAN_BATCH, lanes_cb, &lc, 0);
#pragma unroll
    for (int k = 0; k < BW_SCAN_STREAMS; k++) {
        __u32 s = sb->st.s[k];
        if (s >= sb->plan.state[k])
            return pattern_of(&cfg->dfa[k & (BW_DFA_TABLES - 1)], s);
    }
    return 0;
}

/* The control bytes of raw[pos, pos + 8 * steps) (bw_cut_binary_body). */
struct binary_ctx {
    struct bw_scan_buf *sb;
    __u32 pos;
    __u32 ctl;
};

/* Four words a step (a step's overhead is as much as a word's count), then the rest one by
 * one: the same words the userspace scan counts. */
static long binary4_cb(__u64 i, void *ctx)
{
    struct binary_ctx *c = ctx;
    const __u8 *p = &c->sb->raw[c->pos & (BW_SCAN_BUF - 1)];
    c->ctl += bw_ctl_bytes(BW_LOAD64(p)) + bw_ctl_bytes(BW_LOAD64(p + 8)) +
              bw_ctl_bytes(BW_LOAD64(p + 16)) + bw_ctl_bytes(BW_LOAD64(p + 24));
    c->pos += 32;
    return 0;
}

static long binary1_cb(__u64 i, void *ctx)
{
    struct binary_ctx *c = ctx;
    c->ctl += bw_ctl_bytes(BW_LOAD64(&c->sb->raw[c->pos & (BW_SCAN_BUF - 1)]));
    c->pos += 8;
    return 0;
}

/* The control bytes in the whole words of raw[from, len). */
static __always_inline __u32 count_ctl(struct bw_scan_buf *sb, __u32 from, __u32 len)
{
    struct binary_ctx b = {.sb = sb, .pos = from};
    __u32 words = (len - from) / 8;
    bpf_loop(words / 4, binary4_cb, &b, 0);
    bpf_loop(words % 4, binary1_cb, &b, 0);
    return b.ctl;
}

/* Whether `sb`'s raw[0, len), a segment that starts no request (all body), is binary: then
 * it need not even be decoded (bw_cut_binary_body would leave nothing to scan). Global, so
 * that what it learns of `len` does not split the verifier's walk of the decoder. */
__noinline int binary_segment(struct bw_scan_buf *sb, const struct bw_config *cfg, __u32 len,
                              __u32 http)
{
    if (!sb || !cfg || http || cfg->scan_binary || len < BW_BINARY_MIN || len > BW_SCAN_BUF)
        return 0;
    return bw_binary_body(len, count_ctl(sb, 0, len));
}

/* Decodes raw[0, len) of `sb` and runs the policy's tables over it in order; a binary body
 * (bw_cut_binary_body) is left out. */
__noinline __u32 inspect_patterns(struct bw_scan_buf *sb, const struct bw_config *cfg, __u32 gen,
                                  __u32 len, __u32 http)
{
    if (!sb || !cfg)
        return 0;
    if (binary_segment(sb, cfg, len, http))
        return 0;
    struct decode_ctx c = {.sb = sb};
    __builtin_memset(&sb->d, 0, sizeof sb->d);
    sb->d.len = len;
    sb->d.in_headers = http;
    bpf_loop(BW_MAX_SCAN_BYTES + 1, decode_cb, &c, 0);
    bw_decode_finish(sb, &sb->d);
    /* The payload's bytes as decoded: fewer than copied when its body was de-chunked. */
    len = sb->d.len;
    __u32 from = sb->raw_hdr_end;
    if (http && !cfg->scan_binary && len >= from + BW_BINARY_MIN &&
        !bw_cut_binary_body(sb, len, count_ctl(sb, from, len)))
        return 0;
    if (cfg->ndfa > 1 && !cfg->any_raw)
        return scan_lanes(sb, cfg, gen, http);
    for (__u32 i = 0; i < BW_DFA_TABLES; i++) {
        if (i >= cfg->ndfa)
            break;
        __u32 m = scan_table(sb, cfg, gen, i, http);
        if (m)
            return m;
    }
    return 0;
}

/* The bucket of one limit kind in the source's entry (the row p->row), then in its aggregate's
 * when it has one. */
static __always_inline int conform_kind(const struct bw_config *cfg, const struct pkt *p,
                                        struct bw_source *src, struct bw_source *agg, __u32 kind,
                                        __u64 now)
{
    const struct bw_rate *r = &cfg->rates[p->row & (BW_RATE_ROWS - 1)][kind];
    if (r->interval_ns && !conform(&src->tat[kind], r->interval_ns, r->tau_ns, now))
        return 0;
    r = &cfg->rates[BW_RATES_AGGREGATE][kind];
    return !agg || !r->interval_ns || conform(&agg->tat[kind], r->interval_ns, r->tau_ns, now);
}

/* Copies the TCP payload's first bytes, at most `max` (<= BW_SCAN_BUF), into sb->raw: their
 * count, or 0 when there is none or the copy failed. The length is an identity spelled so that
 * the 6.1 verifier sees it >= 1: it learns no lower bound from "len != 0", and
 * bpf_xdp_load_bytes refuses a length that may be zero. The empty asm keeps clang from folding
 * the mask away. */
static __always_inline __u32 load_payload(struct xdp_md *ctx, const struct pkt *p,
                                          struct bw_scan_buf *sb, __u32 max)
{
    __u32 len = p->payload_len < max ? p->payload_len : max;
    if (len == 0)
        return 0;
    __u32 len1 = len - 1;
    asm volatile("" : "+r"(len1));
    len = (len1 & (BW_SCAN_BUF - 1)) + 1;
    return bpf_xdp_load_bytes(ctx, p->payload_off, sb->raw, len) ? 0 : len;
}

/* Whether the payload has bytes past the `len` loaded that a whole load (BW_MAX_SCAN_BYTES)
 * would add. */
static __always_inline int unloaded(const struct pkt *p, __u32 len)
{
    return len < p->payload_len && len < BW_MAX_SCAN_BYTES;
}

struct blank_ctx {
    struct bw_scan_buf *sb;
    __u32 pos;
    __u32 len;
};

static long blank_cb(__u64 i, void *ctx)
{
    struct blank_ctx *c = ctx;
    if (!c->sb || c->pos >= c->len)
        return 1;
    __u32 n = bw_blank_lead(BW_LOAD64(&c->sb->raw[c->pos & (BW_SCAN_BUF - 1)]));
    c->pos += n;
    return n < 8;
}

/* A payload whose first byte is CR or LF (sb->raw holds `len` of its bytes): when a request
 * line follows the run of CR and LF bytes, the run is left out of the payload, as the server
 * leaves it (bw_blank_lead), and `want` bytes from the request line loaded instead; otherwise
 * (a body's text) the payload stays as it is. Before, "\r\nPOST /login" was no request: no
 * request bucket, no rule, and a scan window spent on the empty lines. Returns the bytes
 * loaded. */
static __always_inline __u32 skip_blank_lines(struct xdp_md *ctx, struct pkt *p,
                                              struct bw_scan_buf *sb, __u32 want, __u32 len)
{
    if (unloaded(p, len))
        len = load_payload(ctx, p, sb, BW_MAX_SCAN_BYTES);
    struct blank_ctx c = {.sb = sb, .len = len};
    bpf_loop(BW_MAX_SCAN_BYTES / 8 + 1, blank_cb, &c, 0);
    if (c.pos < len) {
        p->payload_off += c.pos;
        p->payload_len -= c.pos;
        __u32 n = load_payload(ctx, p, sb, want);
        if (is_http_request(sb, n))
            return n;
        p->payload_off -= c.pos;
        p->payload_len += c.pos;
    }
    return load_payload(ctx, p, sb, want);
}

/* load_payload for a payload that may start a request: from its request line when empty lines
 * lead it (skip_blank_lines). */
static __always_inline __u32 load_request(struct xdp_md *ctx, struct pkt *p, struct bw_scan_buf *sb,
                                          __u32 want)
{
    __u32 len = load_payload(ctx, p, sb, want);
    if (len && (sb->raw[0] == '\r' || sb->raw[0] == '\n'))
        len = skip_blank_lines(ctx, p, sb, want, len);
    return len;
}

/* The packet's policy and the scratch buffer: 0 if either is missing (never, once loaded). */
static __always_inline int inspect_maps(const struct pkt *p, struct bw_config **cfg,
                                        struct bw_scan_buf **buf)
{
    __u32 zero = 0, gen = p->gen & (BW_GENERATIONS - 1);
    *cfg = bpf_map_lookup_elem(&config, &gen);
    *buf = bpf_map_lookup_elem(&scratch, &zero);
    return *cfg && *buf;
}

/* The rule of the request whose first p->loaded bytes are in the scratch buffer, then the
 * request buckets (the source's, then its aggregate's when `agg`) unless the rule exempts it.
 * Returns the drop reason (p->detail the rule for a rule's) or BW_PASS. Global: verified once,
 * called for each request of a segment. */
__noinline __u32 request_limits(struct xdp_md *ctx, struct pkt *p, struct bw_source *src,
                                struct bw_source *agg, __u64 now)
{
    struct bw_config *cfg;
    struct bw_scan_buf *buf;
    if (!p || !src || !inspect_maps(p, &cfg, &buf))
        return BW_PASS;
    __u32 gen = p->gen & (BW_GENERATIONS - 1);
    if (p->cls == BW_CLASS_PROXY)
        return BW_PASS; /* a proxy's own requests: no limits */
    __u32 len = p->loaded;
    int exempt = 0;
    if (cfg->nrules) {
        struct bw_rules *rs = bpf_map_lookup_elem(&rules, &gen);
        /* the rules resolve the whole path (bw_rule_line_step), which may run past the bytes
         * the scan wants: the rest is loaded only for a line that must be built */
        __u32 rule = match_rule(rs, cfg->nrules, buf, len, unloaded(p, len));
        if (rule == RULE_LOAD_MORE) {
            len = load_payload(ctx, p, buf, BW_MAX_SCAN_BYTES);
            if (len == 0)
                return BW_PASS;
            p->loaded = len;
            rule = match_rule(rs, cfg->nrules, buf, len, 0);
        }
        if (rule == RULE_UNRESOLVED) {
            /* a path nested past what the rules resolve, then climbed out with "..": no client
             * does it but one dodging a rule */
            p->detail = 0;
            return BW_DROP_RULE;
        }
        if (rs && rule && rule <= BW_MAX_RULES) {
            /* masked past clang, which drops the mask after the test above: the 6.1 verifier
             * bounds the index only through it */
            struct bw_rule *r = &rs->r[BW_MASKED(rule - 1, BW_MAX_RULES - 1)];
            if (r->action == BW_RULE_EXEMPT) {
                exempt = 1;
            } else {
                struct bw_rule_key rk = {.epoch = cfg->epoch, .rule = rule - 1};
                __builtin_memcpy(&rk.src, &p->key, sizeof rk.src);
                __u64 fresh = 0;
                __u64 *tat = lookup_or_try_init(&rule_buckets, &rk, &fresh);
                /* A bucket that cannot be tracked fails closed, like a source. */
                if (!conform(tat, r->rate.interval_ns, r->rate.tau_ns, now)) {
                    p->detail = rule;
                    return BW_DROP_RULE;
                }
            }
        }
    }
    if (!exempt && !conform_kind(cfg, p, src, agg, BW_LIMIT_REQUESTS, now))
        return BW_DROP_RATE_REQUESTS;
    return BW_PASS;
}

/* next_request's answer when no request follows the one at the payload's start. */
#define NO_NEXT_REQUEST 0xffffffffu

/* The request after the one at the payload's start (p->payload_off), framed where the server
 * will read it (bw_frame_request): the payload is moved to it and it is held to its rule and
 * the request buckets (request_limits). Returns NO_NEXT_REQUEST when there is none in the
 * segment (or the one there cannot be framed), else request_limits' answer. Global: verified
 * once, called for each request of a segment. */
__noinline __u32 next_request(struct xdp_md *ctx, struct pkt *p, struct bw_source *src,
                              struct bw_source *agg, __u64 now)
{
    __u32 zero = 0;
    struct bw_scan_buf *buf = bpf_map_lookup_elem(&scratch, &zero);
    if (!p || !buf)
        return NO_NEXT_REQUEST;
    __u32 len = load_payload(ctx, p, buf, BW_MAX_SCAN_BYTES);
    if (len == 0 || bw_frame_request(buf, len) != BW_FRAME_END || buf->fr.end >= p->payload_len)
        return NO_NEXT_REQUEST;
    __u32 end = buf->fr.end;
    p->payload_off += end;
    p->payload_len -= end;
    len = load_request(ctx, p, buf, BW_MAX_RULE_LEN);
    if (len == 0 || !is_http_request(buf, len))
        return NO_NEXT_REQUEST; /* the server answers 400 and closes */
    p->loaded = len;
    return request_limits(ctx, p, src, agg, now);
}

/* The requests pipelined after the first in the segment (HTTP/1.1 lets a client send the next
 * before the answer), each held to its rule and the request buckets as the first was: before,
 * a segment of "GET /" and then logins was one request, a GET, to the limits. The pattern scan
 * has read them as the first's body. The payload is left as it was. */
__noinline __u32 pipelined(struct xdp_md *ctx, struct pkt *p, struct bw_source *src,
                           struct bw_source *agg, __u64 now)
{
    if (!p)
        return BW_PASS;
    __u32 off = p->payload_off, len = p->payload_len, reason = BW_PASS;
    for (__u32 i = 1; i < BW_MAX_PIPELINED; i++) {
        reason = next_request(ctx, p, src, agg, now);
        if (reason != BW_PASS)
            break;
    }
    p->payload_off = off;
    p->payload_len = len;
    return reason == NO_NEXT_REQUEST ? BW_PASS : reason;
}

/* Whether a request in the packet's row counts against anything: rules or a request limit. */
static __always_inline int requests_limited(const struct bw_config *cfg, const struct pkt *p)
{
    return cfg->nrules || cfg->rates[p->row & (BW_RATE_ROWS - 1)][BW_LIMIT_REQUESTS].interval_ns ||
           cfg->rates[BW_RATES_AGGREGATE][BW_LIMIT_REQUESTS].interval_ns;
}

/* Inspected-port payloads: rules and the request buckets for each request (request_limits,
 * pipelined), the pattern scan. Returns the drop reason and sets p->detail, or BW_PASS.
 * Global: verified once, with its loops. */
__noinline __u32 inspect(struct xdp_md *ctx, struct pkt *p, struct bw_source *src,
                         struct bw_source *agg, __u64 now)
{
    struct bw_config *cfg;
    struct bw_scan_buf *buf;
    if (!p || !src || !inspect_maps(p, &cfg, &buf))
        return BW_PASS;
    __u32 gen = p->gen & (BW_GENERATIONS - 1);
    /* scan_bytes is at most BW_MAX_SCAN_BYTES (the policy's bound). */
    __u32 want = cfg->scan_bytes > BW_MAX_RULE_LEN ? cfg->scan_bytes : BW_MAX_RULE_LEN;
    __u32 len = load_request(ctx, p, buf, want);
    if (len == 0)
        return BW_PASS;

    int http = is_http_request(buf, len);
    if (http) {
        p->loaded = len;
        __u32 reason = request_limits(ctx, p, src, agg, now);
        if (reason != BW_PASS)
            return reason;
        len = p->loaded;
    }
    __u32 n = len < cfg->scan_bytes ? len : cfg->scan_bytes;
    /* The decoder's (when it runs) says where the headers end: 0 until then. */
    buf->raw_hdr_end = 0;
    if (n && cfg->ndfa) {
        __u32 m = inspect_patterns(buf, cfg, gen, n, http);
        if (m) {
            __u32 k = gen * BW_MAX_PATTERNS + ((m - 1) & (BW_MAX_PATTERNS - 1));
            __u64 *hits = bpf_map_lookup_elem(&pattern_hits, &k);
            if (hits)
                *hits += 1;
            p->detail = m;
            return BW_DROP_PATTERN;
        }
    }
    /* Another request may follow in the segment only after the headers end before its end
     * (pipelined(), called by the entry: a call deeper would pass the 512-byte stack). */
    p->pipelined = http && p->cls != BW_CLASS_PROXY && requests_limited(cfg, p) &&
                   (n < p->payload_len || buf->raw_hdr_end < n);
    return BW_PASS;
}

/* The source's CIDR class (one LPM lookup in the packet's generation, most specific prefix wins)
 * and its bucket key, masked to the policy's key prefix. */
static __always_inline void classify(const struct bw_config *cfg, struct pkt *p)
{
    __u32 *cls = 0;
    if (p->key.family == 4) {
        struct bw_lpm_v4 k = {.prefixlen = BW_LPM_GEN_BITS + 32, .gen = p->gen};
        __builtin_memcpy(k.addr, p->src, 4);
        if (cfg->lists_v4)
            cls = bpf_map_lookup_elem(&lists_v4, &k);
    } else if (cfg->lists_v6) {
        struct bw_lpm_v6 k = {.prefixlen = BW_LPM_GEN_BITS + 128, .gen = p->gen};
        __builtin_memcpy(k.addr, p->src, 16);
        cls = bpf_map_lookup_elem(&lists_v6, &k);
    }
    p->cls = cls ? *cls : BW_CLASS_DEFAULT;
    p->row = p->cls == BW_CLASS_SUSPICIOUS ? BW_CLASS_SUSPICIOUS : BW_CLASS_DEFAULT;
    p->key.kind = BW_KEY_SOURCE;
    __builtin_memcpy(p->key.addr, p->src, 16);
    bw_mask_key(&p->key, cfg->key_prefix_v4, cfg->key_prefix_v6);
}

/* The packet bucket, then the connection bucket for a TCP SYN without ACK: the source's (or the
 * aggregate it shares), then its aggregate's. Returns the drop reason or BW_PASS. */
static __always_inline __u32 police(const struct bw_config *cfg, const struct pkt *p,
                                    struct bw_source *src, struct bw_source *agg, __u64 now)
{
    if (p->cls == BW_CLASS_PROXY)
        return BW_PASS; /* its clients are limited, one by one */
    if (!conform_kind(cfg, p, src, agg, BW_LIMIT_PACKETS, now))
        return BW_DROP_RATE_PACKETS;
    if (p->l4 == IPPROTO_TCP && p->syn_only &&
        !conform_kind(cfg, p, src, agg, BW_LIMIT_CONNECTIONS, now))
        return BW_DROP_RATE_CONNECTIONS;
    return BW_PASS;
}

/* The event of a CPU's spray mode turning on (detail 1) or off (detail 0, extra: seconds on).
 * Not throttled: a CPU turns it on at most once a second. */
static __always_inline void spray_event(const struct pkt *p, __u32 on, __u64 secs, __u64 now)
{
    struct bw_event *e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
    if (!e) {
        __u32 zero = 0;
        __u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);
        if (lost)
            *lost += 1;
        return;
    }
    fill_event(e, p, BW_EVENT_SPRAY, on, now);
    e->extra = (__u32)secs;
    bpf_ringbuf_submit(e, 0);
}

/* Whether a source that `sources` does not hold may have an entry of its own: this CPU's new
 * sources within limits.new_sources (per CPU, as Katran limits new flows per core, so CPUs never
 * contend for it). The first refusal turns spray mode on: from then on no source gets an entry,
 * so however long a spray lasts it never evicts a tracked source, until untracked packets have
 * stayed within the rate for a quiet second. Every packet refused counts as shared. Global:
 * verified once. */
__noinline int admit(const struct pkt *p, __u64 now)
{
    __u32 zero = 0;
    if (!p)
        return 1;
    __u32 gen = p->gen;
    struct bw_config *cfg = bpf_map_lookup_elem(&config, &gen);
    struct bw_spray *s = bpf_map_lookup_elem(&spray, &zero);
    if (!cfg || !s || !cfg->sprays.new_sources.interval_ns)
        return 1;
    struct bw_rate r = cfg->sprays.new_sources;
    __u64 next;
    if (bw_gcra(s->tat, now, &r, &next)) {
        s->tat = next;
        if (s->on_since) {
            if (now - s->last_refused <= BW_SPRAY_QUIET_NS) {
                s->shared++;
                return 0;
            }
            spray_event(p, 0, (now - s->on_since) / 1000000000ULL, now);
            s->on_since = 0;
        }
        s->admitted++;
        return 1;
    }
    if (!s->on_since) {
        s->on_since = now;
        s->episodes++;
        spray_event(p, 1, 0, now);
    }
    s->last_refused = now;
    s->shared++;
    return 0;
}

/* The `seen` filter's entry of the packet's source key, and its bit there. */
static __always_inline struct bw_seen *seen_entry(const struct pkt *p, __u32 mask, __u32 *bit)
{
    struct bw_source_key key; /* on the stack: a global function's argument is no map key */
    __builtin_memcpy(&key, &p->key, sizeof key);
    __u32 index;
    bw_seen_slot(&key, mask, &index, bit);
    return bpf_map_lookup_elem(&seen, &index);
}

/* Whether the source's lookup in `sources` can be skipped: the `seen` filter says the table
 * does not hold it, so it is untracked (a tracked source seen within the last epoch is always
 * in the filter). Asked only in spray mode. Global: verified once. */
__noinline int skip_lookup(const struct pkt *p, __u64 epoch, __u32 mask)
{
    if (!p)
        return 0;
    __u32 bit;
    struct bw_seen *e = seen_entry(p, mask, &bit);
    return e && !bw_seen_has(e, epoch, bit);
}

/* A tracked source's bit in this epoch's word of the filter (its entry remembers the epoch, so
 * this runs once per source and epoch). Global: verified once. */
__noinline int mark_seen(const struct pkt *p, __u64 epoch, __u32 mask)
{
    if (!p)
        return 0;
    __u32 bit;
    struct bw_seen *e = seen_entry(p, mask, &bit);
    if (!e)
        return 0;
    __u64 *w = &e->w[epoch & 1];
    /* Two turns at most: a failed swap means another CPU started the word for this epoch. */
    for (int i = 0; i < 3; i++) {
        __u64 old = *(volatile __u64 *)w;
        if (bw_seen_word_has(old, epoch, bit))
            return 1;
        if ((old >> BW_SEEN_BITS) == (epoch & 0xff)) {
            __sync_fetch_and_or(w, 1ULL << bit);
            return 1;
        }
        if (__sync_val_compare_and_swap(w, old, bw_seen_word_set(old, epoch, bit)) == old)
            return 1;
    }
    return 0;
}

/* The key of the source's aggregate: its address masked to the aggregate prefix. */
static __always_inline void aggregate_key(const struct bw_config *cfg, const struct pkt *p,
                                          struct bw_source_key *k)
{
    k->family = p->key.family;
    k->kind = BW_KEY_AGGREGATE;
    __builtin_memcpy(k->addr, p->src, 16);
    bw_mask_key(k, cfg->sprays.prefix_v4, cfg->sprays.prefix_v6);
}

/* An untracked source's packet in spray mode: its key becomes its aggregate's, held to the
 * shared limits, and its drops are no offences (a ban of the aggregate would reach the sources
 * tracked in it). */
static __always_inline void share(const struct bw_config *cfg, struct pkt *p)
{
    aggregate_key(cfg, p, &p->key);
    p->row = BW_RATES_SHARED;
    p->ban_reasons = 0;
}

/* A version 1 line, stepped a byte at a time (bw_proxy_v1_step) from a bpf_loop, its state in
 * the per-CPU proxy_state map: the verifier checks the step once. */
struct v1_ctx {
    const __u8 *b;
    struct bw_proxy_v1 *st;
    __u32 len;
    __u32 pos;
    int result;
};

/* Global: the step's branches are verified once, not once per path into the loop. */
__noinline int v1_step(struct bw_proxy_v1 *st, __u32 ch)
{
    if (!st)
        return BW_PROXY_BAD;
    return bw_proxy_v1_step(st, (__u8)ch);
}

static long v1_cb(__u64 i, void *ctx)
{
    struct v1_ctx *c = ctx;
    __u32 pos = c->pos;
    if (pos >= c->len || pos >= BW_PROXY_V1_MAX) {
        c->result = BW_PROXY_BAD; /* no CRLF in the segment, or within 107 bytes */
        return 1;
    }
    int r = v1_step(c->st, c->b[pos & (BW_SCAN_BUF - 1)]);
    c->pos = pos + 1;
    if (r) {
        c->result = r;
        return 1;
    }
    return 0;
}

/* The PROXY header at the start of the connection's first data segment, into `v` (state,
 * client, hdr_len). Returns 0, or BW_PROXY_BAD for a malformed one. */
static __always_inline int read_header(struct xdp_md *ctx, const struct pkt *p,
                                       struct bw_proxied *v)
{
    __u32 zero = 0;
    struct bw_scan_buf *sb = bpf_map_lookup_elem(&scratch, &zero);
    struct bw_proxy_v1 *st = bpf_map_lookup_elem(&proxy_state, &zero);
    if (!sb || !st)
        return 0;
    __u32 len = load_payload(ctx, p, sb, BW_PROXY_V1_MAX + 1);
    if (len == 0)
        return 0;
    struct bw_proxy_client *c = &st->client;
    c->family = 0;
    int n = bw_proxy_v2(sb->raw, len, c);
    if (n == 0) {
        struct v1_ctx vc = {.b = sb->raw, .st = st, .len = len};
        int at = bw_proxy_v1_begin(sb->raw, len, st);
        if (at > 0) {
            vc.pos = at;
            bpf_loop(BW_PROXY_V1_MAX, v1_cb, &vc, 0);
            n = vc.result == 1 ? (int)vc.pos : BW_PROXY_BAD;
        } else {
            n = at;
        }
    }
    v->state = n < 0 ? BW_PROXIED_BAD : BW_PROXIED_NONE;
    if (n <= 0)
        return n; /* no header: the proxy's own connection */
    v->hdr_len = n < (int)p->payload_len ? n : p->payload_len;
    if (c->family) {
        v->state = BW_PROXIED_CLIENT;
        v->family = c->family;
        v->port = c->port;
        __builtin_memcpy(v->addr, c->addr, 16);
    }
    return 0;
}

/* A packet from a proxy (lists.proxies): whose is it? A SYN opens the connection's entry; the
 * first data segment, where the sequence number says it is the first, may carry a PROXY
 * header (v1 or v2), which names the client for the connection's life; a FIN or RST ends it.
 * A header anywhere else is payload like any other. Returns 1 when the packet is a client's
 * (p->src and p->key.family are the client's, and the header is taken off the payload), 0 when
 * it is the proxy's own, -1 for data of a connection whose header was malformed. Global:
 * verified once. */
__noinline int via_proxy(struct xdp_md *ctx, struct pkt *p)
{
    if (!p || p->l4 != IPPROTO_TCP)
        return 0;
    struct bw_flow_key fk = {.family = p->key.family, .sport = p->sport, .dport = p->dport};
    __builtin_memcpy(fk.addr, p->src, 16);
    if (p->syn_only) {
        struct bw_proxied fresh = {.data_seq = p->seq + 1, .state = BW_PROXIED_AWAIT};
        bpf_map_update_elem(&proxied, &fk, &fresh, BPF_ANY);
        return 0;
    }
    struct bw_proxied *v = bpf_map_lookup_elem(&proxied, &fk);
    if (!v)
        return 0;
    int ret = 0;
    __u32 skip = 0;
    if (v->state == BW_PROXIED_AWAIT && p->payload_len) {
        if (p->seq != v->data_seq)
            v->state = BW_PROXIED_NONE; /* data, but not the first: no header is believed */
        else if (read_header(ctx, p, v) < 0)
            ret = -1;
        else
            skip = v->hdr_len;
    } else if (v->state != BW_PROXIED_AWAIT && p->seq == v->data_seq &&
               p->payload_len >= v->hdr_len) {
        skip = v->hdr_len; /* the first segment again: its header is still not payload */
    }
    if (v->state == BW_PROXIED_BAD && p->payload_len)
        ret = -1; /* the malformed header's segment sent again, or what follows it */
    p->payload_off += skip;
    p->payload_len -= skip;
    if (ret == 0 && v->state == BW_PROXIED_CLIENT) {
        p->key.family = v->family;
        p->sport = v->port; /* events name the client's port too */
        __builtin_memcpy(p->src, v->addr, 16);
        ret = 1;
    }
    if (p->fin_rst)
        bpf_map_delete_elem(&proxied, &fk);
    return ret;
}

/* X-Forwarded-For's line: the headers a word at a time, BW_XFF_FIND_WORDS words a bpf_loop step
 * (a step costs more than the test of a word: one a word made the search ~2.5 times as long,
 * bench/RESULTS.md), looking closer only at a word with a '\n' in it, and in it at each '\n'
 * (bw_xff_line), so a request's headers cost a few hundred nanoseconds, not a call per byte.
 * Global: verified once. Returns 1 when the headers end in this word. */
#define BW_XFF_FIND_WORDS 4
__noinline int xff_word(struct bw_scan_buf *sb, struct bw_xff *x, __u32 pos, __u32 len)
{
    if (!sb || !x)
        return 1;
    __u64 m = bw_bytes_eq_all(BW_LOAD64(sb->raw + (pos & (BW_SCAN_BUF - 1))), '\n');
    for (__u32 k = 0; k < 8 && m; k++) {
        __u32 q = pos + bw_first_flagged(m);
        m &= m - 1;
        if (q >= len || q >= BW_MAX_SCAN_BYTES)
            return 1;
        __u32 qm = BW_MASKED(q, BW_SCAN_BUF - 1); /* q < BW_MAX_SCAN_BYTES: for the verifier */
        __u32 value = x->value_at;
        int end = bw_xff_line(sb->raw, qm, len, &value);
        x->value_at = value;
        if (end)
            return 1;
    }
    return 0;
}

struct xff_ctx {
    struct bw_scan_buf *sb;
    struct bw_xff *x;
    __u32 len;
    __u32 pos;
};

static long xff_find_cb(__u64 i, void *ctx)
{
    struct xff_ctx *c = ctx;
    __u32 pos = c->pos;
#pragma unroll
    for (int k = 0; k < BW_XFF_FIND_WORDS; k++) {
        if (pos >= c->len)
            return 1;
        __u64 w = BW_LOAD64(c->sb->raw + (pos & (BW_SCAN_BUF - 1)));
        if (bw_has_byte(w, '\n') && xff_word(c->sb, c->x, pos, c->len))
            return 1;
        pos += 8;
    }
    c->pos = pos;
    return 0;
}

/* The value, a byte at a time. */
__noinline int xff_step(struct bw_xff *x, __u32 ch)
{
    if (!x)
        return 1;
    return bw_xff_step(x, (__u8)ch);
}

static long xff_value_cb(__u64 i, void *ctx)
{
    struct xff_ctx *c = ctx;
    __u32 pos = c->pos;
    if (pos >= c->len)
        return 1;
    c->pos = pos + 1;
    return xff_step(c->x, c->sb->raw[pos & (BW_SCAN_BUF - 1)]) != 0;
}

/* Whether `c` is in lists.proxies (the packet's generation). */
static __always_inline int listed_proxy(__u32 gen, const struct bw_proxy_client *c)
{
    __u32 *cls;
    if (c->family == 4) {
        struct bw_lpm_v4 k = {.prefixlen = BW_LPM_GEN_BITS + 32, .gen = gen};
        __builtin_memcpy(k.addr, c->addr, 4);
        cls = bpf_map_lookup_elem(&lists_v4, &k);
    } else {
        struct bw_lpm_v6 k = {.prefixlen = BW_LPM_GEN_BITS + 128, .gen = gen};
        __builtin_memcpy(k.addr, c->addr, 16);
        cls = bpf_map_lookup_elem(&lists_v6, &k);
    }
    return cls && *cls == BW_CLASS_PROXY;
}

/* A proxy's own request (no PROXY header named a client for its connection): the client its
 * X-Forwarded-For names, the rightmost address there that is not in lists.proxies. Only a
 * whole header line within the segment counts; a token that is no address stops the walk.
 * Returns 1 with the client in p (address, family; the port stays the proxy's), else 0.
 * Global: verified once. */
__noinline int forwarded_client(struct xdp_md *ctx, struct pkt *p)
{
    __u32 zero = 0;
    struct bw_scan_buf *sb = bpf_map_lookup_elem(&scratch, &zero);
    struct bw_xff *x = bpf_map_lookup_elem(&xff_state, &zero);
    if (!p || !sb || !x)
        return 0;
    __u32 len = load_request(ctx, p, sb, BW_MAX_SCAN_BYTES);
    if (len == 0 || !is_http_request(sb, len))
        return 0;
    bw_xff_begin(x);
    struct xff_ctx c = {.sb = sb, .x = x, .len = len};
    bpf_loop(BW_MAX_SCAN_BYTES / (8 * BW_XFF_FIND_WORDS) + 1, xff_find_cb, &c, 0);
    if (!x->value_at)
        return 0; /* no X-Forwarded-For line */
    c.pos = x->value_at;
    bpf_loop(BW_MAX_SCAN_BYTES, xff_value_cb, &c, 0);
    if (!x->complete)
        return 0;
    for (__u32 k = 0; k < BW_XFF_KEEP; k++) {
        if (k >= x->n)
            return 0;
        struct bw_proxy_client *cl = &x->got[(x->n - 1 - k) & (BW_XFF_KEEP - 1)];
        if (!cl->family)
            return 0; /* not an address: nothing to its left was written by a proxy */
        if (listed_proxy(p->gen, cl))
            continue;
        p->key.family = cl->family;
        __builtin_memcpy(p->src, cl->addr, 16);
        return 1;
    }
    return 0; /* more proxies in a row than are kept */
}

/* Whether the TCP destination port is in the policy's inspected set. */
static __always_inline int port_inspected(const struct pkt *p)
{
    struct bw_ports *ports_in = bpf_map_lookup_elem(&ports, &p->gen);
    return ports_in && (ports_in->bits[(p->dport >> 3) & 8191] >> (p->dport & 7)) & 1;
}

/* Whether the TCP payload goes to inspect(). */
static __always_inline int inspected(const struct pkt *p)
{
    return p->l4 == IPPROTO_TCP && p->payload_len && port_inspected(p);
}

/* Whether a SYN to an inspected port is answered with a cookie rather than passed to the
 * listener. Auto: from the first SYN past the threshold on this CPU until SYNs have kept within
 * it for BW_SYN_QUIET_NS, so a flood hovering at the threshold does not flip the mode at every
 * SYN. Per CPU, like the threshold: no contention. */
static __always_inline int want_cookie(const struct bw_config *cfg, __u64 now)
{
    if (cfg->syn.mode == BW_COOKIES_ALWAYS)
        return 1;
    __u32 zero = 0;
    struct bw_syn *s = bpf_map_lookup_elem(&syn, &zero);
    if (!s)
        return 1;
    __u64 tat;
    if (bw_gcra(s->tat, now, &cfg->syn.threshold, &tat)) {
        s->tat = tat;
        if (s->on_since && now - s->last_over > BW_SYN_QUIET_NS)
            s->on_since = 0;
        return s->on_since != 0;
    }
    s->last_over = now;
    if (!s->on_since) {
        s->on_since = now;
        s->episodes++;
    }
    return 1;
}

struct opts_walk {
    const __u8 *o;
    struct bw_tcp_opts *co;
    __u32 len;
    __u32 at;
};

static long opts_cb(__u64 i, void *ctx)
{
    struct opts_walk *w = ctx;
    return bw_tcp_opt_step(w->o, w->len, &w->at, w->co);
}

/* The client's SYN options: at most 40 bytes at `off`, copied (the 6.1 verifier cannot bound a
 * walk through packet memory of a length read from the packet). */
static __always_inline int syn_options(struct xdp_md *ctx, __u32 off, __u32 len, __u8 *buf,
                                       struct bw_tcp_opts *co)
{
    bw_tcp_opts_init(co);
    if (len > BW_TCP_OPTS_MAX)
        return -1;
    /* len again, 1..64 where the 6.1 verifier can see it is not 0 */
    if (len && bpf_xdp_load_bytes(ctx, off, buf, BW_MASKED(len - 1, 63) + 1) < 0)
        return -1;
    struct opts_walk w = {.o = buf, .co = co, .len = len};
    bpf_loop(BW_TCP_OPTS_MAX, opts_cb, &w, 0);
    return 0;
}

/* The SYN-ACK's TCP header, built on the stack: options, then the checksum over the pseudo
 * header (`sum`: the addresses, protocol and length already added). */
struct synack {
    struct tcphdr th;
    __u8 o[20];
};

static __always_inline __u32 synack_build(struct synack *sa, const struct tcphdr *th, __u32 cookie,
                                          const struct bw_tcp_opts *co, __u16 mss, __u32 wscale)
{
    __builtin_memset(sa, 0, sizeof(*sa));
    sa->th.source = th->dest;
    sa->th.dest = th->source;
    sa->th.seq = bpf_htonl(cookie);
    sa->th.ack_seq = bpf_htonl(bpf_ntohl(th->seq) + 1);
    sa->th.syn = 1;
    sa->th.ack = 1;
    /* A zero window, as netfilter SYNPROXY's own SYN-ACK has: the client may not send data
     * until SYNPROXY has the listener's connection and opens the window. */
    sa->th.window = 0;
    __u32 tsval = co->ts ? bw_cookie_tsval(bpf_ktime_get_ns(), co) : 0;
    __u32 olen = bw_synack_opts(sa->o, co, mss, (__u8)wscale, tsval);
    sa->th.doff = (sizeof(sa->th) + olen) / 4;
    return sizeof(sa->th) + olen;
}

/* The MSS the SYN-ACK offers: the interface's MTU less the IP and TCP headers. */
static __always_inline __u16 our_mss(struct xdp_md *ctx, __u32 headers)
{
    __u32 mtu = 0;
    bpf_check_mtu(ctx, 0, &mtu, 0, 0);
    if (mtu < 576 || mtu > 65535)
        mtu = mtu > 65535 ? 65535 : 1500;
    return mtu - headers;
}

/* The client's SYN header with only its MSS option: what the kernel's cookie encodes. */
struct syn_mss {
    struct tcphdr th;
    __u8 mss[4];
};

/* The client's options into `co` and its header, MSS only, into `h`; `th` is checked against
 * the packet's end by the caller. -1: left to the listener (a bad header or options). */
static __always_inline int syn_header(struct xdp_md *ctx, const struct tcphdr *th, __u32 opts_off,
                                      __u8 *ob, struct bw_tcp_opts *co, struct syn_mss *h)
{
    if (th->doff < 5 || syn_options(ctx, opts_off, th->doff * 4 - sizeof(*th), ob, co))
        return -1;
    __builtin_memcpy(&h->th, th, sizeof(h->th));
    h->th.doff = co->mss ? 6 : 5;
    h->mss[0] = BW_TCPOPT_MSS;
    h->mss[1] = 4;
    h->mss[2] = co->mss >> 8;
    h->mss[3] = co->mss & 0xff;
    return 0;
}

/* Answers the SYN in the frame with a SYN-ACK carrying the kernel's SYN cookie, in place: the
 * frame goes back out where it came from (XDP_TX). Returns 1 when the frame is the answer, 0
 * when it is left as it was for the listener (IPv4 options, IPv6 extension headers, a cookie
 * the kernel will not make, a frame with no room for the options), -1 when it was changed but
 * could not be finished (drop it). Global: verified once. */
__noinline int syn_cookie(struct xdp_md *ctx, __u32 wscale)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return 0;
    __u32 l3 = sizeof(*eth);
    __u16 proto = eth->h_proto;
#pragma unroll
    for (int i = 0; i < VLAN_MAX; i++) {
        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
            break;
        struct vlan_hdr *v = data + l3;
        if ((void *)(v + 1) > data_end)
            return 0;
        proto = v->proto;
        l3 += sizeof(*v);
    }
    __u8 ob[64] = {}; /* the walk may read past the copied bytes (masked): 6.1 wants them set */
    struct bw_tcp_opts co;
    struct synack sa;
    struct syn_mss h;
    __u32 sum = 0, tcp_len;
    __s64 cookie;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = data + l3;
        if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
            return 0;
        struct tcphdr *th = (void *)(ip + 1);
        if ((void *)(th + 1) > data_end ||
            syn_header(ctx, th, l3 + sizeof(*ip) + sizeof(*th), ob, &co, &h))
            return 0;
        cookie = bpf_tcp_raw_gen_syncookie_ipv4(ip, &h.th, co.mss ? 24 : 20);
        if (cookie < 0)
            return 0;
        tcp_len = synack_build(&sa, th, (__u32)cookie, &co, our_mss(ctx, 40), wscale);
        sum = bw_csum_add(sum, (const __u8 *)&ip->saddr, 8);
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = data + l3;
        if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
            return 0;
        struct tcphdr *th = (void *)(ip6 + 1);
        if ((void *)(th + 1) > data_end ||
            syn_header(ctx, th, l3 + sizeof(*ip6) + sizeof(*th), ob, &co, &h))
            return 0;
        cookie = bpf_tcp_raw_gen_syncookie_ipv6(ip6, &h.th, co.mss ? 24 : 20);
        if (cookie < 0)
            return 0;
        tcp_len = synack_build(&sa, th, (__u32)cookie, &co, our_mss(ctx, 60), wscale);
        sum = bw_csum_add(sum, (const __u8 *)&ip6->saddr, 32);
    } else {
        return 0;
    }
    /* Pseudo header: the addresses (their sum is the same swapped), protocol, length. */
    sum += IPPROTO_TCP + tcp_len;
    sum = bw_csum_add(sum, (const __u8 *)&sa, tcp_len);
    sa.th.check = bpf_htons(bw_csum_fold(sum));

    __u32 l4 = l3 + (proto == bpf_htons(ETH_P_IP) ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
    int delta = (int)(l4 + tcp_len) - (int)(data_end - data);
    if (delta && bpf_xdp_adjust_tail(ctx, delta) < 0)
        return 0;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    eth = data;
    if ((void *)(eth + 1) > data_end)
        return -1;
    __u8 mac[ETH_ALEN];
    __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
    if (l3 > sizeof(*eth) + VLAN_MAX * sizeof(struct vlan_hdr))
        return -1;
    struct tcphdr *out;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = data + l3;
        if ((void *)(ip + 1) > data_end)
            return -1;
        __be32 a = ip->saddr;
        ip->saddr = ip->daddr;
        ip->daddr = a;
        ip->tos = 0;
        ip->tot_len = bpf_htons(sizeof(*ip) + tcp_len);
        ip->id = 0;
        ip->frag_off = bpf_htons(0x4000); /* DF */
        ip->ttl = 64;
        ip->check = 0;
        ip->check = bpf_htons(bw_csum_fold(bw_csum_add(0, (const __u8 *)ip, sizeof(*ip))));
        out = (void *)(ip + 1);
    } else {
        struct ipv6hdr *ip6 = data + l3;
        if ((void *)(ip6 + 1) > data_end)
            return -1;
        struct in6_addr a = ip6->saddr;
        ip6->saddr = ip6->daddr;
        ip6->daddr = a;
        ip6->priority = 0;
        __builtin_memset(ip6->flow_lbl, 0, sizeof(ip6->flow_lbl));
        ip6->payload_len = bpf_htons(tcp_len);
        ip6->hop_limit = 64;
        out = (void *)(ip6 + 1);
    }
    if (tcp_len == sizeof(struct synack)) {
        if ((void *)out + sizeof(struct synack) > data_end)
            return -1;
        __builtin_memcpy(out, &sa, sizeof(struct synack));
    } else {
        if ((void *)out + sizeof(struct tcphdr) + 4 > data_end)
            return -1;
        __builtin_memcpy(out, &sa, sizeof(struct tcphdr) + 4);
    }
    return 1;
}

/* A new source's or aggregate's entry: read-only data rather than 56 bytes of the stack, which
 * the 6.1 verifier allows 512 bytes across the whole call chain. */
static const struct bw_source fresh_source;

/* parse -> classify (deny, trusted) -> police the source -> inspect the request -> pass. */
SEC("xdp")
int bulwark_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 zero = 0;
    struct pkt p = {};
    __u32 *g = bpf_map_lookup_elem(&policy_gen, &zero);
    p.gen = g ? *g & (BW_GENERATIONS - 1) : 0;
    struct bw_config *cfg = bpf_map_lookup_elem(&config, &p.gen);
    if (!cfg)
        return XDP_DROP; /* never reached once loaded; fail closed */
    p.len = data_end - data;
    p.events_tau_ns = cfg->events.tau_ns;
    p.ban_reasons = cfg->bans.reasons; // 0 without "bans": nothing is an offence

    enum parse_result parsed = parse_packet(data, data_end, &p);
    if (parsed == PARSE_PASS)
        return verdict(ctx, BW_PASS, 0);
    if (parsed == PARSE_MALFORMED || (p.fragment && cfg->drop_fragments))
        return verdict(ctx, BW_DROP_MALFORMED, 0);

    classify(cfg, &p);
    if (p.cls == BW_CLASS_PROXY) {
        int client = via_proxy(ctx, &p);
        if (client < 0)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
        if (!client && inspected(&p))
            client = forwarded_client(ctx, &p);
        if (client)
            classify(cfg, &p); /* the client's lists, and its key */
    }
    __u64 now = cfg->coarse_clock ? bpf_ktime_get_coarse_ns() : bpf_ktime_get_ns();
    if (p.cls == BW_CLASS_DENY)
        return drop(ctx, &p, BW_DROP_DENY, 0, 0, now);
    if (p.cls == BW_CLASS_TRUSTED)
        return verdict(ctx, BW_PASS_TRUSTED, 0);
    if (cfg->bans.for_ns) {
        struct bw_ban *b = bpf_map_lookup_elem(&bans, &p.key);
        if (b) {
            if (now < b->until_ns) {
                __sync_fetch_and_add(&b->drops, 1);
                return drop(ctx, &p, BW_DROP_BANNED, 0, 0, now);
            }
            /* Forgotten: the table has room again and the next ban starts from `for`. */
            if (now - b->until_ns > cfg->bans.forget_ns)
                bpf_map_delete_elem(&bans, &p.key);
        }
    }

    /* A SYN answered with a cookie takes no source entry: a spoofed one never comes back. */
    if (p.syn_only && cfg->syn.mode && port_inspected(&p) && want_cookie(cfg, now)) {
        struct bw_device *dev = bpf_map_lookup_elem(&device, &zero);
        int r = syn_cookie(ctx, dev ? dev->wscale : 0);
        if (r > 0) {
            verdict(ctx, BW_TX_SYN_COOKIE, 0);
            if (dev && dev->tx_redirect)
                return bpf_redirect(ctx->ingress_ifindex, 0);
            return XDP_TX;
        }
        if (r < 0)
            return verdict(ctx, BW_DROP_MALFORMED, 0);
    }

    /* The seen filter's epoch (no filter: new_sources off). */
    __u64 epoch = cfg->sprays.epoch_shift ? now >> (cfg->sprays.epoch_shift & 63) : 0;
    struct bw_source *src = 0;
    struct bw_spray *sp = bpf_map_lookup_elem(&spray, &zero);
    if (!cfg->sprays.epoch_shift || !sp || !sp->on_since ||
        !skip_lookup(&p, epoch, cfg->sprays.seen_mask))
        src = bpf_map_lookup_elem(&sources, &p.key);
    if (!src) {
        if (admit(&p, now)) {
            bpf_map_update_elem(&sources, &p.key, &fresh_source, BPF_NOEXIST);
            src = bpf_map_lookup_elem(&sources, &p.key);
        } else {
            share(cfg, &p);
            src = lookup_or_try_init(&aggregates, &p.key, &fresh_source);
        }
    }
    if (!src) /* cannot track: fail closed */
        return drop(ctx, &p, BW_DROP_RATE_PACKETS, 0, 0, now);
    if (cfg->sprays.epoch_shift && p.row != BW_RATES_SHARED &&
        src->seen_epoch != (__u32)epoch + 1 && mark_seen(&p, epoch, cfg->sprays.seen_mask))
        src->seen_epoch = (__u32)epoch + 1;
    struct bw_source *agg = 0;
    if (cfg->sprays.aggregate_kinds && p.row != BW_RATES_SHARED) {
        struct bw_source_key ak = {};
        aggregate_key(cfg, &p, &ak);
        agg = lookup_or_try_init(&aggregates, &ak, &fresh_source);
        if (!agg)
            return drop(ctx, &p, BW_DROP_RATE_PACKETS, 0, src, now);
    }
    __u32 reason = police(cfg, &p, src, agg, now);
    if (reason == BW_PASS && inspected(&p)) {
        reason = inspect(ctx, &p, src, agg, now);
        if (reason == BW_PASS && p.pipelined)
            reason = pipelined(ctx, &p, src, agg, now);
        if (reason != BW_PASS)
            return drop(ctx, &p, reason, p.detail, src, now);
    }
    if (reason != BW_PASS)
        return drop(ctx, &p, reason, 0, src, now);
    return verdict(ctx, BW_PASS, src);
}
