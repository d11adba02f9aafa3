#include "sandbox/seccomp_cache.hpp"

#include <linux/filter.h>
#include <seccomp.h>
#include <sys/utsname.h>

#include "core/cache.hpp"
#include "core/digest.hpp"
#include "core/json_util.hpp"

namespace bulwark::seccomp::cache {

namespace {

constexpr char kFormat[] = "bulwark seccomp cache 1";

std::string entry_name(const std::string& key) {
    return key + ".json";
}

}  // namespace

std::string dir() {
    return bulwark::cache::dir("seccomp");
}

std::string path(const std::string& dir, const std::string& key) {
    return dir + "/" + entry_name(key);
}

std::string key(const std::string& profile_sha256, const std::vector<std::string>& kept_caps) {
    utsname u{};
    uname(&u);
    const scmp_version* v = seccomp_version();
    std::string k = std::string(kFormat) + "\n" + bulwark::cache::binary_identity() + "\nkernel " +
                    u.release + " " + u.version + " " + u.machine + "\nlibseccomp " +
                    std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                    std::to_string(v->micro) + "\nprofile " + profile_sha256 + "\ncaps";
    for (auto& c : kept_caps) k += " " + c;
    return sha256_hex(k);
}

std::optional<Entry> load(const std::string& d, const std::string& key) {
    auto file = path(d, key);
    auto bytes = bulwark::cache::load(d, entry_name(key));
    if (!bytes) return std::nullopt;
    try {
        auto j = parse_json(*bytes, file);
        if (j.at("format") != kFormat || j.at("key") != key) return std::nullopt;
        Entry e;
        for (auto& i : j.at("program")) {
            sock_filter f{i.at(0).get<uint16_t>(), i.at(1).get<uint8_t>(), i.at(2).get<uint8_t>(),
                          i.at(3).get<uint32_t>()};
            e.filter.program.push_back(f);
        }
        if (e.filter.program.empty() || e.filter.program.size() > BPF_MAXINSNS) return std::nullopt;
        e.filter.flags = j.at("flags").get<unsigned>();
        j.at("arches").get_to(e.filter.arches);
        j.at("warnings").get_to(e.filter.warnings);
        j.at("unknown_names").get_to(e.filter.unknown_names);
        j.at("per_action").get_to(e.filter.per_action);
        e.filter.stub_insns = j.at("stub_insns").get<size_t>();
        j.at("max_known_nr").get_to(e.filter.max_known_nr);
        j.at("launch_denials").get_to(e.launch_denials);
        return e;
    } catch (const std::exception&) {
        return std::nullopt;  // torn, edited or from another version: compile afresh
    }
}

bool store(const std::string& d, const std::string& key, const Entry& e) {
    Json program = Json::array();
    for (auto& f : e.filter.program) program.push_back({f.code, f.jt, f.jf, f.k});
    Json j{{"format", kFormat},
           {"key", key},
           {"program", program},
           {"flags", e.filter.flags},
           {"arches", e.filter.arches},
           {"warnings", e.filter.warnings},
           {"unknown_names", e.filter.unknown_names},
           {"per_action", e.filter.per_action},
           {"stub_insns", e.filter.stub_insns},
           {"max_known_nr", e.filter.max_known_nr},
           {"launch_denials", e.launch_denials}};
    return bulwark::cache::store(d, entry_name(key), j.dump());
}

}  // namespace bulwark::seccomp::cache
