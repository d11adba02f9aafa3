// The pattern automaton: regex syntax and errors, the DFA against RE2 as an oracle on random
// patterns and requests, the parts of a request, the kernel's stream split against one
// sequential pass, and the decoder's rules.
#include <re2/re2.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "guard/automaton.hpp"
#include "guard/regex.hpp"

using namespace bulwark;
using automaton::Pattern;
using automaton::Scope;

namespace {

Pattern re(const std::string& text, Scope scope = Scope::any()) {
    return {"t", text, true, false, scope};
}
Pattern lit(const std::string& text, Scope scope = Scope::any()) {
    return {"t", text, false, false, scope};
}

uint32_t scan1(const Pattern& p, const std::string& payload) {
    return automaton::scan(automaton::compile({p}), payload, BW_MAX_SCAN_BYTES);
}

// What the DFA reads once the kernel has decoded: folded symbols.
std::string folded(const std::string& decoded) {
    std::string out;
    for (unsigned char c : decoded) out += static_cast<char>(regex::fold(c));
    return out;
}

}  // namespace

TEST_CASE("regex syntax errors name the position and the problem", "[automaton]") {
    auto err = [](const std::string& p) {
        regex::Nfa n;
        try {
            regex::add_pattern(n, p, 1, {});
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(err("a)b") == "at 2: unbalanced ')'");
    CHECK(err("(ab") == "at 4: missing ')'");
    CHECK(err("a\\qb") == "at 3: unknown escape \\q");
    CHECK(err("[\\h]") == "at 3: unknown escape \\h");  // \h only outside brackets
    CHECK(err("ab$") == "at 3: '$' is not supported (a packet's end is not the request's)");
    CHECK(err("a^b") == "at 2: '^' is only supported at the start of a pattern");
    CHECK(err("*a") == "at 1: a quantifier with nothing to repeat");
    CHECK(err("a{3,2}") == "at 6: {m,n} with n below m");
    CHECK(err("a{1,500}") == "at 7: a repeat count above 100");
    CHECK(err("x*") == "the pattern matches an empty string, so it would match every request");
    CHECK(err("(?=a)") == "at 3: only (?:...) groups are supported");
    CHECK(err("[b-a]") == "at 4: a range from a higher to a lower character");
    CHECK(err("\\x4") == "at 4: \\x needs two hex digits");
    CHECK(err("a{2}b") == "no error");
    CHECK(err("a{,2}") == "no error");  // not a count: the literal "{,2}", as RE2 reads it
    CHECK(err("(?:ab|cd)+?e") == "no error");
}

TEST_CASE("a binary body is not scanned, as the kernel does not scan it", "[automaton]") {
    auto a = automaton::compile({re("'\\s*(--|#)")});
    // One byte in nine a control byte, as in compressed data; the same with letters instead.
    std::string bin, text;
    for (int i = 0; i < 600; ++i) {
        bin += static_cast<char>(i % 9 == 0 ? 0x01 + i % 7 : 'a' + i % 26);
        text += static_cast<char>(i % 9 == 0 ? 'q' : 'a' + i % 26);
    }
    bin.replace(300, 2, "'#");
    text.replace(300, 2, "'#");
    CHECK(automaton::scan(a, bin, BW_MAX_SCAN_BYTES) == 0);
    CHECK(automaton::scan(a, bin, BW_MAX_SCAN_BYTES, true) == 1);
    CHECK(automaton::scan(a, text, BW_MAX_SCAN_BYTES) == 1);
    CHECK(automaton::scan(a, "POST / HTTP/1.1\r\nA: '#\r\n\r\n" + bin, BW_MAX_SCAN_BYTES) == 1);
    CHECK(automaton::scan(a, "POST / HTTP/1.1\r\n\r\n" + bin, BW_MAX_SCAN_BYTES) == 0);
    // Control bytes by the word: TAB, LF and CR are text; DEL and the rest below 0x20 are not.
    CHECK(bw_ctl_bytes(0x0d0a09200d0a0941ULL) == 0);
    CHECK(bw_ctl_bytes(0x7f1f0b0800ff8061ULL) == 5);
}

TEST_CASE("a DFA too big for the kernel's table names the pattern to blame", "[automaton]") {
    std::vector<Pattern> ps{lit("union select"), re("a.{0,60}b.{0,60}c"), lit("<script")};
    try {
        automaton::compile(ps, 1u << 16);
        FAIL("no error");
    } catch (const InputError& e) {
        std::string what = e.what();
        CHECK_THAT(what, Catch::Matchers::Contains("the pattern that adds most is t: a.{0,60}b"));
        CHECK_THAT(what, Catch::Matchers::Contains("> 65536 entries"));
    }
}

TEST_CASE("the DFA finds what RE2 finds, on random patterns and requests", "[automaton][oracle]") {
    // Patterns from a small grammar over symbols that collide often; payloads over the same
    // symbols plus what folding and decoding change ('+', '\', tab, upper case, %XX).
    std::mt19937 rng(20261130);
    auto pick = [&](const std::string& from) { return from[rng() % from.size()]; };
    const std::string pat_chars = "abcxy0.-/'";
    // Each pattern comes with its RE2 twin: the DFA reads a run of spaces as one space, so
    // where our atom can match a space the twin says " +" explicitly, and RE2 then reads the
    // same uncollapsed text. A pattern's space also matches the encoded line break (\x0b once
    // folded), and `\n` matches a run of line breaks alone.
    using Twin = std::pair<std::string, std::string>;
    std::function<Twin(int)> gen = [&](int depth) -> Twin {
        int r = static_cast<int>(rng() % 12);
        if (depth > 2 || r < 5) {
            switch (rng() % 10) {
                case 0:
                    return {"[ab]", "[ab]"};
                case 1:
                    return {"[^a ]", "[^a \\x0b]"};
                case 2:
                    return {"\\d", "\\d"};
                case 3:
                    return {" ", "(?:[ \\x0b]+)"};
                case 4:
                    return {".", "(?:[ \\x0b]+|[^ \\x0b])"};
                case 5:
                    return {"\\n", "(?:\\x0b+)"};
                case 6:
                    return {"[^\\n]", "(?: +|[^ \\x0b])"};
                case 7:
                    return {"\\h", "(?: +)"};  // a space, not the line break
                default: {
                    std::string c(1, pick(pat_chars));
                    if (c == ".") c = "\\.";
                    return {c, c};
                }
            }
        }
        auto a = gen(depth + 1), b = gen(depth + 1);
        if (r < 8) return {a.first + b.first, a.second + b.second};
        if (r < 9)
            return {"(?:" + a.first + "|" + b.first + ")", "(?:" + a.second + "|" + b.second + ")"};
        if (r < 10) {
            std::string q = rng() % 2 ? "?" : "{1,3}";
            return {"(?:" + a.first + ")" + q, "(?:" + a.second + ")" + q};
        }
        if (r < 11) return {"\\b" + a.first, "\\b" + a.second};
        return {"(?:" + a.first + ")+", "(?:" + a.second + ")+"};
    };
    const std::string text_chars = "abcxyABX0129.-/'";
    auto random_text = [&](size_t n) {
        std::string s;
        while (s.size() < n) {
            if (rng() % 6 == 0) {
                s += " +\\\t"[rng() % 4];  // a space, or what reads as one, or '\'
            } else if (rng() % 16 == 0) {
                static const char* esc[] = {"%41", "%2f", "%20",    "%2527", "%u0062",
                                            "%",   "%0a", "%0D%0A", "%u000d"};
                s += esc[rng() % 9];
            } else {
                s += pick(text_chars);
            }
        }
        return s;
    };
    RE2::Options o;
    o.set_encoding(RE2::Options::EncodingLatin1);  // bytes, as the DFA reads them
    o.set_case_sensitive(false);
    o.set_dot_nl(true);
    o.set_log_errors(false);
    size_t compared = 0, matched = 0;
    for (int round = 0; round < 400; ++round) {
        std::vector<Pattern> ps;
        std::vector<std::unique_ptr<RE2>> oracles;
        while (ps.size() < 3) {
            auto a = gen(0), b = gen(0);
            auto c = rng() % 2 ? gen(0) : Twin{};
            std::string text = a.first + b.first + c.first;
            regex::Nfa probe;
            try {
                regex::add_pattern(probe, text, 1, {});
            } catch (const InputError&) {
                continue;  // e.g. matches an empty string
            }
            auto r = std::make_unique<RE2>(a.second + b.second + c.second, o);
            REQUIRE(r->ok());
            ps.push_back(re(text));
            oracles.push_back(std::move(r));
        }
        auto dfa = automaton::compile(ps);
        for (int k = 0; k < 25; ++k) {
            bool http = rng() % 2;
            // The body ends in a newline: a packet's end is not the request's, so the DFA
            // never resolves a \b there, where RE2 would see the end of its text.
            // One random_text per statement: the operands of + are unsequenced, and gcc and
            // clang would otherwise draw different requests from the same seed.
            std::string payload, body = random_text(rng() % 200) + "\n";
            if (http) {
                auto path = random_text(rng() % 40);
                auto host = random_text(rng() % 20);
                auto value = random_text(rng() % 60);
                payload = "GET /" + path + " HTTP/1.1\r\nHost: " + host + "\r\nX-A:  " + value +
                          "\r\n\r\n" + body;
            } else {
                payload = body;
            }
            // The parts as the DFA sees them, each decoded and folded: the request line and
            // each header value with the '\n' that ends it (a space to the patterns), the body.
            auto dec = automaton::decode(payload, BW_MAX_SCAN_BYTES, http);
            std::vector<std::string> parts;
            if (!http) {
                parts.push_back(folded(dec.text));
            } else {
                size_t pos = 0, line = 0;
                for (;;) {
                    size_t nl = dec.text.find('\n', pos);
                    if (nl == std::string::npos) {
                        parts.push_back(folded(dec.text.substr(pos)));
                        break;
                    }
                    if (line == 3) {  // the blank line: the body is what follows it
                        parts.push_back(folded(dec.text.substr(nl + 1)));
                        break;
                    }
                    std::string l = dec.text.substr(pos, nl + 1 - pos);
                    if (line == 0) {
                        parts.push_back(folded(l));
                    } else if (auto colon = l.find(':'); colon != std::string::npos) {
                        size_t v = colon + 1;
                        while (v < l.size() && (l[v] == ' ' || l[v] == '\t')) ++v;
                        if (v < l.size() && l[v] != '\n') parts.push_back(folded(l.substr(v)));
                    }
                    pos = nl + 1;
                    ++line;
                }
            }
            bool want = false;
            for (auto& r : oracles)
                for (auto& p : parts) want = want || RE2::PartialMatch(p, *r);
            uint32_t got = automaton::scan(dfa, payload, BW_MAX_SCAN_BYTES);
            INFO("patterns: " << ps[0].text << " | " << ps[1].text << " | " << ps[2].text);
            INFO("payload: " << payload);
            CHECK((got != 0) == want);
            ++compared;
            matched += want;
        }
    }
    // Enough of both outcomes for the comparison to mean something.
    CHECK(compared > 4000);
    CHECK(matched > compared / 10);
    CHECK(matched < compared * 9 / 10);
}

TEST_CASE("sets see only the parts of a request they are limited to", "[automaton][parts]") {
    const std::string req =
        "GET /search?q=alpha HTTP/1.1\r\nHost: shop\r\nUser-Agent: beta-scanner/1.0\r\n"
        "Cookie: id=gamma\r\nReferer: http://x/delta\r\n\r\nname=epsilon";
    auto in = [](std::vector<std::string> parts) {
        Scope s;
        for (auto& p : parts) {
            if (p == "uri")
                s.uri = true;
            else if (p == "headers")
                s.headers = true;
            else if (p == "body")
                s.body = true;
            else if (p[0] == '!')
                s.not_in.push_back(p.substr(1));
            else
                s.named.push_back(p);
        }
        return s;
    };
    struct Case {
        const char* word;
        std::vector<std::string> scope;
        bool found;
    } cases[] = {
        {"alpha", {"uri"}, true},
        {"alpha", {"headers", "body"}, false},
        {"beta", {"user-agent"}, true},
        {"beta", {"cookie"}, false},
        {"beta", {"headers"}, true},
        {"gamma", {"cookie"}, true},
        {"gamma", {"user-agent", "referer"}, false},
        {"delta", {"referer"}, true},
        {"epsilon", {"body"}, true},
        {"epsilon", {"uri", "headers"}, false},
        {"user-agent", {"headers"}, false},  // names are not values
        {"shop", {"host"}, true},
        // "headers" but the ones left out: the others, and headers no set names, still seen.
        {"beta", {"headers", "!user-agent"}, false},
        {"gamma", {"headers", "!user-agent"}, true},
        {"shop", {"headers", "!user-agent", "!cookie"}, true},
        {"gamma", {"headers", "!user-agent", "!cookie"}, false},
        {"delta", {"headers", "!cookie"}, true},
        {"alpha", {"uri", "headers", "!user-agent"}, true},
    };
    for (auto& c : cases) {
        INFO(c.word << " in " << c.scope.size() << " parts, first " << c.scope[0]);
        CHECK((scan1(lit(c.word, in(c.scope)), req) != 0) == c.found);
    }
    // "^" anchors at a part's start: the value's first byte after the spaces, the body's first.
    CHECK(scan1(re("^beta", in({"user-agent"})), req) != 0);
    CHECK(scan1(re("^scanner", in({"user-agent"})), req) == 0);
    CHECK(scan1(re("^name=", in({"body"})), req) != 0);
    CHECK(scan1(re("^get /", in({"uri"})), req) != 0);
    CHECK(scan1(re("^/search", in({"uri"})), req) == 0);
    // A payload that does not start a request is all body (a later segment of a POST).
    CHECK(scan1(lit("alpha", in({"body"})), "q=alpha") != 0);
    CHECK(scan1(lit("alpha", in({"uri"})), "q=alpha") == 0);
    // An encoded CR LF in a value does not start a header: it is a space.
    std::string inj = "GET /?x=1%0d%0aUser-Agent:%20evil HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(scan1(lit("evil", in({"user-agent"})), inj) == 0);
    CHECK(scan1(re("\\sUser-Agent:\\s*evil", in({"uri"})), inj) != 0);
}

TEST_CASE("empty lines before a request are left out, as servers leave them",
          "[automaton][parts]") {
    using automaton::after_blank_lines;
    // Every count of leading CR and LF at every alignment of the kernel's words, before a
    // request line or a body's text, against the plain definition.
    std::mt19937 rng(1206);
    int requests = 0;
    for (int i = 0; i < 4000; ++i) {
        std::string p;
        for (size_t n = rng() % 40; n > 0; --n) p += "\r\n"[rng() % 2];
        size_t lead = p.size();
        p += rng() % 2 ? "GET / HTTP/1.1\r\n" : "";
        for (size_t n = rng() % 12; n > 0; --n) p += "\r\nGa \x00\x8d\x0a"[rng() % 8];
        while (lead < p.size() && (p[lead] == '\r' || p[lead] == '\n')) ++lead;
        bool request = automaton::is_http_request(p.substr(lead), 64);
        INFO(i);
        CHECK(after_blank_lines(p, 64) == std::string_view(p).substr(request ? lead : 0));
        requests += request;
    }
    CHECK(requests > 1000);
    CHECK(after_blank_lines("GET / HTTP/1.1\r\n", 64) == "GET / HTTP/1.1\r\n");
    CHECK(after_blank_lines(" \r\nGET /", 64) == " \r\nGET /");          // a space is no empty line
    CHECK(after_blank_lines("\r\n\r\nname=a", 64) == "\r\n\r\nname=a");  // a body's text
    // Only the first BW_MAX_SCAN_BYTES are read, as the kernel loads them.
    std::string blank(BW_MAX_SCAN_BYTES, '\n');
    CHECK(after_blank_lines(blank + "GET / HTTP/1.1\r\n", 64).size() == blank.size() + 16);
    CHECK(after_blank_lines(blank.substr(1) + "GET /", 64) == "GET /");
    // The scan judges what follows them: the request line, its headers, its window.
    Scope uri;
    uri.uri = true;
    auto a = automaton::compile({lit("<script", uri)});
    const std::string req = "GET /?q=<script> HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(automaton::scan(a, req, 64) != 0);
    CHECK(automaton::scan(a, std::string(300, '\n') + req, 64) != 0);
    CHECK(automaton::scan(a, "\r\n\r\n" + req, 64) != 0);
}

TEST_CASE("pipelined requests are framed as a server reads them: headers, then the body's length",
          "[automaton][parts]") {
    using automaton::request_starts;
    // Random segments of pipelined requests (HTTP/1.1 lets a client send the next before the
    // answer), built from parts whose starts are known: CR LF or bare LF lines, empty lines
    // between requests, Content-Length in any case and with any whitespace the kernel reads,
    // bodies whose text looks like a request (a body is never one), chunked bodies
    // walked to their last chunk and trailer lines; what the server refuses (another coding,
    // chunks that are not) ends the framing (docs/threat-model.md, Pipelining).
    std::mt19937 rng(1207);
    auto any = [&](std::initializer_list<const char*> l) {
        return std::string(*(l.begin() + rng() % l.size()));
    };
    size_t pipelined = 0, bodies = 0, chunked = 0, refused = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string seg;
        std::vector<size_t> want;
        bool framed = true;
        for (int r = 0; r < 8 && seg.size() < 1150; ++r) {
            if (r && rng() % 5 == 0) seg += any({"\r\n", "\n", "\r\n\r\n"});
            if (framed) want.push_back(seg.size());
            std::string eol = rng() % 4 ? "\r\n" : "\n";
            seg += any({"GET", "POST", "PUT", "HEAD", "PROPFIND", "get"}) + " /" +
                   any({"", "login", "api/v1/items?id=7", "a/b/../c", "search?q=a+b"}) +
                   " HTTP/1.1" + eol;
            for (size_t h = rng() % 5; h > 0; --h)
                seg += any({"Host: shop.example", "Accept: */*", "X-Content-Length: 9",
                            "Content-Type: text/plain", "Cookie: a=b; content-length=3",
                            "User-Agent: Mozilla/5.0 (X11; Linux x86_64)"}) +
                       eol;
            std::string body;
            if (rng() % 2) {
                for (size_t n = rng() % 120; n > 0; --n) body += "ab =&\r\n"[rng() % 7];
                if (rng() % 3 == 0) body += "\r\n\r\nPOST /login HTTP/1.1\r\n\r\n";
                seg += any({"Content-Length", "content-length", "CONTENT-LENGTH"}) +
                       any({": ", ":", ":  ", ":\t"}) + std::to_string(body.size()) +
                       any({"", "", " ", "\t "}) + eol;
                ++bodies;
            } else if (rng() % 4 == 0) {
                // Chunks of random sizes (hex in either case, an extension at times), text in
                // them that looks like a request, trailer lines at times.
                seg += any({"Transfer-Encoding: chunked", "transfer-encoding: gzip, chunked",
                            "Transfer-Encoding:chunked  "}) +
                       eol;
                for (size_t c = rng() % 4; c > 0; --c) {
                    std::string data;
                    for (size_t n = 1 + rng() % 40; n > 0; --n) data += "ab =&\r\n"[rng() % 7];
                    if (rng() % 4 == 0) data += "\r\nGET /admin HTTP/1.1\r\n\r\n";
                    char size[16];
                    snprintf(size, sizeof size, rng() % 2 ? "%zx" : "%zX", data.size());
                    body += size + any({"", "", ";ext=1", " "}) + "\r\n" + data + "\r\n";
                }
                body += "0\r\n" + any({"", "", "X-Checksum: 1f\r\n"}) + "\r\n";
                ++chunked;
            } else if (rng() % 30 == 0) {
                // A coding the server refuses, or chunks that are not chunks: not framed.
                if (rng() % 2) {
                    seg += "Transfer-Encoding: gzip" + eol;
                } else {
                    seg += "Transfer-Encoding: chunked" + eol;
                    body = "zz\r\nabc\r\n0\r\n\r\n";
                }
                framed = false;
                ++refused;
            }
            seg += eol + body;
        }
        INFO(round << ": " << seg);
        auto got = request_starts(seg);
        CHECK(got == want);
        pipelined += want.size() - 1;
    }
    CHECK(pipelined > 5000);
    CHECK(bodies > 3000);
    CHECK(chunked > 1000);
    CHECK(refused > 50);

    const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(request_starts(get) == std::vector<size_t>{0});
    CHECK(request_starts("\r\n" + get + get) == std::vector<size_t>{2, 2 + get.size()});
    CHECK(request_starts("name=a&b=c").empty());  // a later segment of a body
    // What follows a request and is no request line ends the framing (the server answers 400).
    CHECK(request_starts(get + "hello\r\n" + get) == std::vector<size_t>{0});
    // A length that is not one the server reads: two of them, a sign, a letter, no digits.
    for (auto cl : {"Content-Length: 2\r\nContent-Length: 2", "Content-Length: +2",
                    "Content-Length: 2x", "Content-Length:", "Content-Length: 2 2"}) {
        INFO(cl);
        CHECK(request_starts("POST /a HTTP/1.1\r\n" + std::string(cl) + "\r\n\r\nab" + get) ==
              std::vector<size_t>{0});
    }
    // Any run of whitespace around the length, and leading zeros, as servers take them (a
    // bound on them would be a way around the count).
    for (const std::string& cl :
         {"Content-Length:" + std::string(100, ' ') + "2" + std::string(50, '\t'),
          std::string("Content-Length: 000000000000000002"),
          std::string("content-length:\t2\t \t")}) {
        INFO(cl);
        CHECK(request_starts("POST /a HTTP/1.1\r\n" + cl + "\r\n\r\nab" + get) ==
              std::vector<size_t>{0, size_t{24} + cl.size()});
    }
    // A body that ends past the segment: nothing follows in it.
    CHECK(request_starts("POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\nab" + get) ==
          std::vector<size_t>{0});
    // Headers the segment cuts: not framed.
    CHECK(request_starts("GET / HTTP/1.1\r\nHost: a\r\n") == std::vector<size_t>{0});
    // Up to BW_MAX_PIPELINED of the shortest requests, in a payload longer than one load.
    std::string many;
    for (int i = 0; i < 100; ++i) many += "GET / HTTP/1.1\r\n\r\n";
    auto starts = request_starts(many);
    REQUIRE(starts.size() == BW_MAX_PIPELINED);
    CHECK(starts.back() == 18 * (BW_MAX_PIPELINED - 1));
}

TEST_CASE("any method's request line starts a request; a body's text does not",
          "[automaton][parts]") {
    using automaton::is_http_request;
    // The methods the guard lists need only their space; the line may be cut by the packet.
    for (auto p : {"GET /", "PUT /x", "POST /a?b", "HEAD / HTT", "DELETE /x HTTP/1.1\r\n",
                   "OPTIONS * HTTP/1.1\r\n", "CONNECT h:443 HTTP/1.1\r\n"})
        CHECK(is_http_request(p));
    // Any other token is a method when a whole request line follows: WebDAV's, SSDP's, an
    // application's own, a lower-case one (Apache hands it to PHP, which reads the query).
    for (auto p : {"PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\n", "M-SEARCH * HTTP/1.1\r\n",
                   "get /?id=1 HTTP/1.1\r\n", "PURGE http://shop/a HTTP/1.0\n",
                   "BREW /pot-1 HTTP/1.1\r\n", "X!#$%&'*+-.^_`|~9 /a HTTP/1.1\r\n",
                   "REPORT /caf\xc3\xa9/\x7f HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"})
        CHECK(is_http_request(p));
    // A body's text (a later segment), a line the packet cuts, a line that is not one.
    for (auto p : {"hello, not a request line",
                   "Lorem ipsum dolor sit amet\r\n",
                   "name=a&b=c",
                   "Welcome /home HTTP/1.1",
                   "FOO /a HTTP/1.1\r",
                   "FOO /a HTTP/1.1x\r\n",
                   "FOO /a HTTP/11\r\n",
                   "FOO /a http/1.1\r\n",
                   "FOO  /a HTTP/1.1\r\n",
                   "FOO /a  HTTP/1.1\r\n",
                   "FOO /a b HTTP/1.1\r\n",
                   "FOO\t/a HTTP/1.1\r\n",
                   "FOO /a\tHTTP/1.1\r\n",
                   " FOO /a HTTP/1.1\r\n",
                   "(FOO) /a HTTP/1.1\r\n",
                   "F@O /a HTTP/1.1\r\n",
                   "FOO /a HTTP/1.1\r\r\n",
                   "FOO /\x01 HTTP/1.1\r\n",
                   "GETS",
                   "GET"})
        CHECK_FALSE(is_http_request(p));
    // A method of at most 20 bytes (IANA's longest has 17).
    CHECK(is_http_request("UPDATEREDIRECTREF / HTTP/1.1\r\n"));
    CHECK(is_http_request(std::string(20, 'M') + " / HTTP/1.1\r\n"));
    CHECK_FALSE(is_http_request(std::string(21, 'M') + " / HTTP/1.1\r\n"));
    // A line longer than what the kernel loads for the policy is cut by it.
    const std::string long_line = "FOO /" + std::string(600, 'a') + " HTTP/1.1\r\n";
    CHECK(is_http_request(long_line));
    CHECK_FALSE(is_http_request(long_line, 512));
    CHECK_FALSE(is_http_request("FOO /" + std::string(BW_MAX_SCAN_BYTES, 'a') + " HTTP/1.1\r\n"));
    // Random lines, against RE2 reading the same bytes (the target is read a word at a time:
    // every length and alignment of it).
    RE2::Options latin1;
    latin1.set_encoding(RE2::Options::EncodingLatin1);
    const RE2 line("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,20} [^\\x00-\\x20]+ HTTP/[0-9]\\.[0-9]\\r?\\n",
                   latin1);
    REQUIRE(line.ok());
    std::mt19937 rng(1205);
    // Each part mostly well formed, sometimes not: a byte from `bad` in it, or left out.
    const std::string bad("@ \t\r\n\0", 6);
    auto draw = [&](const std::string& from, size_t max) {
        std::string s;
        for (size_t n = rng() % (max + 1); n > 0; --n)
            s += rng() % 25 ? from[rng() % from.size()] : bad[rng() % bad.size()];
        return s;
    };
    const char* versions[] = {" HTTP/1.1", " HTTP/1.0", " HTTP/11", " http/1.1", " HTTP", ""};
    const char* ends[] = {"\r\n", "\n", "\r\n", "\r", "\r\r\n", ""};
    int matched = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string p = draw("Aa9-~!", 24) + (rng() % 10 ? " " : "") +
                        draw(std::string("/a%?=\x7f\x80\xff"), 40) +
                        versions[rng() % 2 ? 0 : rng() % 6] + ends[rng() % 6] + draw("Ab: 1", 6);
        INFO(round);
        bool want = RE2::PartialMatch(p, line);
        matched += want;
        CHECK(is_http_request(p) == want);
    }
    CHECK((matched > 1000 && matched < 19000));  // both answers drawn often
}

TEST_CASE("table 0's lanes map holds every table's classes of a byte", "[automaton][lanes]") {
    // Three sets whose bytes fall in different classes, each in a table of its own: a budget
    // just over the biggest alone, so that no two fit together (compile's estimate).
    std::vector<std::vector<Pattern>> sets{{re("union\\s+select"), lit("/etc/passwd")},
                                           {re("<script[^>]*>"), re("\\bon\\w+\\s*=")},
                                           {re("\\$\\{jndi:"), re("[|;]\\s*nc\\s+-e")}};
    std::vector<Pattern> all;
    size_t biggest = 0;
    for (size_t i = 0; i < sets.size(); ++i)
        for (auto p : sets[i]) {
            p.set = "s" + std::to_string(i);
            all.push_back(p);
        }
    for (size_t i = 0; i < sets.size(); ++i) {
        std::vector<Pattern> own(all.begin() + static_cast<long>(2 * i),
                                 all.begin() + static_cast<long>(2 * i + 2));
        biggest = std::max(biggest, automaton::compile_table(own).table.size());
    }
    auto a = automaton::compile(all, biggest + biggest / 5);
    REQUIRE(a.tables.size() == 3);
    size_t differ = 0;
    for (int b = 0; b < 256; ++b) {
        for (size_t k = 0; k < BW_DFA_TABLES; ++k) {
            // Lanes past the tables run table 0.
            auto& t = a.tables[k < a.tables.size() ? k : 0];
            INFO("byte " << b << " lane " << k);
            CHECK(automaton::lanes_column(a.tables[0], static_cast<uint8_t>(b), k) ==
                  t.byte_class[static_cast<size_t>(b)]);
        }
        differ += a.tables[1].byte_class[static_cast<size_t>(b)] !=
                  a.tables[2].byte_class[static_cast<size_t>(b)];
    }
    CHECK(differ > 0);  // else the map could hold one table's classes and still pass
    for (auto& t : a.tables) CHECK(t.table.size() * 4 <= BW_DFA_STATE_END);
    // The userspace scan reads the classes as the kernel's lanes do: each table's attack is
    // found, by its own pattern.
    auto name = [&](const std::string& payload) {
        uint32_t m = automaton::scan(a, payload, BW_MAX_SCAN_BYTES);
        return m ? a.patterns[m - 1].text : std::string("(none)");
    };
    CHECK(name("GET /?q=1%20UNION%20SELECT%202 HTTP/1.1\r\nHost: h\r\n\r\n") == "union\\s+select");
    CHECK(name("GET /?q=%3Cscript%20src=x%3E HTTP/1.1\r\nHost: h\r\n\r\n") == "<script[^>]*>");
    CHECK(name("GET / HTTP/1.1\r\nX-Api: ${jndi:ldap://x/a}\r\n\r\n") == "\\$\\{jndi:");
    CHECK(name("POST /p HTTP/1.1\r\nHost: h\r\n\r\nhost=x; nc -e /bin/sh") == "[|;]\\s*nc\\s+-e");
    CHECK(name("GET /?q=unions%20selected HTTP/1.1\r\nHost: h\r\n\r\n") == "(none)");
}

TEST_CASE("a table of several sets built from their own tables equals one built from the patterns",
          "[automaton][union]") {
    // compile() puts sets together from the tables each set has alone (a product of automata);
    // compile_table() builds the same patterns' table from scratch. Both are the minimal
    // automaton of the same patterns, so they have as many states and classes, and find the
    // same pattern in every request.
    std::mt19937 rng(20261203);
    const std::vector<std::string> texts = {"union\\s+select",
                                            "\\bor\\s+\\d+\\s*=\\s*\\d+",
                                            "/etc/passwd",
                                            "\\.\\./",
                                            "<script[^>]*>",
                                            "\\bon\\w+\\s*=",
                                            "\\$\\{jndi:",
                                            "[|;]\\s*nc\\s+-e",
                                            "sleep\\(\\d+\\)",
                                            "^/admin",
                                            "sqlmap",
                                            "eval\\(",
                                            "a.{0,6}b",
                                            "x[^y]*y",
                                            "%00"};
    const std::vector<std::string> names = {"user-agent", "cookie", "referer"};
    const std::string chars = "abxyoru nionselct<>/=.$({|;:0123'\"%-";
    auto random_text = [&](size_t n) {
        std::string t;
        while (t.size() < n) {
            if (rng() % 5 == 0)  // a piece of a pattern, so that many partial matches run
                t += texts[rng() % texts.size()].substr(0, 1 + rng() % 6);
            else
                t += chars[rng() % chars.size()];
        }
        return t;
    };
    size_t requests = 0, found = 0;
    for (int round = 0; round < 30; ++round) {
        std::vector<Pattern> ps;
        size_t sets = 2 + rng() % 3;
        for (size_t k = 0; k < sets; ++k) {
            Scope scope;
            switch (rng() % 4) {
                case 0:
                    scope = Scope::any();
                    break;
                case 1:
                    scope.uri = true;
                    break;
                case 2:
                    scope.named = {names[rng() % names.size()]};
                    break;
                default:
                    scope.body = scope.headers = true;
                    if (rng() % 2) scope.not_in = {names[rng() % names.size()]};
            }
            for (size_t i = 0, n = 1 + rng() % 3; i < n; ++i)
                ps.push_back(
                    {"s" + std::to_string(k), texts[rng() % texts.size()], true, false, scope});
        }
        auto joined = automaton::compile(ps, BW_DFA_USABLE, 1);
        REQUIRE(joined.tables.size() == 1);
        // In compile()'s order (it packs the biggest set first): when two patterns end on the
        // same byte, the first wins.
        ps = joined.patterns;
        auto whole = automaton::compile_table(ps);
        INFO("round " << round);
        CHECK(joined.tables[0].states == whole.states);
        CHECK(joined.tables[0].classes == whole.classes);
        automaton::Automaton one;
        one.tables.push_back(whole);
        one.patterns = ps;
        for (int k = 0; k < 60; ++k) {
            auto path = random_text(rng() % 40), value = random_text(rng() % 50);
            auto body = random_text(rng() % 120);
            std::string payload = "GET /" + path + " HTTP/1.1\r\nHost: h\r\n" +
                                  names[rng() % names.size()] + ": " + value + "\r\n\r\n" + body;
            if (rng() % 4 == 0) payload = body;
            // The same pattern, by name: compile() numbers them in the order it packs sets.
            auto name = [&](const automaton::Automaton& x) {
                uint32_t m = automaton::scan(x, payload, BW_MAX_SCAN_BYTES);
                return m ? x.patterns[m - 1].set + ": " + x.patterns[m - 1].text : "";
            };
            auto a = name(one);
            INFO("payload: " << payload);
            CHECK(a == name(joined));
            ++requests;
            found += !a.empty();
        }
    }
    CHECK(found > requests / 10);
    CHECK(found < requests * 9 / 10);
}

TEST_CASE("sets that first fit cannot get into the tables are packed by search",
          "[automaton][pack]") {
    // Five sets and room for two tables of 894 entries of rows (after the class maps): first
    // fit, biggest first, needs three here (measured when this was written); a search over the
    // pairs' measured unions finds two.
    const size_t budget = BW_DFA_HEAD / 4 + 894;
    const std::vector<std::string> texts = {"\\bdrop\\s+table", "\\bon\\w+\\s*=", "\\.\\./",
                                            "sleep\\(\\d+\\)", "sqlmap"};
    std::vector<Pattern> ps;
    for (size_t k = 0; k < texts.size(); ++k) ps.push_back(re(texts[k]));
    for (size_t k = 0; k < ps.size(); ++k) ps[k].set = "s" + std::to_string(k);
    auto a = automaton::compile(ps, budget, 2);
    CHECK(a.tables.size() == 2);
    for (auto& t : a.tables) CHECK(t.table.size() <= budget);
    const std::vector<std::string> attacks = {"x; DROP TABLE users", "<img onerror=alert(1)>",
                                              "../../etc", "1 and sleep(5)", "ua: sqlmap/1.5"};
    for (size_t k = 0; k < attacks.size(); ++k) {
        uint32_t m = automaton::scan(a, attacks[k] + "\n", BW_MAX_SCAN_BYTES);
        INFO(attacks[k]);
        REQUIRE(m != 0);
        CHECK(a.patterns[m - 1].set == "s" + std::to_string(k));
    }
    // One table is too few: the error says so and names the first fit's tables.
    CHECK_THROWS_WITH(
        automaton::compile(ps, budget, 1),
        Catch::Matchers::Contains("more tables than the kernel scans (1; first fit: table 1:"));
}

TEST_CASE("the kernel's four streams find what one pass finds", "[automaton][streams]") {
    // Matches across every split point, long runs inside a match (a stream goes on past its
    // end until nothing is in progress), \b at a split inside the body.
    auto a = automaton::compile(
        {re("union\\s+select"), re("\\bor\\s+1=1"), lit("/etc/passwd"), re("<script[^>]*>")});
    REQUIRE(a.tables.size() == 1);
    auto& dfa = a.tables[0];
    std::mt19937 rng(7);
    size_t found = 0;
    for (int i = 0; i < 3000; ++i) {
        size_t n = 40 + rng() % 1400;
        std::string body(n, 'a');
        for (auto& c : body) c = "abcdxyz =&;,"[rng() % 12];
        static const char* plant[] = {"union     select", "union/*x*/select", "xor 1=1",
                                      " or 1=1",          "/etc/passwd",      "<script   src=x>",
                                      "union select"};
        const char* p = plant[rng() % 7];
        size_t at = rng() % n;
        body.replace(at, 0, p);
        if (rng() % 3 == 0) body.insert(at + 5, std::string(rng() % 300, ' '));
        bool http = rng() % 2;
        std::string payload =
            http ? "POST /f HTTP/1.1\r\nHost: h\r\nContent-Type: x\r\n\r\n" + body : body;
        payload.resize(std::min<size_t>(payload.size(), BW_MAX_SCAN_BYTES));
        // One pass over the whole decoded text from the right entry point.
        auto dec = automaton::decode(payload, BW_MAX_SCAN_BYTES, http);
        uint32_t s = dfa.start[http ? BW_START_REQUEST : BW_START_MID], want = 0;
        for (unsigned char c : dec.text) {
            s = dfa.table[(s + dfa.byte_class[c]) / 4];  // offsets from the table's start
            if (s >= dfa.accept) {
                want = (s - dfa.accept) / (dfa.classes * 4) + 1;
                break;
            }
        }
        uint32_t got = automaton::scan(a, payload, BW_MAX_SCAN_BYTES);
        INFO(payload);
        CHECK((got != 0) == (want != 0));
        found += want != 0;
    }
    CHECK(found > 1500);
}

TEST_CASE("decoding: escapes, double encoding, %u, comments, whitespace, lines",
          "[automaton][decode]") {
    // The text without the line break the kernel appends to every scan's text
    // (bw_decode_finish).
    auto d = [](const std::string& s) {
        auto text = automaton::decode(s, 1460, false).text;
        REQUIRE(!text.empty());
        CHECK(text.back() == BW_BREAK_BYTE);
        text.pop_back();
        return text;
    };
    CHECK(d("%27%20OR%201%3D1") == "' OR 1=1");
    CHECK(d("%2e%2E%2f") == "../");
    CHECK(d("%252e%252e%252f") == "../");  // one level of double encoding
    CHECK(d("%25252e") == "%2e");          // not two
    CHECK(d("%u0027%U003c") == "'<");
    CHECK(d("%uFF1C") == "%uFF1C");  // only %u00XX
    // JSON's string escapes, as a JSON API's body carries a payload.
    CHECK(d(R"(\u0027 or \u00271\u0027=\u00271)") == "' or '1'='1");
    CHECK(d(R"(O:8:\"C\":0:{})") == R"(O:8:"C":0:{})");
    CHECK(d(R"(\' \/ \\")") == R"(' / \")");  // an escaped backslash, then a quote
    CHECK(d(R"(\u0020\u000a)") == " \v");     // decoded whitespace too
    // Only \u00XX; other backslashes stay (the DFA reads them as '/').
    CHECK(d(R"(\u00e9 \u2028 \x3c \n ..\..\win)") ==
          "\xe9"
          R"( \u2028 \x3c \n ..\..\win)");
    CHECK(d("%0d%0a%09%0B") == "\v\v  ");         // a decoded CR, LF: the line break
    CHECK(d("a%00b") == std::string("a\0b", 3));  // NUL stays, for a set to flag
    CHECK(d("%zz%4") == "%zz%4");                 // not escapes
    CHECK(d("union/**/select") == "union select");
    CHECK(d("union/*comment*/select") == "union select");
    CHECK(d("union%2f%2a%2a%2fselect") == "union select");  // encoded comments too
    CHECK(d("/*!50000union*/select") == " union select");
    CHECK(d("a*/b") == "a b");
    CHECK(d("/* never closed") == "/* never closed");
    CHECK(d("5*3/2") == "5*3/2");
    std::string long_comment = "/*" + std::string(300, 'x') + "*/";
    CHECK(d(long_comment) == long_comment.substr(0, long_comment.size() - 2) + " ");
    auto h = automaton::decode("GET /a HTTP/1.1\r\nA: 1\r\nB: %0a2\r\n\r\nbody", 1460, true);
    CHECK(h.text == "GET /a HTTP/1.1\r\nA: 1\r\nB: \v2\r\n\r\nbody\v");
    CHECK(h.lines == std::vector<uint16_t>{17, 23, 30});
    CHECK(h.hdr_end == 32);
    CHECK(automaton::decode("GET / HTTP/1.1\r\nA: 1\r\n", 1460, true).hdr_end == 22);
    // Words without '%', '*' or a newline are copied eight bytes at a time; the rest byte by
    // byte: the same result whatever the alignment.
    for (size_t pad = 0; pad < 9; ++pad) {
        std::string p(pad, 'x');
        CHECK(d(p + "ab%41cd/*x*/ef") == p + "abAcd ef");
        CHECK(d(p + R"(ab\"cdefghij\u0027k)") == p + R"(ab"cdefghij'k)");
    }
}

namespace {

// A request body as the decoder leaves it after `headers` (lines, each ending in CR LF). The
// decoder reads what a body is from its first byte, not from a Content-Type.
std::string decoded_body_after(const std::string& headers, const std::string& b) {
    const std::string head = "POST /api HTTP/1.1\r\nHost: h\r\n" + headers + "\r\n";
    auto dec = automaton::decode(head + b, 1460, true);
    REQUIRE(dec.hdr_end == head.size());
    auto text = dec.text.substr(dec.hdr_end);
    text.pop_back();  // the line break that ends every text
    return text;
}

std::string decoded_body(const std::string& b) {
    return decoded_body_after("", b);
}

}  // namespace

TEST_CASE("decoding: an XML body's entity references", "[automaton][decode]") {
    auto body = decoded_body;
    CHECK(body("<q>&lt;a&gt; &amp; &quot;&apos;</q>") == "<q><a> & \"'</q>");
    CHECK(body("<q>&#60;&#x3c;&#X3C;&#060;&#39;&#x27;</q>") == "<q><<<<''</q>");
    CHECK(body("<q>&#10;&#x9;&#13;</q>") == "<q>\v \v</q>");  // as %0a, %09, %0d read
    CHECK(body("<q>&amp;lt;</q>") == "<q>&lt;</q>");          // one level, as XML has
    // Not references: names in upper case, no ';', characters past ASCII, no digits.
    for (auto s : {"&LT; &Amp;", "&lt &amp", "&#233; &#x80; &#1234;", "&#; &#x; &#xg;", "& lt;"})
        CHECK(body(std::string("<q>") + s + "</q>") == std::string("<q>") + s + "</q>");
    // Only a body that starts with '<' is XML: a JSON or form body, a query, a header keep them.
    CHECK(body(R"({"q":"&lt;&apos;"})") == R"({"q":"&lt;&apos;"})");
    CHECK(body("q=&lt;&apos;") == "q=&lt;&apos;");
    // A body starts past whitespace and a UTF-8 byte order mark, as an XML parser reads it.
    CHECK(body(" <q>&lt;</q>") == " <q><</q>");
    CHECK(body("\r\n\t<q>&lt;</q>") == "\r\n\t<q><</q>");
    CHECK(body("\xef\xbb\xbf<q>&lt;</q>") == "\xef\xbb\xbf<q><</q>");
    CHECK(body("x <q>&lt;</q>") == "x <q>&lt;</q>");
    // Any number of them, read a word at a time: every length and mix of the lead's bytes.
    const std::string leads = " \t\r\n\xef\xbb\xbf";
    for (size_t n = 0; n < 40; ++n) {
        std::string lead;
        for (size_t i = 0; i < n; ++i) lead += leads[(i * 5 + n) % leads.size()];
        INFO(n);
        CHECK(body(lead + "<q>&lt;</q>") == lead + "<q><</q>");
        CHECK(body(lead + "!<q>&lt;</q>") == lead + "!<q>&lt;</q>");
        CHECK(body(lead + "{\"c\":\"1\\nid\"}") == lead + "{\"c\":\"1\vid\"}");
    }
    // A body of lead bytes only is nothing: the bytes past the payload's end are not read.
    CHECK(body("   ") == "   ");
    // A size line is the body's text unless the headers say it is chunked (below).
    CHECK(body("1a\r\n<q>&lt;</q>") == "1a\r\n<q>&lt;</q>");
    CHECK(body("\xef\xbb\xbfx<q>&lt;</q>") == "\xef\xbb\xbfx<q>&lt;</q>");
    CHECK(
        automaton::decode("GET /?a=&lt; HTTP/1.1\r\nX: &lt;\r\n\r\n<q>&lt;</q>", 1460, true).text ==
        "GET /?a=&lt; HTTP/1.1\r\nX: &lt;\r\n\r\n<q><</q>\v");
    CHECK(automaton::decode("<q>&lt;</q>", 1460, false).text == "<q>&lt;</q>\v");  // not HTTP
    // A reference the payload's end cuts stays as it is.
    CHECK(body("<q>&lt") == "<q>&lt");
    CHECK(body("<q>&#6") == "<q>&#6");
    // Copied a word at a time up to the '&': the same at every alignment.
    for (size_t pad = 0; pad < 17; ++pad) {
        std::string p(pad, 'x');
        CHECK(body("<" + p + "&lt;b&gt;&quot;" + p + "&#38;") == "<" + p + "<b>\"" + p + "&");
    }
}

namespace {

// A request body sent Transfer-Encoding: chunked, as the decoder leaves it (`te` the header).
std::string dechunked(const std::string& b, const std::string& te = "Transfer-Encoding: chunked") {
    return decoded_body_after(te + "\r\nAccept: text/html\r\n", b);
}

// `parts` as chunks, each size line "%x" + ext, then the last chunk and the blank line.
std::string chunks(const std::vector<std::string>& parts, const std::string& ext = "") {
    std::string out;
    char size[16];
    for (const auto& p : parts) {
        std::snprintf(size, sizeof size, "%zx", p.size());
        out += size + ext + "\r\n" + p + "\r\n";
    }
    return out + "0\r\n\r\n";
}

}  // namespace

TEST_CASE("decoding: a chunked body is de-chunked", "[automaton][decode]") {
    // sqlmap's --chunked: keywords cut across chunks, each size line with a random extension.
    CHECK(dechunked(chunks({"id=1 UN", "ION SEL", "ECT 1,", "2-- -"}, ";Xq7Tz")) ==
          "id=1 UNION SELECT 1,2-- -\r\n");
    // The body's kind is read past the chunking: a reference cut by a chunk is decoded.
    CHECK(dechunked(chunks({" <q>&l", "t;x&ap", "os;</q>"})) == " <q><x'</q>\r\n");
    CHECK(dechunked(chunks({"{\"c\":\"1\\", "nid\"}"})) == "{\"c\":\"1\vid\"}\r\n");
    // Size lines as servers take them: any case, leading zeros (up to eight digits), blanks
    // and extensions with values, a bare LF.
    CHECK(dechunked("0000000A\r\n0123456789\r\n3 ; a=\"b c\"\r\nabc\n2\nde\r\n0\r\n\r\n") ==
          "0123456789abcde\r\n");
    // The packet ends inside a chunk, or inside a size line: what it has of the data stays.
    CHECK(dechunked("ff\r\nunion sel") == "union sel");
    CHECK(dechunked("3\r\nabc\r\n1") == "abc");
    // What follows the last chunk (trailers, a pipelined request) stays as it is.
    CHECK(dechunked("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1") == "abc\r\nGET / HTTP/1.1");
    // A line that is not a size line where one should be: from there on the body as it came.
    CHECK(dechunked("3\r\nabc\r\nxyz 3\r\ndef") == "abc\r\nxyz 3\r\ndef");
    CHECK(dechunked("3\r\nabcde") == "abcde");
    for (auto lead : {"123456789\r\nx", "g1\r\nx", "\r\n1\r\nx", "1a=x\r\n"})
        CHECK(dechunked(lead) == lead);
    // Only when the headers say so: Transfer-Encoding's last coding is chunked, in any case
    // and spacing; another header or value leaves the body as it came.
    const std::string body = chunks({"a", "b"});
    for (auto te : {"transfer-encoding:chunked", "TRANSFER-ENCODING: CHUNKED",
                    "Transfer-Encoding: gzip, chunked", "Transfer-Encoding:\tchunked  "})
        CHECK(dechunked(body, te) == "ab\r\n");
    for (auto te : {"X-Transfer-Encoding: chunked", "Transfer-Encoding: chunked, gzip",
                    "Transfer-Encoding: xchunked", "Content-Type: chunked", "X: 1"})
        CHECK(dechunked(body, te) == body);
    // Any body cut into any chunks decodes as the body sent whole: random texts of the bytes
    // the decoder and the de-chunker act on, cut at random, with and without extensions, in
    // chunks of a few bytes and in chunks longer than a step copies (BW_CK_WORDS words).
    std::mt19937 rng(14);
    const std::string alphabet = "ab0F9 %27%2*/\\&lt;<{\r\n;\"";
    for (int round = 0; round < 3000; ++round) {
        std::string text;
        size_t n = rng() % 300;
        for (size_t i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
        std::vector<std::string> parts;
        for (size_t at = 0; at < text.size();) {
            size_t len = 1 + rng() % (round % 3 ? 24 : 90);
            parts.push_back(text.substr(at, len));
            at += len;
        }
        INFO(text);
        CHECK(dechunked(chunks(parts, round % 2 ? ";k=v" : "")) == decoded_body(text + "\r\n"));
    }
}

TEST_CASE("decoding: a JSON body's \\n, \\r and \\t", "[automaton][decode]") {
    auto body = decoded_body;
    CHECK(body(R"({"c":"1\nid\r\nx\ty"})") == "{\"c\":\"1\vid\v\vx y\"}");
    CHECK(body(R"([{"c":"a\nb"}])") == "[{\"c\":\"a\vb\"}]");
    // An escaped backslash before an n is a path's: C:\\new is C:\new, not a line break.
    CHECK(body(R"({"p":"C:\\new\\temp"})") == R"({"p":"C:\new\temp"})");
    CHECK(body(R"({"c":"\x \b \f"})") == R"({"c":"\x \b \f"})");  // other letters stay
    // Only in a body that starts with '{' or '[': a form, a query, a header keep them.
    CHECK(body(R"(c=1\nid)") == R"(c=1\nid)");
    CHECK(body(R"( {"c":"1\nid"})") == " {\"c\":\"1\vid\"}");  // past whitespace, as JSON allows
    CHECK(body(R"(x {"c":"1\nid"})") == R"(x {"c":"1\nid"})");
    CHECK(automaton::decode("GET /?c=1\\nid HTTP/1.1\r\n\r\n", 1460, true).text ==
          "GET /?c=1\\nid HTTP/1.1\r\n\r\n\v");
}

TEST_CASE("decoding: lines and the end of the headers, at every alignment", "[automaton][decode]") {
    // A line with text ends in the word copy, an empty one byte by byte: the same lines and
    // the same end of the headers wherever the line ends fall in the words.
    struct Case {
        std::string head;             // after the request line
        std::vector<uint16_t> lines;  // after the request line's end, L
        uint32_t hdr_end;             // from L
    };
    const Case cases[] = {
        {"A: 1\r\nBb: 22\r\n\r\nbody", {0, 6, 14}, 16},
        {"A: 1\nBb: 22\n\nbody", {0, 5, 12}, 13},       // LF alone
        {"A: 1\r\n\nbody", {0, 6}, 7},                  // an empty line of LF alone
        {"A: 1\r\n\r\r\nbody", {0, 6}, 9},              // of two CRs
        {"A: 1\r2\r\n\r\nbody", {0, 8}, 10},            // a CR in a line's text
        {"Accept: text/html\r\nB: 2", {0, 19}, 23},     // no end of the headers
        {"A: 1\r\n\r\nx\r\ny\r\n", {0, 6, 11, 14}, 8},  // the body's lines are lines too
    };
    for (size_t pad = 0; pad < 17; ++pad) {
        std::string line = "GET /" + std::string(pad, 'x') + " HTTP/1.1\r\n";
        auto at = static_cast<uint16_t>(line.size());
        for (const auto& c : cases) {
            INFO(pad << ": " << c.head);
            auto dec = automaton::decode(line + c.head, 1460, true);
            CHECK(dec.text == line + c.head + "\v");
            std::vector<uint16_t> want;
            for (auto l : c.lines) want.push_back(static_cast<uint16_t>(at + l));
            CHECK(dec.lines == want);
            CHECK(dec.hdr_end == at + c.hdr_end);
        }
    }
    // More lines than the kernel keeps: the first BW_MAX_LINES, and the headers still end.
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 70; ++i) many += "H: v\r\n";
    auto dec = automaton::decode(many + "\r\nbody", 1460, true);
    CHECK(dec.lines.size() == BW_MAX_LINES);
    CHECK(dec.hdr_end == many.size() + 2);
}
