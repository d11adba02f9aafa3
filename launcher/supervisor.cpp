#include "supervisor.hpp"

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

#include "error.hpp"
#include "fd.hpp"
#include "namespaces.hpp"

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

int run(const sandbox::Prepared& p) {
    Signals signals;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_sys("socketpair");
    UniqueFd ctl(sv[0]), child_end(sv[1]);

    pid_t init = namespaces::clone_child(namespaces::clone_flags(p.opt.net));
    if (init == 0) sandbox::run_init(p, child_end.get());
    child_end.reset();

    sandbox::Msg go;
    go.kind = sandbox::Msg::kGo;
    if (send(ctl.get(), &go, sizeof go, MSG_NOSIGNAL) != sizeof go) {
        kill(init, SIGKILL);
        waitpid(init, nullptr, 0);
        throw_sys("send(start sandbox)");
    }

    int setup_code = 0, app_status = -1, init_status = 0;
    bool init_done = false, ctl_open = true;
    int64_t kill_at = -1;
    while (!init_done) {
        pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {ctl_open ? ctl.get() : -1, POLLIN, 0}};
        int timeout = kill_at < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, kill_at - now_ms()));
        int n = poll(fds, 2, timeout);
        if (n < 0 && errno != EINTR) throw_sys("poll");
        if (kill_at >= 0 && now_ms() >= kill_at) {
            fprintf(stderr, "bulwark: stop timeout (%us) expired, killing the sandbox\n",
                    p.opt.stop_timeout);
            kill(init, SIGKILL);
            kill_at = -1;
        }
        if (n <= 0) continue;
        if (fds[1].revents) {
            sandbox::Msg m;
            ssize_t r = recv(ctl.get(), &m, sizeof m, 0);
            if (r == sizeof m) {
                if (m.kind == sandbox::Msg::kSetupError) {
                    setup_code = m.exit_code;
                    fprintf(stderr, "bulwark: %s\n", m.text);
                } else if (m.kind == sandbox::Msg::kExited) {
                    app_status = m.status;
                }
            } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                ctl_open = false;
            }
        }
        if (fds[0].revents) {
            signalfd_siginfo si{};
            while (read(signals.fd(), &si, sizeof si) == sizeof si) {
                int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGCHLD) {
                    if (waitpid(init, &init_status, WNOHANG) == init) init_done = true;
                    continue;
                }
                kill(init, sig);
                bool stopping = sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;
                if (stopping && kill_at < 0) kill_at = now_ms() + 1000LL * p.opt.stop_timeout;
            }
        }
    }
    // The app's last word may still be queued behind the SIGCHLD.
    sandbox::Msg m;
    while (ctl_open && recv(ctl.get(), &m, sizeof m, MSG_DONTWAIT) == sizeof m) {
        if (m.kind == sandbox::Msg::kExited) app_status = m.status;
        if (m.kind == sandbox::Msg::kSetupError) {
            setup_code = m.exit_code;
            fprintf(stderr, "bulwark: %s\n", m.text);
        }
    }
    if (setup_code != 0) return setup_code;
    if (app_status < 0) {
        // The init died before the app did: killed at the stop timeout, or by someone else.
        return exit_code_of(init_status);
    }
    if (WIFSIGNALED(app_status) && WTERMSIG(app_status) == SIGSYS)
        fprintf(stderr, "bulwark: seccomp violation: %s killed by SIGSYS (profile %s)\n",
                p.opt.command.front().c_str(), p.profile_path.c_str());
    return exit_code_of(app_status);
}

}  // namespace bulwark::supervisor
