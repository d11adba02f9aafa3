// Escalating bans in an instance's `bans` map (bpf/bulwark.h struct bw_ban): what `bulwark ban`
// and `bulwark stats` show and change. The program gives bans itself; operators add and lift
// them here, keyed as the program keys sources (the address masked to the key prefix).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpf/bulwark.h"
#include "core/json_util.hpp"

namespace bulwark::guard {

struct BanEntry {
    bw_source_key key;
    bw_ban ban;
};

// Every entry, bans in force and bans remembered (ended, level kept until `forget`).
std::vector<BanEntry> read_bans(int bans_fd);
// Bans issued and refused for a full table, summed over CPUs.
struct BanCounts {
    uint64_t issued = 0, refused = 0;
};
BanCounts read_ban_counts(int bans_stats_fd);

// ADDR (IPv4 or IPv6) as the program keys it under `cfg`'s key prefix. Throws InputError.
bw_source_key source_key(const std::string& addr, const bw_config& cfg);
// "198.18.0.9", or "2001:db8::/64" when the key prefix is shorter than the address.
std::string source_text(const bw_source_key& k, const bw_config& cfg);

// Bans `k` from `now` (CLOCK_MONOTONIC ns) one level above a remembered one (ended less than
// `forget` ago), BW_BAN_MANUAL as its reason, for `length_ns` or else as long as the program
// would ban it: the policy's `for`, doubled per ban in a row. Returns the length given.
// Throws SysError (ENOSPC/E2BIG: the table is full).
uint64_t add_ban(int bans_fd, const bw_source_key& k, const bw_config& cfg,
                 std::optional<uint64_t> length_ns, uint64_t now);
// Lifts a ban and forgets its level; false when there was none.
bool remove_ban(int bans_fd, const bw_source_key& k);

// {"source", "active", "seconds_left", "length_seconds", "level", "reason", "drops"}.
Json ban_json(const BanEntry& e, const bw_config& cfg, uint64_t now);

}  // namespace bulwark::guard
