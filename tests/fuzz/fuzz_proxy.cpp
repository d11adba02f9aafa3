// libFuzzer: payloads through the PROXY protocol and X-Forwarded-For parsers the XDP program runs
// (bpf/lib/proxy.h), driven as the program drives them. Beyond ASan's checks: a header is never
// longer than the payload, an address a v1 line or an X-Forwarded-For token gave is what glibc
// reads from the same text, and an IPv4 client has nothing past its four bytes.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bpf/lib/proxy.h"

namespace {

void check_client(const bw_proxy_client& c) {
    if (c.family == 4)
        for (int i = 4; i < 16; ++i)
            if (c.addr[i]) __builtin_trap();
    if (c.family != 0 && c.family != 4 && c.family != 6) __builtin_trap();
}

// The address glibc reads from `text` (IPv4-mapped IPv6 as IPv4) must be the parser's.
void check_against_glibc(const std::string& text, const bw_proxy_client& c) {
    unsigned char a[16] = {};
    bw_proxy_client want{};
    if (inet_pton(AF_INET, text.c_str(), a) == 1) {
        want.family = 4;
    } else if (inet_pton(AF_INET6, text.c_str(), a) == 1) {
        want.family = 6;
    } else {
        __builtin_trap();  // the parser took what glibc does not
    }
    std::memcpy(want.addr, a, 16);
    bw_proxy_unmap(&want);
    if (want.family != c.family || std::memcmp(want.addr, c.addr, 16) != 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto len = static_cast<__u32>(size < 1460 ? size : 1460);
    bw_proxy_client c{};
    int n = bw_proxy_v2(data, len, &c);
    if (n > 0) check_client(c);
    if (n == 0) {
        bw_proxy_v1 st;
        int at = bw_proxy_v1_begin(data, len, &st);
        if (at > 0) {
            for (__u32 i = static_cast<__u32>(at); i < len && i < BW_PROXY_V1_MAX; ++i) {
                int r = bw_proxy_v1_step(&st, data[i]);
                if (r < 0) break;
                if (r == 1) {
                    if (i + 1 > len) __builtin_trap();
                    check_client(st.client);
                    if (st.client.family) {
                        std::string line(reinterpret_cast<const char*>(data) + 11, i - 11);
                        check_against_glibc(line.substr(0, line.find(' ')), st.client);
                    }
                    break;
                }
            }
        }
    }
    // X-Forwarded-For, as forwarded_client() reads it.
    __u32 value = 0;
    for (__u32 q = 0; q < len; ++q)
        if (data[q] == '\n' && bw_xff_line(data, q, len, &value)) break;
    if (value) {
        if (value > len) __builtin_trap();
        bw_xff x;
        bw_xff_begin(&x);
        __u32 i = value;
        for (; i < len; ++i)
            if (bw_xff_step(&x, data[i])) break;
        if (x.complete) {
            // Re-split the value as the parser does, and check the tokens it kept.
            std::string v(reinterpret_cast<const char*>(data) + value, i - value);
            std::vector<std::string> tokens;
            size_t start = 0;
            for (;;) {
                size_t comma = v.find(',', start);
                std::string t = v.substr(start, comma - start);
                auto b = t.find_first_not_of(" \t"), e = t.find_last_not_of(" \t");
                if (b != std::string::npos) tokens.push_back(t.substr(b, e - b + 1));
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            if (tokens.size() != x.n) __builtin_trap();
            for (__u32 k = x.n > BW_XFF_KEEP ? x.n - BW_XFF_KEEP : 0; k < x.n; ++k) {
                auto& got = x.got[k % BW_XFF_KEEP];
                check_client(got);
                if (got.family) check_against_glibc(tokens[k], got);
            }
        }
    }
    return 0;
}
