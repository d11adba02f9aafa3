// AppArmor confinement of a container's process, as runc and crun apply an OCI spec's
// process.apparmorProfile: the profile is one the host loaded (Podman, containerd and Docker load
// their default ones with apparmor_parser) and it takes effect at the process's next execve.
#pragma once

#include <string>

namespace bulwark::sandbox::apparmor {

// The kernel has AppArmor enabled: /sys/module/apparmor/parameters/enabled says "Y".
bool enabled();

// Why `name` cannot be applied on this host, or "" when it can: "" and "unconfined" always can
// (there is nothing to confine); another name needs AppArmor enabled, and no control character
// (the kernel reads the name to the end of the write). Pure but for `enabled`.
std::string refusal(const std::string& name, bool enabled);

// Makes this thread's next execve run under profile `name` ("exec NAME" written to
// /proc/thread-self/attr/apparmor/exec, or attr/exec on kernels before 5.8). The file must be
// on procfs: an image that put something else at /proc would otherwise turn the write into a
// no-op and the process would run unconfined (runc's CVE-2019-16884). Throws SysError naming
// the file; ENOENT there is a profile the kernel has not loaded. Does nothing for "".
void exec_profile(const std::string& name);

}  // namespace bulwark::sandbox::apparmor
