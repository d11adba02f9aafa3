// The pin layout of docs/design.md: /sys/fs/bpf/bulwark/NAME/ holds the bpf_link (BW_PIN_LINK)
// and every map by its name (BW_MAP_* in bpf/bulwark.h). What each command on a pinned instance
// needs: find it, lock it, open its maps, read its meta, remove it.
#pragma once

#include <string>
#include <vector>

#include "bpf/bulwark.h"
#include "core/fd.hpp"
#include "guard/program.hpp"

namespace bulwark::guard {

std::string pin_root();  // /sys/fs/bpf/bulwark
std::string pin_dir(const std::string& name);
std::vector<std::string> instances();  // names with pins, sorted

// Whether /sys/fs/bpf is a bpf filesystem.
bool bpffs_mounted();
// Mounts bpffs on /sys/fs/bpf unless it is there already.
void ensure_bpffs();
// Unlinks every pin in `dir` and the directory; with the last reference gone the kernel
// detaches the program.
void remove_pins(const std::string& dir);
UniqueFd open_pin(const std::string& path);  // SysError naming the pin

// The pin directory of an existing instance; InputError when there is none.
std::string instance_dir(const std::string& name);
// Serialises reloads (and reload against detach) of one instance: held until the fd closes.
UniqueFd lock_instance(const std::string& dir);

bw_meta read_meta(int meta_fd);
void write_meta(int meta_fd, const bw_meta& meta);
uint32_t max_entries(int map_fd);
const char* mode_name(uint32_t mode);  // bw_attach_mode -> "native", "skb"

// An instance's policy maps, opened from its pins.
struct PinnedPolicy {
    std::vector<UniqueFd> fds;
    xdp::PolicyMaps maps;
    explicit PinnedPolicy(const std::string& dir);
    // The config entry of the generation in force.
    bw_config config_in_force() const;
};
// The config entry of the generation in force, opening only the two pins it needs.
bw_config config_in_force(const std::string& dir);

}  // namespace bulwark::guard
