#include "automaton.hpp"

#include <algorithm>
#include <array>
#include <deque>

#include "error.hpp"

namespace bulwark::automaton {

namespace {
uint8_t fold(uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
}
}  // namespace

Dfa compile(const std::vector<std::string>& patterns, size_t max_states) {
    // The trie, over folded bytes; -1 is "no edge".
    std::vector<std::array<int32_t, 256>> go(1);
    go[0].fill(-1);
    std::vector<uint16_t> out(1, 0);  // lowest pattern index ending here (after fail closure)
    for (size_t i = 0; i < patterns.size(); ++i) {
        int32_t s = 0;
        for (unsigned char ch : patterns[i]) {
            auto c = fold(ch);
            if (go[s][c] < 0) {
                if (go.size() >= max_states)
                    throw InputError("the patterns need more than " + std::to_string(max_states) +
                                     " automaton states; use fewer or shorter patterns");
                go[s][c] = static_cast<int32_t>(go.size());
                go.emplace_back().fill(-1);
                out.push_back(0);
            }
            s = go[s][c];
        }
        if (out[s] == 0) out[s] = static_cast<uint16_t>(i + 1);
    }
    // Breadth-first: fail links, output closure, and the full transition function at once.
    std::vector<int32_t> fail(go.size(), 0);
    std::vector<std::array<int32_t, 256>> delta(go.size());
    std::deque<int32_t> queue;
    for (int c = 0; c < 256; ++c) {
        int32_t t = go[0][c];
        delta[0][c] = t < 0 ? 0 : t;
        if (t > 0) queue.push_back(t);
    }
    while (!queue.empty()) {
        int32_t s = queue.front();
        queue.pop_front();
        uint16_t inherited = out[fail[s]];
        if (inherited && (!out[s] || inherited < out[s])) out[s] = inherited;
        for (int c = 0; c < 256; ++c) {
            int32_t t = go[s][c];
            if (t < 0) {
                delta[s][c] = delta[fail[s]][c];
            } else {
                fail[t] = delta[fail[s]][c];
                delta[s][c] = t;
                queue.push_back(t);
            }
        }
    }
    Dfa dfa;
    dfa.patterns = patterns;
    dfa.table.resize(go.size() * 256);
    for (size_t s = 0; s < go.size(); ++s)
        for (int c = 0; c < 256; ++c) {
            auto next = static_cast<uint32_t>(delta[s][fold(static_cast<uint8_t>(c))]);
            dfa.table[s * 256 + c] = next | (static_cast<uint32_t>(out[next]) << 16);
        }
    return dfa;
}

std::optional<Match> scan(const Dfa& dfa, std::string_view text, size_t limit) {
    uint32_t s = 0;
    size_t n = std::min(limit, text.size());
    for (size_t i = 0; i < n; ++i) {
        uint32_t e = dfa.table[s * 256 + static_cast<uint8_t>(text[i])];
        if (e >> 16) return Match{i + 1, static_cast<uint16_t>(e >> 16)};
        s = e & 0xffff;
    }
    return std::nullopt;
}

}  // namespace bulwark::automaton
