#include "core/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "core/error.hpp"

namespace bulwark {

Cidr parse_cidr(const std::string& s, HostBits host_bits) {
    Cidr c;
    c.text = s;
    auto slash = s.find('/');
    std::string addr = s.substr(0, slash);
    if (inet_pton(AF_INET, addr.c_str(), c.addr.data()) == 1)
        c.family = AF_INET;
    else if (inet_pton(AF_INET6, addr.c_str(), c.addr.data()) == 1)
        c.family = AF_INET6;
    else
        throw InputError("\"" + s + "\" is not an IPv4 or IPv6 address or CIDR");
    unsigned max = c.family == AF_INET ? 32 : 128;
    c.prefix = max;
    if (slash != std::string::npos) {
        auto digits = std::string_view(s).substr(slash + 1);
        unsigned p = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || p > max)
            throw InputError("\"" + s + "\": prefix length must be 0.." + std::to_string(max));
        c.prefix = p;
    }
    for (unsigned bit = c.prefix; host_bits == HostBits::Refuse && bit < max; ++bit) {
        if (c.addr[bit / 8] & (0x80 >> (bit % 8))) {
            auto fixed = c;
            for (unsigned b = c.prefix; b < max; ++b)
                fixed.addr[b / 8] &= static_cast<uint8_t>(~(0x80 >> (b % 8)));
            char buf[INET6_ADDRSTRLEN];
            inet_ntop(c.family, fixed.addr.data(), buf, sizeof buf);
            throw InputError("\"" + s + "\" has host bits set (did you mean \"" + buf + "/" +
                             std::to_string(c.prefix) + "\"?)");
        }
    }
    return c;
}

Cidr4 parse_cidr4(const std::string& s, const char* what) {
    auto fail = [&] {
        return InputError(std::string(what) + " \"" + s +
                          "\": expected an IPv4 address with a prefix of 1 to 30, e.g. "
                          "198.18.0.1/30");
    };
    Cidr c;
    try {
        c = parse_cidr(s, HostBits::Allow);
    } catch (const InputError&) {
        throw fail();
    }
    // The prefix must be written: a veth address without one would be a /32 with no peer.
    if (c.family != AF_INET || s.find('/') == std::string::npos || c.prefix < 1 || c.prefix > 30)
        throw fail();
    return {s.substr(0, s.find('/')), c.prefix};
}

}  // namespace bulwark
