#include <arpa/inet.h>

#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "../bpf/bulwark.h"
#include "automaton.hpp"
#include "error.hpp"
#include "guard.hpp"
#include "policy.hpp"
#include "xdp.hpp"

using namespace bulwark;
using namespace bulwark::policy;
using Catch::Matchers::Contains;

static Policy parse(const std::string& text) {
    return parse_policy(parse_json(text, "w.json"), "w.json");
}

TEST_CASE("CIDRs", "[policy]") {
    auto c = parse_cidr("198.18.0.0/15");
    CHECK(c.family == AF_INET);
    CHECK(c.prefix == 15);
    CHECK(c.addr[0] == 198);
    CHECK(parse_cidr("2001:db8::/32").family == AF_INET6);
    CHECK(parse_cidr("10.1.2.3").prefix == 32);
    CHECK(parse_cidr("::1").prefix == 128);
    CHECK(parse_cidr("0.0.0.0/0").prefix == 0);
    CHECK_THROWS_WITH(parse_cidr("10.0.0.0/33"), Contains("prefix length must be 0..32"));
    CHECK_THROWS_WITH(parse_cidr("::1/129"), Contains("prefix length must be 0..128"));
    CHECK_THROWS_WITH(parse_cidr("1.2.3"), Contains("is not an IPv4 or IPv6 address"));
    CHECK_THROWS_WITH(parse_cidr("10.0.0.0/"), Contains("prefix length"));
    CHECK_THROWS_WITH(parse_cidr("10.0.0.0/-1"), Contains("prefix length"));
    CHECK_THROWS_WITH(parse_cidr("10.0.0.1/8"), Contains("did you mean \"10.0.0.0/8\""));
    CHECK_THROWS_WITH(parse_cidr("2001:db8::1/32"), Contains("did you mean \"2001:db8::/32\""));
}

TEST_CASE("rates", "[policy]") {
    CHECK(parse_rate("60/minute") == Rate{60, 60'000'000'000ull, 60});
    CHECK(parse_rate("2000/second").period_ns == 1'000'000'000ull);
    CHECK(parse_rate("1/day").period_ns == 86'400'000'000'000ull);
    CHECK_THROWS_WITH(parse_rate("0/second"), Contains("count must be"));
    CHECK_THROWS_WITH(parse_rate("5/fortnight"),
                      Contains("unit must be second, minute, hour or day"));
    CHECK_THROWS_WITH(parse_rate("-5/second"), Contains("count must be"));
    CHECK_THROWS_WITH(parse_rate("fast"), Contains("COUNT/UNIT"));
    auto g = to_gcra(Rate{60, 60'000'000'000ull, 20});
    CHECK(g.interval_ns == 1'000'000'000ull);
    CHECK(g.tau_ns == 19'000'000'000ull);
}

TEST_CASE("a full policy parses; limits inherit from default", "[policy]") {
    auto p = parse(R"({
      "version": 1, "inspect_ports": [80, 8080],
      "lists": {"deny": ["203.0.113.0/24"], "trusted": ["198.18.0.0/30", "2001:db8::/48"], "suspicious": ["198.51.100.0/24"]},
      "limits": {"key_prefix": {"ipv4": 32, "ipv6": 64},
                 "default": {"packets": {"rate": "2000/second", "burst": 4000},
                             "connections": {"rate": "60/minute", "burst": 20},
                             "requests": {"rate": "60/minute"}},
                 "suspicious": {"requests": {"rate": "10/minute", "burst": 5}},
                 "trusted": null},
      "rules": [{"match": "GET /api/health", "action": "exempt"},
                {"match": "POST /api/session/start", "limit": {"rate": "10/minute", "burst": 3}}],
      "patterns": {"scan_bytes": 512, "sets": {"sqli": ["union select"], "traversal": ["../", "..%2f"]}},
      "events": {"per_source_per_second": 2}, "max_sources": 65536, "fragments": "drop"})");
    CHECK(p.inspect_ports == std::vector<uint16_t>{80, 8080});
    CHECK(p.deny.size() == 1);
    CHECK(p.trusted.size() == 2);
    CHECK(p.default_limits.requests->burst == 60);
    CHECK(p.default_limits.packets->burst == 4000);
    CHECK(p.suspicious_limits.requests == Rate{10, 60'000'000'000ull, 5});
    CHECK(p.suspicious_limits.packets == p.default_limits.packets);  // inherited
    CHECK(p.trusted_unlimited);
    REQUIRE(p.rules.size() == 2);
    CHECK(p.rules[0].exempt);
    CHECK(p.rules[1].limit->burst == 3);
    REQUIRE(p.pattern_sets.size() == 2);
    CHECK(p.pattern_sets[1].size() == 2);
    CHECK(p.events_per_source_per_second == 2);
    CHECK(p.max_sources == 65536);
    CHECK(p.non_first_fragments == Policy::Fragments::Drop);
    auto j = summary(p);
    CHECK(j["patterns"]["total"] == 3);
    CHECK(j["limits"]["suspicious"]["requests"]["rate"] == "10/minute");
}

TEST_CASE("bad policies name the file and JSON path", "[policy]") {
    CHECK_THROWS_WITH(parse(R"({"lists": {"deny": ["10.0.0.0/33"]}})"),
                      Contains("w.json: /lists/deny/0: \"10.0.0.0/33\": prefix length"));
    CHECK_THROWS_WITH(parse(R"({"lists": {"trusted": ["::1/129"]}})"),
                      Contains("/lists/trusted/0"));
    CHECK_THROWS_WITH(parse(R"({"lists": {"deny": ["1.2.3"]}})"), Contains("/lists/deny/0"));
    CHECK_THROWS_WITH(parse(R"({"limts": {}})"),
                      Contains("w.json: /: unknown key \"limts\" (did you mean \"limits\"?)"));
    CHECK_THROWS_WITH(
        parse(R"({"limits": {"default": {"request": {"rate": "1/second"}}}})"),
        Contains("/limits/default: unknown key \"request\" (did you mean \"requests\"?)"));
    CHECK_THROWS_WITH(parse(R"({"limits": {"default": {"requests": {"rate": "0/second"}}}})"),
                      Contains("/limits/default/requests/rate: rate \"0/second\": count must be"));
    CHECK_THROWS_WITH(parse(R"({"limits": {"default": {"requests": {"rate": "5/fortnight"}}}})"),
                      Contains("/limits/default/requests/rate"));
    CHECK_THROWS_WITH(
        parse(R"({"limits": {"default": {"requests": {"rate": "5/second", "burst": -1}}}})"),
        Contains("/limits/default/requests/burst: burst must be at least 1"));
    CHECK_THROWS_WITH(
        parse(R"({"limits": {"default": {"requests": {"rate": "5/second", "burst": 0}}}})"),
        Contains("burst must be at least 1"));
    CHECK_THROWS_WITH(
        parse(
            R"({"limits": {"default": {"requests": {"rate": "5/second", "burst": 99999999999}}}})"),
        Contains("/limits/default/requests/burst: value 99999999999 is above the maximum"));
    CHECK_THROWS_WITH(parse(R"({"patterns": {"sets": {"x": [""]}}})"),
                      Contains("/patterns/sets/x/0: empty pattern"));
    CHECK_THROWS_WITH(
        parse(R"({"patterns": {"sets": {"x": [")" + std::string(1100, 'a') + R"("]}}})"),
        Contains("/patterns/sets/x/0: pattern is 1100 bytes"));
    CHECK_THROWS_WITH(parse(R"({"patterns": {"scan_bytes": 4, "sets": {"x": ["union"]}}})"),
                      Contains("longer than scan_bytes"));
    CHECK_THROWS_WITH(parse(R"({"patterns": {"scan_bytes": 4000}})"),
                      Contains("/patterns/scan_bytes: value 4000"));
    CHECK_THROWS_WITH(parse(R"({"rules": [{"match": "FETCH /x", "action": "exempt"}]})"),
                      Contains("/rules/0/match: match \"FETCH /x\" is not \"METHOD /path\""));
    CHECK_THROWS_WITH(parse(R"({"rules": [{"match": "GET /x"}]})"),
                      Contains("/rules/0: a rule needs"));
    CHECK_THROWS_WITH(parse(R"({"rules": [{"match": "GET /x", "action": "allow"}]})"),
                      Contains("/rules/0/action"));
    CHECK_THROWS_WITH(parse(R"({"lists": {"deny": ["10.0.0.0/8"], "trusted": ["10.0.0.0/8"]}})"),
                      Contains("/lists: \"10.0.0.0/8\" is in both \"deny\" and \"trusted\""));
    CHECK_THROWS_WITH(parse(R"({"version": 2})"),
                      Contains("/version: unsupported policy version 2"));
    CHECK_THROWS_WITH(parse(R"({"inspect_ports": [70000]})"),
                      Contains("/inspect_ports/0: value 70000"));
    std::string many = R"({"patterns": {"sets": {"x": [)";
    for (int i = 0; i <= BW_MAX_PATTERNS; ++i)
        many += (i ? ",\"p" : "\"p") + std::to_string(i) + "\"";
    many += "]}}}";
    CHECK_THROWS_WITH(parse(many), Contains("more than 1024 patterns"));
}

namespace {
__extension__ typedef unsigned __int128 u128;  // exact products of ns and counts

// Exact token bucket in integers scaled by the period: `level` is tokens * period_ns.
struct Bucket {
    Rate r;
    u128 level;
    uint64_t last = 0;
    explicit Bucket(Rate rate) : r(rate), level((u128)rate.burst * rate.period_ns) {}
    bool take(uint64_t now) {
        level += (u128)(now - last) * r.count;
        u128 cap = (u128)r.burst * r.period_ns;
        if (level > cap) level = cap;
        last = now;
        if (level < r.period_ns) return false;
        level -= r.period_ns;
        return true;
    }
};
}  // namespace

TEST_CASE("GCRA in integers equals an exact token bucket", "[rate]") {
    std::mt19937_64 rng(7);
    // Rates whose interval is a whole number of ns: GCRA and the bucket must agree exactly.
    for (auto rs : {"2000/second", "60/minute", "10/minute", "100/second"}) {
        for (uint64_t burst : {1ull, 3ull, 20ull}) {
            Rate r = parse_rate(rs);
            r.burst = burst;
            auto g = to_gcra(r);
            bw_rate br{g.interval_ns, g.tau_ns};
            Bucket ref(r);
            uint64_t now = 1'000'000'000'000ull;
            __u64 tat = 0;
            for (int i = 0; i < 20000; ++i) {
                now += rng() % (3 * g.interval_ns / std::max<uint64_t>(burst, 1) + 1);
                __u64 nt = 0;
                bool ok = bw_gcra(tat, now, &br, &nt);
                if (ok) tat = nt;
                INFO(rs << " burst " << burst << " step " << i);
                REQUIRE(ok == ref.take(now - 1'000'000'000'000ull));
            }
        }
    }
}

TEST_CASE("a source at exactly its rate is never dropped; at twice it gets burst + rate",
          "[rate]") {
    for (auto rs : {"7/second", "60/minute", "2000/second", "3/hour"}) {
        Rate r = parse_rate(rs);
        r.burst = 5;
        auto g = to_gcra(r);
        bw_rate br{g.interval_ns, g.tau_ns};
        // Exactly at the rate: packet k at k*period/count (exact rational times, floored).
        __u64 tat = 0, nt = 0;
        uint64_t passed = 0;
        const uint64_t start = 1'000'000'000'000ull;
        for (uint64_t k = 0; k < 10000; ++k) {
            uint64_t now = start + static_cast<uint64_t>((u128)k * r.period_ns / r.count);
            if (bw_gcra(tat, now, &br, &nt)) {
                tat = nt;
                ++passed;
            }
        }
        CHECK(passed == 10000);
        // Twice the rate for a window W: burst + W*rate pass, within one packet.
        tat = 0;
        passed = 0;
        const uint64_t window = 10 * r.period_ns;
        uint64_t sent = 2 * 10 * r.count;
        for (uint64_t k = 0; k < sent; ++k) {
            uint64_t now = start + static_cast<uint64_t>((u128)k * window / sent);
            if (bw_gcra(tat, now, &br, &nt)) {
                tat = nt;
                ++passed;
            }
        }
        uint64_t expect = r.burst + 10 * r.count;
        INFO(rs << " passed " << passed << " expected " << expect);
        CHECK(passed + 1 >= expect);
        CHECK(passed <= expect + 1);
    }
}

TEST_CASE("on the tick clock, a source at its rate is never dropped when the burst covers a tick",
          "[rate]") {
    const uint64_t tick = 4'000'000;  // HZ=250
    for (auto rs : {"100/second", "2000/second", "10000/second"}) {
        Rate r = parse_rate(rs);
        r.burst = std::max<uint64_t>(2, tick * r.count / r.period_ns + 1);
        auto g = to_gcra(r);
        REQUIRE(g.tau_ns >= tick);
        bw_rate br{g.interval_ns, g.tau_ns};
        __u64 tat = 0, nt = 0;
        uint64_t passed = 0;
        const uint64_t start = 1'000'000'000'000ull, n = 50000;
        for (uint64_t k = 0; k < n; ++k) {
            uint64_t now = start + static_cast<uint64_t>((u128)k * r.period_ns / r.count);
            if (bw_gcra(tat, now - now % tick, &br, &nt)) {
                tat = nt;
                ++passed;
            }
        }
        INFO(rs << " burst " << r.burst);
        CHECK(passed == n);
    }
}

TEST_CASE("the program reads the tick clock only when every bucket tolerates a tick", "[rate]") {
    const uint64_t tick = 4'000'000;
    auto with = [](const std::string& limits, const std::string& rules = "[]") {
        return parse(R"({"limits": {"default": )" + limits + R"(}, "rules": )" + rules + "}");
    };
    CHECK(xdp::make_config(with(R"({"requests": {"rate": "100/second", "burst": 200}})"), tick)
              .coarse_clock == 1);
    // Burst 1 at 1000/s: one packet per 4 ms tick would cap it at 250/s.
    CHECK(xdp::make_config(with(R"({"packets": {"rate": "1000/second", "burst": 1}})"), tick)
              .coarse_clock == 0);
    CHECK(xdp::make_config(
              with(R"({"requests": {"rate": "100/second", "burst": 200}})",
                   R"([{"match": "POST /login", "limit": {"rate": "1000/second", "burst": 1}}])"),
              tick)
              .coarse_clock == 0);
    CHECK(xdp::make_config(with(R"({"requests": {"rate": "100/second", "burst": 200}})"), 0)
              .coarse_clock == 0);
}

TEST_CASE("policies/web.json: attacks from every set match, ordinary requests do not", "[policy]") {
    auto p = load_policy(std::string(BULWARK_SOURCE_DIR) + "/policies/web.json");
    auto dfa = automaton::compile(all_patterns(p));
    auto set_hit = [&](const std::string& req) -> std::string {
        auto m = automaton::scan(dfa, req, p.scan_bytes);
        return m ? dfa.patterns[m - 1].set : "";
    };
    CHECK(set_hit("GET /items?id=1%20UNION%20SELECT%20password HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1' OR '1'='1 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /search?q=<ScRiPt>alert(1)</script> HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /static/..%2f..%2fetc/hosts HTTP/1.1\r\n") == "traversal");
    CHECK(set_hit("GET /%2E%2E/%2E%2E/boot.ini HTTP/1.1\r\n") == "traversal");
    CHECK(set_hit("GET /wp-login.php HTTP/1.1\r\n") == "wordpress_php");
    CHECK(set_hit("GET /.env HTTP/1.1\r\n") == "wordpress_php");
    CHECK(set_hit("GET /page?file=php://filter/resource=index HTTP/1.1\r\n") == "file_inclusion");
    CHECK(set_hit("GET /download?f=/etc/passwd HTTP/1.1\r\n") == "file_inclusion");
    for (auto ok : {"GET / HTTP/1.1\r\nHost: example\r\n\r\n", "GET /api/health HTTP/1.1\r\n",
                    "POST /api/session/start HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
                    "GET /cgi-bin/whoami HTTP/1.1\r\nUser-Agent: curl/7.88\r\n",
                    "GET /docs/select-a-union-plan.html HTTP/1.1\r\n"})
        CHECK(set_hit(ok).empty());
    CHECK(p.default_limits.requests == Rate{60, 60'000'000'000ull, 20});
    CHECK(p.suspicious_limits.requests == Rate{10, 60'000'000'000ull, 5});
    CHECK(p.trusted_unlimited);
    REQUIRE(p.rules.size() == 2);
    CHECK(p.rules[0].match == "GET /api/health");
    CHECK(p.rules[0].exempt);
}

TEST_CASE("rule limits: at most 32 rules of at most 64 bytes", "[policy]") {
    CHECK_THROWS_WITH(parse(R"({"rules": [{"match": "GET /)" + std::string(70, 'a') +
                            R"(", "action": "exempt"}]})"),
                      Contains("/rules/0/match: match is longer than 64 bytes"));
    std::string rules = R"({"rules": [)";
    for (int i = 0; i <= BW_MAX_RULES; ++i)
        rules += std::string(i ? "," : "") + R"({"match": "GET /r)" + std::to_string(i) +
                 R"(", "action": "exempt"})";
    rules += "]}";
    CHECK_THROWS_WITH(parse(rules), Contains("/rules/32: more than 32 rules"));
    CHECK_THROWS_WITH(
        parse(
            R"({"rules": [{"match": "GET /a", "action": "exempt"}, {"match": "GET /a", "action": "exempt"}]})"),
        Contains("/rules/1: \"GET /a\" repeats rule 0"));
}

TEST_CASE("events: kernel records become the design's JSON objects", "[events]") {
    bw_event e{};
    e.time_ns = 1'500'000'000;  // 1.5 s after the monotonic epoch
    e.reason = BW_DROP_PATTERN;
    e.detail = 3;
    e.len = 120;
    e.sport = 40000;
    e.dport = 80;
    e.family = 4;
    e.proto = IPPROTO_TCP;
    e.cls = BW_CLASS_DEFAULT;
    uint8_t src[4] = {198, 18, 0, 9}, dst[4] = {198, 18, 0, 2};
    std::memcpy(e.src, src, 4);
    std::memcpy(e.dst, dst, 4);
    // Offset so that the event lands on 2026-11-23T22:00:00.250000Z.
    int64_t offset = 1'795'471'200'000'000'000 - 1'250'000'000;
    auto j = bulwark::guard::event_json(e, "web", "sqli:union select", offset);
    CHECK(j["time"] == "2026-11-23T22:00:00.250000Z");
    CHECK(j["type"] == "REQUEST_BLOCKED");
    CHECK(j["service"] == "web");
    CHECK(j["reason"] == "drop_pattern");
    CHECK(j["src"] == "198.18.0.9");
    CHECK(j["src_port"] == 40000);
    CHECK(j["dst"] == "198.18.0.2");
    CHECK(j["dst_port"] == 80);
    CHECK(j["proto"] == "tcp");
    CHECK(j["len"] == 120);
    CHECK(j["pattern"] == "sqli:union select");
    CHECK_FALSE(j.contains("rule"));

    e.reason = BW_DROP_RULE;
    j = bulwark::guard::event_json(e, "web", "POST /login", offset);
    CHECK(j["type"] == "RATE_LIMIT_EXCEEDED");
    CHECK(j["rule"] == "POST /login");
    CHECK_FALSE(j.contains("pattern"));
    e.reason = BW_DROP_RATE_CONNECTIONS;
    CHECK(bulwark::guard::event_json(e, "web", "", offset)["type"] == "RATE_LIMIT_EXCEEDED");
    e.reason = BW_DROP_DENY;
    CHECK(bulwark::guard::event_json(e, "web", "", offset)["type"] == "REQUEST_BLOCKED");
    e.cls = BW_CLASS_SUSPICIOUS;
    e.reason = BW_DROP_RATE_REQUESTS;
    CHECK(bulwark::guard::event_json(e, "web", "", offset)["type"] == "SUSPICIOUS_ACTIVITY");
    e.family = 6;
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(e.src, v6, 16);
    e.proto = IPPROTO_UDP;
    j = bulwark::guard::event_json(e, "web", "", offset);
    CHECK(j["src"] == "2001:db8::1");
    CHECK(j["proto"] == "udp");
    CHECK_THAT(bulwark::guard::event_line(j),
               Catch::Matchers::Contains("SUSPICIOUS_ACTIVITY drop_rate_requests udp 2001:db8::1"));
}
