#include "guard.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "bulwark.skel.h"
#include "cli.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "xdp.hpp"

namespace bulwark::guard {

namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

void ensure_bpffs() {
    struct statfs st {};
    if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == kBpfFsMagic) return;
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
        throw_sys("mount(bpf on /sys/fs/bpf)");
}

void remove_pins(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
        while (auto* e = readdir(d))
            if (e->d_name[0] != '.') unlink((dir + "/" + e->d_name).c_str());
        closedir(d);
    }
    rmdir(dir.c_str());
}

UniqueFd open_pin(const std::string& path) {
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd) throw_sys("open pin " + path);
    return fd;
}

const char* mode_name(uint32_t m) {
    return m == 1 ? "native" : m == 2 ? "skb" : "unknown";
}

// The pin directory of an existing instance; InputError when there is none.
std::string instance_dir(const std::string& name) {
    cli::validate_name(name);
    auto dir = pin_dir(name);
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0)
        throw InputError("no instance named " + name + " (" + dir + ")");
    return dir;
}

// Closes over the pin directory until disarmed: a failed attach leaves nothing behind.
struct PinGuard {
    std::string dir;
    bool armed = true;
    ~PinGuard() {
        if (armed) remove_pins(dir);
    }
};

}  // namespace

Mode parse_mode(const std::string& s) {
    if (s == "native") return Mode::Native;
    if (s == "skb") return Mode::Skb;
    if (s == "auto") return Mode::Auto;
    throw InputError("--mode " + s + ": expected native, skb or auto");
}

std::string pin_root() {
    return "/sys/fs/bpf/bulwark";
}
std::string pin_dir(const std::string& name) {
    return pin_root() + "/" + name;
}

std::string attach(const policy::Policy& p, const std::string& iface, const std::string& name,
                   Mode mode) {
    cli::validate_name(name);
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
    PinGuard guard{dir};
    xdp::Program prog(p);

    auto link_with = [&](uint32_t flags) {
        LIBBPF_OPTS(bpf_link_create_opts, o, .flags = flags);
        return bpf_link_create(prog.prog_fd(), static_cast<int>(ifindex), BPF_XDP, &o);
    };
    int fd = -1;
    uint32_t used = 0;
    if (mode != Mode::Skb) {
        fd = link_with(XDP_FLAGS_DRV_MODE);
        used = 1;
        if (fd < 0 && mode == Mode::Native)
            throw SysError("attach XDP in native mode to " + iface, -fd);
    }
    if (fd < 0) {
        fd = link_with(XDP_FLAGS_SKB_MODE);
        used = 2;
        if (fd < 0) throw SysError("attach XDP to " + iface, -fd);
    }
    UniqueFd link(fd);
    bw_meta meta{ifindex, used};
    uint32_t zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(prog.skel()->maps.meta), &zero, &meta, BPF_ANY) != 0)
        throw_sys("update meta");
    bpf_map* map;
    bpf_object__for_each_map(map, prog.skel()->obj) {
        auto path = dir + "/" + bpf_map__name(map);
        if (int rc = bpf_map__pin(map, path.c_str()); rc != 0) throw SysError("pin " + path, -rc);
    }
    auto link_path = dir + "/link";
    if (bpf_obj_pin(link.get(), link_path.c_str()) != 0) throw_sys("pin " + link_path);
    guard.armed = false;
    return mode_name(used);
}

void detach(const std::string& name) {
    auto dir = instance_dir(name);
    remove_pins(dir);
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0) throw SysError("remove " + dir, ENOTEMPTY);
}

std::vector<std::string> instances() {
    std::vector<std::string> out;
    if (DIR* d = opendir(pin_root().c_str())) {
        while (auto* e = readdir(d))
            if (e->d_name[0] != '.') out.emplace_back(e->d_name);
        closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

Json stats(const std::string& name, size_t top) {
    auto dir = instance_dir(name);
    uint32_t zero = 0;
    bw_meta meta{};
    bpf_map_lookup_elem(open_pin(dir + "/meta").get(), &zero, &meta);
    bw_config cfg{};
    bpf_map_lookup_elem(open_pin(dir + "/config").get(), &zero, &cfg);

    bool attached = false;
    if (UniqueFd link(bpf_obj_get((dir + "/link").c_str())); link) {
        bpf_link_info info{};
        uint32_t len = sizeof info;
        attached = bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 && info.xdp.ifindex != 0;
    }
    char ifname[IF_NAMESIZE] = "";
    if (!if_indextoname(meta.ifindex, ifname)) std::strcpy(ifname, "?");

    Json counters = Json::object();
    auto sums = xdp::read_counters(open_pin(dir + "/counters").get());
    for (uint32_t r = 0; r < BW_REASON_MAX; ++r)
        counters[xdp::reason_name(r)] = {{"packets", sums[r].packets}, {"bytes", sums[r].bytes}};

    struct Row {
        std::string addr;
        bw_source s;
    };
    std::vector<Row> rows;
    auto sfd = open_pin(dir + "/sources");
    bw_source_key key{}, next{};
    bw_source_key* prev = nullptr;
    while (bpf_map_get_next_key(sfd.get(), prev, &next) == 0) {
        bw_source val{};
        if (bpf_map_lookup_elem(sfd.get(), &next, &val) == 0) {
            char buf[INET6_ADDRSTRLEN] = "";
            inet_ntop(next.family == 4 ? AF_INET : AF_INET6, next.addr, buf, sizeof buf);
            std::string addr = buf;
            unsigned prefix = next.family == 4 ? cfg.key_prefix_v4 : cfg.key_prefix_v6;
            if (prefix && prefix < (next.family == 4 ? 32u : 128u))
                addr += "/" + std::to_string(prefix);
            rows.push_back({addr, val});
        }
        key = next;
        prev = &key;
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return a.s.dropped != b.s.dropped ? a.s.dropped > b.s.dropped : a.s.passed > b.s.passed;
    });
    if (rows.size() > top) rows.resize(top);
    Json tops = Json::array();
    for (auto& r : rows)
        tops.push_back({{"addr", r.addr},
                        {"passed", r.s.passed},
                        {"dropped", r.s.dropped},
                        {"last_reason", xdp::reason_name(r.s.last_reason)}});
    // The event ring buffer is not built yet, so no event can have been lost.
    return Json{{"name", name},         {"interface", ifname},  {"mode", mode_name(meta.mode)},
                {"attached", attached}, {"counters", counters}, {"events_lost", 0},
                {"top_sources", tops}};
}

std::string format_table(const Json& j) {
    std::ostringstream o;
    o << j["name"].get<std::string>() << " on " << j["interface"].get<std::string>() << " ("
      << j["mode"].get<std::string>() << ", "
      << (j["attached"].get<bool>() ? "attached" : "NOT attached") << ")\n";
    char line[160];
    std::snprintf(line, sizeof line, "  %-24s %14s %16s\n", "reason", "packets", "bytes");
    o << line;
    for (unsigned r = 0; r < BW_REASON_MAX; ++r) {
        auto& c = j["counters"][xdp::reason_name(r)];
        std::snprintf(line, sizeof line, "  %-24s %14llu %16llu\n", xdp::reason_name(r),
                      static_cast<unsigned long long>(c["packets"].get<uint64_t>()),
                      static_cast<unsigned long long>(c["bytes"].get<uint64_t>()));
        o << line;
    }
    if (!j["top_sources"].empty()) {
        std::snprintf(line, sizeof line, "  %-40s %10s %10s  %s\n", "top sources", "passed",
                      "dropped", "last");
        o << line;
        for (auto& s : j["top_sources"]) {
            std::snprintf(line, sizeof line, "  %-40s %10llu %10llu  %s\n",
                          s["addr"].get<std::string>().c_str(),
                          static_cast<unsigned long long>(s["passed"].get<uint64_t>()),
                          static_cast<unsigned long long>(s["dropped"].get<uint64_t>()),
                          s["last_reason"].get<std::string>().c_str());
            o << line;
        }
    }
    return o.str();
}

std::string format_prometheus(const std::vector<Json>& all) {
    std::ostringstream o;
    for (auto metric : {"packets", "bytes"}) {
        o << "# HELP bulwark_" << metric << "_total " << (metric[0] == 'p' ? "Packets" : "Bytes")
          << " seen by the XDP guard, by verdict reason.\n"
          << "# TYPE bulwark_" << metric << "_total counter\n";
        for (auto& j : all)
            for (unsigned r = 0; r < BW_REASON_MAX; ++r)
                o << "bulwark_" << metric << "_total{service=\"" << j["name"].get<std::string>()
                  << "\",reason=\"" << xdp::reason_name(r) << "\"} "
                  << j["counters"][xdp::reason_name(r)][metric].get<uint64_t>() << "\n";
    }
    o << "# HELP bulwark_attached Whether the guard's XDP program is attached (1) or not (0).\n"
         "# TYPE bulwark_attached gauge\n";
    for (auto& j : all)
        o << "bulwark_attached{service=\"" << j["name"].get<std::string>() << "\",interface=\""
          << j["interface"].get<std::string>() << "\",mode=\"" << j["mode"].get<std::string>()
          << "\"} " << (j["attached"].get<bool>() ? 1 : 0) << "\n";
    return o.str();
}

}  // namespace bulwark::guard
