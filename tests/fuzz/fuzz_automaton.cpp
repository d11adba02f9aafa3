// libFuzzer: the input is literals (lines before the first empty line, in three sets) and a
// payload (the rest). The compiler must accept them or refuse with InputError, and the
// kernel's scan (decoder, plan, four streams or lanes, every table) must find a literal exactly
// when a plain search of the decoded, folded text does.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "guard/automaton.hpp"

namespace {
// The DFA's view of text (regex::fold): what the search compares.
std::string fold(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '+' || std::isspace(c))
            c = ' ';
        else if (c == '\\')
            c = '/';
        else
            c = static_cast<unsigned char>(std::tolower(c));
        out += static_cast<char>(c);
    }
    return out;
}

// Whether `text` holds `lit`, where each space of `lit` stands for a run of spaces (in the
// DFA a symbol set with the space matches a run: regex.cpp), k spaces for a run of k or more.
bool contains(const std::string& text, const std::string& lit) {
    for (size_t start = 0; start < text.size(); ++start) {
        size_t t = start, l = 0;
        bool ok = true;
        while (ok && l < lit.size()) {
            if (lit[l] == ' ') {
                size_t k = 0, m = 0;
                for (; l < lit.size() && lit[l] == ' '; ++l) ++k;
                for (; t < text.size() && text[t] == ' '; ++t) ++m;
                ok = m >= k;
            } else {
                ok = t < text.size() && text[t] == lit[l];
                ++t, ++l;
            }
        }
        if (ok) return true;
    }
    return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    size_t split = in.find("\n\n");
    std::string head = in.substr(0, split),
                payload = split == std::string::npos ? "" : in.substr(split + 2);
    if (bulwark::automaton::is_http_request(payload)) payload.insert(0, "x");  // all body
    std::vector<bulwark::automaton::Pattern> patterns;
    size_t pos = 0;
    while (pos < head.size() && patterns.size() < 64) {
        size_t nl = head.find('\n', pos);
        if (nl == std::string::npos) nl = head.size();
        // Three sets, so that tables of several sets (products of the sets' own) and the
        // packing search are exercised too.
        if (nl > pos)
            patterns.push_back({"f" + std::to_string(patterns.size() % 3),
                                head.substr(pos, nl - pos), false, false,
                                bulwark::automaton::Scope::any()});
        pos = nl + 1;
    }
    bulwark::automaton::Automaton a;
    try {
        a = bulwark::automaton::compile(patterns, 1u << 16);
    } catch (const bulwark::InputError&) {
        return 0;
    }
    // A literal that holds a line break (an encoded newline, CR, VT) matches only line breaks
    // there, where the search below would take any space: the RE2 oracle of the unit tests
    // covers those; here every literal's spaces match a space or a line break alike, so the
    // text's line breaks fold to spaces.
    std::vector<std::string> lits;
    for (auto& p : patterns) {
        auto lit = bulwark::automaton::decode(p.text, p.text.size(), false).text;
        lit.pop_back();  // the end of the text
        if (lit.find_first_of("\r\n\v") != std::string::npos) return 0;
        lits.push_back(fold(lit));
    }
    auto text = bulwark::automaton::decode(payload, BW_MAX_SCAN_BYTES, false).text;
    text = fold(text);  // the end-of-text line break is text the DFA steps over, like any space
    bool want = false;
    for (auto& lit : lits) want |= !lit.empty() && contains(text, lit);
    // Binary bodies scanned too: the oracle is a search of the whole decoded text.
    bool got = bulwark::automaton::scan(a, payload, BW_MAX_SCAN_BYTES, true) != 0;
    if (got != want) __builtin_trap();
    return 0;
}
