// `bulwark run --learn`: a profile learned from what a service does. While learning, the app's
// filter turns every call its base profile does not explicitly deny into a user notification;
// the supervisor records the call and lets it continue (SECCOMP_USER_NOTIF_FLAG_CONTINUE). The
// recorder and the writer are pure; serving the listener is the one syscall-facing part.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json_util.hpp"
#include "sandbox/seccomp_compile.hpp"
#include "sandbox/seccomp_profile.hpp"

namespace bulwark::seccomp::learn {

// One call as the notification carried it, and who made it.
struct Call {
    uint32_t arch = 0;  // AUDIT_ARCH_*
    int nr = 0;
    std::array<uint64_t, 6> args{};
    std::string exe;  // /proc/PID/exe, as the supervisor sees it
};

// The base's rule that denies `call` with an errno (ERRNO rules are notified while learning, so
// that a denial can be reported; KILL and TRAP rules stay in the kernel). Docker's semantics:
// every condition must hold, except several on one argument, of which one must.
const Rule* explicit_denial(const Resolved& base, const Call& call);

// Whether the base lets `call` through (its default, or an ALLOW or LOG rule that matches).
bool base_allows(const Resolved& base, const Call& call);

// Whether one argument condition holds for `value` (libseccomp's comparison, 64 bits).
bool holds(const ArgCond& c, uint64_t value);

// The syscall name of (arch, nr), "" when libseccomp does not know it.
std::string syscall_name(uint32_t arch, int nr);

class Recorder {
  public:
    // A call that ran (learned) or one the base denied (reported, and kept denied in the output).
    // `beyond_base`: the base itself would not have allowed it (it denies it by default);
    // returns true the first time that happens for the call's name, so it can be reported.
    bool allowed(const Call& c, bool beyond_base = false);
    void denied(const Call& c, const Rule& rule);
    size_t calls() const { return calls_; }
    // Whether a call of this name was recorded already (its first executable is known).
    bool seen(const std::string& name) const { return seen_.count(name) || denied_.count(name); }
    // Names of the calls the base denied, in the order first seen ("bpf").
    const std::vector<std::string>& denials() const { return denial_order_; }
    // Numbers libseccomp has no name for: a profile cannot name them, so they are left out
    // (above the profile's highest named call they get ENOSYS, which libc takes for "too old").
    const std::set<int>& unknown() const { return unknown_; }

    // The learned profile (OCI/Docker JSON): default ERRNO(EPERM), the base's architectures,
    // the calls seen with argument rules for socket, clone, personality, ioctl, prctl, mmap,
    // mprotect and pkey_mprotect, each rule commented with the executable that first made it.
    Json profile(const Resolved& base, const std::string& base_file) const;

  private:
    struct Seen {
        std::string first_exe;
        std::set<uint64_t> values;  // of the argument the call's rule is about
        bool prot_exec = false;     // mmap/mprotect: PROT_EXEC asked for
        bool ns_flags = false;      // clone: namespace flags asked for
        bool beyond_base = false;   // the base denies it by default
    };
    struct Denied {
        std::string first_exe;
        Action action;
    };
    std::map<std::string, Seen> seen_;
    std::map<std::string, Denied> denied_;
    std::vector<std::string> denial_order_;
    std::set<int> unknown_;
    size_t calls_ = 0;
};

// Above this many distinct ioctl requests, ioctl is allowed whatever the request.
constexpr size_t kMaxIoctlRequests = 32;

// The filter loaded while learning: USER_NOTIF by default, the base's KILL and TRAP rules as
// they are, and one exception: sendmsg from bulwark's own hand-over site (send_listener), so the
// app can pass the listener to the supervisor before anybody listens. x86_64 only (InputError
// elsewhere).
Compiled compile_learning(const Resolved& base, const std::string& file);

// Installs `c` with SECCOMP_FILTER_FLAG_NEW_LISTENER: the listener fd, or -errno. After fork.
int install_with_listener(const Compiled& c);

// sendmsg(2) made from the hand-over site. Returns its result (-errno on failure). After fork.
long send_listener(int sock, const msghdr* mh);

// The supervisor's side: one pending notification received, recorded and answered: let run
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE) unless the base denies it with an errno. `report` is set
// to one line when the app tried a denied call for the first time.
void serve_one(int listener, const Resolved& base, Recorder& rec, std::string& report);

// `bulwark profile merge`: the union of learned (or any OCI) profiles. Throws InputError naming
// the file when defaults disagree. Unconditional rules absorb conditional ones of the same call;
// an allow of a call absorbs a denial of it.
Json merge(const std::vector<std::pair<std::string, Json>>& profiles);

}  // namespace bulwark::seccomp::learn
