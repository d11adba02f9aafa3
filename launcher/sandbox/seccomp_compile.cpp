#include "sandbox/seccomp_compile.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"

namespace bulwark::seccomp {

namespace {

constexpr uint32_t kX32Bit = 0x40000000;

using Ctx = Handle<void, seccomp_release>;

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// "SCMP_ARCH_X86_64" -> libseccomp token, 0 when libseccomp does not know it.
uint32_t arch_token(const std::string& name) {
    return seccomp_arch_resolve_name(lower(name.substr(10)).c_str());
}

// A few lines of classic BPF with symbolic jump targets, resolved once the layout is known.
class StubAsm {
  public:
    enum Label { kNone = -1 };
    int new_label() { return next_label_++; }
    void bind(int label) { labels_[label] = code_.size(); }
    void stmt(uint16_t code, uint32_t k) { emit({code, 0, 0, k}, kNone, kNone); }
    void jump(uint16_t code, uint32_t k, int jt, int jf) { emit({code, 0, 0, k}, jt, jf); }
    void ja(int target) { emit({BPF_JMP | BPF_JA, 0, 0, 0}, target, kNone); }
    std::vector<sock_filter> finish() {
        for (auto& f : fixups_) {
            auto& ins = code_[f.pc];
            auto rel = [&](int label) { return labels_.at(label) - f.pc - 1; };
            if (BPF_OP(ins.code) == BPF_JA) {
                ins.k = static_cast<uint32_t>(rel(f.jt));
                continue;
            }
            if (f.jt != kNone) ins.jt = static_cast<uint8_t>(rel(f.jt));
            if (f.jf != kNone) ins.jf = static_cast<uint8_t>(rel(f.jf));
        }
        return code_;
    }

  private:
    struct Fixup {
        size_t pc;
        int jt, jf;
    };
    void emit(sock_filter ins, int jt, int jf) {
        if (jt != kNone || jf != kNone) fixups_.push_back({code_.size(), jt, jf});
        code_.push_back(ins);
    }
    std::vector<sock_filter> code_;
    std::vector<Fixup> fixups_;
    std::map<int, size_t> labels_;
    int next_label_ = 0;
};

// runc's idea: syscalls numbered above every syscall the profile names are newer than the
// profile, so they get ENOSYS (libc then falls back) instead of the default EPERM. Unknown
// architectures fall through to libseccomp's program, whose bad-arch action kills.
std::vector<sock_filter> enosys_stub(const std::map<uint32_t, int>& max_by_token, int x32_max) {
    StubAsm a;
    int enosys = a.new_label(), filter = a.new_label();
    a.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
    for (auto [token, max_nr] : max_by_token) {
        int next = a.new_label();
        uint32_t audit = token;
        a.jump(BPF_JMP | BPF_JEQ | BPF_K, audit, StubAsm::kNone, next);
        a.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
        if (audit == AUDIT_ARCH_X86_64) {
            // x32 calls arrive as x86_64 with bit 30 set in the number.
            int x32 = a.new_label();
            a.jump(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, x32_max >= 0 ? x32 : filter, StubAsm::kNone);
            a.jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max_nr), enosys,
                   StubAsm::kNone);
            a.ja(filter);
            a.bind(x32);
            if (x32_max >= 0)
                a.jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(x32_max), enosys,
                       StubAsm::kNone);
            a.ja(filter);
        } else {
            a.jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max_nr), enosys,
                   StubAsm::kNone);
            a.ja(filter);
        }
        a.bind(next);
    }
    a.ja(filter);
    a.bind(enosys);
    a.stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    a.bind(filter);
    return a.finish();
}

std::vector<sock_filter> export_bpf(void* ctx) {
    UniqueFd fd(memfd_create("bulwark-seccomp", MFD_CLOEXEC));
    if (!fd) throw_sys("memfd_create(seccomp export)");
    int rc = seccomp_export_bpf(ctx, fd.get());
    if (rc < 0) throw SysError("seccomp_export_bpf", -rc);
    off_t size = lseek(fd.get(), 0, SEEK_END);
    if (size < 0 || size % sizeof(sock_filter) != 0) throw_sys("lseek(seccomp export)");
    std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
    if (pread(fd.get(), prog.data(), static_cast<size_t>(size), 0) != size)
        throw_sys("pread(seccomp export)");
    return prog;
}

}  // namespace

Compiled compile(const Resolved& r, const std::string& file, const CompileOptions& opt) {
    Compiled out;
    auto fail = [&](const std::string& where, const std::string& msg) -> void {
        throw InputError(file + ": " + where + ": " + msg);
    };
    Ctx ctx(seccomp_init(to_scmp(r.default_action)));
    if (!ctx) fail("/defaultAction", "libseccomp refused the default action");
    // A call from an architecture the profile does not name is an attempt to bypass it.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    // Binary tree of syscall numbers: O(log n) for long allow lists (libseccomp >= 2.5).
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

    out.warnings = r.warnings;
    std::vector<uint32_t> tokens;
    for (auto& name : r.arches) {
        uint32_t t = arch_token(name);
        // An error, as in runc and crun: a filter silently without an architecture its author
        // named for this host does not do what it says.
        if (t == 0)
            fail("/architectures",
                 "unknown architecture \"" + name + "\" (libseccomp does not know it)");
        if (t != seccomp_arch_native()) {
            int rc = seccomp_arch_add(ctx.get(), t);
            if (rc < 0 && rc != -EEXIST) fail("/architectures", name + ": " + std::strerror(-rc));
        }
        tokens.push_back(t);
        out.arches.push_back(name);
    }

    for (auto& name : r.all_names) {
        if (seccomp_syscall_resolve_name(name.c_str()) != __NR_SCMP_ERROR) continue;
        if (opt.strict) fail("/syscalls", "syscall \"" + name + "\" is unknown to libseccomp");
        out.unknown_names.push_back(name);
    }

    // libseccomp quietly keeps the first of two unconditional rules that disagree. Said here, so
    // that a profile saying both ALLOW and KILL for one syscall is seen; under --strict, refused.
    std::map<std::string, const Rule*> unconditional;
    for (auto& rule : r.rules) {
        auto act = to_scmp(rule.action);
        for (auto& name : rule.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) continue;
            if (rule.args.empty()) {
                auto [it, fresh] = unconditional.emplace(name, &rule);
                if (!fresh && !(it->second->action == rule.action)) {
                    auto what = "syscall \"" + name + "\" is already " +
                                action_name(it->second->action) + " by " + it->second->pointer;
                    if (opt.strict) fail(rule.pointer, what);
                    out.warnings.push_back(rule.pointer + ": " + what + ", which wins");
                    continue;
                }
            }
            out.per_action[action_name(rule.action)]++;
            // libseccomp refuses a rule that repeats the default action; it would change nothing.
            if (rule.action == r.default_action) continue;
            std::vector<scmp_arg_cmp> conds;
            for (auto& a : rule.args) conds.push_back({a.index, a.op, a.value, a.value_two});
            std::array<int, 6> per_index{};
            for (auto& a : rule.args) per_index[a.index]++;
            bool repeated =
                std::any_of(per_index.begin(), per_index.end(), [](int n) { return n > 1; });
            // Docker and runc: several conditions on one argument are alternatives (one rule
            // each); otherwise all conditions must hold together.
            std::vector<std::vector<scmp_arg_cmp>> sets;
            if (repeated)
                for (auto& c : conds) sets.push_back({c});
            else
                sets.push_back(conds);
            for (auto& set : sets) {
                int rc =
                    seccomp_rule_add_array(ctx.get(), act, nr, static_cast<unsigned>(set.size()),
                                           set.empty() ? nullptr : set.data());
                if (rc < 0)
                    fail(rule.pointer, "syscall \"" + name + "\": libseccomp refused the rule: " +
                                           std::strerror(-rc));
            }
        }
    }
    auto body = export_bpf(ctx.get());

    bool needs_stub =
        r.default_action.kind != ActionKind::Allow && r.default_action.kind != ActionKind::Log;
    if (needs_stub) {
        std::map<uint32_t, int> max_by_token;
        int x32_max = -1;
        for (auto t : tokens) {
            int max_nr = -1;
            for (auto& name : r.all_names)
                max_nr = std::max(max_nr, seccomp_syscall_resolve_name_arch(t, name.c_str()));
            if (max_nr < 0) continue;
            if (t == SCMP_ARCH_X32) {
                x32_max = max_nr;
                continue;
            }
            max_by_token[t] = max_nr;
        }
        for (size_t i = 0; i < tokens.size(); ++i) {
            auto it = max_by_token.find(tokens[i]);
            out.max_known_nr[out.arches[i]] =
                tokens[i] == SCMP_ARCH_X32 ? x32_max : (it == max_by_token.end() ? -1 : it->second);
        }
        auto stub = enosys_stub(max_by_token, x32_max);
        out.stub_insns = stub.size();
        out.program = std::move(stub);
    }
    out.program.insert(out.program.end(), body.begin(), body.end());
    if (out.program.size() > BPF_MAXINSNS)
        fail("/", "the compiled filter has " + std::to_string(out.program.size()) +
                      " instructions, more than the kernel's limit of " +
                      std::to_string(BPF_MAXINSNS));

    for (auto& f : r.flags) {
        if (f == "SECCOMP_FILTER_FLAG_LOG") out.flags |= SECCOMP_FILTER_FLAG_LOG;
        if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") out.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        // TSYNC: the app is single-threaded when the filter goes on; nothing to sync.
    }
    return out;
}

int install(const Compiled& c) {
    sock_fprog prog{static_cast<unsigned short>(c.program.size()),
                    const_cast<sock_filter*>(c.program.data())};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c.flags, &prog) != 0) return errno;
    return 0;
}

namespace {

// Whether the filter lets `call` through, asked of the kernel itself: a child installs the
// filter (no_new_privs suffices, so no privilege is needed) and makes the call with arguments
// that cannot do anything. A call the filter lets through fails with the kernel's own errno
// (or, for exit_group, exits with its code); a denied one returns the filter's errno or kills.
// The child shares our memory and we wait while it runs (vfork's way): no page tables are
// copied, so the three probes cost a few tens of microseconds on every `run`.
enum class Probe { Execve, Write, ExitGroup };

struct ProbeArgs {
    const Compiled* filter;
    Probe call;
    volatile int answer;  // execve, write: 1 when the kernel's own errno came back
};

constexpr int kAllowed = 42;

// The child's own way out, without calling a noreturn function: on a stack of its own, such a
// call makes ASan warn on stderr. If the filter refuses exit too, an illegal instruction ends
// the child (its handlers are the defaults by then).
void leave(int code) {
    syscall(SYS_exit, code);
#if defined(__x86_64__) || defined(__i386__)
    asm volatile("ud2");
#else
    __builtin_trap();
#endif
}

int probe_child(void* arg) {
    auto* a = static_cast<ProbeArgs*>(arg);
    // Handlers are ours (copied, not shared), but they would run on memory that is: a denied
    // exit ends in a fault, and a sanitizer's or test framework's handler must not see it.
    default_signal_handlers();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || install(*a->filter) != 0) {
        leave(1);
        return 1;
    }
    switch (a->call) {
        case Probe::Execve:
            syscall(SYS_execve, "", nullptr, nullptr);
            a->answer = errno == ENOENT;
            break;
        case Probe::Write:
            syscall(SYS_write, -1, nullptr, 0);
            a->answer = errno == EBADF;
            break;
        case Probe::ExitGroup:
            syscall(SYS_exit_group, kAllowed);
            break;  // denied with an errno: leave() below
    }
    leave(0);
    return 0;
}

bool allows(const Compiled& c, Probe call, char* stack_top) {
    ProbeArgs args{&c, call, 0};
    pid_t pid = clone(probe_child, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    if (pid < 0) throw_sys("clone(seccomp probe)");
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_sys("waitpid(seccomp probe)");
    if (call == Probe::ExitGroup) return WIFEXITED(status) && WEXITSTATUS(status) == kAllowed;
    return args.answer == 1;
}

}  // namespace

std::vector<std::string> launch_denials(const Compiled& c) {
    constexpr size_t kStack = 64 << 10;
    Mapping stack(kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0,
                  "seccomp probe stack");
    std::vector<std::string> out;
    if (!allows(c, Probe::Execve, stack.end()))
        out.push_back("denies execve: no command can start under it");
    if (!allows(c, Probe::Write, stack.end()))
        out.push_back("denies write: a failed start could not be reported");
    if (!allows(c, Probe::ExitGroup, stack.end()))
        out.push_back("denies exit_group: no process could exit under it");
    return out;
}

namespace {

#if defined(__x86_64__)
// The one place the counting child makes its calls from: the notification filter tells them
// from the child's own calls (its pipe write, the profile's installation, its exit) by the
// address after the syscall instruction, which seccomp_data carries.
extern "C" char bulwark_count_site[];
__attribute__((noinline)) long count_call(long nr) {
    long ret;
    register long r10 asm("r10") = 0;
    register long r8 asm("r8") = 0;
    register long r9 asm("r9") = 0;
    asm volatile("syscall\n.globl bulwark_count_site\nbulwark_count_site:"
                 : "=a"(ret)
                 : "a"(nr), "D"(0L), "S"(0L), "d"(0L), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return ret;
}

// USER_NOTIF for calls made from bulwark_count_site, ALLOW for everything else.
std::vector<sock_filter> notify_at_site() {
    auto ip = reinterpret_cast<uint64_t>(bulwark_count_site);
    constexpr uint32_t kIpLo = offsetof(seccomp_data, instruction_pointer);
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLo),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(ip), 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLo + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(ip >> 32), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
}

struct CountArgs {
    const Compiled* filter;
    int from;
    int ready_fd;           // the listener's number, written by the child
    int go_fd;              // a byte from the parent once it holds the listener
    volatile int* current;  // shared with the parent: the number being asked, for a kill
};

[[noreturn]] void count_child(const CountArgs& a) {
    default_signal_handlers();
    auto prog = notify_at_site();
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    int listener = -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
        listener = static_cast<int>(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                            SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog));
    int msg[2] = {listener, listener < 0 ? errno : 0};
    if (write(a.ready_fd, msg, sizeof msg) != sizeof msg || listener < 0) leave(1);
    // Until the parent holds the listener, a filter that allows nothing would let the child
    // run to its end unseen, and the listener would be gone with it.
    char go = 0;
    if (read(a.go_fd, &go, 1) != 1) leave(1);
    if (install(*a.filter) != 0) leave(2);
    for (int nr = a.from; nr < kCountedNumbers; ++nr) {
        *a.current = nr;
        count_call(nr);
    }
    leave(0);  // a filter that denies exit too ends it by the illegal instruction
    __builtin_unreachable();
}

// One child, from `from` on: the numbers it was notified of go to `allowed`. Returns the next
// number to ask, kCountedNumbers when done (the child is killed by a number the filter kills).
int count_from(const Compiled& c, int from, volatile int* current, std::vector<int>& allowed) {
    auto [ready_r, ready_w] = make_pipe("pipe(seccomp count)");
    auto [go_r, go_w] = make_pipe("pipe(seccomp count)");
    CountArgs args{&c, from, ready_w.get(), go_r.get(), current};
    pid_t pid = fork();
    if (pid < 0) throw_sys("fork(seccomp count)");
    if (pid == 0) count_child(args);
    ready_w.reset();
    go_r.reset();
    auto reap = [&] {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) throw_sys("waitpid(seccomp count)");
        return status;
    };
    auto abandon = [&](const char* step, int err) {
        kill(pid, SIGKILL);
        reap();
        throw SysError(step, err);
    };
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) abandon("pidfd_open(seccomp count)", errno);
    int msg[2] = {-1, 0};
    if (read(ready_r.get(), msg, sizeof msg) != sizeof msg) {
        msg[0] = -1;
        msg[1] = EPIPE;
    }
    if (msg[0] < 0) abandon("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)", msg[1]);
    UniqueFd listener(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), msg[0], 0)));
    if (!listener) abandon("pidfd_getfd(seccomp count)", errno);
    if (write(go_w.get(), "g", 1) != 1) throw_sys("write(seccomp count)");
    go_w.reset();
    for (;;) {
        // The pidfd turns readable when the child has exited; a notification is always
        // answered before the child can go on, so none is left behind then.
        pollfd pf[2] = {{listener.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw_sys("poll(seccomp count)");
        }
        if (pf[0].revents & POLLIN) {
            seccomp_notif req{};
            if (ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
                if (errno == EINTR || errno == ENOENT) continue;
                throw_sys("ioctl(SECCOMP_IOCTL_NOTIF_RECV)");
            }
            allowed.push_back(req.data.nr);
            seccomp_notif_resp resp{};
            resp.id = req.id;
            resp.error = -EPERM;
            // ENOENT: the child died meanwhile; its exit shows on the pidfd.
            if (ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT)
                throw_sys("ioctl(SECCOMP_IOCTL_NOTIF_SEND)");
            continue;
        }
        if (pf[1].revents & POLLIN) break;
    }
    int status = reap();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return kCountedNumbers;
    if (WIFEXITED(status))
        throw SysError("seccomp count: the filter did not load",
                       WEXITSTATUS(status) == 2 ? EINVAL : EPERM);
    return *current + 1;  // killed (or trapped) by that number
}
#endif

}  // namespace

std::vector<int> allowed_numbers(const Compiled& c) {
#if defined(__x86_64__)
    Mapping page(sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0,
                 "seccomp count");
    auto* current = static_cast<volatile int*>(page.get());
    std::vector<int> allowed;
    for (int from = 0; from < kCountedNumbers;) from = count_from(c, from, current, allowed);
    std::sort(allowed.begin(), allowed.end());
    return allowed;
#else
    (void)c;
    throw InputError("counting allowed syscall numbers is implemented for x86_64 only");
#endif
}

}  // namespace bulwark::seccomp
