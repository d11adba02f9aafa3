// Walking a BPF hash or LPM map from userspace: every key, or every entry that can still be
// looked up (the program may delete one between the key and the lookup).
#pragma once

#include <bpf/bpf.h>

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

template <typename Key, typename Value, typename Fn>
void for_each_entry(int fd, Fn&& fn) {
    for_each_key<Key>(fd, [&](const Key& k) {
        Value v{};
        if (bpf_map_lookup_elem(fd, &k, &v) == 0) fn(k, v);
    });
}

}  // namespace bulwark::xdp
