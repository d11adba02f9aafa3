// Detection and false positives per attack class on the project's corpus (tests/corpus):
// every request through the real XDP program with BPF_PROG_TEST_RUN, one 1,460-byte segment
// at a time as the wire carries it, next to a userspace peer in the same run: the same
// policy's regexes in RE2 over the raw request's parts (each set where its scope says),
// without the kernel's decoding (the "naive regex WAF" the issue compares with). Root (it loads the
// program); not a pass/fail test: the floors are in tests/unit/test_policy.cpp.
//
// usage: bench_detection [POLICY [CORPUS_DIR]]   (defaults: policies/web.json, the build's
//                                                 generated corpus)
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "guard/policy.hpp"
#include "guard/policy_test.hpp"

using namespace bulwark;

namespace {

struct Tally {
    size_t total = 0, kernel = 0, peer = 0;
};

std::string escape_literal(const std::string& s) {
    return RE2::QuoteMeta(s);
}

// Our regex dialect in RE2's: \h (a space, not a line break) is PCRE's, not RE2's.
std::string to_re2(const std::string& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) {
        if (r[i] == '\\' && i + 1 < r.size()) {
            out += r[i + 1] == 'h' ? std::string("[ \\t]") : r.substr(i, 2);
            ++i;
        } else {
            out += r[i];
        }
    }
    return out;
}

// A request's parts as the policy's scopes name them, found the simple way a userspace WAF
// would: the first line, "Name: value" lines up to the blank line, the rest.
struct Parts {
    std::string uri, body;
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case name, value
};

Parts split(const std::string& req) {
    Parts p;
    size_t eol = req.find("\r\n");
    p.uri = req.substr(0, eol);
    if (eol == std::string::npos) return p;
    size_t pos = eol + 2;
    while (pos < req.size()) {
        size_t e = req.find("\r\n", pos);
        if (e == std::string::npos) e = req.size();
        if (e == pos) {
            p.body = req.substr(std::min(req.size(), pos + 2));
            break;
        }
        std::string line = req.substr(pos, e - pos);
        size_t colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        p.headers.push_back({name, colon == std::string::npos ? "" : line.substr(colon + 1)});
        pos = e + 2;
    }
    return p;
}

struct PeerSet {
    automaton::Scope scope;
    std::vector<std::unique_ptr<RE2>> res;
};

bool peer_drops(const std::vector<PeerSet>& sets, const std::string& req) {
    Parts parts = split(req);
    auto any = [](const PeerSet& s, const std::string& text) {
        for (auto& r : s.res)
            if (r->ok() && RE2::PartialMatch(text, *r)) return true;
        return false;
    };
    for (auto& s : sets) {
        if (s.scope.uri && any(s, parts.uri)) return true;
        if (s.scope.body && any(s, parts.body)) return true;
        for (auto& [name, value] : parts.headers)
            if (s.scope.sees_header(name) && any(s, value)) return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    std::string policy_path = argc > 1 ? argv[1] : BULWARK_SOURCE_DIR "/policies/web.json";
    std::string corpus = argc > 2 ? argv[2] : BULWARK_CORPUS_DIR;
    auto p = policy::load_policy(policy_path);
    // Only the patterns decide: limits so high that nothing is rate-limited.
    policy::Rate huge = policy::parse_rate("1000000000/second");
    huge.burst = 1'000'000'000;
    for (auto* l : {&p.default_limits, &p.suspicious_limits})
        l->packets = l->connections = l->requests = huge;
    p.rules.clear();
    policy_test::Tester tester(p);  // as `bulwark policy test`: segment by segment

    RE2::Options o;
    o.set_case_sensitive(false);
    o.set_encoding(RE2::Options::EncodingLatin1);
    o.set_log_errors(false);
    std::vector<PeerSet> peer;
    size_t bad = 0, npeer = 0;
    for (auto& set : p.pattern_sets) {
        PeerSet ps{set.scope, {}};
        for (auto& r : set.regexes) ps.res.push_back(std::make_unique<RE2>(to_re2(r), o));
        for (auto& l : set.literals) ps.res.push_back(std::make_unique<RE2>(escape_literal(l), o));
        for (auto& r : ps.res) bad += !r->ok(), npeer++;
        peer.push_back(std::move(ps));
    }

    std::map<std::string, Tally> by_class;
    for (auto file : {"attacks.jsonl", "benign.jsonl"}) {
        std::ifstream in(corpus + "/" + file);
        if (!in) {
            fprintf(stderr, "bench_detection: cannot read %s/%s\n", corpus.c_str(), file);
            return 1;
        }
        std::string line;
        while (std::getline(in, line)) {
            auto j = nlohmann::json::parse(line);
            auto req = j.at("request").get<std::string>();
            auto& t = by_class[j.at("class").get<std::string>()];
            t.total++;
            t.kernel += tester.run(req).dropped;
            t.peer += peer_drops(peer, req);
        }
    }
    printf("%-10s %6s %22s %26s\n", "class", "n", "bulwark (XDP, decoded)",
           "RE2, same rules, raw bytes");
    Tally attacks;
    for (auto& [cls, t] : by_class) {
        printf("%-10s %6zu %15zu %6.3f %19zu %6.3f\n", cls.c_str(), t.total, t.kernel,
               double(t.kernel) / double(t.total), t.peer, double(t.peer) / double(t.total));
        if (cls != "benign") {
            attacks.total += t.total;
            attacks.kernel += t.kernel;
            attacks.peer += t.peer;
        }
    }
    printf("%-10s %6zu %15zu %6.3f %19zu %6.3f\n", "attacks", attacks.total, attacks.kernel,
           double(attacks.kernel) / double(attacks.total), attacks.peer,
           double(attacks.peer) / double(attacks.total));
    printf("(benign: the rate is false positives; %zu of %zu patterns RE2 could not compile)\n",
           bad, npeer);
    printf("policy %s, corpus %s\n", policy_path.c_str(), corpus.c_str());
    return 0;
}
