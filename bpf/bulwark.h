/* Structs, enums and pure helpers shared by the XDP program (clang -target bpf) and the C++
 * launcher. Kernel UAPI types only, so it builds on both sides without vmlinux.h. */
#ifndef BULWARK_BPF_H
#define BULWARK_BPF_H

#include <linux/types.h>

/* Helpers shared with the XDP program are inlined there: a BPF function takes at most five
 * arguments, and each call is a frame on its 512-byte stack. */
#ifdef __bpf__
#define BW_INLINE static inline __attribute__((always_inline))
#else
#define BW_INLINE static inline
#endif

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
    BW_DROP_BANNED, /* the source is serving a ban (struct bw_ban) */
    /* A SYN answered from XDP with a SYN-ACK cookie (XDP_TX): neither passed nor dropped; the
     * client proves itself with the ACK (policy syn_flood, struct bw_syn_flood). */
    BW_TX_SYN_COOKIE,
    BW_REASON_MAX,
};

/* The `reason` of the event a new ban sends (not a verdict, so not a counter): its `detail` is
 * the offence's reason, `extra` the ban's length in seconds. */
#define BW_EVENT_BANNED 64
/* A CPU's spray mode (struct bw_spray) turned on (detail 1: the event names the first source
 * refused an entry) or off (detail 0: `extra` is how many seconds it was on). */
#define BW_EVENT_SPRAY 65

/* What a CIDR list entry makes of a source. The most specific prefix wins. */
enum bw_class {
    BW_CLASS_DEFAULT = 0,
    BW_CLASS_DENY,
    BW_CLASS_TRUSTED,
    BW_CLASS_SUSPICIOUS,
    /* lists.proxies: a TLS terminator or load balancer that names its clients with the PROXY
     * protocol. Its own packets are not rate limited, banned or offences; the packets of a
     * connection whose PROXY header named a client are that client's (struct bw_proxied). */
    BW_CLASS_PROXY,
};

/* Which per-source bucket a limit is. */
enum bw_limit_kind {
    BW_LIMIT_PACKETS = 0,
    BW_LIMIT_CONNECTIONS,
    BW_LIMIT_REQUESTS,
    BW_LIMIT_KINDS,
};

/* Rows of bw_config.rates: a source's limits by its class (enum bw_class: default, suspicious;
 * the other classes' rows are unused), then an aggregate's. */
#define BW_RATES_SHARED 5    /* an aggregate that untracked sources share (spray mode) */
#define BW_RATES_AGGREGATE 6 /* what every source's aggregate is held to as well */
#define BW_RATE_ROWS 8

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

/* Where a scan stream starts (bw_plan_scan), and the DFA state it starts in. */
enum bw_start {
    BW_START_REQUEST = 0, /* offset 0 of a payload that starts with an HTTP method */
    BW_START_LINE,        /* a header line's first byte */
    BW_START_BODY,        /* the body's first byte ("^" patterns of the body anchor here) */
    BW_START_MID,         /* inside the body, after a non-word symbol (or a continuation) */
    BW_START_MID_WORD,    /* inside the body, after a word symbol (\b needs to know) */
    BW_STARTS,
};

/* One bit per TCP port, set when its payloads are inspected; one value per generation, so a
 * reload writes 8 KiB once instead of 65,536 one-byte entries. */
struct bw_ports {
    __u8 bits[65536 / 8];
};

/* One DFA table's entry points and shape (part of bw_config). States and classes are byte
 * offsets into the table (BW_DFA_HEAD + state * classes * 4, class * 4), so a step is one add
 * and one load. A policy's patterns take up to BW_DFA_TABLES tables, each scanned over the
 * whole text in turn: the patterns are split where one DFA of them all would outgrow a table
 * (launcher/guard/automaton.hpp). */
#define BW_DFA_TABLES 4
struct bw_dfa {
    __u32 classes;  /* entries in a row; 0: no patterns */
    __u32 pad;      /* the class of a position past the end: every entry stays put */
    __u32 mid;      /* mid and mid + 4: no byte's classes; from a state of a part, the part's
                     * state with nothing in progress, after a non-word / word symbol (a
                     * stream's restart) */
    __u32 quiet;    /* states below this are quiescent: no match in progress */
    __u32 accept;   /* states from this on are matches, one per pattern in order, and stay */
    __u32 start[8]; /* by enum bw_start (8: indexes masked with 7) */
    __u32 raw;      /* runs over the bytes as sent, not the decoded text ("raw" sets) */
    __u32 first;    /* the policy's patterns before this table's: its match k is first + k */
    __u32 states;   /* rows in use, for userspace: what a reload must zero */
};

/* Escalating bans (policy "bans"): `after` offences (drops for a reason in the `reasons` mask)
 * within `within_ns` of the first one ban the source for `for_ns`, doubled for each ban before
 * it (bw_ban_length) up to `max_ns`; a source with no ban for `forget_ns` after its last one
 * ended starts again from `for_ns`. for_ns 0: no bans. */
struct bw_bans {
    __u64 for_ns;
    __u64 max_ns;
    __u64 within_ns;
    __u64 forget_ns;
    __u32 after;
    __u32 reasons; /* 1 << enum bw_reason */
};

/* Source sprays (policy limits.new_sources, limits.aggregate): past `new_sources` per CPU, a
 * source the `sources` table does not hold gets no entry of its own; it shares its aggregate's
 * (its address masked to prefix_v4/v6) with the other untracked sources there, at the
 * BW_RATES_SHARED limits, so a spray cannot evict the sources already tracked. An aggregate's
 * limits (BW_RATES_AGGREGATE, kinds in `aggregate_kinds`) hold every source at once. */
struct bw_sprays {
    struct bw_rate new_sources; /* per CPU; interval 0: every new source gets an entry */
    __u32 prefix_v4;            /* 1..32 */
    __u32 prefix_v6;            /* 1..128 */
    __u32 aggregate_kinds;      /* 1 << enum bw_limit_kind */
    __u32 seen_mask;            /* entries of the `seen` filter - 1 (a power of two) */
    __u32 epoch_shift;          /* the filter's epoch is now >> epoch_shift; 0: no filter */
    __u32 pad;
};
/* A spray mode turns off at the first new source admitted this long after the last refusal. */
#define BW_SPRAY_QUIET_NS 1000000000ULL

/* A CPU's spray state (the per-CPU `spray` map). */
struct bw_spray {
    __u64 tat;          /* the GCRA time of new sources' entries */
    __u64 on_since;     /* when spray mode turned on; 0: off */
    __u64 last_refused; /* the last source refused an entry */
    __u64 admitted;     /* sources given an entry of their own */
    __u64 shared;       /* packets of untracked sources policed by their aggregate */
    __u64 episodes;     /* times spray mode turned on */
};

/* SYN cookies (policy syn_flood): a SYN without ACK to an inspected port is answered from XDP
 * with a SYN-ACK whose sequence number is the kernel's own SYN cookie
 * (bpf_tcp_raw_gen_syncookie_ipv4/6), so a spoofed SYN costs neither a source entry nor the
 * listener's queue. The client's ACK is proven by netfilter SYNPROXY in the guarded namespace,
 * which checks the same cookie and opens the connection to the listener (docs/design.md "SYN
 * cookies"). */
enum bw_cookie_mode {
    BW_COOKIES_OFF = 0,
    BW_COOKIES_AUTO = 1,   /* past `threshold` SYNs per second on a CPU */
    BW_COOKIES_ALWAYS = 2, /* every SYN */
};
struct bw_syn_flood {
    struct bw_rate threshold; /* per CPU (auto) */
    __u32 mode;               /* enum bw_cookie_mode */
    __u32 pad;
};
/* Auto mode stays on until SYNs have kept within the threshold for this long. */
#define BW_SYN_QUIET_NS 1000000000ULL

/* What the program needs to know of the interface it is attached to (the `device` map, written
 * at attach; a reload leaves it). */
struct bw_device {
    /* 1: send answers (SYN-ACK cookies) back with bpf_redirect to the interface they came in on,
     * not XDP_TX: a veth's XDP_TX frames reach its peer only when the peer runs an XDP program
     * of its own, while a redirect reaches a peer with NAPI (GRO on). */
    __u32 tx_redirect;
    /* The window scale the listener behind it uses, which a SYN-ACK cookie must offer: Linux
     * derives it from max(net.ipv4.tcp_rmem[2], net.core.rmem_max) of the listener's
     * namespace (guard::listener_wscale). */
    __u32 wscale;
};

/* A CPU's SYN cookie state (the per-CPU `syn` map). */
struct bw_syn {
    __u64 tat;       /* the GCRA time of SYNs to inspected ports */
    __u64 on_since;  /* auto mode: when cookies turned on; 0: off */
    __u64 last_over; /* the last SYN past the threshold */
    __u64 episodes;  /* times auto mode turned on */
};

/* Everything the program needs from the policy that is not a table: one array entry. */
struct bw_config {
    struct bw_rate rates[BW_RATE_ROWS][BW_LIMIT_KINDS]; /* [row][enum bw_limit_kind] */
    __u32 key_prefix_v4;                                /* 1..32 */
    __u32 key_prefix_v6;                                /* 1..128 */
    struct bw_rate events; /* per source and reason; interval 0: none */
    __u32 drop_fragments;  /* non-first IP fragments: 0 pass, 1 drop */
    __u32 scan_bytes;      /* payload bytes scanned for patterns; 0: none */
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
    __u32 ndfa;        /* tables in use */
    __u32 any_raw;     /* one of them is over the raw bytes: no lanes (scan_lanes) */
    __u32 scan_binary; /* 1: binary bodies are scanned too (bw_cut_binary_body) */
    struct bw_dfa dfa[BW_DFA_TABLES];
    struct bw_bans bans;
    struct bw_sprays sprays;
    struct bw_syn_flood syn;
};

/* A source: its address masked to the key prefix. IPv4 uses the first 4 bytes. An aggregate's
 * key (the `aggregates` map, and rule buckets and event gates of untracked sources) has
 * `kind` BW_KEY_AGGREGATE, so it never names the same bucket as a source's. */
struct bw_source_key {
    __u8 family; /* 4 or 6 */
    __u8 kind;   /* BW_KEY_SOURCE or BW_KEY_AGGREGATE */
    __u8 pad[2];
    __u8 addr[16];
};
#define BW_KEY_SOURCE 0
#define BW_KEY_AGGREGATE 1

/* The `seen` filter: which sources the `sources` table may hold, so that in spray mode an
 * untracked source's packet skips the table (a lookup that misses costs a cache and TLB miss
 * per packet in a 1M-entry table) for the aggregates. Every packet of a tracked source sets its
 * bit for the current epoch; a lookup believes the bits of this epoch and the one before. So
 * the filter holds every source seen within the last epoch (never a false negative for it: the
 * property that keeps tracked sources their entries through a spray), plus sources seen in
 * the epoch before and hash collisions (false positives, which only cost the lookup). Each
 * entry is two words, one per epoch parity, each with the epoch's low 8 bits on top and 56
 * bits below; a word of an older epoch counts as empty and is reset by the first set. */
struct bw_seen {
    __u64 w[2];
};
#define BW_SEEN_BITS 56

/* The filter slot of a source key: an entry index (hash & mask) and a bit (0..55). */
BW_INLINE void bw_seen_slot(const struct bw_source_key *k, __u32 mask, __u32 *index, __u32 *bit)
{
    __u64 a = 0, b = 0;
    __builtin_memcpy(&a, k->addr, 8);
    __builtin_memcpy(&b, k->addr + 8, 8);
    __u64 h = (a ^ ((__u64)k->family << 56)) * 0x9E3779B97F4A7C15ULL;
    h ^= b * 0xC2B2AE3D27D4EB4FULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    *index = (__u32)h & mask;
    *bit = (__u32)((h >> 32) % BW_SEEN_BITS);
}

/* Whether a word holds `bit` for `epoch`. */
BW_INLINE int bw_seen_word_has(__u64 w, __u64 epoch, __u32 bit)
{
    return (w >> BW_SEEN_BITS) == (epoch & 0xff) && ((w >> bit) & 1);
}

/* Whether the entry holds `bit` for this epoch or the one before. */
BW_INLINE int bw_seen_has(const struct bw_seen *s, __u64 epoch, __u32 bit)
{
    return bw_seen_word_has(s->w[epoch & 1], epoch, bit) ||
           bw_seen_word_has(s->w[(epoch - 1) & 1], epoch - 1, bit);
}

/* The word `w` with `bit` set for `epoch` (a word of another epoch starts empty). */
BW_INLINE __u64 bw_seen_word_set(__u64 w, __u64 epoch, __u32 bit)
{
    __u64 tag = (epoch & 0xff) << BW_SEEN_BITS;
    if ((w >> BW_SEEN_BITS) != (epoch & 0xff))
        w = tag;
    return w | (1ULL << bit);
}

/* Per-source state: one GCRA time per limit kind, and what `stats --top` shows. */
struct bw_source {
    __u64 tat[BW_LIMIT_KINDS];
    __u64 passed;
    __u64 dropped;
    __u32 last_reason;
    __u32 seen_epoch; /* 1 + the `seen` filter's epoch (low 32 bits) its bit was set in */
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

/* A source's offences towards a ban: a window opened by the first, and how many since. */
struct bw_strike {
    __u64 start_ns;
    __u32 count;
    __u32 pad;
};

/* A ban, by source key (the `bans` hash map: bounded and never evicting, so a flood of new
 * sources cannot push older bans out; when it is full a new ban is refused and counted).
 * Times are CLOCK_MONOTONIC nanoseconds, as bpf_ktime_get_ns. The entry outlives the ban by
 * the policy's `forget`, remembering `level` for the next one. */
struct bw_ban {
    __u64 until_ns; /* dropped until then */
    __u64 start_ns; /* when this ban began */
    __u64 drops;    /* packets dropped while banned (best effort across CPUs) */
    __u32 level;    /* bans in a row, this one included: it lasts bw_ban_length(level - 1) */
    __u32 reason;   /* the offence that earned it (enum bw_reason); BW_BAN_MANUAL from `ban add` */
};
#define BW_BAN_MANUAL 0xffffffffu
/* bans_stats entries. */
#define BW_BANS_ISSUED 0
#define BW_BANS_REFUSED 1 /* the table was full */

/* A connection from a proxy (lists.proxies), as the program sees it: the proxy's address and
 * port, the guarded port. */
struct bw_flow_key {
    __u8 family;
    __u8 pad;
    __u16 sport;
    __u16 dport;
    __u16 pad2;
    __u8 addr[16];
};
/* What the connection's PROXY header said (the `proxied` LRU map). A header is believed only
 * at the start of the connection's data, the sequence number after the SYN the program saw. */
enum bw_proxied_state {
    BW_PROXIED_AWAIT = 0, /* SYN seen, no data yet */
    BW_PROXIED_CLIENT,    /* the header named `client` */
    BW_PROXIED_NONE,      /* no header, or one that names nobody (LOCAL, UNKNOWN) */
    BW_PROXIED_BAD,       /* a malformed header: the connection's data is dropped */
};
struct bw_proxied {
    __u32 data_seq; /* the sequence number of the first data byte */
    __u16 state;    /* enum bw_proxied_state */
    __u16 hdr_len;  /* the header's bytes, skipped again when the first segment is resent */
    __u8 family;    /* the client's */
    __u8 pad;
    __u16 port;
    __u8 addr[16];
};

/* How the program is attached (bw_meta.mode). */
enum bw_attach_mode {
    BW_ATTACH_NONE = 0,
    BW_ATTACH_NATIVE = 1, /* the driver runs it (XDP_FLAGS_DRV_MODE) */
    BW_ATTACH_SKB = 2,    /* generic XDP, after the skb is built (XDP_FLAGS_SKB_MODE) */
};

/* Map names: each is the name of a map in bulwark.bpf.c and of its pin under
 * /sys/fs/bpf/bulwark/NAME/ (docs/design.md "Pins"); tests/kernel/test_xdp.cpp checks that the
 * object has every one. BW_PIN_LINK is the bpf_link's pin. */
#define BW_MAP_COUNTERS "counters"
#define BW_MAP_POLICY_GEN "policy_gen"
#define BW_MAP_CONFIG "config"
#define BW_MAP_PORTS "ports"
#define BW_MAP_LISTS_V4 "lists_v4"
#define BW_MAP_LISTS_V6 "lists_v6"
#define BW_MAP_RULES "rules"
#define BW_MAP_AUTOMATON "automaton"
#define BW_MAP_PATTERNS "patterns"
#define BW_MAP_SOURCES "sources"
#define BW_MAP_EVENTS "events"
#define BW_MAP_EVENTS_LOST "events_lost"
#define BW_MAP_PATTERN_HITS "pattern_hits"
#define BW_MAP_META "meta"
#define BW_MAP_BANS "bans"
#define BW_MAP_STRIKES "strikes"
#define BW_MAP_BANS_STATS "bans_stats"
#define BW_MAP_PROXIED "proxied"
#define BW_MAP_AGGREGATES "aggregates"
#define BW_MAP_SPRAY "spray"
#define BW_MAP_SEEN "seen"
#define BW_MAP_SYN "syn"
#define BW_MAP_DEVICE "device"
#define BW_PIN_LINK "link"

/* Where and how the program is attached and which policy is in force, for `stats`, `events`
 * and reloads. Not read by the program. */
struct bw_meta {
    __u32 ifindex;
    __u32 mode;             /* enum bw_attach_mode */
    char ifname[16];        /* the interface's name where it was attached (maybe another netns) */
    char policy_sha256[64]; /* hex, of the policy file in force */
    __u64 reloads;
    __u32 owner; /* BW_OWNER_*: who detaches it */
    /* 1: attach loaded SYNPROXY rules for SYN cookies (guard/synproxy.hpp) where the program
     * was attached, for inspect_ports with this digest (guard::ports_digest); detach removes
     * them, a reload keeps to them. */
    __u32 synproxy;
    __u64 synproxy_ports;
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
    __u32 extra; /* BW_EVENT_BANNED: the ban's length in seconds; else 0 */
};
#define BW_EVENTS_RING_BYTES (1u << 20)

/* Pattern texts by DFA match index, so `bulwark events` can name a pattern from the pins. */
struct bw_pattern_name {
    char set[32];
    char text[128];
};

/* Payload inspection. The program copies up to `scan_bytes` of TCP payload (raw[]), decodes it
 * (bw_decode_step: percent escapes, SQL comments, decoded whitespace) into dec[] while it
 * indexes the lines and the end of the headers, and runs the pattern DFA over dec[] (and, for
 * "raw" sets, over raw[]). Everything else the policy's patterns see (case folding, '\' as '/',
 * '+' and whitespace as spaces, the parts of the request) is compiled into the DFA itself
 * (launcher/guard/automaton.hpp), so a byte costs one table load. */
#define BW_MAX_PATTERNS 1024
#define BW_MAX_PATTERN_LEN                                                                         \
    1024 /* a pattern's source; events and stats name it by its first 127 bytes */
#define BW_MAX_SCAN_BYTES 1460
/* Buffers: a power of two (indexes are masked) that holds a scan's text and, after it, the
 * padding a stream reads once it has run out (bw_plan: up to the text's length again). */
#define BW_SCAN_BUF 4096
/* The byte that pads: it maps to the DFA's pad class, whose entries stay put. Payload bytes of
 * this value are read as 0xfe (both are "some byte above ASCII" to a pattern). */
#define BW_PAD_BYTE 0xff
/* A line break the request encoded (%0a, %0d, %u000a, \u000d ...), and the end of the scanned
 * text: the symbol a shell reads as the end of a command. Every space of a pattern also matches
 * it, so to a pattern that does not name it (`\n`) it is a space, as it was before it had a
 * symbol of its own. Raw CR and LF (the request's own lines, a multipart field's) stay what they
 * are: the lines of the text, spaces to a pattern. */
#define BW_BREAK_BYTE 0x0b
#define BW_MAX_LINES 64
#define BW_DECODE_WORDS 4  /* 8-byte words a decoder step may copy */
#define BW_COMMENT_MAX 256 /* longer, or unclosed on its line: not a comment, scanned as text */

/* The DFA: one flat table of u32 entries per generation (4 MiB, the kernel's largest map
 * value). Its first BW_DFA_HEAD bytes map a byte to its class: u16 [256], the column's byte
 * offset in a row, then the lanes' map (scan_lanes), u16 [256][BW_DFA_TABLES], the column's
 * byte offset in table k's rows (table 0's holds every table's, so the lanes find the four
 * columns of a byte from one pointer; a table alone has its own in every column). Rows of
 * `classes` entries follow. An entry is the next state: its row's byte offset from the table's
 * start (bw_dfa). The class maps sit in the table so that a step needs one base register for
 * both loads (BPF has few). States end below BW_DFA_STATE_END: the lanes bound a state with a
 * compare, not a mask, and add a column read as a u16, so the verifier needs the state plus
 * any u16 within the table (a real column is below BW_DFA_MAX_CLASSES * 4). */
#define BW_DFA_ENTRIES (1u << 20)
#define BW_DFA_BYTES (BW_DFA_ENTRIES * 4)
#define BW_DFA_LANES_MAP 512 /* the lanes' class map's offset */
#define BW_DFA_HEAD (BW_DFA_LANES_MAP + 256 * BW_DFA_TABLES * 2)
#define BW_DFA_MAX_CLASSES 256 /* a row's entries */
#define BW_DFA_STATE_END (BW_DFA_BYTES - 65536)
#define BW_DFA_USABLE (BW_DFA_STATE_END / 4) /* entries a policy's table may use */
struct bw_table {
    __u32 e[BW_DFA_ENTRIES];
};
/* The entry at byte offset `off` (masked: the verifier needs the bound, and it keeps the
 * 4-byte alignment). */
#define BW_DFA_AT(table, off)                                                                      \
    (*(const __u32 *)((const __u8 *)(table) + ((off) & (BW_DFA_BYTES - 4))))
/* Byte `b`'s class, as a column's byte offset. */
#define BW_DFA_CLASS(table, b) (*(const __u16 *)((const __u8 *)(table) + (b)*2))

/* The decoder's state between steps (bw_decode_step). */
enum bw_comment { BW_CM_NONE = 0, BW_CM_OPENED, BW_CM_IN, BW_CM_DIGITS };
struct bw_decoder {
    __u32 in;      /* raw[] position */
    __u32 out;     /* dec[] position */
    __u32 len;     /* raw bytes */
    __u32 comment; /* enum bw_comment */
    __u32 open;    /* dec[] position of the '/' that opened a comment */
    __u32 line_empty;
    __u32 in_headers; /* an HTTP request before its blank line */
    __u32 nlines;
    __u32 hdr_end;
    __u32 raw_hdr_end;
    __u32 xml;  /* the body starts with '<': its entity references are its escapes */
    __u32 json; /* the body starts with '{' or '[': \n, \r and \t are its escapes too */
};

/* The de-chunker's state between steps (bw_dechunk_step). */
enum bw_chunk_phase {
    BW_CK_SIZE = 0, /* a size line's hex digits */
    BW_CK_EXT,      /* past them, to the line's CR: an extension (or blanks) */
    BW_CK_LF,       /* the size line's LF */
    BW_CK_DATA,     /* a chunk's bytes, `left` of them */
    BW_CK_CR,       /* the CR LF after a chunk's bytes */
    BW_CK_CRLF,     /* its LF */
    BW_CK_REST,     /* raw[src, len) moved down as it is */
};
struct bw_dechunk {
    __u32 src;    /* the next raw[] byte read */
    __u32 dst;    /* where it goes */
    __u32 len;    /* the payload's bytes */
    __u32 mark;   /* where the separator being read started: kept from there if it is none */
    __u32 phase;  /* enum bw_chunk_phase */
    __u32 left;   /* a chunk's bytes still to move, or its size being read */
    __u32 digits; /* the size's hex digits read */
    __u32 ended;  /* past the last chunk's size line, once read (0 before) */
    __u32 frame;  /* framing a request (bw_frame_request): stop there, move nothing after */
};

/* A request line under a method the guard does not list (WebDAV's PROPFIND, SSDP's M-SEARCH,
 * a lower-case `get` that Apache hands to PHP as it is): method SP target SP HTTP/d.d, then CR
 * LF or a bare LF (bw_reqline_step). */
enum bw_reqline_phase {
    BW_RL_METHOD = 0, /* a token's characters (RFC 9110), 1 to BW_METHOD_MAX of them */
    BW_RL_TARGET,     /* bytes above 0x20, at least one */
    BW_RL_VERSION,    /* "HTTP/", a digit, ".", a digit, CR LF or LF, read in one step */
};
/* IANA's longest method is 17 bytes (UPDATEREDIRECTREF). A form's text is tokens too, and
 * without the bound a segment of it was read to its end, one byte a step (bench_xdp_cost). */
#define BW_METHOD_MAX 20
struct bw_reqline {
    __u32 pos;   /* the next raw[] byte read */
    __u32 len;   /* the payload's bytes */
    __u32 phase; /* enum bw_reqline_phase */
    __u32 n;     /* the phase's bytes read */
    __u32 ok;    /* 1 once the line's LF is read */
};

/* Where a request ends in the segment, so that a request pipelined after it is counted and
 * ruled as the server will read it (RFC 9112 6.3): its headers to the blank line, then its body:
 * chunked when Transfer-Encoding's last coding says so (its chunks and trailer lines walked),
 * else the bytes Content-Length says (none without one). Another coding, two lengths, or a
 * length that is not digits leave the request unframed: the server refuses each. */
enum bw_frame_result {
    BW_FRAME_MORE = 0, /* still reading the headers */
    BW_FRAME_END,      /* `end` is where the request ends (it may lie past the bytes loaded) */
    BW_FRAME_NONE,     /* not framed: cut by the bytes loaded, or refused by the server */
};
struct bw_frame {
    __u32 pos;     /* the next raw[] byte read */
    __u32 line;    /* the current line's first byte */
    __u32 len;     /* raw[] bytes loaded */
    __u32 length;  /* Content-Length's value, at most BW_FRAME_MAX_LENGTH */
    __u32 lengths; /* Content-Length lines read */
    __u32 value;   /* its value's first byte */
    __u32 value_end;
    __u32 value_phase; /* bw_frame_value_step's: 0 whitespace, 1 digits, 2 whitespace */
    __u32 chunked;     /* Transfer-Encoding: chunked (it overrides Content-Length) */
    __u32 trailers;    /* reading a chunked body's trailer lines, not headers */
    __u32 end;         /* BW_FRAME_END: the request's end, relative to raw[0] */
    __u32 result;      /* enum bw_frame_result */
};
/* A body longer than this ends past any segment: the value is kept only up to it. */
#define BW_FRAME_MAX_LENGTH (1u << 20)
/* The most requests pipelined in one segment that are counted (the first included): a
 * 1,460-byte segment holds at most 81 of the shortest ("GET / HTTP/1.1" CR LF CR LF). */
#define BW_MAX_PIPELINED 81

/* A request line as the rules compare it (bw_rule_line_step): the path percent-decoded, a
 * backslash read as a slash, runs of slashes as one, "." and ".." segments resolved, a
 * segment's ";param" left out, an absolute-form target's scheme and host left out, as the
 * servers behind the guard route it.
 * Compared with the raw line, "POST /api/session/%73tart", "//api/session/start" or
 * "POST http://host/api/session/start" escaped a limited rule, and "GET
 * /api/health/../../admin" was exempt. The path is read to its end whatever its length (a
 * long segment and then ".." comes back under 64 bytes); line[] keeps the first 64 bytes. */
#define BW_RULE_SEGS 32
enum bw_rule_line_phase {
    BW_RLN_METHOD = 0, /* copied up to and with its space */
    BW_RLN_TARGET,     /* the target's first byte: a path's slash or a scheme's letter */
    BW_RLN_PATH,       /* decoded and resolved */
    BW_RLN_AUTHORITY,  /* an absolute-form target's scheme and host, skipped to its path */
    BW_RLN_REST,       /* query, version: copied as they are, up to 64 bytes */
    BW_RLN_PARAM,      /* a segment's ";param" (Java servlet containers drop it): skipped */
};
struct bw_rule_line {
    __u8 line[BW_MAX_RULE_LEN] __attribute__((aligned(8)));
    __u16 segs[BW_RULE_SEGS]; /* offsets of the path's slashes (past 64 bytes too) */
    __u32 pos;                /* the next raw[] byte read */
    __u32 len;                /* raw[] bytes that may be read */
    __u32 out;                /* the line's length so far; line[] holds the first 64 bytes */
    __u32 phase;              /* enum bw_rule_line_phase */
    __u32 depth;              /* segs[] in use */
    __u32 slashes;            /* BW_RLN_AUTHORITY: slashes seen */
    __u32 tail;               /* the line's last three bytes, the last in the low byte */
    __u32 lost;               /* 1: a slash past BW_RULE_SEGS deep was not recorded */
    __u32 unresolved;         /* 1: a ".." climbed past a slash that was not recorded */
};

#define BW_SCAN_STREAMS 4
#define BW_SCAN_BATCH 16 /* lockstep steps per bpf_loop call; steps are a multiple of it */
struct bw_plan {
    __u32 start[BW_SCAN_STREAMS];
    __u32 state[BW_SCAN_STREAMS]; /* the DFA row each stream starts in */
    __u32 steps;
};
/* A scan in progress (the XDP program's bpf_loop steps keep it here, for the same reason as
 * the decoder's state). */
struct bw_scan_state {
    __u32 s[4];   /* each stream's row offset */
    __u32 pos[4]; /* each stream's next position */
    __u32 n;
    __u32 raw;
    __u32 match; /* the match state found (a bw_dfa.accept offset or above), 0 none */
    __u32 cur;   /* the stream being extended */
    __u32 lanes; /* scan_lanes: how many lanes run (the policy's tables) */
};

/* The scan's working memory, per CPU (too big for the stack). */
struct bw_scan_buf {
    __u8 raw[BW_SCAN_BUF];
    __u8 dec[BW_SCAN_BUF];
    __u16 lines[BW_MAX_LINES];     /* dec[] offsets of the lines after the request line */
    __u16 raw_lines[BW_MAX_LINES]; /* the same lines' raw[] offsets */
    __u32 nlines;
    __u32 hdr_end; /* dec[] offset of the body: just past the blank line (dec_len if none) */
    __u32 raw_hdr_end;
    __u32 dec_len;
    __u32 raw_len;
    /* The decoder's state lives here, not on the stack, so that the verifier sees the same
     * abstract state at every bpf_loop step and checks the step once. */
    struct bw_decoder d;
    struct bw_dechunk ck;
    struct bw_scan_state st;
    struct bw_plan plan;
    struct bw_reqline rl;
    struct bw_rule_line rln;
    struct bw_frame fr;
};

BW_INLINE int bw_hex(__u8 c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

BW_INLINE int bw_is_space(__u8 c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* An index the verifier must see masked: the empty asm keeps clang from folding the mask into
 * arithmetic the verifier cannot follow. */
#ifdef __bpf__
#define BW_MASKED(x, m)                                                                            \
    ({                                                                                             \
        __u32 _v = (x);                                                                            \
        asm volatile("" : "+r"(_v));                                                               \
        _v &= (m);                                                                                 \
        _v;                                                                                        \
    })
#else
#define BW_MASKED(x, m) ((x) & (m))
#endif

/* An 8-byte load and store at any alignment: the BPF JIT's loads do not care (memcpy would
 * make clang emit eight byte loads there). */
#ifdef __bpf__
#define BW_LOAD64(p) (*(const __u64 *)(p))
#define BW_STORE64(p, v) (*(__u64 *)(p) = (v))
#else
static inline __u64 BW_LOAD64(const void *p)
{
    __u64 v;
    __builtin_memcpy(&v, p, 8);
    return v;
}
static inline void BW_STORE64(void *p, __u64 v)
{
    __builtin_memcpy(p, &v, 8);
}
#endif

#define BW_SWAR_ONES 0x0101010101010101ULL
#define BW_SWAR_HIGHS 0x8080808080808080ULL
/* The bytes of w equal to c, as their high bits: exact up to the first (a borrow may flag
 * bytes after it). */
BW_INLINE __u64 bw_bytes_eq(__u64 w, __u8 c)
{
    __u64 v = w ^ (BW_SWAR_ONES * c);
    return (v - BW_SWAR_ONES) & ~v & BW_SWAR_HIGHS;
}

/* The same, exact in every byte (bw_bytes_eq's borrow may also flag a byte above one that
 * equals c): for when more than the first flag counts. */
BW_INLINE __u64 bw_bytes_eq_all(__u64 w, __u8 c)
{
    __u64 v = w ^ (BW_SWAR_ONES * c), low7 = ~BW_SWAR_HIGHS;
    return ~(((v & low7) + low7) | v) & BW_SWAR_HIGHS;
}

/* Whether any byte of w equals c. */
BW_INLINE int bw_has_byte(__u64 w, __u8 c)
{
    return bw_bytes_eq(w, c) != 0;
}

/* The index of the first byte flagged in m (not 0), little-endian: the lowest flag, as a
 * bit, times a constant whose byte j is j puts 7 - index in the top byte (BPF has no ctz). */
BW_INLINE __u32 bw_first_flagged(__u64 m)
{
    __u64 low = (m & (~m + 1)) >> 7;
    return 7 - (__u32)((low * 0x0706050403020100ULL) >> 56);
}

/* How many of a word's bytes, from its first in memory, are flagged in `in_run` (the bytes of a
 * run, as bw_bytes_eq_all flags them): 8 when all are. */
BW_INLINE __u32 bw_run_lead(__u64 in_run)
{
    __u64 other = ~in_run & BW_SWAR_HIGHS;
    return other ? bw_first_flagged(other) : 8;
}

/* A body of binary data (a file in an upload: an image, an archive, a PDF) is not scanned:
 * its short runs of ASCII between binary bytes match short rules ('#, '--, $(), <?=) by
 * chance, in about one 1,460-byte segment in 25 of compressed data (bench/RESULTS.md), and a
 * segment dropped is sent again and dropped again, so no upload of more than a few segments
 * would get through. Text never carries raw control bytes; binary data carries about one in
 * nine. A body (a request's after its blank line; all of a segment that starts no request) of
 * at least BW_BINARY_MIN bytes, one in BW_BINARY_SHARE of them control bytes, is binary, and
 * the scan stops at its start. What this lets through: an attack in the same segment as
 * binary data (a text field next to a file in a multipart body), which the application may
 * read; written down in docs/threat-model.md. A policy that takes no uploads can scan them
 * anyway (patterns.binary_bodies "scan", bw_config.scan_binary). */
#define BW_BINARY_MIN 16
#define BW_BINARY_SHARE 16

/* The bytes of w below c (1 to 0x80), as their high bits: exact in every byte (no sum crosses
 * one: each stays below 0x100). */
BW_INLINE __u64 bw_bytes_below(__u64 w, __u8 c)
{
    const __u64 low7 = 0x7f7f7f7f7f7f7f7fULL;
    return ~(((w & low7) + BW_SWAR_ONES * (__u8)(0x80 - c)) | w) & BW_SWAR_HIGHS;
}

/* Whether a raw (not decoded) byte ends the path: the query's '?', a fragment's '#', the space
 * before the version, or the line's end. */
BW_INLINE int bw_path_end(__u8 c)
{
    return c == '?' || c == '#' || c == ' ' || c == '\r' || c == '\n';
}

BW_INLINE void bw_rule_line_put(struct bw_rule_line *r, __u8 c)
{
    if (r->out < BW_MAX_RULE_LEN)
        r->line[BW_MASKED(r->out, BW_MAX_RULE_LEN - 1)] = c;
    r->out += 1;
    r->tail = (r->tail << 8 | c) & 0xffffff;
}

/* Ends the path's last segment before `c` (a slash, or the path's end): "." is dropped and
 * ".." takes the segment before it with it, never past the first slash. */
BW_INLINE void bw_rule_line_segment(struct bw_rule_line *r)
{
    __u32 t = r->tail;
    if ((t & 0xffff) == ('/' << 8 | '.')) {
        r->out -= 1;
        r->tail = '/';
    } else if (t == ('/' << 16 | '.' << 8 | '.') && r->depth) {
        if (r->lost)
            r->unresolved = 1;
        __u32 keep = r->depth >= 2 ? r->depth - 2 : 0;
        r->out = r->segs[BW_MASKED(keep, BW_RULE_SEGS - 1)] + 1;
        r->tail = '/';
        if (r->depth >= 2)
            r->depth -= 1;
    }
}

/* One raw[] byte (three for a %XX) into the rule line: 0 once it is read far enough or the
 * payload is. Start it zeroed but for len, the payload's bytes. */
BW_INLINE int bw_rule_line_step(const __u8 *raw, struct bw_rule_line *r)
{
    __u32 i = r->pos;
    if (i >= r->len || i >= BW_SCAN_BUF || (r->phase == BW_RLN_REST && r->out >= BW_MAX_RULE_LEN))
        return 0;
    /* Eight bytes a step where none of them is one the path's rules act on (a bpf_loop step
     * costs several times what a byte does); line[] takes them whole or not at all. */
    if ((r->phase == BW_RLN_REST || r->phase == BW_RLN_PATH) && i + 8 <= r->len &&
        (r->out + 8 <= BW_MAX_RULE_LEN || r->out >= BW_MAX_RULE_LEN)) {
        __u64 w = BW_LOAD64(&raw[BW_MASKED(i, BW_SCAN_BUF - 1)]);
        if (r->phase == BW_RLN_REST ||
            !(bw_bytes_below(w, 0x21) | bw_bytes_eq(w, '%') | bw_bytes_eq(w, '\\') |
              bw_bytes_eq(w, ';') | bw_bytes_eq(w, '/') | bw_bytes_eq(w, '?') |
              bw_bytes_eq(w, '#'))) {
            if (r->out < BW_MAX_RULE_LEN)
                BW_STORE64(&r->line[BW_MASKED(r->out, BW_MAX_RULE_LEN - 1)], w);
            r->out += 8;
            r->pos = i + 8;
            r->tail = (__u32)((w >> 56) | ((w >> 40) & 0xff00) | ((w >> 24) & 0xff0000));
            return 1;
        }
    }
    __u8 c = raw[BW_MASKED(i, BW_SCAN_BUF - 1)];
    r->pos = i + 1;
    if (r->phase == BW_RLN_METHOD) {
        if (c == ' ')
            r->phase = BW_RLN_TARGET;
        bw_rule_line_put(r, c);
        return 1;
    }
    if (r->phase == BW_RLN_TARGET) {
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            /* an absolute-form target (RFC 9112 3.2.2): its path is after scheme://host */
            r->phase = BW_RLN_AUTHORITY;
            return 1;
        }
        r->phase = BW_RLN_PATH;
    }
    if (r->phase == BW_RLN_AUTHORITY) {
        if (c == ' ') {
            r->phase = BW_RLN_REST;
        } else if (c != '/' || ++r->slashes < 3) {
            return 1;
        } else {
            r->phase = BW_RLN_PATH;
        }
    }
    if (r->phase == BW_RLN_PARAM) {
        if (c != '/' && !bw_path_end(c))
            return 1;
        r->phase = BW_RLN_PATH;
    }
    if (r->phase == BW_RLN_PATH) {
        if (c == ';') {
            r->phase = BW_RLN_PARAM;
            return 1;
        }
        int decoded = 0;
        if (c == '%' && i + 2 < r->len) {
            int h = bw_hex(raw[BW_MASKED(i + 1, BW_SCAN_BUF - 1)]);
            int l = bw_hex(raw[BW_MASKED(i + 2, BW_SCAN_BUF - 1)]);
            if (h >= 0 && l >= 0) {
                c = (__u8)(h * 16 + l);
                r->pos = i + 3;
                decoded = 1;
            }
        }
        if (c == '\\')
            c = '/';
        /* An encoded '?', '#' or space is the path's own byte, not its end: nginx resolves
         * "/api/health%3F/../../admin" to /admin. */
        if (c == '/' || (!decoded && bw_path_end(c))) {
            bw_rule_line_segment(r);
            if (c != '/') {
                r->phase = BW_RLN_REST;
            } else if ((r->tail & 0xff) == '/' && r->depth) {
                return 1; /* a run of slashes is one */
            } else if (r->depth < BW_RULE_SEGS) {
                r->segs[BW_MASKED(r->depth, BW_RULE_SEGS - 1)] = (__u16)r->out;
                r->depth += 1;
            } else {
                r->lost = 1;
            }
        }
    }
    bw_rule_line_put(r, c);
    return 1;
}

/* How many bytes of w are control bytes: below 0x20 but TAB, LF and CR, or 0x7f. */
BW_INLINE __u32 bw_ctl_bytes(__u64 w)
{
    __u64 m = (bw_bytes_below(w, 0x20) &
               ~(bw_bytes_eq_all(w, '\t') | bw_bytes_eq_all(w, '\n') | bw_bytes_eq_all(w, '\r'))) |
              bw_bytes_eq_all(w, 0x7f);
    return (__u32)(((m >> 7) * BW_SWAR_ONES) >> 56);
}

/* Whether a body of `body` bytes, `ctl` of them control bytes (bw_ctl_bytes), is binary. */
BW_INLINE int bw_binary_body(__u32 body, __u32 ctl)
{
    return body >= BW_BINARY_MIN && ctl * BW_BINARY_SHARE >= body;
}

/* After the decoder (bw_decode_finish), with `ctl` the control bytes counted in the body's
 * whole words (raw[raw_hdr_end, len), eight bytes at a time; the last partial word is not
 * counted): when the body is binary, the text to scan ends where the body starts. Returns 0
 * when nothing is left to scan. */
BW_INLINE int bw_cut_binary_body(struct bw_scan_buf *sb, __u32 len, __u32 ctl)
{
    __u32 body = len > sb->raw_hdr_end ? len - sb->raw_hdr_end : 0;
    if (bw_binary_body(body, ctl)) {
        sb->dec_len = sb->hdr_end;
        sb->raw_len = sb->raw_hdr_end;
    }
    return sb->dec_len != 0;
}

/* One decoded symbol into dec[], through the SQL comment rules: "/\*...*\/" becomes one space
 * (at most BW_COMMENT_MAX symbols, never across a line: otherwise it stays text), "/\*!"
 * and the digits after it (MySQL's versioned comment, whose content MySQL runs) become one
 * space, and a stray "*\/" becomes one space. A comment's content is written as it comes and
 * rewound when it closes. */
BW_INLINE void bw_emit(__u8 *dec, struct bw_decoder *d, __u8 v)
{
    __u32 out = d->out;
    __u8 prev = out ? dec[(out - 1) & (BW_SCAN_BUF - 1)] : 0;
    if (d->comment == BW_CM_DIGITS) {
        if (v >= '0' && v <= '9')
            return;
        d->comment = BW_CM_NONE;
    }
    if (d->comment == BW_CM_OPENED) {
        if (v == '!') { /* versioned: "/\*!" -> ' ', then its digits go */
            dec[d->open & (BW_SCAN_BUF - 1)] = ' ';
            d->out = d->open + 1;
            d->comment = BW_CM_DIGITS;
            return;
        }
        d->comment = BW_CM_IN;
    }
    if (v == BW_PAD_BYTE)
        v = BW_PAD_BYTE - 1;
    dec[out & (BW_SCAN_BUF - 1)] = v;
    d->out = out + 1;
    if (v != '\r')
        d->line_empty = 0;
    if (d->comment == BW_CM_IN) {
        if (v == '/' && prev == '*' && out >= d->open + 3) { /* closed: the whole becomes ' ' */
            dec[d->open & (BW_SCAN_BUF - 1)] = ' ';
            d->out = d->open + 1;
            d->comment = BW_CM_NONE;
        } else if (out + 1 - d->open > BW_COMMENT_MAX) {
            d->comment = BW_CM_NONE; /* too long to be a comment: text, already written */
        }
        return;
    }
    if (v == '*' && prev == '/') {
        d->comment = BW_CM_OPENED;
        d->open = out - 1;
    } else if (v == '/' && prev == '*') { /* a stray close: ' ' */
        dec[(out - 1) & (BW_SCAN_BUF - 1)] = ' ';
        d->out = out;
    }
}

/* The symbol that raw[in, in + used) decodes to, `v`, into dec[] (bw_emit): a decoded whitespace
 * byte as ' ', a decoded CR or LF as BW_BREAK_BYTE. `d` is sb->d. */
BW_INLINE void bw_symbol(struct bw_scan_buf *sb, struct bw_decoder *d, __u32 in, __u32 used,
                         __u32 v)
{
    if (used > 1 && bw_is_space((__u8)v))
        v = (v == '\n' || v == '\r') ? BW_BREAK_BYTE : ' ';
    d->in = in + used;
    bw_emit(sb->dec, d, (__u8)v);
}

/* The XML reference at the start of w (the next 8 raw bytes, `avail` of them the payload's):
 * &lt; &gt; &amp; &quot; &apos;, or a character's number below 128 (&#60; &#x3c;, up to three
 * digits). Returns the bytes it takes, and the character shifted left by 8 (1 and '&' when
 * there is none). XML spells the names in lower case and ends each reference with ';'.
 * Little-endian words. */
BW_INLINE __u32 bw_xml_ref(__u64 w, __u32 avail)
{
    __u32 used = 0, v = 0;
    if ((__u32)w == 0x3b746c26) { /* "&lt;" */
        v = '<';
        used = 4;
    } else if ((__u32)w == 0x3b746726) { /* "&gt;" */
        v = '>';
        used = 4;
    } else if ((w & 0xffffffffffULL) == 0x3b706d6126ULL) { /* "&amp;" */
        v = '&';
        used = 5;
    } else if ((w & 0xffffffffffffULL) == 0x3b746f757126ULL) { /* "&quot;" */
        v = '"';
        used = 6;
    } else if ((w & 0xffffffffffffULL) == 0x3b736f706126ULL) { /* "&apos;" */
        v = '\'';
        used = 6;
    } else if ((__u8)(w >> 8) == '#') {
        __u32 hex = ((__u8)(w >> 16) | 0x20) == 'x', at = 2 + hex, n = 0;
        for (int i = 0; i < 3; i++) {
            __u8 ch = (__u8)(w >> ((at + n) * 8));
            int digit = hex ? bw_hex(ch) : (ch >= '0' && ch <= '9' ? ch - '0' : -1);
            if (digit < 0)
                break;
            v = v * (hex ? 16 : 10) + (__u32)digit;
            n++;
        }
        if (n && v < 128 && (__u8)(w >> ((at + n) * 8)) == ';')
            used = at + n + 1;
    }
    return used && used <= avail ? used | v << 8 : 1 | '&' << 8;
}

/* The bytes a..h as a little-endian word (a header name's eight bytes, in lower case). */
#define BW_WORD8(a, b, c, d, e, f, g, h)                                                           \
    ((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |       \
     (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define BW_CASE_FOLD 0x2020202020202020ULL

/* The header line raw[at, end) (end: past its LF): -1 when it is no Transfer-Encoding line, 1
 * when it is one whose last coding is chunked (any case), 0 for another. */
BW_INLINE int bw_te_line(const __u8 *raw, __u32 at, __u32 end)
{
    if (at + 19 > end)
        return -1;
    if ((BW_LOAD64(&raw[at & (BW_SCAN_BUF - 1)]) | BW_CASE_FOLD) !=
            BW_WORD8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r') ||
        (BW_LOAD64(&raw[(at + 8) & (BW_SCAN_BUF - 1)]) | BW_CASE_FOLD) !=
            BW_WORD8('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n') ||
        (raw[(at + 16) & (BW_SCAN_BUF - 1)] | 0x20) != 'g')
        return -1;
    __u8 c = raw[(at + 17) & (BW_SCAN_BUF - 1)];
    if (c != ':' && c != ' ' && c != '\t')
        return -1;
    /* The value's end: before the line's LF, its CR and trailing blanks. */
    __u32 e = end - 1;
    if (raw[(e - 1) & (BW_SCAN_BUF - 1)] == '\r')
        e--;
    for (int k = 0; k < 4 && (raw[(e - 1) & (BW_SCAN_BUF - 1)] == ' ' ||
                              raw[(e - 1) & (BW_SCAN_BUF - 1)] == '\t');
         k++)
        e--;
    if (e < at + 25) /* "transfer-encoding:chunked" */
        return 0;
    __u64 w = BW_LOAD64(&raw[(e - 8) & (BW_SCAN_BUF - 1)]);
    __u8 before = (__u8)w;
    return ((w >> 8) | (BW_CASE_FOLD >> 8)) == BW_WORD8('c', 'h', 'u', 'n', 'k', 'e', 'd', 0) &&
           (before == ' ' || before == '\t' || before == ':' || before == ',');
}

/* Whether a header line of the request before raw[from] is "Transfer-Encoding: ... chunked"
 * (any case; chunked is the last coding, as HTTP requires of a request). Only then is its body
 * de-chunked: a body that merely starts like a size line ("add some text") is the
 * application's text. Read from the lines the decoder indexed (the next line's start ends one). */
BW_INLINE int bw_te_chunked(const struct bw_scan_buf *sb, const struct bw_decoder *d, __u32 from)
{
    for (__u32 i = 0; i + 1 < BW_MAX_LINES; i++) {
        if (i + 1 >= d->nlines)
            break;
        __u32 at = sb->raw_lines[i], end = sb->raw_lines[i + 1];
        if (end > from || at + 26 > end)
            continue;
        if (bw_te_line(sb->raw, at, end) == 1)
            return 1;
    }
    return 0;
}

/* A chunked body (Transfer-Encoding: chunked: clients that stream a body of unknown length,
 * and evasion tools, which cut a payload's keywords across chunks, "3;x\r\nUNI\r\n3;y\r\nON "),
 * de-chunked in raw[] in place before it is decoded: each chunk's size line (hex digits, an
 * extension after ';' or a blank, CR LF) and the CR LF after its data are removed, as the
 * server removes them before the application reads the body. A chunk may run past the
 * packet's end (one packet at a time); what follows the last chunk (size 0: trailers, a next
 * request) stays as it is, and so does everything from a line that is not a size line where
 * one should be. A bare LF is taken for CR LF, as lenient servers take it. Up to
 * BW_CK_SEP_BYTES bytes of separators or BW_CK_WORDS words of data a step (bw_dechunk_step; a
 * bpf_loop step costs more than a word's copy); no read meets what an earlier store wrote, as
 * the text only moves down. Returns 0 once it is done, with raw[from, c->dst) the body. */
#define BW_CK_WORDS 4
#define BW_CK_SEP_BYTES 8
/* Up to BW_CK_WORDS words of a chunk's data, or of what follows the last chunk. */
BW_INLINE int bw_dechunk_data(struct bw_scan_buf *sb, struct bw_dechunk *c)
{
    __u8 *raw = sb->raw;
    __u32 src = c->src, dst = c->dst, phase = c->phase;
    if (src >= c->len || src >= BW_MAX_SCAN_BYTES)
        return 0;
    __u32 left = c->left;
    for (int k = 0; k < BW_CK_WORDS; k++) {
        if (src >= c->len || src >= BW_MAX_SCAN_BYTES)
            break; /* the next step says so */
        __u32 n = c->len - src;
        if (phase == BW_CK_DATA && left < n)
            n = left;
        if (n > 8)
            n = 8;
        /* A word stored at dst reaches dst + 8: past src + n only while fewer than eight
         * bytes have been removed, and then it would overwrite bytes not yet read. */
        if (n < 8 && src - dst < 8) {
            n = 1;
            raw[dst & (BW_SCAN_BUF - 1)] = raw[src & (BW_SCAN_BUF - 1)];
        } else {
            BW_STORE64(&raw[dst & (BW_SCAN_BUF - 1)], BW_LOAD64(&raw[src & (BW_SCAN_BUF - 1)]));
        }
        src += n;
        dst += n;
        if (phase == BW_CK_DATA && (left -= n) == 0) {
            c->phase = BW_CK_CR;
            c->mark = src;
            break;
        }
    }
    c->src = src;
    c->dst = dst;
    c->left = left;
    return 1;
}

/* One byte of a separator (a size line, or the CR LF after a chunk's data). */
BW_INLINE int bw_dechunk_sep(struct bw_scan_buf *sb, struct bw_dechunk *c)
{
    __u8 *raw = sb->raw;
    __u32 src = c->src, dst = c->dst, phase = c->phase;
    if (src >= c->len || src >= BW_MAX_SCAN_BYTES)
        return 0; /* a separator cut by the packet's end goes with it */
    __u8 b = raw[BW_MASKED(src, BW_SCAN_BUF - 1)];
    c->src = src + 1;
    if (phase == BW_CK_CR || phase == BW_CK_CRLF) {
        if (b == '\r' && phase == BW_CK_CR) {
            c->phase = BW_CK_CRLF;
            return 1;
        }
        if (b != '\n')
            goto not_one;
        c->phase = BW_CK_SIZE;
        c->left = 0;
        c->digits = 0;
        return 1;
    }
    if (phase == BW_CK_SIZE) {
        int h = bw_hex(b);
        if (h >= 0 && c->digits < 8) {
            c->left = c->left * 16 + (__u32)h;
            c->digits++;
            return 1;
        }
        if (!c->digits || (b != ';' && b != ' ' && b != '\t' && b != '\r' && b != '\n'))
            goto not_one;
        phase = BW_CK_EXT;
    }
    if (phase == BW_CK_EXT && b != '\n') {
        if (b == '\r')
            c->phase = BW_CK_LF;
        else
            c->phase = BW_CK_EXT;
        return 1;
    }
    if (phase == BW_CK_LF && b != '\n')
        goto not_one;
    /* The size line is whole: its chunk's bytes next, or after the last chunk the rest. */
    c->phase = c->left ? BW_CK_DATA : BW_CK_REST;
    if (!c->left)
        c->ended = c->src;
    return 1;
not_one:
    /* Not a separator: the rest stays as it is, from where this one started. */
    if (dst == c->mark) {
        c->dst = c->len; /* nothing was removed: it is already in place */
        return 0;
    }
    c->phase = BW_CK_REST;
    c->src = c->mark;
    return 1;
}

/* The de-chunker's step (see above): up to BW_CK_WORDS words of data, or up to BW_CK_SEP_BYTES
 * bytes of separators, stopping where data starts. */
BW_INLINE int bw_dechunk_step(struct bw_scan_buf *sb, struct bw_dechunk *c)
{
    if (c->frame && c->phase == BW_CK_REST)
        return 0;
    if (c->phase == BW_CK_DATA || c->phase == BW_CK_REST)
        return bw_dechunk_data(sb, c);
    for (int k = 0; k < BW_CK_SEP_BYTES; k++) {
        if (!bw_dechunk_sep(sb, c))
            return 0;
        if (c->phase == BW_CK_DATA || c->phase == BW_CK_REST)
            return 1;
    }
    return 1;
}

/* Before the body that starts at raw[from] is decoded (raw[0, len) the payload): whether it is
 * chunked, and if so the de-chunker set up in sb->ck. */
BW_INLINE int bw_dechunk_start(struct bw_scan_buf *sb, const struct bw_decoder *d, __u32 from)
{
    if (!bw_te_chunked(sb, d, from))
        return 0;
    struct bw_dechunk *c = &sb->ck;
    c->src = c->dst = c->mark = from;
    c->len = d->len;
    c->phase = BW_CK_SIZE;
    c->left = c->digits = c->ended = c->frame = 0;
    return 1;
}

/* A body's lead: whitespace (space, tab, CR, LF) and a UTF-8 byte order mark's bytes (EF BB
 * BF), any number of them, as XML and JSON parsers skip them. One word a step, from sb->ck.src
 * (the position) to sb->ck.len (the payload's end): 0 once the word with the first other
 * byte, or the end, is reached; ck.src is then that byte's position (it may pass the end). */
BW_INLINE int bw_skip_lead_step(struct bw_scan_buf *sb, struct bw_dechunk *c)
{
    __u32 in = c->src;
    if (in >= c->len || in >= BW_MAX_SCAN_BYTES)
        return 0;
    __u64 w = BW_LOAD64(&sb->raw[in & (BW_SCAN_BUF - 1)]);
    __u64 lead = bw_bytes_eq_all(w, ' ') | bw_bytes_eq_all(w, '\t') | bw_bytes_eq_all(w, '\r') |
                 bw_bytes_eq_all(w, '\n') | bw_bytes_eq_all(w, 0xef) | bw_bytes_eq_all(w, 0xbb) |
                 bw_bytes_eq_all(w, 0xbf);
    __u32 k = bw_run_lead(lead);
    c->src = in + k;
    return k == 8;
}

/* What a body is, from its first byte past the lead, raw[at] (the body is empty when at >=
 * len), as an XML or JSON parser reads it: 1 XML ('<'), 2 JSON ('{' or '['), 0 anything else. */
BW_INLINE __u32 bw_body_kind(const struct bw_scan_buf *sb, __u32 at, __u32 len)
{
    if (at >= len)
        return 0;
    __u8 b = sb->raw[at & (BW_SCAN_BUF - 1)];
    return b == '<' ? 1 : b == '{' || b == '[' ? 2 : 0;
}

/* Whether a token character (RFC 9110's tchar): a method's. */
BW_INLINE int bw_tchar(__u8 c)
{
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return 1;
    return c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
           c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' ||
           c == '~';
}

/* One step of reading a request line (struct bw_reqline): 0 once it is read (r->ok) or is
 * none. A line the payload cuts is none: nothing says the rest is a version. A step reads up to
 * eight of the method's bytes, a word of the target, or the whole version and line end: a
 * bpf_loop step costs several times what it does (bench/RESULTS.md). */
BW_INLINE int bw_reqline_step(struct bw_scan_buf *sb, struct bw_reqline *r)
{
    __u32 pos = r->pos, n = r->n;
    if (pos >= r->len || pos >= BW_MAX_SCAN_BYTES)
        return 0;
    if (r->phase == BW_RL_METHOD) {
        for (__u32 j = 0; j < 8; j++, pos++) {
            if (pos >= r->len || pos >= BW_MAX_SCAN_BYTES)
                return 0;
            __u8 b = sb->raw[pos & (BW_SCAN_BUF - 1)];
            if (bw_tchar(b)) {
                if (++n > BW_METHOD_MAX)
                    return 0;
                continue;
            }
            if (b != ' ' || n == 0)
                return 0;
            r->pos = pos + 1;
            r->phase = BW_RL_TARGET;
            r->n = 0;
            return 1;
        }
        r->pos = pos;
        r->n = n;
        return 1;
    }
    if (r->phase == BW_RL_TARGET) {
        /* The first byte at or below 0x20: a space, or a byte no target holds. */
        __u64 m = bw_bytes_below(BW_LOAD64(&sb->raw[pos & (BW_SCAN_BUF - 1)]), 0x21);
        if (!m) {
            r->pos = pos + 8; /* past the end: the next step says none */
            r->n = n + 8;
            return 1;
        }
        __u32 i = bw_first_flagged(m);
        pos += i;
        if (pos >= r->len || sb->raw[pos & (BW_SCAN_BUF - 1)] != ' ' || n + i == 0)
            return 0;
        r->pos = pos + 1;
        r->phase = BW_RL_VERSION;
        r->n = 0;
        return 1;
    }
    /* "HTTP/", a digit, '.', a digit (a little-endian word), then CR LF or a bare LF. */
    if (pos + 9 > r->len)
        return 0;
    __u64 w = BW_LOAD64(&sb->raw[pos & (BW_SCAN_BUF - 1)]);
    __u8 major = (__u8)(w >> 40), dot = (__u8)(w >> 48), minor = (__u8)(w >> 56);
    if ((w & 0xffffffffffULL) != 0x2f50545448ULL || major < '0' || major > '9' || dot != '.' ||
        minor < '0' || minor > '9')
        return 0;
    __u8 end = sb->raw[(pos + 8) & (BW_SCAN_BUF - 1)];
    if (end == '\r') {
        if (pos + 10 > r->len)
            return 0;
        end = sb->raw[(pos + 9) & (BW_SCAN_BUF - 1)];
    }
    r->ok = end == '\n';
    return 0;
}

/* A header line raw[at, at + n) (its CR left out; `next` past its LF) as framing reads it:
 * where Content-Length's value is, or whether Transfer-Encoding says chunked. */
BW_INLINE void bw_frame_header(struct bw_scan_buf *sb, struct bw_frame *f, __u32 at, __u32 n,
                               __u32 next)
{
    const __u8 *raw = sb->raw;
    if (n < 15)
        return;
    int te = bw_te_line(raw, at, next);
    if (te >= 0) {
        if (te)
            f->chunked = 1;
        else
            f->result = BW_FRAME_NONE;
        return;
    }
    __u64 w0 = BW_LOAD64(&raw[at & (BW_SCAN_BUF - 1)]) | BW_CASE_FOLD;
    __u64 w1 = BW_LOAD64(&raw[(at + 8) & (BW_SCAN_BUF - 1)]) | BW_CASE_FOLD;
    if (w0 != BW_WORD8('c', 'o', 'n', 't', 'e', 'n', 't', '-') ||
        (w1 & 0x00ffffffffffffffULL) != BW_WORD8('l', 'e', 'n', 'g', 't', 'h', ':', 0))
        return;
    if (++f->lengths > 1) {
        f->result = BW_FRAME_NONE; /* two lengths: nginx refuses the request */
        return;
    }
    f->value = at + 15;
    f->value_end = at + n;
}

/* How many of w's bytes, from its first in memory, are a space or a tab (8: all). */
BW_INLINE __u32 bw_ows_lead(__u64 w)
{
    return bw_run_lead(bw_bytes_eq_all(w, ' ') | bw_bytes_eq_all(w, '\t'));
}

/* One step of reading Content-Length's value raw[f->value, f->value_end) into f->length: its
 * leading whitespace, its digits, its trailing whitespace, a word a step (any run of whitespace
 * or leading zeros, as servers take them). 0 once read, or BW_FRAME_NONE for what is no length
 * or one past BW_FRAME_MAX_LENGTH. The byte at value_end is the line's CR or LF, so no digit
 * runs past it. */
BW_INLINE int bw_frame_value_step(struct bw_scan_buf *sb, struct bw_frame *f)
{
    __u32 pos = f->value, end = f->value_end;
    __u64 w = BW_LOAD64(&sb->raw[pos & (BW_SCAN_BUF - 1)]);
    if (f->value_phase == 1) {
        __u32 digits = 0;
        __u64 v = f->length;
#ifdef __bpf__
#pragma unroll
#endif
        for (int k = 0; k < 8; k++) {
            __u32 d = (__u32)(__u8)(w >> (8 * k)) - '0';
            if (d > 9)
                break;
            v = v * 10 + d;
            digits++;
        }
        if (v > BW_FRAME_MAX_LENGTH) {
            f->result = BW_FRAME_NONE;
            return 0;
        }
        f->length = (__u32)v;
        f->value = pos + digits;
        if (digits < 8) /* leading zeros run on to the next word */
            f->value_phase = 2;
        return 1;
    }
    __u32 k = bw_ows_lead(w);
    if (pos + k >= end) { /* whitespace to the end: no digits yet, or the value is read */
        if (f->value_phase == 0)
            f->result = BW_FRAME_NONE;
        return 0;
    }
    if (k == 8) {
        f->value = pos + 8;
        return 1;
    }
    if (f->value_phase == 2) {
        f->result = BW_FRAME_NONE; /* a second number, or what is no digit */
        return 0;
    }
    f->value = pos + k;
    f->value_phase = 1; /* a digit, or not: the next step says */
    return 1;
}

/* One step of framing a request (struct bw_frame) from raw[0]: 0 once f->result says where
 * it ends or that it is not framed. A step reads up to BW_FRAME_WORDS words to the next LF (the
 * line's end: its header read): a bpf_loop step costs several times a word's test. */
#define BW_FRAME_WORDS 8
BW_INLINE int bw_frame_step(struct bw_scan_buf *sb, struct bw_frame *f)
{
    __u32 pos = f->pos;
    __u64 lf = 0;
    for (int j = 0; j < BW_FRAME_WORDS; j++) {
        if (pos >= f->len || pos >= BW_MAX_SCAN_BYTES) {
            f->result = BW_FRAME_NONE;
            return 0;
        }
        lf = bw_bytes_eq_all(BW_LOAD64(&sb->raw[pos & (BW_SCAN_BUF - 1)]), '\n');
        if (lf)
            break;
        pos += 8;
    }
    if (!lf) {
        f->pos = pos;
        return 1;
    }
    __u32 eol = pos + bw_first_flagged(lf);
    if (eol >= f->len) {
        f->result = BW_FRAME_NONE; /* the word's LF is past the bytes loaded */
        return 0;
    }
    __u32 at = f->line, n = eol - at;
    if (n && sb->raw[(eol - 1) & (BW_SCAN_BUF - 1)] == '\r')
        n--;
    if (n == 0 && at) {
        f->end = eol + 1; /* the body's, once the steps are over (bw_frame_request) */
        f->result = BW_FRAME_END;
        return 0;
    }
    if (at && !f->trailers)
        bw_frame_header(sb, f, at, n, eol + 1);
    if (f->result)
        return 0;
    f->line = f->pos = eol + 1;
    return 1;
}

/* The de-chunker's, the lead's and the request line's steps run to their end: in the XDP
 * program as bpf_loop steps (each step verified once: as bounded loops, the skip's 183 words
 * were walked path by path, 270k of the verifier's instructions), in userspace as plain loops.
 * `state` names the step's state in the scan buffer. */
#ifdef __bpf__
struct bw_body_ctx {
    struct bw_scan_buf *sb;
};
#define BW_STEP_CB(step, state)                                                                    \
    static long step##_cb(__u64 i, void *ctx)                                                      \
    {                                                                                              \
        struct bw_scan_buf *sb = ((struct bw_body_ctx *)ctx)->sb;                                  \
        return !step##_step(sb, &sb->state);                                                       \
    }
BW_STEP_CB(bw_dechunk, ck)
BW_STEP_CB(bw_skip_lead, ck)
BW_STEP_CB(bw_reqline, rl)
BW_STEP_CB(bw_frame, fr)
BW_STEP_CB(bw_frame_value, fr)
#define BW_RUN_STEPS(sb, state, max, step)                                                         \
    do {                                                                                           \
        struct bw_body_ctx ctx_ = {.sb = (sb)};                                                    \
        bpf_loop(max, step##_cb, &ctx_, 0);                                                        \
    } while (0)
#else
#define BW_RUN_STEPS(sb, state, max, step)                                                         \
    do {                                                                                           \
    } while (step##_step(sb, &(sb)->state))
#endif

/* How many of w's bytes, from its first in memory, are CR or LF (8: all). Empty lines before
 * a request line are not the request's: RFC 9112 2.2 has a server ignore them, and nginx,
 * Apache and Node do, so a request sent after "\r\n" is one to them. */
BW_INLINE __u32 bw_blank_lead(__u64 w)
{
    return bw_run_lead(bw_bytes_eq_all(w, '\r') | bw_bytes_eq_all(w, '\n'));
}

/* Whether raw[0, len) starts an HTTP request: a method the guard lists and a space (the
 * common case, without a step), or any request line (bw_reqline_step). */
BW_INLINE int bw_is_request(struct bw_scan_buf *sb, __u32 len)
{
    const __u8 *b = sb->raw;
    if (len < 4)
        return 0;
    if (b[0] == 'G' && b[1] == 'E' && b[2] == 'T' && b[3] == ' ')
        return 1;
    if (b[0] == 'P' && b[1] == 'U' && b[2] == 'T' && b[3] == ' ')
        return 1;
    if (len >= 8) {
        if (b[0] == 'P' && b[1] == 'O' && b[2] == 'S' && b[3] == 'T' && b[4] == ' ')
            return 1;
        if (b[0] == 'H' && b[1] == 'E' && b[2] == 'A' && b[3] == 'D' && b[4] == ' ')
            return 1;
        if (b[0] == 'P' && b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' && b[5] == ' ')
            return 1;
        if (b[0] == 'T' && b[1] == 'R' && b[2] == 'A' && b[3] == 'C' && b[4] == 'E' && b[5] == ' ')
            return 1;
        if (b[0] == 'D' && b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' &&
            b[5] == 'E' && b[6] == ' ')
            return 1;
        if (b[0] == 'O' && b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' &&
            b[5] == 'N' && b[6] == 'S' && b[7] == ' ')
            return 1;
        if (b[0] == 'C' && b[1] == 'O' && b[2] == 'N' && b[3] == 'N' && b[4] == 'E' &&
            b[5] == 'C' && b[6] == 'T' && b[7] == ' ')
            return 1;
    }
    /* Most later segments of a body take no step: a method's space is in the first 21 bytes
     * (bw_bytes_eq may flag more, not fewer: the steps decide). */
    if (!bw_tchar(b[0]) || !(bw_bytes_eq(BW_LOAD64(b), ' ') | bw_bytes_eq(BW_LOAD64(b + 8), ' ') |
                             bw_bytes_eq(BW_LOAD64(b + 16), ' ')))
        return 0;
    sb->rl.pos = 0;
    sb->rl.len = len;
    sb->rl.phase = BW_RL_METHOD;
    sb->rl.n = 0;
    sb->rl.ok = 0;
    BW_RUN_STEPS(sb, rl, BW_MAX_SCAN_BYTES + 1, bw_reqline);
    return sb->rl.ok;
}

/* Frames the request at raw[0] (`len` bytes of it loaded): BW_FRAME_END with sb->fr.end, or
 * BW_FRAME_NONE. */
BW_INLINE __u32 bw_frame_request(struct bw_scan_buf *sb, __u32 len)
{
    struct bw_frame *f = &sb->fr;
    f->pos = f->line = f->length = f->lengths = f->end = f->value = f->value_end = 0;
    f->chunked = f->trailers = 0;
    f->len = len;
    f->result = BW_FRAME_MORE;
    /* A step takes a byte at least. */
    BW_RUN_STEPS(sb, fr, BW_MAX_SCAN_BYTES + 1, bw_frame);
    if (f->result != BW_FRAME_END)
        return f->result;
    if (f->chunked) {
        /* The de-chunker walks the chunks to the last one's size line (it moves their data down
         * in raw[], which is loaded again for the next request); the trailer lines to the empty
         * one end the body. */
        struct bw_dechunk *c = &sb->ck;
        c->src = c->dst = c->mark = f->end;
        c->len = len;
        c->phase = BW_CK_SIZE;
        c->left = c->digits = c->ended = 0;
        c->frame = 1;
        BW_RUN_STEPS(sb, ck, 2 * BW_MAX_SCAN_BYTES + 16, bw_dechunk);
        c->frame = 0;
        if (!c->ended) {
            f->result = BW_FRAME_NONE; /* past the bytes loaded, or not chunks */
            return f->result;
        }
        f->line = f->pos = c->ended;
        f->trailers = 1;
        f->result = BW_FRAME_MORE;
        BW_RUN_STEPS(sb, fr, BW_MAX_SCAN_BYTES + 1, bw_frame);
        return f->result;
    }
    if (f->lengths) {
        f->value_phase = 0;
        /* A step takes a byte at least, or the digits. */
        BW_RUN_STEPS(sb, fr, BW_MAX_SCAN_BYTES + 1, bw_frame_value);
        f->end += f->length;
    }
    return f->result;
}

/* The body that starts at raw[from], once the decoder `d` (sb->d) has read the headers:
 * de-chunked when they say it is chunked (d->len is then its new end), and its kind. */
BW_INLINE __u32 bw_body(struct bw_scan_buf *sb, struct bw_decoder *d, __u32 from)
{
    if (bw_dechunk_start(sb, d, from)) {
        /* A step takes a byte at least; the rest may be read twice (from a bad line's start). */
        BW_RUN_STEPS(sb, ck, 2 * BW_MAX_SCAN_BYTES + 16, bw_dechunk);
        d->len = sb->ck.dst;
    }
    sb->ck.src = from;
    sb->ck.len = d->len;
    BW_RUN_STEPS(sb, ck, BW_MAX_SCAN_BYTES / 8 + 1, bw_skip_lead);
    return bw_body_kind(sb, sb->ck.src, d->len);
}

/* In the XDP program global functions, called from the decoder step and verified once: the
 * body's work, once where the headers end; an XML reference; the byte path's tail (inline,
 * each escape's path, its length and value constants to the verifier, walked bw_emit's
 * branches again: 380k instructions in all). */
#ifdef __bpf__
__attribute__((noinline)) __u32 bw_xml_ref_global(__u64 w, __u32 avail)
{
    return bw_xml_ref(w, avail);
}
__attribute__((noinline)) __u32 bw_body_global(struct bw_scan_buf *sb, struct bw_decoder *d,
                                               __u32 from)
{
    return sb && d ? bw_body(sb, d, from) : 0;
}
__attribute__((noinline)) int bw_symbol_global(struct bw_scan_buf *sb, __u32 in, __u32 used,
                                               __u32 v)
{
    if (!sb)
        return 0;
    bw_symbol(sb, &sb->d, in, used, v);
    return 1;
}
#define BW_XML_REF bw_xml_ref_global
#define BW_BODY bw_body_global
#define BW_SYMBOL(sb, d, in, used, v) bw_symbol_global(sb, in, used, v)
#else
#define BW_XML_REF bw_xml_ref
#define BW_BODY bw_body
#define BW_SYMBOL bw_symbol
#endif

/* A line starts at dec[out] (raw[in]): kept while there is room (BW_MAX_LINES). */
BW_INLINE void bw_add_line(struct bw_scan_buf *sb, struct bw_decoder *d, __u32 out, __u32 in)
{
    if (d->nlines < BW_MAX_LINES) {
        sb->lines[d->nlines & (BW_MAX_LINES - 1)] = (__u16)out;
        sb->raw_lines[d->nlines & (BW_MAX_LINES - 1)] = (__u16)in;
        d->nlines++;
    }
}

/* One step of the decoder over raw[0, d->len): up to four 8-byte words copied as they are
 * when no comment is open, up to the first '%', '*', '\\' or newline that does not end a line
 * with text (or '&' in an XML body); else one escape or byte. Returns 0 once everything is
 * decoded. Escapes: %XX; %25XX (one level of double encoding); %u00XX; and JSON's
 * (JavaScript's) string escapes \u00XX, \", \', \/ and \\, so that a payload in a JSON API's
 * body reads as it would in a form: {"q":"\u0027 or 1=1"} and {"o":"O:8:\"C\":0:{}"} hide their
 * quotes from no pattern; in a JSON body (it starts with '{' or '[') also \n, \r and \t, and
 * in an XML body (it starts with '<') its entity references (bw_xml_ref). Other backslashes
 * stay (the DFA reads them as '/', for Windows paths). A decoded whitespace byte
 * becomes ' ', a decoded CR or LF BW_BREAK_BYTE, so raw CR and LF alone delimit lines. Shared by
 * the XDP program and userspace (the reference the tests compare with). */
BW_INLINE int bw_decode_step(struct bw_scan_buf *sb, struct bw_decoder *d)
{
    __u8 *raw = sb->raw;
    __u8 *dec = sb->dec;
    __u32 in = d->in;
    if (in >= d->len || in >= BW_MAX_SCAN_BYTES)
        return 0;
    __u32 out = d->out;
    if (d->comment == BW_CM_NONE && (out == 0 || dec[(out - 1) & (BW_SCAN_BUF - 1)] != '*')) {
        /* Up to BW_DECODE_WORDS words: each copied whole, or up to its first special byte.
         * When that byte is the newline that ends a line with text (a header's CR LF), the
         * line ends here as it would on the byte-by-byte path below, and the copy goes on
         * after it. That path takes everything else: the other special bytes, and an empty
         * line's CR or LF (it tells the end of the headers by them). The last word may be
         * short (the payload's end): raw[] and dec[] have room past it, and what is stored
         * there is overwritten (the final line break, the padding) before anything reads it. */
        __u32 in0 = in, empty = d->line_empty;
        __u32 xml = d->xml;
        for (int k = 0; k < BW_DECODE_WORDS; k++) {
            if (in >= d->len)
                break;
            __u64 w = BW_LOAD64(&raw[in & (BW_SCAN_BUF - 1)]);
            __u64 special = bw_bytes_eq(w, '%') | bw_bytes_eq(w, '*') | bw_bytes_eq(w, '\n') |
                            bw_bytes_eq(w, '\\') | bw_bytes_eq(w, BW_PAD_BYTE);
            if (xml)
                special |= bw_bytes_eq(w, '&');
            if (!special && in + 8 <= d->len) {
                BW_STORE64(&dec[out & (BW_SCAN_BUF - 1)], w);
                in += 8;
                out += 8;
                empty = 0;
                continue;
            }
            __u32 avail = d->len - in;
            __u32 n = special ? bw_first_flagged(special) : 8;
            if (n > avail)
                n = avail;
            int nl = n < avail && (__u8)(w >> ((n & 7) * 8)) == '\n';
            if (empty && (n == 0 || (__u8)w == '\r'))
                break;
            if (n == 0 && !nl)
                break;
            BW_STORE64(&dec[out & (BW_SCAN_BUF - 1)], w);
            in += n;
            out += n;
            if (n)
                empty = 0;
            if (!nl)
                break;
            in++;
            out++;
            bw_add_line(sb, d, out, in);
            empty = 1;
        }
        if (in != in0) {
            d->in = in;
            d->out = out;
            d->line_empty = empty;
            return 1;
        }
    }
    __u8 b = raw[in & (BW_SCAN_BUF - 1)];
    if (b == BW_PAD_BYTE) /* the raw pass reads raw[] too: no payload byte may pad */
        raw[in & (BW_SCAN_BUF - 1)] = b = BW_PAD_BYTE - 1;
    if (b == '\n') {
        if (d->comment != BW_CM_NONE)
            d->comment = BW_CM_NONE; /* comments never span lines: what was written stays */
        out = d->out;
        dec[out & (BW_SCAN_BUF - 1)] = '\n';
        d->out = ++out;
        d->in = in + 1;
        if (d->in_headers && d->line_empty) {
            d->hdr_end = out;
            d->raw_hdr_end = in + 1;
            d->in_headers = 0;
            __u32 kind = BW_BODY(sb, d, in + 1);
            d->xml = kind & 1;
            d->json = kind >> 1;
        } else {
            bw_add_line(sb, d, out, in + 1);
        }
        d->line_empty = 1;
        return 1;
    }
    __u32 used = 1;
    int v = b, hi, lo;
    if (b == '%' && in + 2 < d->len && (hi = bw_hex(raw[(in + 1) & (BW_SCAN_BUF - 1)])) >= 0 &&
        (lo = bw_hex(raw[(in + 2) & (BW_SCAN_BUF - 1)])) >= 0) {
        v = hi * 16 + lo;
        used = 3;
        if (v == '%' && in + 4 < d->len && (hi = bw_hex(raw[(in + 3) & (BW_SCAN_BUF - 1)])) >= 0 &&
            (lo = bw_hex(raw[(in + 4) & (BW_SCAN_BUF - 1)])) >= 0) {
            v = hi * 16 + lo;
            used = 5;
        }
    } else if ((b == '%' || b == '\\') && in + 5 < d->len &&
               /* %u00XX in any case; JSON's \u00XX in lower case only, as JSON spells it */
               (raw[(in + 1) & (BW_SCAN_BUF - 1)] | (b == '%' ? 0x20 : 0)) == 'u' &&
               raw[(in + 2) & (BW_SCAN_BUF - 1)] == '0' &&
               raw[(in + 3) & (BW_SCAN_BUF - 1)] == '0' &&
               (hi = bw_hex(raw[(in + 4) & (BW_SCAN_BUF - 1)])) >= 0 &&
               (lo = bw_hex(raw[(in + 5) & (BW_SCAN_BUF - 1)])) >= 0) {
        v = hi * 16 + lo;
        used = 6;
    } else if (b == '\\' && in + 1 < d->len) {
        __u8 e = raw[(in + 1) & (BW_SCAN_BUF - 1)];
        if (e == '"' || e == '\'' || e == '/' || e == '\\') {
            v = e;
            used = 2;
        } else if (d->json && (e == 'n' || e == 'r' || e == 't')) {
            v = e == 't' ? '\t' : '\n';
            used = 2;
        }
    } else if (b == '&' && d->xml) {
        __u32 r = BW_XML_REF(BW_LOAD64(&raw[in & (BW_SCAN_BUF - 1)]), d->len - in);
        used = r & 0xff;
        v = (int)(r >> 8) & 0xff;
    }
    BW_SYMBOL(sb, d, in, used, (__u32)v);
    return 1;
}

/* After the last step: lengths and the body's start (an HTTP request whose headers do not end
 * in the packet has no body in it; other payloads are all body). */
BW_INLINE void bw_decode_finish(struct bw_scan_buf *sb, const struct bw_decoder *d)
{
    /* The end of the scanned bytes reads as an encoded line break, so a pattern can say "and
     * then the value ends" with \s or \n (there is no $: the packet's end is not always the
     * request's). */
    __u32 out = d->out, len = d->len;
    sb->dec[out & (BW_SCAN_BUF - 1)] = BW_BREAK_BYTE;
    sb->raw[len & (BW_SCAN_BUF - 1)] = '\n';
    sb->dec_len = out + 1;
    sb->raw_len = len + 1;
    sb->nlines = d->nlines;
    sb->hdr_end = d->in_headers ? d->out : d->hdr_end;
    sb->raw_hdr_end = d->in_headers ? sb->raw_len : d->raw_hdr_end;
}

/* Where the scan's streams start: stream 0 at 0; stream k near k*len/4, moved to the next line
 * start while in the headers (the DFA tracks which header it is in from a line's start) or
 * left where it falls in the body. Every stream then runs `steps` symbols (the longest
 * distance between two starts) and, past that, on until nothing is in progress
 * (bw_dfa.quiet), so a match is found whole by the stream it starts in. Pure. */
BW_INLINE int bw_word_byte(__u8 c)
{
    c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_';
}

#define BW_SNAP 32     /* a stream starts at the next line when it is this close */
#define BW_NAME_MAX 64 /* a header name longer than this: the stream starts at its line */

/* Stream k's start and DFA row, before the streams are put in order (bw_plan_scan), in two
 * steps (the XDP program keeps what the first finds in its map between them, so the verifier's
 * paths through one do not multiply with the other's). At k/4 of the text: in the body as it
 * falls; in the headers at the next line if it is near, else inside the line, in the state the
 * DFA is in after the line's header name and its ':', restarted through the mid columns (a
 * value, or the request line, has nothing in progress there; the stream before goes on past
 * this point until it has nothing in progress either). */

/* Step 1: the point x, and the line it is in: its start (0, the request line, if none) and
 * the next line's (or the body's). */
BW_INLINE void bw_plan_line(const __u16 *lines, __u32 nlines, __u32 hdr_end, __u32 len, __u32 k,
                            __u32 *x_out, __u32 *ls_out, __u32 *next_out)
{
    __u32 x = (k * len) / BW_SCAN_STREAMS, ls = 0, next = hdr_end;
    for (__u32 i = 0; i < BW_MAX_LINES; i++) {
        if (i >= nlines)
            break;
        __u32 l = lines[i & (BW_MAX_LINES - 1)];
        if (l > x) {
            next = l < hdr_end ? l : hdr_end;
            break;
        }
        ls = l;
    }
    *x_out = x;
    *ls_out = ls;
    *next_out = next;
}

/* Step 2: where the stream starts, and in which DFA row (`table`: bw_table.e). */
BW_INLINE void bw_plan_state(const __u8 *buf, __u32 x, __u32 ls, __u32 next, __u32 hdr_end,
                             int http, const __u32 *table, const struct bw_dfa *dfa,
                             const __u32 *starts, __u32 *start, __u32 *state)
{
    __u32 w = x > 0 ? bw_word_byte(buf[(x - 1) & (BW_SCAN_BUF - 1)]) : 0;
    *start = x;
    if (!http || x > hdr_end) {
        *state = starts[w ? BW_START_MID_WORD : BW_START_MID];
        return;
    }
    if (x == hdr_end) {
        *state = starts[BW_START_BODY];
        return;
    }
    if (next - x <= BW_SNAP) {
        *start = next;
        *state = starts[next == hdr_end ? BW_START_BODY : BW_START_LINE];
        return;
    }
    if (ls == 0) { /* in the request line */
        *state = BW_DFA_AT(table, starts[BW_START_REQUEST] + dfa->mid + w * 4);
        return;
    }
    /* The header's name, through the DFA up to its ':'. */
    __u32 s = starts[BW_START_LINE], colon = 0, j;
    for (j = 0; j < BW_NAME_MAX; j++) {
        __u32 pos = ls + j;
        if (pos >= x)
            break;
        __u8 b = buf[pos & (BW_SCAN_BUF - 1)];
        s = BW_DFA_AT(table, s + BW_DFA_CLASS(table, b));
        if (b == ':') {
            colon = 1;
            break;
        }
    }
    if (colon) {
        *state = BW_DFA_AT(table, s + dfa->mid + w * 4);
    } else if (j == BW_NAME_MAX) {
        /* A name longer than any a policy tracks: the rest of the line is more of it, and
         * nothing is looked for in it (the state the run ended in holds there too). */
        *state = s;
    } else { /* x is in the name: the line's start */
        *start = ls;
        *state = starts[BW_START_LINE];
    }
}

BW_INLINE void bw_plan_start(const __u8 *buf, const __u16 *lines, __u32 nlines, __u32 hdr_end,
                             __u32 len, int http, __u32 k, const __u32 *table,
                             const struct bw_dfa *dfa, const __u32 *starts, __u32 *start,
                             __u32 *state)
{
    __u32 x, ls, next;
    bw_plan_line(lines, nlines, hdr_end, len, k, &x, &ls, &next);
    bw_plan_state(buf, x, ls, next, hdr_end, http, table, dfa, starts, start, state);
}

/* The streams in order (a start before the previous one takes the previous one's start and
 * state: the same work twice, never a state for the wrong place) and the steps they take in
 * lockstep: the longest distance between two starts, in whole batches. */
BW_INLINE void bw_plan_finish(struct bw_plan *p, __u32 len)
{
    __u32 prev = 0, prev_state = p->state[0], steps = 0;
    for (__u32 k = 1; k < BW_SCAN_STREAMS; k++) {
        __u32 x = p->start[k];
        if (x < prev) {
            x = prev;
            p->state[k] = prev_state;
        }
        if (x > len)
            x = len;
        p->start[k] = x;
        if (x - prev > steps)
            steps = x - prev;
        prev = x;
        prev_state = p->state[k];
    }
    if (len - prev > steps)
        steps = len - prev;
    p->steps = (steps + BW_SCAN_BATCH - 1) / BW_SCAN_BATCH * BW_SCAN_BATCH;
}

BW_INLINE void bw_plan_scan(const __u8 *buf, const __u16 *lines, __u32 nlines, __u32 hdr_end,
                            __u32 len, int http, const __u32 *table, const struct bw_dfa *dfa,
                            const __u32 *starts, struct bw_plan *p)
{
    p->start[0] = 0;
    p->state[0] = starts[http ? BW_START_REQUEST : BW_START_MID];
    for (__u32 k = 1; k < BW_SCAN_STREAMS; k++)
        bw_plan_start(buf, lines, nlines, hdr_end, len, http, k, table, dfa, starts, &p->start[k],
                      &p->state[k]);
    bw_plan_finish(p, len);
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

/* A source's key: its address masked to the policy's key prefix for its family (the program's
 * bucket key; `bulwark ban` forms the same from an address). */
BW_INLINE void bw_mask_key(struct bw_source_key *k, __u32 prefix_v4, __u32 prefix_v6)
{
    __u32 prefix = k->family == 4 ? prefix_v4 : prefix_v6;
    if (prefix >= (k->family == 4 ? 32u : 128u))
        return; /* per address: nothing to mask (IPv4's unused bytes are already zero) */
#ifdef __bpf__
#pragma unroll
#endif
    for (int i = 0; i < 16; i++) {
        __u32 bit = i * 8;
        if (bit >= prefix)
            k->addr[i] = 0;
        else if (prefix - bit < 8)
            k->addr[i] &= (__u8)(0xff << (8 - (prefix - bit)));
    }
}

/* How long the ban after `level` earlier ones lasts: for_ns doubled `level` times, at most
 * max_ns. */
static inline __u64 bw_ban_length(const struct bw_bans *b, __u32 level)
{
    __u64 len = b->for_ns;
    for (__u32 i = 0; i < 64 && i < level && len < b->max_ns; i++)
        len = len > b->max_ns / 2 ? b->max_ns : len * 2;
    return len < b->max_ns ? len : b->max_ns;
}

#endif /* BULWARK_BPF_H */
