#include "run/supervisor.hpp"

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
#include <set>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"
#include "core/trust.hpp"
#include "guard/attach.hpp"
#include "guard/events.hpp"
#include "guard/reload.hpp"
#include "run/audit.hpp"
#include "run/network.hpp"
#include "run/systemd.hpp"
#include "sandbox/cgroups.hpp"
#include "sandbox/namespaces.hpp"
#include "sandbox/seccomp_learn.hpp"

namespace bulwark::supervisor {

namespace {

int64_t now_ms() {
    return clock_ns(CLOCK_MONOTONIC) / 1'000'000;
}

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
    // The SYN-ACK cookies the guard sends back into the pair reach the host's end through its
    // NAPI, which GRO gives it.
    if (inside && p.policy->syn_flood.cookies != policy::SynFlood::Cookies::Off)
        network::enable_gro(net.veth->names().host);
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
    // A reload that compiled (or failed to) leaves its tables' memory free in the heap.
    release_heap();
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

// One run, as named phases (nsjail's containProc): start the sandbox's init, attach the network
// side, release the init to start the app, serve until the init is reaped, account for how it
// ended. Members are declared in the order they must be torn down in reverse: the network side
// (pins, veth) before the cgroup, the cgroup before the audit log, the signal mask last.
class Run {
  public:
    explicit Run(const sandbox::Prepared& p)
        : p_(p),
          log_(p.opt.audit_log, p.opt.name,
               p.opt.audit_key.empty() ? "" : trust::read_trusted(p.opt.audit_key)) {
        if (sd_.journal()) log_.set_journal(&sd_);
    }
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

    int operator()() {
        start();
        attach();
        release();
        serve();
        write_learned();
        return account();
    }

  private:
    // The init is cloned into the cgroup (it starts inside the limits, or does not start) and
    // waits on the control socket for the go.
    void start() {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_sys("socketpair");
        ctl_.reset(sv[0]);
        UniqueFd child_end(sv[1]);
        if (p_.opt.limits.any()) cg_.emplace(p_.opt.name, p_.opt.limits);
        init_ =
            namespaces::clone_child(namespaces::clone_flags(p_.opt.net), cg_ ? cg_->dir_fd() : -1);
        if (init_ == 0) sandbox::run_init(p_, child_end.get());
    }

    // The name's lease (one live run per name; what a dead one left is this run's to remove),
    // the veth pair and the guard. Any failure kills the init before its app starts.
    void attach() {
        try {
            if (p_.policy || p_.opt.net == NetMode::Veth) {
                net_.lease.emplace(p_.opt.name);
                if (!net_.lease->recovered().empty())
                    log_.write({{"type", "ENFORCEMENT_ERROR"},
                                {"step", "start"},
                                {"error", net_.lease->recovered()}},
                               true);
            }
            set_up_network(p_, init_, net_, log_);
            // The policy's compile (or its tables read from the cache) is over: the supervisor
            // lives as long as the service and keeps none of its memory.
            if (p_.policy) release_heap();
        } catch (...) {
            kill_init();
            throw;
        }
    }

    void release() {
        sandbox::Msg go;
        go.kind = sandbox::Msg::kGo;
        if (send(ctl_.get(), &go, sizeof go, MSG_NOSIGNAL) != sizeof go) {
            kill_init();
            throw_sys("send(start sandbox)");
        }
    }

    // Signals, the init's messages, the guard's events and the app's notifications, until the
    // init is reaped.
    void serve() {
        while (!init_done_) {
            pollfd fds[5] = {{signals_.fd(), POLLIN, 0},
                             {ctl_open_ ? ctl_.get() : -1, POLLIN, 0},
                             {net_.events ? net_.events->fd() : -1, POLLIN, 0},
                             {app_notify_.get(), POLLIN, 0},
                             {learn_.get(), POLLIN, 0}};
            int timeout =
                kill_at_ < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, kill_at_ - now_ms()));
            int n = poll(fds, 5, timeout);
            if (n < 0 && errno != EINTR) throw_sys("poll");
            if (kill_at_ >= 0 && now_ms() >= kill_at_) on_stop_timeout();
            if (n <= 0) continue;
            // First: every call of the app waits for this answer.
            if (fds[4].revents & POLLIN) {
                std::string report;
                seccomp::learn::serve_one(learn_.get(), *p_.learn_base, recorder_, report);
                if (!report.empty()) fprintf(stderr, "bulwark: learning: %s\n", report.c_str());
            } else if (fds[4].revents) {
                learn_.reset();  // POLLHUP: no task is left under the filter
            }
            if (fds[2].revents) drain_events();
            if (fds[3].revents && relay_app_notify(app_notify_.get(), sd_)) ready_ = true;
            if (fds[1].revents) receive(0);
            if (fds[0].revents) {
                signalfd_siginfo si{};
                while (read(signals_.fd(), &si, sizeof si) == sizeof si)
                    on_signal(static_cast<int>(si.ssi_signo));
            }
        }
        // The app's last word may still be queued behind the SIGCHLD.
        while (ctl_open_ && receive(MSG_DONTWAIT)) {
        }
        drain_events();
    }

    // The exit code (docs/design.md), what the seccomp filter and the limits did, SANDBOX_EXIT.
    int account() {
        int code;
        if (setup_code_ != 0)
            code = setup_code_;
        else if (app_status_ < 0)  // the init died first: killed at the stop timeout, or by someone
            code = exit_code_of(init_status_);
        else
            code = exit_code_of(app_status_);
        if (setup_code_ == 0 && app_status_ >= 0 && WIFSIGNALED(app_status_) &&
            WTERMSIG(app_status_) == SIGSYS) {
            fprintf(stderr, "bulwark: seccomp violation: %s killed by SIGSYS (profile %s)\n",
                    p_.opt.command.front().c_str(), p_.profile_path.c_str());
            log_.write({{"type", "SECCOMP_VIOLATION"},
                        {"command", p_.opt.command.front()},
                        {"signal", "SIGSYS"},
                        {"profile", p_.profile_path}},
                       true);
        }
        if (cg_) {
            // What the limits did: the operator sees why the app died or why its forks failed.
            auto ev = cg_->events();
            if (ev.oom_kill || ev.pids_max) {
                fprintf(stderr,
                        "bulwark: resource limits hit in %s: %llu killed at memory.max, %llu "
                        "forks refused at pids.max\n",
                        cg_->path().c_str(), static_cast<unsigned long long>(ev.oom_kill),
                        static_cast<unsigned long long>(ev.pids_max));
                log_.write({{"type", "RESOURCE_LIMIT"},
                            {"cgroup", cg_->path()},
                            {"oom_kill", ev.oom_kill},
                            {"pids_max", ev.pids_max}},
                           true);
            }
        }
        Json exit_ev{{"type", "SANDBOX_EXIT"}, {"exit_code", code}};
        int st = app_status_ >= 0 ? app_status_ : init_status_;
        if (setup_code_ == 0 && WIFSIGNALED(st))
            exit_ev["signal"] = strsignal(WTERMSIG(st));
        else if (setup_code_ == 0 && WIFEXITED(st))
            exit_ev["status"] = WEXITSTATUS(st);
        log_.write(exit_ev, true);
        return code;
    }

    // One message from the init; false when none was waiting (or the socket closed).
    bool receive(int flags) {
        sandbox::Msg m;
        UniqueFd passed;
        ssize_t r = recv_msg(ctl_.get(), m, passed, flags);
        if (r == sizeof m) {
            on_message(m, passed);
            return true;
        }
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) ctl_open_ = false;
        return false;
    }

    void on_message(const sandbox::Msg& m, UniqueFd& passed) {
        if (m.kind == sandbox::Msg::kNotifySocket) {
            app_notify_ = std::move(passed);
        } else if (m.kind == sandbox::Msg::kLearnListener && p_.learn_base) {
            learn_ = std::move(passed);
        } else if (m.kind == sandbox::Msg::kSetupError) {
            setup_code_ = m.exit_code;
            fprintf(stderr, "bulwark: %s\n", m.text);
        } else if (m.kind == sandbox::Msg::kExited) {
            app_status_ = m.status;
        } else if (m.kind == sandbox::Msg::kRunning) {
            log_.write(start_event(), true);
            if (p_.opt.notify == NotifyMode::Exec) {
                sd_.notify("READY=1");
                ready_ = true;
            }
        }
    }

    Json start_event() const {
        Json start{
            {"type", "SANDBOX_START"},
            {"pid", init_},
            {"user", std::to_string(p_.opt.user.uid) + ":" + std::to_string(p_.opt.user.gid)},
            {"command", p_.opt.command},
            {"net", net_name(p_.opt.net)},
            {"profile", p_.profile_path},
            {"profile_sha256", p_.profile_sha256}};
        if (cg_) {
            auto& l = p_.opt.limits;
            start["cgroup"] = cg_->path();
            if (l.memory_bytes) start["memory_max"] = l.memory_bytes;
            if (l.pids) start["pids_max"] = l.pids;
            if (l.millicpus) start["cpu_max"] = cgroups::cpu_max(l.millicpus);
        }
        if (p_.policy) {
            start["policy"] = p_.opt.policy;
            start["policy_sha256"] = p_.policy->sha256;
        }
        return start;
    }

    // SIGCHLD reaps, SIGHUP reloads the policy (when there is one); every other handled signal
    // goes to the init, and the stopping ones start the stop timeout.
    void on_signal(int sig) {
        if (sig == SIGCHLD) {
            if (waitpid(init_, &init_status_, WNOHANG) == init_) init_done_ = true;
            return;
        }
        if (sig == SIGHUP && p_.policy) {
            reload(p_, log_, sd_, ready_);
            return;
        }
        signal_init(init_, sig, log_);
        bool stopping = sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;
        if (stopping) sd_.notify("STOPPING=1");
        if (stopping && kill_at_ < 0) kill_at_ = now_ms() + 1000LL * p_.opt.stop_timeout;
    }

    void on_stop_timeout() {
        fprintf(stderr, "bulwark: stop timeout (%us) expired, killing the sandbox\n",
                p_.opt.stop_timeout);
        signal_init(init_, SIGKILL, log_);
        kill_at_ = -1;
    }

    // --learn: the profile, whatever way the app ended (a stop by the operator is the usual one).
    void write_learned() {
        if (!p_.learn_base) return;
        learn_.reset();
        if (recorder_.calls() == 0) {
            fprintf(stderr, "bulwark: learning: no call was recorded; %s not written\n",
                    p_.opt.learn.c_str());
            return;
        }
        auto doc = recorder_.profile(*p_.learn_base, p_.profile_path);
        try {
            write_file_atomic(p_.opt.learn, doc.dump(2) + "\n", 0644);
        } catch (const std::exception& e) {
            fprintf(stderr, "bulwark: learning: %s\n", e.what());
            if (setup_code_ == 0) setup_code_ = 125;
            return;
        }
        std::set<std::string> names;
        for (auto& r : doc["syscalls"])
            if (r["action"] == "SCMP_ACT_ALLOW")
                for (auto& n : r["names"]) names.insert(n.get<std::string>());
        fprintf(stderr,
                "bulwark: learning: %zu calls recorded; %s allows %zu syscalls, %zu more were "
                "tried and stay denied\n",
                recorder_.calls(), p_.opt.learn.c_str(), names.size(), recorder_.denials().size());
        if (!recorder_.unknown().empty())
            fprintf(stderr,
                    "bulwark: learning: %zu syscall numbers unknown to libseccomp were left out "
                    "(see the profile's comment)\n",
                    recorder_.unknown().size());
    }

    void drain_events() {
        if (!net_.events) return;
        try {
            net_.events->consume();
        } catch (const std::exception& e) {
            log_.write(
                {{"type", "ENFORCEMENT_ERROR"}, {"step", "read events"}, {"error", e.what()}},
                false);
        }
    }

    void kill_init() {
        if (signal_init(init_, SIGKILL, log_)) waitpid(init_, nullptr, 0);
    }

    const sandbox::Prepared& p_;
    // Every signal the supervisor handles or forwards.
    SignalFd signals_{{SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}, SFD_NONBLOCK};
    sd::Systemd sd_;
    audit::Log log_;
    UniqueFd ctl_;
    std::optional<cgroups::RunCgroup> cg_;
    pid_t init_ = -1;
    NetSide net_;

    int setup_code_ = 0, app_status_ = -1, init_status_ = 0;
    bool init_done_ = false, ctl_open_ = true, ready_ = false;
    UniqueFd app_notify_;  // --notify app: the socket the app's sd_notify reaches
    UniqueFd learn_;       // --learn: the listener of the app's learning filter
    seccomp::learn::Recorder recorder_;
    int64_t kill_at_ = -1;
};

}  // namespace

int run(const sandbox::Prepared& p) {
    return Run(p)();
}

}  // namespace bulwark::supervisor
