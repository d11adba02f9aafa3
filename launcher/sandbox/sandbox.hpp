// The sandbox: validation of a run request into a ready-to-apply plan (in the parent, before the
// system is touched), and the sequence run inside the new namespaces.
#pragma once

#include <sys/capability.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guard/policy.hpp"
#include "sandbox/mounts.hpp"
#include "sandbox/options.hpp"
#include "sandbox/seccomp_compile.hpp"

namespace bulwark::sandbox {

// The path of the notify socket inside the sandbox (`--notify app`), in the /dev that bulwark
// builds for it, so the read-only rootfs needs no mount point.
inline constexpr const char* kAppNotifySocket = "/dev/notify";

struct Prepared {
    RunOptions opt;
    std::string profile_path;
    std::string profile_sha256;
    seccomp::Compiled filter;
    std::vector<cap_value_t> keep_caps;
    mounts::Plan plan;
    std::vector<std::string> env;          // "K=V", the app's whole environment
    std::optional<policy::Policy> policy;  // --policy, parsed and validated
    // --learn: the base profile the learning filter was made from; the supervisor judges the
    // notified calls against its ERRNO rules.
    std::optional<seccomp::Resolved> learn_base;
};

// Everything that can be checked without touching the system: rootfs, paths, user, caps,
// profile (parsed and compiled), command present in the rootfs. Throws InputError; a missing
// command throws CommandNotFound (exit 127).
Prepared prepare(const RunOptions& opt);

class CommandNotFound : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The installed default profile, or the source tree's when running from a build directory.
std::string default_profile_path();

// execvp's candidates for `cmd` under the sandbox environment's PATH ("" entries mean the
// working directory): what prepare checks exists and what init tries, in order (pure).
std::vector<std::string> path_candidates(const std::vector<std::string>& env,
                                         const std::string& cmd);

// Messages on the control socket between the supervisor and the sandbox's init. kNotifySocket
// carries the app's notify socket (`--notify app`) as SCM_RIGHTS, right after the mounts.
struct Msg {
    // kLearnListener: from the app itself, the seccomp listener of its learning filter.
    enum Kind : uint32_t { kGo = 1, kSetupError, kRunning, kExited, kNotifySocket, kLearnListener };
    uint32_t kind = 0;
    int32_t exit_code = 0;  // kSetupError: 125, 126 or 127
    int32_t status = 0;     // kExited: the app's wait status
    char text[500] = {};
};

// Runs in the cloned child (pid 1 of the new pid namespace). Waits for kGo, builds the sandbox,
// forks the app (which loads seccomp and execs), then forwards signals, reaps orphans and reports
// the app's exit. Never returns.
[[noreturn]] void run_init(const Prepared& p, int ctl_fd);

}  // namespace bulwark::sandbox
