#include "guard/bans.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"
#include "guard/map_walk.hpp"
#include "guard/program.hpp"

namespace bulwark::guard {

std::vector<BanEntry> read_bans(int fd) {
    std::vector<BanEntry> out;
    xdp::for_each_entry<bw_source_key, bw_ban>(fd, [&](const bw_source_key& k, const bw_ban& b) {
        out.push_back({k, b});
    });
    return out;
}

BanCounts read_ban_counts(int fd) {
    return {xdp::read_percpu_sum(fd, BW_BANS_ISSUED), xdp::read_percpu_sum(fd, BW_BANS_REFUSED)};
}

bw_source_key source_key(const std::string& addr, const bw_config& cfg) {
    bw_source_key k{};
    if (inet_pton(AF_INET, addr.c_str(), k.addr) == 1)
        k.family = 4;
    else if (inet_pton(AF_INET6, addr.c_str(), k.addr) == 1)
        k.family = 6;
    else
        throw InputError("\"" + addr + "\" is not an IPv4 or IPv6 address");
    bw_mask_key(&k, cfg.key_prefix_v4, cfg.key_prefix_v6);
    return k;
}

std::string source_text(const bw_source_key& k, const bw_config& cfg) {
    char buf[INET6_ADDRSTRLEN] = "";
    inet_ntop(k.family == 4 ? AF_INET : AF_INET6, k.addr, buf, sizeof buf);
    std::string text = buf;
    unsigned prefix = k.family == 4 ? cfg.key_prefix_v4 : cfg.key_prefix_v6;
    if (prefix && prefix < (k.family == 4 ? 32u : 128u))
        text.append("/").append(std::to_string(prefix));  // not "/" + ...: GCC 12 -Wrestrict
    return text;
}

namespace {

// The level a new ban of `k` builds on: the remembered one's, unless it is forgotten.
uint32_t remembered_level(int fd, const bw_source_key& k, const bw_config& cfg, uint64_t now) {
    bw_ban old{};
    if (bpf_map_lookup_elem(fd, &k, &old) != 0) return 0;
    if (now >= old.until_ns && now - old.until_ns > cfg.bans.forget_ns) return 0;
    return old.level;
}

}  // namespace

uint64_t add_ban(int fd, const bw_source_key& k, const bw_config& cfg,
                 std::optional<uint64_t> length_ns, uint64_t now) {
    uint32_t level = remembered_level(fd, k, cfg, now);
    uint64_t length = length_ns.value_or(bw_ban_length(&cfg.bans, level));
    bw_ban b{};
    b.until_ns = now + length;
    b.start_ns = now;
    b.level = level + 1;
    b.reason = BW_BAN_MANUAL;
    if (bpf_map_update_elem(fd, &k, &b, BPF_ANY) != 0) throw_sys("add the ban");
    return length;
}

bool remove_ban(int fd, const bw_source_key& k) {
    if (bpf_map_delete_elem(fd, &k) == 0) return true;
    if (errno == ENOENT) return false;
    throw_sys("remove the ban");
}

Json ban_json(const BanEntry& e, const bw_config& cfg, uint64_t now) {
    constexpr uint64_t kSecond = 1'000'000'000ull;
    bool active = now < e.ban.until_ns;
    return Json{
        {"source", source_text(e.key, cfg)},
        {"active", active},
        {"seconds_left", active ? (e.ban.until_ns - now + kSecond - 1) / kSecond : 0},
        {"length_seconds", (e.ban.until_ns - e.ban.start_ns) / kSecond},
        {"level", e.ban.level},
        {"reason", e.ban.reason == BW_BAN_MANUAL ? "manual" : xdp::reason_name(e.ban.reason)},
        {"drops", e.ban.drops}};
}

}  // namespace bulwark::guard
