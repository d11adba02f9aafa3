// Multi-pattern matcher for the XDP program: Aho-Corasick compiled to a full DFA over bytes,
// with ASCII case folded into the table, so the kernel does one array lookup per payload byte
// and never lowercases. Pure logic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::automaton {

struct Dfa {
    // states() x 256 entries: next state (low 16 bits) | 1-based pattern index that ends on
    // entering it (high 16 bits, 0 for none). Layout of the kernel's array map.
    std::vector<uint32_t> table;
    std::vector<std::string> patterns;  // as given; match index i+1 is patterns[i]
    size_t states() const { return table.size() / 256; }
};

// Throws InputError when the patterns need more than `max_states` states.
Dfa compile(const std::vector<std::string>& patterns, size_t max_states);

struct Match {
    size_t end;        // offset just past the last byte of the match
    uint16_t pattern;  // 1-based index into Dfa::patterns
};
// Runs the DFA over the first `limit` bytes of text exactly as the kernel does: the earliest
// position where some pattern ends, and the lowest-numbered pattern ending there.
std::optional<Match> scan(const Dfa& dfa, std::string_view text, size_t limit);

}  // namespace bulwark::automaton
