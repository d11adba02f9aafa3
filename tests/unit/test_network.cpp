#include <catch2/catch.hpp>

#include "run/network.hpp"

TEST_CASE("veth names come from the instance name and fit IFNAMSIZ", "[network]") {
    auto n = bulwark::network::veth_names("web");
    CHECK(n.host == "bw-web-h");
    CHECK(n.sandbox == "bw-web-s");
    auto ten = bulwark::network::veth_names("abcdefghij");
    CHECK(ten.host == "bw-abcdefghij-h");
    CHECK(ten.host.size() == 15);
    auto a = bulwark::network::veth_names("customer-portal-1");
    auto b = bulwark::network::veth_names("customer-portal-2");
    CHECK(a.host.size() <= 15);
    CHECK(a.host.rfind("bw-custom", 0) == 0);
    CHECK(a.host != b.host);  // same prefix, different hash
}
