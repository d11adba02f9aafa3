// The pattern language of policies (policies/README.md, "Patterns"): a regular-expression
// subset parsed into a Thompson NFA over normalised symbols, for the guard's DFA
// (automaton.hpp). Pure logic.
//
// Symbols are what the guard's DFA reads after the kernel's decoding: bytes with ASCII upper
// case folded to lower case, '\' read as '/', '+' and every whitespace byte read as ' ' but
// BW_BREAK_BYTE, the encoded line break the decoder writes (fold()). Patterns are folded the
// same way, so they are case-insensitive, except that a pattern's `\n` (`\r`, `\v`) is the
// line break alone and its spaces match the line break too. A pattern atom that can match ' '
// or the line break matches a whole run of them: runs count as one.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::regex {

using CharSet = std::bitset<256>;

// How the guard reads a decoded byte (pure). `raw`: only ASCII case is folded.
uint8_t fold(uint8_t b, bool raw = false);
// Word characters for \b and \w: [0-9a-z_] after folding.
bool is_word(uint8_t symbol);

struct Nfa {
    enum class Kind : uint8_t {
        Char,      // consumes one symbol in `set`, goes to `out`
        Split,     // epsilon to `out` and `out1`
        Epsilon,   // epsilon to `out`
        Boundary,  // \b: epsilon to `out` when the word-ness of the previous and next symbol differ
        NotBoundary,  // \B
        Match,        // pattern `match` (1-based) has matched
    };
    struct State {
        Kind kind = Kind::Epsilon;
        int32_t out = -1, out1 = -1;
        uint32_t match = 0;
        CharSet set;
    };
    std::vector<State> states;
    struct Start {
        int32_t state;
        uint32_t pattern;  // 1-based
        bool anchored;     // "^": only at the start of a request part
    };
    std::vector<Start> starts;
};

struct Options {
    bool raw = false;      // no folding of '\', '+' and whitespace; no space runs
    bool literal = false;  // the text is a literal string, not a regex
};

// Adds `pattern` (1-based id `id`) to `nfa`. Throws InputError naming the position and what is
// wrong ("at 7: unbalanced ')'") without file context: the caller adds the JSON path.
void add_pattern(Nfa& nfa, const std::string& pattern, uint32_t id, Options opt);

}  // namespace bulwark::regex
