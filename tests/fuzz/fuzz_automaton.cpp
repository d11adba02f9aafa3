// libFuzzer: the input is a pattern set (lines before the first empty line) and a payload (the
// rest). The DFA compiler must accept or refuse it with InputError, and the DFA must report
// exactly what a plain case-folded search finds: the earliest end, the lowest pattern there.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "automaton.hpp"
#include "error.hpp"

namespace {
bool ends_at(const std::string& text, size_t end, const std::string& pat) {
    if (pat.empty() || pat.size() > end) return false;
    for (size_t i = 0; i < pat.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[end - pat.size() + i])) !=
            std::tolower(static_cast<unsigned char>(pat[i])))
            return false;
    return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    size_t split = in.find("\n\n");
    std::string head = in.substr(0, split),
                payload = split == std::string::npos ? "" : in.substr(split + 2);
    std::vector<std::string> patterns;
    size_t pos = 0;
    while (pos < head.size() && patterns.size() < 64) {
        size_t nl = head.find('\n', pos);
        if (nl == std::string::npos) nl = head.size();
        if (nl > pos) patterns.push_back(head.substr(pos, nl - pos));
        pos = nl + 1;
    }
    bulwark::automaton::Dfa dfa;
    try {
        dfa = bulwark::automaton::compile(patterns, 4096);
    } catch (const bulwark::InputError&) {
        return 0;
    }
    auto got = bulwark::automaton::scan(dfa, payload, payload.size());
    for (size_t end = 1; end <= payload.size(); ++end)
        for (size_t i = 0; i < patterns.size(); ++i)
            if (ends_at(payload, end, patterns[i])) {
                if (!got || got->end != end || got->pattern != i + 1) __builtin_trap();
                return 0;
            }
    if (got) __builtin_trap();
    return 0;
}
