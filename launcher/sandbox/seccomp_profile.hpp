// Seccomp profiles in the OCI/Docker JSON format: parsing and Docker's includes/excludes
// resolution. Pure logic; compiling to BPF lives in seccomp_compile.
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.hpp"

namespace bulwark::seccomp {

enum class ActionKind { Allow, Errno, KillThread, KillProcess, Trap, Log };

struct Action {
    ActionKind kind = ActionKind::Errno;
    uint32_t errno_ret = 0;  // only for Errno
    bool operator==(const Action&) const = default;
};
std::string action_name(const Action& a);  // "SCMP_ACT_ERRNO(1)"
uint32_t to_scmp(const Action& a);

struct KernelVersion {
    unsigned major = 0, minor = 0;
    auto operator<=>(const KernelVersion&) const = default;
};
// "4.8", "5.10.3-foo" -> {4, 8}; nullopt when it does not start with N.N
std::optional<KernelVersion> parse_kernel_version(const std::string& s);

struct ArgCond {
    unsigned index = 0;
    uint64_t value = 0, value_two = 0;
    scmp_compare op = SCMP_CMP_EQ;
};

struct Filter {
    std::vector<std::string> caps, arches;
    std::optional<KernelVersion> min_kernel;
};

struct Rule {
    std::vector<std::string> names;
    Action action;
    std::vector<ArgCond> args;
    Filter includes, excludes;
    std::string pointer;  // JSON pointer of the entry, for messages
};

struct ArchMapEntry {
    std::string arch;
    std::vector<std::string> sub_arches;
};

struct Profile {
    std::string file;
    Action default_action;
    std::vector<std::string> architectures;  // SCMP_ARCH_* names
    std::vector<ArchMapEntry> arch_map;
    std::vector<std::string> flags;  // SECCOMP_FILTER_FLAG_*
    std::vector<Rule> rules;
    // Keys nobody knows (ignored), errno names that disagree with errnoRet: "/syscalls/3: ...".
    std::vector<std::string> warnings;
};

// `strict`: a key nobody knows is an error (`check profile --strict`), not a warning. Keys of
// runc, crun and containers-common (defaultErrno, errno, listenerMetadata, comment...) are known.
Profile parse_profile(const Json& doc, const std::string& file, bool strict = false);
Profile load_profile(const std::string& path, bool strict = false);

// What Docker's includes/excludes are evaluated against.
struct Context {
    std::string native_arch = "SCMP_ARCH_X86_64";  // libseccomp name of the native arch
    std::string goarch = "amd64";                  // Docker compares includes.arches to GOARCH
    KernelVersion kernel;
    std::vector<std::string> caps;  // capabilities the app keeps (Docker: the bounding set)
};
Context host_context(std::vector<std::string> kept_caps);

struct Resolved {
    Action default_action;
    std::vector<std::string> arches;  // native first
    std::vector<std::string> flags;
    std::vector<Rule> rules;             // the rules that apply in this context
    std::vector<std::string> all_names;  // every name in the profile, applying or not
    size_t skipped_rules = 0;            // rules whose includes/excludes ruled them out
    std::vector<std::string> warnings;   // the profile's
};
Resolved resolve(const Profile& p, const Context& ctx);

}  // namespace bulwark::seccomp
