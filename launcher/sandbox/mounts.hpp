// The sandbox's filesystem view: the mount sequence run inside the new mount namespace.
#pragma once

#include <string>
#include <vector>

#include "core/fd.hpp"
#include "sandbox/options.hpp"

namespace bulwark::mounts {

struct Plan {
    std::string rootfs;
    std::vector<TmpfsSpec> tmpfs;  // includes /tmp
    std::vector<BindSpec> binds;
    std::string workdir = "/";
    // Non-empty: a datagram socket bound at this path under /dev (sd_notify for the app), made
    // before /dev turns read-only, which a socket's connect and send do not mind.
    std::string notify_socket;
};

// Paths under /proc hidden behind /dev/null or an empty read-only tmpfs, and those made
// read-only: the lists runc and crun apply by default.
extern const std::vector<const char*> kMaskedProcPaths;
extern const std::vector<const char*> kReadOnlyProcPaths;

// Remounts the bind mount at `target` with `flags` added to those it carries (noexec, nosuid,
// nodev, atime flags), so a remount never weakens it.
void remount(const std::string& target, unsigned long flags);

// Runs in the child, in a fresh mount namespace, as root. Makes propagation private, binds the
// rootfs, pivots into it, builds /proc, /dev, tmpfs and bind mounts, remounts / read-only and
// masks /proc. Throws SysError naming the step. Returns the notify socket, if the plan has one.
UniqueFd setup(const Plan& plan);

}  // namespace bulwark::mounts
