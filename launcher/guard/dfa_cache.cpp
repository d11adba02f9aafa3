#include "guard/dfa_cache.hpp"

#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <stdexcept>

#include "core/cache.hpp"
#include "core/digest.hpp"
#include "core/json_util.hpp"
#include "core/sys.hpp"

namespace bulwark::automaton::cache {

namespace {

constexpr char kFormat[] = "bulwark dfa cache 1\n";
constexpr size_t kDigest = 64;  // hex SHA-256 at the end
// The largest entry: full tables, 1024 patterns' indices and the header.
constexpr size_t kMostBytes = BW_DFA_TABLES * (BW_DFA_USABLE * 4 + 1024) + 1024 * 4 + 4096;

Json pattern_json(const Pattern& p) {
    return Json::array({p.set, p.text, p.regex, p.raw, p.scope.uri, p.scope.headers, p.scope.body,
                        p.scope.named, p.scope.not_in});
}

// Native byte order: an entry never leaves the host that wrote it (the key names the binary).
struct Writer {
    std::string out;
    void u32(uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void raw(const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
};

struct Truncated : std::runtime_error {
    Truncated() : std::runtime_error("truncated") {}
};

struct Reader {
    std::string_view in;
    size_t at = 0;
    void raw(void* p, size_t n) {
        if (n > in.size() - at) throw Truncated();
        std::memcpy(p, in.data() + at, n);
        at += n;
    }
    uint32_t u32() {
        uint32_t v;
        raw(&v, sizeof v);
        return v;
    }
};

// The kernel would run what the fields say: they must describe a table the map holds, whose
// states and columns are rows and entries of it.
bool sane(const Dfa& d) {
    if (d.classes < 4 || d.classes > BW_DFA_MAX_CLASSES || d.states == 0) return false;
    const uint64_t row = uint64_t{d.classes} * 4, end = BW_DFA_HEAD + d.states * row;
    if (d.table.size() != BW_DFA_HEAD / 4 + uint64_t{d.states} * d.classes ||
        d.table.size() > BW_DFA_USABLE)
        return false;
    auto state = [&](uint64_t at) {
        return at >= BW_DFA_HEAD && at <= end && (at - BW_DFA_HEAD) % row == 0;
    };
    if (!state(d.quiet) || !state(d.accept)) return false;
    for (auto s : d.start)
        if (!state(s) || s == end) return false;
    for (auto c : d.byte_class)
        if (c % 4 || c >= row) return false;
    return d.pad < row && d.mid + 4 < row && d.pad % 4 == 0 && d.mid % 4 == 0;
}

}  // namespace

std::string key(const std::vector<Pattern>& patterns, size_t max_entries, size_t max_tables) {
    Json pats = Json::array();
    for (auto& p : patterns) pats.push_back(pattern_json(p));
    return sha256_hex(std::string(kFormat) + bulwark::cache::binary_identity() + "\nentries " +
                      std::to_string(max_entries) + " tables " + std::to_string(max_tables) + "\n" +
                      pats.dump());
}

std::string encode(const std::string& key, const Automaton& a,
                   const std::vector<Pattern>& patterns) {
    Writer w;
    w.out = kFormat + key + "\n";
    w.u32(static_cast<uint32_t>(a.tables.size()));
    for (auto& d : a.tables) {
        for (uint32_t v :
             {d.classes, d.pad, d.mid, d.quiet, d.accept, d.states, static_cast<uint32_t>(d.raw),
              d.first, static_cast<uint32_t>(d.patterns)})
            w.u32(v);
        w.raw(d.start.data(), sizeof d.start);
        w.raw(d.byte_class.data(), sizeof d.byte_class);
        w.u32(static_cast<uint32_t>(d.table.size()));
        w.raw(d.table.data(), d.table.size() * sizeof d.table[0]);
    }
    // Match index i+1 is a.patterns[i]: which of the policy's patterns, by position (equal
    // patterns are interchangeable).
    std::vector<Json> wanted;
    for (auto& p : patterns) wanted.push_back(pattern_json(p));
    std::vector<char> used(patterns.size(), 0);
    w.u32(static_cast<uint32_t>(a.patterns.size()));
    for (auto& p : a.patterns) {
        auto j = pattern_json(p);
        size_t i = 0;
        while (i < wanted.size() && (used[i] || wanted[i] != j)) ++i;
        if (i == wanted.size()) throw std::logic_error("dfa cache: a pattern not in the policy");
        used[i] = 1;
        w.u32(static_cast<uint32_t>(i));
    }
    w.out += sha256_hex(w.out);
    return std::move(w.out);
}

std::optional<Automaton> decode(const std::string& bytes, const std::string& key,
                                const std::vector<Pattern>& patterns) {
    const std::string head = kFormat + key + "\n";
    if (bytes.size() < head.size() + kDigest || bytes.compare(0, head.size(), head) != 0 ||
        sha256_hex(std::string_view(bytes).substr(0, bytes.size() - kDigest)) !=
            std::string_view(bytes).substr(bytes.size() - kDigest))
        return std::nullopt;
    try {
        Reader r{std::string_view(bytes).substr(0, bytes.size() - kDigest), head.size()};
        Automaton a;
        uint32_t tables = r.u32();
        if (tables == 0 || tables > BW_DFA_TABLES) return std::nullopt;
        size_t first = 0;
        for (uint32_t t = 0; t < tables; ++t) {
            Dfa d;
            d.classes = r.u32();
            d.pad = r.u32();
            d.mid = r.u32();
            d.quiet = r.u32();
            d.accept = r.u32();
            d.states = r.u32();
            d.raw = r.u32() != 0;
            d.first = r.u32();
            d.patterns = r.u32();
            r.raw(d.start.data(), sizeof d.start);
            r.raw(d.byte_class.data(), sizeof d.byte_class);
            uint32_t n = r.u32();
            if (n > BW_DFA_USABLE) return std::nullopt;
            d.table.resize(n);
            r.raw(d.table.data(), size_t{n} * sizeof d.table[0]);
            if (!sane(d) || d.first != first) return std::nullopt;
            first += d.patterns;
            a.tables.push_back(std::move(d));
        }
        if (r.u32() != patterns.size() || first != patterns.size()) return std::nullopt;
        std::vector<char> used(patterns.size(), 0);
        for (size_t i = 0; i < patterns.size(); ++i) {
            uint32_t k = r.u32();
            if (k >= patterns.size() || used[k]) return std::nullopt;
            used[k] = 1;
            a.patterns.push_back(patterns[k]);
        }
        if (r.at != r.in.size()) return std::nullopt;
        return a;
    } catch (const Truncated&) {
        return std::nullopt;
    }
}

std::string compress(const std::string& entry) {
    // zlib's default level: web.json's 16.4 MB of tables in 0.99 MB, 0.16 s once per miss (gzip
    // of the same bytes: level 1 1.32 MB in 0.11 s, level 9 0.93 MB in 0.54 s).
    uLongf n = compressBound(entry.size());
    std::string out(sizeof(uint64_t) + n, '\0');
    const uint64_t size = entry.size();
    std::memcpy(out.data(), &size, sizeof size);
    if (compress2(reinterpret_cast<Bytef*>(out.data() + sizeof size), &n,
                  reinterpret_cast<const Bytef*>(entry.data()), entry.size(),
                  Z_DEFAULT_COMPRESSION) != Z_OK)
        throw std::runtime_error("dfa cache: deflate failed");
    out.resize(sizeof size + n);
    return out;
}

namespace {

// The inflated size a stored entry's header gives, if it has one no larger than `most`.
std::optional<uint64_t> inflated_size(const std::string& stored, size_t most) {
    uint64_t size = 0;
    if (stored.size() < sizeof size) return std::nullopt;
    std::memcpy(&size, stored.data(), sizeof size);
    if (size > most) return std::nullopt;
    return size;
}

}  // namespace

std::optional<std::string> expand(const std::string& stored, size_t most) {
    auto inflated = inflated_size(stored, most);
    if (!inflated) return std::nullopt;
    const uint64_t size = *inflated;
    std::string out(size, '\0');
    uLongf n = size;
    uLong in = stored.size() - sizeof size;
    if (uncompress2(reinterpret_cast<Bytef*>(out.data()), &n,
                    reinterpret_cast<const Bytef*>(stored.data() + sizeof size), &in) != Z_OK ||
        n != size || in != stored.size() - sizeof size)
        return std::nullopt;
    return out;
}

Compiled compile(const std::vector<Pattern>& patterns, const std::string& dir) {
    // A compile allocates and frees vectors of megabytes thousands of times: kept in the heap,
    // web.json compiles with 19,000 page faults instead of 86,000 (3.2 s, not 3.9). Only for a
    // compile: a start that reads the tables back leaves glibc's thresholds as they were.
    auto fresh = [&] {
        keep_heap();
        return automaton::compile(patterns);
    };
    if (patterns.empty() || geteuid() != 0) return {fresh(), false};
    auto k = key(patterns, BW_DFA_USABLE, BW_DFA_TABLES);
    const std::string name = k + ".dfa";
    if (auto stored = bulwark::cache::load(dir, name)) {
        // The entry inflates into one buffer and is copied into the tables: twice its size of
        // fresh memory (33 MB for web.json), faulted in at once rather than page by page.
        if (auto size = inflated_size(*stored, kMostBytes)) prefault_heap(2 * *size);
        if (auto bytes = expand(*stored, kMostBytes))
            if (auto a = decode(*bytes, k, patterns)) return {std::move(*a), true};
    }
    Compiled c{fresh(), false};
    try {
        if (bulwark::cache::store(dir, name, compress(encode(k, c.automaton, patterns))))
            bulwark::cache::trim(dir, ".dfa", kKeep);
    } catch (const std::exception&) {
        // Never a failure (core/cache.hpp): the next start compiles again.
    }
    return c;
}

}  // namespace bulwark::automaton::cache
