#include "oci/runtime.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "core/error.hpp"
#include "core/signing.hpp"
#include "core/sys.hpp"
#include "guard/attach.hpp"
#include "guard/policy.hpp"
#include "oci/copyup.hpp"
#include "sandbox/apparmor.hpp"
#include "sandbox/caps.hpp"
#include "sandbox/in_root.hpp"
#include "sandbox/mounts.hpp"
#include "sandbox/namespaces.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/seccomp_compile.hpp"

namespace bulwark::oci {

namespace {

constexpr const char* kPolicyAnnotation = "org.bulwark.policy";
constexpr const char* kProfileAnnotation = "org.bulwark.profile";
constexpr const char* kHardenAnnotation = "org.bulwark.harden";

std::string dir_of(const Globals& g, const std::string& id) {
    return g.root + "/" + id;
}

// /proc/PID/stat's start time (field 22), 0 when the process is gone. A zombie counts as gone:
// it ran its course and only waits for its reaper.
uint64_t start_time_of(pid_t pid) {
    auto text = read_file_or_empty("/proc/" + std::to_string(pid) + "/stat");
    auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream in(text.substr(close + 2));
    std::string field;
    uint64_t value = 0;
    for (int i = 3; i <= 22 && in >> field; ++i) {
        if (i == 3 && (field == "Z" || field == "X")) return 0;
        if (i == 22) value = std::stoull(field);
    }
    return value;
}

std::string trust_key(const Globals& g) {
    if (access(g.config.c_str(), F_OK) != 0) return "";
    auto doc = load_json_file(g.config);
    JsonAt top(doc, g.config);
    top.only_keys({"trust_key"});
    if (auto k = top.get("trust_key")) return k->str();
    return "";
}

// The ID's directory in the state root, made 0700 (runc's too): the fifo and the state are root's.
void make_state_dir(const Globals& g, const std::string& id) {
    // mkdir -p: containerd's shim names a --root below directories nobody made yet.
    for (size_t pos = 1; pos <= g.root.size(); ++pos) {
        if (pos != g.root.size() && g.root[pos] != '/') continue;
        auto part = g.root.substr(0, pos);
        if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) throw_sys("mkdir(" + part + ")");
    }
    auto d = dir_of(g, id);
    if (mkdir(d.c_str(), 0700) != 0) {
        if (errno == EEXIST) throw InputError("container \"" + id + "\" already exists");
        throw_sys("mkdir(" + d + ")");
    }
}

void remove_state_dir(const Globals& g, const std::string& id) {
    auto d = dir_of(g, id);
    for (auto f :
         {"/exec.fifo", "/state.json", "/state.json.tmp", "/config.json", "/config.json.tmp"})
        unlink((d + f).c_str());
    if (rmdir(d.c_str()) != 0 && errno != ENOENT) throw_sys("rmdir(" + d + ")");
}

Json cgroup_json(const CgroupDirs& c) {
    Json v1 = Json::object();
    for (auto& [k, v] : c.v1) v1[k] = v;
    return Json{{"v2", c.v2}, {"v1", v1}};
}

void save_state(const Globals& g, const State& s) {
    Json doc{{"id", s.id},
             {"pid", s.pid},
             {"start_time", s.start_time},
             {"bundle", s.bundle},
             {"rootfs", s.rootfs},
             {"created", s.created},
             {"cgroup", cgroup_json(s.cgroup)},
             {"guard", s.guard},
             {"annotations", s.annotations}};
    write_file_atomic(dir_of(g, s.id) + "/state.json", doc.dump(), 0600);
}

// One message from the container's init to bulwark-oci: "" when it is ready and blocked on the
// fifo, else why it failed.
struct SyncMsg {
    char text[1024] = {};
};

// The mount point for `dest` under the root (an O_PATH fd), directories made on the way with
// every component resolved inside the root: a symlink in the image cannot send a mount outside.
UniqueFd mount_point(int root, const std::string& dest, bool file) {
    std::string sofar;
    std::istringstream in(dest);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(in, part, '/'))
        if (!part.empty() && part != ".") parts.push_back(part);
    for (size_t i = 0; i < parts.size(); ++i) {
        auto parent = sofar.empty() ? std::string("/") : sofar;
        sofar += "/" + parts[i];
        auto fd = in_root::open(root, sofar, O_PATH);
        if (fd) continue;
        if (errno != ENOENT) throw_sys("open(" + dest + " in rootfs)");
        auto pfd = in_root::open(root, parent, O_DIRECTORY | O_RDONLY);
        if (!pfd) throw_sys("open(" + parent + " in rootfs)");
        bool last = i + 1 == parts.size();
        if (last && file) {
            UniqueFd f(openat(pfd.get(), parts[i].c_str(),
                              O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
            if (!f && errno != EEXIST) throw_sys("create mount point " + dest);
        } else if (mkdirat(pfd.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
            throw_sys("mkdir(" + sofar + " in rootfs)");
        }
    }
    auto fd = in_root::open(root, dest, O_PATH);
    if (!fd) throw_sys("open(" + dest + " in rootfs)");
    return fd;
}

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

void do_mount(const char* src, const std::string& target, const char* type, unsigned long flags,
              const char* data, const std::string& what) {
    if (::mount(src, target.c_str(), type, flags, data) != 0) throw_sys("mount(" + what + ")");
}

void mount_one(int root, const Mount& m, const Spec& s) {
    const auto& o = m.opts;
    bool bind = o.bind();
    struct stat st {};
    bool file = bind && stat(m.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
    if (bind && m.source.empty())
        throw InputError(s.file + ": " + m.pointer + ": a bind mount needs a source");
    auto fd = mount_point(root, m.destination, file);
    auto target = fd_path(fd.get());
    auto what = m.destination;
    unsigned long flags = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    // A change to the mount just made: `fd` still names the directory beneath it, so the path
    // is resolved again, inside the root, to reach the new mount on top.
    auto change_top = [&](unsigned long change, const std::string& step) {
        auto top = in_root::open(root, m.destination, O_PATH);
        if (!top) throw_sys("open(" + what + " in rootfs)");
        do_mount(nullptr, fd_path(top.get()), nullptr, change, nullptr, step + " " + what);
    };
    if (bind) {
        do_mount(m.source.c_str(), target, nullptr, MS_BIND | (o.flags & MS_REC), nullptr,
                 "bind " + m.source + " on " + what);
        // The bind has been made; its options need a remount, as mount(8) does.
        if (flags) change_top(MS_REMOUNT | MS_BIND | flags, "remount");
    } else {
        std::string type = m.type;
        const char* src = m.source.empty() ? m.type.c_str() : m.source.c_str();
        if (type == "cgroup" || type == "cgroup2") type = "cgroup2";
        const char* data = o.data.empty() ? nullptr : o.data.c_str();
        // tmpcopyup: the directory beneath, held open, stays readable once covered.
        UniqueFd beneath;
        if (o.copy_up) {
            beneath.reset(openat(fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!beneath) throw_sys("open(" + what + " in rootfs)");
        }
        unsigned long first = o.copy_up ? flags & ~MS_RDONLY : flags;
        if (::mount(src, target.c_str(), type.c_str(), first, data) != 0) {
            // sysfs belongs to the network namespace: in a joined or the host's one the kernel
            // refuses a new instance (EPERM), and runc binds the host's /sys instead.
            if (type == "sysfs" && errno == EPERM) {
                do_mount("/sys", target, nullptr, MS_BIND | MS_REC, nullptr,
                         "bind /sys on " + what);
                change_top(MS_REMOUNT | MS_BIND | flags, "remount");
            } else {
                throw_sys("mount(" + type + " on " + what + ")");
            }
        }
        if (o.copy_up) {
            auto top = in_root::open(root, m.destination, O_RDONLY | O_DIRECTORY);
            if (!top) throw_sys("open(" + what + " in rootfs)");
            copy_tree(beneath.get(), top.get(), what);
            if (first != flags) change_top(MS_REMOUNT | flags, "remount");
        }
    }
    if (o.propagation) change_top(o.propagation, "propagation of");
}

// The nodes every container has (runtime-spec "Default Devices") and linux.devices, made with
// mknod in the container's /dev; a node that is already there (a bind from the spec) is kept.
void make_devices(int root, const Spec& s) {
    std::vector<Device> devs = {
        {'c', "/dev/null", 1, 3, 0666, 0, 0},    {'c', "/dev/zero", 1, 5, 0666, 0, 0},
        {'c', "/dev/full", 1, 7, 0666, 0, 0},    {'c', "/dev/random", 1, 8, 0666, 0, 0},
        {'c', "/dev/urandom", 1, 9, 0666, 0, 0}, {'c', "/dev/tty", 5, 0, 0666, 0, 0}};
    devs.insert(devs.end(), s.devices.begin(), s.devices.end());
    auto dev = mount_point(root, "/dev", false);
    UniqueFd dir(openat(dev.get(), ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!dir) throw_sys("open(/dev in rootfs)");
    for (auto& d : devs) {
        auto rel = d.path.substr(5);
        if (rel.find('/') != std::string::npos) mount_point(root, dirname_of(d.path), false);
        auto parent = in_root::open(root, dirname_of(d.path), O_DIRECTORY | O_RDONLY);
        if (!parent) throw_sys("open(" + dirname_of(d.path) + " in rootfs)");
        auto base = d.path.substr(d.path.rfind('/') + 1);
        if (mknodat(parent.get(), base.c_str(), d.file_type() | (d.mode & 07777),
                    makedev(d.major, d.minor)) != 0) {
            if (errno == EEXIST) continue;
            throw_sys("mknod(" + d.path + ")");
        }
        if (fchmodat(parent.get(), base.c_str(), d.mode & 07777, 0) != 0)
            throw_sys("chmod(" + d.path + ")");
        if (fchownat(parent.get(), base.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) != 0)
            throw_sys("chown(" + d.path + ")");
    }
    const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                         {"/proc/self/fd/0", "stdin"},
                                                         {"/proc/self/fd/1", "stdout"},
                                                         {"/proc/self/fd/2", "stderr"},
                                                         {"pts/ptmx", "ptmx"}};
    for (auto [target, link] : links) {
        if (std::string(link) == "ptmx") unlinkat(dir.get(), link, 0);  // a node from the image
        if (symlinkat(target, dir.get(), link) != 0 && errno != EEXIST)
            throw_sys(std::string("symlink(/dev/") + link + ")");
    }
}

void write_proc(const std::string& path, const std::string& value) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || write(fd.get(), value.data(), value.size()) < 0)
        throw_sys("write(" + path + ", " + value + ")");
}

void mask_paths(const Spec& s) {
    for (auto& p : s.masked_paths) {
        struct stat st {};
        if (lstat(p.c_str(), &st) != 0) {
            if (errno == ENOENT) continue;
            throw_sys("lstat(" + p + ")");
        }
        if (S_ISDIR(st.st_mode))
            do_mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0",
                     "mask " + p);
        else
            do_mount("/dev/null", p, nullptr, MS_BIND, nullptr, "mask " + p);
    }
    for (auto& p : s.readonly_paths) {
        if (access(p.c_str(), F_OK) != 0) continue;
        do_mount(p.c_str(), p, nullptr, MS_BIND | MS_REC, nullptr, "bind " + p);
        // Read-only and nothing more, as runc makes them: a program in a read-only path still
        // runs (noexec was added here before 2026-12-06); flags the mount has are kept.
        mounts::remount(p, MS_RDONLY);
    }
}

void setup_filesystem(const Spec& s) {
    // Slaves of the host's mounts, as runc makes them: what the host mounts later reaches the
    // container (under its rootfs and its bind mounts, whose copies are slaves too: "rslave",
    // Kubernetes' HostToContainer), and nothing the container mounts or unmounts (the old root
    // below) reaches the host. Private, as before 2026-12-06, cut the first too: a slave
    // rootfsPropagation was a private one. pivot_root takes a slave root (not a shared one).
    do_mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr, "slave propagation of /");
    do_mount(s.root.c_str(), s.root, nullptr, MS_BIND | MS_REC, nullptr, "bind rootfs " + s.root);
    UniqueFd root(open(s.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_sys("open(" + s.root + ")");
    for (auto& m : s.mounts) mount_one(root.get(), m, s);
    make_devices(root.get(), s);
    if (fchdir(root.get()) != 0) throw_sys("chdir(" + s.root + ")");
    if (syscall(SYS_pivot_root, ".", ".") != 0) throw_sys("pivot_root(" + s.root + ")");
    if (umount2(".", MNT_DETACH) != 0) throw_sys("umount2(old root)");
    if (chdir("/") != 0) throw_sys("chdir(/)");
    if (s.rootfs_propagation)
        do_mount(nullptr, "/", nullptr, s.rootfs_propagation, nullptr, "rootfsPropagation");
    // Before readonlyPaths turns /proc/sys read-only, as in runc.
    for (auto& [k, v] : s.sysctl) {
        std::string path = "/proc/sys/" + k;
        for (auto& c : path)
            if (c == '.') c = '/';
        write_proc(path, v);
    }
    mask_paths(s);
    if (s.root_readonly)
        do_mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr,
                 "read-only root");
}

// A limit above the hard limit bulwark-oci itself has needs CAP_SYS_RESOURCE, which root may lack
// (this project's CI machine): such a limit is lowered to the hard limit we have, and said so.
std::string set_rlimits(const std::vector<Rlimit>& limits) {
    std::string warnings;
    for (auto& r : limits) {
        rlimit rl{r.soft, r.hard};
        if (setrlimit(r.resource, &rl) == 0) continue;
        if (errno != EPERM) throw_sys("setrlimit(" + r.name + ")");
        rlimit cur{};
        getrlimit(r.resource, &cur);
        rl = {std::min<rlim_t>(r.soft, cur.rlim_max), std::min<rlim_t>(r.hard, cur.rlim_max)};
        if (setrlimit(r.resource, &rl) != 0) throw_sys("setrlimit(" + r.name + ")");
        warnings += r.name + " lowered to " + std::to_string(rl.rlim_max) +
                    " (raising it needs CAP_SYS_RESOURCE); ";
    }
    return warnings;
}

// Sets the process's oom_score_adj. Lowering it below the current value needs CAP_SYS_RESOURCE;
// without it (this project's CI machine, a runtime in a container) it is left where it is and
// said so, as containerd's restrict_oom_score_adj clamps it: a pod's sandbox asks for -998.
std::string set_oom_score_adj(int value) {
    const std::string path = "/proc/self/oom_score_adj";
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    auto text = std::to_string(value);
    if (fd && write(fd.get(), text.data(), text.size()) >= 0) return "";
    if (!fd || errno != EACCES) throw_sys("write(" + path + ", " + text + ")");
    auto now = read_file_or_empty(path);
    while (!now.empty() && now.back() == '\n') now.pop_back();
    return "oomScoreAdj " + text + " left at " + now + " (lowering it needs CAP_SYS_RESOURCE); ";
}

// Returns warnings: an ambient capability the kernel will not raise because it is not in the
// inheritable set is left out, as runc does, since `runc spec` and `crun spec` both write one.
std::string set_caps_and_user(const Process& p) {
    // What the runtime does not hold it cannot grant, and the spec makes that an error
    // (config.md, capabilities); cap_set_proc's EPERM named neither the set nor the capability.
    // Root lacks CAP_SYS_RESOURCE on this project's test machine: a spec with every capability
    // (runtime-tools' privileged configs) meets it.
    for (auto [set, caps] : {std::pair{"bounding", &p.caps.bounding},
                             {"permitted", &p.caps.permitted},
                             {"effective", &p.caps.effective},
                             {"inheritable", &p.caps.inheritable}})
        for (auto v : *caps)
            if (cap_get_bound(v) != 1)
                throw InputError(std::string("process.capabilities.") + set + ": " +
                                 caps::name_of(v) +
                                 " is not in bulwark-oci's own bounding set: it cannot be granted");
    for (cap_value_t v = 0; v <= static_cast<cap_value_t>(cap_max_bits()) - 1; ++v) {
        bool keep = false;
        for (auto b : p.caps.bounding) keep |= b == v;
        if (!keep && cap_drop_bound(v) != 0) throw_sys("cap_drop_bound(" + caps::name_of(v) + ")");
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_sys("prctl(PR_SET_KEEPCAPS)");
    if (setgroups(p.additional_gids.size(), p.additional_gids.data()) != 0) throw_sys("setgroups");
    if (setresgid(p.gid, p.gid, p.gid) != 0) throw_sys("setresgid(" + std::to_string(p.gid) + ")");
    if (setresuid(p.uid, p.uid, p.uid) != 0) throw_sys("setresuid(" + std::to_string(p.uid) + ")");
    Handle<_cap_struct, cap_free> c(cap_init());
    if (!c) throw_sys("cap_init");
    auto set = [&](cap_flag_t f, const std::vector<cap_value_t>& v) {
        if (!v.empty() &&
            cap_set_flag(c.get(), f, static_cast<int>(v.size()), v.data(), CAP_SET) != 0)
            throw_sys("cap_set_flag");
    };
    set(CAP_PERMITTED, p.caps.permitted);
    set(CAP_EFFECTIVE, p.caps.effective);
    set(CAP_INHERITABLE, p.caps.inheritable);
    if (cap_set_proc(c.get()) != 0) throw_sys("cap_set_proc");
    if (cap_reset_ambient() != 0) throw_sys("cap_reset_ambient");
    std::string left_out;
    for (auto v : p.caps.ambient) {
        if (cap_set_ambient(v, CAP_SET) == 0) continue;
        bool in_both = std::find(p.caps.permitted.begin(), p.caps.permitted.end(), v) !=
                           p.caps.permitted.end() &&
                       std::find(p.caps.inheritable.begin(), p.caps.inheritable.end(), v) !=
                           p.caps.inheritable.end();
        if (errno != EPERM || in_both) throw_sys("cap_set_ambient(" + caps::name_of(v) + ")");
        left_out += (left_out.empty() ? "" : ", ") + caps::name_of(v);
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) throw_sys("prctl(PR_SET_KEEPCAPS, 0)");
    if (left_out.empty()) return "";
    return "process.capabilities.ambient: " + left_out +
           " not raised (the kernel raises only what is permitted and inheritable); ";
}

// The pty for `process.terminal`: made in the container's devpts, the master handed to the caller
// through --console-socket (SCM_RIGHTS, as runc does), the slave made the controlling terminal.
UniqueFd connect_console(const std::string& socket_path) {
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_sys("socket(console)");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof a.sun_path)
        throw SysError("connect(" + socket_path + ")", ENAMETOOLONG);
    std::memcpy(a.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (connect(sock.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw_sys("connect(console socket " + socket_path + ")");
    return sock;
}

// `sock`: connected to --console-socket before pivot_root hid its path.
void setup_console(const UniqueFd& sock) {
    UniqueFd master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) throw_sys("open(/dev/ptmx)");
    int unlock = 0;
    if (ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) throw_sys("ioctl(TIOCSPTLCK)");
    int n = 0;
    if (ioctl(master.get(), TIOCGPTN, &n) != 0) throw_sys("ioctl(TIOCGPTN)");
    std::string slave_path = "/dev/pts/" + std::to_string(n);
    UniqueFd slave(open(slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) throw_sys("open(" + slave_path + ")");
    char name[] = "/dev/ptmx";
    FdMessage msg(name, sizeof name - 1, master.get());
    if (sendmsg(sock.get(), msg.get(), MSG_NOSIGNAL) < 0) throw_sys("sendmsg(console socket)");
    for (int i = 0; i < 3; ++i)
        if (dup2(slave.get(), i) < 0) throw_sys("dup2(pty)");
    if (ioctl(0, TIOCSCTTY, 0) != 0) throw_sys("ioctl(TIOCSCTTY)");
}

// What create and exec both do to the process after its namespaces and filesystem are in place:
// limits, identity, capabilities, no_new_privs, seccomp (before the identity change when
// no_new_privs is off, since loading a filter then needs CAP_SYS_ADMIN).
struct ProcessPlan {
    Process proc;
    std::optional<seccomp::Compiled> filter;
    std::string console_socket;
    std::vector<std::string> candidates;
    mutable UniqueFd console;  // connected to console_socket while the host's paths resolve
    mutable std::string home;  // HOME when proc.env has none, found by prepare_process
    std::string apparmor;      // the profile to apply, or "" (none asked, or unconfined here)
    std::optional<unsigned long> personality;  // the spec's, for exec's processes too
};

// HOME as runc and crun set it when the spec's env has none: the user's directory in the
// container's /etc/passwd, else "/" (shells, language runtimes and tools keep their files
// there). Read as a file (fgetpwent_r): no NSS module is loaded from the image; and only a
// regular one, so an image's FIFO there cannot hold the runtime.
std::string home_of(uid_t uid) {
    UniqueFd fd(open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    struct stat st {};
    if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "/";
    FILE* f = fdopen(fd.release(), "re");
    if (!f) return "/";
    std::string home = "/";
    passwd pw{}, *entry = nullptr;
    char buf[4096];
    while (fgetpwent_r(f, &pw, buf, sizeof buf, &entry) == 0 && entry) {
        if (pw.pw_uid != uid) continue;
        if (pw.pw_dir && *pw.pw_dir) home = pw.pw_dir;
        break;
    }
    fclose(f);
    return home;
}

bool has_var(const std::vector<std::string>& env, std::string_view name) {
    for (auto& e : env)
        if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
            return true;
    return false;
}

std::string prepare_process(const ProcessPlan& pp) {
    auto& p = pp.proc;
    // As root, before the user changes: the file may be readable by root alone.
    if (!has_var(p.env, "HOME")) pp.home = "HOME=" + home_of(p.uid);
    // Before the filter (which may deny the write), no_new_privs and the user change, as runc.
    sandbox::apparmor::exec_profile(pp.apparmor);
    auto warnings = set_rlimits(p.rlimits);
    if (p.oom_score_adj) warnings += set_oom_score_adj(*p.oom_score_adj);
    // With the capabilities they need (CAP_SYS_NICE, CAP_SYS_ADMIN for the realtime I/O class),
    // before a filter that may deny the calls; the cgroup move (a cpuset) is behind us.
    if (p.io_priority) set_io_priority(*p.io_priority);
    if (p.scheduler) set_scheduler(*p.scheduler);
    if (p.cpus_final) set_affinity(0, *p.cpus_final);
    if (pp.personality) set_personality(*pp.personality);
    if (pp.console) setup_console(pp.console);
    pp.console.reset();
    if (pp.filter && !p.no_new_privileges)
        if (int e = seccomp::install(*pp.filter); e != 0) throw SysError("seccomp(load filter)", e);
    warnings += set_caps_and_user(p);
    umask(p.umask.value_or(022));
    if (chdir(p.cwd.c_str()) != 0) throw_sys("chdir(" + p.cwd + ")");
    if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw_sys("prctl(PR_SET_NO_NEW_PRIVS)");
    bool found = false;
    for (auto& c : pp.candidates) found |= access(c.c_str(), X_OK) == 0;
    if (!found)
        throw InputError("exec: \"" + p.args[0] + "\": executable file not found" +
                         (p.args[0].find('/') == std::string::npos ? " in $PATH" : ""));
    if (warnings.size() >= 2) warnings.resize(warnings.size() - 2);  // the last "; "
    return warnings;
}

[[noreturn]] void exec_process(const ProcessPlan& pp) {
    if (pp.filter && pp.proc.no_new_privileges)
        if (int e = seccomp::install(*pp.filter); e != 0) {
            dprintf(2, "bulwark-oci: seccomp(load filter): %s\n", strerror(e));
            _exit(127);
        }
    std::vector<char*> argv, envp;
    for (auto& a : pp.proc.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : pp.proc.env) envp.push_back(const_cast<char*>(e.c_str()));
    if (!pp.home.empty()) envp.push_back(pp.home.data());
    envp.push_back(nullptr);
    int err = ENOENT;
    for (auto& c : pp.candidates) {
        execve(c.c_str(), argv.data(), envp.data());
        if (errno != ENOENT && errno != ENOTDIR) err = errno;
    }
    dprintf(2, "bulwark-oci: exec %s: %s\n", pp.proc.args[0].c_str(), strerror(err));
    _exit(err == ENOENT ? 127 : 126);
}

void send_sync(int fd, const std::string& text) {
    SyncMsg m;
    std::strncpy(m.text, text.c_str(), sizeof m.text - 1);
    (void)!::send(fd, &m, sizeof m, MSG_NOSIGNAL);
}

// The container's first process, from its clone to exec. `go` arrives once bulwark-oci has put
// it in its cgroup.
struct InitArgs {
    const Spec* spec;
    const ProcessPlan* plan;
    int sync;
    int fifo;                                             // O_PATH, opened before pivot_root
    std::vector<std::pair<int, const Namespace*>> joins;  // {fd, its namespace} to setns into
    int preserve_fds;
};

[[noreturn]] void container_init(const InitArgs& a) {
    try {
        char go = 0;
        if (read(a.sync, &go, 1) != 1) _exit(1);
        default_signal_handlers();
        // setns checks the type: a path to another type of namespace is EINVAL.
        for (auto [fd, ns] : a.joins)
            if (setns(fd, ns->flag) != 0)
                throw_sys("setns(" + ns->type + " namespace " + ns->path + ")");
        // Made after the cgroup move, so the container's cgroup is its namespace's root.
        if (auto* cg = a.spec->find_namespace(CLONE_NEWCGROUP); cg && cg->path.empty())
            if (unshare(CLONE_NEWCGROUP) != 0) throw_sys("unshare(CLONE_NEWCGROUP)");
        // Made here, not by clone: a time namespace takes its offsets before anyone is in it.
        if (auto* t = a.spec->find_namespace(CLONE_NEWTIME); t && t->path.empty())
            namespaces::enter_new_time_namespace(a.spec->time_offsets);
        if (setsid() < 0) throw_sys("setsid");
        if (!a.plan->console_socket.empty())
            a.plan->console = connect_console(a.plan->console_socket);
        auto& s = *a.spec;
        if (a.spec->has_namespace(CLONE_NEWUTS) && !s.hostname.empty())
            namespaces::set_hostname(s.hostname);
        if (!s.domainname.empty()) namespaces::set_domainname(s.domainname);
        if (s.has_namespace(CLONE_NEWNET) && s.find_namespace(CLONE_NEWNET)->path.empty())
            namespaces::loopback_up();
        setup_filesystem(s);
        auto warnings = prepare_process(*a.plan);
        send_sync(a.sync, warnings.empty() ? "ok" : "ok " + warnings);
        // Blocks until `start` opens the other end.
        UniqueFd fifo(open(fd_path(a.fifo).c_str(), O_WRONLY | O_CLOEXEC));
        if (!fifo) _exit(1);
        if (write(fifo.get(), "0", 1) != 1) _exit(1);
        fifo.reset();
        syscall(SYS_close_range, 3 + a.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
        exec_process(*a.plan);
    } catch (const std::exception& e) {
        send_sync(a.sync, e.what());
        _exit(1);
    }
}

// Waits for the init's word; an init that dies first said nothing: its exit says why.
std::string await_ready(int sync, pid_t pid) {
    SyncMsg m;
    ssize_t n = recv(sync, &m, sizeof m, 0);
    if (n == static_cast<ssize_t>(sizeof m)) {
        std::string t(m.text, strnlen(m.text, sizeof m.text));
        if (t == "ok" || t.rfind("ok ", 0) == 0) return t.size() > 3 ? t.substr(3) : "";
        throw std::runtime_error(t);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    throw std::runtime_error("container init ended before it was ready (status " +
                             std::to_string(status) + ")");
}

seccomp::Compiled compile_seccomp(const Json& doc, const std::string& file, const Process& p) {
    std::vector<std::string> kept;
    for (auto c : p.caps.bounding) kept.push_back(caps::name_of(c));
    auto profile = seccomp::parse_profile(doc, file);
    return seccomp::compile(seccomp::resolve(profile, seccomp::host_context(kept)), file);
}

// `key`: the runtime config's trust key (trust_key()), "" for none.
ProcessPlan process_plan(const Spec& s, const Process& proc, const std::string& key,
                         const std::string& console_socket) {
    ProcessPlan pp;
    pp.proc = proc;
    pp.personality = s.personality;
    pp.console_socket = proc.terminal ? console_socket : "";
    if (proc.terminal && console_socket.empty())
        throw InputError("process.terminal is true: --console-socket is required");
    if (auto it = s.annotations.find(kProfileAnnotation); it != s.annotations.end()) {
        auto text = signing::read_verified(it->second, key);
        pp.filter = compile_seccomp(parse_json(text, it->second), it->second, proc);
    } else if (s.seccomp) {
        pp.filter = compile_seccomp(*s.seccomp, s.file + " linux.seccomp", proc);
    }
    if (pp.filter) {
        auto denials = seccomp::launch_denials(*pp.filter);
        if (!denials.empty()) throw InputError("seccomp profile " + denials.front());
    }
    pp.candidates = sandbox::path_candidates(proc.env, proc.args[0]);
    // "unconfined" where AppArmor is off is no profile; where it is on, it is written as runc
    // writes it (a confined bulwark-oci is refused the change).
    bool aa = sandbox::apparmor::enabled();
    if (auto why = sandbox::apparmor::refusal(proc.apparmor_profile, aa); !why.empty())
        throw InputError(s.file + ": process.apparmorProfile: " + why);
    if (aa) pp.apparmor = proc.apparmor_profile;
    return pp;
}

Json hook_state(const State& s, const std::string& status) {
    auto j = state_json(s);
    j["status"] = status;
    return j;
}

void run_hook(const Hook& h, const std::string& text, const char* kind) {
    // The state goes on a socket, not a pipe: a hook may exit without reading it (/bin/false),
    // and a write to a pipe with no reader killed bulwark-oci with SIGPIPE (runc's copy ignores
    // the EPIPE); send() with MSG_NOSIGNAL only fails.
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        throw_sys("socketpair(hook stdin)");
    UniqueFd rd(sv[0]), wr(sv[1]);
    pid_t pid = fork();
    if (pid < 0) throw_sys("fork(hook)");
    if (pid == 0) {
        dup2(rd.get(), 0);
        std::vector<char*> argv, envp;
        std::vector<std::string> args = h.args.empty() ? std::vector{h.path} : h.args;
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        for (auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        if (h.timeout) alarm(*h.timeout);
        execve(h.path.c_str(), argv.data(), envp.data());
        _exit(127);
    }
    // The alarm ends most hooks at their timeout, but one that ignores SIGALRM (an ignored
    // signal stays ignored across exec) would hold create or delete forever: the timeout is
    // also kept here, on a pidfd, and such a hook killed.
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    rd.reset();
    // A hook that did not read it (EPIPE, ECONNRESET): its exit status says how it went.
    if (!send_all(wr.get(), text.data(), text.size()) && errno != EPIPE && errno != ECONNRESET)
        throw_sys("write(hook stdin)");
    wr.reset();
    bool overran = false;
    if (h.timeout && pidfd) {
        const int64_t deadline = clock_ns(CLOCK_MONOTONIC) + int64_t{*h.timeout} * 1000000000;
        pollfd p{pidfd.get(), POLLIN, 0};
        for (;;) {
            int64_t left = deadline - clock_ns(CLOCK_MONOTONIC);
            if (left <= 0) {
                ::kill(pid, SIGKILL);
                overran = true;
                break;
            }
            int n = poll(&p, 1, static_cast<int>(left / 1000000) + 1);
            if (n > 0) break;
            if (n < 0 && errno != EINTR) throw_sys("poll(hook)");
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_sys("waitpid(hook)");
    if (!overran && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    std::string how = overran ? "was killed at its timeout (" + std::to_string(*h.timeout) + " s)"
                      : WIFEXITED(status)
                          ? "exited with status " + std::to_string(WEXITSTATUS(status))
                          : std::string("was killed by ") + strsignal(WTERMSIG(status)) +
                                (WTERMSIG(status) == SIGALRM ? " (its timeout)" : "");
    throw std::runtime_error(std::string(kind) + " hook " + h.path + " " + how);
}

// Runs `hooks` in order, each with the state on its stdin. The first that fails throws, unless
// `warn` is given: a poststart or poststop hook that fails is logged and the ones after it run
// (runtime spec, Lifecycle; runtime-tools' poststart_fail and poststop_fail check it).
void run_hooks(const std::vector<Hook>& hooks, const Json& state, const char* kind,
               const std::function<void(const std::string&)>& warn = {}) {
    auto text = state.dump();
    for (auto& h : hooks) {
        try {
            run_hook(h, text, kind);
        } catch (const std::exception& e) {
            if (!warn) throw;
            warn(e.what());
        }
    }
}

CgroupDirs load_cgroup(const Json& j) {
    CgroupDirs c;
    c.v2 = j.at("v2").get<std::string>();
    const Json& v1 = j.at("v1");
    for (auto it = v1.begin(); it != v1.end(); ++it) c.v1[it.key()] = it.value().get<std::string>();
    return c;
}

std::string status_of(const Globals& g, const State& s) {
    if (!s.pid || start_time_of(s.pid) != s.start_time) return "stopped";
    if (access((dir_of(g, s.id) + "/exec.fifo").c_str(), F_OK) == 0) return "created";
    if (!s.cgroup.empty() && frozen(s.cgroup)) return "paused";
    return "running";
}

// A descriptor for the container's process that cannot be confused with a later one of the pid.
UniqueFd open_pidfd(const State& s) {
    UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, s.pid, 0)));
    if (!fd || start_time_of(s.pid) != s.start_time) return UniqueFd();
    return fd;
}

void wait_for_exit(int pidfd) {
    pollfd p{pidfd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR) throw_sys("poll(pidfd)");
}

}  // namespace

void check_id(const std::string& id) {
    if (id.empty() || id == "." || id == ".." || id.size() > 1024 ||
        id.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-.") !=
            std::string::npos)
        throw InputError("invalid container ID \"" + id + "\"");
}

Json state_json(const State& s) {
    return Json{{"ociVersion", "1.0.2"},
                {"id", s.id},
                {"status", s.status},
                {"pid", s.status == "stopped" ? 0 : s.pid},
                {"bundle", s.bundle},
                {"rootfs", s.rootfs},
                {"created", s.created},
                {"annotations", s.annotations},
                {"owner", ""}};
}

State load_state(const Globals& g, const std::string& id) {
    check_id(id);
    auto path = dir_of(g, id) + "/state.json";
    if (access(path.c_str(), F_OK) != 0)
        throw InputError("container \"" + id + "\" does not exist");
    auto doc = load_json_file(path);
    State s;
    s.id = id;
    s.pid = doc.at("pid").get<pid_t>();
    s.start_time = doc.at("start_time").get<uint64_t>();
    s.bundle = doc.at("bundle").get<std::string>();
    s.rootfs = doc.at("rootfs").get<std::string>();
    s.created = doc.at("created").get<std::string>();
    s.cgroup = load_cgroup(doc.at("cgroup"));
    s.guard = doc.at("guard").get<std::string>();
    const Json& ann = doc.at("annotations");
    for (auto it = ann.begin(); it != ann.end(); ++it)
        s.annotations[it.key()] = it.value().get<std::string>();
    s.status = status_of(g, s);
    return s;
}

// The config.json create read, kept in the state directory: the runtime spec says changes to the
// bundle's after create MUST NOT affect the container (runtime-tools' config_updates_without_affect
// rewrites it between create and start, and start failed on the rewrite), so start, exec and
// delete read this copy. A container made before 2026-12-06 has none: its bundle's is read.
Spec created_spec(const Globals& g, const State& s) {
    auto saved = dir_of(g, s.id) + "/config.json";
    if (access(saved.c_str(), F_OK) != 0) return load_spec(s.bundle);
    return parse_spec(load_json_file(saved), saved, s.bundle);
}

void warn_unknown(const Globals& g, const std::string& file, const Unknown& unknown) {
    for (auto& w : unknown) g.warn(file + ": " + w + ": ignored");
}

pid_t create(const Globals& g, const CreateOptions& o) {
    check_id(o.id);
    char* bundle_abs = realpath(o.bundle.c_str(), nullptr);
    if (!bundle_abs) throw InputError("bundle " + o.bundle + ": " + std::strerror(errno));
    std::string bundle = bundle_abs;
    free(bundle_abs);
    auto config = load_json_file(bundle + "/config.json");
    auto spec = parse_spec(config, bundle + "/config.json", bundle);
    warn_unknown(g, spec.file, spec.unknown);
    auto key = trust_key(g);
    if (auto it = spec.annotations.find(kHardenAnnotation);
        it != spec.annotations.end() && it->second == "true") {
        auto v = harden(spec);
        if (!v.empty()) {
            // A pod's annotations reach its sandbox (pause) container too, which runs as the
            // pod's securityContext, not a container's: say where its user comes from.
            auto type = spec.annotations.find("io.kubernetes.cri.container-type");
            if (type == spec.annotations.end())
                type = spec.annotations.find("io.kubernetes.cri-o.ContainerType");
            bool sandbox = type != spec.annotations.end() && type->second == "sandbox";
            throw InputError(spec.file + ": org.bulwark.harden: " + v.front() +
                             (sandbox ? " (this is the pod's sandbox: it runs as the pod's "
                                        "securityContext runAsUser and runAsGroup; set them "
                                        "there)"
                                      : ""));
        }
    }
    std::optional<policy::Policy> pol;
    if (auto it = spec.annotations.find(kPolicyAnnotation); it != spec.annotations.end()) {
        if (!spec.has_namespace(CLONE_NEWNET))
            throw InputError(spec.file + ": " + kPolicyAnnotation +
                             " needs a network namespace of the container's own");
        pol = policy::load_policy(it->second, key);
        policy::refuse_syn_cookies(*pol, "bulwark-oci");
    }
    auto plan = process_plan(spec, spec.process, key, o.console_socket);
    auto hierarchies = host_hierarchies();
    auto cg = plan_cgroup(hierarchies, cgroup_relpath(spec.cgroups_path, o.id, g.systemd_cgroup),
                          spec.resources);

    // From here on the system changes: every failure undoes what was made.
    make_state_dir(g, o.id);
    write_file_atomic(dir_of(g, o.id) + "/config.json", config.dump(), 0600);
    State st;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = spec.root;
    st.annotations = spec.annotations;
    st.created = rfc3339(clock_ns(CLOCK_REALTIME));
    pid_t pid = -1;
    bool cgroup_made = false;
    try {
        auto fifo_path = dir_of(g, o.id) + "/exec.fifo";
        if (mkfifo(fifo_path.c_str(), 0622) != 0) throw_sys("mkfifo(" + fifo_path + ")");
        if (chmod(fifo_path.c_str(), 0622) != 0) throw_sys("chmod(" + fifo_path + ")");
        UniqueFd fifo(open(fifo_path.c_str(), O_PATH | O_CLOEXEC));
        if (!fifo) throw_sys("open(" + fifo_path + ")");
        cgroup_made = true;  // destroy_cgroup takes what is there, if anything
        create_cgroup(hierarchies, cg, spec.resources);
        st.cgroup = cg;

        InitArgs ia{&spec, &plan, -1, fifo.get(), {}, o.preserve_fds};
        std::vector<UniqueFd> ns_fds;
        int flags = 0;
        UniqueFd pid_join;
        for (auto& n : spec.namespaces) {
            if (n.path.empty()) {
                if (n.flag != CLONE_NEWCGROUP && n.flag != CLONE_NEWTIME) flags |= n.flag;
                continue;
            }
            UniqueFd fd(open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) throw_sys("open(namespace " + n.path + ")");
            if (n.flag == CLONE_NEWPID) {
                pid_join = std::move(fd);
                continue;
            }
            ia.joins.emplace_back(fd.get(), &n);
            ns_fds.push_back(std::move(fd));
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_sys("socketpair");
        UniqueFd parent_end(sv[0]), child_end(sv[1]);
        ia.sync = child_end.get();
        // A joined pid namespace applies to children made after setns, which is the init.
        if (pid_join && setns(pid_join.get(), CLONE_NEWPID) != 0)
            throw_sys("setns(pid namespace " + spec.find_namespace(CLONE_NEWPID)->path + ")");
        pid = namespaces::clone_child(flags);
        if (pid == 0) container_init(ia);
        child_end.reset();
        if (plan.proc.cpus_initial) set_affinity(pid, *plan.proc.cpus_initial);
        st.pid = pid;
        st.start_time = start_time_of(pid);
        add_process(cg, pid);
        run_hooks(spec.hooks.create_runtime, hook_state(st, "creating"), "createRuntime");
        if (write(parent_end.get(), "g", 1) != 1) throw_sys("write(sync)");
        auto warnings = await_ready(parent_end.get(), pid);
        if (!warnings.empty()) g.warn(warnings);
        for (auto& w : plan.filter ? plan.filter->warnings : std::vector<std::string>{})
            g.warn("seccomp: " + w);
        if (pol) {
            UniqueFd netns(
                open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
            if (!netns) throw_sys("open(container network namespace)");
            std::string iface;
            {
                // The guard goes on the first interface but lo: the one CNI or netavark made.
                InNetns in(netns.get());
                if (auto* ni = if_nameindex()) {
                    for (auto* i = ni; i->if_index; ++i)
                        if (std::string(i->if_name) != "lo" && iface.empty()) iface = i->if_name;
                    if_freenameindex(ni);
                }
            }
            if (iface.empty())
                throw InputError(std::string(kPolicyAnnotation) +
                                 ": the container has no network interface but lo");
            // A pod's annotations reach each of its containers too, and they join the network
            // namespace the sandbox's guard holds: they share it (a second attach was EEXIST,
            // and no container of a guarded pod started).
            if (auto owner = guard::guarding(iface, netns.get()); !owner.empty()) {
                g.warn(std::string(kPolicyAnnotation) + ": " + iface + " is guarded by \"" + owner +
                       "\" already (the namespace's owner): the container shares it");
            } else {
                guard::attach(*pol, iface, o.id, guard::Mode::Auto, netns.get());
                st.guard = o.id;
            }
        }
        run_hooks(spec.hooks.prestart, hook_state(st, "created"), "prestart");
        save_state(g, st);
        if (!o.pid_file.empty()) write_file_atomic(o.pid_file, std::to_string(pid), 0644);
        return pid;
    } catch (...) {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
        if (!st.guard.empty()) guard::detach(st.guard);
        if (cgroup_made) {
            try {
                destroy_cgroup(cg);
            } catch (...) {
            }
        }
        remove_state_dir(g, o.id);
        throw;
    }
}

void start(const Globals& g, const std::string& id) {
    auto s = load_state(g, id);
    if (s.status != "created") throw InputError("cannot start a container that is " + s.status);
    auto fifo_path = dir_of(g, id) + "/exec.fifo";
    auto pidfd = open_pidfd(s);
    UniqueFd fifo(open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) throw_sys("open(" + fifo_path + ")");
    // The init writes one byte once it sees a reader; it may die instead (killed while created).
    pollfd p[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    for (;;) {
        if (poll(p, pidfd ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            throw_sys("poll(exec.fifo)");
        }
        char c;
        if ((p[0].revents & POLLIN) && read(fifo.get(), &c, 1) == 1) break;
        if (!pidfd || (p[1].revents & POLLIN))
            throw InputError("container \"" + id + "\" ended before it started");
    }
    unlink(fifo_path.c_str());
    auto spec = created_spec(g, s);
    s.status = "running";
    // A failing poststart hook is a warning: the container runs on (runtime spec).
    run_hooks(spec.hooks.poststart, hook_state(s, "running"), "poststart", g.warn);
}

std::vector<State> list(const Globals& g) {
    std::vector<State> out;
    DIR* d = opendir(g.root.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        try {
            out.push_back(load_state(g, n));
        } catch (const std::exception&) {
            // A directory create is still filling has no state yet.
        }
    }
    closedir(d);
    return out;
}

void kill(const Globals& g, const std::string& id, int sig, bool all) {
    auto s = load_state(g, id);
    if (all && !s.cgroup.empty()) {
        for (auto pid : cgroup_pids(s.cgroup)) ::kill(pid, sig);
        return;
    }
    if (s.status == "stopped") throw InputError("container \"" + id + "\" is not running");
    auto fd = open_pidfd(s);
    if (!fd || syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) != 0)
        throw_sys("kill(" + id + ")");
}

void remove(const Globals& g, const std::string& id, bool force) {
    auto s = load_state(g, id);
    // The runtime spec: deleting a container that is not stopped is an error with no effect
    // (runc kills a created one; the spec's validation suite checks the spec's way).
    if (s.status != "stopped" && !force)
        throw InputError("cannot delete container \"" + id + "\" that is " + s.status +
                         " (use --force)");
    if (auto fd = open_pidfd(s)) {
        if (!s.cgroup.empty() && frozen(s.cgroup)) freeze(s.cgroup, false);
        syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
        wait_for_exit(fd.get());
    }
    if (!s.guard.empty()) guard::detach(s.guard);
    destroy_cgroup(s.cgroup);
    s.status = "stopped";
    try {
        auto spec = created_spec(g, s);
        // The spec says a failing poststop hook is logged and the delete goes on.
        run_hooks(spec.hooks.poststop, hook_state(s, "stopped"), "poststop", g.warn);
    } catch (const std::exception& e) {
        g.warn(e.what());  // the config create kept is gone or broken
    }
    remove_state_dir(g, id);
}

void pause(const Globals& g, const std::string& id, bool on) {
    auto s = load_state(g, id);
    if (on && s.status != "running") throw InputError("container \"" + id + "\" is not running");
    if (!on && s.status != "paused") throw InputError("container \"" + id + "\" is not paused");
    freeze(s.cgroup, on);
}

void update(const Globals& g, const std::string& id, const Resources& r) {
    auto s = load_state(g, id);
    if (s.status == "stopped") throw InputError("container \"" + id + "\" is stopped");
    auto h = host_hierarchies();
    auto need = plan_cgroup(h, "/", r);
    for (auto& [c, dir] : need.v1)
        if (!s.cgroup.v1.count(c) && c != "freezer" && c != "devices")
            throw InputError("update: the container's cgroup has no " + c + " controller");
    enable_unified(h, s.cgroup, r);
    apply_resources(s.cgroup, r);
}

std::vector<pid_t> processes(const Globals& g, const std::string& id) {
    auto s = load_state(g, id);
    if (s.cgroup.empty()) return s.status == "stopped" ? std::vector<pid_t>{} : std::vector{s.pid};
    return cgroup_pids(s.cgroup);
}

int exec(const Globals& g, const ExecOptions& o) {
    auto s = load_state(g, o.id);
    if (s.status != "running" && s.status != "created")
        throw InputError("cannot exec in a container that is " + s.status);
    auto spec = created_spec(g, s);
    Process proc;
    if (!o.process_file.empty()) {
        auto doc = load_json_file(o.process_file);
        Unknown unknown;
        proc = parse_process(JsonAt(doc, o.process_file), unknown);
        warn_unknown(g, o.process_file, unknown);
    } else {
        proc = spec.process;
        proc.args = o.args;
        proc.terminal = o.tty;
        if (proc.args.empty()) throw UsageError("exec: a command is required");
    }
    for (auto& e : o.env) proc.env.push_back(e);
    if (!o.cwd.empty()) proc.cwd = o.cwd;
    // The floor holds for what exec adds too: `podman exec --user root` into a hardened
    // container was a root process without no_new_privs.
    if (auto it = s.annotations.find(kHardenAnnotation);
        it != s.annotations.end() && it->second == "true") {
        auto v = harden_process(proc);
        if (!v.empty()) throw InputError("exec: org.bulwark.harden: " + v.front());
    }
    auto plan = process_plan(spec, proc, trust_key(g), o.console_socket);
    auto pidfd = open_pidfd(s);
    if (!pidfd) throw InputError("container \"" + o.id + "\" is not running");
    // The exec'd process becomes our grandchild; as a subreaper we get it back once its parent
    // (the one that joined the pid namespace) has gone, and can wait for it.
    if (!o.detach && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        throw_sys("prctl(PR_SET_CHILD_SUBREAPER)");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_sys("socketpair");
    UniqueFd parent_end(sv[0]), child_end(sv[1]);
    pid_t joiner = fork();
    if (joiner < 0) throw_sys("fork");
    if (joiner == 0) {
        try {
            parent_end.reset();
            int ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
                     CLONE_NEWCGROUP;
            // Only where the container has one: kernels without CONFIG_TIME_NS refuse the flag.
            if (spec.has_namespace(CLONE_NEWTIME)) ns |= CLONE_NEWTIME;
            if (plan.proc.cpus_initial) set_affinity(0, *plan.proc.cpus_initial);
            if (!s.cgroup.empty()) add_process(s.cgroup, getpid());
            if (!plan.console_socket.empty()) plan.console = connect_console(plan.console_socket);
            if (setns(pidfd.get(), ns) != 0) throw_sys("setns(container " + o.id + ")");
            pid_t pid = fork();
            if (pid < 0) throw_sys("fork");
            if (pid == 0) {
                default_signal_handlers();
                if (setsid() < 0) throw_sys("setsid");
                auto warnings = prepare_process(plan);
                send_sync(child_end.get(), warnings.empty() ? "ok" : "ok " + warnings);
                syscall(SYS_close_range, 3 + o.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
                exec_process(plan);
            }
            // Our pid view is the host's: the pid the caller needs.
            send_sync(child_end.get(), "pid " + std::to_string(pid));
            _exit(0);
        } catch (const std::exception& e) {
            send_sync(child_end.get(), e.what());
            _exit(1);
        }
    }
    child_end.reset();
    pid_t pid = -1;
    std::string err;
    for (int i = 0; i < 2; ++i) {
        SyncMsg m;
        if (recv(parent_end.get(), &m, sizeof m, 0) != static_cast<ssize_t>(sizeof m)) break;
        std::string t(m.text, strnlen(m.text, sizeof m.text));
        if (t.rfind("pid ", 0) == 0)
            pid = std::stoi(t.substr(4));
        else if (t.rfind("ok ", 0) == 0)
            g.warn(t.substr(3));
        else if (t != "ok")
            err = t;
        if (!err.empty()) break;
    }
    waitpid(joiner, nullptr, 0);
    if (!err.empty()) throw std::runtime_error(err);
    if (pid <= 0) throw std::runtime_error("exec: the process ended before it was ready");
    if (!o.pid_file.empty()) write_file_atomic(o.pid_file, std::to_string(pid), 0644);
    if (o.detach) return 0;
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) throw_sys("waitpid");
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int run(const Globals& g, const CreateOptions& o, bool detach) {
    pid_t pid = create(g, o);
    try {
        start(g, o.id);
    } catch (...) {
        remove(g, o.id, true);
        throw;
    }
    if (detach) return 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_sys("waitpid");
    remove(g, o.id, true);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace bulwark::oci
