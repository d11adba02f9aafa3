#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "sandbox/caps.hpp"

using namespace bulwark;

TEST_CASE("capability names", "[caps]") {
    CHECK(caps::parse_name("CAP_NET_BIND_SERVICE") == CAP_NET_BIND_SERVICE);
    CHECK(caps::parse_name("cap_sys_admin") == CAP_SYS_ADMIN);
    CHECK(caps::name_of(CAP_NET_BIND_SERVICE) == "CAP_NET_BIND_SERVICE");
    CHECK_THROWS_WITH(caps::parse_name("CAP_NET_BIND"), "unknown capability \"CAP_NET_BIND\"");
    CHECK_THROWS_AS(caps::parse_name("NET_ADMIN"), InputError);
    CHECK_THROWS_AS(caps::parse_name("12"), InputError);
    CHECK(caps::parse_names({"CAP_CHOWN", "cap_chown"}).size() == 1);
}
