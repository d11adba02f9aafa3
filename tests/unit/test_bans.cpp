// Escalating bans, the pure parts: the policy's "bans", ban lengths, source keys, the event.
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "bpf/bulwark.h"
#include "core/error.hpp"
#include "guard/bans.hpp"
#include "guard/events.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"

using namespace bulwark;
using namespace bulwark::policy;
using Catch::Matchers::Contains;

namespace {

Policy parse(const std::string& text) {
    return parse_policy(parse_json(text, "b.json"), "b.json");
}

constexpr uint64_t kS = 1'000'000'000ull;

}  // namespace

TEST_CASE("durations", "[bans]") {
    CHECK(parse_duration("1 second") == kS);
    CHECK(parse_duration("90 seconds") == 90 * kS);
    CHECK(parse_duration("10 minutes") == 600 * kS);
    CHECK(parse_duration("1 hour") == 3600 * kS);
    CHECK(parse_duration("2 days") == 2 * 86400 * kS);
    CHECK(parse_duration("365 days") == 365 * 86400 * kS);
    CHECK_THROWS_WITH(parse_duration("366 days"), Contains("longer than 365 days"));
    CHECK_THROWS_WITH(parse_duration("0 seconds"), Contains("COUNT UNIT"));
    CHECK_THROWS_WITH(parse_duration("10m"), Contains("COUNT UNIT"));
    CHECK_THROWS_WITH(parse_duration("3 fortnights"), Contains("unit must be second(s)"));
}

TEST_CASE("the policy's bans: defaults, the kernel's config, errors with their JSON path",
          "[bans]") {
    CHECK_FALSE(parse("{}").bans);
    auto p = parse(R"({"bans": {"after": 5, "for": "1 minute"}})");
    REQUIRE(p.bans);
    CHECK(p.bans->after == 5);
    CHECK(p.bans->within_ns == 60 * kS);
    CHECK(p.bans->first_ns == 60 * kS);
    CHECK(p.bans->max_ns == 86400 * kS);
    CHECK(p.bans->forget_ns == 86400 * kS);
    CHECK(p.bans->table == 65536);
    auto c = xdp::make_config(p, 0);
    CHECK(c.bans.for_ns == 60 * kS);
    CHECK(c.bans.after == 5);
    // Every offence a source earns by what it sends; not deny, malformed or banned.
    CHECK(c.bans.reasons ==
          ((1u << BW_DROP_RATE_PACKETS) | (1u << BW_DROP_RATE_CONNECTIONS) |
           (1u << BW_DROP_RATE_REQUESTS) | (1u << BW_DROP_RULE) | (1u << BW_DROP_PATTERN)));
    // Without "bans" nothing is an offence: the program copies reasons as they are.
    auto none = xdp::make_config(parse("{}"), 0);
    CHECK(none.bans.for_ns == 0);
    CHECK(none.bans.reasons == 0);

    p = parse(R"({"bans": {"after": 3, "within": "10 seconds", "for": "2 minutes",
                  "max": "1 hour", "forget": "6 hours", "reasons": ["drop_pattern"],
                  "table": 1024}})");
    c = xdp::make_config(p, 0);
    CHECK(c.bans.within_ns == 10 * kS);
    CHECK(c.bans.max_ns == 3600 * kS);
    CHECK(c.bans.forget_ns == 6 * 3600 * kS);
    CHECK(c.bans.reasons == 1u << BW_DROP_PATTERN);
    CHECK(p.bans->table == 1024);
    CHECK(summary(p, 1)["bans"]["reasons"] == Json::array({"drop_pattern"}));

    CHECK_THROWS_WITH(parse(R"({"bans": {"for": "1 minute"}})"),
                      Contains("b.json: /bans: missing required key \"after\""));
    CHECK_THROWS_WITH(parse(R"({"bans": {"after": 3}})"),
                      Contains("/bans: missing required key \"for\""));
    CHECK_THROWS_WITH(parse(R"({"bans": {"after": 0, "for": "1 minute"}})"),
                      Contains("/bans/after: after must be at least 1"));
    CHECK_THROWS_WITH(parse(R"({"bans": {"after": 3, "for": "1 hour", "max": "1 minute"}})"),
                      Contains("/bans/max: max is shorter than for"));
    CHECK_THROWS_WITH(parse(R"({"bans": {"after": 3, "for": "soon"}})"),
                      Contains("/bans/for: duration \"soon\""));
    CHECK_THROWS_WITH(
        parse(R"({"bans": {"after": 3, "for": "1 minute", "reasons": ["drop_deny"]}})"),
        Contains("/bans/reasons/0: not a reason a ban counts"));
    CHECK_THROWS_WITH(parse(R"({"bans": {"after": 3, "for": "1 minute", "reasons": []}})"),
                      Contains("/bans/reasons: reasons is empty"));
    CHECK_THROWS_WITH(parse(R"({"bans": {"after": 3, "for": "1 minute", "table": 8}})"),
                      Contains("/bans/table: table must hold at least 16"));
    CHECK_THROWS_WITH(parse(R"({"bans": {"after": 3, "for": "1 minute", "fro": 1}})"),
                      Contains("/bans: unknown key \"fro\""));
}

TEST_CASE("a ban doubles with each one in a row, up to max", "[bans]") {
    bw_bans b{};
    b.for_ns = 60 * kS;
    b.max_ns = 3600 * kS;
    CHECK(bw_ban_length(&b, 0) == 60 * kS);
    CHECK(bw_ban_length(&b, 1) == 120 * kS);
    CHECK(bw_ban_length(&b, 5) == 1920 * kS);
    CHECK(bw_ban_length(&b, 6) == 3600 * kS);  // 3840 s capped
    CHECK(bw_ban_length(&b, 1000) == 3600 * kS);
    CHECK(bw_ban_length(&b, UINT32_MAX) == 3600 * kS);
    // No overflow near the top of the range.
    b.for_ns = 365 * 86400 * kS;
    b.max_ns = 365 * 86400 * kS;
    CHECK(bw_ban_length(&b, 64) == 365 * 86400 * kS);
}

TEST_CASE("ban keys are the program's source keys, masked to the key prefix", "[bans]") {
    auto cfg =
        xdp::make_config(parse(R"({"limits": {"key_prefix": {"ipv4": 24, "ipv6": 48}}})"), 0);
    auto k = guard::source_key("198.18.5.77", cfg);
    CHECK(k.family == 4);
    CHECK(guard::source_text(k, cfg) == "198.18.5.0/24");
    auto k6 = guard::source_key("2001:db8:1:2::9", cfg);
    CHECK(k6.family == 6);
    CHECK(guard::source_text(k6, cfg) == "2001:db8:1::/48");
    auto per_address = xdp::make_config(parse("{}"), 0);
    CHECK(guard::source_text(guard::source_key("198.18.5.77", per_address), per_address) ==
          "198.18.5.77");
    CHECK_THROWS_WITH(guard::source_key("198.18.5", cfg), Contains("not an IPv4 or IPv6 address"));

    bw_ban b{};
    b.start_ns = 100 * kS;
    b.until_ns = 160 * kS;
    b.level = 2;
    b.reason = BW_DROP_PATTERN;
    b.drops = 7;
    auto j = guard::ban_json({k, b}, cfg, 130 * kS + 1);
    CHECK(j["source"] == "198.18.5.0/24");
    CHECK(j["active"] == true);
    CHECK(j["seconds_left"] == 30);
    CHECK(j["length_seconds"] == 60);
    CHECK(j["level"] == 2);
    CHECK(j["reason"] == "drop_pattern");
    CHECK(j["drops"] == 7);
    j = guard::ban_json({k, b}, cfg, 160 * kS);
    CHECK(j["active"] == false);
    CHECK(j["seconds_left"] == 0);
    b.reason = BW_BAN_MANUAL;
    CHECK(guard::ban_json({k, b}, cfg, 0)["reason"] == "manual");
}

TEST_CASE("a new ban's event is SOURCE_BANNED with its offence and length", "[bans]") {
    bw_event e{};
    e.reason = BW_EVENT_BANNED;
    e.detail = BW_DROP_RATE_REQUESTS;
    e.extra = 120;
    e.family = 4;
    e.proto = IPPROTO_TCP;
    uint8_t src[4] = {198, 18, 0, 9};
    std::memcpy(e.src, src, 4);
    auto j = guard::event_json(e, "web", "", 0);
    CHECK(j["type"] == "SOURCE_BANNED");
    CHECK(j["reason"] == "drop_rate_requests");
    CHECK(j["ban_seconds"] == 120);
    CHECK(j["src"] == "198.18.0.9");
    CHECK_THAT(guard::event_line(j),
               Contains("SOURCE_BANNED drop_rate_requests") && Contains("banned for 120 s"));
}
