#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "core/cidr.hpp"

using namespace bulwark;
using Catch::Matchers::Contains;

TEST_CASE("CIDRs: prefixes, and host bits refused with what was meant", "[cidr]") {
    auto c = parse_cidr("198.18.0.0/15");
    CHECK(c.family == AF_INET);
    CHECK(c.prefix == 15);
    CHECK(c.addr[0] == 198);
    CHECK(parse_cidr("2001:db8::/32").family == AF_INET6);
    CHECK(parse_cidr("10.1.2.3").prefix == 32);
    CHECK(parse_cidr("::1").prefix == 128);
    CHECK(parse_cidr("0.0.0.0/0").prefix == 0);
    CHECK_THROWS_WITH(parse_cidr("10.0.0.0/33"), Contains("prefix length must be 0..32"));
    CHECK_THROWS_WITH(parse_cidr("::1/129"), Contains("prefix length must be 0..128"));
    CHECK_THROWS_WITH(parse_cidr("1.2.3"), Contains("is not an IPv4 or IPv6 address"));
    CHECK_THROWS_WITH(parse_cidr("10.0.0.0/"), Contains("prefix length"));
    CHECK_THROWS_WITH(parse_cidr("10.0.0.0/-1"), Contains("prefix length"));
    CHECK_THROWS_WITH(parse_cidr("10.0.0.1/8"), Contains("did you mean \"10.0.0.0/8\""));
    CHECK_THROWS_WITH(parse_cidr("2001:db8::1/32"), Contains("did you mean \"2001:db8::/32\""));
}

TEST_CASE("CIDRs: interface addresses keep their host bits", "[cidr]") {
    auto c = parse_cidr("198.18.0.1/30", HostBits::Allow);
    CHECK(c.prefix == 30);
    CHECK(c.addr[3] == 1);
    CHECK_THROWS_WITH(parse_cidr("198.18.0.1/30"), Contains("has host bits set"));
}

TEST_CASE("--host-addr and --addr are IPv4 CIDRs", "[network]") {
    auto c = bulwark::parse_cidr4("198.18.0.1/30", "--addr");
    CHECK(c.addr == "198.18.0.1");
    CHECK(c.prefix == 30);
    for (auto bad : {"198.18.0.1", "198.18.0.1/31", "198.18.0.1/0", "198.18.0/24", "::1/64",
                     "198.18.0.1/3x", "198.18.0.1/"})
        CHECK_THROWS_WITH(bulwark::parse_cidr4(bad, "--addr"),
                          Contains(std::string("--addr \"") + bad));
}
