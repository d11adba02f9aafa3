// Kernel tests need root and kernel features; without them they exit 77 (ctest: skipped) and
// say why, rather than passing.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "harness.hpp"

int main(int argc, char** argv) {
    if (geteuid() != 0) {
        std::printf("SKIP: kernel tests need root (namespaces, mounts, seccomp as another uid)\n");
        return 77;
    }
    if (auto reason = kernel_precheck(); !reason.empty()) {
        std::printf("SKIP: %s\n", reason.c_str());
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
