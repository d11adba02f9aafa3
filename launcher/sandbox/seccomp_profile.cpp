#include "sandbox/seccomp_profile.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "core/error.hpp"

namespace bulwark::seccomp {

namespace {

const std::map<std::string, ActionKind, std::less<>> kActions = {
    {"SCMP_ACT_ALLOW", ActionKind::Allow},
    {"SCMP_ACT_ERRNO", ActionKind::Errno},
    {"SCMP_ACT_KILL", ActionKind::KillThread},
    {"SCMP_ACT_KILL_THREAD", ActionKind::KillThread},
    {"SCMP_ACT_KILL_PROCESS", ActionKind::KillProcess},
    {"SCMP_ACT_TRAP", ActionKind::Trap},
    {"SCMP_ACT_LOG", ActionKind::Log},
};

const std::map<std::string, scmp_compare, std::less<>> kOps = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

const std::vector<std::string_view> kFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};

template <class Map>
std::vector<std::string_view> keys_of(const Map& m) {
    std::vector<std::string_view> out;
    for (auto& [k, _] : m) out.push_back(k);
    return out;
}

template <class Map>
auto lookup(const JsonAt& at, const Map& m, const char* what) {
    auto name = at.str();
    auto it = m.find(name);
    if (it == m.end()) {
        std::string msg = std::string("unknown ") + what + " \"" + name + "\"";
        auto near = nearest_word(name, keys_of(m));
        if (!near.empty()) msg += " (did you mean \"" + near + "\"?)";
        if (name == "SCMP_ACT_TRACE" || name == "SCMP_ACT_NOTIFY")
            msg = "action \"" + name + "\" is not supported by bulwark (no tracer or listener)";
        at.fail(msg);
    }
    return it->second;
}

// Keys other tools put in the format (containers-common's defaultErrno, comments...) are known;
// a key nobody knows is a warning, or an error under --strict, with the nearest known key.
struct Keys {
    bool strict;
    std::vector<std::string>& warnings;
    void check(const JsonAt& at, std::initializer_list<std::string_view> known) const {
        for (auto& m : at.unknown_keys(known)) {
            if (strict) throw InputError(at.file() + ": " + m);
            warnings.push_back(m + ": ignored");
        }
    }
};

// "ENOSYS" -> 38, from glibc's own names (strerrorname_np), so no table is kept here.
std::optional<uint32_t> errno_by_name(const std::string& name) {
    for (int e = 1; e < 4096; ++e)
        if (const char* n = strerrorname_np(e); n && name == n) return static_cast<uint32_t>(e);
    return std::nullopt;
}

// errnoRet (a number) wins; containers-common also writes the name ("errno", "defaultErrno"),
// which runc ignores: here it is used when no number is given. Neither: EPERM, as Docker.
Action parse_action(const JsonAt& action, const std::optional<JsonAt>& errno_ret,
                    const std::optional<JsonAt>& errno_name, const Keys& keys) {
    Action a{lookup(action, kActions, "action"), 0};
    std::string name = errno_name && !errno_name->is_null() ? errno_name->str() : "";
    std::optional<uint32_t> by_name;
    if (!name.empty()) {
        by_name = errno_by_name(name);
        if (!by_name) errno_name->fail("unknown errno name \"" + name + "\" (e.g. EPERM, ENOSYS)");
    }
    if (a.kind == ActionKind::Errno) {
        a.errno_ret = errno_ret ? static_cast<uint32_t>(errno_ret->u64(4095)) : by_name.value_or(1);
        if (errno_ret && by_name && *by_name != a.errno_ret)
            keys.warnings.push_back(errno_ret->pointer() + ": " + std::to_string(a.errno_ret) +
                                    " and \"" + name + "\" disagree: the number is used");
    } else if (errno_ret) {
        errno_ret->fail("errnoRet is only meaningful with SCMP_ACT_ERRNO");
    } else if (by_name) {
        keys.warnings.push_back(errno_name->pointer() + ": \"" + name +
                                "\" is only meaningful with SCMP_ACT_ERRNO: ignored");
    }
    return a;
}

// Whether libseccomp knows a name is checked when the filter is built, for the architectures it
// will hold: Docker's own profile names, for other hosts, architectures older libseccomps lack.
std::string parse_arch_name(const JsonAt& at) {
    auto s = at.str();
    if (s.rfind("SCMP_ARCH_", 0) != 0 || s.size() == 10)
        at.fail("architecture \"" + s + "\" is not of the form SCMP_ARCH_NAME");
    return s;
}

std::string parse_cap_name(const JsonAt& at) {
    auto s = at.str();
    bool ok = s.rfind("CAP_", 0) == 0 && s.size() > 4 &&
              std::all_of(s.begin() + 4, s.end(),
                          [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
    if (!ok) at.fail("\"" + s + "\" is not a capability name (CAP_...)");
    return s;
}

Filter parse_filter(const JsonAt& at, const Keys& keys) {
    Filter f;
    if (at.is_null()) return f;
    keys.check(at, {"caps", "arches", "minKernel"});
    if (auto caps = at.get("caps"); caps && !caps->is_null())
        for (size_t i = 0; i < caps->size(); ++i) f.caps.push_back(parse_cap_name((*caps)[i]));
    if (auto arches = at.get("arches"); arches && !arches->is_null())
        for (size_t i = 0; i < arches->size(); ++i) f.arches.push_back((*arches)[i].str());
    if (auto mk = at.get("minKernel"); mk && !mk->is_null()) {
        f.min_kernel = parse_kernel_version(mk->str());
        if (!f.min_kernel) mk->fail("minKernel \"" + mk->str() + "\" is not a version like 4.8");
    }
    return f;
}

ArgCond parse_arg(const JsonAt& at, const Keys& keys) {
    keys.check(at, {"index", "value", "valueTwo", "op"});
    ArgCond c;
    // Syscalls take at most six arguments.
    c.index = static_cast<unsigned>(at.at("index").u64(5));
    c.value = at.at("value").u64();
    if (auto two = at.get("valueTwo")) c.value_two = two->u64();
    c.op = lookup(at.at("op"), kOps, "comparison");
    return c;
}

Rule parse_rule(const JsonAt& at, const Keys& keys) {
    keys.check(at, {"names", "name", "action", "errnoRet", "errno", "args", "comment", "includes",
                    "excludes"});
    Rule r;
    r.pointer = at.pointer();
    if (auto names = at.get("names"); names && !names->is_null()) {
        for (size_t i = 0; i < names->size(); ++i) {
            auto n = (*names)[i].str();
            if (n.empty()) (*names)[i].fail("empty syscall name");
            r.names.push_back(n);
        }
    }
    if (auto name = at.get("name")) r.names.push_back(name->str());
    if (r.names.empty()) at.fail("a syscall entry needs \"names\" (or \"name\")");
    r.action = parse_action(at.at("action"), at.get("errnoRet"), at.get("errno"), keys);
    if (auto args = at.get("args"); args && !args->is_null())
        for (size_t i = 0; i < args->size(); ++i) r.args.push_back(parse_arg((*args)[i], keys));
    if (auto inc = at.get("includes")) r.includes = parse_filter(*inc, keys);
    if (auto exc = at.get("excludes")) r.excludes = parse_filter(*exc, keys);
    return r;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string action_name(const Action& a) {
    switch (a.kind) {
        case ActionKind::Allow:
            return "SCMP_ACT_ALLOW";
        case ActionKind::Errno:
            return "SCMP_ACT_ERRNO(" + std::to_string(a.errno_ret) + ")";
        case ActionKind::KillThread:
            return "SCMP_ACT_KILL_THREAD";
        case ActionKind::KillProcess:
            return "SCMP_ACT_KILL_PROCESS";
        case ActionKind::Trap:
            return "SCMP_ACT_TRAP";
        case ActionKind::Log:
            return "SCMP_ACT_LOG";
    }
    return "?";
}

uint32_t to_scmp(const Action& a) {
    switch (a.kind) {
        case ActionKind::Allow:
            return SCMP_ACT_ALLOW;
        case ActionKind::Errno:
            return SCMP_ACT_ERRNO(a.errno_ret);
        case ActionKind::KillThread:
            return SCMP_ACT_KILL_THREAD;
        case ActionKind::KillProcess:
            return SCMP_ACT_KILL_PROCESS;
        case ActionKind::Trap:
            return SCMP_ACT_TRAP;
        case ActionKind::Log:
            return SCMP_ACT_LOG;
    }
    return SCMP_ACT_KILL_PROCESS;
}

std::optional<KernelVersion> parse_kernel_version(const std::string& s) {
    KernelVersion v;
    int consumed = 0;
    if (std::sscanf(s.c_str(), "%u.%u%n", &v.major, &v.minor, &consumed) != 2) return std::nullopt;
    if (consumed <= 0) return std::nullopt;
    return v;
}

Profile parse_profile(const Json& doc, const std::string& file, bool strict) {
    JsonAt root(doc, file);
    Profile p;
    p.file = file;
    Keys keys{strict, p.warnings};
    keys.check(root,
               {"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap",
                "syscalls", "flags", "comment", "listenerPath", "listenerMetadata"});
    // A listener is another process that answers the filtered calls: bulwark has none to give.
    // Metadata alone (as containers-common may write, empty) means nothing without it.
    if (auto lp = root.get("listenerPath"); lp && !lp->is_null() && !lp->str().empty())
        lp->fail("seccomp user notification (listenerPath) is not supported by bulwark");
    p.default_action = parse_action(root.at("defaultAction"), root.get("defaultErrnoRet"),
                                    root.get("defaultErrno"), keys);
    if (auto arches = root.get("architectures"); arches && !arches->is_null())
        for (size_t i = 0; i < arches->size(); ++i)
            p.architectures.push_back(parse_arch_name((*arches)[i]));
    if (auto am = root.get("archMap"); am && !am->is_null()) {
        for (size_t i = 0; i < am->size(); ++i) {
            auto e = (*am)[i];
            keys.check(e, {"architecture", "subArchitectures"});
            ArchMapEntry entry{parse_arch_name(e.at("architecture")), {}};
            if (auto subs = e.get("subArchitectures"); subs && !subs->is_null())
                for (size_t j = 0; j < subs->size(); ++j)
                    entry.sub_arches.push_back(parse_arch_name((*subs)[j]));
            p.arch_map.push_back(std::move(entry));
        }
    }
    if (!p.architectures.empty() && !p.arch_map.empty())
        root.fail("both \"architectures\" and \"archMap\" are given; use one of them");
    if (auto flags = root.get("flags"); flags && !flags->is_null()) {
        for (size_t i = 0; i < flags->size(); ++i) {
            auto f = (*flags)[i].str();
            if (std::find(kFlags.begin(), kFlags.end(), f) == kFlags.end())
                (*flags)[i].fail("unsupported seccomp flag \"" + f + "\"");
            p.flags.push_back(f);
        }
    }
    if (auto sc = root.get("syscalls"); sc && !sc->is_null())
        for (size_t i = 0; i < sc->size(); ++i) p.rules.push_back(parse_rule((*sc)[i], keys));
    return p;
}

Profile load_profile(const std::string& path, bool strict) {
    return parse_profile(load_json_file(path), path, strict);
}

Context host_context(std::vector<std::string> kept_caps) {
    Context ctx;
    utsname u{};
    if (uname(&u) == 0) {
        if (auto v = parse_kernel_version(u.release)) ctx.kernel = *v;
        std::string m = u.machine;
        if (m == "aarch64") {
            ctx.native_arch = "SCMP_ARCH_AARCH64";
            ctx.goarch = "arm64";
        }
    }
    ctx.caps = std::move(kept_caps);
    return ctx;
}

Resolved resolve(const Profile& p, const Context& ctx) {
    Resolved r;
    r.warnings = p.warnings;
    r.default_action = p.default_action;
    r.flags = p.flags;
    r.arches.push_back(ctx.native_arch);
    auto add_arch = [&](const std::string& a) {
        if (!contains(r.arches, a)) r.arches.push_back(a);
    };
    for (auto& a : p.architectures) add_arch(a);
    // Docker: only the archMap entry of the native architecture counts.
    for (auto& e : p.arch_map) {
        if (e.arch != ctx.native_arch) continue;
        for (auto& s : e.sub_arches) add_arch(s);
    }
    for (auto& rule : p.rules) {
        for (auto& n : rule.names)
            if (!contains(r.all_names, n)) r.all_names.push_back(n);
        // Docker's semantics: an exclude that matches drops the rule; every include must match.
        bool applies = true;
        const auto& ex = rule.excludes;
        if (contains(ex.arches, ctx.goarch)) applies = false;
        for (auto& c : ex.caps)
            if (contains(ctx.caps, c)) applies = false;
        if (ex.min_kernel && ctx.kernel >= *ex.min_kernel) applies = false;
        const auto& in = rule.includes;
        if (!in.arches.empty() && !contains(in.arches, ctx.goarch)) applies = false;
        for (auto& c : in.caps)
            if (!contains(ctx.caps, c)) applies = false;
        if (in.min_kernel && ctx.kernel < *in.min_kernel) applies = false;
        if (applies)
            r.rules.push_back(rule);
        else
            ++r.skipped_rules;
    }
    return r;
}

}  // namespace bulwark::seccomp
