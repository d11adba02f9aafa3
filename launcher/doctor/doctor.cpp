#include "doctor/doctor.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/openssl.hpp"
#include "core/sys.hpp"
#include "guard/pins.hpp"
#include "sandbox/cgroups.hpp"

namespace bulwark::doctor {

namespace {

Check ok(std::string id, std::string what, std::string needed) {
    return {std::move(id), std::move(what), Status::Ok, "", std::move(needed)};
}
Check bad(std::string id, Status s, std::string what, std::string fix, std::string needed) {
    return {std::move(id), std::move(what), s, std::move(fix), std::move(needed)};
}

std::string errno_text(int e) {
    return std::strerror(e);
}

Check kernel() {
    utsname u{};
    uname(&u);
    unsigned major = 0, minor = 0;
    std::sscanf(u.release, "%u.%u", &major, &minor);
    std::string what = std::string("Linux ") + u.release;
    // bpf_loop (5.17) scans requests in the guard; clone3 into a cgroup (5.7), pidfd (5.3).
    if (major > 5 || (major == 5 && minor >= 17)) return ok("kernel", what, "run, xdp attach");
    return bad("kernel", Status::Missing, what + ": older than 5.17",
               "a 5.17+ kernel (Debian 12's 6.1 is tested)", "xdp attach");
}

Check btf() {
    if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
        return ok("btf", "/sys/kernel/btf/vmlinux present", "");
    return bad("btf", Status::Missing, "no kernel BTF (/sys/kernel/btf/vmlinux)",
               "CONFIG_DEBUG_INFO_BTF=y; bulwark's program does not need it, bpftool's "
               "inspection of its maps reads better with it",
               "");
}

// Not mounted is not missing: `xdp attach` mounts it where the kernel has it (guard/pins.cpp),
// as it must on a machine whose PID 1 is not systemd, until the first attach.
Check bpffs() {
    if (guard::bpffs_mounted()) return ok("bpffs", "bpf filesystem at /sys/fs/bpf", "xdp attach");
    std::ifstream fs("/proc/filesystems");
    bool known = false;
    for (std::string line; std::getline(fs, line);) known = known || line == "nodev\tbpf";
    struct stat dir {};
    if (known && stat("/sys/fs/bpf", &dir) == 0 && S_ISDIR(dir.st_mode))
        return ok("bpffs", "bpf filesystem not mounted yet: xdp attach mounts it at /sys/fs/bpf",
                  "xdp attach");
    return bad("bpffs", Status::Missing,
               "/sys/fs/bpf is not a bpf filesystem and the kernel has none to mount",
               "CONFIG_BPF_SYSCALL=y (the bpf filesystem comes with it)", "xdp attach");
}

// A two-instruction XDP program: loads and runs it through BPF_PROG_TEST_RUN.
Check test_run() {
    bpf_insn prog[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2 /* XDP_PASS */},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    UniqueFd fd(bpf_prog_load(BPF_PROG_TYPE_XDP, "bw_doctor", "GPL", prog, 2, nullptr));
    if (!fd)
        return bad("bpf-test-run", Status::Missing,
                   "loading an XDP program failed: " + errno_text(errno),
                   "run as root (CAP_BPF and CAP_NET_ADMIN), with unprivileged BPF off it needs "
                   "them; a seccomp filter may refuse bpf(2)",
                   "xdp attach");
    unsigned char pkt[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof pkt);
    if (bpf_prog_test_run_opts(fd.get(), &opts) != 0 || opts.retval != 2)
        return bad("bpf-test-run", Status::Missing,
                   "BPF_PROG_TEST_RUN failed: " + errno_text(errno), "Linux 4.12+", "policy test");
    return ok("bpf-test-run", "XDP programs load and run under BPF_PROG_TEST_RUN",
              "xdp attach, policy test");
}

Check bpf_loop() {
    int r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_loop, nullptr);
    if (r == 1) return ok("bpf-loop", "bpf_loop helper available", "xdp attach");
    return bad("bpf-loop", Status::Missing,
               r == 0 ? "no bpf_loop helper" : "probing bpf_loop failed: " + errno_text(-r),
               "Linux 5.17+: the guard scans requests with bpf_loop", "xdp attach");
}

Check ringbuf() {
    int r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
    if (r == 1) return ok("ringbuf", "BPF ring buffer available", "xdp attach");
    return bad("ringbuf", Status::Missing,
               r == 0 ? "no BPF ring buffer" : "probing the ring buffer failed: " + errno_text(-r),
               "Linux 5.8+: the guard reports events through one", "xdp attach");
}

// The netdev generic netlink family (Linux 6.3+, include/uapi/linux/netdev.h; Debian 12's
// kernel headers predate it): NETDEV_CMD_DEV_GET on an ifindex answers the driver's XDP
// features, the kernel's own word on native XDP.
constexpr uint8_t kNetdevCmdDevGet = 1;
constexpr int kNetdevAttrIfindex = 1;
constexpr int kNetdevAttrXdpFeatures = 3;
constexpr int kNetdevAttrMax = 3;
constexpr const char* kXdpActNames[] = {"basic",      "redirect", "ndo-xmit",   "xsk-zerocopy",
                                        "hw-offload", "rx-sg",    "ndo-xmit-sg"};
constexpr uint64_t kXdpActBasic = 1;  // NETDEV_XDP_ACT_BASIC: XDP_PASS/DROP/TX/ABORTED natively

using NlSock = Handle<nl_sock, nl_socket_free>;
using NlMsg = Handle<nl_msg, nlmsg_free>;

int parse_xdp_features(nl_msg* msg, void* arg) {
    nlattr* tb[kNetdevAttrMax + 1] = {};
    if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, kNetdevAttrMax, nullptr) == 0 &&
        tb[kNetdevAttrXdpFeatures])
        *static_cast<std::optional<uint64_t>*>(arg) = nla_get_u64(tb[kNetdevAttrXdpFeatures]);
    return NL_OK;
}

// The interface's XDP features, or nothing when the kernel has no netdev family (before 6.3)
// or does not answer.
std::optional<uint64_t> xdp_features(unsigned ifindex) {
    NlSock s(nl_socket_alloc());
    if (!s || genl_connect(s.get()) < 0) return std::nullopt;
    int family = genl_ctrl_resolve(s.get(), "netdev");
    if (family < 0) return std::nullopt;
    NlMsg m(nlmsg_alloc());
    if (!m || !genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, kNetdevCmdDevGet, 1) ||
        nla_put_u32(m.get(), kNetdevAttrIfindex, ifindex) < 0)
        return std::nullopt;
    std::optional<uint64_t> features;
    if (nl_socket_modify_cb(s.get(), NL_CB_VALID, NL_CB_CUSTOM, parse_xdp_features, &features) <
            0 ||
        nl_send_auto(s.get(), m.get()) < 0 || nl_recvmsgs_default(s.get()) < 0)
        return std::nullopt;
    return features;
}

std::string xdp_feature_names(uint64_t f) {
    std::string out;
    for (size_t i = 0; i < std::size(kXdpActNames); ++i)
        if (f & (1ull << i)) out += (out.empty() ? "" : ", ") + std::string(kXdpActNames[i]);
    return out.empty() ? "none" : out;
}

Check xdp_driver(const std::string& iface) {
    unsigned ifindex = if_nametoindex(iface.c_str());
    if (ifindex == 0)
        return bad("xdp-driver", Status::Missing, "interface " + iface + ": " + errno_text(errno),
                   "name an existing interface", "xdp attach");
    // The driver's name, for the message and the list below; virtual devices such as lo have
    // none to give (EOPNOTSUPP).
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifreq ifr{};
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    std::string drv = ifreq_ioctl(iface, SIOCETHTOOL, ifr) == 0 ? info.driver : "unknown";
    if (auto f = xdp_features(ifindex)) {
        auto what =
            iface + ": driver " + drv + ", the kernel's xdp-features: " + xdp_feature_names(*f);
        if (*f & kXdpActBasic) return ok("xdp-driver", what + " (native XDP)", "xdp attach");
        return bad("xdp-driver", Status::Degraded, what,
                   "`--mode auto` uses generic XDP here (after the kernel's allocation of an skb: "
                   "several times the cost per packet); a driver with native XDP avoids that",
                   "xdp attach at full speed");
    }
    // Before Linux 6.3 the kernel cannot say. Drivers with native XDP in every kernel bulwark
    // supports; others may have it too, which only an attach can tell, and `--mode auto` falls
    // back to generic (skb) mode.
    const char* native[] = {"veth",      "virtio_net",  "ixgbe",   "i40e", "ice",
                            "mlx5_core", "mlx4_en",     "bnxt_en", "nfp",  "igb",
                            "igc",       "ena",         "tun",     "qede", "sfc",
                            "stmmaceth", "xen-netfront"};
    for (auto n : native)
        if (drv == n)
            return ok("xdp-driver",
                      iface + ": driver " + drv +
                          ", native XDP (known driver; no xdp-features "
                          "before Linux 6.3)",
                      "xdp attach");
    return bad("xdp-driver", Status::Degraded,
               iface + ": driver " + drv + ", native XDP not known for it",
               "`bulwark xdp attach --mode native` tells; `--mode auto` uses generic XDP (after "
               "the kernel's allocation of an skb: several times the cost per packet)",
               "xdp attach at full speed");
}

Check seccomp_filter() {
    if (prctl(PR_GET_SECCOMP) < 0 && errno == EINVAL)
        return bad("seccomp", Status::Missing, "no seccomp (CONFIG_SECCOMP)",
                   "a kernel with CONFIG_SECCOMP_FILTER", "run");
    return ok("seccomp", "seccomp filters", "run");
}

Check user_notif() {
    uint32_t action = SECCOMP_RET_USER_NOTIF;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0)
        return ok("seccomp-user-notif", "SECCOMP_RET_USER_NOTIF available",
                  "run --learn, check profile");
    return bad("seccomp-user-notif", Status::Missing,
               "SECCOMP_RET_USER_NOTIF: " + errno_text(errno),
               "Linux 5.5+ (learning profiles and counting allowed calls need it)",
               "run --learn, check profile");
}

Check own_filter() {
    auto status = read_file_or_empty("/proc/self/status");
    auto pos = status.find("\nSeccomp:");
    int mode = pos == std::string::npos ? 0 : std::atoi(status.c_str() + pos + 9);
    if (mode == 0) return ok("own-seccomp", "no seccomp filter applies to bulwark itself", "");
    return bad("own-seccomp", Status::Degraded,
               "a seccomp filter applies to bulwark itself (mode " + std::to_string(mode) +
                   "): a hardened unit's SystemCallFilter= and the like bind the app too",
               "widen the unit's filter with `systemctl edit` if the app needs more", "");
}

Check openat2() {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT;
    UniqueFd fd(static_cast<int>(syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how)));
    if (fd) return ok("openat2", "openat2 with RESOLVE_IN_ROOT", "");
    return bad("openat2", Status::Degraded,
               std::string("openat2 ") + (errno == ENOSYS ? "missing or filtered (ENOSYS)"
                                                          : "refused: " + errno_text(errno)),
               "none needed: bulwark resolves rootfs paths by its own walk then", "");
}

// int 0x80 in a child: a kernel without ia32 emulation answers with SIGSEGV. The child
// restores the default action first: a handler it inherits (AddressSanitizer's, in the ASan
// build) would turn the signal into an ordinary exit, and the entry point would read as open.
Check int80() {
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGSEGV, &dfl, nullptr);
        sigaction(SIGILL, &dfl, nullptr);
        long ret;
        asm volatile("int $0x80" : "=a"(ret) : "a"(20L) /* ia32 getpid */ : "memory");
        _exit(ret > 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        return bad("int80", Status::Missing,
                   "the 32-bit int 0x80 entry point is closed (ia32 emulation off)",
                   "none needed: no call can come through it, so no filter has to catch one", "");
    return ok("int80",
              "the 32-bit int 0x80 entry point is open: profiles deny i386 calls (the "
              "filter checks the architecture)",
              "");
}

Check landlock() {
    long v = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (v > 0) return ok("landlock", "Landlock ABI " + std::to_string(v), "");
    return bad("landlock", Status::Missing, "no Landlock: " + errno_text(errno),
               "lsm=landlock on the kernel command line (bulwark does not use it yet)", "");
}

Check namespaces() {
    std::string missing;
    for (auto ns : {"mnt", "pid", "net", "ipc", "uts", "cgroup"})
        if (access((std::string("/proc/self/ns/") + ns).c_str(), F_OK) != 0)
            missing += std::string(missing.empty() ? "" : ", ") + ns;
    if (missing.empty()) return ok("namespaces", "mount, pid, net, ipc, uts, cgroup", "run");
    return bad("namespaces", Status::Missing, "namespaces missing: " + missing,
               "a kernel with CONFIG_NAMESPACES and each of them", "run");
}

Check user_namespaces() {
    auto n = read_file_or_empty("/proc/sys/user/max_user_namespaces");
    if (std::atol(n.c_str()) > 0) return ok("user-namespaces", "user namespaces enabled", "");
    return bad("user-namespaces", Status::Missing, "user namespaces disabled",
               "none needed: bulwark and bulwark-oci run rootful", "");
}

Check cgroup_controllers() {
    cgroups::Limits all{1, 1, 1000};
    cgroups::Place where;
    std::string why;
    try {
        why = cgroups::unavailable(all, &where);
    } catch (const std::exception& e) {
        why = e.what();
    }
    if (why.empty())
        return ok("cgroup-controllers", "cgroup v2 with memory, pids and cpu at " + where.base,
                  "run --memory/--pids/--cpus");
    return bad("cgroup-controllers", Status::Missing, why,
               "boot with systemd.unified_cgroup_hierarchy=1 (pure cgroup v2), or run bulwark in "
               "a delegated cgroup (Delegate=yes)",
               "run --memory/--pids/--cpus");
}

Check pidfd() {
    UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)));
    if (fd) return ok("pidfd", "pidfd_open", "run");
    return bad("pidfd", Status::Missing, "pidfd_open: " + errno_text(errno), "Linux 5.3+", "run");
}

Check capabilities() {
    Handle<_cap_struct, cap_free> c(cap_get_proc());
    auto has = [&](cap_value_t v) {
        cap_flag_value_t f = CAP_CLEAR;
        return c && cap_get_flag(c.get(), v, CAP_EFFECTIVE, &f) == 0 && f == CAP_SET;
    };
    std::string missing;
    for (auto [v, name] : {std::pair{CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
                           {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
                           {CAP_SETUID, "CAP_SETUID"},
                           {CAP_SETGID, "CAP_SETGID"},
                           {CAP_SYS_CHROOT, "CAP_SYS_CHROOT"}})
        if (!has(v)) missing += std::string(missing.empty() ? "" : ", ") + name;
    if (!missing.empty())
        return bad("capabilities", Status::Missing, "not held: " + missing,
                   "run bulwark as root with a full capability set", "run, xdp attach");
    return ok("capabilities", "CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID/SETGID, CAP_SYS_CHROOT",
              "run, xdp attach");
}

Check cap_sys_resource() {
    Handle<_cap_struct, cap_free> c(cap_get_proc());
    cap_flag_value_t f = CAP_CLEAR;
    if (c && cap_get_flag(c.get(), CAP_SYS_RESOURCE, CAP_EFFECTIVE, &f) == 0 && f == CAP_SET)
        return ok("cap-sys-resource", "CAP_SYS_RESOURCE held", "");
    return bad("cap-sys-resource", Status::Degraded,
               "CAP_SYS_RESOURCE not held: rlimits can only be lowered, and bulwark-oci lowers a "
               "spec's higher limits to the hard ones it has",
               "grant CAP_SYS_RESOURCE (a container or VM may withhold it from root)", "");
}

Check systemd() {
    auto comm = read_file_or_empty("/proc/1/comm");
    if (comm == "systemd\n") return ok("systemd", "systemd is PID 1", "");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    return bad("systemd", Status::Degraded,
               "PID 1 is " + (comm.empty() ? std::string("unknown") : comm) + ", not systemd",
               "bulwark@.service needs systemd; `bulwark run` works without it", "");
}

// EVP is dlopen()ed (core/openssl.hpp), so its absence shows only when a key or HMAC is used.
Check libcrypto() {
    try {
        Libcrypto c;
        return ok("libcrypto", "libcrypto.so.3 loads: Ed25519 signatures and the audit HMAC work",
                  "");
    } catch (const InputError& e) {
        return bad("libcrypto", Status::Degraded, e.what(),
                   "install libssl3 (a plain `run` works without it; --trust-key, --audit-key, "
                   "sign and verify refuse)",
                   "");
    }
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
        case Status::Ok:
            return "ok";
        case Status::Degraded:
            return "degraded";
        case Status::Missing:
            return "missing";
    }
    return "?";
}

namespace {

using Probe = Check (*)();
// Every probe that needs no option, by the id it reports; the BPF ones need root.
const std::vector<std::pair<const char*, Probe>>& probes() {
    static const std::vector<std::pair<const char*, Probe>> all = {
        {"kernel", kernel},
        {"btf", btf},
        {"bpffs", bpffs},
        {"bpf-test-run", test_run},
        {"bpf-loop", bpf_loop},
        {"ringbuf", ringbuf},
        {"seccomp", seccomp_filter},
        {"seccomp-user-notif", user_notif},
        {"own-seccomp", own_filter},
        {"openat2", openat2},
        {"int80", int80},
        {"landlock", landlock},
        {"namespaces", namespaces},
        {"user-namespaces", user_namespaces},
        {"cgroup-controllers", cgroup_controllers},
        {"pidfd", pidfd},
        {"capabilities", capabilities},
        {"cap-sys-resource", cap_sys_resource},
        {"systemd", systemd},
        {"libcrypto", libcrypto},
    };
    return all;
}

bool needs_root(const std::string& id) {
    return id == "bpf-test-run" || id == "bpf-loop" || id == "ringbuf";
}

}  // namespace

std::vector<Check> probe(const Options& o) {
    std::vector<Check> c;
    bool root = geteuid() == 0;
    if (!root)
        c.push_back(bad("root", Status::Missing, "not root: the BPF probes were skipped",
                        "run `bulwark doctor` as root", "run, xdp attach"));
    for (auto& [id, fn] : probes()) {
        if (needs_root(id) && !root) continue;
        c.push_back(fn());
        if (std::string(id) == "ringbuf" && !o.iface.empty()) c.push_back(xdp_driver(o.iface));
    }
    if (!root && !o.iface.empty()) c.push_back(xdp_driver(o.iface));
    return c;
}

Check probe_one(const std::string& id) {
    for (auto& [name, fn] : probes())
        if (id == name) return fn();
    throw InputError("no doctor check \"" + id + "\"");
}

int exit_code(const std::vector<Check>& checks) {
    for (auto& c : checks)
        if (c.status != Status::Ok && !c.needed.empty()) return 1;
    return 0;
}

std::string table(const std::vector<Check>& checks) {
    std::ostringstream out;
    for (auto& c : checks) {
        char line[64];
        std::snprintf(line, sizeof line, "%-9s %-20s ", status_name(c.status), c.id.c_str());
        out << line << c.what << "\n";
        if (c.status != Status::Ok) {
            if (!c.needed.empty()) out << std::string(31, ' ') << "needed by: " << c.needed << "\n";
            out << std::string(31, ' ') << "fix: " << c.fix << "\n";
        }
    }
    out << (exit_code(checks) == 0 ? "run and xdp attach can work fully here\n"
                                   : "something run or xdp attach needs is degraded or missing\n");
    return out.str();
}

Json to_json(const std::vector<Check>& checks) {
    Json arr = Json::array();
    for (auto& c : checks)
        arr.push_back({{"id", c.id},
                       {"status", status_name(c.status)},
                       {"what", c.what},
                       {"fix", c.fix},
                       {"needed_by", c.needed}});
    return Json{{"checks", arr}, {"ok", exit_code(checks) == 0}};
}

}  // namespace bulwark::doctor
