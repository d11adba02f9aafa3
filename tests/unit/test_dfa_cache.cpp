// The cache of compiled pattern tables: an entry gives back exactly the tables it was given, and
// anything else (another key, a changed byte, a cut, fields the kernel's map cannot hold) is
// refused, so the guard compiles afresh.
#include <catch2/catch.hpp>
#include <cstring>

#include "bpf/bulwark.h"
#include "core/digest.hpp"
#include "guard/automaton.hpp"
#include "guard/dfa_cache.hpp"

using namespace bulwark;
using namespace bulwark::automaton;

namespace {

std::vector<Pattern> patterns() {
    Scope ua{false, false, false, {"user-agent"}, {}};
    Scope no_cookie{true, true, true, {}, {"cookie"}};
    return {{"sqli", "\\bunion\\s+(all\\s+)?select\\b", true, false, Scope::any()},
            {"sqli", "'\\s*or\\s+\\d+\\s*=\\s*\\d+", true, false, Scope::any()},
            {"scanners", "sqlmap", false, false, ua},
            {"raw", "%00", false, true, Scope::any()},
            {"tokens", "plugh", false, false, no_cookie},
            {"tokens", "plugh", false, false, no_cookie}};
}

void same(const Automaton& a, const Automaton& b) {
    REQUIRE(a.tables.size() == b.tables.size());
    for (size_t i = 0; i < a.tables.size(); ++i) {
        auto &x = a.tables[i], &y = b.tables[i];
        CHECK(x.table == y.table);
        CHECK(x.byte_class == y.byte_class);
        CHECK(x.start == y.start);
        CHECK(std::tie(x.classes, x.pad, x.mid, x.quiet, x.accept, x.states, x.raw, x.first,
                       x.patterns) == std::tie(y.classes, y.pad, y.mid, y.quiet, y.accept, y.states,
                                               y.raw, y.first, y.patterns));
    }
    REQUIRE(a.patterns.size() == b.patterns.size());
    for (size_t i = 0; i < a.patterns.size(); ++i) {
        CHECK(a.patterns[i].set == b.patterns[i].set);
        CHECK(a.patterns[i].text == b.patterns[i].text);
        CHECK(a.patterns[i].raw == b.patterns[i].raw);
        CHECK(a.patterns[i].scope.named == b.patterns[i].scope.named);
    }
}

// The entry with its digest made again: what a corrupted entry cannot do, so the fields' own
// checks are what refuse it.
std::string resealed(std::string bytes) {
    bytes.resize(bytes.size() - 64);
    return bytes + sha256_hex(bytes);
}

void put_u32(std::string& bytes, size_t at, uint32_t v) {
    std::memcpy(&bytes[at], &v, 4);
}

}  // namespace

TEST_CASE("a cached automaton comes back as compiled, or not at all", "[automaton][cache]") {
    auto pats = patterns();
    auto a = compile(pats);
    REQUIRE(a.tables.size() == 2);  // decoded and raw
    auto key = cache::key(pats, BW_DFA_USABLE, BW_DFA_TABLES);
    auto bytes = cache::encode(key, a, pats);
    auto back = cache::decode(bytes, key, pats);
    REQUIRE(back);
    same(*back, a);

    CHECK_FALSE(cache::decode(bytes, cache::key(pats, BW_DFA_USABLE, 3), pats));
    CHECK_FALSE(cache::decode("", key, pats));
    CHECK_FALSE(cache::decode(bytes.substr(0, bytes.size() - 1), key, pats));
    CHECK_FALSE(cache::decode(bytes + "x", key, pats));
    for (size_t at :
         {size_t{3}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 70, bytes.size() - 10}) {
        auto torn = bytes;
        torn[at] ^= 0x20;
        CHECK_FALSE(cache::decode(torn, key, pats));
    }
    auto fewer = pats;
    fewer.pop_back();
    CHECK_FALSE(cache::decode(bytes, key, fewer));

    // Intact but impossible: what the kernel would be given must be a table it holds.
    const size_t head = std::strlen("bulwark dfa cache 1\n") + key.size() + 1 + 4;
    CHECK(cache::decode(resealed(bytes), key, pats));
    auto field = [&](size_t index, uint32_t v) {
        auto e = bytes;
        put_u32(e, head + 4 * index, v);
        return cache::decode(resealed(e), key, pats);
    };
    CHECK_FALSE(field(0, 1));             // classes
    CHECK_FALSE(field(0, 100000));        // classes
    CHECK_FALSE(field(5, 1u << 30));      // states
    CHECK_FALSE(field(5, 0));             // states
    CHECK_FALSE(field(3, 7));             // quiet, not a state
    CHECK_FALSE(field(7, 1));             // first
    CHECK_FALSE(field(9, 0));             // start[0], in the class maps
    CHECK_FALSE(field(9, BW_DFA_BYTES));  // start[0], past the table
    {
        auto e = bytes;
        put_u32(e, e.size() - 64 - 4, 0);  // the last match index names the first pattern twice
        CHECK_FALSE(cache::decode(resealed(e), key, pats));
    }
}

TEST_CASE("the cache key changes with anything the tables depend on", "[automaton][cache]") {
    auto pats = patterns();
    auto key = cache::key(pats, BW_DFA_USABLE, BW_DFA_TABLES);
    CHECK(key.size() == 64);
    CHECK(cache::key(patterns(), BW_DFA_USABLE, BW_DFA_TABLES) == key);
    CHECK(cache::key(pats, BW_DFA_USABLE - 1, BW_DFA_TABLES) != key);
    CHECK(cache::key(pats, BW_DFA_USABLE, 3) != key);
    std::vector<void (*)(Pattern&)> edits = {
        [](Pattern& p) { p.set += "x"; },
        [](Pattern& p) { p.text += "x"; },
        [](Pattern& p) { p.regex = !p.regex; },
        [](Pattern& p) { p.raw = !p.raw; },
        [](Pattern& p) { p.scope.uri = !p.scope.uri; },
        [](Pattern& p) { p.scope.headers = !p.scope.headers; },
        [](Pattern& p) { p.scope.body = !p.scope.body; },
        [](Pattern& p) { p.scope.named.push_back("referer"); },
        [](Pattern& p) { p.scope.not_in.push_back("referer"); }};
    for (auto edit : edits) {
        auto changed = pats;
        edit(changed[2]);
        CHECK(cache::key(changed, BW_DFA_USABLE, BW_DFA_TABLES) != key);
    }
    auto reordered = pats;
    std::swap(reordered[0], reordered[1]);
    CHECK(cache::key(reordered, BW_DFA_USABLE, BW_DFA_TABLES) != key);
}

TEST_CASE("a stored entry is deflated, and a stream that is not whole is refused",
          "[automaton][cache]") {
    auto pats = patterns();
    auto key = cache::key(pats, BW_DFA_USABLE, BW_DFA_TABLES);
    auto entry = cache::encode(key, compile(pats), pats);
    auto stored = cache::compress(entry);
    CHECK(stored.size() * 4 < entry.size());
    CHECK(cache::expand(stored, entry.size()) == entry);
    CHECK_FALSE(cache::expand(stored, entry.size() - 1));  // says more than allowed
    CHECK_FALSE(cache::expand("", entry.size()));
    CHECK_FALSE(cache::expand(stored.substr(0, stored.size() - 1), entry.size()));
    CHECK_FALSE(cache::expand(stored + "x", entry.size()));
    auto longer = stored;
    uint64_t size = entry.size() + 1;
    std::memcpy(longer.data(), &size, sizeof size);
    CHECK_FALSE(cache::expand(longer, entry.size() * 2));
    auto torn = stored;
    torn[torn.size() / 2] ^= 0x55;
    auto back = cache::expand(torn, entry.size());
    CHECK((!back || *back != entry));  // zlib's check may not see it; the entry's digest will
    if (back) CHECK_FALSE(cache::decode(*back, key, pats));
}
