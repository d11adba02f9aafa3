#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "../tempdir.hpp"
#include "core/sys.hpp"
#include "run/audit.hpp"

using namespace bulwark;
using Catch::Matchers::Contains;

namespace {

struct TempLog {
    TempDir dir{"audit"};
    std::string path = dir / "audit.log";
    void fill(int n, const std::string& key = "") const {
        audit::Log log(path, "web", key);
        for (int i = 0; i < n; ++i) log.write({{"type", "RATE_LIMIT_EXCEEDED"}, {"n", i}}, false);
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        std::istringstream in(read_file(path));
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    }
    void put(const std::vector<std::string>& ls) const {
        std::ofstream f(path, std::ios::trunc);
        for (auto& l : ls) f << l << "\n";
    }
    audit::ChainCheck check(const std::string& key = "") const {
        return audit::verify_chain(read_file(path), key);
    }
};

}  // namespace

TEST_CASE("the audit log is a hash chain that survives a restart", "[audit]") {
    TempLog t;
    t.fill(3);
    t.fill(2);  // a second run appends to the same chain
    auto c = t.check();
    CHECK(c.lines == 5);
    CHECK(c.bad_line == 0);
    auto ls = t.lines();
    CHECK_THAT(ls[0], Contains("\"prev\":\"" + audit::kGenesis + "\""));
    CHECK_THAT(ls[3], Contains("\"prev\":\"" + audit::Chain("").digest(ls[2]) + "\""));
}

TEST_CASE("audit verify names the first line that was edited, removed or reordered", "[audit]") {
    TempLog t;
    t.fill(6);
    auto orig = t.lines();
    auto with = [&](std::vector<std::string> ls) {
        t.put(ls);
        return t.check();
    };
    auto edited = orig;
    edited[2].replace(edited[2].find("RATE"), 4, "RATF");
    CHECK(with(edited).bad_line == 4);
    CHECK_THAT(with(edited).why, Contains("not the digest of line 3"));
    auto removed = orig;
    removed.erase(removed.begin() + 3);
    CHECK(with(removed).bad_line == 4);
    auto swapped = orig;
    std::swap(swapped[1], swapped[2]);
    CHECK(with(swapped).bad_line == 2);
    auto head_cut = orig;
    head_cut.erase(head_cut.begin());
    CHECK(with(head_cut).bad_line == 1);
    CHECK_THAT(with(head_cut).why, Contains("lines before it were removed"));
    auto junk = orig;
    junk.insert(junk.begin() + 2, "{\"type\": \"SANDBOX_EXIT\"}");
    CHECK(with(junk).bad_line == 3);
    // A torn last write is named; reopening ends it and the chain goes on after it.
    t.put(orig);
    std::ofstream(t.path, std::ios::app) << "{\"type\":\"SAND";
    CHECK(t.check().bad_line == 7);
    CHECK_THAT(t.check().why, Contains("torn"));
    t.fill(1);
    CHECK(t.check().bad_line == 7);  // still named: it is not valid JSON with a prev
    CHECK(t.lines().size() == 8);
}

TEST_CASE("with an HMAC key, a chain rewritten without the key does not verify", "[audit]") {
    TempLog t;
    const std::string key = "0123456789abcdef0123456789abcdef";
    t.fill(4, key);
    CHECK(t.check(key).bad_line == 0);
    CHECK(t.check("").bad_line == 2);  // SHA-256 is not what chained it
    CHECK(t.check("another key").bad_line == 2);
    // An attacker edits line 2 and recomputes every later "prev" with SHA-256.
    auto ls = t.lines();
    ls[1].replace(ls[1].find("RATE"), 4, "RATF");
    for (size_t i = 2; i < ls.size(); ++i) {
        auto p = ls[i].find("\"prev\":\"") + 8;
        ls[i].replace(p, 64, audit::Chain("").digest(ls[i - 1]));
    }
    t.put(ls);
    CHECK(t.check(key).bad_line == 3);
}

TEST_CASE("audit times are RFC 3339 UTC with microseconds", "[audit]") {
    CHECK(bulwark::rfc3339(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(bulwark::rfc3339(1'795'471'200'123'456'789) == "2026-11-23T22:00:00.123456Z");
    // A leap day's last microsecond: the calendar arithmetic rolls nothing over early.
    CHECK(bulwark::rfc3339(1'709'251'199'999'999'123) == "2024-02-29T23:59:59.999999Z");
    CHECK(bulwark::rfc3339(1'709'251'200'000'000'000) == "2024-03-01T00:00:00.000000Z");
}
