// The XDP program on crafted frames through BPF_PROG_TEST_RUN: verdicts and counters exactly.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <set>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/json_util.hpp"
#include "core/sys.hpp"
#include "frames.hpp"
#include "guard/attach.hpp"
#include "guard/automaton.hpp"
#include "guard/bans.hpp"
#include "guard/map_walk.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"
#include "guard/stats.hpp"
#include "harness.hpp"
#include "test_run.hpp"

using namespace bulwark;
using frames::Bytes;
using frames::Frame;
using frames::put16;

std::string kernel_precheck() {
    if (auto why = harness::doctor_says("bpf-test-run"); !why.empty()) return why;
    // A real load is the only honest probe of BPF support and privileges. Only a kernel or
    // privilege that lacks BPF is a reason to skip: a verifier rejection must fail the tests.
    try {
        auto p = policy::parse_policy(parse_json("{}", "probe.json"), "probe.json");
        p.max_sources = 1024;
        xdp::Program prog(p);
    } catch (const SysError& e) {
        if (e.err() == EPERM || e.err() == ENOSYS || e.err() == EOPNOTSUPP)
            return std::string("cannot load BPF programs here: ") + e.what();
    }
    return {};
}

namespace {

policy::Policy make(const std::string& json) {
    auto p = policy::parse_policy(parse_json(json, "t.json"), "t.json");
    p.max_sources = 4096;
    return p;
}

int run(const xdp::Program& prog, const Bytes& frame) {
    return test_run(prog.prog_fd(), frame).retval;
}

constexpr int PASS = 2, DROP = 1;  // XDP_PASS, XDP_DROP

// Counters as {reason: packets}, only the non-zero ones.
std::map<std::string, uint64_t> counts(const xdp::Program& prog) {
    std::map<std::string, uint64_t> m;
    auto c = prog.counters();
    for (unsigned r = 0; r < BW_REASON_MAX; ++r)
        if (c[r].packets) m[xdp::reason_name(r)] = c[r].packets;
    return m;
}

const char* kLists = R"({"lists": {"deny": ["198.18.30.0/24", "2001:db8:dead::/48"],
    "trusted": ["198.18.10.0/24", "198.18.30.7/32"], "suspicious": ["198.18.20.0/24"]}})";

}  // namespace

TEST_CASE("every map name of bulwark.h names a map of the loaded program", "[xdp]") {
    // The pin layout and userspace find maps by these names; a renamed map must fail here, not
    // at an operator's `stats`.
    xdp::Program prog(make("{}"));
    for (auto name : {BW_MAP_COUNTERS,     BW_MAP_POLICY_GEN, BW_MAP_CONFIG,     BW_MAP_PORTS,
                      BW_MAP_LISTS_V4,     BW_MAP_LISTS_V6,   BW_MAP_RULES,      BW_MAP_AUTOMATON,
                      BW_MAP_PATTERNS,     BW_MAP_SOURCES,    BW_MAP_EVENTS,     BW_MAP_EVENTS_LOST,
                      BW_MAP_PATTERN_HITS, BW_MAP_META,       BW_MAP_BANS,       BW_MAP_STRIKES,
                      BW_MAP_BANS_STATS,   BW_MAP_PROXIED,    BW_MAP_AGGREGATES, BW_MAP_SPRAY,
                      BW_MAP_SEEN,         BW_MAP_SYN,        BW_MAP_DEVICE}) {
        INFO(name);
        CHECK(prog.map_fd(name) >= 0);
    }
    CHECK(prog.map_fd("no_such_map") < 0);
}

TEST_CASE("an ordinary request passes and is counted with its bytes", "[xdp]") {
    xdp::Program prog(make("{}"));
    Frame f;
    f.payload = "GET / HTTP/1.1\r\n\r\n";
    auto frame = f.build();
    CHECK(run(prog, frame) == PASS);
    auto c = prog.counters();
    CHECK(c[BW_PASS].packets == 1);
    CHECK(c[BW_PASS].bytes == frame.size());
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"pass", 1}});
}

TEST_CASE("deny, trusted and suspicious ranges; the most specific prefix wins", "[xdp]") {
    xdp::Program prog(make(kLists));
    Frame f;
    f.src = "198.18.30.5";
    CHECK(run(prog, f.build()) == DROP);
    f.src = "198.18.30.7";  // a trusted /32 inside the denied /24
    CHECK(run(prog, f.build()) == PASS);
    f.src = "198.18.10.200";
    CHECK(run(prog, f.build()) == PASS);
    f.src = "198.18.20.1";
    CHECK(run(prog, f.build()) == PASS);
    f.v6 = true;
    f.src = "2001:db8:dead::1";
    f.dst = "2001:db8::2";
    CHECK(run(prog, f.build()) == DROP);
    CHECK(counts(prog) ==
          std::map<std::string, uint64_t>{{"drop_deny", 2}, {"pass_trusted", 2}, {"pass", 1}});
}

TEST_CASE("ARP and IPv6 neighbour discovery pass even from a denied source", "[xdp]") {
    xdp::Program prog(make(kLists));
    Frame ns;
    ns.v6 = true;
    ns.src = "2001:db8:dead::1";
    ns.dst = "ff02::1:ff00:2";
    ns.proto = IPPROTO_ICMPV6;
    auto frame = ns.build();
    frame[14 + 40] = 135;  // neighbour solicitation
    CHECK(run(prog, frame) == PASS);
    Bytes arp(42, 0);
    put16(arp, 12, ETH_P_ARP);
    CHECK(run(prog, arp) == PASS);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"pass", 2}});
}

TEST_CASE("a packet flood is cut to its burst while another source is served", "[xdp]") {
    // 1/day: no refill during the test, so the burst is exactly what passes.
    xdp::Program prog(
        make(R"({"limits": {"default": {"packets": {"rate": "1/day", "burst": 3}}}})"));
    Frame flood;
    flood.src = "198.18.0.66";
    int passed = 0;
    for (int i = 0; i < 10; ++i) passed += run(prog, flood.build()) == PASS;
    CHECK(passed == 3);
    Frame other;
    other.src = "198.18.0.67";
    CHECK(run(prog, other.build()) == PASS);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"pass", 4}, {"drop_rate_packets", 7}});
}

TEST_CASE("SYN floods hit the connection limit; other TCP segments do not count", "[xdp]") {
    xdp::Program prog(
        make(R"({"limits": {"default": {"connections": {"rate": "1/day", "burst": 2}}}})"));
    Frame syn;
    syn.tcp_flags = 0x02;
    Frame synack = syn;
    synack.tcp_flags = 0x12;
    CHECK(run(prog, syn.build()) == PASS);
    CHECK(run(prog, synack.build()) == PASS);
    CHECK(run(prog, syn.build()) == PASS);
    CHECK(run(prog, syn.build()) == DROP);
    CHECK(run(prog, synack.build()) == PASS);
    CHECK(counts(prog) ==
          std::map<std::string, uint64_t>{{"pass", 4}, {"drop_rate_connections", 1}});
}

TEST_CASE("HTTP requests to inspected ports are limited; other payloads are not", "[xdp]") {
    xdp::Program prog(make(R"({"inspect_ports": [80], "limits": {"default":
        {"requests": {"rate": "1/day", "burst": 2}}},
        "lists": {"suspicious": ["198.18.20.0/24"]}})"));
    Frame get;
    get.payload = "GET /a HTTP/1.1\r\n\r\n";
    Frame post = get;
    post.payload = "POST /login HTTP/1.1\r\n\r\n";
    Frame body = get;
    body.payload = "hello, not a request line";
    Frame other_port = get;
    other_port.dport = 8081;
    CHECK(run(prog, get.build()) == PASS);
    CHECK(run(prog, body.build()) == PASS);
    CHECK(run(prog, other_port.build()) == PASS);
    CHECK(run(prog, post.build()) == PASS);
    CHECK(run(prog, get.build()) == DROP);
    CHECK(run(prog, body.build()) == PASS);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"pass", 5}, {"drop_rate_requests", 1}});
}

TEST_CASE("a request under any method counts; text that only starts like one does not", "[xdp]") {
    xdp::Program prog(make(R"({"inspect_ports": [80], "limits": {"default":
        {"requests": {"rate": "1/day", "burst": 2}}}})"));
    auto verdict = [&](const char* payload) {
        Frame f;
        f.payload = payload;
        return run(prog, f.build());
    };
    CHECK(verdict("PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\n") == PASS);
    CHECK(verdict("Welcome /home HTTP/1.1") == PASS);  // no line end: a body's text
    CHECK(verdict("Lorem ipsum dolor sit amet\r\n") == PASS);
    CHECK(verdict("M-SEARCH * HTTP/1.1\r\n\r\n") == PASS);
    CHECK(verdict("get / HTTP/1.1\r\n\r\n") == DROP);
    CHECK(verdict("Lorem ipsum dolor sit amet\r\n") == PASS);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"pass", 5}, {"drop_rate_requests", 1}});
}

TEST_CASE("suspicious sources get their own, tighter limits", "[xdp]") {
    xdp::Program prog(make(R"({"limits": {"default": {"requests": {"rate": "1/day", "burst": 5}},
        "suspicious": {"requests": {"rate": "1/day", "burst": 1}}},
        "lists": {"suspicious": ["198.18.20.0/24"]}})"));
    Frame f;
    f.payload = "GET / HTTP/1.1\r\n\r\n";
    f.src = "198.18.20.9";
    CHECK(run(prog, f.build()) == PASS);
    CHECK(run(prog, f.build()) == DROP);
    f.src = "198.18.0.9";
    for (int i = 0; i < 5; ++i) CHECK(run(prog, f.build()) == PASS);
    CHECK(run(prog, f.build()) == DROP);
}

TEST_CASE("IPv6 sources share a bucket per /64", "[xdp]") {
    xdp::Program prog(
        make(R"({"limits": {"default": {"packets": {"rate": "1/day", "burst": 2}}}})"));
    Frame f;
    f.v6 = true;
    f.dst = "2001:db8::2";
    f.src = "2001:db8:1:2::1";
    CHECK(run(prog, f.build()) == PASS);
    f.src = "2001:db8:1:2::ffff";  // same /64: same bucket
    CHECK(run(prog, f.build()) == PASS);
    f.src = "2001:db8:1:2:aaaa::1";
    CHECK(run(prog, f.build()) == DROP);
    f.src = "2001:db8:1:3::1";  // another /64
    CHECK(run(prog, f.build()) == PASS);
}

TEST_CASE("VLAN and QinQ tags, IPv6 extension headers are parsed", "[xdp]") {
    xdp::Program prog(make(kLists));
    Frame f;
    f.src = "198.18.30.5";
    f.vlans = {100};
    CHECK(run(prog, f.build()) == DROP);
    f.vlans = {100, 200};
    CHECK(run(prog, f.build()) == DROP);
    Frame v6;
    v6.v6 = true;
    v6.src = "2001:db8:dead::9";
    v6.dst = "2001:db8::2";
    v6.v6_ext = {0, 60};  // hop-by-hop, destination options
    CHECK(run(prog, v6.build()) == DROP);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"drop_deny", 3}});
}

TEST_CASE("truncated or inconsistent headers are dropped as malformed", "[xdp]") {
    xdp::Program prog(make("{}"));
    Frame ok;
    ok.payload = "GET / HTTP/1.1\r\n\r\n";
    auto good = ok.build();
    // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header (EINVAL); the shortest
    // it takes is a bare header announcing IPv4 with nothing after it.
    CHECK(run(prog, Bytes(good.begin(), good.begin() + 14)) == DROP);
    CHECK(run(prog, Bytes(good.begin(), good.begin() + 30)) == DROP);  // short IPv4
    auto bad_ihl = good;
    bad_ihl[14] = 0x44;
    CHECK(run(prog, bad_ihl) == DROP);
    auto long_total = good;
    put16(long_total, 16, 1400);  // total length beyond the frame
    CHECK(run(prog, long_total) == DROP);
    auto short_tcp = Bytes(good.begin(), good.begin() + 14 + 20 + 10);
    put16(short_tcp, 16, 30);  // consistent IPv4 length, TCP header cut at 10 bytes
    CHECK(run(prog, short_tcp) == DROP);
    auto bad_doff = good;
    bad_doff[14 + 20 + 12] = 4 << 4;
    CHECK(run(prog, bad_doff) == DROP);
    Frame v6;
    v6.v6 = true;
    v6.src = "2001:db8::9";
    v6.dst = "2001:db8::2";
    auto v6b = v6.build();
    CHECK(run(prog, Bytes(v6b.begin(), v6b.begin() + 14 + 30)) == DROP);  // short IPv6
    CHECK(run(prog, good) == PASS);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"drop_malformed", 7}, {"pass", 1}});
}

TEST_CASE("non-first fragments pass by default, drop with \"fragments\": \"drop\"", "[xdp]") {
    Frame frag;
    frag.frag_off = 100;  // offset 800 bytes: no transport header
    frag.payload = "GET / HTTP/1.1\r\n";
    Frame frag6;
    frag6.v6 = true;
    frag6.src = "2001:db8::9";
    frag6.dst = "2001:db8::2";
    frag6.v6_ext = {44};
    frag6.v6_nonfirst_fragment = true;
    {
        xdp::Program prog(make("{}"));
        CHECK(run(prog, frag.build()) == PASS);
        CHECK(run(prog, frag6.build()) == PASS);
    }
    {
        xdp::Program prog(make(R"({"fragments": "drop"})"));
        CHECK(run(prog, frag.build()) == DROP);
        CHECK(run(prog, frag6.build()) == DROP);
        CHECK(counts(prog) == std::map<std::string, uint64_t>{{"drop_malformed", 2}});
    }
}

TEST_CASE("request patterns are dropped at offset 0, in the middle, and up to scan_bytes",
          "[xdp][patterns]") {
    xdp::Program prog(make(R"({"inspect_ports": [80], "patterns": {"scan_bytes": 64,
        "sets": {"sqli": ["union select"], "traversal": ["../", "..%2f"], "wp": ["/wp-admin"]}}})"));
    auto req = [](const std::string& payload, uint16_t port = 80) {
        Frame f;
        f.dport = port;
        f.payload = payload;
        return f.build();
    };
    CHECK(run(prog, req("GET /index.html HTTP/1.1\r\n\r\n")) == PASS);
    CHECK(run(prog, req("../../etc/passwd")) == DROP);                          // offset 0
    CHECK(run(prog, req("GET /q?id=1 UNION SELECT pw HTTP/1.1\r\n")) == DROP);  // middle, any case
    CHECK(run(prog, req("GET /WP-ADMIN/ HTTP/1.1\r\n")) == DROP);
    CHECK(run(prog, req("GET /a/..%2F..%2Fb HTTP/1.1\r\n")) == DROP);
    // Across the scan_bytes boundary: a match must end within the first 64 bytes.
    std::string pad(61, 'x');
    CHECK(run(prog, req(pad + "../")) == DROP);   // ends at byte 64
    CHECK(run(prog, req(pad + "x../")) == PASS);  // ends at byte 65: not seen
    // Ports that are not inspected are not scanned.
    CHECK(run(prog, req("../../etc/passwd", 9000)) == PASS);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"pass", 3}, {"drop_pattern", 5}});
    CHECK(prog.dfa().states() > 1);
}

TEST_CASE("trusted sources skip patterns", "[xdp][patterns]") {
    xdp::Program prog(make(R"({"lists": {"trusted": ["198.18.10.0/24"]},
        "patterns": {"sets": {"sqli": ["union select"]}}})"));
    Frame f;
    f.src = "198.18.10.1";
    f.payload = "GET /?q=union select HTTP/1.1\r\n";
    CHECK(run(prog, f.build()) == PASS);
    f.src = "198.18.0.1";
    CHECK(run(prog, f.build()) == DROP);
}

namespace {

// Drains the program's ring buffer.
std::vector<bw_event> read_events(const xdp::Program& prog) {
    std::vector<bw_event> out;
    auto cb = [](void* ctx, void* data, size_t size) {
        if (size >= sizeof(bw_event)) {
            bw_event e{};
            std::memcpy(&e, data, sizeof e);
            static_cast<std::vector<bw_event>*>(ctx)->push_back(e);
        }
        return 0;
    };
    auto* rb = ring_buffer__new(prog.map_fd(BW_MAP_EVENTS), cb, &out, nullptr);
    REQUIRE(rb != nullptr);
    ring_buffer__consume(rb);
    ring_buffer__free(rb);
    return out;
}

std::string addr(const bw_event& e, const uint8_t* a) {
    char buf[64];
    inet_ntop(e.family == 4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
    return buf;
}

Bytes request(const std::string& payload, const std::string& src = "198.18.0.9") {
    Frame f;
    f.src = src;
    f.payload = payload;
    return f.build();
}

}  // namespace

TEST_CASE("normalisation: each rule's encoded attack is dropped, its benign twin passes",
          "[xdp][patterns][decode]") {
    xdp::Program prog(make(R"({"inspect_ports": [80], "patterns": {"sets": {
        "sqli": {"regex": ["'\\s+or\\s+1=1", "\\bunion\\s+select\\b", "x\"\\s+or\\s+2=2"]},
        "xss": {"literals": ["<script"]},
        "traversal": {"regex": ["\\.\\./"]},
        "nul": {"in": ["uri"], "regex": ["\\x00"]},
        "shell": {"regex": ["\\n(id|whoami)[\\n&]"]},
        "overlong": {"raw": true, "literals": ["%c0%ae%c0%ae"]}}}})"));
    REQUIRE(prog.dfa().tables.size() == 2);  // the raw set has a table of its own
    auto verdict = [&](const std::string& target) {
        return run(prog, request("GET " + target + " HTTP/1.1\r\nHost: shop.example\r\n\r\n"));
    };
    struct Twin {
        const char *rule, *attack, *benign;
    };
    const Twin twins[] = {
        {"percent-decoding, any hex case", "/?q=%27%20OR%201%3d1", "/?q=%27%20OR%20one"},
        {"percent-decoding, upper-case hex", "/?q=%3CSCRIPT%3E", "/?q=%3CSPAN%3E"},
        {"one level of double encoding", "/%252e%252e%252fetc/hosts", "/%25252e%25252e%25252f"},
        {"%uXXXX for ASCII", "/?q=%u003cscript%u003e", "/?q=%uFF1Cscript"},
        {"+ as a space", "/?q=1+union+select+2", "/?q=1+union-select+2"},
        {"case folding", "/?q=1%20UnIoN%20SeLeCt%202", "/?q=1%20UnIoN%20SeLeCtEd"},
        {"CR, LF, tab: a pattern's space matches them", "/?q=union%0d%0a%09select",
         "/?q=union%2dselect"},
        {"VT and FF as spaces", "/?q=union%0b%0cselect", "/?q=union%0b%0cselecting"},
        {"an encoded line break is the line break", "/?c=1%0aid&x=1", "/?c=1%20id&x=1"},
        {"an encoded CR LF is one line break", "/?c=1%0D%0Awhoami%0d%0a", "/?c=1%0D%0Awhoami%09"},
        {"%u000a and JSON's \\u000d are line breaks", "/?c=1%u000aid\\u000d",
         "/?c=1%u000aid%u000b"},
        {"SQL comments as a space", "/?q=union/**/select", "/?q=union/*select"},
        {"encoded SQL comments", "/?q=union%2f%2a%2a%2fselect", "/?q=union%2f%2aselect"},
        {"MySQL versioned comments keep their text", "/?q=/*!50000union*/select",
         "/?q=/*!50000union*/selects"},
        {"backslash as slash", "/..\\..\\windows\\win.ini", "/a\\b\\c.ini"},
        {"backslash as slash, encoded", "/..%5c..%5cwindows", "/a%5cb"},
        {"NUL bytes flagged", "/img.php%00.jpg", "/img.php%2000.jpg"},
        {"NUL bytes flagged, double-encoded", "/img.php%2500.jpg", "/img.php%252000.jpg"},
        {"raw sets see the encoding", "/%C0%AE%C0%AE/etc", "/%C0%AE/etc"},
        {"JSON's \\u00XX", "/?q=\\u0027+or+1=1", "/?q=\\u2019+or+1=1"},
        {"JSON's \\u00XX, upper-case hex", "/?q=\\u003Cscript", "/?q=\\uFF1Cscript"},
        {"JSON's \\'", "/?q=\\'+or+1=1", "/?q=\\x27+or+1=1"},
    };
    auto check = [](const auto& list, const auto& send) {
        for (auto& t : list) {
            INFO(t.rule << ": " << t.attack << " / " << t.benign);
            CHECK(send(t.attack) == DROP);
            CHECK(send(t.benign) == PASS);
        }
    };
    check(twins, verdict);
    // A body framed by `framing` (its Content-Length or Transfer-Encoding header).
    auto framed = [&](const std::string& type, const std::string& framing,
                      const std::string& body) {
        return run(prog, request("POST /api/search HTTP/1.1\r\nHost: shop.example\r\n"
                                 "Content-Type: " +
                                 type + "\r\n" + framing + "\r\n\r\n" + body));
    };
    auto post = [&](const std::string& type, const std::string& body) {
        return framed(type, "Content-Length: " + std::to_string(body.size()), body);
    };
    // A JSON API's body: the escaped quote no longer stands between the pattern's parts.
    auto json = [&](const std::string& body) { return post("application/json", body); };
    CHECK(json(R"({"q":"x\u0027 or 1=1"})") == DROP);
    CHECK(json(R"({"q":"x\" or 2=2"})") == DROP);
    CHECK(json(R"({"q":"x\" or 1=1"})") == PASS);  // '"' is not the first pattern's quote
    CHECK(json(R"({"q":"it\u0027s one or two"})") == PASS);
    // The end of the scanned text is a line break too: a form's last value ends there.
    CHECK(json("c=1%0aid") == DROP);
    CHECK(json("c=1%0aidea") == PASS);
    CHECK(json("c=1\r\nid") == PASS);  // raw CR LF: the text's own lines, spaces to a pattern
    // An XML body (one that starts with '<'): its entity references are its escapes, as a
    // form's are %XX. Anywhere else they stay as written.
    auto xml = [&](const std::string& body) { return post("text/xml", body); };
    const Twin refs[] = {
        {"&apos;", "<q>x&apos; or 1=1</q>", "<q>x&APOS; or 1=1</q>"},
        {"&#39;", "<q>x&#39; or 1=1</q>", "<q>x&#39 or 1=1</q>"},
        {"&#x27;", "<q>x&#x27; or 1=1</q>", "<q>x&#x2027; or 1=1</q>"},
        {"&lt;", "<q>&lt;script&gt;</q>", "<q>&lt;span&gt;</q>"},
        {"&quot;", "<q>x&quot; or 2=2</q>", "<q>x&quot or 2=2</q>"},
        {"&#10; is a line break", "<c>1&#10;id&#10;</c>", "<c>1&#32;id&#10;</c>"},
        {"a reference's whitespace", "<q>union&#x20;select</q>", "<q>union&#x2d;select</q>"},
    };
    check(refs, xml);
    // A JSON body's \\n is its line break (an escaped backslash then n is not); only there.
    CHECK(json(R"({"c":"1\nid\n"})") == DROP);
    CHECK(json(R"({"c":"1\r\nwhoami&"})") == DROP);
    CHECK(json(R"({"c":"1\\nid\n"})") == PASS);
    CHECK(json(R"(c=1\nid\n)") == PASS);
    CHECK(json(R"({"q":"x&apos; or 1=1"})") == PASS);  // a JSON body: not XML
    CHECK(xml("x <q>x&apos; or 1=1</q>") == PASS);     // nor a body that starts otherwise
    // A body starts past whitespace and a byte order mark, as the application's parser reads
    // it: a space in front hides nothing.
    CHECK(xml(" \r\n<q>x&apos; or 1=1</q>") == DROP);
    CHECK(xml("\xef\xbb\xbf<q>x&apos; or 1=1</q>") == DROP);
    CHECK(json(" \n\t{\"c\":\"1\\nid\\n\"}") == DROP);
    CHECK(verdict("/?q=x&apos;+or+1=1") == PASS);  // nor the query
    // A chunked body is de-chunked before it is decoded, when the headers say it is chunked.
    auto chunked = [&](const std::string& type, const std::string& body) {
        return framed(type, "Transfer-Encoding: chunked", body);
    };
    CHECK(chunked("text/xml", "15\r\n<q>x&apos; or 1=1</q>\r\n0\r\n\r\n") == DROP);
    CHECK(chunked("text/xml", "15\r\n<q>x&APOS; or 1=1</q>\r\n0\r\n\r\n") == PASS);
    CHECK(chunked("application/json", "10\r\n{\"c\":\"1\\nid\\n\"}\r\n0\r\n\r\n") == DROP);
    CHECK(chunked("application/json", "11\r\n{\"c\":\"1\\\\nid\\n\"}\r\n0\r\n\r\n") == PASS);
    // sqlmap's --chunked: keywords cut across chunks, each size line with an extension. The
    // same bytes sent with a Content-Length are text whose size lines cut the keywords.
    const std::string cut =
        "7;Ab3dE\r\nq=1 UNI\r\n8;xY9zQ\r\nON SELEC\r\n6;Tq\r\nT 1,2\r\n0\r\n\r\n";
    CHECK(chunked("application/x-www-form-urlencoded", cut) == DROP);
    CHECK(post("application/x-www-form-urlencoded", cut) == PASS);
    CHECK(chunked("text/xml", "6\r\n<q>x&a\r\n3\r\npos\r\n0c\r\n; or 1=1</q>\r\n0\r\n\r\n") ==
          DROP);
    CHECK(chunked("text/plain", "6\r\nunion \r\n7\r\nselects\r\n0\r\n\r\n") == PASS);
}

TEST_CASE("sets look where they say: request line, a named header, the body", "[xdp][patterns]") {
    xdp::Program prog(make(R"({"inspect_ports": [80], "patterns": {"sets": {
        "scanners": {"in": ["user-agent"], "literals": ["sqlmap"]},
        "body_xss": {"in": ["body"], "regex": ["<\\s*script\\b"]},
        "uri_only": {"in": ["uri"], "literals": ["/etc/passwd"]}}}})"));
    auto verdict = [&](const std::string& payload) { return run(prog, request(payload)); };
    CHECK(verdict("GET / HTTP/1.1\r\nUser-Agent: sqlmap/1.7\r\n\r\n") == DROP);
    CHECK(verdict("GET /sqlmap HTTP/1.1\r\nUser-Agent: curl/8\r\n\r\n") == PASS);
    CHECK(verdict("GET / HTTP/1.1\r\nReferer: http://x/sqlmap\r\n\r\n") == PASS);
    CHECK(verdict("GET / HTTP/1.1\r\nCookie: a=<script>\r\n\r\n") == PASS);
    CHECK(verdict("GET /?a=<script> HTTP/1.1\r\n\r\n") == PASS);
    CHECK(verdict("GET /file?f=/etc/passwd HTTP/1.1\r\n\r\n") == DROP);
    CHECK(verdict("POST / HTTP/1.1\r\nX-Note: /etc/passwd\r\n\r\n") == PASS);
    // A body behind 900 bytes of browser-like headers is still scanned (scan_bytes 1460).
    std::string post =
        "POST /comment HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: " + std::string(400, 'M') +
        "\r\nCookie: " + std::string(500, 'c') +
        "\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n";
    CHECK(verdict(post + "text=%3Cscript%3Ealert(1)") == DROP);
    CHECK(verdict(post + "text=a+script+for+the+play") == PASS);
    // A later segment of a long request carries no request line: it is body.
    CHECK(verdict("more of the body <script>alert(1)</script>") == DROP);
    // Under any method: a scanner that sends PROPFIND, a lower-case `get` (which Apache hands
    // to PHP), a cookie under WebDAV's REPORT is not body.
    CHECK(verdict("PROPFIND / HTTP/1.1\r\nUser-Agent: sqlmap/1.7\r\n\r\n") == DROP);
    CHECK(verdict("get /file?f=/etc/passwd HTTP/1.1\r\n\r\n") == DROP);
    CHECK(verdict("REPORT / HTTP/1.1\r\nCookie: a=<script>\r\n\r\n") == PASS);
    CHECK(verdict("REPORT / HTTP/1.1\r\n\r\n<script>") == DROP);
}

// Bytes as a compressed file has them: about one in nine a control byte, short runs of ASCII
// between, and "'#" (what a short SQL rule matches) at `at`. `text`: the control bytes
// replaced by letters, the same ASCII runs.
namespace {
std::string binary_file(size_t n, size_t at, bool text = false) {
    std::string b;
    for (size_t i = 0; i < n; ++i)
        b += static_cast<char>(i % 9 == 0 ? (text ? 'q' : 0x01 + i % 7) : 'a' + (i * 7) % 26);
    b.replace(at, 2, "'#");
    return b;
}
}  // namespace

TEST_CASE("a binary body is not scanned; the headers before it and a text body are",
          "[xdp][patterns][binary]") {
    xdp::Program prog(make(R"j({"inspect_ports": [80], "patterns": {"sets": {
        "sqli": {"regex": ["'\\s*(--|#)"]}, "xss": {"literals": ["<script"]}}}})j"));
    // A later segment of an upload: all body.
    CHECK(run(prog, request(binary_file(1400, 700))) == PASS);
    CHECK(run(prog, request(binary_file(1400, 700, true))) == DROP);
    // A short tail of one (the last segment before the closing boundary).
    CHECK(run(prog, request(binary_file(20, 10) + "\r\n--b--\r\n")) == PASS);
    // The first segment: the request's headers, a part's headers, the file's first bytes.
    auto upload = [&](const std::string& extra_header, bool text) {
        return run(prog, request("POST /upload HTTP/1.1\r\nHost: shop.example\r\n" + extra_header +
                                 "Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
                                 "Content-Disposition: form-data; name=\"f\"; filename=\"a.gz\"\r\n"
                                 "Content-Type: application/gzip\r\n\r\n" +
                                 binary_file(1000, 500, text)));
    };
    CHECK(upload("", false) == PASS);
    CHECK(upload("", true) == DROP);
    CHECK(upload("User-Agent: <script>\r\n", false) == DROP);
    // Control bytes too few to make a body binary (one in 20), or a body too short to tell.
    std::string sparse(400, 'x');
    for (size_t i = 0; i < sparse.size(); i += 20) sparse[i] = '\x02';
    CHECK(run(prog, request("POST /c HTTP/1.1\r\n\r\n" + sparse + "'--")) == DROP);
    CHECK(run(prog, request("POST /c HTTP/1.1\r\n\r\n\x01\x02\x03'--")) == DROP);
    // A policy that takes no uploads scans them anyway.
    xdp::Program strict(make(R"j({"inspect_ports": [80], "patterns": {"binary_bodies": "scan",
        "sets": {"sqli": {"regex": ["'\\s*(--|#)"]}}}})j"));
    CHECK(run(strict, request(binary_file(1400, 700))) == DROP);
}

TEST_CASE("policies/web.json's tables in lanes: the kernel drops what the userspace scan finds",
          "[xdp][patterns][lanes]") {
    auto p = policy::load_policy(harness::env("BULWARK_SOURCE_DIR") + "/policies/web.json");
    // Four tables, then fewer sets in two and three (each lane count has its own steps in the
    // one callback).
    const std::vector<std::string> keep[] = {
        {}, {"sqli", "rce"}, {"sqli", "rce", "php", "xss", "java"}};
    const size_t want_tables[] = {4, 2, 3};
    const size_t variant = GENERATE(0, 1, 2);
    if (!keep[variant].empty())
        std::erase_if(p.pattern_sets, [&](const policy::PatternSet& s) {
            return std::find(keep[variant].begin(), keep[variant].end(), s.name) ==
                   keep[variant].end();
        });
    policy::Rate huge = policy::parse_rate("1000000000/second");
    huge.burst = 1'000'000'000;
    p.default_limits.packets = p.default_limits.connections = p.default_limits.requests = huge;
    p.rules.clear();
    p.max_sources = 8192;
    xdp::Program prog(p);
    const auto& a = prog.dfa();
    REQUIRE(a.tables.size() == want_tables[variant]);  // none raw: scan_lanes
    for (auto& t : a.tables) REQUIRE(!t.raw);
    // Requests of random fragments, attack-like and ordinary, in the path, headers and body.
    const char* frags[] = {
        "union select", "' or 1=1--", "<script>", "../", "/etc/passwd", ";cat /etc/hosts",
        "${jndi:ldap://x/a}", "php://input", "sqlmap", "%27%20or%20%271%27%3D%271",
        "onerror=", "<?php", "%2e%2e%2f", "union/**/select", "shop", "chair", "select", "union",
        "or", "the", "cat", "'", "\"", ";", "/", "%20", "+", "=", "&", "?", "a", "1", "%0d%0a",
        "\\", "etc", "passwd", "script", "(", ")", "$", "{",
        // What tells a body's kind (bw_body_kind) and the escapes it enables.
        " ", "\r\n", "1a\r\n", "\xef\xbb\xbf", "<q>", "&lt;", "&apos;", "&#x27;", "\\n",
        // Chunks' size lines (bw_dechunk_step), read as such under Transfer-Encoding: chunked.
        "3\r\n", "5;x=y\r\n", "\r\n2\r\n", "0\r\n\r\n", "\n"};
    std::mt19937 rng(20261130);
    auto text = [&](int n) {
        std::string t;
        for (int i = 0; i < n; ++i) t += frags[rng() % std::size(frags)];
        return t;
    };
    // Listed methods, and others (bw_is_request's steps): a request when the whole line is a
    // request line (no space in the target), else all body; a 21-byte one is never a method.
    const std::string methods[] = {
        "GET", "GET", "POST", "PROPFIND", "get", "M-SEARCH", std::string(21, 'M')};
    int drops = 0, n = 4000;
    for (int i = 0; i < n; ++i) {
        std::string req = methods[rng() % std::size(methods)] + " /" +
                          text(1 + static_cast<int>(rng() % 6)) + " HTTP/1.1\r\n" +
                          "Host: shop.example\r\nUser-Agent: " + text(static_cast<int>(rng() % 3)) +
                          "\r\nCookie: s=" + text(static_cast<int>(rng() % 3)) + "\r\n";
        std::string body = text(static_cast<int>(rng() % 8));
        if (rng() % 3 == 0) {  // chunked: a first size line, then the fragments' own
            char size[16];
            std::snprintf(size, sizeof size, "%x%s\r\n", static_cast<unsigned>(rng() % 40),
                          rng() % 2 ? ";k=v" : "");
            req += "Transfer-Encoding: chunked\r\n";
            body = size + body;
        }
        req += "\r\n" + body;
        if (rng() % 4 == 0) req = text(1 + static_cast<int>(rng() % 10));  // a later segment
        uint32_t want = automaton::scan(a, req, p.scan_bytes);
        frames::Frame f;
        // 198.19/16: outside web.json's deny, trusted and suspicious ranges.
        f.src = "198.19." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
        f.payload = req;
        INFO(i << ": " << req);
        int got = run(prog, f.build());
        REQUIRE(got == (want ? DROP : PASS));
        if (want) {
            ++drops;
            auto ev = read_events(prog);  // one per new source: the pattern that fired
            REQUIRE(ev.size() == 1);
            CHECK(ev[0].detail == want);
        }
    }
    CHECK(drops > n / 10);  // the mix has both
    CHECK(drops < n - n / 10);
}

namespace {

// The kernel address of a symbol in /proc/kallsyms, 0 if absent or hidden (kptr_restrict).
uint64_t kallsym(const std::string& name) {
    FILE* f = std::fopen("/proc/kallsyms", "re");
    if (!f) return 0;
    char line[512];
    uint64_t addr = 0;
    while (!addr && std::fgets(line, sizeof line, f)) {
        unsigned long long a;
        char type, sym[256];
        if (std::sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 && name == sym) addr = a;
    }
    std::fclose(f);
    return addr;
}

}  // namespace

TEST_CASE("the verifier inlines every bpf_loop of the program, the lanes' included",
          "[xdp][patterns][lanes]") {
    // An inlined bpf_loop calls its callback directly; one that is not goes through the helper,
    // an indirect call per iteration (a retpoline on this CI machine): the lanes once cost a
    // fifth more per byte that way, after clang merged three calls with different callbacks
    // into one, which the verifier cannot inline. A helper call in the translated program
    // holds the helper's address minus __bpf_call_base.
    uint64_t loop = kallsym("bpf_loop"), base = kallsym("__bpf_call_base");
    REQUIRE(loop != 0);  // root reads kallsyms
    REQUIRE(base != 0);
    const auto want = static_cast<int32_t>(loop - base);
    auto p = policy::load_policy(harness::env("BULWARK_SOURCE_DIR") + "/policies/web.json");
    p.max_sources = 4096;
    xdp::Program prog(p);
    REQUIRE(prog.dfa().tables.size() > 1);  // the lanes run
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(prog.prog_fd(), &info, &len) == 0);
    std::vector<bpf_insn> insns(info.xlated_prog_len / sizeof(bpf_insn));
    REQUIRE(!insns.empty());
    const uint32_t n = info.xlated_prog_len;
    info = {};
    info.xlated_prog_len = n;
    info.xlated_prog_insns = reinterpret_cast<uint64_t>(insns.data());
    len = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(prog.prog_fd(), &info, &len) == 0);
    size_t helper_calls = 0, loops = 0;
    for (const auto& in : insns) {
        if (in.code != (BPF_JMP | BPF_CALL) || in.src_reg != 0) continue;
        ++helper_calls;
        if (in.imm == want) ++loops;
    }
    CHECK(helper_calls > 0);  // the scan reads helpers' addresses at all
    CHECK(loops == 0);
}

TEST_CASE("rules: an exempt prefix skips the request limit, a limited one has its own bucket",
          "[xdp][rules]") {
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "limits": {"default": {"requests": {"rate": "1/day", "burst": 3}}},
        "rules": [{"match": "GET /api/health", "action": "exempt"},
                  {"match": "POST /api/session/start", "limit": {"rate": "1/day", "burst": 1}},
                  {"match": "PROPFIND /dav/", "action": "exempt"}]})"));
    // Exempt: any number of health checks, and they leave the request bucket alone; so do a
    // WebDAV client's listings, under a method the guard does not list.
    for (int i = 0; i < 10; ++i) {
        CHECK(run(prog, request("GET /api/health HTTP/1.1\r\n\r\n")) == PASS);
        CHECK(run(prog, request("PROPFIND /dav/a/ HTTP/1.1\r\nDepth: 1\r\n\r\n")) == PASS);
    }
    // The limited rule: its burst of 1, then drop_rule, while plain requests still pass.
    CHECK(run(prog, request("POST /api/session/start HTTP/1.1\r\n\r\n")) == PASS);
    CHECK(run(prog, request("POST /api/session/start?x=1 HTTP/1.1\r\n\r\n")) == DROP);
    // Another source has its own rule bucket.
    CHECK(run(prog, request("POST /api/session/start HTTP/1.1\r\n\r\n", "198.18.0.10")) == PASS);
    // Anchored and case-sensitive: these are ordinary requests, not the rule.
    CHECK(run(prog, request("POST /API/session/start HTTP/1.1\r\n\r\n")) == PASS);
    CHECK(run(prog, request("GET /x/api/health HTTP/1.1\r\n\r\n")) == PASS);
    // The request bucket (burst 3) took: POST start (passed rule) + the two above = 3.
    CHECK(run(prog, request("GET / HTTP/1.1\r\n\r\n")) == DROP);
    CHECK(run(prog, request("GET /api/health HTTP/1.1\r\n\r\n")) == PASS);  // still exempt
    CHECK(counts(prog) == std::map<std::string, uint64_t>{
                              {"pass", 25}, {"drop_rule", 1}, {"drop_rate_requests", 1}});
}

// A rule compared with the raw line was dodged by any other spelling of its path that the
// server behind routes the same: each of these passed the limited rule before, or gained the
// exempt one's pass for another path.
TEST_CASE("rules: the path is compared as the server routes it", "[xdp][rules]") {
    auto prog_of = [] {
        return make(R"({"inspect_ports": [80],
            "limits": {"default": {"requests": {"rate": "1/day", "burst": 2}}},
            "rules": [{"match": "GET /api/health", "action": "exempt"},
                      {"match": "POST /api/session/start", "limit": {"rate": "1/day",
                                                                    "burst": 1}}]})");
    };
    // Each spelling from a source of its own whose rule bucket the plain request emptied:
    // drop_rule. Before the change each passed (the request bucket's burst of 2).
    const std::vector<std::string> spellings = {
        "/api/session/%73tart",
        "/api/session%2Fstart",
        "//api//session/start",
        "/api/./session/start",
        "/api/x/../session/start",
        "/api\\session\\start",
        "http://app.example/api/session/start",
        "/api;v=2/session/start",
        "/" + std::string(300, 'x') + "/../api/session/start",
    };
    xdp::Program prog(prog_of());
    int n = 0;
    for (auto& path : spellings) {
        INFO(path);
        std::string src = "198.18.0." + std::to_string(20 + n++);
        CHECK(run(prog, request("POST /api/session/start HTTP/1.1\r\n\r\n", src)) == PASS);
        CHECK(run(prog, request("POST " + path + " HTTP/1.1\r\n\r\n", src)) == DROP);
    }
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"pass", spellings.size()},
                                                          {"drop_rule", spellings.size()}});

    // The exempt rule: "/api/health/../../admin" is /admin, held to the request bucket (burst
    // 2: the third drops), while "/api/x/../health" is the health check and stays exempt.
    xdp::Program exempt(prog_of());
    CHECK(run(exempt, request("GET /api/health/../../admin HTTP/1.1\r\n\r\n")) == PASS);
    CHECK(run(exempt, request("GET /api/health/%2e%2e/%2e%2e/admin HTTP/1.1\r\n\r\n")) == PASS);
    CHECK(run(exempt, request("GET /api/health%3F/../../admin HTTP/1.1\r\n\r\n")) == DROP);
    // Tomcat's "..;" is ".." too: /admin, from a source of its own, its burst of 2 then dropped.
    for (int i = 0; i < 3; ++i)
        CHECK(run(exempt, request("GET /api/health/..;/..;/admin HTTP/1.1\r\n\r\n",
                                  "198.18.0.61")) == (i < 2 ? PASS : DROP));
    for (int i = 0; i < 5; ++i)
        CHECK(run(exempt, request("GET /api/x/../health HTTP/1.1\r\n\r\n")) == PASS);
    // A ".." out of a path nested deeper than the 32 slashes recorded: no client sends it, one
    // dodging a rule does; dropped as a rule's drop. 31 deep is resolved, and exempt.
    auto nest = [](int d) {
        std::string s;
        for (int i = 0; i < d; ++i) s += "/a";
        for (int i = 0; i < d; ++i) s += "/..";
        return "GET " + s + "/api/health HTTP/1.1\r\n\r\n";
    };
    CHECK(run(exempt, request(nest(31))) == PASS);
    CHECK(run(exempt, request(nest(40), "198.18.0.60")) == DROP);
    CHECK(counts(exempt) == std::map<std::string, uint64_t>{
                                {"pass", 10}, {"drop_rate_requests", 2}, {"drop_rule", 1}});
}

TEST_CASE("empty lines before a request line leave it a request: counted, ruled and scanned",
          "[xdp][rules]") {
    // nginx, Apache and Node skip CR and LF before a request line (RFC 9112 2.2), so
    // "\r\nPOST /login" is a login to them. Before, it was no request to the guard: no request
    // bucket, no rule, and the empty lines spent the scan window. Each of these fails on the
    // old program.
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "limits": {"default": {"requests": {"rate": "1/day", "burst": 3}}},
        "rules": [{"match": "POST /login", "limit": {"rate": "1/day", "burst": 1}}],
        "patterns": {"scan_bytes": 100, "sets": {"xss": ["<script"]}}})"));
    auto send = [&](const std::string& payload, const char* src) {
        return run(prog, request(payload, src));
    };
    const std::string login = "POST /login HTTP/1.1\r\nContent-Length: 3\r\n\r\na=b";
    CHECK(send(login, "198.18.0.30") == PASS);
    // Each from the same source, its rule bucket spent: empty lines of every kind and length,
    // past the 64 bytes a rule reads and the 100 the scan loads.
    for (auto lead : {std::string("\r\n"), std::string("\n"), std::string("\r\n\r\n\n"),
                      std::string(7, '\n'), std::string(8, '\r'), std::string(300, '\n')}) {
        INFO(lead.size());
        CHECK(send(lead + login, "198.18.0.30") == DROP);
    }
    // The request bucket (burst 3) counts requests after empty lines; a segment of nothing
    // but empty lines is no request and passes.
    for (int i = 0; i < 3; ++i) CHECK(send("\r\nGET / HTTP/1.1\r\n\r\n", "198.18.0.31") == PASS);
    CHECK(send(std::string(600, '\n'), "198.18.0.31") == PASS);
    CHECK(send("\r\n\r\nGET / HTTP/1.1\r\n\r\n", "198.18.0.31") == DROP);
    // The scan window starts at the request line: an attack 60 bytes into it is seen after
    // 200 empty lines (the window was spent on them), and its benign twin passes.
    const std::string lines(400, '\n'), pad(50, 'a');
    CHECK(send(lines + "GET /?q=" + pad + "<script>x</script> HTTP/1.1\r\n\r\n", "198.18.0.32") ==
          DROP);
    CHECK(send(lines + "GET /?q=" + pad + "<b>x</b> HTTP/1.1\r\n\r\n", "198.18.0.33") == PASS);
    CHECK(counts(prog) ==
          std::map<std::string, uint64_t>{
              {"pass", 6}, {"drop_rule", 6}, {"drop_rate_requests", 1}, {"drop_pattern", 1}});
}

TEST_CASE("pipelined requests count and are ruled one by one; a body's text is none",
          "[xdp][rules]") {
    // HTTP/1.1 lets a client send requests before the answers, several in one segment. Before,
    // a segment was one request to the limits, its first: an exempt health check and then
    // logins passed any login limit, and five GETs took one token. Each DROP below passed on
    // the old program.
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "limits": {"default": {"requests": {"rate": "1/day", "burst": 4}}},
        "rules": [{"match": "GET /api/health", "action": "exempt"},
                  {"match": "POST /login", "limit": {"rate": "1/day", "burst": 1}}],
        "patterns": {"sets": {"xss": ["<script"]}}})"));
    auto send = [&](const std::string& payload, const char* src) {
        return run(prog, request(payload, src));
    };
    const std::string health = "GET /api/health HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string login = "POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\nu=a&p=b";
    const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    // The login's burst spent, logins pipelined after a health check are the rule's drops.
    CHECK(send(login, "198.18.0.40") == PASS);
    CHECK(send(health + login + login + login, "198.18.0.40") == DROP);
    // One login after a health check is within the burst; the next login is not.
    CHECK(send(health + login, "198.18.0.41") == PASS);
    CHECK(send(login, "198.18.0.41") == DROP);
    // The request bucket (burst 4) takes a token for each request of a segment.
    CHECK(send(get + get + get + get + get, "198.18.0.42") == DROP);
    CHECK(send(get + get + get + get, "198.18.0.43") == PASS);
    CHECK(send(get, "198.18.0.43") == DROP);
    // Exempt requests take none, after empty lines and bare LFs too.
    std::string checks;
    for (int i = 0; i < 10; ++i) checks += (i % 2 ? "\r\n" : "") + health;
    CHECK(send(checks, "198.18.0.44") == PASS);
    CHECK(send("GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\n\n" + get + get, "198.18.0.44") == PASS);
    // A body is read to its Content-Length: text in it that looks like a login is no request.
    const std::string text = "note=\r\n\r\nPOST /login HTTP/1.1\r\n\r\n";
    const std::string post =
        "POST /notes HTTP/1.1\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n" +
        text;
    CHECK(send(login, "198.18.0.45") == PASS);
    CHECK(send(post, "198.18.0.45") == PASS);
    CHECK(send(post + post, "198.18.0.45") == PASS);
    // A chunked body is walked to its last chunk and trailers: a login after it is a login.
    const std::string chunked =
        "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;x=1\r\nab\r\nc\r\n0\r\nX-Sum: 1\r\n\r\n";
    CHECK(send(login, "198.18.0.46") == PASS);
    CHECK(send(chunked + login, "198.18.0.46") == DROP);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{
                              {"pass", 9}, {"drop_rule", 3}, {"drop_rate_requests", 2}});
}

TEST_CASE("drops become ring-buffer events, throttled per source and reason", "[xdp][events]") {
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "lists": {"deny": ["198.18.30.0/24"]},
        "rules": [{"match": "POST /login", "limit": {"rate": "1/day", "burst": 1}}],
        "patterns": {"sets": {"sqli": ["union select"], "traversal": ["../"]}},
        "events": {"per_source_per_second": 2}})"));
    // Five pattern drops from one source within a second: two events (the throttle).
    for (int i = 0; i < 5; ++i)
        CHECK(run(prog, request("GET /?q=1 UNION SELECT x HTTP/1.1\r\n")) == DROP);
    // Another reason from the same source has its own allowance; so does another source.
    CHECK(run(prog, request("POST /login HTTP/1.1\r\n\r\n")) == PASS);
    CHECK(run(prog, request("POST /login HTTP/1.1\r\n\r\n")) == DROP);
    CHECK(run(prog, request("GET /../../etc HTTP/1.1\r\n", "198.18.0.10")) == DROP);
    CHECK(run(prog, request("GET / HTTP/1.1\r\n", "198.18.30.1")) == DROP);
    // Passing traffic makes no events.
    CHECK(run(prog, request("GET / HTTP/1.1\r\n", "198.18.0.11")) == PASS);

    auto ev = read_events(prog);
    REQUIRE(ev.size() == 5);
    CHECK(ev[0].reason == BW_DROP_PATTERN);
    CHECK(ev[0].detail == 1);  // "union select", the first pattern
    CHECK(addr(ev[0], ev[0].src) == "198.18.0.9");
    CHECK(addr(ev[0], ev[0].dst) == "198.18.0.2");
    CHECK(ev[0].sport == 40000);
    CHECK(ev[0].dport == 80);
    CHECK(ev[0].proto == IPPROTO_TCP);
    CHECK(ev[0].family == 4);
    CHECK(ev[0].len == request("GET /?q=1 UNION SELECT x HTTP/1.1\r\n").size());
    CHECK(ev[1].reason == BW_DROP_PATTERN);
    CHECK(ev[2].reason == BW_DROP_RULE);
    CHECK(ev[2].detail == 1);
    CHECK(ev[3].reason == BW_DROP_PATTERN);
    CHECK(ev[3].detail == 2);  // "../"
    CHECK(addr(ev[3], ev[3].src) == "198.18.0.10");
    CHECK(ev[4].reason == BW_DROP_DENY);
    CHECK(addr(ev[4], ev[4].src) == "198.18.30.1");
    CHECK(ev[1].time_ns >= ev[0].time_ns);
    CHECK(xdp::read_events_lost(prog.map_fd(BW_MAP_EVENTS_LOST)) == 0);
}

TEST_CASE("a source's rate drops share one event allowance", "[xdp][events]") {
    xdp::Program prog(make(R"({"limits": {"default": {
            "packets": {"rate": "1/day", "burst": 3},
            "connections": {"rate": "1/day", "burst": 1}}},
        "events": {"per_source_per_second": 2}})"));
    Frame syn;
    syn.tcp_flags = 0x02;
    CHECK(run(prog, syn.build()) == PASS);
    // Two connection-limit drops use the allowance; the packet-limit drops after them are the
    // same RATE_LIMIT_EXCEEDED and send nothing.
    for (int i = 0; i < 5; ++i) CHECK(run(prog, syn.build()) == DROP);
    Frame other = syn;
    other.src = "198.18.0.10";
    CHECK(run(prog, other.build()) == PASS);
    CHECK(run(prog, other.build()) == DROP);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{
                              {"pass", 2}, {"drop_rate_connections", 3}, {"drop_rate_packets", 3}});
    auto ev = read_events(prog);
    REQUIRE(ev.size() == 3);
    CHECK(ev[0].reason == BW_DROP_RATE_CONNECTIONS);
    CHECK(ev[1].reason == BW_DROP_RATE_CONNECTIONS);
    CHECK(ev[2].reason == BW_DROP_RATE_CONNECTIONS);
    CHECK(addr(ev[2], ev[2].src) == "198.18.0.10");
}

TEST_CASE("a full ring buffer counts every event it could not take", "[xdp][events]") {
    xdp::Program prog(make(R"({"lists": {"deny": ["198.18.0.0/15"]}})"));
    // Distinct sources, so the per-source throttle lets each through: more than the ring holds.
    const int sent = 20000;
    Frame f;
    for (int i = 0; i < sent; ++i) {
        f.src = "198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
        REQUIRE(run(prog, f.build()) == DROP);
    }
    auto got = read_events(prog).size();
    auto lost = xdp::read_events_lost(prog.map_fd(BW_MAP_EVENTS_LOST));
    CHECK(got > 0);
    CHECK(lost > 0);
    CHECK(got + lost == static_cast<uint64_t>(sent));
    CHECK(got < BW_EVENTS_RING_BYTES / sizeof(bw_event));
}

TEST_CASE(
    "long payloads: the kernel's verdict equals the userspace reference, stream splits included",
    "[xdp][patterns]") {
    // Requests and bare payloads of every length class, patterns (and long runs inside them)
    // planted around the points where the kernel's four streams start; the kernel's verdict
    // must equal automaton::scan, which runs the same decoder, plan and table step for step.
    auto p = make(R"J({"inspect_ports": [80], "patterns": {"scan_bytes": 1460,
        "sets": {"a": ["union select", "<script", "../"], "b": {"regex": ["\\bor\\s+\\d+=\\d+",
        "/etc/(?:passwd|shadow)"]}, "c": {"in": ["user-agent"], "literals": ["sqlmap"]},
        "d": {"raw": true, "literals": ["%2e%2e"]}}}})J");
    xdp::Program prog(p);
    // The raw set is a second table, scanned after the first.
    REQUIRE(prog.dfa().tables.size() == 2);
    CHECK(prog.dfa().tables[1].raw);
    std::mt19937 rng(7);
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyz /.=&?%2";
    const char* plant[] = {"union select", "union/**/select", "union%20%20select",
                           "<script",      "..%2f",           " or 2=2",
                           "/etc/shadow",  "sqlmap",          "%2E%2e"};
    int drops = 0, passes = 0;
    for (size_t len : {15u, 16u, 40u, 64u, 100u, 511u, 512u, 1000u, 1459u, 1460u, 1600u}) {
        for (int http = 0; http < 2; ++http) {
            std::string head = http ? "POST /form HTTP/1.1\r\nHost: shop\r\nUser-Agent: x\r\n"
                                      "Cookie: a=b\r\n\r\n"
                                    : "";
            std::string base = head;
            while (base.size() < len) base += alphabet[rng() % alphabet.size()];
            auto dec = automaton::decode(base, 1460, http);
            bw_plan plan{};
            auto& t = prog.dfa().tables[0];
            auto kd = automaton::to_kernel(t);
            bw_plan_scan(reinterpret_cast<const uint8_t*>(dec.text.data()), dec.lines.data(),
                         static_cast<uint32_t>(dec.lines.size()), dec.hdr_end,
                         static_cast<uint32_t>(dec.text.size()), http, t.table.data(), &kd,
                         kd.start, &plan);
            std::vector<size_t> where = {0, len / 2};
            for (unsigned k = 0; k < BW_SCAN_STREAMS; ++k)
                for (int d = -10; d <= 10; ++d)
                    where.push_back(static_cast<size_t>(std::clamp<long>(
                        static_cast<long>(plan.start[k]) + d, 0, static_cast<long>(len))));
            for (size_t at : where) {
                std::string text = base;
                std::string pat = plant[rng() % std::size(plant)];
                if (rng() % 4 == 0) pat.insert(pat.size() / 2, std::string(rng() % 60, ' '));
                if (at >= head.size() && at + pat.size() <= text.size())
                    text.replace(at, pat.size(), pat);
                bool want = automaton::scan(prog.dfa(), text, 1460) != 0;
                Frame f;
                f.sport = static_cast<uint16_t>(40000 + (drops + passes) % 20000);
                f.payload = text;
                int got = run(prog, f.build());
                INFO("len " << len << " http " << http << " at " << at << " pattern " << pat);
                CHECK(got == (want ? DROP : PASS));
                (want ? drops : passes)++;
            }
        }
    }
    CHECK(drops > 100);
    CHECK(passes > 20);
}

TEST_CASE("200,000 random and mutated frames: only pass or drop, every one counted",
          "[xdp][robust]") {
    // Every feature on, so every path is reachable: lists, limits, rules, patterns, fragments.
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "lists": {"deny": ["198.18.30.0/24", "2001:db8:dead::/48"], "trusted": ["198.18.10.0/24"],
                  "suspicious": ["198.18.20.0/24"]},
        "limits": {"default": {"packets": {"rate": "1000/second", "burst": 50},
                               "connections": {"rate": "10/second", "burst": 5},
                               "requests": {"rate": "10/second", "burst": 5}}},
        "rules": [{"match": "GET /health", "action": "exempt"},
                  {"match": "POST /login", "limit": {"rate": "1/minute", "burst": 2}}],
        "patterns": {"sets": {"sqli": ["union select", "' or 1=1"], "traversal": ["../"]}},
        "fragments": "drop", "events": {"per_source_per_second": 5}})"));
    std::vector<Bytes> seeds;
    for (auto src : {"198.18.0.9", "198.18.30.1", "198.18.10.5", "198.18.20.7"}) {
        Frame f;
        f.src = src;
        f.payload = "GET /?q=1 UNION SELECT x HTTP/1.1\r\nHost: a\r\n\r\n";
        seeds.push_back(f.build());
        f.payload = "POST /login HTTP/1.1\r\n\r\n";
        f.vlans = {100};
        seeds.push_back(f.build());
    }
    Frame v6;
    v6.v6 = true;
    v6.src = "2001:db8:1::1";
    v6.dst = "2001:db8::2";
    v6.v6_ext = {0, 60, 44};
    v6.payload = "GET /../../etc/passwd HTTP/1.1\r\n";
    seeds.push_back(v6.build());
    Frame syn;
    syn.tcp_flags = 0x02;
    seeds.push_back(syn.build());
    Frame udp;
    udp.proto = IPPROTO_UDP;
    udp.frag_off = 0x2000;  // more fragments
    seeds.push_back(udp.build());

    const uint64_t seed = 20261125;
    std::mt19937_64 rng(seed);
    INFO("seed " << seed);
    const int total = 200000;
    int aborted = 0, other = 0;
    for (int i = 0; i < total; ++i) {
        Bytes f;
        if (i % 4 == 0) {
            // Random bytes of a random length, with a plausible ethertype half the time.
            f.resize(14 + rng() % 200);
            for (auto& b : f) b = static_cast<uint8_t>(rng());
            if (rng() & 1) put16(f, 12, (rng() & 1) ? ETH_P_IP : ETH_P_IPV6);
        } else {
            f = seeds[rng() % seeds.size()];
            int edits = 1 + static_cast<int>(rng() % 8);
            for (int e = 0; e < edits; ++e) {
                if (f.size() <= 14) break;  // only the Ethernet header left
                switch (rng() % 4) {
                    case 0:  // flip a byte past the MACs
                        f[14 + rng() % (f.size() - 14)] ^= static_cast<uint8_t>(1 + rng() % 255);
                        break;
                    case 1:  // cut the frame short
                        f.resize(std::max<size_t>(14, f.size() - rng() % f.size()));
                        break;
                    case 2:  // grow it with junk
                        for (int n = static_cast<int>(rng() % 64); n > 0; --n)
                            f.push_back(static_cast<uint8_t>(rng()));
                        break;
                    default:  // a random header field to an extreme
                        f[14 + rng() % std::min<size_t>(60, f.size() - 14)] =
                            (rng() & 1) ? 0 : 0xff;
                }
            }
        }
        int v = run(prog, f);
        aborted += v == 0;
        other += v != PASS && v != DROP && v != 0;
    }
    CHECK(aborted == 0);
    CHECK(other == 0);
    uint64_t counted = 0;
    for (auto& c : prog.counters()) counted += c.packets;
    CHECK(counted == static_cast<uint64_t>(total));
    // The mutations reached every verdict, not just the malformed-header check.
    auto seen = counts(prog);
    INFO("verdicts " << Json(seen).dump());
    for (auto r : {"pass", "pass_trusted", "drop_deny", "drop_rate_packets", "drop_rate_requests",
                   "drop_rule", "drop_pattern", "drop_malformed"})
        CHECK(seen[r] > 0);
}

namespace {

// The kernel's time as the program reads it: the tick clock when the policy chose it.
uint64_t kernel_now(const xdp::Program& prog) {
    uint32_t gen = xdp::active_generation(prog.maps());
    bw_config cfg{};
    REQUIRE(bpf_map_lookup_elem(prog.map_fd(BW_MAP_CONFIG), &gen, &cfg) == 0);
    return static_cast<uint64_t>(
        clock_ns(cfg.coarse_clock ? CLOCK_MONOTONIC_COARSE : CLOCK_MONOTONIC));
}

// Blocks until the program's clock has passed `deadline_ns` (a ban's end): the wait is for
// the kernel's own deadline, measured on its clock.
void wait_past(const xdp::Program& prog, uint64_t deadline_ns) {
    // One reading per turn: a second one could pass the deadline and make `left` wrap.
    for (uint64_t now = kernel_now(prog); now <= deadline_ns; now = kernel_now(prog)) {
        auto left = deadline_ns - now + 1;
        timespec ts{static_cast<time_t>(left / 1'000'000'000ull),
                    static_cast<long>(left % 1'000'000'000ull)};
        nanosleep(&ts, nullptr);
    }
}

std::vector<guard::BanEntry> bans_of(const xdp::Program& prog) {
    return guard::read_bans(prog.map_fd(BW_MAP_BANS));
}

}  // namespace

TEST_CASE("bans: the offence that completes `after` bans the source from its next packet",
          "[xdp][bans]") {
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "patterns": {"sets": {"sqli": ["union select"]}},
        "bans": {"after": 3, "within": "1 minute", "for": "1 minute"}})"));
    auto attack = request("GET /?q=1 UNION SELECT x HTTP/1.1\r\n");
    auto benign = request("GET / HTTP/1.1\r\n");
    CHECK(run(prog, benign) == PASS);
    for (int i = 0; i < 3; ++i) CHECK(run(prog, attack) == DROP);
    // Whatever it sends next: a request, a SYN.
    CHECK(run(prog, benign) == DROP);
    Frame syn;
    syn.tcp_flags = 0x02;
    CHECK(run(prog, syn.build()) == DROP);
    // Others are served.
    CHECK(run(prog, request("GET / HTTP/1.1\r\n", "198.18.0.10")) == PASS);
    CHECK(counts(prog) ==
          std::map<std::string, uint64_t>{{"pass", 2}, {"drop_pattern", 3}, {"drop_banned", 2}});

    auto bans = bans_of(prog);
    REQUIRE(bans.size() == 1);
    CHECK(bans[0].ban.level == 1);
    CHECK(bans[0].ban.reason == BW_DROP_PATTERN);
    CHECK(bans[0].ban.until_ns - bans[0].ban.start_ns == 60'000'000'000ull);
    CHECK(bans[0].ban.drops == 2);
    auto counts_ = guard::read_ban_counts(prog.map_fd(BW_MAP_BANS_STATS));
    CHECK(counts_.issued == 1);
    CHECK(counts_.refused == 0);
    // The first attack's event (the throttle holds the next two), the ban's own event, then
    // the first drop_banned.
    auto ev = read_events(prog);
    REQUIRE(ev.size() == 3);
    CHECK(ev[0].reason == BW_DROP_PATTERN);
    CHECK(ev[1].reason == BW_EVENT_BANNED);
    CHECK(ev[1].detail == BW_DROP_PATTERN);
    CHECK(ev[1].extra == 60);
    CHECK(addr(ev[1], ev[1].src) == "198.18.0.9");
    CHECK(ev[2].reason == BW_DROP_BANNED);
}

TEST_CASE("bans: offences outside the window or of other reasons do not add up", "[xdp][bans]") {
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "rules": [{"match": "POST /login", "limit": {"rate": "1/day", "burst": 1}}],
        "patterns": {"sets": {"sqli": ["union select"]}},
        "bans": {"after": 2, "within": "1 second", "for": "1 minute",
                 "reasons": ["drop_pattern"]}})"));
    auto attack = request("GET /?q=1 UNION SELECT x HTTP/1.1\r\n");
    // Rule drops are not offences here.
    CHECK(run(prog, request("POST /login HTTP/1.1\r\n\r\n")) == PASS);
    for (int i = 0; i < 5; ++i) CHECK(run(prog, request("POST /login HTTP/1.1\r\n\r\n")) == DROP);
    CHECK(bans_of(prog).empty());
    // One offence, then the window closes: the next one starts a new window.
    CHECK(run(prog, attack) == DROP);
    wait_past(prog, kernel_now(prog) + 1'000'000'000ull);
    CHECK(run(prog, attack) == DROP);
    CHECK(bans_of(prog).empty());
    CHECK(run(prog, attack) == DROP);  // the second within the new window
    CHECK(bans_of(prog).size() == 1);
}

TEST_CASE("bans: each ban in a row doubles, up to max; a forgotten source starts again",
          "[xdp][bans]") {
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "patterns": {"sets": {"sqli": ["union select"]}},
        "bans": {"after": 1, "for": "1 second", "max": "3 seconds", "forget": "1 second"}})"));
    auto attack = request("GET /?q=1 UNION SELECT x HTTP/1.1\r\n");
    auto benign = request("GET / HTTP/1.1\r\n");
    // Lengths 1, 2, 3 (capped) seconds, each earned once the previous one has ended.
    for (uint64_t want : {1ull, 2ull, 3ull}) {
        INFO(want);
        CHECK(run(prog, attack) == DROP);
        auto bans = bans_of(prog);
        REQUIRE(bans.size() == 1);
        CHECK(bans[0].ban.until_ns - bans[0].ban.start_ns == want * 1'000'000'000ull);
        CHECK(run(prog, benign) == DROP);
        wait_past(prog, bans[0].ban.until_ns);
        CHECK(run(prog, benign) == PASS);  // served again once it ends
    }
    // Past the end and `forget`: the entry goes on the next packet, and a new ban is 1 s again.
    auto ended = bans_of(prog).at(0).ban.until_ns;
    wait_past(prog, ended + 1'000'000'000ull);
    CHECK(run(prog, benign) == PASS);
    CHECK(bans_of(prog).empty());
    CHECK(run(prog, attack) == DROP);
    auto bans = bans_of(prog);
    REQUIRE(bans.size() == 1);
    CHECK(bans[0].ban.level == 1);
    CHECK(bans[0].ban.until_ns - bans[0].ban.start_ns == 1'000'000'000ull);
}

TEST_CASE("bans: a full table refuses new bans and keeps the old ones; operators add and lift",
          "[xdp][bans]") {
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "patterns": {"sets": {"sqli": ["union select"]}},
        "bans": {"after": 1, "for": "1 hour", "table": 16}})"));
    auto attack = [](int i) {
        return request("GET /?q=1 UNION SELECT x HTTP/1.1\r\n", "198.18.1." + std::to_string(i));
    };
    auto benign = [](int i) {
        return request("GET / HTTP/1.1\r\n", "198.18.1." + std::to_string(i));
    };
    for (int i = 1; i <= 16; ++i) CHECK(run(prog, attack(i)) == DROP);
    CHECK(bans_of(prog).size() == 16);
    // A seventeenth attacker (a spray of new sources, say): refused and counted; its attacks are
    // still dropped by the patterns, and no earlier ban was pushed out.
    CHECK(run(prog, attack(17)) == DROP);
    CHECK(run(prog, benign(17)) == PASS);
    auto c = guard::read_ban_counts(prog.map_fd(BW_MAP_BANS_STATS));
    CHECK(c.issued == 16);
    CHECK(c.refused == 1);
    for (int i = 1; i <= 16; ++i) CHECK(run(prog, benign(i)) == DROP);

    // Operators: lift one, which makes room; add one by hand.
    uint32_t gen = xdp::active_generation(prog.maps());
    bw_config cfg{};
    REQUIRE(bpf_map_lookup_elem(prog.map_fd(BW_MAP_CONFIG), &gen, &cfg) == 0);
    int fd = prog.map_fd(BW_MAP_BANS);
    CHECK(guard::remove_ban(fd, guard::source_key("198.18.1.1", cfg)));
    CHECK_FALSE(guard::remove_ban(fd, guard::source_key("198.18.1.1", cfg)));
    CHECK(run(prog, benign(1)) == PASS);
    auto key = guard::source_key("198.18.1.17", cfg);
    CHECK(guard::add_ban(fd, key, cfg, std::nullopt, kernel_now(prog)) == 3600'000'000'000ull);
    CHECK(run(prog, benign(17)) == DROP);
    auto bans = bans_of(prog);
    auto it = std::find_if(bans.begin(), bans.end(), [&](const guard::BanEntry& e) {
        return std::memcmp(&e.key, &key, sizeof key) == 0;
    });
    REQUIRE(it != bans.end());
    CHECK(it->ban.reason == BW_BAN_MANUAL);
    CHECK(it->ban.until_ns - it->ban.start_ns == 3600'000'000'000ull);
    CHECK(counts(prog)["drop_banned"] == 17);
}

namespace {

// A TCP connection from `src` (a proxy, or not) to port 80, as frames: the SYN, then data
// segments whose sequence numbers follow on, then the FIN.
struct Conn {
    Frame f;
    uint32_t next;
    Conn(const std::string& src, uint16_t sport, bool v6 = false) {
        f.src = src;
        f.v6 = v6;
        if (v6) f.dst = "2001:db8:2::2";
        f.sport = sport;
        f.seq = 7000 + sport;
        next = f.seq + 1;
    }
    Bytes syn() {
        Frame s = f;
        s.tcp_flags = 0x02;
        return s.build();
    }
    Bytes data(const std::string& payload) {
        Frame d = f;
        d.seq = next;
        d.payload = payload;
        next += static_cast<uint32_t>(payload.size());
        return d.build();
    }
    Bytes resend_first(const std::string& payload) {
        Frame d = f;
        d.seq = f.seq + 1;
        d.payload = payload;
        return d.build();
    }
    Bytes fin() {
        Frame d = f;
        d.seq = next;
        d.tcp_flags = 0x11;
        return d.build();
    }
};

std::string proxy_v1(const std::string& client, uint16_t port, bool v6 = false) {
    return std::string("PROXY TCP") + (v6 ? "6 " : "4 ") + client +
           (v6 ? " ::1 " : " 198.18.0.2 ") + std::to_string(port) + " 80\r\n";
}

std::string proxy_v2(const std::string& client, uint16_t port, uint8_t cmd = 0x21) {
    bool v6 = client.find(':') != std::string::npos;
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += static_cast<char>(cmd);
    h += static_cast<char>(v6 ? 0x21 : 0x11);
    size_t n = v6 ? 36 : 12, a = v6 ? 16 : 4;
    h += static_cast<char>(0);
    h += static_cast<char>(n + 5);
    std::string addrs(n, '\0');
    inet_pton(v6 ? AF_INET6 : AF_INET, client.c_str(), addrs.data());
    inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "2001:db8:2::2" : "198.18.0.2", addrs.data() + a);
    addrs[2 * a] = static_cast<char>(port >> 8);
    addrs[2 * a + 1] = static_cast<char>(port & 0xff);
    addrs[2 * a + 3] = 80;
    return h + addrs + std::string("\x01\x00\x02h2", 5);  // and an ALPN TLV
}

const char* kProxied = R"({"inspect_ports": [80],
    "lists": {"proxies": ["198.18.0.1/32", "198.18.0.3/32", "2001:db8:1::1/128"],
              "deny": ["198.18.30.0/24"]},
    "limits": {"default": {"requests": {"rate": "1/day", "burst": 2}}},
    "patterns": {"sets": {"sqli": ["union select"]}},
    "bans": {"after": 1, "for": "1 hour", "reasons": ["drop_pattern"]}})";

const std::string kAttack = "GET /?q=1 UNION SELECT x HTTP/1.1\r\n\r\n";
const std::string kGet = "GET / HTTP/1.1\r\n\r\n";

}  // namespace

TEST_CASE(
    "proxy: a PROXY header names the client; its attack is dropped, its event names it, "
    "it is banned, not the proxy",
    "[xdp][proxy]") {
    xdp::Program prog(make(kProxied));
    Conn a("198.18.0.1", 50001);  // v2, the header and the request in one segment
    CHECK(run(prog, a.syn()) == PASS);
    CHECK(run(prog, a.data(proxy_v2("198.18.5.5", 51234) + kAttack)) == DROP);
    Conn b("198.18.0.1", 50002);  // v1, the header alone, then requests
    CHECK(run(prog, b.syn()) == PASS);
    CHECK(run(prog, b.data(proxy_v1("198.18.5.6", 40000))) == PASS);
    CHECK(run(prog, b.data(kGet)) == PASS);
    CHECK(run(prog, b.data(kAttack)) == DROP);

    auto ev = read_events(prog);
    REQUIRE(ev.size() == 4);  // each client's ban, then its drop
    CHECK(ev[0].reason == BW_EVENT_BANNED);
    CHECK(addr(ev[0], ev[0].src) == "198.18.5.5");
    CHECK(ev[1].reason == BW_DROP_PATTERN);
    CHECK(addr(ev[1], ev[1].src) == "198.18.5.5");
    CHECK(ev[1].sport == 51234);
    CHECK(ev[2].reason == BW_EVENT_BANNED);
    CHECK(addr(ev[3], ev[3].src) == "198.18.5.6");
    CHECK(ev[3].sport == 40000);
    auto bans = bans_of(prog);
    REQUIRE(bans.size() == 2);
    // Banned clients are dropped on their connections; the proxy's others are served.
    CHECK(run(prog, b.data(kGet)) == DROP);
    Conn c("198.18.0.1", 50003);
    CHECK(run(prog, c.syn()) == PASS);
    CHECK(run(prog, c.data(proxy_v1("198.18.5.7", 40001) + kGet)) == PASS);
    CHECK(counts(prog)["drop_banned"] == 1);
}

TEST_CASE("proxy: lists and limits apply per client; the proxy's own traffic is not limited",
          "[xdp][proxy]") {
    xdp::Program prog(make(kProxied));
    Conn denied("198.18.0.1", 50001);
    CHECK(run(prog, denied.syn()) == PASS);
    CHECK(run(prog, denied.data(proxy_v2("198.18.30.5", 1000) + kGet)) == DROP);
    CHECK(run(prog, denied.data(kGet)) == DROP);

    // A flooding client gets its burst (2) on its connection; another client is served.
    Conn flood("198.18.0.1", 50002), other("198.18.0.1", 50003);
    CHECK(run(prog, flood.syn()) == PASS);
    CHECK(run(prog, other.syn()) == PASS);
    CHECK(run(prog, flood.data(proxy_v1("198.18.5.7", 1001))) == PASS);
    CHECK(run(prog, other.data(proxy_v1("198.18.5.8", 1002))) == PASS);
    CHECK(run(prog, flood.data(kGet)) == PASS);
    CHECK(run(prog, flood.data(kGet)) == PASS);
    CHECK(run(prog, flood.data(kGet)) == DROP);
    CHECK(run(prog, other.data(kGet)) == PASS);
    // A second connection of the same client shares its bucket.
    Conn again("198.18.0.1", 50004);
    CHECK(run(prog, again.syn()) == PASS);
    CHECK(run(prog, again.data(proxy_v2("198.18.5.7", 1003) + kGet)) == DROP);

    // The proxy's own connection (no header: a health check, say): never rate limited, and
    // an attack on it is dropped but bans nobody.
    Conn own("198.18.0.1", 50005);
    CHECK(run(prog, own.syn()) == PASS);
    for (int i = 0; i < 10; ++i) CHECK(run(prog, own.data(kGet)) == PASS);
    CHECK(run(prog, own.data(kAttack)) == DROP);
    CHECK(run(prog, own.data(kGet)) == PASS);
    CHECK(bans_of(prog).empty());
    // LOCAL (v2's health check) names nobody either.
    Conn local("198.18.0.1", 50006);
    CHECK(run(prog, local.syn()) == PASS);
    CHECK(run(prog, local.data(proxy_v2("198.18.30.5", 1, 0x20) + kGet)) == PASS);
    CHECK(counts(prog) ==
          std::map<std::string, uint64_t>{
              {"pass", 23}, {"drop_deny", 2}, {"drop_rate_requests", 2}, {"drop_pattern", 1}});
}

TEST_CASE("proxy: a header is believed only from lists.proxies, at the start of the data",
          "[xdp][proxy]") {
    xdp::Program prog(make(kProxied));
    // From anyone else it is payload: the sender is the source (not the denied address it
    // names), and its attack's event names the sender.
    Conn stranger("198.18.0.9", 50001);
    CHECK(run(prog, stranger.syn()) == PASS);
    CHECK(run(prog, stranger.data(proxy_v2("198.18.30.5", 1) + kGet)) == PASS);
    CHECK(run(prog, stranger.data(proxy_v1("198.18.30.6", 1) + kAttack)) == DROP);
    auto ev = read_events(prog);
    REQUIRE(ev.size() >= 1);
    CHECK(addr(ev[0], ev[0].src) == "198.18.0.9");

    // From the proxy, after data that had no header: not believed.
    Conn late("198.18.0.1", 50002);
    CHECK(run(prog, late.syn()) == PASS);
    CHECK(run(prog, late.data(kGet)) == PASS);
    CHECK(run(prog, late.data(proxy_v1("198.18.30.5", 1) + kGet)) == PASS);
    // A connection whose SYN the guard did not see (attached since): not believed.
    Conn unseen("198.18.0.1", 50003);
    CHECK(run(prog, unseen.data(proxy_v1("198.18.30.5", 1) + kGet)) == PASS);
    // Out of order: data past the first byte arrives first.
    Conn ooo("198.18.0.1", 50004);
    CHECK(run(prog, ooo.syn()) == PASS);
    ooo.next += 100;
    CHECK(run(prog, ooo.data(proxy_v1("198.18.30.5", 1) + kGet)) == PASS);

    // A malformed header where one is believed is dropped as malformed.
    Conn bad("198.18.0.1", 50005);
    CHECK(run(prog, bad.syn()) == PASS);
    auto garbled = "PROXY TCP4 198.18.5.300 198.18.0.2 1 80\r\n" + kGet;
    CHECK(run(prog, bad.data(garbled)) == DROP);
    CHECK(run(prog, bad.resend_first(garbled)) == DROP);  // and so is all the data after it
    CHECK(run(prog, bad.data(kGet)) == DROP);
    CHECK(counts(prog)["drop_malformed"] == 3);

    // The first segment sent again is still the client's, its header still no payload; after
    // the FIN the tuple is nobody's until a new SYN.
    Conn d("198.18.0.1", 50006);
    CHECK(run(prog, d.syn()) == PASS);
    auto first = proxy_v1("198.18.30.9", 1) + kGet;
    CHECK(run(prog, d.data(first)) == DROP);
    CHECK(run(prog, d.resend_first(first)) == DROP);
    CHECK(run(prog, d.fin()) == DROP);
    CHECK(run(prog, d.data(kGet)) == PASS);
    CHECK(counts(prog)["drop_deny"] == 3);
}

TEST_CASE("proxy: IPv6 proxies and clients; a mapped IPv4 client is an IPv4 client",
          "[xdp][proxy]") {
    xdp::Program prog(make(kProxied));
    Conn six("2001:db8:1::1", 50001, true);
    CHECK(run(prog, six.syn()) == PASS);
    CHECK(run(prog, six.data(proxy_v2("2001:db8:5::5", 4242) + kAttack)) == DROP);
    Conn mapped("2001:db8:1::1", 50002, true);
    CHECK(run(prog, mapped.syn()) == PASS);
    CHECK(run(prog, mapped.data(proxy_v1("::ffff:198.18.30.5", 1, true) + kGet)) == DROP);
    Conn v4client("2001:db8:1::1", 50003, true);
    CHECK(run(prog, v4client.syn()) == PASS);
    CHECK(run(prog, v4client.data(proxy_v2("198.18.5.5", 1) + kGet)) == PASS);
    auto ev = read_events(prog);
    REQUIRE(ev.size() == 3);  // the ban, the attack, the denied client
    CHECK(ev[1].reason == BW_DROP_PATTERN);
    CHECK(ev[1].family == 6);
    CHECK(addr(ev[1], ev[1].src) == "2001:db8:5::5");
    CHECK(ev[2].reason == BW_DROP_DENY);
    CHECK(ev[2].family == 4);
    CHECK(addr(ev[2], ev[2].src) == "198.18.30.5");
    CHECK(counts(prog)["drop_deny"] == 1);
}

TEST_CASE("proxy: X-Forwarded-For names the client of a proxy's request without a PROXY header",
          "[xdp][proxy]") {
    xdp::Program prog(make(kProxied));
    auto req = [](const std::string& line, const std::string& xff) {
        return line + " HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: " + xff + "\r\n\r\n";
    };
    Conn own("198.18.0.1", 50001);  // keep-alive: one connection, many clients' requests
    CHECK(run(prog, own.syn()) == PASS);
    // The rightmost address not in lists.proxies: past a chained proxy, not the spoofable left.
    CHECK(run(prog, own.data(req("GET /", "198.18.30.5"))) == DROP);
    CHECK(run(prog, own.data(req("GET /", "198.18.30.5, 198.18.0.3"))) == DROP);
    CHECK(run(prog, own.data(req("GET /", "198.18.30.5, 198.18.5.5"))) == PASS);
    CHECK(run(prog, own.data(req("GET /?q=1 UNION SELECT x", "198.18.5.6"))) == DROP);
    CHECK(run(prog, own.data(req("GET /?q=1 UNION SELECT x", "2001:db8:5::5"))) == DROP);
    // Limits per client: 198.18.5.7's burst is 2; 198.18.5.8 is served meanwhile.
    CHECK(run(prog, own.data(req("GET /", "198.18.5.7"))) == PASS);
    CHECK(run(prog, own.data(req("GET /", "198.18.5.7"))) == PASS);
    CHECK(run(prog, own.data(req("GET /", "198.18.5.7"))) == DROP);
    CHECK(run(prog, own.data(req("GET /", "198.18.5.8"))) == PASS);
    // No client named: no address at the right, a line the segment cuts, no header at all.
    CHECK(run(prog, own.data(req("GET /", "198.18.30.5, unknown"))) == PASS);
    CHECK(run(prog, own.data("GET / HTTP/1.1\r\nX-Forwarded-For: 198.18.30.5")) == PASS);
    for (int i = 0; i < 3; ++i) CHECK(run(prog, own.data(kGet)) == PASS);
    // From any other source the header is the client's own say-so: ignored.
    Conn stranger("198.18.0.9", 50002);
    CHECK(run(prog, stranger.syn()) == PASS);
    CHECK(run(prog, stranger.data(req("GET /", "198.18.30.5"))) == PASS);
    // A PROXY header, where there is one, names the connection's client; the header is not read.
    Conn named("198.18.0.1", 50003);
    CHECK(run(prog, named.syn()) == PASS);
    CHECK(run(prog, named.data(proxy_v1("198.18.5.9", 1) + req("GET /", "198.18.30.5"))) == PASS);

    auto ev = read_events(prog);
    std::vector<std::pair<std::string, uint32_t>> got;
    for (auto& e : ev) got.emplace_back(addr(e, e.src), e.reason);
    CHECK(got ==
          std::vector<std::pair<std::string, uint32_t>>{{"198.18.30.5", BW_DROP_DENY},
                                                        {"198.18.5.6", BW_EVENT_BANNED},
                                                        {"198.18.5.6", BW_DROP_PATTERN},
                                                        {"2001:db8:5::5", BW_EVENT_BANNED},
                                                        {"2001:db8:5::5", BW_DROP_PATTERN},
                                                        {"198.18.5.7", BW_DROP_RATE_REQUESTS}});
}

TEST_CASE("proxy: X-Forwarded-For is found at any offset, after short lines, and only in headers",
          "[xdp][proxy]") {
    // The line search reads words and looks at each '\n' of a word: the header's line start at
    // each of 40 offsets, after lines short enough to put two or three '\n' in one word, and
    // the name in either case. A denied client (198.18.30.0/24) is dropped when found.
    xdp::Program prog(make(kProxied));
    Conn own("198.18.0.1", 50001);
    CHECK(run(prog, own.syn()) == PASS);
    for (size_t pad = 0; pad < 40; ++pad) {
        INFO("pad " << pad);
        std::string head = "GET / HTTP/1.1\r\nHost: shop\r\nA: " + std::string(pad, 'a');
        CHECK(run(prog, own.data(head + "\r\nB:\r\nC:1\r\nX-Forwarded-For: 198.18.30.5\r\n\r\n")) ==
              DROP);
        CHECK(run(prog, own.data(head + "\nB:\nx-forwarded-for:198.18.30.6\n\n")) == DROP);
        // After empty lines, which the server skips (skip_blank_lines).
        CHECK(run(prog, own.data("\r\n\n" + head + "\r\nX-Forwarded-For: 198.18.30.7\r\n\r\n")) ==
              DROP);
        // Its twins: after the headers' end (a body's line), a name one letter off.
        CHECK(run(prog, own.data(head + "\r\nB:\r\n\r\nX-Forwarded-For: 198.18.30.5\r\n")) == PASS);
        CHECK(run(prog, own.data(head + "\nB:\n\nX-Forwarded-For: 198.18.30.5\n")) == PASS);
        CHECK(run(prog, own.data(head + "\r\nB:\r\nX-Forwarded-Fox: 198.18.30.5\r\n\r\n")) == PASS);
    }
    CHECK(counts(prog)["drop_deny"] == 120);
}

namespace {

// Keeps the test on the CPU it runs on: spray state is per CPU, and BPF_PROG_TEST_RUN runs the
// program on the caller's CPU.
class StayOnCpu {
  public:
    // On `cpu`, or where the thread runs now.
    explicit StayOnCpu(int cpu = -1) {
        REQUIRE(sched_getaffinity(0, sizeof old_, &old_) == 0);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu < 0 ? sched_getcpu() : cpu, &one);
        REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    }
    ~StayOnCpu() { sched_setaffinity(0, sizeof old_, &old_); }
    StayOnCpu(const StayOnCpu&) = delete;
    StayOnCpu& operator=(const StayOnCpu&) = delete;

  private:
    cpu_set_t old_;
};

bw_spray spray_total(const xdp::Program& prog) {
    bw_spray t{};
    for (auto& c : xdp::read_spray(prog.map_fd(BW_MAP_SPRAY))) {
        t.admitted += c.admitted;
        t.shared += c.shared;
        t.episodes += c.episodes;
        t.last_refused = std::max<uint64_t>(t.last_refused, c.last_refused);
    }
    return t;
}

template <class Key>
std::vector<std::string> keys_of(const xdp::Program& prog, const char* map) {
    std::vector<std::string> out;
    xdp::for_each_entry<Key, bw_source>(prog.map_fd(map), [&](const Key& k, const bw_source&) {
        char buf[INET6_ADDRSTRLEN] = "";
        inet_ntop(k.family == 4 ? AF_INET : AF_INET6, k.addr, buf, sizeof buf);
        out.push_back(std::string(k.kind == BW_KEY_AGGREGATE ? "agg " : "") + buf);
    });
    std::sort(out.begin(), out.end());
    return out;
}

Frame syn_from(const std::string& src) {
    Frame f;
    f.src = src;
    f.v6 = src.find(':') != std::string::npos;
    if (f.v6) f.dst = "2001:db8::2";
    f.tcp_flags = 0x02;
    return f;
}

}  // namespace

TEST_CASE("map walks: a hash map in batches, an LPM trie key by key, every entry once",
          "[xdp][sprays]") {
    // `stats` walks the sources table while a spray fills it: 10,000 entries is three batches.
    UniqueFd h(bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "bw_walk", sizeof(bw_source_key),
                              sizeof(bw_source), 16384, nullptr));
    REQUIRE(h);
    constexpr uint32_t n = 10000;
    for (uint32_t i = 0; i < n; ++i) {
        bw_source_key k{};
        k.family = 6;
        std::memcpy(k.addr + 12, &i, sizeof i);
        bw_source v{};
        v.dropped = i;
        REQUIRE(bpf_map_update_elem(h.get(), &k, &v, BPF_NOEXIST) == 0);
    }
    std::vector<int> seen(n);
    xdp::for_each_entry<bw_source_key, bw_source>(h.get(),
                                                  [&](const bw_source_key& k, const bw_source& v) {
                                                      uint32_t i;
                                                      std::memcpy(&i, k.addr + 12, sizeof i);
                                                      REQUIRE(i < n);
                                                      CHECK(v.dropped == i);
                                                      ++seen[i];
                                                  });
    CHECK(std::count(seen.begin(), seen.end(), 1) == n);
    // An LPM trie has no batch lookup: the walk falls back to one key at a time.
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
    UniqueFd t(bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "bw_walk_lpm", sizeof(bw_lpm_v4),
                              sizeof(uint32_t), 64, &o));
    REQUIRE(t);
    for (uint32_t i = 0; i < 10; ++i) {
        bw_lpm_v4 k{BW_LPM_GEN_BITS + 32, 0, {198, 18, 0, static_cast<uint8_t>(i)}};
        REQUIRE(bpf_map_update_elem(t.get(), &k, &i, BPF_NOEXIST) == 0);
    }
    std::vector<int> lpm(10);
    xdp::for_each_entry<bw_lpm_v4, uint32_t>(t.get(), [&](const bw_lpm_v4& k, uint32_t v) {
        REQUIRE(v < 10);
        CHECK(k.addr[3] == v);
        ++lpm[v];
    });
    CHECK(std::count(lpm.begin(), lpm.end(), 1) == 10);
}

TEST_CASE(
    "sprays: past new_sources, new sources share their /24's bucket; tracked ones keep theirs",
    "[xdp][sprays]") {
    StayOnCpu cpu;
    xdp::Program prog(make(R"({"limits": {
        "default": {"connections": {"rate": "1/day", "burst": 2}},
        "new_sources": {"rate": "1/day", "burst": 4}}})"));
    // A client with state: one of its two connections spent.
    CHECK(run(prog, syn_from("198.18.0.9").build()) == PASS);
    for (auto s : {"198.18.1.1", "198.18.1.2", "198.18.1.3"})
        CHECK(run(prog, syn_from(s).build()) == PASS);
    // Every new source from here on is refused an entry: each /24 is one bucket of 2.
    int passed = 0;
    for (int i = 1; i <= 100; ++i)
        passed += run(prog, syn_from("198.18.2." + std::to_string(i)).build()) == PASS;
    CHECK(passed == 2);
    passed = 0;
    for (int i = 1; i <= 50; ++i)
        passed += run(prog, syn_from("198.18.3." + std::to_string(i)).build()) == PASS;
    CHECK(passed == 2);
    // The tracked client still has its own bucket, with one connection left in it.
    CHECK(run(prog, syn_from("198.18.0.9").build()) == PASS);
    CHECK(run(prog, syn_from("198.18.0.9").build()) == DROP);
    CHECK(counts(prog) ==
          std::map<std::string, uint64_t>{{"pass", 9}, {"drop_rate_connections", 147}});
    CHECK(keys_of<bw_source_key>(prog, BW_MAP_SOURCES) ==
          std::vector<std::string>{"198.18.0.9", "198.18.1.1", "198.18.1.2", "198.18.1.3"});
    CHECK(keys_of<bw_source_key>(prog, BW_MAP_AGGREGATES) ==
          std::vector<std::string>{"agg 198.18.2.0", "agg 198.18.3.0"});
    auto t = spray_total(prog);
    CHECK(t.admitted == 4);
    CHECK(t.shared == 150);
    CHECK(t.episodes == 1);
    // The seen filter holds every tracked source (what lets a spray's packets skip the table
    // without losing one), and hardly any of the spray's.
    auto cfg = bw_config{};
    uint32_t gen = xdp::active_generation(prog.maps());
    REQUIRE(bpf_map_lookup_elem(prog.map_fd(BW_MAP_CONFIG), &gen, &cfg) == 0);
    REQUIRE(cfg.sprays.epoch_shift != 0);
    auto in_filter = [&](const std::string& a) {
        bw_source_key k{};
        k.family = 4;
        inet_pton(AF_INET, a.c_str(), k.addr);
        uint32_t index, bit;
        bw_seen_slot(&k, cfg.sprays.seen_mask, &index, &bit);
        bw_seen e{};
        REQUIRE(bpf_map_lookup_elem(prog.map_fd(BW_MAP_SEEN), &index, &e) == 0);
        return bw_seen_has(&e, kernel_now(prog) >> cfg.sprays.epoch_shift, bit);
    };
    for (auto a : {"198.18.0.9", "198.18.1.1", "198.18.1.2", "198.18.1.3"}) CHECK(in_filter(a));
    int spray_in_filter = 0;
    for (int i = 1; i <= 100; ++i) spray_in_filter += in_filter("198.18.2." + std::to_string(i));
    CHECK(spray_in_filter <= 2);  // collisions only: 4 bits set of 512 x 56
    // The mode's event names the first source refused; each aggregate's rate drops share one
    // event allowance, as a source's do.
    auto ev = read_events(prog);
    std::vector<std::pair<std::string, uint32_t>> got;
    for (auto& e : ev) got.emplace_back(addr(e, e.src), e.reason);
    CHECK(got ==
          std::vector<std::pair<std::string, uint32_t>>{{"198.18.2.1", BW_EVENT_SPRAY},
                                                        {"198.18.2.3", BW_DROP_RATE_CONNECTIONS},
                                                        {"198.18.3.3", BW_DROP_RATE_CONNECTIONS},
                                                        {"198.18.0.9", BW_DROP_RATE_CONNECTIONS}});
    REQUIRE(!ev.empty());
    CHECK(ev[0].detail == 1);
    auto j =
        guard::spray_json(xdp::read_spray(prog.map_fd(BW_MAP_SPRAY)), cfg, kernel_now(prog), 2);
    CHECK(j["on"] == true);
    CHECK(j["shared_packets"] == 150);
}

TEST_CASE("sprays: without new_sources, a spray larger than the table evicts tracked sources",
          "[xdp][sprays]") {
    // The contrast to the case above: what limits.new_sources prevents. On one CPU: the BPF
    // LRU keeps a CPU's newest entries in that CPU's own pending list until it inserts again,
    // so a test moved to another CPU after the first SYN could leave 198.18.0.9 out of reach of
    // every eviction (it did once, under ASan).
    StayOnCpu cpu;
    xdp::Program prog(make(R"({"limits": {
        "default": {"connections": {"rate": "1/day", "burst": 2}}, "new_sources": null}})"));
    CHECK(run(prog, syn_from("198.18.0.9").build()) == PASS);
    for (int i = 0; i < 3 * 4096; ++i)
        run(prog, syn_from("198.18." + std::to_string(64 + i / 256) + "." + std::to_string(i % 256))
                      .build());
    auto keys = keys_of<bw_source_key>(prog, BW_MAP_SOURCES);
    CHECK(std::find(keys.begin(), keys.end(), "198.18.0.9") == keys.end());
    CHECK(spray_total(prog).shared == 0);
    CHECK(keys_of<bw_source_key>(prog, BW_MAP_AGGREGATES).empty());
}

TEST_CASE(
    "sprays: a spray on every CPU takes at most a sixteenth of the table, tracked sources "
    "keep theirs",
    "[xdp][sprays]") {
    // Each CPU gives a spray its burst of new sources before it turns spray mode on, so the
    // machine's bursts together are what a spray takes of the table. A rate without a burst,
    // as the default's: each CPU's burst is then max_sources / (16 x CPUs), 128 on 2 CPUs,
    // where one period's 100,000 would let each CPU's spray fill the table twice over. The rate
    // is a day's so that how fast this thread sprays does not matter.
    xdp::Program prog(make(R"({"max_sources": 4096, "limits": {
        "default": {"connections": {"rate": "1/day", "burst": 2}},
        "new_sources": {"rate": "100000/day"}}})"));
    unsigned burst = 4096 / (16 * xdp::possible_cpus());
    REQUIRE(burst >= 2);
    cpu_set_t allowed;
    REQUIRE(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE && cpus.size() < 4; ++c)
        if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    // Tracked sources with state, within the first CPU's burst: half of it.
    std::vector<std::string> legit;
    {
        StayOnCpu on(cpus[0]);
        for (unsigned i = 1; i <= std::min(64u, burst / 2); ++i) {
            legit.push_back("198.18.0." + std::to_string(i));
            CHECK(run(prog, syn_from(legit.back()).build()) == PASS);
        }
    }
    // Twice the table's worth of new sources from each CPU in turn.
    for (size_t k = 0; k < cpus.size(); ++k) {
        StayOnCpu on(cpus[k]);
        for (int i = 0; i < 2 * 4096; ++i)
            run(prog, syn_from("198.19." + std::to_string(64 * k + i / 256) + "." +
                               std::to_string(i % 256))
                          .build());
    }
    // Each CPU's burst, and the tokens a day's rate gives back meanwhile (one per 0.86 s).
    auto t = spray_total(prog);
    CHECK(t.admitted >= cpus.size() * burst);
    CHECK(t.admitted <= cpus.size() * (burst + 16));
    // One episode per CPU; another only if this thread stalled for the quiet second between
    // two of its SYNs (a spray that stopped), which the bounds above and below still hold to.
    CHECK(t.episodes >= cpus.size());
    CHECK(t.shared == cpus.size() * 2 * 4096 - (t.admitted - legit.size()));
    auto keys = keys_of<bw_source_key>(prog, BW_MAP_SOURCES);
    std::set<std::string> tracked(keys.begin(), keys.end());
    for (auto& a : legit) CHECK(tracked.count(a) == 1);
    // Each with its state: one connection of two left.
    StayOnCpu on(cpus[0]);
    CHECK(run(prog, syn_from(legit[0]).build()) == PASS);
    CHECK(run(prog, syn_from(legit[0]).build()) == DROP);
}

TEST_CASE("sprays: aggregate limits hold a prefix's sources at once, on top of each source's",
          "[xdp][sprays]") {
    xdp::Program prog(make(R"({"limits": {"key_prefix": {"ipv6": 128},
        "default": {"connections": {"rate": "1/day", "burst": 3}},
        "aggregate": {"prefix": {"ipv6": 48}, "connections": {"rate": "1/day", "burst": 4}}}})"));
    auto a = syn_from("2001:db8:1:1::1").build(), b = syn_from("2001:db8:1:2::1").build();
    for (int i = 0; i < 3; ++i) CHECK(run(prog, a) == PASS);
    CHECK(run(prog, b) == PASS);  // the /48's fourth
    CHECK(run(prog, b) == DROP);  // b has room, its /48 has none
    CHECK(run(prog, a) == DROP);
    CHECK(run(prog, syn_from("2001:db8:2::1").build()) == PASS);  // another /48
    CHECK(keys_of<bw_source_key>(prog, BW_MAP_AGGREGATES) ==
          std::vector<std::string>{"agg 2001:db8:1::", "agg 2001:db8:2::"});
    CHECK(spray_total(prog).shared == 0);  // nothing was untracked
}

TEST_CASE(
    "sprays: the mode turns off at the first new source a quiet second after the last refusal",
    "[xdp][sprays]") {
    StayOnCpu cpu;
    xdp::Program prog(make(R"({"limits": {"new_sources": {"rate": "1/second", "burst": 1}}})"));
    CHECK(run(prog, syn_from("198.18.0.9").build()) == PASS);
    CHECK(run(prog, syn_from("198.18.0.10").build()) == PASS);  // shared, but unlimited
    auto t = spray_total(prog);
    CHECK(t.admitted == 1);
    CHECK(t.shared == 1);
    wait_past(prog, t.last_refused + BW_SPRAY_QUIET_NS);
    CHECK(run(prog, syn_from("198.18.0.11").build()) == PASS);
    t = spray_total(prog);
    CHECK(t.admitted == 2);
    auto ev = read_events(prog);
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].reason == BW_EVENT_SPRAY);
    CHECK(ev[0].detail == 1);
    CHECK(addr(ev[0], ev[0].src) == "198.18.0.10");
    CHECK(ev[1].reason == BW_EVENT_SPRAY);
    CHECK(ev[1].detail == 0);
    CHECK(ev[1].extra >= 1);
    CHECK(addr(ev[1], ev[1].src) == "198.18.0.11");
}

TEST_CASE("sprays: once on, no new source gets an entry until a second passes without a refusal",
          "[xdp][sprays]") {
    StayOnCpu cpu;
    // 2/second: the three SYNs must land within the 500 ms a token takes to come back, which a
    // TCG guest under load does not always do within 1 ms (1000/second failed there once).
    xdp::Program prog(make(R"({"limits": {"new_sources": {"rate": "2/second", "burst": 2}}})"));
    CHECK(run(prog, syn_from("198.18.0.9").build()) == PASS);
    CHECK(run(prog, syn_from("198.18.0.10").build()) == PASS);
    CHECK(run(prog, syn_from("198.18.0.11").build()) == PASS);  // refused an entry: mode on
    auto t = spray_total(prog);
    REQUIRE(t.admitted == 2);
    REQUIRE(t.shared == 1);
    // The rate has room again after 500 ms, but the mode holds: shared, not admitted.
    wait_past(prog, t.last_refused + 600'000'000);
    uint64_t sent_at = kernel_now(prog);
    CHECK(run(prog, syn_from("198.18.0.12").build()) == PASS);
    if (sent_at - t.last_refused < BW_SPRAY_QUIET_NS) {  // not stalled for a second meanwhile
        CHECK(spray_total(prog).admitted == 2);
        CHECK(keys_of<bw_source_key>(prog, BW_MAP_SOURCES) ==
              std::vector<std::string>{"198.18.0.10", "198.18.0.9"});
    }
    wait_past(prog, t.last_refused + BW_SPRAY_QUIET_NS);
    CHECK(run(prog, syn_from("198.18.0.13").build()) == PASS);
    CHECK(spray_total(prog).admitted == 3);
    auto ev = read_events(prog);
    REQUIRE(ev.size() == 2);
    CHECK(ev[1].reason == BW_EVENT_SPRAY);
    CHECK(ev[1].detail == 0);
    CHECK(addr(ev[1], ev[1].src) == "198.18.0.13");
}

namespace {

constexpr int TX = 3;  // XDP_TX

// RFC 1071: the one's complement sum of big-endian words, an odd byte padded with a zero.
uint32_t csum_add(uint32_t sum, const uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; i += 2) sum += (b[i] << 8) | (i + 1 < n ? b[i + 1] : 0);
    return sum;
}
bool csum_ok(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}
uint16_t get16(const Bytes& b, size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
uint32_t get32(const Bytes& b, size_t at) {
    return static_cast<uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}

// What BPF_PROG_TEST_RUN's device (this namespace's loopback) makes the SYN-ACK offer.
unsigned lo_mss(unsigned headers) {
    unsigned mtu = 0;
    FILE* f = fopen("/sys/class/net/lo/mtu", "r");
    REQUIRE(f);
    REQUIRE(fscanf(f, "%u", &mtu) == 1);
    fclose(f);
    return std::min(mtu, 65535u) - headers;
}

// Linux's SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale 9.
const std::vector<uint8_t> kLinuxSynOpts = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2,
                                            3, 4, 0,    0,    0, 0, 1, 3,  3, 9};

// A SYN-ACK the program answered `syn` with: addresses, ports, flags and both checksums.
// Returns the TCP header's offset.
size_t check_synack(const Frame& syn, const Bytes& out) {
    size_t l3 = 14 + 4 * syn.vlans.size();
    REQUIRE(out.size() >= l3 + (syn.v6 ? 40 : 20) + 20);
    for (size_t i = 0; i < 6; ++i) {
        CHECK(out[i] == 0x04);  // the SYN's source MAC
        CHECK(out[6 + i] == 0x02);
    }
    for (size_t v = 0; v < syn.vlans.size(); ++v) CHECK(get16(out, 14 + 4 * v) == syn.vlans[v]);
    int af = syn.v6 ? AF_INET6 : AF_INET;
    size_t alen = syn.v6 ? 16 : 4, src_at = l3 + (syn.v6 ? 8 : 12);
    uint8_t want_src[16], want_dst[16];
    inet_pton(af, syn.dst.c_str(), want_src);
    inet_pton(af, syn.src.c_str(), want_dst);
    CHECK(std::equal(want_src, want_src + alen, out.begin() + src_at));
    CHECK(std::equal(want_dst, want_dst + alen, out.begin() + src_at + alen));
    size_t tcp = l3 + (syn.v6 ? 40 : 20);
    size_t tcp_len = out.size() - tcp;
    if (syn.v6) {
        CHECK(get16(out, l3 + 4) == tcp_len);
        CHECK(out[l3 + 6] == IPPROTO_TCP);
    } else {
        CHECK(out[l3] == 0x45);
        CHECK(get16(out, l3 + 2) == 20 + tcp_len);
        CHECK(out[l3 + 9] == IPPROTO_TCP);
        CHECK(csum_ok(csum_add(0, &out[l3], 20)));
    }
    CHECK(get16(out, tcp) == syn.dport);
    CHECK(get16(out, tcp + 2) == syn.sport);
    CHECK(get32(out, tcp + 8) == syn.seq + 1);
    CHECK(out[tcp + 13] == 0x12);  // SYN|ACK
    CHECK((out[tcp + 12] >> 4) * 4u == tcp_len);
    uint32_t sum =
        csum_add(0, &out[src_at], 2 * alen) + IPPROTO_TCP + static_cast<uint32_t>(tcp_len);
    CHECK(csum_ok(csum_add(sum, &out[tcp], tcp_len)));
    return tcp;
}

Frame cookie_syn() {
    Frame f;
    f.tcp_flags = 0x02;
    f.seq = 1000;
    f.tcp_options = kLinuxSynOpts;
    return f;
}

}  // namespace

TEST_CASE("SYN cookies: a SYN to an inspected port is answered from XDP, options and all",
          "[xdp][syncookie]") {
    xdp::Program prog(make(R"({"syn_flood": {"cookies": "always"}})"));
    // What attach writes: the listener's window scale (here as if tcp_rmem[2] were 4 MiB).
    bw_device dev{0, guard::wscale_for(4u << 20)};
    uint32_t zero = 0;
    REQUIRE(bpf_map_update_elem(prog.map_fd(BW_MAP_DEVICE), &zero, &dev, BPF_ANY) == 0);
    auto syn = cookie_syn();
    auto r = test_run(prog.prog_fd(), syn.build());
    REQUIRE(r.retval == TX);
    REQUIRE(r.out.size() == 14 + 20 + 40);
    size_t tcp = check_synack(syn, r.out);
    CHECK(r.out[14 + 8] == 64);          // TTL
    CHECK(get16(r.out, tcp + 14) == 0);  // no data before SYNPROXY has the listener's connection
    // MSS, SACK permitted, timestamps (the client's echoed; ours carrying its window scale and
    // SACK in the low 6 bits, the kernel's layout), NOP, our window scale.
    const uint8_t* o = &r.out[tcp + 20];
    CHECK(std::vector<uint8_t>(o, o + 4) ==
          std::vector<uint8_t>{2, 4, static_cast<uint8_t>(lo_mss(40) >> 8),
                               static_cast<uint8_t>(lo_mss(40) & 0xff)});
    CHECK(std::vector<uint8_t>(o + 4, o + 8) == std::vector<uint8_t>{4, 2, 8, 10});
    uint32_t tsval = get32(r.out, tcp + 28);
    CHECK((tsval & 63) == (9 | 16));
    CHECK(get32(r.out, tcp + 32) == 0x01020304);
    CHECK(std::vector<uint8_t>(o + 16, o + 20) == std::vector<uint8_t>{1, 3, 3, 7});
    // Nothing remembered of it: no source entry, one counter.
    CHECK(keys_of<bw_source_key>(prog, BW_MAP_SOURCES).empty());
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"syn_cookie", 1}});
    // The cookie is the connection's: another port of the same client gets another.
    auto again = syn;
    again.sport = 40001;
    auto r2 = test_run(prog.prog_fd(), again.build());
    REQUIRE(r2.retval == TX);
    check_synack(again, r2.out);
    CHECK(get32(r2.out, tcp + 4) != get32(r.out, tcp + 4));
}

TEST_CASE("SYN cookies: IPv6, no timestamps (MSS only), no options, VLAN tags",
          "[xdp][syncookie]") {
    xdp::Program prog(make(R"({"syn_flood": {"cookies": "always"}})"));
    // Without timestamps nothing could carry window scaling or SACK back: neither is offered.
    auto v6 = cookie_syn();
    v6.v6 = true;
    v6.src = "2001:db8:1::9";
    v6.dst = "2001:db8::2";
    v6.tcp_options = {2, 4, 0x05, 0xa0, 1, 3, 3, 7, 4, 2};
    auto r = test_run(prog.prog_fd(), v6.build());
    REQUIRE(r.retval == TX);
    REQUIRE(r.out.size() == 14 + 40 + 24);
    size_t tcp = check_synack(v6, r.out);
    CHECK(r.out[14 + 7] == 64);  // hop limit
    CHECK(std::vector<uint8_t>(r.out.begin() + tcp + 20, r.out.end()) ==
          std::vector<uint8_t>{2, 4, static_cast<uint8_t>(lo_mss(60) >> 8),
                               static_cast<uint8_t>(lo_mss(60) & 0xff)});
    // A SYN without options grows by the MSS option; VLAN tags stay.
    Frame bare;
    bare.tcp_flags = 0x02;
    bare.vlans = {100, 200};
    bare.seq = 0xfffffffe;
    auto in = bare.build();
    r = test_run(prog.prog_fd(), in);
    REQUIRE(r.retval == TX);
    REQUIRE(r.out.size() == in.size() + 4);
    tcp = check_synack(bare, r.out);
    CHECK(get32(r.out, tcp + 8) == 0xffffffff);
    CHECK(r.out[tcp + 20] == 2);
    CHECK(counts(prog) == std::map<std::string, uint64_t>{{"syn_cookie", 2}});
}

TEST_CASE("SYN cookies: what is not answered", "[xdp][syncookie]") {
    xdp::Program prog(make(R"({"inspect_ports": [80],
        "lists": {"deny": ["198.18.30.0/24"], "trusted": ["198.18.10.0/24"]},
        "syn_flood": {"cookies": "always"}})"));
    auto syn = cookie_syn();
    auto other_port = syn;
    other_port.dport = 22;
    CHECK(run(prog, other_port.build()) == PASS);
    auto synack = syn;
    synack.tcp_flags = 0x12;
    CHECK(run(prog, synack.build()) == PASS);
    auto denied = syn;
    denied.src = "198.18.30.1";
    CHECK(run(prog, denied.build()) == DROP);
    auto trusted = syn;
    trusted.src = "198.18.10.1";
    CHECK(run(prog, trusted.build()) == PASS);
    // IP options: left to the listener (the SYN-ACK would need them mirrored).
    auto with_opts = syn.build();
    with_opts[14] = 0x46;
    put16(with_opts, 16, static_cast<uint16_t>(get16(with_opts, 16) + 4));
    with_opts.insert(with_opts.begin() + 34, {1, 1, 1, 0});
    CHECK(run(prog, with_opts) == PASS);
    CHECK(counts(prog) ==
          std::map<std::string, uint64_t>{{"pass", 3}, {"pass_trusted", 1}, {"drop_deny", 1}});
    // Off (no syn_flood): the listener's.
    xdp::Program off(make("{}"));
    CHECK(run(off, syn.build()) == PASS);
}

TEST_CASE("SYN cookies: auto answers past the threshold, until a quiet second",
          "[xdp][syncookie]") {
    StayOnCpu cpu;
    xdp::Program prog(make(R"({"syn_flood": {"cookies": "auto", "threshold": "2/second"}})"));
    auto syn = cookie_syn();
    CHECK(run(prog, syn.build()) == PASS);
    CHECK(run(prog, syn.build()) == PASS);
    CHECK(run(prog, syn.build()) == TX);  // the third within 500 ms: past 2/second
    CHECK(run(prog, syn.build()) == TX);
    auto state = [&] {
        bw_syn t{};
        for (auto& c : xdp::read_syn(prog.map_fd(BW_MAP_SYN))) {
            t.episodes += c.episodes;
            t.last_over = std::max(t.last_over, c.last_over);
        }
        return t;
    };
    auto s = state();
    CHECK(s.episodes == 1);
    uint32_t gen = xdp::active_generation(prog.maps());
    bw_config cfg{};
    REQUIRE(bpf_map_lookup_elem(prog.map_fd(BW_MAP_CONFIG), &gen, &cfg) == 0);
    auto j = guard::syn_json(xdp::read_syn(prog.map_fd(BW_MAP_SYN)), cfg, kernel_now(prog), 2);
    CHECK(j["on"] == true);
    CHECK(j["cookies"] == "auto");
    CHECK(j["threshold_per_cpu"] == 2);
    // The rate has room again after 500 ms, but the mode holds for a quiet second.
    wait_past(prog, s.last_over + 600'000'000);
    uint64_t sent_at = kernel_now(prog);
    auto r = run(prog, syn.build());
    if (sent_at - s.last_over <= BW_SYN_QUIET_NS) CHECK(r == TX);
    wait_past(prog, s.last_over + BW_SYN_QUIET_NS);
    CHECK(run(prog, syn.build()) == PASS);
    CHECK(state().episodes == 1);
    j = guard::syn_json(xdp::read_syn(prog.map_fd(BW_MAP_SYN)), cfg, kernel_now(prog), 3);
    CHECK(j["on"] == false);
}

namespace {

// tests/kernel/cookie_check.bpf.c, loaded: the kernel's verdict on an ACK's cookie.
class CookieCheck {
  public:
    CookieCheck() {
        obj_ = bpf_object__open_file(harness::env("BULWARK_COOKIE_CHECK").c_str(), nullptr);
        REQUIRE(obj_);
        REQUIRE(bpf_object__load(obj_) == 0);
        fd_ = bpf_program__fd(bpf_object__find_program_by_name(obj_, "check_cookie"));
        REQUIRE(fd_ >= 0);
    }
    ~CookieCheck() { bpf_object__close(obj_); }
    CookieCheck(const CookieCheck&) = delete;
    CookieCheck& operator=(const CookieCheck&) = delete;
    bool accepts(const Frame& ack) const {
        auto r = test_run(fd_, ack.build()).retval;
        REQUIRE(r != 0);  // XDP_ABORTED: a frame it cannot read
        return r == PASS;
    }

  private:
    bpf_object* obj_ = nullptr;
    int fd_ = -1;
};

}  // namespace

TEST_CASE("SYN cookies: the kernel accepts the ACK to the SYN-ACK, and no other",
          "[xdp][syncookie]") {
    xdp::Program prog(make(R"({"syn_flood": {"cookies": "always"}})"));
    CookieCheck check;
    for (bool v6 : {false, true}) {
        INFO((v6 ? "IPv6" : "IPv4"));
        auto syn = cookie_syn();
        if (v6) {
            syn.v6 = true;
            syn.src = "2001:db8:1::9";
            syn.dst = "2001:db8::2";
        }
        auto r = test_run(prog.prog_fd(), syn.build());
        REQUIRE(r.retval == TX);
        size_t tcp = 14 + (v6 ? 40 : 20);
        uint32_t cookie = get32(r.out, tcp + 4);
        // The client's answer: its next sequence number, acknowledging the cookie.
        Frame ack = syn;
        ack.tcp_flags = 0x10;
        ack.tcp_options = {};
        ack.seq = syn.seq + 1;
        ack.ack = cookie + 1;
        CHECK(check.accepts(ack));
        // The cookie's low bits are the MSS's index, added: an ACK a few off names another MSS
        // and is accepted (the kernel's cookies are so). Further off, it is refused.
        auto off = ack;
        off.ack = cookie + 1 + (1u << 16);
        CHECK_FALSE(check.accepts(off));
        auto other_port = ack;
        other_port.sport = static_cast<uint16_t>(syn.sport + 1);
        CHECK_FALSE(check.accepts(other_port));
        auto other_seq = ack;
        other_seq.seq = syn.seq + 1 + (1u << 16);
        CHECK_FALSE(check.accepts(other_seq));
        auto other_source = ack;
        other_source.src = v6 ? "2001:db8:1::10" : "198.18.0.10";
        CHECK_FALSE(check.accepts(other_source));
    }
}
