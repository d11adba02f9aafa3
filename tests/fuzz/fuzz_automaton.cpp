// libFuzzer: the input is literals (lines before the first empty line, in three sets) and a
// payload (the rest). The compiler must accept them or refuse with InputError, and the
// kernel's scan (decoder, plan, four streams or lanes, every table) must find a literal exactly
// when a plain search of the decoded, folded text does. The payload sent as a chunked body must
// decode as the body a byte-by-byte de-chunker leaves does.
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

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// A chunked body as bw_dechunk_step is specified, a byte at a time: size lines (1-8 hex
// digits, an extension after ';' or a blank, CR LF or LF) and the line break after each chunk's
// data removed; a separator cut by the end goes; after the last chunk, or from a line that is
// not a separator, the rest stays (all of it when the first line is not a size line).
std::string dechunk(const std::string& b) {
    std::string out;
    size_t i = 0, n = b.size();
    for (bool first = true;; first = false) {
        size_t mark = i;
        auto rest = [&] { return first ? b : out + b.substr(mark); };
        if (!first) {
            if (i < n && b[i] == '\r') ++i;
            if (i >= n) return out;
            if (b[i++] != '\n') return rest();
        }
        uint64_t size = 0;
        int digits = 0;
        for (; i < n && digits < 8 && hex_digit(b[i]) >= 0; ++i, ++digits)
            size = size * 16 + static_cast<uint64_t>(hex_digit(b[i]));
        if (i >= n) return out;
        if (!digits) return rest();
        char c = b[i++];
        if (c == ';' || c == ' ' || c == '\t') {
            while (i < n && b[i] != '\r' && b[i] != '\n') ++i;
            if (i >= n) return out;
            c = b[i++];
        } else if (c != '\r' && c != '\n') {
            return rest();
        }
        if (c == '\r') {
            if (i >= n) return out;
            if (b[i++] != '\n') return rest();
        }
        if (size == 0) return out + b.substr(i);
        out += b.substr(i, size);
        if (n - i <= size) return out;
        i += size;
    }
}

// The body of an HTTP request `head` + `body`, as decoded.
std::string decoded_body(const std::string& head, const std::string& body) {
    auto d = bulwark::automaton::decode(head + body, BW_MAX_SCAN_BYTES, true);
    if (d.hdr_end != head.size()) __builtin_trap();
    return d.text.substr(d.hdr_end);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    size_t split = in.find("\n\n");
    std::string head = in.substr(0, split),
                payload = split == std::string::npos ? "" : in.substr(split + 2);
    {
        const std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                          plain = "POST / HTTP/1.1\r\nContent-Length: 0000000000\r\n\r\n";
        std::string body = payload.substr(0, BW_MAX_SCAN_BYTES - chunked.size());
        if (decoded_body(chunked, body) != decoded_body(plain, dechunk(body))) __builtin_trap();
    }
    {
        // Framing pipelined requests: each start is a request line's (the first read from the
        // whole load, the others from a rule's 64 bytes), past the one before, within the
        // payload, at most BW_MAX_PIPELINED of them (ASan: no read past the load).
        auto starts = bulwark::automaton::request_starts(payload);
        if (starts.size() > BW_MAX_PIPELINED) __builtin_trap();
        for (size_t i = 0; i < starts.size(); ++i)
            if (starts[i] >= payload.size() || (i && starts[i] <= starts[i - 1]) ||
                !bulwark::automaton::is_http_request(std::string_view(payload).substr(starts[i]),
                                                     i ? BW_MAX_RULE_LEN : BW_MAX_SCAN_BYTES))
                __builtin_trap();
    }
    if (bulwark::automaton::is_http_request(payload)) payload.insert(0, "@");  // all body
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
