// libFuzzer: seccomp profiles (OCI/Docker JSON) through the parser and the resolver. Bad input
// must end in InputError; anything else (a crash, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "sandbox/seccomp_profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto p = bulwark::seccomp::parse_profile(bulwark::parse_json(text, "f.json"), "f.json");
        bulwark::seccomp::resolve(p, bulwark::seccomp::host_context({}));
    } catch (const bulwark::InputError&) {
    }
    return 0;
}
