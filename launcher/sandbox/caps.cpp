#include "sandbox/caps.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <memory>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace bulwark::caps {

namespace {
bool kept(const std::vector<cap_value_t>& keep, cap_value_t v) {
    return std::find(keep.begin(), keep.end(), v) != keep.end();
}
}  // namespace

cap_value_t parse_name(const std::string& name) {
    std::string upper = name;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    cap_value_t v;
    if (upper.rfind("CAP_", 0) != 0 || cap_from_name(upper.c_str(), &v) != 0)
        throw InputError("unknown capability \"" + name + "\"");
    return v;
}

std::vector<cap_value_t> parse_names(const std::vector<std::string>& names) {
    std::vector<cap_value_t> out;
    for (auto& n : names) {
        auto v = parse_name(n);
        if (!kept(out, v)) out.push_back(v);
    }
    return out;
}

std::string name_of(cap_value_t v) {
    Handle<char, cap_free> s(cap_to_name(v));
    std::string out = s ? s.get() : ("cap_" + std::to_string(v));
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

void prepare_drop(const std::vector<cap_value_t>& keep) {
    // Iterate to the running kernel's last capability, not libcap's compile-time list.
    for (cap_value_t v = 0; v <= static_cast<cap_value_t>(cap_max_bits()) - 1; ++v) {
        if (kept(keep, v)) continue;
        if (cap_drop_bound(v) != 0) throw_sys("cap_drop_bound(" + name_of(v) + ")");
    }
    if (cap_reset_ambient() != 0) throw_sys("cap_reset_ambient");
    if (prctl(PR_SET_KEEPCAPS, keep.empty() ? 0 : 1, 0, 0, 0) != 0)
        throw_sys("prctl(PR_SET_KEEPCAPS)");
}

void finish_drop(const std::vector<cap_value_t>& keep) {
    Handle<_cap_struct, cap_free> caps(cap_init());
    if (!caps) throw_sys("cap_init");
    if (!keep.empty()) {
        for (auto flag : {CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE})
            if (cap_set_flag(caps.get(), flag, static_cast<int>(keep.size()), keep.data(),
                             CAP_SET) != 0)
                throw_sys("cap_set_flag");
    }
    if (cap_set_proc(caps.get()) != 0) throw_sys("cap_set_proc");
    for (auto v : keep)
        if (cap_set_ambient(v, CAP_SET) != 0) throw_sys("cap_set_ambient(" + name_of(v) + ")");
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) throw_sys("prctl(PR_SET_KEEPCAPS, 0)");
}

}  // namespace bulwark::caps
