#include "core/cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/fd.hpp"
#include "core/sys.hpp"

namespace bulwark::cache {

namespace {

// Root's, and writable by root alone: whatever is in it was put there by root.
bool private_to_root(const struct stat& st, bool is_dir) {
    return st.st_uid == 0 && (is_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) &&
           (st.st_mode & (is_dir ? (S_IWGRP | S_IWOTH) : 077)) == 0;
}

bool private_dir(const std::string& d) {
    struct stat st {};
    return lstat(d.c_str(), &st) == 0 && private_to_root(st, true);
}

}  // namespace

std::string dir(const std::string& kind) {
    const char* env = std::getenv("BULWARK_CACHE_DIR");
    return std::string(env && *env ? env : "/var/cache/bulwark") + "/" + kind;
}

std::string binary_identity() {
    struct stat self {};
    stat("/proc/self/exe", &self);
    return "bulwark " BULWARK_VERSION " " + std::to_string(self.st_dev) + ":" +
           std::to_string(self.st_ino) + " " + std::to_string(self.st_size) + " " +
           std::to_string(self.st_mtim.tv_sec) + "." + std::to_string(self.st_mtim.tv_nsec);
}

std::optional<std::string> load(const std::string& d, const std::string& name) {
    if (!private_dir(d)) return std::nullopt;
    auto file = d + "/" + name;
    UniqueFd fd(open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd || fstat(fd.get(), &st) != 0 || !private_to_root(st, false)) return std::nullopt;
    try {
        auto bytes = read_fd(fd.get(), file);
        futimens(fd.get(), nullptr);  // root owns it: allowed on a read-only fd
        return bytes;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool store(const std::string& d, const std::string& name, const std::string& bytes) {
    try {
        std::filesystem::create_directories(dirname_of(d));
        if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return false;
        if (!private_dir(d)) return false;
        write_file_atomic(d + "/" + name, bytes, 0600);
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

void trim(const std::string& d, const std::string& suffix, size_t keep) {
    if (!private_dir(d)) return;
    std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> entries;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(d, ec)) {
        auto name = e.path().filename().string();
        if (name.size() < suffix.size() || !name.ends_with(suffix)) continue;
        auto t = e.last_write_time(ec);
        if (!ec) entries.emplace_back(t, e.path());
    }
    if (entries.size() <= keep) return;
    std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (size_t i = keep; i < entries.size(); ++i) std::filesystem::remove(entries[i].second, ec);
}

}  // namespace bulwark::cache
