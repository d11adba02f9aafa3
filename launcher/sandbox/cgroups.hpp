// Resource limits through cgroup v2: the sandbox gets its own cgroup with memory.max, pids.max and
// cpu.max, and its init is cloned straight into it (CLONE_INTO_CGROUP), so no process of the app
// ever runs outside the limits. Pure parsing apart from the filesystem work.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace bulwark::cgroups {

struct Limits {
    uint64_t memory_bytes = 0;  // 0: no limit; memory.swap.max is set to 0 with it
    uint32_t pids = 0;          // 0: no limit
    uint32_t millicpus = 0;     // 0: no limit; 1500 = one and a half CPUs
    bool any() const { return memory_bytes || pids || millicpus; }
    bool operator==(const Limits&) const = default;
};

// "--cpus 1.5" -> 1500. Accepts 0.01 to 1024 with at most three decimals.
uint32_t parse_cpus(const std::string& s, const std::string& what);
// "--pids 64": 1 to 4194304 (the kernel's pid_max ceiling).
uint32_t parse_pids(const std::string& s, const std::string& what);

// cpu.max for a CPU share over the default 100 ms period: 1500 -> "150000 100000".
std::string cpu_max(uint32_t millicpus);

// The controllers these limits need, in the order cgroup.subtree_control is written.
std::vector<std::string> needed_controllers(const Limits& l);

// A cgroup or cgroup2 mount of a hierarchy's root, from /proc/self/mountinfo's text. A bind of a
// sub-cgroup elsewhere is left out: paths in /proc/self/cgroup do not start there.
struct CgroupMount {
    std::string fstype;      // "cgroup2" or "cgroup"
    std::string mountpoint;  // "/sys/fs/cgroup/memory"
    std::string options;     // the super options: "rw,memory" names a v1 hierarchy's controllers
};
std::vector<CgroupMount> cgroup_mounts(const std::string& mountinfo);
// The cgroup2 mount point from /proc/self/mountinfo's text; empty when none is mounted.
std::string cgroup2_mount(const std::string& mountinfo);
// This process's cgroup v2 path ("0::/PATH" line) from /proc/self/cgroup's text.
std::string own_cgroup(const std::string& proc_self_cgroup);
// A space-separated list such as cgroup.controllers.
std::vector<std::string> split_words(const std::string& s);

// Where this process's cgroup v2 is: the directory a run's cgroup would go in, and whether it
// is the hierarchy's root (which may hold processes and delegate at once).
struct Place {
    std::string base;
    bool root = false;
};
// Why this process cannot give a child these limits ("" when it can): no cgroup2 mount, or a
// controller the cgroup does not offer. Fills *where when the cgroup2 mount exists.
std::string unavailable(const Limits& limits, Place* where = nullptr);

// What one run's cgroup saw, read when the run ends (memory.events, pids.events).
struct Events {
    uint64_t oom_kill = 0;  // processes the OOM killer ended for hitting memory.max
    uint64_t pids_max = 0;  // forks refused at pids.max
};

// The run's cgroup: `bulwark-NAME` beside the supervisor. Outside the root cgroup the supervisor
// first moves itself into a `bulwark-supervisor-PID` leaf, since cgroup v2 lets a non-root
// cgroup either hold processes or hand controllers to children, not both (what systemd's
// Delegate= expects of a service). The destructor kills what is left in the cgroup, waits for it
// to empty, removes both cgroups and puts the supervisor back.
class RunCgroup {
  public:
    // Throws InputError naming the missing controller and what the host offers when the limits
    // cannot be provided (no cgroup2, a controller bound to cgroup v1, a cgroup shared with other
    // processes); leaves nothing behind.
    RunCgroup(const std::string& name, const Limits& limits);
    ~RunCgroup();
    RunCgroup(const RunCgroup&) = delete;
    RunCgroup& operator=(const RunCgroup&) = delete;

    int dir_fd() const { return dir_.get(); }  // for clone3(CLONE_INTO_CGROUP)
    const std::string& path() const { return app_; }
    Events events() const;

  private:
    void teardown() noexcept;

    std::string base_, app_, leaf_;     // leaf_: where the supervisor moved, empty if it did not
    std::vector<std::string> enabled_;  // controllers this run turned on in base_'s subtree
    UniqueFd dir_;
};

}  // namespace bulwark::cgroups
