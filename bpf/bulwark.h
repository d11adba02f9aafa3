/* Structs, enums and pure helpers shared by the XDP program (clang -target bpf) and the C++
 * launcher. Kernel UAPI types only, so it builds on both sides without vmlinux.h. */
#ifndef BULWARK_BPF_H
#define BULWARK_BPF_H

#include <linux/types.h>

/* Verdict reasons: the index of the per-CPU counters and the `reason` of events. */
enum bw_reason {
    BW_PASS = 0,
    BW_PASS_TRUSTED,
    BW_DROP_DENY,
    BW_DROP_RATE_PACKETS,
    BW_DROP_RATE_CONNECTIONS,
    BW_DROP_RATE_REQUESTS,
    BW_DROP_RULE,
    BW_DROP_PATTERN,
    BW_DROP_MALFORMED,
    BW_REASON_MAX,
};

/* What a CIDR list entry makes of a source. The most specific prefix wins. */
enum bw_class {
    BW_CLASS_DEFAULT = 0,
    BW_CLASS_DENY,
    BW_CLASS_TRUSTED,
    BW_CLASS_SUSPICIOUS,
};

/* Which per-source bucket a limit is. */
enum bw_limit_kind {
    BW_LIMIT_PACKETS = 0,
    BW_LIMIT_CONNECTIONS,
    BW_LIMIT_REQUESTS,
    BW_LIMIT_KINDS,
};

/* Policy generations. Every table the policy fills exists twice; `policy_gen` names the one
 * in force. A reload writes the idle generation, flips `policy_gen` with one store, waits for
 * programs already running to finish (an RCU grace period), then clears the old one. A packet
 * reads the generation once, so it sees one whole policy, never a mix. */
#define BW_GENERATIONS 2

/* LPM trie keys: prefixlen first, as the kernel requires. The generation is part of the key,
 * so prefixlen counts its 32 bits plus the CIDR's. */
struct bw_lpm_v4 {
    __u32 prefixlen;
    __u32 gen;
    __u8 addr[4];
};
struct bw_lpm_v6 {
    __u32 prefixlen;
    __u32 gen;
    __u8 addr[16];
};
#define BW_LPM_GEN_BITS 32

/* A rate as GCRA parameters, in nanoseconds: one token per `interval_ns`, and up to `burst`
 * back-to-back (tau = interval * (burst - 1)). interval 0 means unlimited. */
struct bw_rate {
    __u64 interval_ns;
    __u64 tau_ns;
};

/* Per-CPU verdict counters, indexed by enum bw_reason. */
struct bw_counter {
    __u64 packets;
    __u64 bytes;
};

/* Everything the program needs from the policy that is not a table: one array entry. */
struct bw_config {
    struct bw_rate rates[4][BW_LIMIT_KINDS]; /* [enum bw_class][enum bw_limit_kind] */
    __u32 key_prefix_v4;                     /* 1..32 */
    __u32 key_prefix_v6;                     /* 1..128 */
    struct bw_rate events;                   /* per source and reason; interval 0: none */
    __u32 drop_fragments;                    /* non-first IP fragments: 0 pass, 1 drop */
    __u32 scan_bytes;                        /* payload bytes scanned for patterns; 0: none */
    __u32 scan_overlap;                      /* longest pattern - 1: see bw_scan_streams */
    __u32 nrules;
    __u32 epoch; /* changes with every reload: rule buckets of older policies are not reused */
    /* 1: time is the kernel's tick clock (bpf_ktime_get_coarse_ns), chosen when every bucket's
     * tolerance covers a tick, so a tick's worth of packets at the full rate still conforms.
     * Reading kvm-clock costs ~45 ns a packet on a VM; the tick clock ~2 ns. */
    __u32 coarse_clock;
    /* 1 when this generation's CIDR lists hold an entry of the family: otherwise the program
     * skips the LPM lookup (~8 ns a packet). */
    __u32 lists_v4;
    __u32 lists_v6;
    /* Automaton rows (states) this generation uses; for userspace, which zeroes only these
     * when the next policy takes the generation over. */
    __u32 dfa_states;
};

/* A source: its address masked to the key prefix. IPv4 uses the first 4 bytes. */
struct bw_source_key {
    __u8 family; /* 4 or 6 */
    __u8 pad[3];
    __u8 addr[16];
};

/* Per-source state: one GCRA time per limit kind, and what `stats --top` shows. */
struct bw_source {
    __u64 tat[BW_LIMIT_KINDS];
    __u64 passed;
    __u64 dropped;
    __u32 last_reason;
    __u32 pad;
    /* The event gate of the rate reasons (all RATE_LIMIT_EXCEEDED to `bulwark events`), kept
     * here so a flood's drops need no second hash lookup; deny, rules and patterns use the
     * event_gate map. 56 bytes in all: with the kernel's 48-byte element header and the 24-byte
     * key, an LRU element is 128 bytes, two cache lines (72 bytes of value made it three). */
    __u64 event_tat;
};
#ifdef __cplusplus
static_assert(sizeof(struct bw_source) == 56, "an LRU element of sources must stay 128 bytes");
#else
_Static_assert(sizeof(struct bw_source) == 56, "an LRU element of sources must stay 128 bytes");
#endif

/* Where and how the program is attached and which policy is in force, for `stats`, `events`
 * and reloads. Not read by the program. */
struct bw_meta {
    __u32 ifindex;
    __u32 mode; /* 1 native (driver), 2 generic (skb) */
    char ifname[16]; /* the interface's name where it was attached (maybe another netns) */
    char policy_sha256[64]; /* hex, of the policy file in force */
    __u64 reloads;
    __u32 owner; /* BW_OWNER_*: who detaches it */
    __u32 pad;
};
#define BW_OWNER_ATTACH 0 /* `bulwark xdp attach`: until `xdp detach` */
#define BW_OWNER_RUN 1    /* a `bulwark run`: removed when the run ends */

/* Request-line rules: an anchored, case-sensitive prefix of the request line. */
#define BW_MAX_RULES 32
#define BW_MAX_RULE_LEN 64
enum bw_rule_action {
    BW_RULE_EXEMPT = 0, /* skips the request bucket */
    BW_RULE_LIMIT,      /* a bucket per (source, rule), on top of the request bucket */
};
struct bw_rule {
    __u32 len;
    __u32 action;
    struct bw_rate rate;
    char match[BW_MAX_RULE_LEN]; /* zero-padded */
    __u8 mask[BW_MAX_RULE_LEN];  /* 0xff for the first len bytes: compared 8 bytes at a time */
};
struct bw_rules {
    struct bw_rule r[BW_MAX_RULES];
};

/* A (source, rule) bucket of one policy epoch's rule. */
struct bw_rule_key {
    struct bw_source_key src;
    __u32 epoch;
    __u32 rule;
};

/* Per (source, reason): the GCRA time of the event throttle. */
struct bw_gate_key {
    struct bw_source_key src;
    __u32 reason;
};

/* What the program tells userspace about a drop, through the ring buffer. */
struct bw_event {
    __u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
    __u32 reason;  /* enum bw_reason */
    __u32 detail;  /* drop_pattern: pattern index + 1; drop_rule: rule index + 1; else 0 */
    __u32 len;     /* frame length */
    __u16 sport;   /* host order; 0 when there is no transport header */
    __u16 dport;
    __u8 family; /* 4 or 6 */
    __u8 proto;  /* IPPROTO_* */
    __u8 cls;    /* enum bw_class of the source */
    __u8 gen;    /* policy generation the verdict came from */
    __u8 src[16];
    __u8 dst[16];
};
#define BW_EVENTS_RING_BYTES (1u << 20)

/* Pattern texts by DFA match index, so `bulwark events` can name a pattern from the pins. */
struct bw_pattern_name {
    char set[32];
    char text[128];
};

/* Pattern automaton limits: states x 256 transitions, one flat table in a single map value
 * (4 MiB: the kernel's largest map value), so a scan step is a plain indexed load. */
#define BW_AUTOMATON_MAX_STATES 4096
#define BW_MAX_PATTERNS 1024
#define BW_MAX_PATTERN_LEN 128
#define BW_MAX_SCAN_BYTES 1460

/* One automaton transition: next state in the low 16 bits, and in the high 16 bits the
 * 1-based index of a pattern that ends on entering that state (0: none). */
#define BW_AC_NEXT(e) ((__u16)((e) & 0xffff))
#define BW_AC_MATCH(e) ((__u16)((e) >> 16))

/* One bit per TCP port, set when its payloads are inspected; one value per generation, so a
 * reload writes 8 KiB once instead of 65,536 one-byte entries. */
struct bw_ports {
    __u8 bits[65536 / 8];
};

struct bw_table {
    __u32 e[BW_AUTOMATON_MAX_STATES * 256];
};

/* The scan runs BW_SCAN_STREAMS DFAs over slices of the payload in one loop, so their
 * dependent table loads overlap in the CPU. Slice k covers matches ending in [k*c, (k+1)*c),
 * c = ceil(len/streams): it starts `overlap` (longest pattern - 1) bytes early (never before 0)
 * so a match that begins in an earlier slice is seen whole; every stream takes c + overlap
 * steps and ends by len. Returns the steps and fills `start`; 0 when that
 * would not be shorter than one stream over the whole payload. */
#define BW_SCAN_STREAMS 4
/* Loop bounds the verifier walks. One stream only when len <= c + overlap, i.e. len <=
 * 4 * (overlap + 1) / 3 <= 171; split streams take c + overlap <= 365 + 127 steps. */
#define BW_SCAN_SINGLE_MAX 176
#define BW_SCAN_STEPS_MAX 496
static inline __u32 bw_scan_streams(__u32 len, __u32 overlap, __u32 start[BW_SCAN_STREAMS])
{
    __u32 c = (len + BW_SCAN_STREAMS - 1) / BW_SCAN_STREAMS;
    __u32 steps = c + overlap;
    if (steps >= len)
        return 0;
    for (__u32 k = 0; k < BW_SCAN_STREAMS; k++) {
        __u32 s = k * c > overlap ? k * c - overlap : 0;
        /* Never past the end: a slice moved back still starts early enough (len <= (k+1)c). */
        start[k] = s + steps > len ? len - steps : s;
    }
    return steps;
}

/* Generic cell rate algorithm, one u64 of state per bucket (the theoretical arrival time), so
 * the kernel can update it with a compare-and-swap. Returns 1 and the new state when a packet
 * arriving at `now` conforms, 0 (state unchanged) when it must be dropped. Integer-only:
 * a source sending at exactly the rate always conforms; one sending faster gets `burst` at once
 * and then one packet per interval. */
static inline int bw_gcra(__u64 tat, __u64 now, const struct bw_rate *r, __u64 *new_tat)
{
    __u64 base = tat > now ? tat : now;
    if (r->interval_ns == 0) {
        *new_tat = tat;
        return 1;
    }
    /* Conforms if tat - tau <= now, written without underflow. */
    if (tat > now && tat - now > r->tau_ns)
        return 0;
    *new_tat = base + r->interval_ns;
    return 1;
}

#endif /* BULWARK_BPF_H */
