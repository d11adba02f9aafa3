#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "../bpf/bulwark.h"
#include "automaton.hpp"
#include "error.hpp"

using namespace bulwark;
using namespace bulwark::automaton;

namespace {

char fold(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// The obvious search: earliest end position, lowest pattern index there.
std::optional<Match> naive(const std::vector<std::string>& pats, std::string_view text,
                           size_t limit) {
    size_t n = std::min(limit, text.size());
    for (size_t end = 1; end <= n; ++end) {
        for (size_t i = 0; i < pats.size(); ++i) {
            auto& p = pats[i];
            if (p.size() > end) continue;
            bool eq = true;
            for (size_t k = 0; k < p.size() && eq; ++k)
                eq = fold(text[end - p.size() + k]) == fold(p[k]);
            if (eq) return Match{end, static_cast<uint16_t>(i + 1)};
        }
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("automaton finds what a naive search finds, on random texts and pattern sets",
          "[automaton]") {
    std::mt19937 rng(12345);
    // A small alphabet makes overlaps, shared prefixes and suffix-of-another cases frequent.
    const std::string alphabet = "abAB/.%' <";
    auto rand_str = [&](size_t len) {
        std::string s;
        for (size_t i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
        return s;
    };
    int found = 0, missed = 0;
    for (int round = 0; round < 400; ++round) {
        std::vector<std::string> pats;
        size_t np = 1 + rng() % 12;
        for (size_t i = 0; i < np; ++i) pats.push_back(rand_str(1 + rng() % 6));
        auto dfa = compile(pats, BW_AUTOMATON_MAX_STATES);
        for (int t = 0; t < 20; ++t) {
            auto text = rand_str(rng() % 80);
            size_t limit = rng() % 90;
            auto want = naive(pats, text, limit);
            auto got = scan(dfa, text, limit);
            INFO("patterns[0]=" << pats[0] << " text=" << text << " limit=" << limit);
            REQUIRE(got.has_value() == want.has_value());
            if (want) {
                CHECK(got->end == want->end);
                CHECK(got->pattern == want->pattern);
                ++found;
            } else {
                ++missed;
            }
        }
    }
    // Both outcomes were exercised many times.
    CHECK(found > 1000);
    CHECK(missed > 500);
}

TEST_CASE("matching is case-insensitive for ASCII letters only", "[automaton]") {
    auto dfa = compile({"union select", "<script", "../"}, 1024);
    CHECK(scan(dfa, "GET /?q=1 UNION SELECT pass", 512)->pattern == 1);
    CHECK(scan(dfa, "x=<ScRiPt>", 512)->pattern == 2);
    CHECK(scan(dfa, "GET /../../etc", 512)->end == 8);
    CHECK_FALSE(scan(dfa, "GET /index.html", 512));
    // At the scan_bytes boundary: a match must end within the first `limit` bytes.
    std::string text = std::string(10, 'x') + "../";
    CHECK(scan(dfa, text, 13));
    CHECK_FALSE(scan(dfa, text, 12));
}

TEST_CASE("state limit is enforced", "[automaton]") {
    std::vector<std::string> many;
    for (int i = 0; i < 100; ++i) many.push_back("pattern-number-" + std::to_string(i) + "-long");
    CHECK_THROWS_AS(compile(many, 256), InputError);
    CHECK(compile(many, BW_AUTOMATON_MAX_STATES).states() < BW_AUTOMATON_MAX_STATES);
}

TEST_CASE("bw_scan_streams: every possible match lies whole inside one stream", "[automaton]") {
    // A match of m <= overlap + 1 bytes ending at p occupies [p - m + 1, p]; some stream must
    // contain it, and no stream may read past the payload.
    for (uint32_t overlap : {0u, 1u, 2u, 11u, 20u, 127u}) {
        for (uint32_t len = 0; len <= BW_MAX_SCAN_BYTES; ++len) {
            uint32_t start[BW_SCAN_STREAMS] = {};
            uint32_t steps = bw_scan_streams(len, overlap, start);
            if (steps == 0) continue;  // scanned as one stream
            INFO("len " << len << " overlap " << overlap);
            REQUIRE(steps < len);
            for (auto s : start) REQUIRE(s + steps <= len);
            uint32_t uncovered = 0;
            for (uint32_t p = 0; p < len; ++p) {
                uint32_t first = p >= overlap ? p - overlap : 0;  // the longest match's start
                bool covered = false;
                for (auto s : start) covered |= s <= first && p < s + steps;
                uncovered += !covered;
            }
            REQUIRE(uncovered == 0);
        }
    }
}

TEST_CASE("bw_scan_streams stays within the loop bounds the kernel verifies", "[automaton]") {
    uint32_t worst_single = 0, worst_steps = 0;
    for (uint32_t overlap = 0; overlap < BW_MAX_PATTERN_LEN; ++overlap)
        for (uint32_t len = 0; len <= BW_MAX_SCAN_BYTES; ++len) {
            uint32_t start[BW_SCAN_STREAMS] = {};
            uint32_t steps = bw_scan_streams(len, overlap, start);
            if (steps == 0)
                worst_single = std::max(worst_single, len);
            else
                worst_steps = std::max(worst_steps, steps);
        }
    CHECK(worst_single <= BW_SCAN_SINGLE_MAX);
    CHECK(worst_steps <= BW_SCAN_STEPS_MAX);
}
