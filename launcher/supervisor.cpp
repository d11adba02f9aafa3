#include "supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "audit.hpp"
#include "cgroups.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "guard.hpp"
#include "namespaces.hpp"
#include "network.hpp"
#include "sys.hpp"
#include "systemd.hpp"

namespace bulwark::supervisor {

namespace {

constexpr int kHandled[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};

int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Blocks the handled signals for as long as it lives and reads them from a signalfd.
class Signals {
  public:
    Signals() {
        sigemptyset(&set_);
        for (int s : kHandled) sigaddset(&set_, s);
        if (sigprocmask(SIG_BLOCK, &set_, &old_) != 0) throw_sys("sigprocmask");
        fd_.reset(signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!fd_) throw_sys("signalfd");
    }
    ~Signals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }
    int fd() const { return fd_.get(); }

  private:
    sigset_t set_{}, old_{};
    UniqueFd fd_;
};

}  // namespace

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}

namespace {

// The run's network side: the veth pair and the guard's pins, removed when the run ends (also
// when starting fails), and the reader that drains the guard's events into the audit log.
struct NetSide {
    std::optional<guard::RunLease> lease;  // outlives the pins (declared first, dies last)
    std::optional<network::Veth> veth;
    std::string pinned;  // the instance name once XDP is attached
    std::optional<guard::EventReader> events;
    ~NetSide() {
        events.reset();
        if (pinned.empty()) return;
        try {
            guard::detach(pinned);
        } catch (const std::exception& e) {
            fprintf(stderr, "bulwark: detach %s: %s\n", pinned.c_str(), e.what());
        }
    }
};

// Receives one control message, and the descriptor passed with it, if any.
ssize_t recv_msg(int ctl, sandbox::Msg& m, UniqueFd& passed, int flags) {
    iovec iov{&m, sizeof m};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t r = recvmsg(ctl, &mh, flags | MSG_CMSG_CLOEXEC);
    if (r <= 0) return r;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            passed.reset(fd);
        }
    return r;
}

// What the app said on its notify socket (`--notify app`), passed on to systemd. Returns
// whether it said READY=1.
bool relay_app_notify(int fd, const sd::Systemd& sd) {
    bool ready = false;
    char buf[4096];
    ssize_t n;
    // No control buffer: descriptors an app sends along (FDSTORE=1) are closed by the kernel.
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
        auto msg = sd::filter_app_notify(std::string_view(buf, static_cast<size_t>(n)));
        if (msg.empty()) continue;
        ready |= ("\n" + msg + "\n").find("\nREADY=1\n") != std::string::npos;
        sd.notify(msg);
    }
    return ready;
}

// Sets up the network side for the sandbox whose init is `init`. Throws on any failure: the
// caller kills the sandbox before its app was started (fail closed).
void set_up_network(const sandbox::Prepared& p, pid_t init, NetSide& net, audit::Log& log) {
    if (p.opt.net != NetMode::Veth && !p.policy) return;
    UniqueFd netns;
    if (p.opt.net == NetMode::Veth) {
        auto path = "/proc/" + std::to_string(init) + "/ns/net";
        netns.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!netns) throw_sys("open " + path);
        net.veth.emplace(network::veth_names(p.opt.name), netns.get(), p.opt.host_addr, p.opt.addr);
        if (net.veth->replaced())
            log.write({{"type", "ENFORCEMENT_ERROR"},
                       {"step", "start"},
                       {"error", "replaced the veth pair " + net.veth->names().host +
                                     " of an earlier run of " + p.opt.name +
                                     " that ended without cleanup"}},
                      true);
    }
    if (!p.policy) return;
    bool inside = p.opt.net == NetMode::Veth;
    auto iface = inside ? net.veth->names().sandbox : p.opt.iface;
    guard::attach(*p.policy, iface, p.opt.name, guard::Mode::Auto, inside ? netns.get() : -1);
    net.pinned = p.opt.name;
    guard::mark_run_owned(p.opt.name);
    net.events.emplace(p.opt.name, [&log](const Json& j) { log.write_network(j); });
}

// SIGHUP with a policy: the file is read again and swapped in atomically; a bad file leaves
// the policy in force.
void reload(const sandbox::Prepared& p, audit::Log& log, const sd::Systemd& sd, bool ready) {
    // Before READY=1 (an app still starting, with --notify app) systemd hears nothing of it.
    if (ready) sd.notify("RELOADING=1");
    try {
        auto np = policy::load_policy(p.opt.policy, p.opt.trust_key);
        guard::reload(p.opt.name, np);
        log.write(
            {{"type", "POLICY_RELOADED"}, {"policy", p.opt.policy}, {"policy_sha256", np.sha256}},
            true);
    } catch (const std::exception& e) {
        log.write({{"type", "ENFORCEMENT_ERROR"},
                   {"step", "policy reload"},
                   {"error", e.what()},
                   {"policy", p.opt.policy}},
                  true);
    }
    if (ready) sd.notify("READY=1");
}

// Signals the sandbox's init. A signal that cannot be delivered (EPERM: the supervisor lacks
// CAP_KILL over the init's uid, as under a unit whose CapabilityBoundingSet= leaves it out)
// means a stop that never happens: said on stderr and in the audit log, never ignored. ESRCH
// only means the init is already gone, which the SIGCHLD will tell.
bool signal_init(pid_t init, int sig, audit::Log& log) {
    if (kill(init, sig) == 0 || errno == ESRCH) return true;
    int err = errno;
    std::string step =
        "kill(" + std::to_string(init) + ", SIG" + std::string(sigabbrev_np(sig)) + ")";
    fprintf(stderr, "bulwark: %s: %s\n", step.c_str(), strerror(err));
    log.write({{"type", "ENFORCEMENT_ERROR"}, {"step", step}, {"error", strerror(err)}}, true);
    return false;
}

const char* net_name(NetMode m) {
    return m == NetMode::Veth ? "veth" : m == NetMode::Host ? "host" : "none";
}

}  // namespace

int run(const sandbox::Prepared& p) {
    Signals signals;
    sd::Systemd sd;
    audit::Log log(p.opt.audit_log, p.opt.name,
                   p.opt.audit_key.empty() ? "" : read_file(p.opt.audit_key));
    if (sd.journal()) log.set_journal(&sd);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_sys("socketpair");
    UniqueFd ctl(sv[0]), child_end(sv[1]);

    // Before the clone: the init starts inside the limits, or does not start.
    std::optional<cgroups::RunCgroup> cg;
    if (p.opt.limits.any()) cg.emplace(p.opt.name, p.opt.limits);
    pid_t init =
        namespaces::clone_child(namespaces::clone_flags(p.opt.net), cg ? cg->dir_fd() : -1);
    if (init == 0) sandbox::run_init(p, child_end.get());
    child_end.reset();
    auto kill_init = [&] {
        if (signal_init(init, SIGKILL, log)) waitpid(init, nullptr, 0);
    };

    NetSide net;
    try {
        // The name's lease: one live run per name, and what a dead one left (pins, a veth
        // pair) is this run's to remove.
        if (p.policy || p.opt.net == NetMode::Veth) {
            net.lease.emplace(p.opt.name);
            if (!net.lease->recovered().empty())
                log.write({{"type", "ENFORCEMENT_ERROR"},
                           {"step", "start"},
                           {"error", net.lease->recovered()}},
                          true);
        }
        set_up_network(p, init, net, log);
    } catch (...) {
        kill_init();
        throw;
    }

    sandbox::Msg go;
    go.kind = sandbox::Msg::kGo;
    if (send(ctl.get(), &go, sizeof go, MSG_NOSIGNAL) != sizeof go) {
        kill_init();
        throw_sys("send(start sandbox)");
    }

    int setup_code = 0, app_status = -1, init_status = 0;
    bool init_done = false, ctl_open = true, ready = false;
    UniqueFd app_notify;  // --notify app: the socket the app's sd_notify reaches
    int64_t kill_at = -1;
    auto drain_events = [&] {
        if (!net.events) return;
        try {
            net.events->consume();
        } catch (const std::exception& e) {
            log.write({{"type", "ENFORCEMENT_ERROR"}, {"step", "read events"}, {"error", e.what()}},
                      false);
        }
    };
    auto on_msg = [&](const sandbox::Msg& m, UniqueFd& passed) {
        if (m.kind == sandbox::Msg::kNotifySocket) {
            app_notify = std::move(passed);
        } else if (m.kind == sandbox::Msg::kSetupError) {
            setup_code = m.exit_code;
            fprintf(stderr, "bulwark: %s\n", m.text);
        } else if (m.kind == sandbox::Msg::kExited) {
            app_status = m.status;
        } else if (m.kind == sandbox::Msg::kRunning) {
            Json start{
                {"type", "SANDBOX_START"},
                {"pid", init},
                {"user", std::to_string(p.opt.user.uid) + ":" + std::to_string(p.opt.user.gid)},
                {"command", p.opt.command},
                {"net", net_name(p.opt.net)},
                {"profile", p.profile_path},
                {"profile_sha256", p.profile_sha256}};
            if (cg) {
                auto& l = p.opt.limits;
                start["cgroup"] = cg->path();
                if (l.memory_bytes) start["memory_max"] = l.memory_bytes;
                if (l.pids) start["pids_max"] = l.pids;
                if (l.millicpus) start["cpu_max"] = cgroups::cpu_max(l.millicpus);
            }
            if (p.policy) {
                start["policy"] = p.opt.policy;
                start["policy_sha256"] = p.policy->sha256;
            }
            log.write(start, true);
            if (p.opt.notify == NotifyMode::Exec) {
                sd.notify("READY=1");
                ready = true;
            }
        }
    };
    while (!init_done) {
        pollfd fds[4] = {{signals.fd(), POLLIN, 0},
                         {ctl_open ? ctl.get() : -1, POLLIN, 0},
                         {net.events ? net.events->fd() : -1, POLLIN, 0},
                         {app_notify.get(), POLLIN, 0}};
        int timeout = kill_at < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, kill_at - now_ms()));
        int n = poll(fds, 4, timeout);
        if (n < 0 && errno != EINTR) throw_sys("poll");
        if (kill_at >= 0 && now_ms() >= kill_at) {
            fprintf(stderr, "bulwark: stop timeout (%us) expired, killing the sandbox\n",
                    p.opt.stop_timeout);
            signal_init(init, SIGKILL, log);
            kill_at = -1;
        }
        if (n <= 0) continue;
        if (fds[2].revents) drain_events();
        if (fds[3].revents && relay_app_notify(app_notify.get(), sd)) ready = true;
        if (fds[1].revents) {
            sandbox::Msg m;
            UniqueFd passed;
            ssize_t r = recv_msg(ctl.get(), m, passed, 0);
            if (r == sizeof m)
                on_msg(m, passed);
            else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                ctl_open = false;
        }
        if (fds[0].revents) {
            signalfd_siginfo si{};
            while (read(signals.fd(), &si, sizeof si) == sizeof si) {
                int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGCHLD) {
                    if (waitpid(init, &init_status, WNOHANG) == init) init_done = true;
                    continue;
                }
                if (sig == SIGHUP && p.policy) {
                    reload(p, log, sd, ready);
                    continue;
                }
                signal_init(init, sig, log);
                bool stopping = sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;
                if (stopping) sd.notify("STOPPING=1");
                if (stopping && kill_at < 0) kill_at = now_ms() + 1000LL * p.opt.stop_timeout;
            }
        }
    }
    // The app's last word may still be queued behind the SIGCHLD.
    sandbox::Msg m;
    UniqueFd passed;
    while (ctl_open && recv_msg(ctl.get(), m, passed, MSG_DONTWAIT) == sizeof m) on_msg(m, passed);
    drain_events();

    int code;
    if (setup_code != 0)
        code = setup_code;
    else if (app_status < 0)  // the init died first: killed at the stop timeout, or by someone
        code = exit_code_of(init_status);
    else
        code = exit_code_of(app_status);
    if (setup_code == 0 && app_status >= 0 && WIFSIGNALED(app_status) &&
        WTERMSIG(app_status) == SIGSYS) {
        fprintf(stderr, "bulwark: seccomp violation: %s killed by SIGSYS (profile %s)\n",
                p.opt.command.front().c_str(), p.profile_path.c_str());
        log.write({{"type", "SECCOMP_VIOLATION"},
                   {"command", p.opt.command.front()},
                   {"signal", "SIGSYS"},
                   {"profile", p.profile_path}},
                  true);
    }
    if (cg) {
        // What the limits did: the operator sees why the app died or why its forks failed.
        auto ev = cg->events();
        if (ev.oom_kill || ev.pids_max) {
            fprintf(stderr,
                    "bulwark: resource limits hit in %s: %llu killed at memory.max, %llu forks "
                    "refused at pids.max\n",
                    cg->path().c_str(), static_cast<unsigned long long>(ev.oom_kill),
                    static_cast<unsigned long long>(ev.pids_max));
            log.write({{"type", "RESOURCE_LIMIT"},
                       {"cgroup", cg->path()},
                       {"oom_kill", ev.oom_kill},
                       {"pids_max", ev.pids_max}},
                      true);
        }
    }
    Json exit_ev{{"type", "SANDBOX_EXIT"}, {"exit_code", code}};
    int st = app_status >= 0 ? app_status : init_status;
    if (setup_code == 0 && WIFSIGNALED(st))
        exit_ev["signal"] = strsignal(WTERMSIG(st));
    else if (setup_code == 0 && WIFEXITED(st))
        exit_ev["status"] = WEXITSTATUS(st);
    log.write(exit_ev, true);
    return code;
}

}  // namespace bulwark::supervisor
