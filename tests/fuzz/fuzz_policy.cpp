// libFuzzer: network policies through the parser and the compiler to the kernel's tables.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto p = bulwark::policy::parse_policy(bulwark::parse_json(text, "p.json"), "p.json");
        bulwark::xdp::compile(p);
    } catch (const bulwark::InputError&) {
    }
    return 0;
}
