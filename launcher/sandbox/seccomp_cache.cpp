#include "sandbox/seccomp_cache.hpp"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "core/digest.hpp"
#include "core/fd.hpp"
#include "core/json_util.hpp"
#include "core/sys.hpp"

namespace bulwark::seccomp::cache {

namespace {

constexpr char kFormat[] = "bulwark seccomp cache 1";

// Root's, and writable by root alone: whatever is in it was put there by root.
bool private_to_root(const struct stat& st, bool is_dir) {
    return st.st_uid == 0 && (is_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) &&
           (st.st_mode & (is_dir ? (S_IWGRP | S_IWOTH) : 077)) == 0;
}

}  // namespace

std::string dir() {
    const char* env = std::getenv("BULWARK_CACHE_DIR");
    return env && *env ? env : "/var/cache/bulwark/seccomp";
}

std::string path(const std::string& dir, const std::string& key) {
    return dir + "/" + key + ".json";
}

std::string key(const std::string& profile_sha256, const std::vector<std::string>& kept_caps) {
    utsname u{};
    uname(&u);
    // The binary itself, not just its version: a rebuilt or upgraded compiler starts afresh.
    struct stat self {};
    stat("/proc/self/exe", &self);
    const scmp_version* v = seccomp_version();
    std::string k = std::string(kFormat) + "\nbulwark " BULWARK_VERSION " " +
                    std::to_string(self.st_dev) + ":" + std::to_string(self.st_ino) + " " +
                    std::to_string(self.st_size) + " " + std::to_string(self.st_mtim.tv_sec) + "." +
                    std::to_string(self.st_mtim.tv_nsec) + "\nkernel " + u.release + " " +
                    u.version + " " + u.machine + "\nlibseccomp " + std::to_string(v->major) + "." +
                    std::to_string(v->minor) + "." + std::to_string(v->micro) + "\nprofile " +
                    profile_sha256 + "\ncaps";
    for (auto& c : kept_caps) k += " " + c;
    return sha256_hex(k);
}

std::optional<Entry> load(const std::string& d, const std::string& key) {
    struct stat st {};
    if (lstat(d.c_str(), &st) != 0 || !private_to_root(st, true)) return std::nullopt;
    auto file = path(d, key);
    UniqueFd fd(open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd || fstat(fd.get(), &st) != 0 || !private_to_root(st, false)) return std::nullopt;
    try {
        auto j = parse_json(read_fd(fd.get(), file), file);
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
    try {
        std::filesystem::create_directories(dirname_of(d));
        if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return false;
        struct stat st {};
        if (lstat(d.c_str(), &st) != 0 || !private_to_root(st, true)) return false;
        write_file_atomic(path(d, key), j.dump(), 0600);
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace bulwark::seccomp::cache
