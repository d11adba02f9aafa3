/* Token buckets for the XDP guard: GCRA (bw_gcra in bulwark.h, shared with the unit tests) made
 * safe against CPUs updating one bucket at once, and the lookup-or-create of per-key state.
 * Included by bulwark.bpf.c only. */
#ifndef BULWARK_LIB_RATE_H
#define BULWARK_LIB_RATE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../bulwark.h"

#define CAS_TRIES 4

/* The value for `key`, created from `init` if absent (bcc's lookup_or_try_init). NULL when the
 * map cannot take it (an LRU map under churn may evict it at once): callers fail closed. */
static __always_inline void *lookup_or_try_init(void *map, const void *key, const void *init)
{
    void *v = bpf_map_lookup_elem(map, key);
    if (v)
        return v;
    bpf_map_update_elem(map, key, init, BPF_NOEXIST);
    return bpf_map_lookup_elem(map, key);
}

/* GCRA with a compare-and-swap, so CPUs updating one bucket at once never lose a token.
 * Global: verified once. */
__noinline int conform(__u64 *tat, __u64 interval_ns, __u64 tau_ns, __u64 now)
{
    if (!tat)
        return 0;
    if (interval_ns == 0)
        return 1;
    struct bw_rate r = {interval_ns, tau_ns};
    for (int i = 0; i < CAS_TRIES; i++) {
        __u64 old = *(volatile __u64 *)tat, next;
        if (!bw_gcra(old, now, &r, &next))
            return 0;
        if (__sync_val_compare_and_swap(tat, old, next) == old)
            return 1;
    }
    return 0; /* lost every race: the bucket is being hammered, fail closed */
}

#endif
