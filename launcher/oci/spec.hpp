// An OCI bundle's config.json (runtime-spec 1.0.2 and later), parsed and checked before anything
// is touched. What bulwark-oci cannot honour is refused here with the JSON path that asks for it,
// never ignored. Pure logic.
#pragma once

#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.hpp"
#include "oci/scheduling.hpp"
#include "sandbox/namespaces.hpp"

namespace bulwark::oci {

// mount(2)'s view of one OCI mount's options: flags, propagation, and the rest as fs data.
struct MountOptions {
    unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ..., MS_BIND|MS_REC for "rbind"
    unsigned long clear = 0;        // flags an option turned off ("rw", "suid", "exec"...)
    unsigned long propagation = 0;  // MS_PRIVATE|MS_REC, MS_SHARED... or 0
    std::string data;               // "mode=755,size=65536k"
    bool copy_up = false;           // "tmpcopyup": the tmpfs starts with what was beneath it
    bool bind() const;
};
// "ro", "rbind", "rprivate", "size=64k", runc's "tmpcopyup"... Options that only another
// runtime knows ("idmap") are InputErrors naming the option.
MountOptions parse_mount_options(const std::vector<std::string>& options);

struct Mount {
    std::string destination, type, source;
    MountOptions opts;
    std::string pointer;  // "/mounts/3", for messages
};

struct Rlimit {
    int resource = 0;
    std::string name;  // "RLIMIT_NOFILE"
    uint64_t soft = 0, hard = 0;
};
int rlimit_resource(const std::string& name);  // InputError for unknown names

struct Capabilities {
    std::vector<cap_value_t> bounding, effective, inheritable, permitted, ambient;
};

struct Process {
    std::vector<std::string> args, env;
    std::string cwd = "/";
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> additional_gids;
    std::optional<mode_t> umask;
    Capabilities caps;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::optional<int> oom_score_adj;
    bool terminal = false;
    std::string apparmor_profile;  // "" or "unconfined": none
    std::optional<IoPriority> io_priority;
    std::optional<Scheduler> scheduler;
    // execCPUAffinity: `initial` for the process until it is in the container's cgroup (a
    // cpuset there sets its own), `final` from then on, up to exec.
    std::optional<cpu_set_t> cpus_initial, cpus_final;
};
// Properties the runtime spec does not define (or a later version does, and bulwark-oci does not
// know): the spec's extensibility rule says a runtime MUST NOT fail on them and MUST ignore them.
// Each is kept as one message ("/process/x: unknown key \"x\" (did you mean ...)") for the caller
// to warn with: a misspelt key is one of them. What bulwark-oci knows and does not do is refused.
using Unknown = std::vector<std::string>;

// The "process" object alone: `exec --process FILE` reads one.
Process parse_process(const JsonAt& j, Unknown& unknown);

struct Namespace {
    int flag = 0;      // CLONE_NEWNET...
    std::string type;  // as the spec names it: "network"...
    std::string path;  // join this one instead of making a new one
};

struct Device {
    char type = 'c';  // c, b, u, p
    std::string path;
    uint32_t major = 0, minor = 0;
    mode_t mode = 0666;
    uid_t uid = 0;
    gid_t gid = 0;
    // The node's S_IF* file type, for mknod ('u', unbuffered, is a character device).
    mode_t file_type() const { return type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR; }
};

struct DeviceRule {
    bool allow = false;
    char type = 'a';                 // a, c, b
    int64_t major = -1, minor = -1;  // -1: any
    std::string access = "rwm";
    std::string v1() const;  // "c 1:3 rwm" for devices.allow / devices.deny
};

// A hugetlb limit as the spec gives it: the page size as the cgroup files name it ("2MB",
// "1GB", "64KB") and the bytes of such pages the cgroup may use.
struct HugepageLimit {
    std::string page_size;
    uint64_t limit = 0;
};

// linux.resources.blockIO: Podman's --blkio-weight, --blkio-weight-device and --device-read-bps
// and friends. Weights are 10..1000; a rate of 0 lifts the device's limit.
struct BlockIO {
    struct Device {
        uint32_t major = 0, minor = 0;
        std::optional<uint16_t> weight, leaf_weight;  // weightDevice
        uint64_t rate = 0;                            // the throttle lists
    };
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<Device> weight_device, read_bps, write_bps, read_iops, write_iops;
    bool empty() const {
        return !weight && !leaf_weight && weight_device.empty() && read_bps.empty() &&
               write_bps.empty() && read_iops.empty() && write_iops.empty();
    }
};

struct Resources {
    std::optional<int64_t> memory_limit, memory_swap;  // bytes; -1 = unlimited
    std::optional<int64_t> memory_reservation;         // a soft limit; -1 = none
    std::optional<int64_t> pids_limit;                 // <= 0: unlimited
    std::optional<int64_t> cpu_quota;                  // µs per period; -1 unlimited
    std::optional<uint64_t> cpu_period, cpu_shares;
    std::string cpuset_cpus, cpuset_mems;  // "0-3,6" ("" = the parent's)
    std::vector<DeviceRule> devices;
    // The kubelet gives every container a limit for each page size the node has (0 unless the
    // pod asks for hugepages), and containerd copies them here.
    std::vector<HugepageLimit> hugepages;
    // cgroup v2 files by name ("memory.oom.group" -> "1"), written after the settings above, so
    // one that names the same file wins, as under runc. The kubelet on a cgroup v2 node asks
    // for memory.oom.group=1 (a container's OOM kill takes all its processes).
    std::map<std::string, std::string> unified;
    BlockIO blkio;
    bool any_limit() const {
        return memory_limit || memory_swap || memory_reservation || pids_limit || cpu_quota ||
               cpu_period || cpu_shares || !cpuset_cpus.empty() || !cpuset_mems.empty() ||
               !hugepages.empty() || !unified.empty() || !blkio.empty();
    }
};
// linux.resources, or the document `update --resources` reads.
Resources parse_resources(const JsonAt& j, Unknown& unknown);
// The controller a linux.resources.unified key needs ("memory" for "memory.oom.group"; "" for the
// core's cgroup.* files, which every v2 cgroup has). Throws InputError for a key that is no
// cgroup file's name, or that names a file the runtime itself manages (cgroup.procs,
// cgroup.threads, cgroup.subtree_control, cgroup.type, cgroup.freeze, cgroup.kill). Pure.
std::string unified_controller(const std::string& key);

struct Hook {
    std::string path;
    std::vector<std::string> args, env;
    std::optional<unsigned> timeout;
};

struct Hooks {
    std::vector<Hook> create_runtime, prestart, poststart, poststop;
};

struct Spec {
    std::string file;  // the config.json path, for messages
    std::string oci_version;
    std::string root;  // absolute
    bool root_readonly = false;
    std::vector<Mount> mounts;
    Process process;
    std::string hostname, domainname;
    std::optional<unsigned long> personality;  // linux.personality's domain, PER_LINUX...
    std::vector<Namespace> namespaces;
    // linux.timeOffsets: the new time namespace's clocks ahead of (or behind) the host's.
    namespaces::TimeOffsets time_offsets;
    std::optional<Json> seccomp;  // linux.seccomp, the same format as a profile
    std::vector<std::string> masked_paths, readonly_paths;
    unsigned long rootfs_propagation = 0;  // 0: rprivate
    std::map<std::string, std::string> sysctl;
    std::vector<Device> devices;
    std::string cgroups_path;
    Resources resources;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    Unknown unknown;  // ignored properties, for `create` to warn about

    bool has_namespace(int flag) const;
    const Namespace* find_namespace(int flag) const;
};

// `bundle` resolves a relative root.path. Throws InputError naming the file and JSON path.
Spec parse_spec(const Json& doc, const std::string& file, const std::string& bundle);
Spec load_spec(const std::string& bundle);

// The launcher's floor, asked for by the annotation org.bulwark.harden=true. What the spec leaves
// at its default is raised to the floor: no_new_privs set, the root read-only, a
// noexec,nosuid,nodev tmpfs on /tmp (128 MiB) when the spec mounts nothing there. What the spec
// says against it is refused: one message per field ("process.user.uid: 0 (root) ..."), empty
// when the spec holds the floor. Kubernetes and Podman can ask for neither a noexec /tmp nor
// (Podman) a read-only root by default, hence raising rather than refusing those.
std::vector<std::string> harden(Spec& s);
// The floor's part for one process (uid, gid, capabilities inside the bounding set,
// no_new_privs): harden() holds the container's process to it, and `exec` each process it adds.
std::vector<std::string> harden_process(Process& p);

// "KILL", "SIGKILL", "9" -> 9. InputError otherwise.
int parse_signal(const std::string& s);

// runc's `spec`: a config.json for a rootfs directory "rootfs" with bulwark's hardening (non-root,
// no capabilities, read-only root, noexec /tmp, no_new_privs), running `sh`.
Json example_spec();

// The runtime-spec features document (`bulwark-oci features`).
Json features();

}  // namespace bulwark::oci
