// Walking a BPF hash or LPM map from userspace: every key, or every entry that can still be
// looked up (the program may delete one between the key and the lookup).
#pragma once

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "core/error.hpp"

namespace bulwark::xdp {

template <typename Key, typename Fn>
void for_each_key(int fd, Fn&& fn) {
    Key key{}, next{};
    Key* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        fn(next);
        key = next;
        prev = &key;
    }
}

// Hash maps are read in batches (BPF_MAP_LOOKUP_BATCH, 5.6+): a table of a million sources
// costs two syscalls per entry when walked key by key (seconds, and `stats` is run during the
// attacks that fill it), one per few thousand entries this way. Where the kernel or the map
// type has no batch lookup (an LPM trie, or a bucket larger than a batch), the walk is key by
// key. The walk is per bucket, so an entry the program adds or deletes meanwhile is either
// seen once or not at all.
template <typename Key, typename Value, typename Fn>
void for_each_entry(int fd, Fn&& fn) {
    constexpr uint32_t batch = 4096;
    std::vector<Key> keys(batch);
    std::vector<Value> values(batch);
    // The position token is opaque: a 32-bit bucket index for hash maps, a key for others.
    alignas(8) unsigned char pos[2][sizeof(Key) < 8 ? 8 : sizeof(Key)] = {};
    bool first = true;
    for (int turn = 0;; turn ^= 1) {
        uint32_t count = batch;
        int r = bpf_map_lookup_batch(fd, first ? nullptr : pos[turn ^ 1], pos[turn], keys.data(),
                                     values.data(), &count, nullptr);
        int err = r < 0 ? errno : 0;
        if (r < 0 && err != ENOENT) {
            if (first) break;  // no batch lookup here: walk key by key below
            throw_sys("read map in batches");
        }
        for (uint32_t i = 0; i < count; ++i) fn(keys[i], values[i]);
        if (err == ENOENT) return;
        first = false;
    }
    for_each_key<Key>(fd, [&](const Key& k) {
        Value v{};
        if (bpf_map_lookup_elem(fd, &k, &v) == 0) fn(k, v);
    });
}

}  // namespace bulwark::xdp
