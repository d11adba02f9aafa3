// The PROXY protocol parser the XDP program runs (bpf/lib/proxy.h), driven here the way the
// program drives it: version 2 first, then a version 1 line a byte at a time, at most 107 bytes.
// IPv6 text is checked against glibc's inet_pton/inet_ntop.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>

#include "bpf/lib/proxy.h"

namespace {

struct Parsed {
    int len;  // header length, 0 (no PROXY header) or BW_PROXY_BAD
    bw_proxy_client client;
};

Parsed parse(const std::string& s) {
    auto b = reinterpret_cast<const __u8*>(s.data());
    auto len = static_cast<__u32>(s.size());
    bw_proxy_client c{};
    if (int n = bw_proxy_v2(b, len, &c)) return {n, c};
    bw_proxy_v1 st;
    int at = bw_proxy_v1_begin(b, len, &st);
    if (at <= 0) return {at, {}};
    for (__u32 i = static_cast<__u32>(at); i < len && i < BW_PROXY_V1_MAX; ++i) {
        int r = bw_proxy_v1_step(&st, b[i]);
        if (r == 1) return {static_cast<int>(i + 1), st.client};
        if (r < 0) return {BW_PROXY_BAD, {}};
    }
    return {BW_PROXY_BAD, {}};
}

std::string text(const bw_proxy_client& c) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (c.family == 0) return "none";
    inet_ntop(c.family == 4 ? AF_INET : AF_INET6, c.addr, buf, sizeof buf);
    return std::string(buf) + " port " + std::to_string(c.port);
}

std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string& addrs, int body_len = -1) {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += static_cast<char>(ver_cmd);
    h += static_cast<char>(fam);
    size_t n = body_len < 0 ? addrs.size() : static_cast<size_t>(body_len);
    h += static_cast<char>(n >> 8);
    h += static_cast<char>(n & 0xff);
    return h + addrs;
}

std::string bytes(std::initializer_list<int> l) {
    std::string s;
    for (int b : l) s += static_cast<char>(b);
    return s;
}

}  // namespace

TEST_CASE("PROXY v1 lines name the client; the request after them is not part of it", "[proxy]") {
    std::string line = "PROXY TCP4 198.18.5.5 198.18.0.2 51234 80\r\n";
    auto p = parse(line + "GET / HTTP/1.1\r\n\r\n");
    CHECK(p.len == static_cast<int>(line.size()));
    CHECK(text(p.client) == "198.18.5.5 port 51234");
    CHECK(text(parse("PROXY TCP6 2001:db8::5 2001:db8::2 1 443\r\n").client) ==
          "2001:db8::5 port 1");
    // An IPv4 client of an IPv6 listener (HAProxy writes both as mapped) counts as IPv4.
    auto m = parse("PROXY TCP6 ::ffff:198.18.5.5 ::ffff:198.18.0.2 65535 80\r\n");
    CHECK(m.client.family == 4);
    CHECK(text(m.client) == "198.18.5.5 port 65535");
    CHECK(text(parse("PROXY TCP6 1:2:3:4:5:6:7:8 :: 9 9\r\n").client) == "1:2:3:4:5:6:7:8 port 9");
    CHECK(text(parse("PROXY TCP6 fe80:: ::1 9 9\r\n").client) == "fe80:: port 9");
    CHECK(text(parse("PROXY TCP6 1:2:3:4:5:6:1.2.3.4 ::1 9 9\r\n").client) ==
          "1:2:3:4:5:6:102:304 port 9");
    // UNKNOWN names nobody, whatever follows it on the line.
    CHECK(parse("PROXY UNKNOWN\r\n").len == 15);
    CHECK(parse("PROXY UNKNOWN\r\n").client.family == 0);
    auto u = parse("PROXY UNKNOWN ffff:f...:ffff ffff:f...:ffff 65535 65535\r\nGET /");
    CHECK(u.len == 57);
    CHECK(u.client.family == 0);
}

TEST_CASE("malformed PROXY v1 lines are refused, other payloads are no header", "[proxy]") {
    for (const char* bad : {
             "PROXY TCP4 198.18.5.256 198.18.0.2 1 80\r\n",  // octet
             "PROXY TCP4 198.18.5 198.18.0.2 1 80\r\n",      // three octets
             "PROXY TCP4 198.18.5.5.5 198.18.0.2 1 80\r\n",  // five
             "PROXY TCP4 198.18..5 198.18.0.2 1 80\r\n",
             "PROXY TCP4 198.18.05.5 198.18.0.2 1 80\r\n",  // a leading zero
             "PROXY TCP6 ::ffff:01.2.3.4 ::1 1 80\r\n",
             "PROXY TCP4 2001:db8::1 198.18.0.2 1 80\r\n",  // the wrong family
             "PROXY TCP6 198.18.0.1 ::1 1 80\r\n",
             "PROXY TCP4 198.18.5.5 198.18.0.2 65536 80\r\n",  // port
             "PROXY TCP4 198.18.5.5 198.18.0.2 1 080000\r\n",
             "PROXY TCP4 198.18.5.5 198.18.0.2 1 80\n",  // LF without CR
             "PROXY TCP4 198.18.5.5 198.18.0.2 1\r\n",   // a field short
             "PROXY TCP4 198.18.5.5  198.18.0.2 1 80\r\n",
             "PROXY UDP4 198.18.5.5 198.18.0.2 1 80\r\n",  // not TCP
             "PROXY TCP6 1::2::3 ::1 1 80\r\n",            // two gaps
             "PROXY TCP6 :1::2 ::1 1 80\r\n",              // a lone leading colon
             "PROXY TCP6 1:2:3:4:5:6:7: ::1 1 80\r\n",     // a lone trailing one
             "PROXY TCP6 12345::1 ::1 1 80\r\n",           // five hex digits
             "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 80\r\n",  // nine groups
             "PROXY TCP6 1:2:3:4:5:6:7::8 ::1 1 80\r\n",   // eight and a gap
             "PROXY TCP6 ::1.2.3 ::1 1 80\r\n",            // a short tail
             "PROXY TCP6 ::1.2.3.4:5 ::1 1 80\r\n",        // groups after a tail
             "PROXY TCP4 198.18.5.5 198.18.0.2 1 80",      // the segment ends first
             "PROXY UNKNOWN \n",
         }) {
        INFO(bad);
        CHECK(parse(bad).len == BW_PROXY_BAD);
    }
    // No CRLF within 107 bytes: refused, though each byte would do.
    CHECK(parse("PROXY UNKNOWN " + std::string(100, 'x') + "\r\n").len == BW_PROXY_BAD);
    CHECK(parse("PROXY UNKNOWN " + std::string(90, 'x') + "\r\n").len == 106);
    for (const char* none : {"GET / HTTP/1.1\r\n", "PROXY", "PROXYTCP4", "", "proxy TCP4 "}) {
        INFO(none);
        CHECK(parse(none).len == 0);
    }
}

TEST_CASE("PROXY v2 headers: PROXY over TCP names the client, TLVs are skipped", "[proxy]") {
    auto v4 = bytes({198, 18, 5, 5, 198, 18, 0, 2, 0xc8, 0x22, 0, 80});
    std::string tlv = bytes({0x01, 0, 2, 'h', '2'});  // PP2_TYPE_ALPN
    auto p = parse(v2(0x21, 0x11, v4 + tlv) + "GET / HTTP/1.1\r\n");
    CHECK(p.len == 16 + 12 + 5);
    CHECK(text(p.client) == "198.18.5.5 port 51234");

    std::string v6(36, '\0');
    unsigned char a[16];
    inet_pton(AF_INET6, "2001:db8::5", a);
    v6.replace(0, 16, reinterpret_cast<char*>(a), 16);
    v6[32] = 0x01, v6[33] = 0x02;
    CHECK(text(parse(v2(0x21, 0x21, v6)).client) == "2001:db8::5 port 258");
    inet_pton(AF_INET6, "::ffff:198.18.5.6", a);
    v6.replace(0, 16, reinterpret_cast<char*>(a), 16);
    CHECK(text(parse(v2(0x21, 0x21, v6)).client) == "198.18.5.6 port 258");

    // LOCAL (the proxy's health check), UNSPEC, UDP and UNIX: no client, the header skipped.
    for (auto [cmd, fam] : {std::pair{0x20, 0x11}, {0x21, 0x00}, {0x21, 0x12}, {0x21, 0x31}}) {
        auto h = v2(static_cast<uint8_t>(cmd), static_cast<uint8_t>(fam), v4);
        auto r = parse(h);
        CHECK(r.len == static_cast<int>(h.size()));
        CHECK(r.client.family == 0);
    }
    CHECK(parse(v2(0x20, 0x00, "")).len == 16);

    CHECK(parse(v2(0x11, 0x11, v4)).len == BW_PROXY_BAD);                // version 1
    CHECK(parse(v2(0x22, 0x11, v4)).len == BW_PROXY_BAD);                // command 2
    CHECK(parse(v2(0x21, 0x11, v4, 8)).len == BW_PROXY_BAD);             // too short for TCP4
    CHECK(parse(v2(0x21, 0x21, v4)).len == BW_PROXY_BAD);                // and for TCP6
    CHECK(parse(v2(0x21, 0x41, v4)).len == BW_PROXY_BAD);                // no such family
    CHECK(parse(v2(0x21, 0x11, v4).substr(0, 20)).len == BW_PROXY_BAD);  // addresses cut off
    CHECK(parse(v2(0x21, 0x11, v4).substr(0, 14)).len == BW_PROXY_BAD);
    CHECK(parse(v2(0x21, 0x11, v4).substr(0, 11)).len == 0);  // not even the signature
}

TEST_CASE(
    "IPv6 text: what inet_ntop writes parses back; v1 takes what inet_pton takes, and only that",
    "[proxy]") {
    std::mt19937 rng(1234);
    auto line = [](const std::string& a) { return "PROXY TCP6 " + a + " ::1 1 2\r\n"; };
    for (int i = 0; i < 20000; ++i) {
        unsigned char a[16];
        for (auto& b : a) b = static_cast<unsigned char>(rng() % 3 ? 0 : rng());  // runs of 0
        if (i % 5 == 0) std::memcpy(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);       // mapped
        char s[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, a, s, sizeof s);
        INFO(s);
        auto p = parse(line(s));
        REQUIRE(p.len > 0);
        unsigned char want[16] = {};
        bool mapped = std::memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
        if (mapped)
            std::memcpy(want, a + 12, 4);
        else
            std::memcpy(want, a, 16);
        CHECK(p.client.family == (mapped ? 4 : 6));
        CHECK(std::memcmp(p.client.addr, want, 16) == 0);
    }
    // Mutations: the parser takes what glibc takes, and gives the same address.
    const std::string alphabet = "0123456789abcdefABCDEF:.";
    int accepted = 0;
    for (int i = 0; i < 200000; ++i) {
        std::string s;
        size_t n = 2 + rng() % 24;
        for (size_t k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
        unsigned char a[16];
        bool glibc = inet_pton(AF_INET6, s.c_str(), a) == 1;
        auto p = parse(line(s));
        INFO(s);
        CHECK(glibc == (p.len > 0));
        if (!glibc) continue;
        ++accepted;
        REQUIRE(p.len > 0);
        bw_proxy_client want{6, 0, 0, {}};
        std::memcpy(want.addr, a, 16);
        bw_proxy_unmap(&want);
        CHECK(p.client.family == want.family);
        CHECK(std::memcmp(p.client.addr, want.addr, 16) == 0);
    }
    CHECK(accepted > 100);
}

namespace {

// The addresses of the last whole X-Forwarded-For line, as the program keeps them ("-" for a
// token that is no address), or "incomplete".
std::string xff(const std::string& request) {
    auto b = reinterpret_cast<const __u8*>(request.data());
    auto len = static_cast<__u32>(request.size());
    __u32 value = 0;
    for (__u32 q = 0; q < len; ++q)
        if (b[q] == '\n' && bw_xff_line(b, q, len, &value)) break;
    if (!value) return "incomplete";
    bw_xff x;
    bw_xff_begin(&x);
    for (__u32 i = value; i < len; ++i)
        if (bw_xff_step(&x, b[i])) break;
    if (!x.complete) return "incomplete";
    std::string out;
    uint32_t first = x.n > BW_XFF_KEEP ? x.n - BW_XFF_KEEP : 0;
    for (uint32_t i = first; i < x.n; ++i) {
        if (!out.empty()) out += " ";
        auto& c = x.got[i % BW_XFF_KEEP];
        out += c.family ? text(c).substr(0, text(c).find(" port")) : "-";
    }
    return out;
}

}  // namespace

TEST_CASE("X-Forwarded-For: the last whole header line's addresses, in order", "[proxy]") {
    auto req = [](const std::string& headers) {
        return "GET / HTTP/1.1\r\nHost: shop\r\n" + headers + "Accept: */*\r\n\r\nbody";
    };
    CHECK(xff(req("X-Forwarded-For: 198.18.5.5\r\n")) == "198.18.5.5");
    CHECK(xff(req("x-forwarded-for:203.0.113.9, 198.18.5.5\r\n")) == "203.0.113.9 198.18.5.5");
    CHECK(xff(req("X-FORWARDED-FOR:  2001:db8::5 ,::ffff:198.18.5.6\t\r\n")) ==
          "2001:db8::5 198.18.5.6");
    // Tokens that are no address: kept as such, so the walk to the left stops there.
    CHECK(xff(req("X-Forwarded-For: unknown, 1.2.3.4:5678, 1.2.3 4, 198.18.5.5\r\n")) ==
          "- - - 198.18.5.5");
    CHECK(xff(req("X-Forwarded-For: ,, 198.18.5.5,\r\n")) == "198.18.5.5");
    // Only the last four are kept; a second header line replaces the first.
    CHECK(xff(req("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 5.5.5.5\r\n")) ==
          "2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5");
    CHECK(xff(req("X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n")) == "2.2.2.2");
    // A line the segment cuts off, none at all, one in the body or in another header's value,
    // or a look-alike name: nothing.
    CHECK(xff("GET / HTTP/1.1\r\nX-Forwarded-For: 198.18.5.5") == "incomplete");
    CHECK(xff(req("")) == "incomplete");
    CHECK(xff("GET / HTTP/1.1\r\n\r\nX-Forwarded-For: 198.18.5.5\r\n") == "incomplete");
    CHECK(xff(req("Referer: /?X-Forwarded-For: 198.18.5.5\r\n")) == "incomplete");
    CHECK(xff(req("X-Forwarded-Foo: 198.18.5.5\r\n")) == "incomplete");
    CHECK(xff(req("XX-Forwarded-For: 198.18.5.5\r\n")) == "incomplete");
    // Bare LF line ends, as lenient servers take them.
    CHECK(xff("GET / HTTP/1.1\nX-Forwarded-For: 198.18.5.5\n\n") == "198.18.5.5");
}
