#include "harness.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "doctor/doctor.hpp"
#include "guard/program.hpp"

extern char** environ;

namespace harness {

namespace {

int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t spawn(const std::vector<std::string>& argv, int out_w, int err_w, const PreExec& pre = {}) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (pre) {
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            int null = open("/dev/null", O_RDONLY);
            if (null < 0 || dup2(null, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
                _exit(127);
            pre();
            execve(args[0], args.data(), environ);
            _exit(127);
        }
        return pid;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");
    return pid;
}

int decode(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string env(const char* name) {
    const char* v = getenv(name);
    if (!v) throw std::runtime_error(std::string(name) + " is not set (run through ctest)");
    return v;
}
std::string bulwark() {
    return env("BULWARK_BIN");
}
std::string rootfs() {
    return env("BULWARK_ROOTFS");
}

Result run(const std::vector<std::string>& argv, int timeout_s, const PreExec& pre) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_t pid = spawn(argv, out[1], err[1], pre);
    close(out[1]);
    close(err[1]);
    Result r;
    int64_t deadline = now_ms() + timeout_s * 1000LL;
    bool open_out = true, open_err = true;
    while (open_out || open_err) {
        pollfd fds[2] = {{open_out ? out[0] : -1, POLLIN, 0}, {open_err ? err[0] : -1, POLLIN, 0}};
        int left = static_cast<int>(deadline - now_ms());
        if (left <= 0 || poll(fds, 2, left) == 0) {
            kill(pid, SIGKILL);
            r.err += "\n[harness: timeout after " + std::to_string(timeout_s) + "s]";
            break;
        }
        char buf[4096];
        for (int i = 0; i < 2; ++i) {
            if (!fds[i].revents) continue;
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                (i == 0 ? open_out : open_err) = false;
                continue;
            }
            (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
        }
    }
    close(out[0]);
    close(err[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    r.code = decode(status);
    return r;
}

Result run_sandbox(const std::vector<std::string>& extra, const std::vector<std::string>& cmd,
                   int timeout_s) {
    std::vector<std::string> argv{bulwark(), "run", "--rootfs", rootfs()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv, timeout_s);
}

Child::Child(const std::vector<std::string>& argv, bool merge_stderr) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = spawn(argv, out[1], merge_stderr ? out[1] : 2);
    close(out[1]);
    out_ = out[0];
}

Child::~Child() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
}

std::string doctor_says(const std::string& id) {
    auto c = bulwark::doctor::probe_one(id);
    if (c.status == bulwark::doctor::Status::Ok) return "";
    return "bulwark doctor: " + c.id + " " + bulwark::doctor::status_name(c.status) + ": " + c.what;
}

bool Child::wait_for_line(const std::string& line, int timeout_s) {
    return wait_for([&](const std::string& l) { return l == line; }, timeout_s);
}

bool Child::wait_for_line_containing(const std::string& part, int timeout_s) {
    return wait_for([&](const std::string& l) { return l.find(part) != std::string::npos; },
                    timeout_s);
}

bool Child::wait_for(const std::function<bool(const std::string&)>& match, int timeout_s) {
    int64_t deadline = now_ms() + timeout_s * 1000LL;
    for (;;) {
        size_t pos;
        while ((pos = buf_.find('\n')) != std::string::npos) {
            auto l = buf_.substr(0, pos);
            buf_.erase(0, pos + 1);
            if (match(l)) return true;
        }
        pollfd pf{out_, POLLIN, 0};
        int left = static_cast<int>(deadline - now_ms());
        if (left <= 0 || poll(&pf, 1, left) <= 0) return false;
        char buf[1024];
        ssize_t n = read(out_, buf, sizeof buf);
        if (n <= 0) return false;
        buf_.append(buf, static_cast<size_t>(n));
    }
}

int Child::wait(int timeout_s) {
    int64_t deadline = now_ms() + timeout_s * 1000LL;
    int status = 0;
    // Polling waitpid with a short nap: this waits for an exit, bounded, rather than sleeping
    // for a guessed duration.
    while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (now_ms() > deadline) return -1;
        usleep(2000);
    }
    pid_ = -1;
    return decode(status);
}

std::map<std::string, std::string> parse_kv(const std::string& text) {
    std::map<std::string, std::string> m;
    for (auto& l : lines(text)) {
        auto eq = l.find('=');
        if (eq != std::string::npos) m[l.substr(0, eq)] = l.substr(eq + 1);
    }
    return m;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream ss(text);
    std::string l;
    while (std::getline(ss, l)) out.push_back(l);
    return out;
}

std::vector<bulwark::Json> audit_events(const std::string& path) {
    std::ifstream in(path);
    std::vector<bulwark::Json> out;
    std::string l;
    while (std::getline(in, l)) out.push_back(bulwark::parse_json(l, path));
    return out;
}

std::string host_mountinfo() {
    std::ifstream f("/proc/self/mountinfo");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> out;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream f(dir + "/" + e->d_name + "/children");
        pid_t c;
        while (f >> c) out.push_back(c);
    }
    closedir(d);
    return out;
}

bool wait_listening(pid_t pid, uint16_t port, int timeout_ms) {
    char want[8];
    std::snprintf(want, sizeof want, ":%04X", port);
    int64_t deadline = now_ms() + timeout_ms;
    do {
        for (auto table : {"tcp", "tcp6"}) {
            std::ifstream f("/proc/" + std::to_string(pid) + "/net/" + table);
            std::string sl, local, remote, state;
            std::string line;
            std::getline(f, line);  // the header
            while (f >> sl >> local >> remote >> state) {
                std::getline(f, line);
                // st 0A is TCP_LISTEN; the local address ends in :PORT (hex).
                if (state == "0A" && local.size() > 5 && local.substr(local.size() - 5) == want)
                    return true;
            }
        }
        poll(nullptr, 0, 5);
    } while (now_ms() < deadline);
    return false;
}

}  // namespace harness

namespace harness {

namespace {

uint64_t drops_so_far(int counters_fd) {
    uint64_t n = 0;
    auto c = bulwark::xdp::read_counters(counters_fd);
    for (unsigned r = BW_DROP_DENY; r <= BW_DROP_BANNED; ++r) n += c[r].packets;
    return n;
}

}  // namespace

HttpResult http(const HttpProbe& probe, const std::string& pipelined) {
    // A child, so that entering the client's network namespace leaves the test's alone.
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return {};
    pid_t pid = fork();
    if (pid < 0) return {};
    if (pid == 0) {
        auto done = [&](Outcome o, int status) {
            HttpResult r{o, status};
            (void)!write(pipefd[1], &r, sizeof r);
            _exit(0);
        };
        if (!probe.netns.empty()) {
            int ns = open(("/run/netns/" + probe.netns).c_str(), O_RDONLY | O_CLOEXEC);
            if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) done(Outcome::Failed, 0);
        }
        // No instance: no guard, so nothing can be dropped, only served or failed.
        bool guarded = !probe.instance.empty();
        int counters =
            guarded ? bpf_obj_get(("/sys/fs/bpf/bulwark/" + probe.instance + "/counters").c_str())
                    : -1;
        // Non-blocking connect: a SYN the guard drops is a drop (the counters move), seen at
        // once instead of after the kernel's SYN retries.
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in a{}, b{};
        a.sin_family = b.sin_family = AF_INET;
        inet_pton(AF_INET, probe.src.c_str(), &a.sin_addr);
        inet_pton(AF_INET, probe.dst.c_str(), &b.sin_addr);
        b.sin_port = htons(probe.port);
        if ((guarded && counters < 0) || fd < 0 ||
            bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            done(Outcome::Failed, 0);
        uint64_t before = guarded ? drops_so_far(counters) : 0;
        auto dropped = [&] {
            linger l{1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            close(fd);
            done(Outcome::Dropped, 0);
        };
        if (connect(fd, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0) {
            if (errno != EINPROGRESS) done(Outcome::Failed, 0);
            int waited = 0;
            for (pollfd p{fd, POLLOUT, 0}; poll(&p, 1, 5) == 0; p.revents = 0) {
                if (guarded && drops_so_far(counters) > before) dropped();
                if ((waited += 5) >= 5000) done(Outcome::Failed, 0);
            }
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
                done(Outcome::Failed, 0);
        }
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) done(Outcome::Failed, 0);
        std::string req =
            pipelined + probe.request_line + " HTTP/1.0\r\nHost: " + probe.dst + "\r\n\r\n";
        if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size()))
            done(Outcome::Failed, 0);
        for (int waited = 0; waited < 5000; waited += 5) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 5) > 0) {
                char buf[32] = {};
                ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_WAITALL);
                std::string head(buf, n > 0 ? static_cast<size_t>(n) : 0);
                if (head.rfind("HTTP/", 0) != 0 || head.size() < 12) done(Outcome::Failed, 0);
                if (probe.until_close) {
                    // The rest, to the server's end of the connection, within the same bound.
                    timeval tv{5, 0};
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
                    char rest[4096];
                    ssize_t got;
                    while ((got = recv(fd, rest, sizeof rest, 0)) > 0) {
                    }
                    if (got < 0) done(Outcome::Failed, 0);
                }
                done(Outcome::Served, std::atoi(head.substr(9, 3).c_str()));
            }
            if (guarded && drops_so_far(counters) > before) dropped();
        }
        done(Outcome::Failed, 0);
    }
    close(pipefd[1]);
    HttpResult r{};
    if (read(pipefd[0], &r, sizeof r) != sizeof r) r = {};
    close(pipefd[0]);
    waitpid(pid, nullptr, 0);
    return r;
}

std::string missing_tool(std::initializer_list<const char*> tools) {
    for (auto tool : tools)
        if (access(tool, X_OK) != 0) return std::string(tool) + " is missing";
    return {};
}

VethNs::VethNs(std::string ns, std::string host, std::string peer, const std::string& host_cidr,
               const std::string& peer_cidr)
    : ns_(std::move(ns)), host_(std::move(host)), peer_(std::move(peer)) {
    teardown();
    const std::string ip = "/usr/sbin/ip";
    std::vector<std::vector<std::string>> steps = {
        {ip, "netns", "add", ns_},
        {ip, "link", "add", host_, "type", "veth", "peer", "name", peer_, "netns", ns_},
        {ip, "addr", "add", host_cidr, "dev", host_},
        {ip, "link", "set", host_, "up"},
        {ip, "-n", ns_, "addr", "add", peer_cidr, "dev", peer_}};
    // The peer speaks IPv4 only, from before its link is up. With IPv6 it sends MLD reports and
    // neighbour solicitations from :: at random times for seconds after link up, and each
    // reached an attached guard as one more source whenever it arrived (a spray test counted a
    // second aggregate, ::/48, about one run in 25).
    if (access("/proc/sys/net/ipv6", F_OK) == 0)
        steps.push_back({ip, "netns", "exec", ns_, "/usr/sbin/sysctl", "-q", "-w",
                         "net/ipv6/conf/" + peer_ + "/disable_ipv6=1"});
    steps.push_back({ip, "-n", ns_, "link", "set", peer_, "up"});
    for (auto& argv : steps) {
        auto r = run(argv, 20);
        if (r.code != 0) {
            teardown();
            std::string cmd;
            for (size_t i = 1; i < argv.size() && i < 5; ++i) cmd += " " + argv[i];
            throw std::runtime_error("ip" + cmd + ": " + r.err);
        }
    }
}

VethNs::~VethNs() {
    teardown();
}

void VethNs::teardown() const {
    run({"/usr/sbin/ip", "link", "del", host_}, 20);
    run({"/usr/sbin/ip", "netns", "del", ns_}, 20);
}

int VethNs::ping(const std::string& dst, int count) const {
    auto r = run({"/usr/sbin/ip", "netns", "exec", ns_, "/bin/busybox", "ping", "-c",
                  std::to_string(count), "-W", "1", dst},
                 30);
    for (auto& l : lines(r.out)) {
        auto pos = l.find(" packets received");
        if (pos == std::string::npos) continue;
        auto comma = l.rfind(", ", pos);
        return std::stoi(l.substr(comma + 2, pos - comma - 2));
    }
    return -1;
}

Httpd::Httpd(const std::string& addr, uint16_t port)
    : dir_("/tmp/bulwark-www-" + std::to_string(getpid())) {
    mkdir(dir_.c_str(), 0755);
    std::ofstream(dir_ + "/index.html") << "hello\n";
    auto listen = addr + ":" + std::to_string(port);
    pid_ = fork();
    if (pid_ == 0) {
        // Its own process group, so that stop() also ends the per-connection children: one
        // waiting for a request the guard dropped would otherwise live on for busybox's 60 s read
        // timeout, holding the test's stdout (ctest waits for it).
        setpgid(0, 0);
        execl("/bin/busybox", "busybox", "httpd", "-f", "-p", listen.c_str(), "-h", dir_.c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
    }
    if (pid_ > 0) setpgid(pid_, pid_);  // as the child does: whichever runs first
    if (wait_listening(pid_, port, 5000)) return;
    stop();
    throw std::runtime_error("busybox httpd did not start listening on " + listen);
}

Httpd::~Httpd() {
    stop();
}

void Httpd::stop() {
    if (pid_ > 0) {
        kill(-pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    unlink((dir_ + "/index.html").c_str());
    rmdir(dir_.c_str());
}

NotifySocket::NotifySocket(std::string p) : path(std::move(p)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("bind " + path);
}

NotifySocket::~NotifySocket() {
    close(fd_);
    unlink(path.c_str());
}

bool NotifySocket::wait_for(const std::string& line, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 20)
        for (auto& l : lines(next(20)))
            if (l == line) return true;
    return false;
}

std::string NotifySocket::next(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return {};
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace harness
