#include "guard/pins.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/names.hpp"

namespace bulwark::guard {

std::string pin_root() {
    return "/sys/fs/bpf/bulwark";
}

std::string pin_dir(const std::string& name) {
    return pin_root() + "/" + name;
}

std::vector<std::string> instances() {
    std::vector<std::string> out;
    if (DIR* d = opendir(pin_root().c_str())) {
        while (auto* e = readdir(d))
            if (e->d_name[0] != '.') out.emplace_back(e->d_name);
        closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool bpffs_mounted() {
    struct statfs st {};
    return statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

void ensure_bpffs() {
    if (bpffs_mounted()) return;
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
        throw_sys("mount(bpf on /sys/fs/bpf)");
}

void remove_pins(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
        while (auto* e = readdir(d))
            if (e->d_name[0] != '.') unlink((dir + "/" + e->d_name).c_str());
        closedir(d);
    }
    rmdir(dir.c_str());
}

UniqueFd open_pin(const std::string& path) {
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd) throw_sys("open pin " + path);
    return fd;
}

std::string instance_dir(const std::string& name) {
    validate_name(name);
    auto dir = pin_dir(name);
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0)
        throw InputError("no instance named " + name + " (" + dir + ")");
    return dir;
}

UniqueFd lock_instance(const std::string& dir) {
    UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_sys("open " + dir);
    if (flock(fd.get(), LOCK_EX) != 0) throw_sys("lock " + dir);
    return fd;
}

bw_meta read_meta(int meta_fd) {
    uint32_t zero = 0;
    bw_meta meta{};
    if (bpf_map_lookup_elem(meta_fd, &zero, &meta) != 0) throw_sys("read meta");
    return meta;
}

void write_meta(int meta_fd, const bw_meta& meta) {
    uint32_t zero = 0;
    if (bpf_map_update_elem(meta_fd, &zero, &meta, BPF_ANY) != 0) throw_sys("update meta");
}

uint32_t max_entries(int map_fd) {
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) throw_sys("read map info");
    return info.max_entries;
}

const char* mode_name(uint32_t mode) {
    return mode == BW_ATTACH_NATIVE ? "native" : mode == BW_ATTACH_SKB ? "skb" : "unknown";
}

PinnedPolicy::PinnedPolicy(const std::string& dir) {
    auto open = [&](const char* n) {
        fds.push_back(open_pin(dir + "/" + n));
        return fds.back().get();
    };
    maps = {open(BW_MAP_POLICY_GEN), open(BW_MAP_CONFIG),   open(BW_MAP_PORTS),
            open(BW_MAP_LISTS_V4),   open(BW_MAP_LISTS_V6), open(BW_MAP_RULES),
            open(BW_MAP_AUTOMATON),  open(BW_MAP_PATTERNS), open(BW_MAP_PATTERN_HITS)};
}

namespace {

bw_config config_of(int policy_gen_fd, int config_fd) {
    uint32_t gen = xdp::active_generation(policy_gen_fd);
    bw_config cfg{};
    if (bpf_map_lookup_elem(config_fd, &gen, &cfg) != 0) throw_sys("read config");
    return cfg;
}

}  // namespace

bw_config PinnedPolicy::config_in_force() const {
    return config_of(maps.policy_gen, maps.config);
}

bw_config config_in_force(const std::string& dir) {
    return config_of(open_pin(dir + "/" BW_MAP_POLICY_GEN).get(),
                     open_pin(dir + "/" BW_MAP_CONFIG).get());
}

}  // namespace bulwark::guard
