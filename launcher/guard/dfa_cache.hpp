// A policy's pattern tables kept between runs (core/cache.hpp): compiling web.json takes seconds,
// paid at every start, reload and `policy test`; the same patterns from the same binary make the
// same tables, so a restart reads them back in milliseconds. `bulwark check policy` fills the
// cache, so a reload after it is quick too.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "guard/automaton.hpp"

namespace bulwark::automaton::cache {

// What decides the tables: the patterns (every field compile() reads), the budget and bulwark's
// own binary. Hex SHA-256.
std::string key(const std::vector<Pattern>& patterns, size_t max_entries, size_t max_tables);

// An entry's bytes (pure): the tables, which of `patterns` each match index is, and a SHA-256
// of the rest at the end.
std::string encode(const std::string& key, const Automaton& a,
                   const std::vector<Pattern>& patterns);
// The automaton `encode` was given, or nothing when the bytes are not an intact entry for this
// key and these patterns (torn, edited, another version), or describe tables the kernel's map
// could not hold.
std::optional<Automaton> decode(const std::string& bytes, const std::string& key,
                                const std::vector<Pattern>& patterns);

// An entry as stored: zlib's deflate of it, after its size (web.json's 16.4 MB of tables take
// 0.99 MB). expand() gives nothing for a stream that is not whole or says more than `most`.
std::string compress(const std::string& entry);
std::optional<std::string> expand(const std::string& stored, size_t most);

struct Compiled {
    Automaton automaton;
    bool from_cache = false;
};
// compile(patterns) through the cache in `dir` (root only; others compile every time). A
// policy that does not compile throws as compile() does and leaves nothing in the cache.
Compiled compile(const std::vector<Pattern>& patterns, const std::string& dir);

// Entries kept: a policy edited and reloaded many times must not fill the disk (an entry is
// up to 16 MiB before compress()).
constexpr size_t kKeep = 8;

}  // namespace bulwark::automaton::cache
