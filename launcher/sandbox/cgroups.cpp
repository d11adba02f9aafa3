#include "sandbox/cgroups.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace bulwark::cgroups {

namespace {

constexpr uint32_t kPeriodUs = 100000;

bool exists(const std::string& p) {
    return access(p.c_str(), F_OK) == 0;
}

// cgroupfs files take one write per value; a short or failed write is the kernel's refusal
// (errno says why).
bool try_write(const std::string& path, const std::string& value) noexcept {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    return fd && write(fd.get(), value.data(), value.size()) == static_cast<ssize_t>(value.size());
}

void write_value(const std::string& path, const std::string& value) {
    if (!try_write(path, value)) throw_sys("write(" + path + ", \"" + value + "\")");
}

uint64_t event_count(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    std::string k;
    uint64_t v = 0;
    while (in >> k >> v)
        if (k == key) return v;
    return 0;
}

bool has_subdirs_other_than(const std::string& dir, const std::string& keep) {
    DIR* d = opendir(dir.c_str());
    if (!d) return true;  // cannot tell: assume someone else still uses the controllers
    bool other = false;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (e->d_type == DT_DIR && n != "." && n != ".." && dir + "/" + n != keep) other = true;
    }
    closedir(d);
    return other;
}

}  // namespace

uint32_t parse_cpus(const std::string& s, const std::string& what) {
    // Parsed as a fixed-point decimal so that "0.1" is exactly 100 millicpus.
    uint64_t whole = 0, frac = 0;
    const char* p = s.data();
    const char* end = s.data() + s.size();
    auto r = std::from_chars(p, end, whole);
    bool ok = r.ec == std::errc() && r.ptr != p;
    p = r.ptr;
    int digits = 0;
    if (ok && p != end && *p == '.') {
        ++p;
        for (; p != end && *p >= '0' && *p <= '9' && digits < 3; ++p, ++digits)
            frac = frac * 10 + static_cast<uint64_t>(*p - '0');
        ok = digits > 0;
        for (; digits < 3; ++digits) frac *= 10;
    }
    uint64_t m = whole * 1000 + frac;
    if (!ok || p != end || whole > 1024 || m < 10 || m > 1024000)
        throw InputError(what + ": \"" + s +
                         "\" is not a CPU count from 0.01 to 1024 (at most 3 decimals)");
    return static_cast<uint32_t>(m);
}

uint32_t parse_pids(const std::string& s, const std::string& what) {
    uint32_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || n == 0 || n > 4194304)
        throw InputError(what + ": \"" + s + "\" is not a process count from 1 to 4194304");
    return n;
}

std::string cpu_max(uint32_t millicpus) {
    return std::to_string(static_cast<uint64_t>(millicpus) * kPeriodUs / 1000) + " " +
           std::to_string(kPeriodUs);
}

std::vector<std::string> needed_controllers(const Limits& l) {
    std::vector<std::string> c;
    if (l.millicpus) c.push_back("cpu");
    if (l.memory_bytes) c.push_back("memory");
    if (l.pids) c.push_back("pids");
    return c;
}

std::vector<CgroupMount> cgroup_mounts(const std::string& mountinfo) {
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source super
    std::vector<CgroupMount> out;
    std::istringstream in(mountinfo);
    std::string line;
    while (std::getline(in, line)) {
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        std::istringstream tail(line.substr(dash + 3));
        std::string fstype, source, super;
        tail >> fstype >> source >> super;
        if (fstype != "cgroup2" && fstype != "cgroup") continue;
        std::istringstream head(line.substr(0, dash));
        std::string id, parent, dev, root, mnt;
        head >> id >> parent >> dev >> root >> mnt;
        if (root == "/") out.push_back({fstype, mnt, super});
    }
    return out;
}

std::string cgroup2_mount(const std::string& mountinfo) {
    for (auto& m : cgroup_mounts(mountinfo))
        if (m.fstype == "cgroup2") return m.mountpoint;
    return "";
}

std::string own_cgroup(const std::string& proc_self_cgroup) {
    std::istringstream in(proc_self_cgroup);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("0::", 0) == 0) return line.substr(3);
    return "";
}

std::vector<std::string> split_words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> w;
    for (std::string x; in >> x;) w.push_back(x);
    return w;
}

std::string unavailable(const Limits& limits, Place* where) {
    const std::string hint =
        "; under systemd set MemoryMax=, TasksMax= and CPUQuota= in the unit instead";
    auto mnt = cgroup2_mount(read_file("/proc/self/mountinfo"));
    if (mnt.empty())
        return "resource limits need cgroup v2, and no cgroup2 filesystem is mounted" + hint;
    auto own = own_cgroup(read_file("/proc/self/cgroup"));
    auto b = own == "/" ? mnt : mnt + own;
    if (where) *where = {b, own == "/"};
    auto offered = split_words(read_file(b + "/cgroup.controllers"));
    std::string missing, list;
    for (auto& c : needed_controllers(limits))
        if (std::find(offered.begin(), offered.end(), c) == offered.end())
            missing += (missing.empty() ? "" : ", ") + c;
    if (missing.empty()) return "";
    for (auto& o : offered) list += (list.empty() ? "" : " ") + o;
    return "resource limits: cgroup v2 controller(s) " + missing + " not available in " + b +
           " (it offers: " + (list.empty() ? "none" : list) +
           "; on a hybrid host they are bound to cgroup v1)" + hint;
}

RunCgroup::RunCgroup(const std::string& name, const Limits& limits) {
    Place where;
    if (auto why = unavailable(limits, &where); !why.empty()) throw InputError(why);
    base_ = where.base;
    auto app = base_ + "/bulwark-" + name;
    try {
        if (!where.root) {
            auto procs = split_words(read_file(base_ + "/cgroup.procs"));
            if (procs.size() != 1 || procs[0] != std::to_string(getpid()))
                throw InputError("resource limits: cgroup " + base_ +
                                 " holds other processes, and cgroup v2 lets a cgroup hand "
                                 "controllers to children only when it holds none; run bulwark "
                                 "in its own cgroup (the systemd unit with Delegate=yes, or "
                                 "systemd-run -p Delegate=yes)");
            auto leaf = base_ + "/bulwark-supervisor-" + std::to_string(getpid());
            if (mkdir(leaf.c_str(), 0755) != 0) throw_sys("mkdir(" + leaf + ")");
            leaf_ = leaf;
            write_value(leaf_ + "/cgroup.procs", std::to_string(getpid()));
        }
        auto active = split_words(read_file(base_ + "/cgroup.subtree_control"));
        for (auto& c : needed_controllers(limits))
            if (std::find(active.begin(), active.end(), c) == active.end()) {
                write_value(base_ + "/cgroup.subtree_control", "+" + c);
                enabled_.push_back(c);
            }
        // A cgroup left by a supervisor that was SIGKILLed is empty and can go; a live one
        // cannot be removed, which means another run already uses the name. Only a cgroup this
        // run made is ours to kill and remove when starting fails.
        if (exists(app) && rmdir(app.c_str()) != 0)
            throw SysError("rmdir(" + app + ") left by an earlier run", errno);
        if (mkdir(app.c_str(), 0755) != 0) throw_sys("mkdir(" + app + ")");
        app_ = app;
        if (limits.memory_bytes) {
            write_value(app_ + "/memory.max", std::to_string(limits.memory_bytes));
            // A limit the app can leave by swapping is no limit (Docker's --memory-swap equal
            // to --memory does the same).
            if (exists(app_ + "/memory.swap.max")) write_value(app_ + "/memory.swap.max", "0");
        }
        if (limits.pids) write_value(app_ + "/pids.max", std::to_string(limits.pids));
        if (limits.millicpus) write_value(app_ + "/cpu.max", cpu_max(limits.millicpus));
        dir_.reset(open(app_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir_) throw_sys("open(" + app_ + ")");
    } catch (...) {
        teardown();
        throw;
    }
}

RunCgroup::~RunCgroup() {
    teardown();
}

Events RunCgroup::events() const {
    Events e;
    try {
        if (exists(app_ + "/memory.events"))
            e.oom_kill = event_count(read_file(app_ + "/memory.events"), "oom_kill");
        if (exists(app_ + "/pids.events"))
            e.pids_max = event_count(read_file(app_ + "/pids.events"), "max");
    } catch (const std::exception&) {
    }
    return e;
}

void RunCgroup::teardown() noexcept {
    dir_.reset();
    if (!app_.empty() && exists(app_)) {
        // The pid namespace's end already killed the app; cgroup.kill (5.14+) makes sure, and
        // cgroup.events says when the last process is gone so that rmdir can succeed.
        if (exists(app_ + "/cgroup.kill")) try_write(app_ + "/cgroup.kill", "1");
        UniqueFd ev(open((app_ + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        char buf[256];
        while (ev) {
            ssize_t n = pread(ev.get(), buf, sizeof buf - 1, 0);
            if (n <= 0) break;
            buf[n] = 0;
            if (event_count(buf, "populated") == 0) break;
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{ev.get(), POLLPRI, 0};
            poll(&p, 1, static_cast<int>(left.count()));
        }
        if (rmdir(app_.c_str()) != 0)
            fprintf(stderr, "bulwark: rmdir(%s): %s\n", app_.c_str(), strerror(errno));
    }
    // Controllers go back off and the supervisor back home only when no other cgroup under the
    // base could be relying on them (another bulwark run in the same unit, say).
    if (!leaf_.empty() || !enabled_.empty()) {
        if (has_subdirs_other_than(base_, leaf_)) return;
        for (auto& c : enabled_) try_write(base_ + "/cgroup.subtree_control", "-" + c);
        enabled_.clear();
        if (!leaf_.empty() && try_write(base_ + "/cgroup.procs", std::to_string(getpid())))
            rmdir(leaf_.c_str());
        leaf_.clear();
    }
}

}  // namespace bulwark::cgroups
