// Source sprays (limits.new_sources, limits.aggregate): the policy keys, what the program gets,
// how `stats` and `events` say so. The kernel side is in tests/kernel/test_xdp.cpp [sprays].
#include <arpa/inet.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "bpf/bulwark.h"
#include "core/error.hpp"
#include "guard/events.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"
#include "guard/stats.hpp"

using namespace bulwark;
using Catch::Matchers::Contains;

namespace {
policy::Policy parse(const std::string& text) {
    return policy::parse_policy(parse_json(text, "s.json"), "s.json");
}
constexpr uint64_t kSec = 1'000'000'000ull;
}  // namespace

TEST_CASE("sprays: by default 125,000 new sources a second per CPU, aggregates by /24 and /48",
          "[sprays]") {
    auto c = xdp::make_config(parse("{}"), 0);
    CHECK(c.sprays.new_sources.interval_ns == 8'000);
    // One CPU: a burst of a sixteenth of the default table (1,000,000), less than a second's.
    CHECK(c.sprays.new_sources.tau_ns == 8'000ull * (62'500 - 1));
    CHECK(c.sprays.prefix_v4 == 24);
    CHECK(c.sprays.prefix_v6 == 48);
    CHECK(c.sprays.aggregate_kinds == 0);  // no aggregate limits unless the policy has some
    for (unsigned k = 0; k < BW_LIMIT_KINDS; ++k)
        CHECK(c.rates[BW_RATES_AGGREGATE][k].interval_ns == 0);
    auto off = xdp::make_config(parse(R"({"limits": {"new_sources": null}})"), 0);
    CHECK(off.sprays.new_sources.interval_ns == 0);
}

TEST_CASE("sprays: an aggregate's own limits, and a shared one's: its own, else one source's",
          "[sprays]") {
    auto p = parse(R"({"limits": {"key_prefix": {"ipv4": 32, "ipv6": 64},
        "default": {"packets": {"rate": "100/second"}, "connections": {"rate": "10/second"}},
        "aggregate": {"prefix": {"ipv4": 16, "ipv6": 40},
                      "connections": {"rate": "50/second", "burst": 60}},
        "new_sources": {"rate": "1000/second", "burst": 10}}})");
    CHECK(p.aggregate_prefix_v4 == 16);
    CHECK(p.aggregate_prefix_v6 == 40);
    CHECK(p.new_sources == policy::Rate{1000, kSec, 10});
    auto c = xdp::make_config(p, 0);
    CHECK(c.sprays.aggregate_kinds == 1u << BW_LIMIT_CONNECTIONS);
    CHECK(c.rates[BW_RATES_AGGREGATE][BW_LIMIT_CONNECTIONS].interval_ns == kSec / 50);
    CHECK(c.rates[BW_RATES_AGGREGATE][BW_LIMIT_PACKETS].interval_ns == 0);
    // Sharing: the aggregate's connections limit, one source's packets limit.
    CHECK(c.rates[BW_RATES_SHARED][BW_LIMIT_CONNECTIONS].interval_ns == kSec / 50);
    CHECK(c.rates[BW_RATES_SHARED][BW_LIMIT_CONNECTIONS].tau_ns == kSec / 50 * 59);
    CHECK(c.rates[BW_RATES_SHARED][BW_LIMIT_PACKETS].interval_ns == kSec / 100);
    CHECK(c.rates[BW_RATES_SHARED][BW_LIMIT_REQUESTS].interval_ns == 0);
    CHECK(c.sprays.prefix_v4 == 16);
    CHECK(c.sprays.prefix_v6 == 40);
    auto s = policy::summary(p, 4);
    CHECK(s["aggregate"]["prefix"]["ipv6"] == 40);
    CHECK(s["aggregate"]["limits"]["connections"]["rate"] == "50/second");
    CHECK(s["new_sources_per_cpu"]["burst"] == 10);
}

TEST_CASE("sprays: a burst left out is a second's new sources, all CPUs' at most 1/16 the table",
          "[sprays]") {
    // Every CPU gives a spray its burst before it turns spray mode on: the machine's total is
    // what a spray may take of the table, and so how many tracked sources it may evict.
    auto burst = [](const std::string& policy, unsigned cpus) {
        return policy::new_sources_per_cpu(parse(policy), cpus)->burst;
    };
    CHECK(burst("{}", 1) == 62'500);
    CHECK(burst("{}", 2) == 31'250);
    CHECK(burst("{}", 64) == 976);
    CHECK(burst(R"({"max_sources": 16000000})", 2) == 125'000);  // a second's rate at most
    CHECK(burst(R"({"max_sources": 1024})", 128) == 1);
    // A rate without a burst takes the same rule; a burst given is the policy's.
    CHECK(burst(R"({"limits": {"new_sources": {"rate": "1000/second"}}})", 2) == 1'000);
    CHECK(burst(R"({"limits": {"new_sources": {"rate": "1/minute"}}})", 2) == 1);
    CHECK(burst(R"({"limits": {"new_sources": {"rate": "125000/second", "burst": 125000}}})", 64) ==
          125'000);
    CHECK(!policy::new_sources_per_cpu(parse(R"({"limits": {"new_sources": null}})"), 2));
    for (unsigned cpus : {1u, 2u, 8u, 64u, 256u}) {
        auto p = parse("{}");
        CHECK(cpus * policy::new_sources_per_cpu(p, cpus)->burst <= p.max_sources / 16);
        auto c = xdp::make_config(p, 0, cpus);
        CHECK(c.sprays.new_sources.tau_ns ==
              c.sprays.new_sources.interval_ns * (policy::new_sources_per_cpu(p, cpus)->burst - 1));
    }
    CHECK(policy::summary(parse("{}"), 2)["new_sources_per_cpu"]["burst"] == 31'250);
}

TEST_CASE("sprays: the new-source limit counts for the tick clock like any bucket", "[sprays]") {
    uint64_t tick = 4'000'000;
    // 1000/s with a burst of 1 tolerates no tick: the program must read the exact clock.
    CHECK(xdp::make_config(
              parse(R"({"limits": {"new_sources": {"rate": "1000/second", "burst": 1}}})"), tick)
              .coarse_clock == 0);
    CHECK(xdp::make_config(parse("{}"), tick).coarse_clock == 1);
}

TEST_CASE("sprays: bad keys name the JSON path", "[sprays]") {
    CHECK_THROWS_WITH(parse(R"({"limits": {"aggregate": {"prefix": {"ipv4": 0}}}})"),
                      Contains("s.json: /limits/aggregate/prefix: a prefix of 0"));
    CHECK_THROWS_WITH(parse(R"({"limits": {"aggregate": {"prefix": {"ipv6": 129}}}})"),
                      Contains("/limits/aggregate/prefix/ipv6"));
    CHECK_THROWS_WITH(parse(R"({"limits": {"aggregate": {"packet": {"rate": "1/second"}}}})"),
                      Contains("/limits/aggregate: unknown key \"packet\""));
    CHECK_THROWS_WITH(parse(R"({"limits": {"new_sources": {"rate": "fast"}}})"),
                      Contains("/limits/new_sources/rate"));
    // An aggregate holds whole source buckets.
    CHECK_THROWS_WITH(
        parse(R"({"limits": {"key_prefix": {"ipv4": 24},
                                          "aggregate": {"prefix": {"ipv4": 28}}}})"),
        Contains("/limits: aggregate prefix /28 is longer than the IPv4 key prefix /24"));
    CHECK_THROWS_WITH(parse(R"({"limits": {"key_prefix": {"ipv6": 40}}})"),
                      Contains("aggregate prefix /48 is longer than the IPv6 key prefix /40"));
    CHECK_NOTHROW(parse(R"({"limits": {"key_prefix": {"ipv6": 40},
                                      "aggregate": {"prefix": {"ipv6": 32}}}})"));
}

TEST_CASE("sprays: stats say the mode is on while a CPU refused a source within a second",
          "[sprays]") {
    auto cfg = xdp::make_config(parse("{}"), 0);
    std::vector<bw_spray> cpus(2);
    cpus[0] = {0, 0, 0, 10, 0, 0};
    cpus[1] = {0, 100 * kSec, 103 * kSec, 5, 700, 2};
    auto j = guard::spray_json(cpus, cfg, 103 * kSec + kSec / 2, 3);
    CHECK(j["on"] == true);
    CHECK(j["cpus_on"] == 1);
    CHECK(j["seconds_on"] == 3);
    CHECK(j["admitted"] == 15);
    CHECK(j["shared_packets"] == 700);
    CHECK(j["episodes"] == 2);
    CHECK(j["aggregates"] == 3);
    CHECK(j["new_sources_per_cpu"]["per_second"] == 125'000);
    CHECK(j["new_sources_per_cpu"]["burst"] == 62'500);  // one CPU: a sixteenth of the table
    // Quiet for more than a second: off, though no admission has turned it off yet.
    j = guard::spray_json(cpus, cfg, 104 * kSec + 1, 3);
    CHECK(j["on"] == false);
    CHECK(j["seconds_on"] == 0);
    Json counters = Json::object();
    for (unsigned r = 0; r < BW_REASON_MAX; ++r)
        counters[xdp::reason_name(r)] = {{"packets", 0}, {"bytes", 0}};
    auto table = guard::format_table({{"name", "web"},
                                      {"interface", "eth0"},
                                      {"mode", "native"},
                                      {"attached", true},
                                      {"counters", counters},
                                      {"top_sources", Json::array()},
                                      {"sprays", guard::spray_json(cpus, cfg, 103 * kSec, 3)}});
    CHECK_THAT(table, Contains("sprays: ON on 1 CPU(s) for 3s; 15 new sources tracked, 700 "
                               "packets of untracked ones in 3 aggregates, 2 episodes"));
}

TEST_CASE("sprays: the mode's events", "[sprays][events]") {
    bw_event e{};
    e.time_ns = kSec;
    e.reason = BW_EVENT_SPRAY;
    e.detail = 1;
    e.family = 6;
    e.proto = 6;
    uint8_t src[16] = {0x20, 0x01, 0, 2};
    std::memcpy(e.src, src, 16);
    auto j = guard::event_json(e, "web", "", 0);
    CHECK(j["type"] == "SPRAY_MODE_ON");
    CHECK(j["reason"] == "new_sources");
    CHECK(j["src"] == "2001:2::");
    CHECK_FALSE(j.contains("seconds_on"));
    CHECK_THAT(guard::event_line(j), Contains("SPRAY_MODE_ON new_sources tcp 2001:2::"));
    e.detail = 0;
    e.extra = 12;
    j = guard::event_json(e, "web", "", 0);
    CHECK(j["type"] == "SPRAY_MODE_OFF");
    CHECK(j["seconds_on"] == 12);
    CHECK_THAT(guard::event_line(j), Contains("after 12 s"));
}

TEST_CASE("sprays: the seen filter holds a source seen this epoch or the last, and not older",
          "[sprays][seen]") {
    bw_seen e{};
    auto set = [&](uint64_t epoch, uint32_t bit) {
        e.w[epoch & 1] = bw_seen_word_set(e.w[epoch & 1], epoch, bit);
    };
    set(1000, 7);
    CHECK(bw_seen_has(&e, 1000, 7));
    CHECK_FALSE(bw_seen_has(&e, 1000, 8));
    CHECK(bw_seen_has(&e, 1001, 7));  // the epoch after: still there
    set(1001, 9);
    CHECK(bw_seen_has(&e, 1001, 7));
    CHECK(bw_seen_has(&e, 1002, 9));
    CHECK_FALSE(bw_seen_has(&e, 1002, 7));  // two epochs on: gone
    set(1002, 3);                           // starts epoch 1000's word afresh
    CHECK_FALSE(bw_seen_has(&e, 1002, 7));
    CHECK(bw_seen_has(&e, 1002, 3));
    CHECK(bw_seen_has(&e, 1002, 9));
    // Epoch 0 and the epoch "before" it (a wrapped -1) are ordinary epochs.
    bw_seen z{};
    z.w[0] = bw_seen_word_set(0, 0, 55);
    CHECK(bw_seen_has(&z, 0, 55));
    CHECK(bw_seen_has(&z, 1, 55));
    CHECK_FALSE(bw_seen_has(&z, 0, 54));
}

TEST_CASE("sprays: the seen filter never forgets a source active every epoch (random walk)",
          "[sprays][seen]") {
    // 4,096 sources over 64 entries (collisions on purpose), each sending at random epochs;
    // whenever a source has sent in this epoch or the one before, the filter must hold it.
    constexpr uint32_t kMask = 63;
    std::vector<bw_seen> filter(kMask + 1);
    std::vector<int64_t> last(4096, -10);
    std::mt19937_64 rng(7);
    uint64_t false_positives = 0, absent = 0;
    for (uint64_t epoch = 500; epoch < 700; ++epoch) {
        for (uint32_t s = 0; s < last.size(); ++s) {
            bw_source_key k{};
            k.family = 6;
            k.addr[0] = 0x20;
            k.addr[1] = 0x01;
            std::memcpy(k.addr + 12, &s, 4);
            uint32_t index, bit;
            bw_seen_slot(&k, kMask, &index, &bit);
            REQUIRE(index <= kMask);
            REQUIRE(bit < BW_SEEN_BITS);
            bool has = bw_seen_has(&filter[index], epoch, bit);
            if (static_cast<int64_t>(epoch) - last[s] <= 1) {
                REQUIRE(has);
            } else {
                ++absent;
                false_positives += has;
            }
            if (rng() % 3 == 0) {
                filter[index].w[epoch & 1] =
                    bw_seen_word_set(filter[index].w[epoch & 1], epoch, bit);
                last[s] = static_cast<int64_t>(epoch);
            }
        }
    }
    // Not a bound the design promises, a sanity check of the hash: 64 x 56 bits hold about
    // 2 x 1,365 sources at a time, so most absent sources collide; but not all.
    CHECK(false_positives < absent);
}

TEST_CASE("sprays: filter slots spread keys evenly, IPv4 and IPv6", "[sprays][seen]") {
    constexpr uint32_t kMask = 1023;
    std::vector<uint32_t> per_index(kMask + 1), per_bit(BW_SEEN_BITS);
    for (uint32_t i = 0; i < 200'000; ++i) {
        bw_source_key k{};
        k.family = (i & 1) ? 4 : 6;
        uint32_t a = htonl(0xc6120000u + i);  // 198.18.x.y, or 2001:2::/96 style below
        if (k.family == 4) {
            std::memcpy(k.addr, &a, 4);
        } else {
            k.addr[0] = 0x20, k.addr[1] = 0x01, k.addr[3] = 0x02;
            std::memcpy(k.addr + 12, &a, 4);
        }
        uint32_t index, bit;
        bw_seen_slot(&k, kMask, &index, &bit);
        ++per_index[index];
        ++per_bit[bit];
    }
    auto [lo, hi] = std::minmax_element(per_index.begin(), per_index.end());
    CHECK(*lo > 195 / 2);  // mean 195
    CHECK(*hi < 195 * 2);
    auto [blo, bhi] = std::minmax_element(per_bit.begin(), per_bit.end());
    CHECK(*blo > 3571 * 8 / 10);  // mean 3,571
    CHECK(*bhi < 3571 * 12 / 10);
}

TEST_CASE("sprays: the filter's size and epoch", "[sprays][seen]") {
    CHECK(xdp::seen_entries(1024) == 128);
    CHECK(xdp::seen_entries(1'000'000) == 131'072);  // 2 MiB of entries
    CHECK(xdp::seen_entries(1'048'576) == 131'072);
    // At least a minute: 2^36 ns. Longer when a bucket remembers longer (1/day, burst 2).
    CHECK(xdp::make_config(parse("{}"), 0).sprays.epoch_shift == 36);
    auto c = xdp::make_config(
        parse(R"({"limits": {"default": {"connections": {"rate": "1/day", "burst": 2}}}})"), 0);
    CHECK((1ull << c.sprays.epoch_shift) >= 2 * 86'400 * kSec);
    CHECK((1ull << (c.sprays.epoch_shift - 1)) < 2 * 86'400 * kSec);
    CHECK(xdp::make_config(parse(R"({"limits": {"new_sources": null}})"), 0).sprays.epoch_shift ==
          0);
}
