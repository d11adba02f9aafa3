// Crafted Ethernet frames for XDP tests and benchmarks: IPv4/IPv6, VLAN tags, IPv6 extension
// headers, fragments, TCP/UDP/ICMP with a payload.
#pragma once

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace frames {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

struct Frame {
    std::vector<uint16_t> vlans;
    std::string src = "198.18.0.9", dst = "198.18.0.2";
    bool v6 = false;
    uint8_t proto = IPPROTO_TCP;
    uint16_t sport = 40000, dport = 80;
    uint8_t tcp_flags = 0x18;  // PSH|ACK
    uint32_t seq = 1;
    uint32_t ack = 0;
    std::vector<uint8_t> tcp_options;  // padded with NOPs to a multiple of 4
    std::string payload;
    uint16_t frag_off = 0;        // IPv4 fragment offset field (host order, flags included)
    std::vector<uint8_t> v6_ext;  // IPv6 extension header types to insert (0, 60, 44)
    bool v6_nonfirst_fragment = false;

    Bytes build() const {
        Bytes b(14, 0);
        for (size_t i = 0; i < 6; ++i) b[i] = 0x02, b[6 + i] = 0x04;
        size_t et = 12;
        for (auto tag : vlans) {
            put16(b, et, ETH_P_8021Q);
            b.resize(b.size() + 4);
            put16(b, et + 2, tag);
            et += 4;
        }
        put16(b, et, v6 ? ETH_P_IPV6 : ETH_P_IP);
        Bytes l4;
        if (proto == IPPROTO_TCP) {
            l4.assign(20, 0);
            put16(l4, 0, sport);
            put16(l4, 2, dport);
            put16(l4, 4, static_cast<uint16_t>(seq >> 16));
            put16(l4, 6, static_cast<uint16_t>(seq));
            put16(l4, 8, static_cast<uint16_t>(ack >> 16));
            put16(l4, 10, static_cast<uint16_t>(ack));
            l4[13] = tcp_flags;
            put16(l4, 14, 64240);  // window
            l4.insert(l4.end(), tcp_options.begin(), tcp_options.end());
            while (l4.size() % 4) l4.push_back(1);
            l4[12] = static_cast<uint8_t>(l4.size() / 4 << 4);
        } else if (proto == IPPROTO_UDP) {
            l4.assign(8, 0);
            put16(l4, 0, sport);
            put16(l4, 2, dport);
        } else {
            l4.assign(8, 0);  // ICMP / ICMPv6: type at byte 0
        }
        l4.insert(l4.end(), payload.begin(), payload.end());
        if (!v6) {
            Bytes ip(20, 0);
            ip[0] = 0x45;
            put16(ip, 2, static_cast<uint16_t>(20 + l4.size()));
            put16(ip, 6, frag_off);
            ip[8] = 64;
            ip[9] = proto;
            inet_pton(AF_INET, src.c_str(), &ip[12]);
            inet_pton(AF_INET, dst.c_str(), &ip[16]);
            b.insert(b.end(), ip.begin(), ip.end());
        } else {
            Bytes ext;
            uint8_t first = v6_ext.empty() ? proto : v6_ext[0];
            for (size_t i = 0; i < v6_ext.size(); ++i) {
                uint8_t next = i + 1 < v6_ext.size() ? v6_ext[i + 1] : proto;
                Bytes h(8, 0);
                h[0] = next;
                if (v6_ext[i] == 44 && v6_nonfirst_fragment) put16(h, 2, 8 << 3);
                ext.insert(ext.end(), h.begin(), h.end());
            }
            Bytes ip(40, 0);
            ip[0] = 0x60;
            put16(ip, 4, static_cast<uint16_t>(ext.size() + l4.size()));
            ip[6] = first;
            ip[7] = 64;
            inet_pton(AF_INET6, src.c_str(), &ip[8]);
            inet_pton(AF_INET6, dst.c_str(), &ip[24]);
            b.insert(b.end(), ip.begin(), ip.end());
            b.insert(b.end(), ext.begin(), ext.end());
        }
        b.insert(b.end(), l4.begin(), l4.end());
        return b;
    }
};

}  // namespace frames
