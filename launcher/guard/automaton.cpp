#include "guard/automaton.hpp"

#include <algorithm>
#include <bit>
#include <bitset>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "guard/regex.hpp"

namespace bulwark::automaton {

namespace {

using regex::Nfa;

// Columns [first, last) of `into`'s lanes' class map (BW_DFA_LANES_MAP) hold `from`'s classes.
void set_classes(Dfa& into, const Dfa& from, size_t first, size_t last) {
    uint8_t* map = reinterpret_cast<uint8_t*>(into.table.data()) + BW_DFA_LANES_MAP;
    for (size_t b = 0; b < 256; ++b)
        for (size_t k = first; k < last; ++k)
            std::memcpy(map + (b * BW_DFA_TABLES + k) * 2, &from.byte_class[b], 2);
}

// The tracker: which part of a request the next byte is in, from the raw bytes alone.
enum Mode : uint8_t {
    kRequestLine,  // active: "uri"
    kLineStart,    // a header line's first byte, or the blank line
    kLineStartCr,
    kName,   // in a header's name (arg: name trie node, kOther when untracked)
    kOws,    // after the ':' (arg: header kind), before the value's first byte
    kValue,  // active: "headers" and the named header (arg: header kind; 0 untracked)
    kBody,   // active: "body"
    kSink,   // a match of pattern `arg`: stays (the DFA's accepting states)
};
constexpr uint16_t kOther = 0xffff;

struct Tracker {
    Mode mode;
    uint16_t arg;
    bool operator==(const Tracker&) const = default;
};

bool active(Tracker t) {
    return t.mode == kRequestLine || t.mode == kValue || t.mode == kBody;
}

// Trie of the header names the policy's sets name (lower case).
struct Names {
    struct Node {
        std::map<uint8_t, uint16_t> kids;
        uint16_t kind = 0;  // 1-based header kind when a name ends here
    };
    std::vector<Node> nodes{Node{}};
    std::vector<std::string> names;  // kind k is names[k-1]

    uint16_t add(const std::string& name) {
        for (size_t i = 0; i < names.size(); ++i)
            if (names[i] == name) return static_cast<uint16_t>(i + 1);
        names.push_back(name);
        uint16_t n = 0;
        for (unsigned char c : name) {
            auto it = nodes[n].kids.find(c);
            if (it == nodes[n].kids.end()) {
                nodes.emplace_back();
                it = nodes[n].kids.emplace(c, static_cast<uint16_t>(nodes.size() - 1)).first;
            }
            n = it->second;
        }
        nodes[n].kind = static_cast<uint16_t>(names.size());
        return nodes[n].kind;
    }
    uint16_t child(uint16_t n, uint8_t c) const {
        if (n == kOther) return kOther;
        auto it = nodes[n].kids.find(c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c);
        return it == nodes[n].kids.end() ? kOther : it->second;
    }
};

Tracker track(const Names& names, Tracker t, uint8_t b) {
    switch (t.mode) {
        case kRequestLine:
            return b == '\n' ? Tracker{kLineStart, 0} : t;
        case kLineStart:
        case kLineStartCr:
            if (b == '\n') return {kBody, 0};
            if (t.mode == kLineStart && b == '\r') return {kLineStartCr, 0};
            if (b == ':') return {kOws, 0};
            return {kName, t.mode == kLineStartCr ? kOther : names.child(0, b)};
        case kName:
            if (b == ':') return {kOws, t.arg == kOther ? uint16_t{0} : names.nodes[t.arg].kind};
            if (b == '\n') return {kLineStart, 0};
            return {kName, names.child(t.arg, b)};
        case kOws:
            if (b == '\n') return {kLineStart, 0};
            if (b == ' ' || b == '\t') return t;
            return {kValue, t.arg};
        case kValue:
            return b == '\n' ? Tracker{kLineStart, 0} : t;
        case kBody:
        case kSink:
            return t;
    }
    return t;
}

// The patterns of one component (normalised or raw) that are looked for in one part.
struct Part {
    std::vector<int32_t> unanchored, anchored;  // NFA start states
    std::vector<int32_t> closure_u;             // plain closure of the unanchored starts
    std::vector<int32_t> closure_a;             // ... of both
    std::vector<char> in_closure_u;             // by NFA state
    std::vector<char> in_closure_a;
};

class Builder {
  public:
    // No more than BW_DFA_USABLE whatever the caller asks: the kernel's lanes rely on every
    // state lying below BW_DFA_STATE_END.
    Builder(const std::vector<Pattern>& pats, size_t max_entries)
        : pats_(pats), max_entries_(std::min<size_t>(max_entries, BW_DFA_USABLE)) {}

    Dfa build();
    // The table of two tables' patterns (a's first), from the product of their automata: what
    // build() makes of both sets' patterns, at a fraction of the cost.
    // count_only: only its states and classes, before minimisation (a few per cent more).
    Dfa build_union(const Dfa& a, const Dfa& b, bool count_only = false);

  private:
    struct Key {
        Tracker t;
        uint8_t raw, prev_word;
        std::vector<int32_t> extra;  // NFA states beyond the part's unanchored closure
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        size_t operator()(const Key& k) const {
            size_t h = (static_cast<size_t>(k.t.mode) << 40) ^
                       (static_cast<size_t>(k.t.arg) << 20) ^ (static_cast<size_t>(k.raw) << 3) ^
                       k.prev_word;
            for (auto s : k.extra) h = h * 1000003u ^ static_cast<size_t>(s);
            return h;
        }
    };
    struct Step {
        std::vector<int32_t> set;
        uint32_t match = 0;
    };

    const Nfa& nfa(bool raw) const { return raw ? raw_ : norm_; }
    uint8_t symbol(bool raw, uint8_t b) const { return regex::fold(b, raw); }
    size_t part_index(Tracker t) const {
        if (t.mode == kRequestLine) return 0;
        if (t.mode == kBody) return 1;
        return 2 + t.arg;  // kValue
    }
    Part& part(bool raw, Tracker t) { return parts_[raw][part_index(t)]; }

    void add_patterns();
    void make_parts();
    void make_classes();
    std::vector<int32_t> closure(bool raw, std::vector<int32_t> from, int assert_prev,
                                 int assert_next, uint32_t* match) const;
    Step move(bool raw, const std::vector<int32_t>& set, bool prev_word, uint8_t sym) const;
    // `extra` with its assertions resolved against the next symbol's word-ness (index).
    struct Resolved {
        std::vector<int32_t> set[2];
        uint32_t match[2] = {0, 0};
    };
    Resolved resolve(bool raw, const std::vector<int32_t>& extra, bool prev_word) const;
    Step step_part(bool raw, Tracker t, const Resolved& extra, bool prev_word, uint8_t cls);
    int32_t intern(Key k);
    bool quiet(const Key& k);
    [[noreturn]] void too_big(size_t states);
    // Returns where each state went (-1: nowhere, it cannot be reached).
    std::vector<int32_t> prune(const std::array<int32_t, BW_STARTS>& starts);
    std::vector<int32_t> minimize();
    // Minimised, in the kernel's layout; `starts` are the chosen component's entry states.
    Dfa layout(const std::array<int32_t, BW_STARTS>& starts, bool raw);
    [[noreturn]] void too_big_union(size_t states);

    const std::vector<Pattern>& pats_;
    size_t max_entries_;
    Nfa norm_, raw_;
    std::vector<uint32_t> pattern_of_[2];  // NFA state -> 1-based pattern
    Names names_;
    std::vector<Part> parts_[2];
    std::array<uint8_t, 256> cls_{};  // byte -> preliminary class
    std::vector<uint8_t> rep_;        // class -> a byte of it
    // Moves of a part's unanchored closure without that closure, sorted, cached (the same for
    // every state of the part): [raw][(part * 2 + prev_word) * classes + class].
    std::vector<std::optional<Step>> start_moves_[2];
    // By NFA state: the classes a Char state moves on.
    std::vector<std::bitset<256>> moves_on_[2];
    // Where a class leads from a state of a part whose partial matches neither move on it nor
    // match before it: the same place from every such state (the part's own starts decide it),
    // so it is worked out once: [raw][(part * 2 + prev_word) * classes + class] -> (state, match).
    std::vector<std::optional<std::pair<int32_t, uint32_t>>> plain_[2];

    // closure()'s marks: a state is seen in this call when its mark equals epoch_.
    mutable std::vector<uint32_t> seen_[2];
    mutable uint32_t epoch_ = 0;

    std::vector<Key> keys_;
    std::unordered_map<Key, int32_t, KeyHash> ids_;
    std::vector<int32_t> next_;    // state * classes + class
    std::vector<uint32_t> match_;  // during construction: the pattern a transition matches
    std::vector<char> quiet_;
    std::vector<uint32_t> sink_;  // the pattern a state is the match of, 0 for the others
};

void Builder::add_patterns() {
    for (size_t i = 0; i < pats_.size(); ++i) {
        auto& p = pats_[i];
        auto id = static_cast<uint32_t>(i + 1);
        Nfa& n = p.raw ? raw_ : norm_;
        // A literal means what it says once decoded, as a request is: "%2e%2e%2f" is "../".
        std::string text = p.text;
        if (!p.regex && !p.raw) {  // as the kernel decodes it, without its end-of-text line break
            text = decode(p.text, p.text.size(), false).text;
            text.pop_back();
        }
        try {
            regex::add_pattern(n, text, id, {p.raw, !p.regex});
        } catch (const InputError& e) {
            throw InputError(p.set + ": " + p.text + ": " + e.what());
        }
        pattern_of_[p.raw].resize(n.states.size(), id);
        for (auto& h : p.scope.named) names_.add(h);
        for (auto& h : p.scope.not_in) names_.add(h);
    }
}

void Builder::make_parts() {
    size_t nparts = 2 + 1 + names_.names.size();  // request line, body, untracked, named
    for (int raw = 0; raw < 2; ++raw) {
        parts_[raw].assign(nparts, Part{});
        const Nfa& n = nfa(raw);
        for (auto& st : n.starts) {
            auto& p = pats_[st.pattern - 1];
            auto add = [&](size_t part) {
                (st.anchored ? parts_[raw][part].anchored : parts_[raw][part].unanchored)
                    .push_back(st.state);
            };
            if (p.scope.uri) add(0);
            if (p.scope.body) add(1);
            if (p.scope.headers) add(2);  // a header no set names
            for (size_t k = 1; k <= names_.names.size(); ++k)
                if (p.scope.sees_header(names_.names[k - 1])) add(2 + k);
        }
        for (auto& part : parts_[raw]) {
            uint32_t m = 0;
            part.closure_u = closure(raw, part.unanchored, -1, -1, &m);
            auto both = part.unanchored;
            both.insert(both.end(), part.anchored.begin(), part.anchored.end());
            part.closure_a = closure(raw, both, -1, -1, &m);
            part.in_closure_u.assign(n.states.size(), 0);
            part.in_closure_a.assign(n.states.size(), 0);
            for (auto s : part.closure_u) part.in_closure_u[static_cast<size_t>(s)] = 1;
            for (auto s : part.closure_a) part.in_closure_a[static_cast<size_t>(s)] = 1;
        }
    }
}

// Bytes that behave alike everywhere share a class: the tracker, every symbol set of both
// components, word-ness.
void Builder::make_classes() {
    std::vector<std::vector<uint8_t>> groups{std::vector<uint8_t>(256)};
    for (int b = 0; b < 256; ++b) groups[0][static_cast<size_t>(b)] = static_cast<uint8_t>(b);
    auto split = [&](auto pred) {
        std::vector<std::vector<uint8_t>> out;
        for (auto& g : groups) {
            std::vector<uint8_t> yes, no;
            for (auto b : g) (pred(b) ? yes : no).push_back(b);
            if (!yes.empty()) out.push_back(std::move(yes));
            if (!no.empty()) out.push_back(std::move(no));
        }
        groups = std::move(out);
    };
    for (uint8_t c : {'\r', '\n', ':', ' ', '\t'}) split([c](uint8_t b) { return b == c; });
    std::vector<uint8_t> name_chars;
    for (auto& n : names_.names) name_chars.insert(name_chars.end(), n.begin(), n.end());
    std::sort(name_chars.begin(), name_chars.end());
    name_chars.erase(std::unique(name_chars.begin(), name_chars.end()), name_chars.end());
    for (uint8_t c : name_chars)
        split([c](uint8_t b) { return (b >= 'A' && b <= 'Z' ? b + 32 : b) == c; });
    for (int raw = 0; raw < 2; ++raw) {
        split([&](uint8_t b) { return regex::is_word(symbol(raw, b)); });
        // In a fixed order (as 256-bit numbers), each distinct set once: patterns share most.
        std::unordered_set<regex::CharSet> distinct;
        for (auto& st : nfa(raw).states)
            if (st.kind == Nfa::Kind::Char) distinct.insert(st.set);
        std::vector<std::pair<std::string, regex::CharSet>> sets;
        for (auto& set : distinct) sets.emplace_back(set.to_string(), set);
        std::sort(sets.begin(), sets.end(), [](auto& a, auto& b) { return a.first < b.first; });
        for (auto& named : sets) {
            const auto& set = named.second;  // clang 14 cannot capture a structured binding
            split([&](uint8_t b) { return set.test(symbol(raw, b)); });
        }
    }
    rep_.clear();
    for (size_t i = 0; i < groups.size(); ++i) {
        rep_.push_back(groups[i][0]);
        for (auto b : groups[i]) cls_[b] = static_cast<uint8_t>(i);
    }
}

// Epsilon closure. assert_prev/next: the word-ness of the symbols around the current
// position, or -1 when not known yet (assertions then stay unresolved, in the set). Match
// states reached set *match to the lowest pattern and are left out of the result.
std::vector<int32_t> Builder::closure(bool raw, std::vector<int32_t> todo, int assert_prev,
                                      int assert_next, uint32_t* match) const {
    const Nfa& n = nfa(raw);
    std::vector<int32_t> out;
    auto& seen = seen_[raw];
    seen.resize(n.states.size(), 0);
    if (++epoch_ == 0) {  // wrapped: forget every old mark
        std::fill(seen_[0].begin(), seen_[0].end(), 0);
        std::fill(seen_[1].begin(), seen_[1].end(), 0);
        epoch_ = 1;
    }
    while (!todo.empty()) {
        int32_t s = todo.back();
        todo.pop_back();
        if (s < 0 || seen[static_cast<size_t>(s)] == epoch_) continue;
        seen[static_cast<size_t>(s)] = epoch_;
        auto& st = n.states[static_cast<size_t>(s)];
        switch (st.kind) {
            case Nfa::Kind::Char:
                out.push_back(s);
                break;
            case Nfa::Kind::Match:
                if (*match == 0 || st.match < *match) *match = st.match;
                break;
            case Nfa::Kind::Split:
                todo.push_back(st.out1);
                todo.push_back(st.out);
                break;
            case Nfa::Kind::Epsilon:
                todo.push_back(st.out);
                break;
            case Nfa::Kind::Boundary:
            case Nfa::Kind::NotBoundary:
                if (assert_prev < 0) {
                    out.push_back(s);
                } else if ((assert_prev != assert_next) == (st.kind == Nfa::Kind::Boundary)) {
                    todo.push_back(st.out);
                }
                break;
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// One symbol through a set: assertions resolved against it, the moves, the new closure.
Builder::Step Builder::move(bool raw, const std::vector<int32_t>& set, bool prev_word,
                            uint8_t sym) const {
    const Nfa& n = nfa(raw);
    Step r;
    int next_word = regex::is_word(sym);
    auto resolved = closure(raw, set, prev_word, next_word, &r.match);
    std::vector<int32_t> moved;
    for (auto s : resolved) {
        auto& st = n.states[static_cast<size_t>(s)];
        if (st.kind == Nfa::Kind::Char && st.set.test(sym)) moved.push_back(st.out);
    }
    r.set = closure(raw, moved, -1, -1, &r.match);
    return r;
}

Builder::Resolved Builder::resolve(bool raw, const std::vector<int32_t>& extra,
                                   bool prev_word) const {
    Resolved r;
    if (extra.empty()) return r;
    // Without assertions in it, the set is closed already (it is a closure's result).
    const Nfa& n = nfa(raw);
    if (std::all_of(extra.begin(), extra.end(), [&](int32_t s) {
            return n.states[static_cast<size_t>(s)].kind == Nfa::Kind::Char;
        })) {
        r.set[0] = r.set[1] = extra;
        return r;
    }
    for (int next_word = 0; next_word < 2; ++next_word)
        r.set[next_word] = closure(raw, extra, prev_word, next_word, &r.match[next_word]);
    return r;
}

// A byte of class `cls` in an active part: the part's starts (cached) and `extra` moved, the
// part's unanchored closure added back for the next position (left out of the key: it is
// there in every state of the part).
Builder::Step Builder::step_part(bool raw, Tracker t, const Resolved& extra, bool prev_word,
                                 uint8_t cls) {
    const Nfa& n = nfa(raw);
    uint8_t sym = symbol(raw, rep_[cls]);
    size_t pi = part_index(t);
    auto& in_u = parts_[raw][pi].in_closure_u;
    auto& start = start_moves_[raw][(pi * 2 + prev_word) * rep_.size() + cls];
    if (!start) {
        Step m = move(raw, parts_[raw][pi].closure_u, prev_word, sym);
        std::erase_if(m.set, [&](int32_t s) { return in_u[static_cast<size_t>(s)] != 0; });
        start = std::move(m);
    }
    Step r;
    r.match = start->match;
    int next_word = regex::is_word(sym);
    if (extra.set[next_word].empty()) {
        if (extra.match[next_word] && (!r.match || extra.match[next_word] < r.match))
            r.match = extra.match[next_word];
        r.set = start->set;
        return r;
    }
    std::vector<int32_t> moved;
    for (auto s : extra.set[next_word]) {
        auto& st = n.states[static_cast<size_t>(s)];
        if (st.kind == Nfa::Kind::Char && st.set.test(sym)) moved.push_back(st.out);
    }
    uint32_t m = extra.match[next_word];
    auto e = closure(raw, moved, -1, -1, &m);
    if (m && (!r.match || m < r.match)) r.match = m;
    std::erase_if(e, [&](int32_t s) { return in_u[static_cast<size_t>(s)] != 0; });
    r.set.reserve(start->set.size() + e.size());
    std::set_union(start->set.begin(), start->set.end(), e.begin(), e.end(),
                   std::back_inserter(r.set));
    return r;
}

bool Builder::quiet(const Key& k) {
    if (!active(k.t)) return true;
    auto& in_a = part(k.raw, k.t).in_closure_a;
    return std::all_of(k.extra.begin(), k.extra.end(),
                       [&](int32_t s) { return in_a[static_cast<size_t>(s)] != 0; });
}

int32_t Builder::intern(Key k) {
    auto it = ids_.find(k);
    if (it != ids_.end()) return it->second;
    auto id = static_cast<int32_t>(keys_.size());
    // Before minimisation; it merges, so allow some slack before giving up.
    if (keys_.size() * rep_.size() > 4 * max_entries_) too_big(keys_.size());
    quiet_.push_back(quiet(k));
    ids_.emplace(k, id);
    keys_.push_back(std::move(k));
    return id;
}

void Builder::too_big(size_t states) {
    // The pattern whose partial matches fill the most states is the one to blame.
    std::vector<size_t> weight(pats_.size() + 1, 0);
    for (auto& k : keys_)
        for (auto s : k.extra) ++weight[pattern_of_[k.raw][static_cast<size_t>(s)]];
    auto worst =
        static_cast<size_t>(std::max_element(weight.begin() + 1, weight.end()) - weight.begin());
    auto& p = pats_[worst - 1];
    std::string alone;
    if (pats_.size() > 1) {
        try {
            auto d = compile_table({p}, max_entries_);
            alone = "; alone it needs " + std::to_string(d.states) + " states";
        } catch (const InputError&) {
            alone = "; it is too big even alone";
        }
    }
    throw TooBig("the patterns need more than the kernel's table holds (" + std::to_string(states) +
                 "+ states x " + std::to_string(rep_.size()) + " byte classes > " +
                 std::to_string(max_entries_) + " entries); the pattern that adds most is " +
                 p.set + ": " + p.text + alone +
                 " (a long gap such as .* or .{0,50} between two parts multiplies states)");
}

// States only reached through a transition that became a match are left out: the match's
// state replaced it. Every pattern keeps its match state.
std::vector<int32_t> Builder::prune(const std::array<int32_t, BW_STARTS>& starts) {
    const size_t n = quiet_.size(), c = rep_.size() + 2;
    std::vector<int32_t> where(n, -1);
    std::vector<size_t> todo;
    auto reach = [&](size_t s) {
        if (where[s] >= 0) return;
        where[s] = 0;
        todo.push_back(s);
    };
    for (auto s : starts) reach(static_cast<size_t>(s));
    for (size_t s = 0; s < n; ++s)
        if (sink_[s]) reach(s);
    while (!todo.empty()) {
        size_t s = todo.back();
        todo.pop_back();
        for (size_t k = 0; k < c; ++k) reach(static_cast<size_t>(next_[s * c + k]));
    }
    int32_t kept = 0;
    for (auto& w : where)
        if (w >= 0) w = kept++;
    if (static_cast<size_t>(kept) == n) return where;
    std::vector<int32_t> nn(static_cast<size_t>(kept) * c);
    for (size_t s = 0; s < n; ++s) {
        if (where[s] < 0) continue;
        auto o = static_cast<size_t>(where[s]);
        for (size_t k = 0; k < c; ++k) nn[o * c + k] = where[static_cast<size_t>(next_[s * c + k])];
        quiet_[o] = quiet_[s];
        sink_[o] = sink_[s];
        if (!keys_.empty() && o != s) keys_[o] = std::move(keys_[s]);
    }
    quiet_.resize(static_cast<size_t>(kept));
    sink_.resize(static_cast<size_t>(kept));
    if (!keys_.empty()) keys_.resize(static_cast<size_t>(kept));
    next_ = std::move(nn);
    match_.assign(next_.size(), 0);
    return where;
}

// Partition refinement: quiescent states, the others, and each pattern's match state apart
// from the start, then by the block every class leads to, until no block splits (Moore's
// rounds). A block keeps its number when it splits (its first part does), so a round need only
// look again at the blocks holding a state from which some class leads to a state that moved:
// the others' rows are what they were when their states were found equal. The product of two
// minimal tables is all but minimal, so after the first rounds only a few blocks are looked at.
std::vector<int32_t> Builder::minimize() {
    size_t n = quiet_.size(), c = rep_.size() + 2;  // the byte classes and the two restarts
    std::vector<uint32_t> block(n);
    for (size_t s = 0; s < n; ++s) block[s] = sink_[s] ? 1 + sink_[s] : quiet_[s] ? 0 : 1;
    uint32_t fresh = 2 + static_cast<uint32_t>(pats_.size());  // the next unused number
    // Which states lead to each state, by any class (compressed rows).
    std::vector<uint32_t> into(n + 1, 0), from(n * c);
    for (int32_t t : next_) ++into[static_cast<size_t>(t) + 1];
    for (size_t s = 0; s < n; ++s) into[s + 1] += into[s];
    {
        std::vector<uint32_t> at(into.begin(), into.end() - 1);
        for (size_t s = 0; s < n; ++s)
            for (size_t k = 0; k < c; ++k)
                from[at[static_cast<size_t>(next_[s * c + k])]++] = static_cast<uint32_t>(s);
    }
    constexpr uint32_t kNone = UINT32_MAX;
    // Open addressing, at most half full: (block, row) hash -> the first state with that row.
    size_t slots = 2;
    while (slots < 2 * n) slots *= 2;
    std::vector<uint32_t> first(slots, kNone);
    std::vector<size_t> used;  // the slots a round filled, emptied after it
    std::vector<uint64_t> hash(n);
    std::vector<char> dirty(fresh, 1);  // by block number: look again
    std::vector<uint32_t> old;
    std::vector<uint32_t> moved;
    std::vector<char> kept;  // by old block number: a part of it has kept the number
    for (;;) {
        old = block;
        moved.clear();
        kept.assign(dirty.size(), 0);
        // Equal rows over the numbers of the round before.
        auto same = [&](size_t s, size_t t) {
            const int32_t *x = &next_[s * c], *y = &next_[t * c];
            for (size_t k = 0; k < c; ++k)
                if (old[static_cast<size_t>(x[k])] != old[static_cast<size_t>(y[k])]) return false;
            return true;
        };
        for (size_t s = 0; s < n; ++s) {
            if (!dirty[old[s]]) continue;
            const int32_t* row = &next_[s * c];
            // Four chains of multiplications, not one: each waits on its own last product.
            uint64_t g[4] = {1469598103934665603ull ^ old[s], 1, 2, 3};
            size_t col = 0;
            for (; col + 4 <= c; col += 4)
                for (size_t j = 0; j < 4; ++j)
                    g[j] = (g[j] ^ old[static_cast<size_t>(row[col + j])]) * 1099511628211ull;
            for (; col < c; ++col)
                g[0] = (g[0] ^ old[static_cast<size_t>(row[col])]) * 1099511628211ull;
            const uint64_t h = ((g[0] * 31 + g[1]) * 31 + g[2]) * 31 + g[3];
            hash[s] = h;
            size_t i = (h ^ h >> 29) & (slots - 1);
            uint32_t cand;
            while ((cand = first[i]) != kNone &&
                   (hash[cand] != h || old[cand] != old[s] || !same(cand, s)))
                i = (i + 1) & (slots - 1);
            if (cand != kNone) {
                block[s] = block[cand];
            } else {
                first[i] = static_cast<uint32_t>(s);
                used.push_back(i);
                if (!kept[old[s]]) {
                    kept[old[s]] = 1;
                } else {
                    block[s] = fresh++;
                    dirty.resize(fresh, 0);
                }
            }
            if (block[s] != old[s]) moved.push_back(static_cast<uint32_t>(s));
        }
        for (size_t i : used) first[i] = kNone;
        used.clear();
        if (moved.empty()) break;
        std::fill(dirty.begin(), dirty.end(), 0);
        for (uint32_t t : moved)
            for (uint32_t i = into[t]; i < into[t + 1]; ++i) dirty[block[from[i]]] = 1;
    }
    // Dense block numbers, in the order of their first state.
    std::vector<uint32_t> dense(fresh, kNone);
    size_t blocks = 0;
    for (size_t s = 0; s < n; ++s) {
        uint32_t& d = dense[block[s]];
        if (d == kNone) d = static_cast<uint32_t>(blocks++);
        block[s] = d;
    }
    // Rebuild over blocks: quiescent ones first, the match states last in pattern order.
    std::vector<int32_t> order(blocks, -1);
    std::vector<int32_t> rep(blocks, -1);
    uint32_t id = 0;
    auto place = [&](size_t s) {
        if (rep[block[s]] >= 0) return;
        rep[block[s]] = static_cast<int32_t>(s);
        order[block[s]] = static_cast<int32_t>(id++);
    };
    for (size_t s = 0; s < n; ++s)
        if (quiet_[s]) place(s);
    for (size_t s = 0; s < n; ++s)
        if (!quiet_[s] && !sink_[s]) place(s);
    for (size_t s = 0; s < n; ++s)
        if (sink_[s]) place(s);  // build() appends them in pattern order
    std::vector<int32_t> nn(blocks * c);
    std::vector<char> nq(blocks);
    std::vector<uint32_t> ns(blocks);
    std::vector<Key> nk(keys_.empty() ? 0 : blocks);
    for (size_t b = 0; b < blocks; ++b) {
        auto s = static_cast<size_t>(rep[b]);
        auto o = static_cast<size_t>(order[b]);
        for (size_t k = 0; k < c; ++k)
            nn[o * c + k] = order[block[static_cast<size_t>(next_[s * c + k])]];
        nq[o] = quiet_[s];
        ns[o] = sink_[s];
        if (!keys_.empty()) nk[o] = keys_[s];
    }
    std::vector<int32_t> where(n);
    for (size_t s = 0; s < n; ++s) where[s] = order[block[s]];
    next_ = std::move(nn);
    match_.assign(next_.size(), 0);
    quiet_ = std::move(nq);
    sink_ = std::move(ns);
    if (!keys_.empty()) keys_ = std::move(nk);
    return where;
}

Dfa Builder::build() {
    add_patterns();
    make_parts();
    make_classes();
    for (int raw = 0; raw < 2; ++raw) {
        start_moves_[raw].resize(parts_[raw].size() * 2 * rep_.size());
        plain_[raw].resize(parts_[raw].size() * 2 * rep_.size());
        const Nfa& n = nfa(raw);
        moves_on_[raw].assign(n.states.size(), {});
        for (size_t x = 0; x < n.states.size(); ++x)
            if (n.states[x].kind == Nfa::Kind::Char)
                for (size_t k = 0; k < rep_.size(); ++k)
                    moves_on_[raw][x][k] = n.states[x].set.test(symbol(raw, rep_[k]));
    }
    // The byte classes, then two virtual ones no byte has: restarts of the current part with
    // nothing in progress, after a non-word and a word symbol (bw_dfa.mid).
    const size_t real = rep_.size(), c = real + 2;

    // The entry points, in both components.
    std::array<int32_t, BW_STARTS> starts[2];
    bool components[2] = {!norm_.starts.empty(), !raw_.starts.empty()};
    for (int raw = 0; raw < 2; ++raw) {
        if (!components[raw]) continue;
        auto anchored_extra = [&](size_t pi) {
            std::vector<int32_t> e;
            for (auto s : parts_[raw][pi].closure_a)
                if (!parts_[raw][pi].in_closure_u[static_cast<size_t>(s)]) e.push_back(s);
            return e;
        };
        auto r = static_cast<uint8_t>(raw);
        starts[raw][BW_START_REQUEST] = intern({{kRequestLine, 0}, r, 0, anchored_extra(0)});
        starts[raw][BW_START_LINE] = intern({{kLineStart, 0}, r, 0, {}});
        starts[raw][BW_START_BODY] = intern({{kBody, 0}, r, 0, anchored_extra(1)});
        starts[raw][BW_START_MID] = intern({{kBody, 0}, r, 0, {}});
        starts[raw][BW_START_MID_WORD] = intern({{kBody, 0}, r, 1, {}});
    }

    for (size_t s = 0; s < keys_.size(); ++s) {
        next_.resize(keys_.size() * c);
        match_.resize(keys_.size() * c);
        const Key from = keys_[s];  // a copy: intern() may grow keys_
        const bool raw = from.raw;
        const Resolved resolved =
            active(from.t) ? resolve(raw, from.extra, from.prev_word) : Resolved{};
        std::bitset<256> moving[2];
        for (int nw = 0; nw < 2; ++nw)
            for (auto x : resolved.set[nw]) moving[nw] |= moves_on_[raw][static_cast<size_t>(x)];
        for (size_t k = 0; k < c; ++k) {
            if (k >= real) {
                Key to = from;
                to.extra.clear();
                to.prev_word = static_cast<uint8_t>(k - real);
                if (from.t.mode == kOws)
                    to.t.mode = kValue;  // after a header's ':'
                else if (!active(from.t))
                    to = from;  // not used: stay
                int32_t id = intern(std::move(to));
                next_.resize(keys_.size() * c);
                match_.resize(keys_.size() * c);
                next_[s * c + k] = id;
                match_[s * c + k] = 0;
                continue;
            }
            uint8_t b = rep_[k];
            std::optional<std::pair<int32_t, uint32_t>>* plain = nullptr;
            if (active(from.t)) {
                int nw = regex::is_word(symbol(raw, b));
                if (!resolved.match[nw] && !moving[nw][k]) {
                    plain = &plain_[raw][(part_index(from.t) * 2 + from.prev_word) * real + k];
                    if (*plain) {
                        next_[s * c + k] = (*plain)->first;
                        match_[s * c + k] = (*plain)->second;
                        continue;
                    }
                }
            }
            Tracker t2 = track(names_, from.t, b);
            Key to{t2, from.raw, 0, {}};
            uint32_t m = 0;
            if (active(from.t)) {
                // The byte belongs to the current part, also when it ends it (a line's '\n'
                // resolves a trailing \b or completes a pattern ending in a space).
                Step st = step_part(raw, from.t, resolved, from.prev_word, static_cast<uint8_t>(k));
                m = st.match;
                if (t2 == from.t) {
                    to.extra = std::move(st.set);
                    to.prev_word = regex::is_word(symbol(raw, b));
                }
            } else if (t2.mode == kValue) {
                // The value's first byte: from the part's closure with its anchored starts.
                auto& p = part(raw, t2);
                std::vector<int32_t> extra;
                for (auto s2 : p.closure_a)
                    if (!p.in_closure_u[static_cast<size_t>(s2)]) extra.push_back(s2);
                Step st =
                    step_part(raw, t2, resolve(raw, extra, false), false, static_cast<uint8_t>(k));
                m = st.match;
                to.extra = std::move(st.set);
                to.prev_word = regex::is_word(symbol(raw, b));
            } else if (t2.mode == kBody) {
                auto& p = part(raw, t2);
                for (auto s2 : p.closure_a)
                    if (!p.in_closure_u[static_cast<size_t>(s2)]) to.extra.push_back(s2);
            }
            int32_t id = intern(std::move(to));
            next_.resize(keys_.size() * c);
            match_.resize(keys_.size() * c);
            next_[s * c + k] = id;
            match_[s * c + k] = m;
            if (plain) *plain = std::pair{id, m};
        }
    }
    // Matches become states: a transition that completes pattern m goes to m's match state,
    // which stays put on every class. The kernel then finds a match by the state a stream is
    // in, without a test per step.
    size_t base = keys_.size();
    for (size_t m = 1; m <= pats_.size(); ++m) {
        keys_.push_back(Key{{kSink, static_cast<uint16_t>(m)}, 0, 0, {}});
        quiet_.push_back(0);
    }
    sink_.assign(keys_.size(), 0);
    next_.resize(keys_.size() * c);
    match_.resize(keys_.size() * c);
    for (size_t m = 1; m <= pats_.size(); ++m) {
        size_t sink = base + m - 1;
        sink_[sink] = static_cast<uint32_t>(m);
        for (size_t k = 0; k < c; ++k) next_[sink * c + k] = static_cast<int32_t>(sink);
    }
    for (size_t s = 0; s < base; ++s)
        for (size_t k = 0; k < c; ++k)
            if (uint32_t m = match_[s * c + k]) {
                next_[s * c + k] = static_cast<int32_t>(base + m - 1);
                match_[s * c + k] = 0;
            }
    int raw = components[1] ? 1 : 0;
    return layout(starts[raw], raw);
}

Dfa Builder::layout(const std::array<int32_t, BW_STARTS>& starts, bool raw) {
    const size_t real = rep_.size(), c = real + 2;
    auto reached = prune(starts);
    auto merged = minimize();
    std::vector<int32_t> where(reached.size());
    for (size_t s = 0; s < where.size(); ++s)
        where[s] = reached[s] < 0 ? -1 : merged[static_cast<size_t>(reached[s])];

    // Byte classes that behave alike in every state after minimisation share a column.
    size_t n = quiet_.size();
    std::vector<int> column_of(c, -1);
    std::vector<size_t> columns, hashes;
    for (size_t k = 0; k < real; ++k) {
        size_t h = 0;
        for (size_t s = 0; s < n; ++s)
            h = h * 1000003u ^ (static_cast<size_t>(next_[s * c + k]) << 12 ^ match_[s * c + k]);
        for (size_t j = 0; j < columns.size(); ++j) {
            size_t o = columns[j];
            if (hashes[j] != h) continue;
            bool same = true;
            for (size_t s = 0; s < n && same; ++s)
                same =
                    next_[s * c + k] == next_[s * c + o] && match_[s * c + k] == match_[s * c + o];
            if (same) {
                column_of[k] = static_cast<int>(j);
                break;
            }
        }
        if (column_of[k] < 0) {
            column_of[k] = static_cast<int>(columns.size());
            columns.push_back(k);
            hashes.push_back(h);
        }
    }
    size_t cols = columns.size();
    auto fail = [&] { keys_.empty() ? too_big_union(n) : too_big(n); };
    if (n * cols > max_entries_) fail();
    if (pats_.size() >= (1u << 12)) throw InputError("more than 4095 patterns");

    // Three more columns: the class of a position past the end, whose entries stay where they
    // are (the kernel's branch-free lockstep reads it for a stream that has run out), and the
    // two restarts.
    // In the kernel's units: states and classes as byte offsets (bw_dfa), the rows after the
    // table's class map (BW_DFA_HEAD).
    if (BW_DFA_HEAD / 4 + n * (cols + 3) > max_entries_ || cols + 3 > BW_DFA_MAX_CLASSES) fail();
    Dfa d;
    d.classes = static_cast<uint32_t>(cols + 3);
    const uint32_t row = d.classes * 4;
    auto at = [&](size_t s) { return static_cast<uint32_t>(BW_DFA_HEAD + s * row); };
    d.pad = static_cast<uint32_t>(cols) * 4;
    d.mid = static_cast<uint32_t>(cols + 1) * 4;
    d.states = static_cast<uint32_t>(n);
    d.quiet = at(static_cast<size_t>(std::count(quiet_.begin(), quiet_.end(), 1)));
    d.accept = at(n - pats_.size());
    for (int b = 0; b < 256; ++b)
        d.byte_class[static_cast<size_t>(b)] =
            static_cast<uint16_t>(column_of[cls_[static_cast<size_t>(b)]] * 4);
    // The decoder never lets a payload byte be BW_PAD_BYTE: it pads the text's end.
    d.byte_class[BW_PAD_BYTE] = static_cast<uint16_t>(d.pad);
    d.table.resize(BW_DFA_HEAD / 4 + n * d.classes);
    std::memcpy(d.table.data(), d.byte_class.data(), sizeof d.byte_class);
    set_classes(d, d, 0, BW_DFA_TABLES);
    for (size_t s = 0; s < n; ++s) {
        uint32_t* r = &d.table[BW_DFA_HEAD / 4 + s * d.classes];
        for (size_t j = 0; j < cols; ++j) r[j] = at(next_[s * c + columns[j]]);
        r[cols] = at(s);
        for (size_t v = 0; v < 2; ++v) r[cols + 1 + v] = at(next_[s * c + real + v]);
    }
    for (size_t i = 0; i < BW_STARTS; ++i) d.start[i] = at(where[static_cast<size_t>(starts[i])]);
    d.raw = raw;
    d.patterns = pats_.size();
    return d;
}

void Builder::too_big_union(size_t states) {
    throw TooBig("the patterns need more than the kernel's table holds (" + std::to_string(states) +
                 "+ states x " + std::to_string(rep_.size()) + " byte classes > " +
                 std::to_string(max_entries_) + " entries)");
}

// Each state of the union is a pair of states of a and b, and moves as both do: the union's
// byte classes are the pairs of theirs. A match of either is the union's (a's first when both
// complete one on the same byte, as build() picks the lowest pattern), and a state is quiescent
// when both are. Only the pairs reached are states; minimize() then merges the equivalent ones,
// so the result is build()'s automaton for the same patterns (numbered otherwise).
Dfa Builder::build_union(const Dfa& a, const Dfa& b, bool count_only) {
    struct Side {
        const Dfa& d;
        // An entry is an exact multiple of the row: divided by a shift and a multiplication
        // by the inverse of the row's odd factor (mod 2^32), not by a division per step.
        uint32_t shift, inverse, quiet = 0, accept = 0;
        explicit Side(const Dfa& t)
            : d(t), shift(static_cast<uint32_t>(std::countr_zero(t.classes))), inverse(1) {
            uint32_t odd = t.classes >> shift;
            inverse = odd;  // Newton's iteration, each doubles the correct low bits
            for (int i = 0; i < 5; ++i) inverse *= 2 - odd * inverse;
            quiet = index(t.quiet);
            accept = index(t.accept);
        }
        uint32_t index(uint32_t at) const { return ((at - BW_DFA_HEAD) >> 2 >> shift) * inverse; }
        uint32_t next(uint32_t s, uint32_t col) const {
            return index(d.table[BW_DFA_HEAD / 4 + size_t{s} * d.classes + col]);
        }
    };
    const Side sa(a), sb(b);
    // The union's classes: one per pair of columns some byte has (the pad byte is not a
    // payload byte), then the two restarts.
    std::vector<std::pair<uint32_t, uint32_t>> cols;
    std::vector<int> joint(size_t{a.classes} * b.classes, -1);
    rep_.clear();
    for (int v = 0; v < 256; ++v) {
        auto byte = static_cast<size_t>(v);
        if (byte == BW_PAD_BYTE) continue;
        uint32_t ka = a.byte_class[byte] / 4, kb = b.byte_class[byte] / 4;
        int& j = joint[size_t{ka} * b.classes + kb];
        if (j < 0) {
            if (cols.size() + 2 > BW_DFA_MAX_CLASSES) too_big_union(0);
            j = static_cast<int>(cols.size());
            cols.emplace_back(ka, kb);
            rep_.push_back(static_cast<uint8_t>(byte));
        }
        cls_[byte] = static_cast<uint8_t>(j);
    }
    cls_[BW_PAD_BYTE] = 0;  // layout() gives it the pad column
    const size_t real = cols.size(), c = real + 2;
    for (uint32_t v = 0; v < 2; ++v) cols.emplace_back(a.mid / 4 + v, b.mid / 4 + v);

    // Pairs a match ends in are the match's sink, numbered after the others (-1 - pattern
    // index until then).
    const auto pa = static_cast<uint32_t>(a.patterns);
    // The product is all but minimal already (minimisation merged at most 8% of the pairs in
    // the shipped policies' unions), so a quarter more pairs than the table holds is past
    // hope; a count is wanted only for unions that fit. Open addressing, at most half full.
    const size_t most = (count_only ? 4 : 5) * (max_entries_ / (real + 3)) / 4 + 1;
    size_t slots = 2;
    while (slots < 2 * most) slots *= 2;
    // Fibonacci hashing: the product's top bits, where both halves of the key have mixed in
    // (its bits 20-31, the slot before, saw only the low half: pairs of one b state clustered,
    // and the probes ran long).
    const int shift = 64 - std::countr_zero(slots);
    constexpr uint64_t kFree = UINT64_MAX;
    std::vector<uint64_t> keys(slots, kFree);
    std::vector<int32_t> ids(slots);
    std::vector<std::pair<uint32_t, uint32_t>> pairs;
    auto intern = [&](uint32_t x, uint32_t y) -> int32_t {
        if (x >= sa.accept) return -1 - static_cast<int32_t>(x - sa.accept);
        if (y >= sb.accept) return -1 - static_cast<int32_t>(pa + y - sb.accept);
        const uint64_t key = uint64_t{x} << 32 | y;
        size_t i = (key * 0x9e3779b97f4a7c15ull) >> shift;
        while (keys[i] != key) {
            if (keys[i] == kFree) {
                if (pairs.size() >= most) too_big_union(pairs.size());
                keys[i] = key;
                ids[i] = static_cast<int32_t>(pairs.size());
                pairs.emplace_back(x, y);
                quiet_.push_back(x < sa.quiet && y < sb.quiet);
                break;
            }
            i = (i + 1) & (slots - 1);
        }
        return ids[i];
    };
    std::array<int32_t, BW_STARTS> starts{};
    for (size_t i = 0; i < BW_STARTS; ++i)
        starts[i] = intern(sa.index(a.start[i]), sb.index(b.start[i]));
    for (size_t s = 0; s < pairs.size(); ++s) {
        next_.resize((s + 1) * c);
        const auto [x, y] = pairs[s];
        for (size_t k = 0; k < c; ++k)
            next_[s * c + k] = intern(sa.next(x, cols[k].first), sb.next(y, cols[k].second));
    }
    const size_t base = pairs.size();
    const size_t n = base + pats_.size();
    next_.resize(n * c);
    quiet_.resize(n, 0);
    sink_.assign(n, 0);
    for (size_t m = 0; m < pats_.size(); ++m) {
        sink_[base + m] = static_cast<uint32_t>(m + 1);
        for (size_t k = 0; k < c; ++k) next_[(base + m) * c + k] = static_cast<int32_t>(base + m);
    }
    for (auto& t : next_)
        if (t < 0) t = static_cast<int32_t>(base) - 1 - t;
    for (auto& t : starts)
        if (t < 0) t = static_cast<int32_t>(base) - 1 - t;
    if (count_only) {
        Dfa d;
        d.states = static_cast<uint32_t>(n);
        d.classes = static_cast<uint32_t>(real + 3);
        return d;
    }
    match_.assign(n * c, 0);
    return layout(starts, a.raw);
}

}  // namespace

Dfa compile_table(const std::vector<Pattern>& patterns, size_t max_entries) {
    if (patterns.empty()) return {};
    for (auto& p : patterns)
        if (p.raw != patterns[0].raw)
            throw std::logic_error("compile_table: raw and decoded mixed");
    return Builder(patterns, max_entries).build();
}

size_t Automaton::states() const {
    size_t n = 0;
    for (auto& t : tables) n += t.states;
    return n;
}

namespace {

// A set's patterns (its decoded or its raw ones) and their table alone.
struct Group {
    std::vector<Pattern> pats;
    Dfa dfa;
};
// A table of whole sets.
struct Bin {
    std::vector<Pattern> pats;
    std::vector<std::string> sets;
    Dfa dfa;
};

// Nodes pack() visits, at most: milliseconds.
constexpr size_t kPackNodes = 2'000'000;
// Packings pack() builds, at most, when the model proves wrong about one. The model misjudges
// tables of many sets (their pairs' extra states do not add up), and a build that fails costs
// a fraction of a second: with 6, web.json without `protocol` and web-strict.json without
// `java` or `scanners` were refused, though they pack (found at the 7th to 20th build).
constexpr size_t kPackBuilds = 32;
// How far past a table's size the model may put a table before pack() gives up: up to ten steps
// of 0.05 (1.5 times a table). A step costs one search and one of kPackBuilds, but no build.
constexpr size_t kPackSlackSteps = 10;

// For sets that first fit cannot get into max_tables. A model of a table's size: the states of
// each set alone plus, for each pair of its sets, the states their union needs beyond those
// (measured: the pair's product, before minimisation). Partial matches multiply pairwise: two
// sets of 294 and 7,265 states need 11,699 together. Searched exhaustively (up to kPackNodes),
// the packing whose fullest table the model finds least full is built for real (`join`); a
// table that does not fit after all rules out that combination of sets, and the search runs
// again. No tables when none is found.
std::vector<Bin> pack(const std::vector<Group>& groups, const std::vector<size_t>& order,
                      size_t max_entries, size_t max_tables,
                      const std::function<bool(Bin&, const Group&)>& join) {
    const size_t n = groups.size();
    std::vector<long> extra(n * n, 0);
    std::vector<uint32_t> classes(n * n, 0);
    std::vector<char> apart(n * n, 0);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j) {
            char& no = apart[i * n + j];
            if (groups[i].pats[0].raw != groups[j].pats[0].raw) {
                no = 1;
            } else {
                auto pats = groups[i].pats;
                pats.insert(pats.end(), groups[j].pats.begin(), groups[j].pats.end());
                try {
                    auto u =
                        Builder(pats, max_entries).build_union(groups[i].dfa, groups[j].dfa, true);
                    extra[i * n + j] =
                        static_cast<long>(u.states) -
                        static_cast<long>(groups[i].dfa.states + groups[j].dfa.states);
                    classes[i * n + j] = u.classes;
                } catch (const TooBig&) {
                    no = 1;
                }
            }
            apart[j * n + i] = no;
            extra[j * n + i] = extra[i * n + j];
            classes[j * n + i] = classes[i * n + j];
        }
    // The model can overestimate a table of many sets (its pairs' extra states overlap) until
    // it finds no packing at all, so it is then given slack, step by step, and the builds
    // decide: web.json less `splitting` was refused though the whole policy packs.
    size_t slack_steps = 0;
    auto fill = [&](long states, uint32_t cls) {
        double slack = 1.0 + 0.05 * static_cast<double>(slack_steps);
        return static_cast<double>(BW_DFA_HEAD / 4 + static_cast<size_t>(states) * cls) /
               (static_cast<double>(max_entries) * slack);
    };
    struct Est {
        std::vector<size_t> members;
        long states;
        uint32_t classes;
    };
    std::vector<std::vector<size_t>> ruled_out;  // sets that do not fit in one table together
    for (size_t build = 0; build < kPackBuilds; ++build) {
        // The fewest tables, then the least full fullest one: tables + fill (fill < 1).
        std::vector<Est> cur, best;
        cur.reserve(max_tables);  // never reallocated: the search holds references into it
        double best_score = static_cast<double>(max_tables) + 1.0;
        size_t nodes = 0;
        std::function<void(size_t, double)> search = [&](size_t i, double most) {
            if (++nodes > kPackNodes || static_cast<double>(cur.size()) + most >= best_score)
                return;
            if (i == n) {
                best = cur;
                best_score = static_cast<double>(cur.size()) + most;
                return;
            }
            const size_t g = order[i];
            for (auto& e : cur) {
                long st = e.states + static_cast<long>(groups[g].dfa.states);
                uint32_t cls = std::max(e.classes, groups[g].dfa.classes);
                bool ok = true;
                for (size_t h : e.members) {
                    ok = ok && !apart[g * n + h];
                    st += extra[g * n + h];
                    cls = std::max(cls, classes[g * n + h]);
                }
                double f = fill(st, cls);
                if (!ok || f >= 1.0) continue;
                e.members.push_back(g);
                bool ruled = std::any_of(ruled_out.begin(), ruled_out.end(), [&](auto& r) {
                    return std::all_of(r.begin(), r.end(), [&](size_t x) {
                        return std::find(e.members.begin(), e.members.end(), x) != e.members.end();
                    });
                });
                if (!ruled) {
                    std::swap(e.states, st);
                    std::swap(e.classes, cls);
                    search(i + 1, std::max(most, f));
                    std::swap(e.states, st);
                    std::swap(e.classes, cls);
                }
                e.members.pop_back();
            }
            const Dfa& own = groups[g].dfa;
            if (cur.size() < max_tables && fill(own.states, own.classes) < 1.0) {
                cur.push_back({{g}, static_cast<long>(own.states), own.classes});
                search(i + 1, std::max(most, fill(cur.back().states, cur.back().classes)));
                cur.pop_back();
            }
        };
        search(0, 0.0);
        if (best.empty()) {
            if (slack_steps == kPackSlackSteps) return {};
            ++slack_steps;
            continue;
        }
        std::vector<Bin> bins;
        for (auto& e : best) {
            const Group& first = groups[e.members[0]];
            Bin b{first.pats, {first.pats[0].set}, first.dfa};
            for (size_t m = 1; m < e.members.size(); ++m) {
                if (join(b, groups[e.members[m]])) continue;
                ruled_out.emplace_back(e.members.begin(),
                                       e.members.begin() + static_cast<long>(m + 1));
                break;
            }
            if (b.sets.size() < e.members.size()) break;
            bins.push_back(std::move(b));
        }
        if (bins.size() == best.size()) return bins;
    }
    return {};
}

}  // namespace

Automaton compile(const std::vector<Pattern>& patterns, size_t max_entries, size_t max_tables) {
    // As Builder clamps it, so that packing's estimates and model use the budget tables get.
    max_entries = std::min<size_t>(max_entries, BW_DFA_USABLE);
    // Whole sets, in the policy's order; raw and decoded patterns of a set apart.
    std::vector<Group> groups;
    for (auto& p : patterns) {
        auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) {
            return x.pats[0].set == p.set && x.pats[0].raw == p.raw;
        });
        if (g == groups.end())
            groups.push_back({{p}, {}});
        else
            g->pats.push_back(p);
    }
    for (auto& g : groups) {
        g.dfa = compile_table(g.pats, max_entries);  // throws naming its worst pattern
    }
    // First fit, biggest first: each set into the first table it fits in with the others, or a
    // new one. A union is the product of the tables built so far (build_union): milliseconds,
    // where a build from the patterns took seconds.
    std::vector<size_t> order(groups.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        auto size = [&](size_t i) { return size_t{groups[i].dfa.states} * groups[i].dfa.classes; };
        return size(a) > size(b);
    });
    std::vector<Bin> bins;
    auto join = [&](Bin& b, const Group& g) {
        auto pats = b.pats;
        pats.insert(pats.end(), g.pats.begin(), g.pats.end());
        try {
            b.dfa = Builder(pats, max_entries).build_union(b.dfa, g.dfa);
        } catch (const TooBig&) {
            return false;
        }
        b.pats = std::move(pats);
        b.sets.push_back(g.pats[0].set);
        return true;
    };
    auto try_add = [&](Bin& b, const Group& g, bool estimate) {
        if (b.pats[0].raw != g.pats[0].raw) return false;
        // Together they need more than the sum of what each needs alone (their partial
        // matches overlap; 1.5x or more for most shipped sets): a union that looks too big is
        // only tried when the only other choice is a table too many.
        size_t states = size_t{b.dfa.states} + g.dfa.states;
        size_t row = std::max(b.dfa.classes, g.dfa.classes);
        if (estimate && states * row * 3 > max_entries * 2) return false;
        if (states * row > max_entries) return false;
        return join(b, g);
    };
    for (size_t i : order) {
        auto& g = groups[i];
        bool placed =
            std::any_of(bins.begin(), bins.end(), [&](Bin& b) { return try_add(b, g, true); });
        if (!placed && bins.size() >= max_tables)
            placed =
                std::any_of(bins.begin(), bins.end(), [&](Bin& b) { return try_add(b, g, false); });
        if (!placed) bins.push_back({g.pats, {g.pats[0].set}, g.dfa});
    }
    if (bins.size() > max_tables) {
        std::string first_fit;
        for (size_t i = 0; i < bins.size(); ++i) {
            first_fit += (i ? "; table " : "table ") + std::to_string(i + 1) + ":";
            for (auto& s : bins[i].sets) first_fit += " " + s;
        }
        bins = pack(groups, order, max_entries, max_tables, join);
        if (bins.empty())
            throw InputError("the patterns need more tables than the kernel scans (" +
                             std::to_string(max_tables) + "; first fit: " + first_fit +
                             "; no other packing found either): drop or narrow sets");
    }
    Automaton a;
    for (auto& b : bins) {
        b.dfa.first = static_cast<uint32_t>(a.patterns.size());
        a.patterns.insert(a.patterns.end(), b.pats.begin(), b.pats.end());
        a.tables.push_back(std::move(b.dfa));
    }
    // The lanes' class map in table 0 (BW_DFA_LANES_MAP): column k is table k's; those past the
    // tables stay table 0's, as the lanes past them run table 0.
    for (size_t k = 1; k < a.tables.size(); ++k) set_classes(a.tables[0], a.tables[k], k, k + 1);
    return a;
}

namespace {

struct Buf {
    bw_scan_buf b{};
    bw_decoder& d = b.d;
};

}  // namespace

bool is_http_request(std::string_view payload, size_t scan_bytes) {
    // inspect()'s load: at least a rule's length, at most BW_MAX_SCAN_BYTES.
    size_t n = std::min(
        {payload.size(), std::max(scan_bytes, size_t{BW_MAX_RULE_LEN}), size_t{BW_MAX_SCAN_BYTES}});
    Buf s;
    std::copy_n(payload.begin(), n, s.b.raw);
    return bw_is_request(&s.b, static_cast<uint32_t>(n)) != 0;
}

std::string_view after_blank_lines(std::string_view payload, size_t scan_bytes) {
    // The kernel's first-byte test (load_request): most payloads take no copy.
    if (payload.empty() || (payload[0] != '\r' && payload[0] != '\n')) return payload;
    // Word by word over a zeroed buffer, as the kernel's blank_cb reads sb->raw.
    size_t n = std::min(payload.size(), size_t{BW_MAX_SCAN_BYTES}), pos = 0;
    std::vector<uint8_t> raw(n + 8, 0);
    std::copy_n(payload.begin(), n, raw.begin());
    for (uint32_t k = 8; k == 8 && pos < n; pos += k) k = bw_blank_lead(BW_LOAD64(&raw[pos]));
    if (pos < n && is_http_request(payload.substr(pos), scan_bytes)) return payload.substr(pos);
    return payload;
}

std::vector<size_t> request_starts(std::string_view payload) {
    std::vector<size_t> starts;
    size_t at = payload.size() - after_blank_lines(payload, BW_MAX_SCAN_BYTES).size();
    if (!is_http_request(payload.substr(at))) return starts;
    starts.push_back(at);
    // next_request(): the request at `at` loaded (up to BW_MAX_SCAN_BYTES) and framed; the
    // next one read from its end, past empty lines, from the 64 bytes a rule reads.
    // One scratch buffer for all, as the kernel's (a load leaves the bytes past it as they were).
    auto s = std::make_unique<Buf>();
    while (starts.size() < BW_MAX_PIPELINED) {
        auto rest = payload.substr(at);
        uint32_t n = static_cast<uint32_t>(std::min(rest.size(), size_t{BW_MAX_SCAN_BYTES}));
        std::copy_n(rest.begin(), n, s->b.raw);
        if (bw_frame_request(&s->b, n) != BW_FRAME_END || s->b.fr.end >= rest.size()) break;
        auto next = after_blank_lines(rest.substr(s->b.fr.end), BW_MAX_RULE_LEN);
        if (!is_http_request(next, BW_MAX_RULE_LEN)) break;
        at = payload.size() - next.size();
        starts.push_back(at);
    }
    return starts;
}

namespace {

void run_decoder(Buf& s, std::string_view payload, size_t scan_bytes, bool http) {
    size_t n = std::min({payload.size(), scan_bytes, size_t{BW_MAX_SCAN_BYTES}});
    std::copy_n(payload.begin(), n, s.b.raw);
    s.d.len = static_cast<uint32_t>(n);
    s.d.in_headers = http;
    while (bw_decode_step(&s.b, &s.d)) {
    }
    bw_decode_finish(&s.b, &s.d);
}

// The kernel's cut of a binary body (inspect_patterns): false when nothing is left to scan.
bool cut_binary_body(Buf& s) {
    uint32_t len = s.d.len, from = s.b.raw_hdr_end, ctl = 0;
    if (len < from + BW_BINARY_MIN) return true;
    for (uint32_t pos = from; pos + 8 <= len; pos += 8)
        ctl += bw_ctl_bytes(BW_LOAD64(&s.b.raw[pos]));
    return bw_cut_binary_body(&s.b, len, ctl) != 0;
}

// The pattern a match state stands for, 1-based among the automaton's (the kernel's pattern_of).
uint32_t pattern_of(const Dfa& dfa, uint32_t state) {
    return dfa.first + (state - dfa.accept) / (dfa.classes * 4) + 1;
}

// The kernel's scan() over buf[0, n) in the streams of `plan`, batch for batch.
uint32_t run_streams(const Dfa& dfa, const uint8_t* buf, uint32_t n, const bw_plan& plan) {
    uint32_t s[BW_SCAN_STREAMS];
    for (int k = 0; k < BW_SCAN_STREAMS; ++k) s[k] = plan.state[k];
    auto step = [&](uint32_t st, uint32_t pos) {
        uint32_t c = pos < n ? BW_DFA_CLASS(dfa.table.data(), buf[pos]) : dfa.pad;
        return dfa.table[(st + c) / 4];
    };
    auto pattern = [&](uint32_t st) { return pattern_of(dfa, st); };
    for (uint32_t b = 0; b < plan.steps; b += BW_SCAN_BATCH) {
        for (uint32_t j = 0; j < BW_SCAN_BATCH; ++j)
            for (int k = 0; k < BW_SCAN_STREAMS; ++k) s[k] = step(s[k], plan.start[k] + b + j);
        for (int k = 0; k < BW_SCAN_STREAMS; ++k)
            if (s[k] >= dfa.accept) return pattern(s[k]);
    }
    for (int k = 0; k < BW_SCAN_STREAMS - 1; ++k)
        for (uint32_t pos = plan.start[k] + plan.steps; pos < n && s[k] >= dfa.quiet; ++pos)
            if ((s[k] = step(s[k], pos)) >= dfa.accept) return pattern(s[k]);
    return 0;
}

}  // namespace

uint16_t lanes_column(const Dfa& table0, uint8_t byte, size_t lane) {
    uint16_t col;
    std::memcpy(&col,
                reinterpret_cast<const uint8_t*>(table0.table.data()) + BW_DFA_LANES_MAP +
                    (size_t{byte} * BW_DFA_TABLES + lane) * 2,
                2);
    return col;
}

bw_dfa to_kernel(const Dfa& d) {
    bw_dfa k{};
    k.classes = d.classes;
    k.pad = d.pad;
    k.mid = d.mid;
    k.quiet = d.quiet;
    k.accept = d.accept;
    std::copy(d.start.begin(), d.start.end(), k.start);
    k.raw = d.raw;
    k.first = d.first;
    k.states = d.states;
    return k;
}

Decoded decode(std::string_view payload, size_t scan_bytes, bool http) {
    Buf s;
    run_decoder(s, payload, scan_bytes, http);
    Decoded d;
    d.text.assign(reinterpret_cast<const char*>(s.b.dec), s.b.dec_len);
    d.lines.assign(s.b.lines, s.b.lines + std::min<uint32_t>(s.b.nlines, BW_MAX_LINES));
    d.hdr_end = s.b.hdr_end;
    return d;
}

uint32_t scan(const Automaton& a, std::string_view payload, size_t scan_bytes, bool scan_binary) {
    if (a.tables.empty()) return 0;
    payload = after_blank_lines(payload, scan_bytes);
    bool http = is_http_request(payload, scan_bytes);
    Buf s;
    run_decoder(s, payload, scan_bytes, http);
    if (!scan_binary && !cut_binary_body(s)) return 0;
    bool any_raw = std::any_of(a.tables.begin(), a.tables.end(), [](auto& t) { return t.raw; });
    if (a.tables.size() > 1 && !any_raw) {
        // The kernel's lanes (scan_lanes): each table in one stream over the decoded text; the
        // lowest table with a match answers.
        // Each byte's class for table k is read, as the kernel reads it, from table 0's map.
        for (size_t k = 0; k < a.tables.size(); ++k) {
            const Dfa& dfa = a.tables[k];
            const uint8_t* buf = s.b.dec;
            uint32_t n = s.b.dec_len;
            uint32_t st = dfa.start[http ? BW_START_REQUEST : BW_START_MID];
            for (uint32_t pos = 0; pos < n && st < dfa.accept; ++pos) {
                st = dfa.table[(st + lanes_column(a.tables[0], buf[pos], k)) / 4];
            }
            if (st >= dfa.accept) return pattern_of(dfa, st);
        }
        return 0;
    }
    for (auto& dfa : a.tables) {
        bw_plan plan{};
        bw_dfa cfg = to_kernel(dfa);
        uint32_t m;
        if (dfa.raw) {  // over the bytes as sent, with the decoder's raw line index
            bw_plan_scan(s.b.raw, s.b.raw_lines, s.b.nlines, s.b.raw_hdr_end, s.b.raw_len, http,
                         dfa.table.data(), &cfg, cfg.start, &plan);
            m = run_streams(dfa, s.b.raw, s.b.raw_len, plan);
        } else {
            bw_plan_scan(s.b.dec, s.b.lines, s.b.nlines, s.b.hdr_end, s.b.dec_len, http,
                         dfa.table.data(), &cfg, cfg.start, &plan);
            m = run_streams(dfa, s.b.dec, s.b.dec_len, plan);
        }
        if (m) return m;
    }
    return 0;
}

}  // namespace bulwark::automaton
