// The 32-bit entry point (int 0x80) must not bypass a filter written for x86_64.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace harness;
using Catch::Matchers::Contains;

std::string kernel_precheck() {
    // If the host kernel itself refuses int 0x80 (ia32 emulation off), there is nothing to bypass
    // and nothing to test here.
    if (auto why = doctor_says("int80"); !why.empty())
        return why + "; x32 is covered by kernel_sandbox and the unit tests";
    return {};
}

TEST_CASE("int 0x80 under a native-only profile kills the app", "[abi]") {
    auto r = run_sandbox({}, {"/bin/probe", "int80"});
    CHECK(r.code == 128 + SIGSYS);
    CHECK_THAT(r.err, Contains("seccomp violation"));
}

TEST_CASE("int 0x80 under a profile naming SCMP_ARCH_X86 follows its i386 rules", "[abi]") {
    auto docker = env("BULWARK_TESTDATA_DIR") + "/seccomp/docker-default.json";
    auto r = run_sandbox({"--profile", docker}, {"/bin/probe", "int80"});
    CHECK(r.code == 0);
    CHECK(r.out == "int80=2\n");  // i386 getpid, allowed by Docker's profile
}
