#include "sandbox/namespaces.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"

namespace bulwark::namespaces {

int clone_flags(NetMode net) {
    int f = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    if (net != NetMode::Host) f |= CLONE_NEWNET;
    return f;
}

void enter_new_time_namespace(const TimeOffsets& o) {
    if (unshare(CLONE_NEWTIME) != 0) throw_sys("unshare(CLONE_NEWTIME)");
    auto line = [](const char* clock, const ClockOffset& c) {
        return std::string(clock) + " " + std::to_string(c.secs) + " " +
               std::to_string(c.nanosecs) + "\n";
    };
    // One write: the kernel takes the lines of one write together, and only before the first
    // process enters.
    auto text = line("monotonic", o.monotonic) + line("boottime", o.boottime);
    UniqueFd f(open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
    if (!f) throw_sys("open(/proc/self/timens_offsets)");
    if (write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw_sys("write(/proc/self/timens_offsets)");
    UniqueFd ns(open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!ns) throw_sys("open(/proc/self/ns/time_for_children)");
    if (setns(ns.get(), CLONE_NEWTIME) != 0) throw_sys("setns(new time namespace)");
}

pid_t clone_child(int flags, int cgroup_fd) {
    clone_args args{};
    args.flags = static_cast<uint32_t>(flags);
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(cgroup_fd);
    }
    long pid = syscall(SYS_clone3, &args, sizeof args);
    // Kernels before 5.3 have no clone3; plain clone does when no cgroup is asked for.
    if (pid < 0 && errno == ENOSYS && cgroup_fd < 0)
        pid = syscall(SYS_clone, static_cast<unsigned long>(flags) | SIGCHLD, nullptr, nullptr,
                      nullptr, nullptr);
    if (pid < 0 && cgroup_fd >= 0 && (errno == ENOSYS || errno == E2BIG))
        throw SysError("clone3(new namespaces, into cgroup): resource limits need Linux 5.7+",
                       errno);
    if (pid < 0) throw_sys("clone3(new namespaces)");
    return static_cast<pid_t>(pid);
}

void set_hostname(const std::string& name) {
    if (sethostname(name.data(), name.size()) != 0) throw_sys("sethostname(" + name + ")");
}

void set_domainname(const std::string& name) {
    if (setdomainname(name.data(), name.size()) != 0) throw_sys("setdomainname(" + name + ")");
}

void loopback_up() {
    UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) throw_sys("socket(AF_INET) for lo");
    ifreq ifr{};
    if (int err = ifreq_ioctl(s.get(), "lo", SIOCGIFFLAGS, ifr))
        throw SysError("ioctl(SIOCGIFFLAGS, lo)", err);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (int err = ifreq_ioctl(s.get(), "lo", SIOCSIFFLAGS, ifr))
        throw SysError("ioctl(SIOCSIFFLAGS, lo up)", err);
}

}  // namespace bulwark::namespaces
