// sandbox::run_init: the sandbox's init (pid 1 of its namespaces), from the go message to the
// app's exec, then forwarding signals and reaping until the app exits.
#include "sandbox/sandbox.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"
#include "sandbox/caps.hpp"
#include "sandbox/namespaces.hpp"
#include "sandbox/seccomp_learn.hpp"
#include "sandbox/users.hpp"

namespace bulwark::sandbox {

namespace {

// Signals the init passes on to the app. SIGCHLD is its own business; SIGKILL/SIGSTOP cannot be
// caught.
constexpr int kForwarded[] = {SIGTERM, SIGINT,  SIGHUP,   SIGQUIT,
                              SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

// One control message and, with pass_fd >= 0, a descriptor: the app builds one on the init's
// memory, between its filter and execve.
struct OutMsg {
    Msg m;
    FdMessage msg;
    OutMsg(Msg::Kind kind, int pass_fd) : msg(&m, sizeof m, pass_fd) { m.kind = kind; }
};

void send(int fd, Msg::Kind kind, int code, int status, const std::string& text, int pass_fd = -1) {
    OutMsg o(kind, pass_fd);
    o.m.exit_code = code;
    o.m.status = status;
    std::strncpy(o.m.text, text.c_str(), sizeof o.m.text - 1);
    // A lost message only loses detail: the supervisor still sees the exit.
    (void)!::sendmsg(fd, o.msg.get(), MSG_NOSIGNAL);
}

// Lowers a limit to `value` (soft and hard). Never raises: the launcher may itself run under
// lower limits, or without CAP_SYS_RESOURCE, and a sandbox gets no more than its launcher.
void set_rlimit(int res, rlim_t value, const char* name) {
    rlimit cur{};
    if (getrlimit(res, &cur) != 0) throw_sys(std::string("getrlimit(") + name + ")");
    rlim_t v = std::min(value, cur.rlim_max);
    rlimit rl{v, v};
    if (setrlimit(res, &rl) != 0) throw_sys(std::string("setrlimit(") + name + ")");
}

void noop_handler(int) {}

// The app's name until execve renames it (the kernel gives an exec'd task its file's name). Only
// the exit decides: execve closes the status pipe before it renames the task, so at that EOF the
// name can still be this one; a task that ends under it never ran the program.
constexpr char kBeforeExec[] = "bw:before-exec";

// Everything the app needs, prepared by the init before the spawn: the app shares the init's
// memory until execve (CLONE_VM|CLONE_VFORK, as posix_spawn does), so it must not allocate.
struct AppSpawn {
    const Prepared* p;
    int err_fd;
    int ctl;  // --learn: where the listener goes
    std::vector<char*> argv, envp;
    std::vector<std::string> candidates;  // execvp's search, done against the sandbox's PATH
};

// The app: reset what init changed, close stray fds, load seccomp last, exec. Syscalls only.
int exec_app(void* arg) {
    auto* a = static_cast<AppSpawn*>(arg);
    default_signal_handlers();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // {exit code, errno}: 125 means the filter did not load, 126/127 that execve failed.
    auto fail = [&](int code, int err) {
        int msg[2] = {code, err};
        write_all(a->err_fd, msg, sizeof msg);
        _exit(code);
    };
    // Every inherited descriptor above stderr closes on exec; err_fd too, signalling success.
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(125, errno);
    prctl(PR_SET_NAME, kBeforeExec);
    if (a->p->learn_base) {
        // From here every call waits for the supervisor, who gets the listener first, from the
        // one site the filter lets through. The listener closes on exec.
        int listener = seccomp::learn::install_with_listener(a->p->filter);
        if (listener < 0) fail(125, -listener);
        OutMsg o(Msg::kLearnListener, listener);
        // A failed send means the supervisor is gone: our next call waits for nobody until
        // the init, killed by its parent-death signal, takes the namespace down with it.
        if (long r = seccomp::learn::send_listener(a->ctl, o.msg.get()); r < 0)
            fail(125, static_cast<int>(-r));
    } else if (int err = seccomp::install(a->p->filter); err != 0) {
        fail(125, err);
    }
    int err = ENOENT;
    bool denied = false;
    for (auto& c : a->candidates) {
        execve(c.c_str(), a->argv.data(), a->envp.data());
        // As execvp: a file that exists but cannot run is reported over a later "not found".
        if (errno == EACCES) denied = true;
        if (errno != ENOENT && errno != ENOTDIR) err = errno;
    }
    if (denied && err == ENOENT) err = EACCES;
    fail(err == ENOENT || err == ENOTDIR ? 127 : 126, err);
    return 127;
}

AppSpawn prepare_spawn(const Prepared& p, int err_fd, int ctl) {
    AppSpawn a{&p, err_fd, ctl, {}, {}, {}};
    for (auto& s : p.opt.command) a.argv.push_back(const_cast<char*>(s.c_str()));
    a.argv.push_back(nullptr);
    for (auto& s : p.env) a.envp.push_back(const_cast<char*>(s.c_str()));
    a.envp.push_back(nullptr);
    a.candidates = path_candidates(p.env, p.opt.command.front());
    return a;
}

// Whether the app, a zombie not yet reaped, ended before execve ran its program.
bool ended_before_exec(pid_t app) {
    UniqueFd fd(open(("/proc/" + std::to_string(app) + "/comm").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;  // no claim without evidence
    char name[sizeof kBeforeExec + 1] = {};
    ssize_t n = read(fd.get(), name, sizeof name - 1);
    return n == static_cast<ssize_t>(sizeof kBeforeExec) &&
           std::memcmp(name, kBeforeExec, sizeof kBeforeExec - 1) == 0 && name[n - 1] == '\n';
}

std::string describe_status(int status) {
    if (WIFSIGNALED(status)) return std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// `reported`: the app already said why it could not start, over the status pipe.
[[noreturn]] void init_loop(const Prepared& p, pid_t app, bool reported, int sfd, int ctl) {
    for (;;) {
        signalfd_siginfo si{};
        if (read(sfd, &si, sizeof si) != sizeof si) {
            if (errno == EINTR) continue;
            _exit(125);
        }
        if (si.ssi_signo != SIGCHLD) {
            kill(app, static_cast<int>(si.ssi_signo));
            continue;
        }
        // The app is looked at before it is reaped: its name says whether it ever ran.
        siginfo_t info{};
        if (!reported && waitid(P_PID, app, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == app && ended_before_exec(app)) {
            int status = 0;
            waitpid(app, &status, 0);
            send(ctl, Msg::kSetupError, 125, 0,
                 "execve(" + p.opt.command.front() + "): never reached: the app was " +
                     describe_status(status) + " after the seccomp filter of " + p.profile_path +
                     " was loaded");
            _exit(0);
        }
        // Orphans re-parent to us; reap them all, report only the app.
        int status = 0;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid != app) continue;
            send(ctl, Msg::kExited, 0, status, "");
            // Leaving pid 1 makes the kernel kill whatever else is left in the namespace.
            _exit(0);
        }
    }
}

}  // namespace

void run_init(const Prepared& p, int ctl) {
    // Descriptors the launcher had open are none of the sandbox's business.
    if (ctl > 3) syscall(SYS_close_range, 3, ctl - 1, 0);
    syscall(SYS_close_range, ctl + 1, ~0U, 0);

    Msg go;
    if (recv(ctl, &go, sizeof go, 0) != sizeof go || go.kind != Msg::kGo) _exit(125);
    try {
        // A new session: the app cannot inject input into the launcher's terminal (TIOCSTI).
        if (setsid() < 0) throw_sys("setsid");
        if (auto notify = mounts::setup(p.plan))
            send(ctl, Msg::kNotifySocket, 0, 0, "", notify.get());  // our copy closes here
        namespaces::set_hostname(p.opt.hostname.empty() ? p.opt.name : p.opt.hostname);
        if (p.opt.net != NetMode::Host) namespaces::loopback_up();
        set_rlimit(RLIMIT_CORE, 0, "RLIMIT_CORE");
        set_rlimit(RLIMIT_NOFILE, 65536, "RLIMIT_NOFILE");
        set_rlimit(RLIMIT_NPROC, 4096, "RLIMIT_NPROC");
        caps::prepare_drop(p.keep_caps);
        users::switch_to(p.opt.user);
        caps::finish_drop(p.keep_caps);
        // Credential changes clear the parent-death signal, so it is set after them.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throw_sys("prctl(PR_SET_PDEATHSIG)");
        pollfd pf{ctl, POLLIN, 0};
        if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR))) _exit(125);
        if (prctl(PR_SET_DUMPABLE, 0) != 0) throw_sys("prctl(PR_SET_DUMPABLE)");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_sys("prctl(PR_SET_NO_NEW_PRIVS)");

        // pid 1 only receives signals it has a handler for: a no-op one, then signalfd.
        struct sigaction sa {};
        sa.sa_handler = noop_handler;
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        for (int s : kForwarded) {
            sigaction(s, &sa, nullptr);
            sigaddset(&set, s);
        }
        SignalFd sfd(set);

        auto [err_r, err_w] = make_pipe("pipe(exec status)");
        auto spawn = prepare_spawn(p, err_w.get(), ctl);
        constexpr size_t kStack = 256 << 10;
        pid_t app;
        {
            Mapping stack(kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                          -1, 0, "app stack");
            // Returns once the app has exec'd or exited: until then it runs on our pages.
            app = clone(exec_app, stack.end(), CLONE_VM | CLONE_VFORK | SIGCHLD, &spawn);
            if (app < 0) throw_sys("clone(app)");
        }
        err_w.reset();
        int msg[2];
        ssize_t n;
        do n = read(err_r.get(), msg, sizeof msg);
        while (n < 0 && errno == EINTR);
        bool reported = n == sizeof msg;
        if (reported) {
            std::string step = msg[0] == 125 ? "load seccomp filter(" + p.profile_path + ")"
                                             : "execve(" + p.opt.command.front() + ")";
            send(ctl, Msg::kSetupError, msg[0], 0, step + ": " + std::strerror(msg[1]));
        } else {
            send(ctl, Msg::kRunning, 0, app, "");
        }
        init_loop(p, app, reported, sfd.fd(), ctl);
    } catch (const std::exception& e) {
        send(ctl, Msg::kSetupError, 125, 0, e.what());
        _exit(125);
    }
}

}  // namespace bulwark::sandbox
