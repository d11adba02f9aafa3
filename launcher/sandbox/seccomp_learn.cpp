#include "sandbox/seccomp_learn.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace bulwark::seccomp::learn {

namespace {

constexpr uint32_t kX32Bit = 0x40000000;

// Docker's mask of clone's namespace flags (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
// NEWPID, NEWNET): a learned profile never lets the app make namespaces of its own.
constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// The argument a call's learned rule is about, for the calls that get one.
enum class ArgKind { None, Values, Ioctl, Clone, Prot };
struct ArgRule {
    ArgKind kind;
    unsigned index;
};
ArgRule arg_rule(const std::string& name) {
    if (name == "socket" || name == "personality" || name == "prctl") return {ArgKind::Values, 0};
    if (name == "ioctl") return {ArgKind::Ioctl, 1};
    if (name == "clone") return {ArgKind::Clone, 0};
    if (name == "mmap" || name == "mprotect" || name == "pkey_mprotect") return {ArgKind::Prot, 2};
    return {ArgKind::None, 0};
}

// What the launch needs once the filter of a learned profile is loaded (launch_denials checks
// the same three): a learned profile always allows them, even when the run never failed or
// never exited by itself.
constexpr const char* kLaunchCalls[] = {"execve", "exit_group", "write"};

// The calls that return from a signal handler (x86_64, x32, i386): let through while learning
// (compile_learning), learned with the calls that install a handler.
constexpr std::pair<uint32_t, uint32_t> kHandlerReturns[] = {{AUDIT_ARCH_X86_64, SYS_rt_sigreturn},
                                                             {AUDIT_ARCH_X86_64, kX32Bit | 513},
                                                             {AUDIT_ARCH_I386, 173},
                                                             {AUDIT_ARCH_I386, 119}};
// Handler-installing call -> the return it needs ("signal" and "sigaction": i386 only).
constexpr std::pair<const char*, const char*> kHandlerCalls[] = {
    {"rt_sigaction", "rt_sigreturn"}, {"sigaction", "sigreturn"}, {"signal", "sigreturn"}};

Json cond(unsigned index, uint64_t value, const char* op, std::optional<uint64_t> two = {}) {
    Json c{{"index", index}, {"value", value}, {"op", op}};
    if (two) c["valueTwo"] = *two;
    return c;
}

Json allow(std::vector<std::string> names, const std::string& comment, Json args = nullptr) {
    Json r{{"names", std::move(names)}, {"action", "SCMP_ACT_ALLOW"}, {"comment", comment}};
    if (!args.is_null()) r["args"] = std::move(args);
    return r;
}

std::string made_by(const std::string& exe) {
    return "first made by " + (exe.empty() ? std::string("an unknown executable") : exe);
}

constexpr char kBeyondBase[] = "; not allowed by the base profile (its default denies it)";

}  // namespace

bool holds(const ArgCond& c, uint64_t v) {
    switch (c.op) {
        case SCMP_CMP_NE:
            return v != c.value;
        case SCMP_CMP_LT:
            return v < c.value;
        case SCMP_CMP_LE:
            return v <= c.value;
        case SCMP_CMP_EQ:
            return v == c.value;
        case SCMP_CMP_GE:
            return v >= c.value;
        case SCMP_CMP_GT:
            return v > c.value;
        case SCMP_CMP_MASKED_EQ:
            return (v & c.value) == c.value_two;
        default:
            return false;
    }
}

std::string syscall_name(uint32_t arch, int nr) {
    uint32_t token = arch;
    if (arch == AUDIT_ARCH_X86_64 && (static_cast<uint32_t>(nr) & kX32Bit)) token = SCMP_ARCH_X32;
    Handle<char, free> name(seccomp_syscall_resolve_num_arch(token, nr));
    return name ? std::string(name.get()) : std::string();
}

namespace {

// The first of the base's rules with an action `kind_ok` accepts whose names and arguments match.
template <typename KindOk>
const Rule* matching_rule(const Resolved& base, const Call& call, KindOk kind_ok) {
    auto name = syscall_name(call.arch, call.nr);
    if (name.empty()) return nullptr;
    for (auto& rule : base.rules) {
        if (!kind_ok(rule.action.kind)) continue;
        if (std::find(rule.names.begin(), rule.names.end(), name) == rule.names.end()) continue;
        std::array<int, 6> per_index{};
        for (auto& a : rule.args) per_index[a.index]++;
        bool alternatives =
            std::any_of(per_index.begin(), per_index.end(), [](int n) { return n > 1; });
        auto ok = [&](const ArgCond& a) { return holds(a, call.args[a.index]); };
        bool match = rule.args.empty() ||
                     (alternatives ? std::any_of(rule.args.begin(), rule.args.end(), ok)
                                   : std::all_of(rule.args.begin(), rule.args.end(), ok));
        if (match) return &rule;
    }
    return nullptr;
}

bool lets_through(ActionKind k) {
    return k == ActionKind::Allow || k == ActionKind::Log;
}

}  // namespace

const Rule* explicit_denial(const Resolved& base, const Call& call) {
    return matching_rule(base, call, [](ActionKind k) { return k == ActionKind::Errno; });
}

bool base_allows(const Resolved& base, const Call& call) {
    if (lets_through(base.default_action.kind)) return true;
    return matching_rule(base, call, lets_through) != nullptr;
}

bool Recorder::allowed(const Call& c, bool beyond_base) {
    ++calls_;
    auto name = syscall_name(c.arch, c.nr);
    if (name.empty()) {
        unknown_.insert(c.nr);
        return false;
    }
    auto& s = seen_[name];
    if (s.first_exe.empty()) s.first_exe = c.exe;
    bool newly_beyond = beyond_base && !s.beyond_base;
    s.beyond_base |= beyond_base;
    auto rule = arg_rule(name);
    uint64_t v = c.args[rule.index];
    switch (rule.kind) {
        case ArgKind::Values:
            s.values.insert(v);
            break;
        case ArgKind::Ioctl:
            // The request is an unsigned int: callers that sign-extend it pass the same request.
            s.values.insert(v & 0xffffffffu);
            break;
        case ArgKind::Clone:
            s.ns_flags |= (v & kNamespaceFlags) != 0;
            break;
        case ArgKind::Prot:
            s.prot_exec |= (v & PROT_EXEC) != 0;
            break;
        case ArgKind::None:
            break;
    }
    return newly_beyond;
}

void Recorder::denied(const Call& c, const Rule& rule) {
    ++calls_;
    auto name = syscall_name(c.arch, c.nr);
    auto [it, fresh] = denied_.emplace(name, Denied{c.exe, rule.action});
    if (fresh) denial_order_.push_back(name);
}

Json Recorder::profile(const Resolved& base, const std::string& base_file) const {
    Json rules = Json::array();
    // Calls without an argument rule, one rule per executable that first made them.
    std::map<std::pair<std::string, bool>, std::vector<std::string>> by_exe;
    std::vector<std::string> launch;
    for (auto* name : kLaunchCalls)
        if (!seen_.count(name)) launch.push_back(name);
    for (auto& [name, s] : seen_)
        if (arg_rule(name).kind == ArgKind::None ||
            (arg_rule(name).kind == ArgKind::Ioctl && s.values.size() > kMaxIoctlRequests) ||
            (arg_rule(name).kind == ArgKind::Prot && s.prot_exec))
            by_exe[{s.first_exe, s.beyond_base}].push_back(name);
    for (auto& [key, names] : by_exe)
        rules.push_back(allow(names, made_by(key.first) + (key.second ? kBeyondBase : "")));
    std::set<std::string> returns;
    for (auto [install, ret] : kHandlerCalls)
        if (seen_.count(install) && !seen_.count(ret) && returns.insert(ret).second)
            rules.push_back(allow({ret}, std::string("returns from the handlers ") + install +
                                             " installs (not notified while learning)"));
    if (!launch.empty())
        rules.push_back(allow(launch,
                              "bulwark's launch: execve starts the command, write reports a "
                              "failed start, exit_group ends it"));
    for (auto& [name, s] : seen_) {
        auto rule = arg_rule(name);
        auto comment = made_by(s.first_exe) + (s.beyond_base ? kBeyondBase : "");
        switch (rule.kind) {
            case ArgKind::Values:
                for (auto v : s.values)
                    rules.push_back(
                        allow({name}, comment, Json::array({cond(rule.index, v, "SCMP_CMP_EQ")})));
                break;
            case ArgKind::Ioctl:
                if (s.values.size() > kMaxIoctlRequests) break;
                for (auto v : s.values)
                    rules.push_back(allow(
                        {name}, comment,
                        Json::array({cond(rule.index, 0xffffffffu, "SCMP_CMP_MASKED_EQ", v)})));
                break;
            case ArgKind::Clone:
                if (s.ns_flags) comment += "; it asked for namespace flags, which stay denied";
                rules.push_back(allow({name}, comment,
                                      Json::array({cond(rule.index, kNamespaceFlags,
                                                        "SCMP_CMP_MASKED_EQ", uint64_t{0})})));
                break;
            case ArgKind::Prot:
                if (s.prot_exec) break;
                rules.push_back(allow(
                    {name}, comment + "; never with PROT_EXEC",
                    Json::array({cond(rule.index, PROT_EXEC, "SCMP_CMP_MASKED_EQ", uint64_t{0})})));
                break;
            case ArgKind::None:
                break;
        }
    }
    for (auto& name : denial_order_) {
        if (seen_.count(name)) continue;
        auto& d = denied_.at(name);
        rules.push_back(
            {{"names", {name}},
             {"action", "SCMP_ACT_ERRNO"},
             {"errnoRet", d.action.errno_ret},
             {"comment", "denied by " + base_file + " while learning; first tried by " +
                             (d.first_exe.empty() ? "an unknown executable" : d.first_exe)}});
    }
    std::string comment = "learned by bulwark run --learn, base profile " + base_file;
    if (!unknown_.empty()) {
        comment += "; left out, unknown to this libseccomp (newer calls get ENOSYS):";
        for (int nr : unknown_) comment += " " + std::to_string(nr);
    }
    return Json{{"comment", comment},
                {"defaultAction", "SCMP_ACT_ERRNO"},
                {"defaultErrnoRet", EPERM},
                {"architectures", base.arches},
                {"syscalls", rules}};
}

#if defined(__x86_64__)
extern "C" char bulwark_learn_site[];
long send_listener(int sock, const msghdr* mh) {
    long ret;
    register long r10 asm("r10") = MSG_NOSIGNAL;
    asm volatile("syscall\n.globl bulwark_learn_site\nbulwark_learn_site:"
                 : "=a"(ret)
                 : "a"(long{SYS_sendmsg}), "D"(long{sock}), "S"(mh), "d"(long{MSG_NOSIGNAL}),
                   "r"(r10)
                 : "rcx", "r11", "memory");
    return ret;
}
#else
long send_listener(int, const msghdr*) {
    return -ENOSYS;
}
#endif

Compiled compile_learning(const Resolved& base, const std::string& file) {
#if !defined(__x86_64__)
    (void)base;
    throw InputError(file + ": learning a profile is implemented for x86_64 only");
#else
    // The base's KILL and TRAP rules, under a default of USER_NOTIF; ALLOW and LOG rules are
    // the default now, and ERRNO rules are judged by the supervisor (explicit_denial).
    Resolved learning = base;
    learning.default_action = Action{ActionKind::Allow, 0};
    learning.rules.clear();
    for (auto& r : base.rules)
        if (r.action.kind == ActionKind::KillThread || r.action.kind == ActionKind::KillProcess ||
            r.action.kind == ActionKind::Trap)
            learning.rules.push_back(r);
    auto c = compile(learning, file);
    // compile() built a default of ALLOW: every ALLOW it returns is the default (no rule says
    // ALLOW any more), so each becomes USER_NOTIF.
    for (auto& ins : c.program)
        if (BPF_CLASS(ins.code) == BPF_RET && BPF_RVAL(ins.code) == BPF_K &&
            ins.k == SECCOMP_RET_ALLOW)
            ins.k = SECCOMP_RET_USER_NOTIF;
    // The hand-over: sendmsg from bulwark_learn_site is allowed. After execve no bulwark code is
    // mapped, so only an app that puts a sendmsg at that very address gets past the learning
    // (unrecorded, not undenied: the base does not deny sendmsg in any shipped profile).
    auto ip = reinterpret_cast<uint64_t>(bulwark_learn_site);
    constexpr uint32_t kIp = offsetof(seccomp_data, instruction_pointer);
    std::vector<sock_filter> site = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 7),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sendmsg, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIp),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(ip), 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIp + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(ip >> 32), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    // A signal handler's return is not notified: a signal that arrives while it waited would
    // skip it (-ERESTARTSYS turned EINTR for a handler without SA_RESTART), and the app would
    // run on past glibc's __restore_rt into whatever code follows (nginx's master died with
    // SIGSEGV so when its workers' SIGCHLDs came in turn). Recorder::profile learns it with
    // the sigaction that installs the handler.
    for (auto [arch, nr] : kHandlerReturns) {
        Call ret{arch, static_cast<int>(nr), {}, {}};
        if (explicit_denial(base, ret) || !base_allows(base, ret)) continue;
        std::vector<sock_filter> pass = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 3),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        site.insert(site.end(), pass.begin(), pass.end());
    }
    c.program.insert(c.program.begin(), site.begin(), site.end());
    c.flags &= ~static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG);
    return c;
#endif
}

int install_with_listener(const Compiled& c) {
    sock_fprog prog{static_cast<unsigned short>(c.program.size()),
                    const_cast<sock_filter*>(c.program.data())};
    // Once the supervisor holds a call's notification, only a fatal signal ends the wait: any
    // other would skip the call with EINTR for a handler without SA_RESTART, an error that
    // calls such as fcntl or a file's write never return outside learning. A signal before the
    // supervisor takes the notification still does that, and the kernel offers nothing against
    // it: `probe signals 20000` sees ~4,000 such EINTRs with the flag or without (README,
    // "Learning a profile"). Before 5.19 the flag is EINVAL: learning goes on without it.
    unsigned flags = c.flags | SECCOMP_FILTER_FLAG_NEW_LISTENER;
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
    if (fd < 0 && errno == EINVAL) fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    return fd < 0 ? -errno : static_cast<int>(fd);
}

void serve_one(int listener, const Resolved& base, Recorder& rec, std::string& report) {
    seccomp_notif req{};
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
        // ENOENT: the caller died between the poll and the receive.
        if (errno == EINTR || errno == ENOENT) return;
        throw_sys("ioctl(SECCOMP_IOCTL_NOTIF_RECV)");
    }
    Call c;
    c.arch = req.data.arch;
    c.nr = req.data.nr;
    std::copy(std::begin(req.data.args), std::end(req.data.args), c.args.begin());
    // Only the first call of a name needs its executable: /proc is read once per name.
    if (!rec.seen(syscall_name(c.arch, c.nr))) {
        char exe[4096];
        auto link = "/proc/" + std::to_string(req.pid) + "/exe";
        ssize_t n = readlink(link.c_str(), exe, sizeof exe - 1);
        // The pid was the caller's while its notification is pending; checked after the read.
        if (n > 0 && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0)
            c.exe.assign(exe, static_cast<size_t>(n));
    }
    seccomp_notif_resp resp{};
    resp.id = req.id;
    if (auto* rule = explicit_denial(base, c)) {
        size_t before = rec.denials().size();
        rec.denied(c, *rule);
        if (rec.denials().size() > before)
            report = (c.exe.empty() ? std::string("the app") : c.exe) + " tried " +
                     rec.denials().back() + ": still denied (" + action_name(rule->action) +
                     " by " + rule->pointer + ")";
        resp.error = -static_cast<int>(rule->action.errno_ret);
    } else {
        if (rec.allowed(c, !base_allows(base, c)))
            report = (c.exe.empty() ? std::string("the app") : c.exe) + " made " +
                     syscall_name(c.arch, c.nr) +
                     ", which the base profile does not allow: learned anyway, its rule says so";
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    // ENOENT: the caller was killed meanwhile (its call never completes either way).
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT)
        throw_sys("ioctl(SECCOMP_IOCTL_NOTIF_SEND)");
}

namespace {

struct Entry {
    std::string name;
    Json body;  // the rule without names and comment: action, errnoRet, args, includes...
    std::string comment;
    bool unconditional() const {
        return !body.contains("args") && !body.contains("includes") && !body.contains("excludes");
    }
    bool allows() const {
        auto a = body.value("action", "");
        return a == "SCMP_ACT_ALLOW" || a == "SCMP_ACT_LOG";
    }
};

}  // namespace

Json merge(const std::vector<std::pair<std::string, Json>>& profiles) {
    if (profiles.empty()) throw InputError("profile merge: no profiles given");
    auto default_of = [](const Json& d) {
        return Json{{"defaultAction", d.value("defaultAction", Json())},
                    {"defaultErrnoRet", d.value("defaultErrnoRet", Json())}};
    };
    auto& [first_file, first] = profiles.front();
    Json def = default_of(first);
    std::vector<std::string> arches, files;
    std::vector<Entry> entries;
    for (auto& [file, doc] : profiles) {
        files.push_back(file);
        if (default_of(doc) != def)
            throw InputError(file + ": /defaultAction: " + default_of(doc).dump() +
                             " differs from " + first_file + "'s " + def.dump() +
                             " (only profiles with one default can be merged)");
        for (auto& a : doc.value("architectures", Json::array()))
            if (std::find(arches.begin(), arches.end(), a.get<std::string>()) == arches.end())
                arches.push_back(a.get<std::string>());
        for (auto& rule : doc.value("syscalls", Json::array())) {
            Json body = rule;
            std::vector<std::string> names;
            if (rule.contains("names")) names = rule["names"].get<std::vector<std::string>>();
            if (rule.contains("name")) names.push_back(rule["name"].get<std::string>());
            body.erase("names");
            body.erase("name");
            body.erase("comment");
            if (body.contains("args") && body["args"].empty()) body.erase("args");
            for (auto& n : names) {
                bool dup = std::any_of(entries.begin(), entries.end(), [&](const Entry& e) {
                    return e.name == n && e.body == body;
                });
                if (!dup) entries.push_back({n, body, rule.value("comment", "")});
            }
        }
    }
    // An unconditional allow makes the same call's conditional allows and denials redundant; a
    // conditional allow makes its denials wrong (another run needed the call).
    auto redundant = [&](const Entry& e) {
        for (auto& o : entries) {
            if (&o == &e || o.name != e.name || !o.allows()) continue;
            if (!e.allows()) return true;
            if (o.unconditional() && !e.unconditional()) return true;
        }
        return false;
    };
    std::vector<Entry> kept;
    for (auto& e : entries)
        if (!redundant(e)) kept.push_back(e);
    // Unconditional rules with one action and comment share a rule, as the learned ones did.
    Json rules = Json::array();
    std::vector<bool> done(kept.size());
    for (size_t i = 0; i < kept.size(); ++i) {
        if (done[i]) continue;
        Json r = kept[i].body;
        std::vector<std::string> names{kept[i].name};
        if (kept[i].unconditional())
            for (size_t j = i + 1; j < kept.size(); ++j)
                if (!done[j] && kept[j].unconditional() && kept[j].body == kept[i].body &&
                    kept[j].comment == kept[i].comment) {
                    names.push_back(kept[j].name);
                    done[j] = true;
                }
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        r["names"] = names;
        if (!kept[i].comment.empty()) r["comment"] = kept[i].comment;
        rules.push_back(r);
    }
    std::string from;
    for (auto& f : files) from += (from.empty() ? "" : ", ") + f;
    Json out{{"comment", "merged by bulwark profile merge from " + from},
             {"defaultAction", def["defaultAction"]},
             {"architectures", arches},
             {"syscalls", rules}};
    if (!def["defaultErrnoRet"].is_null()) out["defaultErrnoRet"] = def["defaultErrnoRet"];
    return out;
}

}  // namespace bulwark::seccomp::learn
