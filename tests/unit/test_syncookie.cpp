// SYN cookies (policy syn_flood): the policy keys, what the program gets, and the pure SYN-ACK
// code the program runs (bpf/lib/syncookie.h). The kernel side is in tests/kernel/test_xdp.cpp
// [syncookie] and tests/kernel/test_service.cpp [syncookie].
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "bpf/bulwark.h"
#include "bpf/lib/syncookie.h"
#include "core/error.hpp"
#include "guard/attach.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"
#include "guard/stats.hpp"
#include "guard/synproxy.hpp"

using namespace bulwark;
using Catch::Matchers::Contains;

namespace {
policy::Policy parse(const std::string& text) {
    return policy::parse_policy(parse_json(text, "s.json"), "s.json");
}

bw_tcp_opts opts_of(std::vector<uint8_t> o) {
    o.resize(64);
    bw_tcp_opts out{};
    bw_tcp_opts_parse(o.data(), static_cast<uint32_t>(std::min<size_t>(o.size(), 40)), &out);
    return out;
}
bw_tcp_opts opts_of(std::vector<uint8_t> o, uint32_t len) {
    o.resize(64);
    bw_tcp_opts out{};
    bw_tcp_opts_parse(o.data(), len, &out);
    return out;
}
}  // namespace

TEST_CASE("syn_flood: off without it; auto when given, at 2,000 SYNs a second per CPU",
          "[syncookie]") {
    CHECK(xdp::make_config(parse("{}"), 0).syn.mode == BW_COOKIES_OFF);
    auto c = xdp::make_config(parse(R"({"syn_flood": {}})"), 0);
    CHECK(c.syn.mode == BW_COOKIES_AUTO);
    CHECK(c.syn.threshold.interval_ns == 500'000);
    CHECK(c.syn.threshold.tau_ns == 500'000ull * 1999);
    auto a = xdp::make_config(
        parse(R"({"syn_flood": {"cookies": "auto", "threshold": "50000/second"}})"), 0);
    CHECK(a.syn.threshold.interval_ns == 20'000);
    CHECK(xdp::make_config(parse(R"({"syn_flood": {"cookies": "always"}})"), 0).syn.mode ==
          BW_COOKIES_ALWAYS);
    CHECK(xdp::make_config(parse(R"({"syn_flood": {"cookies": "off"}})"), 0).syn.mode ==
          BW_COOKIES_OFF);
    auto s = policy::summary(parse(R"({"syn_flood": {"threshold": "10/second"}})"), 1);
    CHECK(s["syn_flood"]["cookies"] == "auto");
    CHECK(s["syn_flood"]["threshold_per_cpu"]["rate"] == "10/second");
}

TEST_CASE("syn_flood: bad keys name the JSON path; bulwark-oci refuses cookies", "[syncookie]") {
    CHECK_THROWS_WITH(parse(R"({"syn_flood": {"cookies": "sometimes"}})"),
                      Contains("s.json: /syn_flood/cookies: cookies must be"));
    CHECK_THROWS_WITH(parse(R"({"syn_flood": {"threshold": "10/minute"}})"),
                      Contains("/syn_flood/threshold: threshold is SYNs per second"));
    CHECK_THROWS_WITH(parse(R"({"syn_flood": {"threshold": "many"}})"),
                      Contains("/syn_flood/threshold"));
    CHECK_THROWS_WITH(parse(R"({"syn_flood": {"wscale": 7}})"),
                      Contains("/syn_flood: unknown key \"wscale\""));
    CHECK_THROWS_WITH(policy::refuse_syn_cookies(parse(R"({"syn_flood": {}})"), "bulwark-oci"),
                      Contains("s.json: syn_flood.cookies: not with bulwark-oci yet"));
    CHECK_NOTHROW(
        policy::refuse_syn_cookies(parse(R"({"syn_flood": {"cookies": "off"}})"), "bulwark-oci"));
}

TEST_CASE("syn cookies: a SYN's options as Linux reads them", "[syncookie]") {
    // Linux's own SYN: MSS, SACK permitted, timestamps, NOP, window scale.
    auto o = opts_of({2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7});
    CHECK(o.mss == 1460);
    CHECK(o.sack == 1);
    CHECK(o.ts == 1);
    CHECK(o.tsval == 0x01020304);
    CHECK(o.wscale == 7);
    // Windows-like order: MSS, NOP, WS, NOP, NOP, SACK; no timestamps.
    o = opts_of({2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2});
    CHECK(o.mss == 1460);
    CHECK(o.wscale == 8);
    CHECK(o.sack == 1);
    CHECK(o.ts == 0);
    // A window scale over 14 is 14 (RFC 7323 2.3); none is BW_WSCALE_NONE.
    CHECK(opts_of({3, 3, 15}).wscale == 14);
    CHECK(opts_of({2, 4, 1, 0}).wscale == BW_WSCALE_NONE);
    // EOL ends the walk; what follows is not read.
    o = opts_of({2, 4, 0x05, 0xb4, 0, 4, 2});
    CHECK(o.mss == 1460);
    CHECK(o.sack == 0);
    // A length under 2, or past the end, ends it; what came before counts.
    o = opts_of({4, 2, 8, 1, 2, 4, 5, 0xb4});
    CHECK(o.sack == 1);
    CHECK(o.mss == 0);
    o = opts_of({4, 2, 8, 10, 1, 2, 3, 4}, 8);
    CHECK(o.sack == 1);
    CHECK(o.ts == 0);
    // Wrong lengths for known kinds: skipped, not misread.
    o = opts_of({2, 3, 0x05, 8, 6, 1, 2, 3, 4, 4, 2});
    CHECK(o.mss == 0);
    CHECK(o.ts == 0);
    CHECK(o.sack == 1);
    // Forty NOPs then an MSS beyond the 40 bytes: not seen, and the walk ends.
    std::vector<uint8_t> nops(44, 1);
    nops[40] = 2, nops[41] = 4, nops[42] = 5, nops[43] = 0xb4;
    CHECK(opts_of(nops, 44).mss == 0);
}

TEST_CASE("syn cookies: every option byte sequence is walked within 40 steps, no reads past 64",
          "[syncookie]") {
    std::mt19937 rng(20261201);
    for (int i = 0; i < 200'000; ++i) {
        std::vector<uint8_t> o(64);
        auto len = static_cast<uint32_t>(rng() % 41);
        for (uint32_t k = 0; k < len; ++k)
            o[k] = static_cast<uint8_t>(rng() % 4 == 0 ? rng() % 12 : rng());
        bw_tcp_opts out{};
        bw_tcp_opts_init(&out);
        uint32_t at = 0, steps = 0;
        while (!bw_tcp_opt_step(o.data(), len, &at, &out)) {
            REQUIRE(++steps <= 40);
            REQUIRE(at <= len);
        }
        CHECK(out.wscale <= 15);
    }
}

TEST_CASE("syn cookies: the SYN-ACK's options", "[syncookie]") {
    uint8_t o[20];
    bw_tcp_opts c{};
    bw_tcp_opts_init(&c);
    c.mss = 1460;
    // No timestamps: MSS only, whatever else the client offered.
    c.sack = 1;
    c.wscale = 7;
    CHECK(bw_synack_opts(o, &c, 1460, 10, 0) == 4);
    CHECK(std::vector<uint8_t>(o, o + 4) == std::vector<uint8_t>{2, 4, 0x05, 0xb4});
    // Timestamps: SACK, TS (ours, then the client's echoed), NOP, window scale (ours).
    c.ts = 1;
    c.tsval = 0xa1b2c3d4;
    CHECK(bw_synack_opts(o, &c, 1400, 10, 0x11223344) == 20);
    CHECK(std::vector<uint8_t>(o, o + 20) ==
          std::vector<uint8_t>{2,    4,    0x05, 0x78, 4,    2,    8, 10, 0x11, 0x22,
                               0x33, 0x44, 0xa1, 0xb2, 0xc3, 0xd4, 1, 3,  3,    10});
    // Without SACK or window scaling from the client: NOPs where they would be.
    c.sack = 0;
    c.wscale = BW_WSCALE_NONE;
    CHECK(bw_synack_opts(o, &c, 1400, 10, 0x11223344) == 20);
    CHECK(std::vector<uint8_t>{o[4], o[5], o[16], o[17], o[18], o[19]} ==
          std::vector<uint8_t>{1, 1, 1, 1, 1, 1});
}

TEST_CASE("syn cookies: the timestamp carries window scale and SACK as the kernel lays them out",
          "[syncookie]") {
    bw_tcp_opts c{};
    bw_tcp_opts_init(&c);
    c.wscale = 9;
    c.sack = 1;
    for (uint64_t ms : {0ull, 1ull, 63ull, 64ull, 1000ull, 123456789ull, 0xffffffffull}) {
        uint32_t ts = bw_cookie_tsval(ms * 1'000'000 + 999'999, &c);
        CHECK((ts & 63) == (9 | BW_TS_OPT_SACK));
        // Never ahead of the clock, and at most 64 ms behind it (the kernel's rule).
        uint32_t now = static_cast<uint32_t>(ms);
        CHECK(static_cast<uint32_t>(now - ts) < 128);
    }
    bw_tcp_opts_init(&c);
    CHECK((bw_cookie_tsval(5'000'000'000ull, &c) & 63) == BW_WSCALE_NONE);
}

TEST_CASE("syn cookies: the Internet checksum (RFC 1071's example)", "[syncookie]") {
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint32_t sum = bw_csum_add(0, b, sizeof b);
    CHECK(sum == 0x2ddf0);
    CHECK(bw_csum_fold(sum) == static_cast<uint16_t>(~0xddf2));
    // A header with its checksum in place sums to 0xffff: folds to 0.
    uint8_t ip[20] = {0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 2, 198, 18, 0, 9};
    uint16_t c = bw_csum_fold(bw_csum_add(0, ip, 20));
    ip[10] = static_cast<uint8_t>(c >> 8);
    ip[11] = static_cast<uint8_t>(c);
    CHECK(bw_csum_fold(bw_csum_add(0, ip, 20)) == 0);
}

TEST_CASE("syn cookies: the listener's window scale from its buffers", "[syncookie]") {
    CHECK(guard::wscale_for(6 << 20) == 7);  // Debian's tcp_rmem[2]
    CHECK(guard::wscale_for(4 << 20) == 7);
    CHECK(guard::wscale_for(32 << 20) == 10);  // this machine's
    CHECK(guard::wscale_for(65535) == 0);
    CHECK(guard::wscale_for(1ull << 40) == 14);  // at most 14
}

TEST_CASE("syn cookies: stats say the mode", "[syncookie]") {
    auto cfg = xdp::make_config(parse(R"({"syn_flood": {"threshold": "100/second"}})"), 0);
    std::vector<bw_syn> cpus(2);
    auto j = guard::syn_json(cpus, cfg, 5'000'000'000, 0);
    CHECK(j["cookies"] == "auto");
    CHECK(j["on"] == false);
    CHECK(j["threshold_per_cpu"] == 100);
    cpus[1].on_since = 4'000'000'000;
    cpus[1].last_over = 4'500'000'000;
    cpus[1].episodes = 3;
    j = guard::syn_json(cpus, cfg, 5'000'000'000, 42);
    CHECK(j["on"] == true);
    CHECK(j["cpus_on"] == 1);
    CHECK(j["episodes"] == 3);
    CHECK(j["answered"] == 42);
    CHECK(guard::syn_json(cpus, cfg, 5'600'000'000, 42)["on"] == false);  // a quiet second
    auto always = xdp::make_config(parse(R"({"syn_flood": {"cookies": "always"}})"), 0);
    j = guard::syn_json(std::vector<bw_syn>(2), always, 1, 0);
    CHECK(j["on"] == true);
    CHECK(j["threshold_per_cpu"].is_null());
}

TEST_CASE("syn cookies: the SYNPROXY ruleset attach loads", "[syncookie]") {
    auto r = guard::synproxy_ruleset("bulwark_web", "eth0", {80, 443}, 1460, 7);
    CHECK(r ==
          "table inet bulwark_web {\n  chain syn_cookies {\n"
          "    type filter hook input priority filter; policy accept;\n"
          "    iifname \"eth0\" tcp dport { 80, 443 } ct state invalid,untracked synproxy mss "
          "1460 wscale 7 timestamp sack-perm\n"
          "    iifname \"eth0\" tcp dport { 80, 443 } ct state invalid drop\n"
          "    iifname \"lo\" tcp dport { 80, 443 } tcp flags & (fin | syn | rst | ack) == ack "
          "fib saddr type != local reset tcp option timestamp\n  }\n}\n");
    CHECK(guard::synproxy_table("web") == "bulwark_web");
    CHECK(guard::ports_digest({80, 443}) == guard::ports_digest({443, 80}));
    CHECK(guard::ports_digest({80, 443}) != guard::ports_digest({80}));
}
