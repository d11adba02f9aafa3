#include <signal.h>

#include <catch2/catch.hpp>

#include "run/supervisor.hpp"

using namespace bulwark;

TEST_CASE("exit codes of wait statuses", "[supervisor]") {
    CHECK(supervisor::exit_code_of(3 << 8) == 3);
    CHECK(supervisor::exit_code_of(SIGKILL) == 137);
    CHECK(supervisor::exit_code_of(SIGSYS) == 159);
}
