#include "sandbox/mounts.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace bulwark::mounts {

const std::vector<const char*> kMaskedProcPaths = {
    "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",          "/proc/interrupts" /* leaks host IRQ/CPU layout */};
const std::vector<const char*> kReadOnlyProcPaths = {"/proc/bus", "/proc/fs", "/proc/irq",
                                                     "/proc/sys", "/proc/sysrq-trigger"};

namespace {

constexpr unsigned long kSafe = MS_NOSUID | MS_NODEV | MS_NOEXEC;

void do_mount(const std::string& src, const std::string& target, const char* type,
              unsigned long flags, const std::string& data, const std::string& what) {
    if (mount(src.empty() ? nullptr : src.c_str(), target.c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) != 0)
        throw_sys("mount(" + what + " on " + target + ")");
}

// mkdir -p. Runs after pivot_root, so symlinks in the rootfs resolve inside it, never on the host.
void make_dirs(const std::string& path) {
    for (size_t pos = 1; pos <= path.size(); ++pos) {
        if (pos != path.size() && path[pos] != '/') continue;
        auto part = path.substr(0, pos);
        if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("mkdir(" + part + ")");
    }
}

void make_file(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash > 0) make_dirs(path.substr(0, slash));
    UniqueFd fd(open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd && errno != EISDIR) throw_sys("create mount point " + path);
}

// A detached copy of a host mount, taken before pivot_root and attached after it: once the old
// root is gone, the host path no longer resolves, but the clone lives on in its fd.
UniqueFd clone_tree(const std::string& src, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    UniqueFd fd(static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, src.c_str(), flags)));
    if (!fd) throw_sys("open_tree(" + src + ")");
    return fd;
}

void attach_tree(const UniqueFd& tree, const std::string& target, const std::string& what) {
    if (syscall(SYS_move_mount, tree.get(), "", AT_FDCWD, target.c_str(),
                MOVE_MOUNT_F_EMPTY_PATH) != 0)
        throw_sys("move_mount(" + what + " on " + target + ")");
}

constexpr unsigned long kRoNoSuidNoDev = MS_RDONLY | MS_NOSUID | MS_NODEV;

std::string tmpfs_data(uint64_t size, const char* mode) {
    return "size=" + std::to_string(size) + ",mode=" + mode;
}

// Any process in the sandbox may send to it (0666): the sandbox is one service, and systemd
// hears only what the supervisor passes on.
UniqueFd bind_notify_socket(const std::string& path) {
    UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) throw_sys("socket(notify)");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw SysError("bind(" + path + ")", ENAMETOOLONG);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw_sys("bind(" + path + ")");
    if (chmod(path.c_str(), 0666) != 0) throw_sys("chmod(" + path + ")");
    return fd;
}

UniqueFd setup_dev(const std::vector<std::pair<const char*, UniqueFd>>& nodes,
                   const std::string& notify_socket) {
    make_dirs("/dev");
    do_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, tmpfs_data(1 << 20, "755"), "tmpfs");
    for (auto& [name, fd] : nodes) {
        std::string path = std::string("/dev/") + name;
        make_file(path);
        attach_tree(fd, path, "/dev/" + std::string(name));
        remount(path, MS_NOSUID | MS_NOEXEC);  // a device node: not nodev
    }
    make_dirs("/dev/pts");
    do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=0620", "devpts");
    make_dirs("/dev/shm");
    do_mount("tmpfs", "/dev/shm", "tmpfs", kSafe, tmpfs_data(64 << 20, "1777"), "tmpfs");
    const std::pair<const char*, const char*> links[] = {{"pts/ptmx", "/dev/ptmx"},
                                                         {"/proc/self/fd", "/dev/fd"},
                                                         {"/proc/self/fd/0", "/dev/stdin"},
                                                         {"/proc/self/fd/1", "/dev/stdout"},
                                                         {"/proc/self/fd/2", "/dev/stderr"}};
    for (auto [target, link] : links)
        if (symlink(target, link) != 0) throw_sys(std::string("symlink(") + link + ")");
    UniqueFd notify;
    if (!notify_socket.empty()) notify = bind_notify_socket(notify_socket);
    // Nothing in /dev should change after this: new device files there would be an escape route.
    remount("/dev", kRoNoSuidNoDev | MS_NOEXEC);
    return notify;
}

void mask_proc() {
    for (auto path : kMaskedProcPaths) {
        struct stat st {};
        if (lstat(path, &st) != 0) {
            if (errno == ENOENT) continue;
            throw_sys(std::string("lstat(") + path + ")");
        }
        if (S_ISDIR(st.st_mode)) {
            do_mount("tmpfs", path, "tmpfs", kSafe | MS_RDONLY, "size=0", "masking tmpfs");
        } else {
            do_mount("/dev/null", path, nullptr, MS_BIND, "", "mask /dev/null");
            remount(path, MS_RDONLY | MS_NOSUID | MS_NOEXEC);  // reads give EOF, as in runc
        }
    }
    for (auto path : kReadOnlyProcPaths) {
        if (access(path, F_OK) != 0) continue;
        do_mount(path, path, nullptr, MS_BIND | MS_REC, "", "bind");
        remount(path, kRoNoSuidNoDev | MS_NOEXEC);
    }
}

}  // namespace

// Remounts a bind mount with `flags`, keeping flags it already carries (such as noexec on the
// source) so a remount never weakens it.
void remount(const std::string& target, unsigned long flags) {
    struct statvfs sv {};
    if (statvfs(target.c_str(), &sv) != 0) throw_sys("statvfs(" + target + ")");
    unsigned long keep = 0;
    if (sv.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
    if (sv.f_flag & ST_NOSUID) keep |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) keep |= MS_NODEV;
    if (sv.f_flag & ST_NOATIME) keep |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) keep |= MS_RELATIME;
    do_mount("", target, nullptr, MS_REMOUNT | MS_BIND | flags | keep, "",
             (flags & MS_RDONLY) ? "read-only remount" : "remount");
}

UniqueFd setup(const Plan& plan) {
    // Nothing below may propagate back to the host's mount table.
    do_mount("", "/", nullptr, MS_REC | MS_PRIVATE, "", "private propagation");
    // Not MS_REC: mounts below the rootfs on the host stay out of the sandbox (use --bind).
    do_mount(plan.rootfs, plan.rootfs, nullptr, MS_BIND, "", "bind rootfs");

    // Open every host-side source now; after pivot_root they are reachable only through fds.
    std::vector<std::pair<const char*, UniqueFd>> nodes;
    for (auto name : {"null", "zero", "full", "random", "urandom", "tty"}) {
        std::string p = std::string("/dev/") + name;
        nodes.emplace_back(name, clone_tree(p, false));
    }
    std::vector<UniqueFd> bind_src;
    for (auto& b : plan.binds) bind_src.push_back(clone_tree(b.src, true));

    if (chdir(plan.rootfs.c_str()) != 0) throw_sys("chdir(" + plan.rootfs + ")");
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
    // the rootfs, with no put_old directory needed inside it.
    if (syscall(SYS_pivot_root, ".", ".") != 0) throw_sys("pivot_root(" + plan.rootfs + ")");
    if (umount2(".", MNT_DETACH) != 0) throw_sys("umount2(old root)");
    if (chdir("/") != 0) throw_sys("chdir(/)");

    make_dirs("/proc");
    do_mount("proc", "/proc", "proc", kSafe, "", "proc");
    auto notify = setup_dev(nodes, plan.notify_socket);

    for (auto& t : plan.tmpfs) {
        make_dirs(t.path);
        do_mount("tmpfs", t.path, "tmpfs", kSafe, tmpfs_data(t.size_bytes, "1777"), "tmpfs");
    }
    for (size_t i = 0; i < plan.binds.size(); ++i) {
        auto& b = plan.binds[i];
        struct stat st {};
        if (fstat(bind_src[i].get(), &st) != 0) throw_sys("fstat(" + b.src + ")");
        if (S_ISDIR(st.st_mode))
            make_dirs(b.dst);
        else
            make_file(b.dst);
        attach_tree(bind_src[i], b.dst, "bind " + b.src);
        remount(b.dst, MS_NOSUID | MS_NODEV | (b.rw ? 0 : MS_RDONLY));
    }
    remount("/", kRoNoSuidNoDev);
    mask_proc();
    if (chdir(plan.workdir.c_str()) != 0) throw_sys("chdir(" + plan.workdir + ")");
    return notify;
}

}  // namespace bulwark::mounts
