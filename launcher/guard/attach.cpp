#include "guard/attach.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/sys.hpp"
#include "guard/pins.hpp"
#include "guard/program.hpp"
#include "guard/synproxy.hpp"

namespace bulwark::guard {

namespace {

// Closes over the pin directory (and the SYNPROXY table, once loaded) until disarmed: a failed
// attach leaves nothing behind.
struct PinGuard {
    std::string dir;
    std::string table;
    bool armed = true;
    ~PinGuard() {
        if (!armed) return;
        if (!table.empty()) unload_synproxy(table);
        remove_pins(dir);
    }
};

// The interface's driver (ETHTOOL_GDRVINFO), this namespace; "" when it will not say.
std::string driver_of(const std::string& iface) {
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifreq ifr{};
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    if (ifreq_ioctl(iface, SIOCETHTOOL, ifr) != 0) return "";
    return std::string(info.driver, strnlen(info.driver, sizeof info.driver));
}

// The last number in a /proc/sys file (tcp_rmem: min, default, max).
uint64_t sysctl_last(const char* path) {
    std::ifstream f(path);
    std::vector<uint64_t> v;
    for (uint64_t x; f >> x;) v.push_back(x);
    if (v.empty()) throw std::runtime_error(std::string("read ") + path + ": no number");
    return v.back();
}

}  // namespace

uint64_t ports_digest(std::vector<uint16_t> ports) {
    std::sort(ports.begin(), ports.end());
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (auto p : ports)
        for (auto byte : {p >> 8, p & 0xff})
            h = (h ^ static_cast<uint64_t>(byte)) * 1099511628211ULL;
    return h;
}

unsigned wscale_for(uint64_t rmem_max) {
    unsigned log = 0;
    while (log < 63 && (rmem_max >> (log + 1))) ++log;
    return log < 15 ? 0 : std::min(log - 15, 14u);
}

uint64_t read_rmem_max() {
    return sysctl_last("/proc/sys/net/core/rmem_max");
}

unsigned listener_wscale(uint64_t rmem_max) {
    return wscale_for(std::max(sysctl_last("/proc/sys/net/ipv4/tcp_rmem"), rmem_max));
}

Mode parse_mode(const std::string& s) {
    if (s == "native") return Mode::Native;
    if (s == "skb") return Mode::Skb;
    if (s == "auto") return Mode::Auto;
    throw InputError("--mode " + s + ": expected native, skb or auto");
}

std::string guarding(const std::string& iface, int netns_fd) {
    uint32_t prog_id = 0;
    {
        std::optional<InNetns> in;
        if (netns_fd >= 0) in.emplace(netns_fd);
        unsigned ifindex = if_nametoindex(iface.c_str());
        LIBBPF_OPTS(bpf_xdp_query_opts, q);
        if (ifindex == 0 || bpf_xdp_query(static_cast<int>(ifindex), 0, &q) != 0) return "";
        prog_id = q.prog_id;
    }
    if (prog_id == 0) return "";
    // Program IDs are the kernel's, whatever the namespace: the pinned link that holds this one.
    for (auto& name : instances()) {
        UniqueFd link(bpf_obj_get((pin_dir(name) + "/" BW_PIN_LINK).c_str()));
        bpf_link_info info{};
        uint32_t len = sizeof info;
        if (link && bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 && info.prog_id == prog_id)
            return name;
    }
    return "";
}

std::string attach(const policy::Policy& p, const std::string& iface, const std::string& name,
                   Mode mode, int netns_fd, bool verbose) {
    validate_name(name);
    bool cookies = p.syn_flood.cookies != policy::SynFlood::Cookies::Off;
    // Global, and on kernels before 6.x not under /proc/sys of other network namespaces.
    uint64_t rmem_max = cookies ? read_rmem_max() : 0;
    std::optional<InNetns> in;
    if (netns_fd >= 0) in.emplace(netns_fd);  // interface lookup and link creation happen there
    unsigned ifindex = if_nametoindex(iface.c_str());
    if (ifindex == 0) throw InputError("interface " + iface + " does not exist");
    ensure_bpffs();
    if (mkdir(pin_root().c_str(), 0700) != 0 && errno != EEXIST)
        throw_sys("mkdir(" + pin_root() + ")");
    auto dir = pin_dir(name);
    if (mkdir(dir.c_str(), 0700) != 0) {
        if (errno == EEXIST)
            throw InputError("name " + name + " is already in use (" + dir +
                             "; `bulwark xdp detach --name " + name + "` first)");
        throw_sys("mkdir(" + dir + ")");
    }
    PinGuard guard{dir, {}};
    xdp::Program prog(p, verbose);
    bw_device dev{};
    dev.tx_redirect = driver_of(iface) == "veth";
    dev.wscale = cookies ? listener_wscale(rmem_max) : 0;
    uint32_t zero = 0;
    if (bpf_map_update_elem(prog.map_fd(BW_MAP_DEVICE), &zero, &dev, BPF_ANY) != 0)
        throw_sys("write the device map");
    if (cookies) {
        // Before the program answers a SYN, the ACK must have somewhere to go.
        load_synproxy(synproxy_table(name), iface, p.inspect_ports, mtu_of(iface) - 40, dev.wscale);
        guard.table = synproxy_table(name);
    }

    auto link_with = [&](uint32_t flags) {
        LIBBPF_OPTS(bpf_link_create_opts, o, .flags = flags);
        return bpf_link_create(prog.prog_fd(), static_cast<int>(ifindex), BPF_XDP, &o);
    };
    int fd = -1;
    uint32_t used = BW_ATTACH_NONE;
    if (mode != Mode::Skb) {
        fd = link_with(XDP_FLAGS_DRV_MODE);
        used = BW_ATTACH_NATIVE;
        if (fd < 0 && mode == Mode::Native)
            throw SysError("attach XDP in native mode to " + iface, -fd);
    }
    if (fd < 0) {
        fd = link_with(XDP_FLAGS_SKB_MODE);
        used = BW_ATTACH_SKB;
        if (fd < 0) throw SysError("attach XDP to " + iface, -fd);
    }
    UniqueFd link(fd);
    bw_meta meta{ifindex,
                 used,
                 {},
                 {},
                 0,
                 BW_OWNER_ATTACH,
                 guard.table.empty() ? 0u : 1u,
                 ports_digest(p.inspect_ports)};
    std::strncpy(meta.ifname, iface.c_str(), sizeof meta.ifname - 1);
    std::memcpy(meta.policy_sha256, p.sha256.data(),
                std::min(p.sha256.size(), sizeof meta.policy_sha256));
    write_meta(prog.map_fd(BW_MAP_META), meta);
    prog.pin_maps(dir);
    auto link_path = dir + "/" BW_PIN_LINK;
    if (bpf_obj_pin(link.get(), link_path.c_str()) != 0) throw_sys("pin " + link_path);
    guard.armed = false;
    return mode_name(used);
}

void detach(const std::string& name) {
    auto dir = instance_dir(name);
    {
        auto lock = lock_instance(dir);  // not under a reload's feet
        // SYNPROXY rules loaded here (xdp attach, run --iface); a run's in its sandbox's
        // namespace went with it, and nft finds nothing to delete.
        if (read_meta(open_pin(dir + "/" BW_MAP_META).get()).synproxy)
            unload_synproxy(synproxy_table(name));
        remove_pins(dir);
    }
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0) throw SysError("remove " + dir, ENOTEMPTY);
}

RunLease::RunLease(const std::string& name) {
    validate_name(name);
    if (mkdir("/run/bulwark", 0700) != 0 && errno != EEXIST) throw_sys("mkdir(/run/bulwark)");
    auto path = "/run/bulwark/" + name + ".lock";
    lock_.reset(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock_) throw_sys("open " + path);
    if (flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            throw InputError("name " + name + " is already in use by a running bulwark (" + path +
                             " is locked)");
        throw_sys("lock " + path);
    }
    auto dir = pin_dir(name);
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) return;
    UniqueFd meta_fd(bpf_obj_get((dir + "/" BW_MAP_META).c_str()));
    bw_meta meta{};
    uint32_t zero = 0;
    if (!meta_fd || bpf_map_lookup_elem(meta_fd.get(), &zero, &meta) != 0 ||
        meta.owner != BW_OWNER_RUN)
        return;  // not a run's pins: attach() refuses the name as in use
    meta_fd.reset();
    detach(name);
    recovered_ = "removed the pins of an earlier run of " + name + " that ended without cleanup";
}

void mark_run_owned(const std::string& name) {
    auto fd = open_pin(pin_dir(name) + "/" BW_MAP_META);
    auto meta = read_meta(fd.get());
    meta.owner = BW_OWNER_RUN;
    write_meta(fd.get(), meta);
}

}  // namespace bulwark::guard
