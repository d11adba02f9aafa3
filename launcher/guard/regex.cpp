#include "guard/regex.hpp"

#include <memory>

#include "bpf/bulwark.h"
#include "core/error.hpp"

namespace bulwark::regex {

uint8_t fold(uint8_t b, bool raw) {
    if (b >= 'A' && b <= 'Z') return static_cast<uint8_t>(b + 32);
    if (raw) return b;
    if (b == '\\') return '/';
    if (b == BW_BREAK_BYTE) return b;
    if (b == '+' || b == '\t' || b == '\n' || b == '\f' || b == '\r') return ' ';
    return b;
}

bool is_word(uint8_t s) {
    return (s >= '0' && s <= '9') || (s >= 'a' && s <= 'z') || s == '_';
}

namespace {

constexpr int kMaxRepeat = 100;  // {m,n}: n at most this
constexpr size_t kMaxStatesPerPattern = 20000;

struct Node {
    enum class T { Set, Cat, Alt, Rep, Boundary, NotBoundary } t = T::Cat;
    CharSet set;
    std::vector<Node> kids;
    int min = 0, max = 0;  // Rep: max -1 is unbounded
};

// The symbols that can reach the automaton once folded.
CharSet folded_space(bool raw) {
    CharSet s;
    for (int b = 0; b < 256; ++b) s.set(fold(static_cast<uint8_t>(b), raw));
    return s;
}

// A pattern's set of bytes as symbols. Unlike the text's, a pattern's CR, LF and VT (`\r`,
// `\n`, `\v`, an encoded line break in a literal) are the line-break symbol alone, and every
// byte that reads as a space also matches the line break: a space in a pattern matches an
// encoded newline, as it did before the newline had a symbol of its own.
CharSet fold_set(const CharSet& in, bool raw) {
    CharSet out;
    for (int b = 0; b < 256; ++b) {
        if (!in.test(static_cast<size_t>(b))) continue;
        if (raw) {
            out.set(fold(static_cast<uint8_t>(b), true));
        } else if (b == '\n' || b == '\r' || b == BW_BREAK_BYTE) {
            out.set(BW_BREAK_BYTE);
        } else {
            uint8_t f = fold(static_cast<uint8_t>(b), false);
            out.set(f);
            if (f == ' ') out.set(BW_BREAK_BYTE);
        }
    }
    return out;
}

class Parser {
  public:
    Parser(const std::string& text, Options opt) : s_(text), opt_(opt) {}

    Node parse(bool* anchored) {
        *anchored = false;
        if (opt_.literal) {
            Node cat;
            for (unsigned char c : s_) cat.kids.push_back(set_node(one(c)));
            return cat;
        }
        if (peek() == '^') {
            ++pos_;
            *anchored = true;
        }
        Node n = alt();
        if (pos_ < s_.size())
            fail_next(s_[pos_] == ')' ? "unbalanced ')'" : "unexpected character");
        return n;
    }

  private:
    // At the character just taken (pos_ is past it, so it is also its 1-based position).
    [[noreturn]] void fail(const std::string& what) const {
        throw InputError("at " + std::to_string(pos_) + ": " + what);
    }
    // At the next character, not taken yet (or just past the end).
    [[noreturn]] void fail_next(const std::string& what) const {
        throw InputError("at " + std::to_string(pos_ + 1) + ": " + what);
    }
    int peek() const { return pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : -1; }
    int take() {
        if (pos_ >= s_.size()) fail_next("unexpected end of pattern");
        return static_cast<unsigned char>(s_[pos_++]);
    }
    static CharSet one(unsigned char c) {
        CharSet s;
        s.set(c);
        return s;
    }
    Node set_node(const CharSet& raw_set) const { return folded_node(fold_set(raw_set, opt_.raw)); }
    // Not folded again: folding adds the line break to a set with the space, which a complement
    // such as [^\n] has left out on purpose.
    static Node folded_node(const CharSet& symbols) {
        Node n;
        n.t = Node::T::Set;
        n.set = symbols;
        if (n.set.none()) throw InputError("a character class that matches nothing");
        return n;
    }

    Node alt() {
        Node first = concat();
        if (peek() != '|') return first;
        Node a;
        a.t = Node::T::Alt;
        a.kids.push_back(std::move(first));
        while (peek() == '|') {
            ++pos_;
            a.kids.push_back(concat());
        }
        return a;
    }

    Node concat() {
        Node cat;
        while (pos_ < s_.size() && peek() != '|' && peek() != ')') cat.kids.push_back(repeat());
        return cat;
    }

    Node repeat() {
        Node atom_node = atom();
        for (;;) {
            int c = peek();
            int mn, mx;
            if (c == '?') {
                mn = 0, mx = 1;
            } else if (c == '*') {
                mn = 0, mx = -1;
            } else if (c == '+') {
                mn = 1, mx = -1;
            } else if (c == '{' && counted(&mn, &mx)) {
            } else {
                return atom_node;
            }
            if (c != '{') ++pos_;
            if (peek() == '?') ++pos_;  // lazy: the same set of matches for a detector
            if (atom_node.t == Node::T::Boundary || atom_node.t == Node::T::NotBoundary)
                fail("a quantifier after \\b or \\B");
            Node r;
            r.t = Node::T::Rep;
            r.min = mn;
            r.max = mx;
            r.kids.push_back(std::move(atom_node));
            atom_node = std::move(r);
        }
    }

    // {m}, {m,}, {m,n} at pos_; false (pos_ unchanged) if '{' does not start one.
    bool counted(int* mn, int* mx) {
        size_t save = pos_;
        ++pos_;
        auto number = [&](int* out) {
            size_t start = pos_;
            long v = 0;
            while (peek() >= '0' && peek() <= '9') {
                v = v * 10 + (take() - '0');
                if (v > kMaxRepeat) fail("a repeat count above " + std::to_string(kMaxRepeat));
            }
            *out = static_cast<int>(v);
            return pos_ > start;
        };
        if (!number(mn)) {
            pos_ = save;
            return false;
        }
        *mx = *mn;
        if (peek() == ',') {
            ++pos_;
            if (!number(mx)) *mx = -1;
        }
        if (peek() != '}') {
            pos_ = save;
            return false;
        }
        ++pos_;
        if (*mx != -1 && *mx < *mn) fail("{m,n} with n below m");
        return true;
    }

    Node atom() {
        int c = take();
        switch (c) {
            case '(': {
                if (peek() == '?') {
                    ++pos_;
                    if (take() != ':') fail("only (?:...) groups are supported");
                }
                Node inner = alt();
                if (peek() != ')') fail_next("missing ')'");
                ++pos_;
                return inner;
            }
            case '[':
                return folded_node(bracket());
            case '.': {
                Node n;
                n.t = Node::T::Set;
                n.set = folded_space(opt_.raw);
                return n;
            }
            case '\\':
                return escape();
            case '^':
                fail("'^' is only supported at the start of a pattern");
            case '$':
                fail("'$' is not supported (a packet's end is not the request's)");
            case ')':
                fail("unbalanced ')'");
            case '*':
            case '+':
            case '?':
                fail("a quantifier with nothing to repeat");
            default:
                return set_node(one(static_cast<unsigned char>(c)));
        }
    }

    // Symbols outside `positive` (a raw set), among folded symbols: \S must not match the
    // '+' that reads as a space.
    CharSet complement(const CharSet& positive) const {
        CharSet folded = fold_set(positive, opt_.raw);
        return folded_space(opt_.raw) & ~folded;
    }

    // The class escapes shared by atoms and brackets, as raw sets (\D, \W, \S already
    // complemented among folded symbols); false if `c` is not one.
    bool class_escape(int c, CharSet* out) const {
        CharSet s;
        switch (c) {
            case 'd':
            case 'D':
                for (int b = '0'; b <= '9'; ++b) s.set(static_cast<size_t>(b));
                break;
            case 'w':
            case 'W':
                for (int b = 0; b < 256; ++b)
                    if (is_word(static_cast<uint8_t>(b)) || (b >= 'A' && b <= 'Z'))
                        s.set(static_cast<size_t>(b));
                break;
            case 's':
            case 'S':
                for (int b : {' ', '\t', '\n', '\v', '\f', '\r'}) s.set(static_cast<size_t>(b));
                break;
            default:
                return false;
        }
        *out = (c == 'D' || c == 'W' || c == 'S') ? complement(s) : s;
        return true;
    }

    int hex_digit() {
        if (pos_ >= s_.size()) fail_next("\\x needs two hex digits");
        int c = take();
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        fail("\\x needs two hex digits");
    }

    // A single character escape (not a class): its byte.
    int char_escape(int c) {
        switch (c) {
            case 't':
                return '\t';
            case 'n':
                return '\n';
            case 'r':
                return '\r';
            case 'f':
                return '\f';
            case 'v':
                return '\v';
            case '0':
                return 0;
            case 'x': {
                int hi = hex_digit();
                return hi * 16 + hex_digit();
            }
            default:
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                    fail(std::string("unknown escape \\") + static_cast<char>(c));
                return c;  // escaped punctuation is itself
        }
    }

    Node escape() {
        int c = take();
        CharSet s;
        if (class_escape(c, &s)) return set_node(s);
        if (c == 'h') {
            // A space that is not a line break (PCRE's horizontal space): what a rule writes
            // where a line of prose may end between its parts.
            if (opt_.raw) fail("\\h needs a normalised (not raw) set");
            CharSet h;
            h.set(' ');
            return folded_node(h);
        }
        if (c == 'b' || c == 'B') {
            if (opt_.raw) fail("\\b and \\B need a normalised (not raw) set");
            Node n;
            n.t = c == 'b' ? Node::T::Boundary : Node::T::NotBoundary;
            return n;
        }
        return set_node(one(static_cast<unsigned char>(char_escape(c))));
    }

    CharSet bracket() {
        bool negate = false;
        if (peek() == '^') {
            negate = true;
            ++pos_;
        }
        CharSet s;
        bool first = true;
        for (;;) {
            int c = take();
            if (c == ']' && !first) break;
            first = false;
            int lo;
            if (c == '\\') {
                int e = take();
                CharSet cls;
                if (class_escape(e, &cls)) {
                    s |= cls;
                    continue;
                }
                if (e == 'b') fail("\\b inside [...]");
                lo = char_escape(e);
            } else {
                lo = c;
            }
            if (peek() == '-' && pos_ + 1 < s_.size() && s_[pos_ + 1] != ']') {
                ++pos_;
                int hi = take();
                if (hi == '\\') hi = char_escape(take());
                if (hi < lo) fail("a range from a higher to a lower character");
                for (int b = lo; b <= hi; ++b) s.set(static_cast<size_t>(b));
            } else {
                s.set(static_cast<size_t>(lo));
            }
        }
        // Negation happens among folded symbols: [^a] must not match 'A', which folds to 'a'.
        // (Folding the complemented classes \D \W \S again changes nothing: each holds both
        // the space and the line break, or neither.)
        return negate ? complement(s) : fold_set(s, opt_.raw);
    }

    const std::string& s_;
    Options opt_;
    size_t pos_ = 0;
};

// Thompson construction: a fragment is a start state and the dangling exits to patch.
struct Frag {
    int32_t start;
    std::vector<std::pair<int32_t, bool>> outs;  // (state, is out1)
};

class Builder {
  public:
    Builder(Nfa& nfa, bool raw) : n_(nfa), raw_(raw) {}

    Frag build(const Node& node) {
        if (n_.states.size() - base_ > kMaxStatesPerPattern)
            throw InputError("the pattern expands to more than " +
                             std::to_string(kMaxStatesPerPattern) +
                             " automaton states; use smaller repeat counts");
        switch (node.t) {
            case Node::T::Set:
                return set(node.set);
            case Node::T::Boundary:
            case Node::T::NotBoundary: {
                int32_t s =
                    add(node.t == Node::T::Boundary ? Nfa::Kind::Boundary : Nfa::Kind::NotBoundary);
                return {s, {{s, false}}};
            }
            case Node::T::Cat: {
                if (node.kids.empty()) return empty();
                Frag f = build(node.kids[0]);
                for (size_t i = 1; i < node.kids.size(); ++i) {
                    Frag g = build(node.kids[i]);
                    patch(f, g.start);
                    f.outs = std::move(g.outs);
                }
                return f;
            }
            case Node::T::Alt: {
                Frag f = build(node.kids[0]);
                for (size_t i = 1; i < node.kids.size(); ++i) {
                    Frag g = build(node.kids[i]);
                    int32_t s = add(Nfa::Kind::Split);
                    n_.states[s].out = f.start;
                    n_.states[s].out1 = g.start;
                    f.start = s;
                    f.outs.insert(f.outs.end(), g.outs.begin(), g.outs.end());
                }
                return f;
            }
            case Node::T::Rep:
                return repeat(node);
        }
        return empty();
    }

    void set_base() { base_ = n_.states.size(); }
    void patch(const Frag& f, int32_t to) {
        for (auto [s, second] : f.outs) (second ? n_.states[s].out1 : n_.states[s].out) = to;
    }
    int32_t add(Nfa::Kind k) {
        n_.states.emplace_back();
        n_.states.back().kind = k;
        return static_cast<int32_t>(n_.states.size() - 1);
    }

  private:
    Frag empty() {
        int32_t s = add(Nfa::Kind::Epsilon);
        return {s, {{s, false}}};
    }
    Frag chars(const CharSet& set) {
        int32_t s = add(Nfa::Kind::Char);
        n_.states[s].set = set;
        return {s, {{s, false}}};
    }
    // A symbol set; where it holds the space or the line break, a run of them (of those it
    // holds) counts as one: an encoded CR LF is one line break.
    Frag set(const CharSet& set) {
        CharSet sp;
        sp.set(' ');
        sp.set(BW_BREAK_BYTE);
        sp &= set;
        if (raw_ || sp.none()) return chars(set);
        Frag run = chars(sp);
        int32_t loop = add(Nfa::Kind::Split);
        patch(run, loop);
        n_.states[loop].out = run.start;
        Frag spaces{run.start, {{loop, true}}};
        CharSet rest = set & ~sp;
        if (rest.none()) return spaces;
        Frag other = chars(rest);
        int32_t s = add(Nfa::Kind::Split);
        n_.states[s].out = spaces.start;
        n_.states[s].out1 = other.start;
        Frag f{s, spaces.outs};
        f.outs.insert(f.outs.end(), other.outs.begin(), other.outs.end());
        return f;
    }
    Frag optional(Frag f) {
        int32_t s = add(Nfa::Kind::Split);
        n_.states[s].out = f.start;
        f.outs.push_back({s, true});
        f.start = s;
        return f;
    }
    Frag star(Frag f) {
        int32_t s = add(Nfa::Kind::Split);
        n_.states[s].out = f.start;
        patch(f, s);
        return {s, {{s, true}}};
    }
    Frag repeat(const Node& node) {
        const Node& kid = node.kids[0];
        Frag f = empty();
        auto append = [&](Frag g) {
            patch(f, g.start);
            f.outs = std::move(g.outs);
        };
        for (int i = 0; i < node.min; ++i) append(build(kid));
        if (node.max < 0) {
            append(star(build(kid)));
        } else {
            // (x(x(x)?)?)? rather than x?x?x?: one way through, not n choose k.
            std::vector<Frag> opt;
            for (int i = node.min; i < node.max; ++i) opt.push_back(build(kid));
            for (size_t i = opt.size(); i-- > 0;) {
                if (i + 1 < opt.size()) {
                    patch(opt[i], opt[i + 1].start);
                    opt[i].outs = opt[i + 1].outs;
                }
                opt[i] = optional(std::move(opt[i]));
            }
            if (!opt.empty()) append(std::move(opt[0]));
        }
        return f;
    }

    Nfa& n_;
    bool raw_;
    size_t base_ = 0;
};

// Whether `match` is reachable from `start` without consuming a symbol (assertions included).
bool matches_empty(const Nfa& nfa, int32_t start, int32_t match) {
    std::vector<int32_t> todo{start};
    std::vector<bool> seen(nfa.states.size());
    while (!todo.empty()) {
        int32_t s = todo.back();
        todo.pop_back();
        if (s < 0 || seen[static_cast<size_t>(s)]) continue;
        seen[static_cast<size_t>(s)] = true;
        if (s == match) return true;
        auto& st = nfa.states[static_cast<size_t>(s)];
        if (st.kind == Nfa::Kind::Char || st.kind == Nfa::Kind::Match) continue;
        todo.push_back(st.out);
        if (st.kind == Nfa::Kind::Split) todo.push_back(st.out1);
    }
    return false;
}

}  // namespace

void add_pattern(Nfa& nfa, const std::string& pattern, uint32_t id, Options opt) {
    if (pattern.empty()) throw InputError("empty pattern");
    bool anchored = false;
    Node ast = Parser(pattern, opt).parse(&anchored);
    size_t before = nfa.states.size();
    try {
        Builder b(nfa, opt.raw);
        b.set_base();
        Frag f = b.build(ast);
        int32_t m = b.add(Nfa::Kind::Match);
        nfa.states[m].match = id;
        b.patch(f, m);
        if (matches_empty(nfa, f.start, m))
            throw InputError(
                "the pattern matches an empty string, so it would match every request");
        nfa.starts.push_back({f.start, id, anchored});
    } catch (...) {
        nfa.states.resize(before);
        throw;
    }
}

}  // namespace bulwark::regex
