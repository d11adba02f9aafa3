// A container's cgroup, for cgroup v2 and, where the host still binds controllers to cgroup v1
// (hybrid hosts, such as Debian 12 without systemd), for the v1 hierarchies too, as runc does.
// It outlives bulwark-oci: create makes it, delete removes it, both from the state's paths.
#pragma once

#include <linux/bpf.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "oci/spec.hpp"

namespace bulwark::oci {

// Where the hierarchies are mounted, read from /proc/self/mountinfo (pure parsing).
struct Hierarchies {
    std::string v2;                         // the cgroup2 mount, or ""
    std::map<std::string, std::string> v1;  // controller -> its v1 mount point
};
Hierarchies parse_hierarchies(const std::string& mountinfo);
Hierarchies host_hierarchies();

// linux.cgroupsPath as runc reads it: absolute paths are from each hierarchy's root, relative ones
// too (bulwark-oci runs under no cgroup manager), "slice:prefix:name" (--systemd-cgroup) becomes
// SLICE/prefix-name.scope, the slice where systemd keeps it; empty means /bulwark-oci/ID. Pure.
std::string cgroup_relpath(const std::string& cgroups_path, const std::string& id, bool systemd);
// Where systemd keeps a slice's cgroup: each dash in its name is a level down
// (systemd.slice(5)), so the kubelet's kubepods-besteffort-pod1.slice is
// /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice; "-.slice", the root,
// is "". Throws InputError for what is no slice name ("a--b.slice", "-a.slice", "a/b.slice").
std::string slice_path(const std::string& slice);

// The directories of one container's cgroup: the v2 one and one per v1 controller used.
struct CgroupDirs {
    std::string v2;
    std::map<std::string, std::string> v1;  // controller -> directory
    bool empty() const { return v2.empty() && v1.empty(); }
};

// The v1 and v2 directories `relpath` maps to for these resources. Throws InputError naming the
// setting when no hierarchy offers its controller.
CgroupDirs plan_cgroup(const Hierarchies& h, const std::string& relpath, const Resources& r);

// mkdir -p, enables v2 controllers on the way down, writes the limits. `h`: the hierarchies
// plan_cgroup made `d` from. Throws SysError.
void create_cgroup(const Hierarchies& h, const CgroupDirs& d, const Resources& r);
// Writes limits into an existing cgroup (create, and `update`).
void apply_resources(const CgroupDirs& d, const Resources& r);
// Enables the controllers of r.unified's files on the way down to d.v2 (create enables those of
// the other limits; `update` may name a controller the create did not). Throws SysError.
void enable_unified(const Hierarchies& h, const CgroupDirs& d, const Resources& r);
// Moves a process into every directory.
void add_process(const CgroupDirs& d, pid_t pid);
// Every process in it (the v2 directory, else the first v1 one).
std::vector<pid_t> cgroup_pids(const CgroupDirs& d);
void freeze(const CgroupDirs& d, bool frozen);
bool frozen(const CgroupDirs& d);
// Kills what is left (SIGKILL), waits for the cgroup to empty and removes every directory.
void destroy_cgroup(const CgroupDirs& d);

// The container's device rules, in order (the last match wins): the spec's, then the nodes every
// container needs (runc's list: null, zero, full, random, urandom, tty, console, ptmx, pts/*,
// and mknod of any node, which only creates it). Before them all, "deny everything": a rule list
// that allows nothing more lets nothing more through. Pure.
std::vector<DeviceRule> device_rules(const std::vector<DeviceRule>& spec_rules);

// The BPF_PROG_TYPE_CGROUP_DEVICE program that enforces `rules` on cgroup v2 (pure). Rules are
// checked from the last to the first; an allow rule matches a request whose access it covers,
// a deny rule one that asks for any access it names (as runc's device filter does).
std::vector<struct bpf_insn> device_program(const std::vector<DeviceRule>& rules);

// cpu.weight from runc's cpu.shares conversion (2..262144 -> 1..10000). Pure.
uint64_t shares_to_weight(uint64_t shares);

// io.weight from a blkio weight (10..1000 -> 1..10000), as runc converts it. Pure.
uint64_t blkio_to_io_weight(uint16_t weight);
// The files linux.resources.blockIO writes, in order, as {file, value}: the v2 io controller's
// (`v2`) or v1 blkio's, through the BFQ scheduler's weight files where they exist (`bfq`), as
// runc writes them. Leaf weights were CFQ's (gone since Linux 5.0) and have no v2 file: v2
// leaves them out, v1 writes them and fails where the kernel lacks them. Pure.
std::vector<std::pair<std::string, std::string>> blkio_writes(const BlockIO& b, bool v2, bool bfq);

}  // namespace bulwark::oci
