// IPv4 and IPv6 prefixes as operators write them: the one parser behind the policy's lists and
// the veth addresses.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace bulwark {

struct Cidr {
    int family = 0;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> addr{};
    unsigned prefix = 0;
    std::string text;  // as written, for messages
    bool operator==(const Cidr& o) const {
        return family == o.family && addr == o.addr && prefix == o.prefix;
    }
};

// Refuse: a network prefix ("10.0.0.0/8"; "10.0.0.1/8" is an error that says what was meant).
// Allow: an interface address with its prefix ("198.18.0.1/30").
enum class HostBits { Refuse, Allow };

// "10.0.0.0/8", "2001:db8::/32", or a bare address (/32 or /128). Throws InputError (without
// file context: callers add it).
Cidr parse_cidr(const std::string& s, HostBits host_bits = HostBits::Refuse);

struct Cidr4 {
    std::string addr;  // dotted quad
    unsigned prefix;
};
// An interface address: "198.18.0.1/30" (IPv4; the prefix is required). Throws InputError naming
// `what`.
Cidr4 parse_cidr4(const std::string& s, const char* what);

}  // namespace bulwark
