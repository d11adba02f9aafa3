// Compiles a resolved profile to a seccomp BPF program with libseccomp, and installs it.
#pragma once

#include <linux/filter.h>

#include <map>
#include <string>
#include <vector>

#include "sandbox/seccomp_profile.hpp"

namespace bulwark::seccomp {

struct Compiled {
    std::vector<sock_filter> program;
    unsigned int flags = 0;                    // SECCOMP_FILTER_FLAG_* for seccomp(2)
    std::vector<std::string> arches;           // those in the filter
    std::vector<std::string> warnings;         // the profile's (unknown keys...)
    std::vector<std::string> unknown_names;    // syscall names libseccomp does not know, skipped
    std::map<std::string, size_t> per_action;  // syscall names per action (rules that apply)
    size_t stub_insns = 0;                     // instructions of the ENOSYS stub
    std::map<std::string, int> max_known_nr;   // per arch: above this, ENOSYS
};

struct CompileOptions {
    // Unknown syscall names, and two unconditional rules that disagree, are errors. Otherwise
    // an unknown name is skipped and of two rules that disagree the first wins, each with a
    // warning: libseccomp keeps the first, so runc and crun run such a profile, and Podman's
    // own (/usr/share/containers/seccomp.json) allows setns and, without CAP_SYS_ADMIN, denies
    // it.
    bool strict = false;
};

// Throws InputError naming the profile file and rule when libseccomp rejects something.
Compiled compile(const Resolved& r, const std::string& file, const CompileOptions& opt = {});

// seccomp(SECCOMP_SET_MODE_FILTER). The caller must have set no_new_privs (or hold
// CAP_SYS_ADMIN). Returns 0 or an errno, so it can be used after fork without exceptions.
int install(const Compiled& c);

// What the launch itself needs once the filter is loaded (execve, write to report a failed exec,
// exit_group), each checked by the kernel in a throwaway child: one message per call the filter
// does not let through, e.g. "denies execve: no command can start under it". Empty: fine.
std::vector<std::string> launch_denials(const Compiled& c);

// The native syscall numbers below kCountedNumbers the filter lets through (ALLOW or LOG) when
// every argument is 0, asked of the kernel: a throwaway child stacks a filter that turns those
// into user notifications under this one, the parent answers each with EPERM so that none runs,
// and what the filter denies never reaches the parent. Numbers the kernel runs without asking
// any filter (uretprobe and uprobe on x86_64 since 6.11) are not in it. Throws SysError when the
// kernel lacks SECCOMP_RET_USER_NOTIF or pidfd_getfd, InputError off x86_64.
constexpr int kCountedNumbers = 1024;
std::vector<int> allowed_numbers(const Compiled& c);

}  // namespace bulwark::seccomp
