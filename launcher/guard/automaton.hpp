// The guard's pattern automaton: every pattern of a policy, each limited to the parts of a
// request its set names, compiled into DFAs over bytes, the tables the XDP program runs
// (bpf/bulwark.h, "Payload inspection"). Pure logic.
//
// The DFA reads the kernel's decoded payload (bw_decode_step) and does the rest of the
// normalisation itself, so a byte costs the kernel one table load: ASCII case, '\' as '/',
// '+' and whitespace as ' ' (regex::fold), runs of spaces as one (regex.hpp), and which part
// of the request a byte is in. It tracks the request line ("uri"), each header line (its
// name, then its value: "headers", or a header the policy names, such as "user-agent") and the
// body. "raw" sets get tables of their own that the kernel runs over the undecoded bytes.
//
// One DFA of many patterns can need far more states than the patterns apart (a state is a set
// of partial matches in progress at once), so compile() packs whole sets into as few tables
// as hold them, up to BW_DFA_TABLES: first fit, biggest first, and when that needs too many, a
// search over the sizes each pair of sets needs together. Each set is built alone from its
// patterns; a table of several is the product of their tables, minimised: the same automaton
// as one built from all their patterns, in milliseconds instead of seconds. Every table is a
// scan of the whole text: the kernel's cost per byte grows with their number
// (bench/RESULTS.md).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/bulwark.h"
#include "core/error.hpp"

namespace bulwark::automaton {

// Patterns that need more states than a table holds.
class TooBig : public InputError {
  public:
    using InputError::InputError;
};

// Where in a request a pattern is looked for.
struct Scope {
    bool uri = false;                 // the request line
    bool headers = false;             // every header's value
    bool body = false;                // the body, and payloads that do not start a request
    std::vector<std::string> named;   // values of these headers only (lower case)
    std::vector<std::string> not_in;  // headers "headers" leaves out (lower case)
    static Scope any() { return {true, true, true, {}, {}}; }
    // Whether the value of header `name` (lower case) is looked in.
    bool sees_header(const std::string& name) const {
        auto among = [&](const std::vector<std::string>& v) {
            return std::find(v.begin(), v.end(), name) != v.end();
        };
        return (headers && !among(not_in)) || among(named);
    }
};

struct Pattern {
    std::string set, text;
    bool regex = false;  // else a literal
    bool raw = false;    // matched against the undecoded bytes (only case folded)
    Scope scope;
};

// One table, in the kernel's units (bw_dfa): states and classes are byte offsets into it.
struct Dfa {
    std::vector<uint32_t> table;  // BW_DFA_HEAD bytes of class maps, then states x classes
    uint32_t classes = 0;         // entries in a row; 0: no patterns
    std::array<uint16_t, 256> byte_class{};
    uint32_t pad = 0, mid = 0;  // the pad and restart columns (bw_dfa)
    uint32_t quiet = 0;         // states below are quiescent
    uint32_t accept = 0;        // states from here on are the patterns' matches, in order
    uint32_t states = 0;
    std::array<uint32_t, BW_STARTS> start{};
    bool raw = false;    // runs over the bytes as sent
    uint32_t first = 0;  // its match k is the automaton's pattern first + k
    size_t patterns = 0;
};

// A policy's patterns in tables.
struct Automaton {
    std::vector<Dfa> tables;
    std::vector<Pattern> patterns;  // match index i+1 is patterns[i]; a table's are consecutive
    size_t states() const;
};

// Throws InputError naming the pattern ("sqli: union.*select") when one is malformed, or, when
// a set is too big for a table even alone, the pattern that contributes most; or naming the
// sets in each table when they need more than `max_tables`.
Automaton compile(const std::vector<Pattern>& patterns, size_t max_entries = BW_DFA_USABLE,
                  size_t max_tables = BW_DFA_TABLES);

// One table of `patterns` (all raw, or none), throwing as compile() does when it outgrows
// `max_entries`.
Dfa compile_table(const std::vector<Pattern>& patterns, size_t max_entries = BW_DFA_USABLE);

// The kernel's view of a table (bw_config.dfa[i]).
bw_dfa to_kernel(const Dfa& dfa);

// Lane `lane`'s column for `byte` (a byte offset in that table's rows), from the lanes' class
// map in table 0's head (BW_DFA_LANES_MAP), where the kernel's lanes read it.
uint16_t lanes_column(const Dfa& table0, uint8_t byte, size_t lane);

// The table entries a DFA uses: the class map and its rows (what a reload overwrites).
inline size_t used_entries(const bw_dfa& d) {
    return d.classes ? BW_DFA_HEAD / 4 + size_t{d.states} * d.classes : 0;
}

// A payload as inspect() judges it for a policy's scan_bytes: when a request line follows a
// run of CR and LF bytes at its start (empty lines, which servers skip: bw_blank_lead), from
// that line; otherwise (a body's text) whole.
std::string_view after_blank_lines(std::string_view payload, size_t scan_bytes);

// Whether a payload starts an HTTP request, as the kernel decides it from the bytes it loads
// for a policy's scan_bytes (bw_is_request).
bool is_http_request(std::string_view payload, size_t scan_bytes = BW_MAX_SCAN_BYTES);

// Where the requests of a segment start, as the kernel frames them for the request limits and
// the rules (inspect, then pipelined: bw_frame_request after each): the first after any empty
// lines, then each that follows its predecessor's headers and body (chunked, or Content-Length), up
// to BW_MAX_PIPELINED. Empty when the segment starts no request.
std::vector<size_t> request_starts(std::string_view payload);

// The kernel's decoding of the first `scan_bytes` of a payload (bw_decode_step).
struct Decoded {
    std::string text;  // ends with the line break the kernel appends (bw_decode_finish)
    std::vector<uint16_t> lines;
    uint32_t hdr_end = 0;
};
Decoded decode(std::string_view payload, size_t scan_bytes, bool http);

// The kernel's scan, step for step and table after table: the 1-based index of the pattern it
// reports, or 0. A binary body is left out (bw_cut_binary_body) unless `scan_binary`.
uint32_t scan(const Automaton& a, std::string_view payload, size_t scan_bytes,
              bool scan_binary = false);

}  // namespace bulwark::automaton
