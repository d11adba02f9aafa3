#include "guard.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <map>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>

#include "audit.hpp"
#include "bulwark.skel.h"
#include "cli.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "network.hpp"
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

// An instance's policy maps, opened from its pins.
struct PinnedPolicy {
    std::vector<UniqueFd> fds;
    xdp::PolicyMaps maps;
    explicit PinnedPolicy(const std::string& dir) {
        auto open = [&](const char* n) {
            fds.push_back(open_pin(dir + "/" + n));
            return fds.back().get();
        };
        maps = {open("policy_gen"), open("config"),   open("ports"),
                open("lists_v4"),   open("lists_v6"), open("rules"),
                open("automaton"),  open("patterns"), open("pattern_hits")};
    }
};

// Serialises reloads (and reload against detach) of one instance.
UniqueFd lock_instance(const std::string& dir) {
    UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_sys("open " + dir);
    if (flock(fd.get(), LOCK_EX) != 0) throw_sys("lock " + dir);
    return fd;
}

uint32_t max_entries(int map_fd) {
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) throw_sys("read map info");
    return info.max_entries;
}

bw_meta read_meta(int fd) {
    uint32_t zero = 0;
    bw_meta meta{};
    if (bpf_map_lookup_elem(fd, &zero, &meta) != 0) throw_sys("read meta");
    return meta;
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
                   Mode mode, int netns_fd) {
    cli::validate_name(name);
    std::optional<network::InNetns> in;
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
    bw_meta meta{ifindex, used, {}, {}, 0, BW_OWNER_ATTACH, 0};
    std::strncpy(meta.ifname, iface.c_str(), sizeof meta.ifname - 1);
    std::memcpy(meta.policy_sha256, p.sha256.data(),
                std::min(p.sha256.size(), sizeof meta.policy_sha256));
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

RunLease::RunLease(const std::string& name) {
    cli::validate_name(name);
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
    UniqueFd meta_fd(bpf_obj_get((dir + "/meta").c_str()));
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
    auto fd = open_pin(pin_dir(name) + "/meta");
    auto meta = read_meta(fd.get());
    meta.owner = BW_OWNER_RUN;
    uint32_t zero = 0;
    if (bpf_map_update_elem(fd.get(), &zero, &meta, BPF_ANY) != 0) throw_sys("update meta");
}

void detach(const std::string& name) {
    auto dir = instance_dir(name);
    {
        auto lock = lock_instance(dir);  // not under a reload's feet
        remove_pins(dir);
    }
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0) throw SysError("remove " + dir, ENOTEMPTY);
}

std::string reload(const std::string& name, const policy::Policy& p) {
    auto dir = instance_dir(name);
    auto lock = lock_instance(dir);
    PinnedPolicy pins(dir);
    auto meta_fd = open_pin(dir + "/meta");
    auto meta = read_meta(meta_fd.get());
    auto sized = max_entries(open_pin(dir + "/sources").get());
    if (sized != p.max_sources)
        throw InputError(p.file + ": max_sources " + std::to_string(p.max_sources) +
                         " differs from the running instance's " + std::to_string(sized) +
                         " (maps are sized at attach: detach and attach to change it)");
    auto compiled = xdp::compile(p);  // pattern overflow etc. throw before anything is touched
    compiled.config.epoch = static_cast<uint32_t>(meta.reloads + 1);

    uint32_t old_gen = xdp::active_generation(pins.maps);
    uint32_t new_gen = (old_gen + 1) % BW_GENERATIONS;
    xdp::write_generation(pins.maps, new_gen, compiled, p);  // idle generation: nothing changes
    xdp::switch_generation(pins.maps, new_gen);
    xdp::clear_generation(pins.maps, old_gen);

    meta.reloads++;
    std::memset(meta.policy_sha256, 0, sizeof meta.policy_sha256);
    std::memcpy(meta.policy_sha256, p.sha256.data(),
                std::min(p.sha256.size(), sizeof meta.policy_sha256));
    uint32_t zero = 0;
    if (bpf_map_update_elem(meta_fd.get(), &zero, &meta, BPF_ANY) != 0) throw_sys("update meta");
    return "reloaded " + name + " from " + p.file + " (sha256 " + p.sha256.substr(0, 12) +
           ", reload " + std::to_string(meta.reloads) + ")";
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
    auto meta = read_meta(open_pin(dir + "/meta").get());
    PinnedPolicy pins(dir);
    uint32_t gen = xdp::active_generation(pins.maps);
    bw_config cfg{};
    if (bpf_map_lookup_elem(pins.maps.config, &gen, &cfg) != 0) throw_sys("read config");

    bool attached = false;
    if (UniqueFd link(bpf_obj_get((dir + "/link").c_str())); link) {
        bpf_link_info info{};
        uint32_t len = sizeof info;
        attached = bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 && info.xdp.ifindex != 0;
    }
    std::string ifname(meta.ifname, strnlen(meta.ifname, sizeof meta.ifname));

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
    // The patterns that dropped something since the policy in force was loaded, most first.
    Json patterns = Json::array();
    {
        auto hits = xdp::read_pattern_hits(pins.maps.pattern_hits, gen);
        std::vector<uint32_t> fired;
        for (uint32_t i = 0; i < hits.size(); ++i)
            if (hits[i]) fired.push_back(i);
        std::stable_sort(fired.begin(), fired.end(),
                         [&](uint32_t a, uint32_t b) { return hits[a] > hits[b]; });
        for (auto i : fired) {
            uint32_t k = gen * BW_MAX_PATTERNS + i;
            bw_pattern_name n{};
            if (bpf_map_lookup_elem(pins.maps.patterns, &k, &n) != 0) continue;
            patterns.push_back({{"set", std::string(n.set, strnlen(n.set, sizeof n.set))},
                                {"pattern", std::string(n.text, strnlen(n.text, sizeof n.text))},
                                {"packets", hits[i]}});
        }
    }
    auto lost = xdp::read_events_lost(open_pin(dir + "/events_lost").get());
    return Json{
        {"name", name},
        {"interface", ifname},
        {"mode", mode_name(meta.mode)},
        {"attached", attached},
        {"policy_sha256",
         std::string(meta.policy_sha256, strnlen(meta.policy_sha256, sizeof meta.policy_sha256))},
        {"reloads", meta.reloads},
        {"counters", counters},
        {"events_lost", lost},
        {"patterns", patterns},
        {"top_sources", tops}};
}

namespace {

std::string addr_text(uint8_t family, const uint8_t* a) {
    char buf[INET6_ADDRSTRLEN] = "";
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
    return buf;
}

int64_t clock_ns(clockid_t c) {
    timespec ts{};
    clock_gettime(c, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

const char* proto_name(uint8_t p) {
    switch (p) {
        case IPPROTO_TCP:
            return "tcp";
        case IPPROTO_UDP:
            return "udp";
        case IPPROTO_ICMP:
            return "icmp";
        case IPPROTO_ICMPV6:
            return "icmpv6";
        default:
            return "other";
    }
}

// What `matched` is for an event: the rule's text or "set:pattern", read from the pins of the
// generation that made the verdict.
struct EventContext {
    std::string service;
    UniqueFd rules, patterns;
    std::string matched(const bw_event& e) const {
        uint32_t gen = e.gen % BW_GENERATIONS;
        if (e.reason == BW_DROP_RULE && e.detail >= 1 && e.detail <= BW_MAX_RULES) {
            bw_rules rs{};
            if (bpf_map_lookup_elem(rules.get(), &gen, &rs) == 0) {
                auto& r = rs.r[e.detail - 1];
                return std::string(r.match, std::min<size_t>(r.len, BW_MAX_RULE_LEN));
            }
        }
        if (e.reason == BW_DROP_PATTERN && e.detail >= 1 && e.detail <= BW_MAX_PATTERNS) {
            uint32_t k = gen * BW_MAX_PATTERNS + e.detail - 1;
            bw_pattern_name n{};
            if (bpf_map_lookup_elem(patterns.get(), &k, &n) == 0)
                return std::string(n.set, strnlen(n.set, sizeof n.set)) + ":" +
                       std::string(n.text, strnlen(n.text, sizeof n.text));
        }
        return "";
    }
};

}  // namespace

Json event_json(const bw_event& e, const std::string& service, const std::string& matched,
                int64_t realtime_offset_ns) {
    const char* type = "REQUEST_BLOCKED";
    if (e.cls == BW_CLASS_SUSPICIOUS)
        type = "SUSPICIOUS_ACTIVITY";
    else if (e.reason == BW_DROP_RATE_PACKETS || e.reason == BW_DROP_RATE_CONNECTIONS ||
             e.reason == BW_DROP_RATE_REQUESTS || e.reason == BW_DROP_RULE)
        type = "RATE_LIMIT_EXCEEDED";
    Json j{{"time", audit::rfc3339(static_cast<int64_t>(e.time_ns) + realtime_offset_ns)},
           {"type", type},
           {"service", service},
           {"reason", xdp::reason_name(e.reason)},
           {"src", addr_text(e.family, e.src)},
           {"src_port", e.sport},
           {"dst", addr_text(e.family, e.dst)},
           {"dst_port", e.dport},
           {"proto", proto_name(e.proto)},
           {"len", e.len}};
    if (e.reason == BW_DROP_RULE) j["rule"] = matched;
    if (e.reason == BW_DROP_PATTERN) j["pattern"] = matched;
    return j;
}

std::string event_line(const Json& ev) {
    std::ostringstream o;
    o << ev["time"].get<std::string>() << " " << ev["type"].get<std::string>() << " "
      << ev["reason"].get<std::string>() << " " << ev["proto"].get<std::string>() << " "
      << ev["src"].get<std::string>() << ":" << ev["src_port"].get<unsigned>() << " -> "
      << ev["dst"].get<std::string>() << ":" << ev["dst_port"].get<unsigned>() << " len "
      << ev["len"].get<unsigned>();
    if (ev.contains("rule")) o << " rule \"" << ev["rule"].get<std::string>() << "\"";
    if (ev.contains("pattern")) o << " pattern \"" << ev["pattern"].get<std::string>() << "\"";
    return o.str();
}

struct EventReader::State {
    EventContext ctx;
    UniqueFd ring;
    Sink sink;
    std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> rb{nullptr, ring_buffer__free};

    static int on_event(void* arg, void* data, size_t size) {
        auto* st = static_cast<State*>(arg);
        if (size < sizeof(bw_event)) return 0;
        bw_event e{};
        std::memcpy(&e, data, sizeof e);
        // Recomputed per event: the wall clock may be stepped while following.
        int64_t offset = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
        st->sink(event_json(e, st->ctx.service, st->ctx.matched(e), offset));
        return 0;
    }
};

EventReader::EventReader(const std::string& name, Sink sink) {
    auto dir = instance_dir(name);
    s_ =
        std::make_unique<State>(State{{name, open_pin(dir + "/rules"), open_pin(dir + "/patterns")},
                                      open_pin(dir + "/events"),
                                      std::move(sink)});
    s_->rb.reset(ring_buffer__new(s_->ring.get(), State::on_event, s_.get(), nullptr));
    if (!s_->rb) throw_sys("open ring buffer " + dir + "/events");
}

EventReader::~EventReader() = default;

int EventReader::fd() const {
    return ring_buffer__epoll_fd(s_->rb.get());
}

void EventReader::consume() {
    if (int n = ring_buffer__consume(s_->rb.get()); n < 0) throw SysError("read events", -n);
}

void events(const std::string& name, bool follow, bool json, std::ostream& out) {
    EventReader reader(name, [&](const Json& j) {
        out << (json ? j.dump() : event_line(j)) << "\n";
        out.flush();
    });
    reader.consume();
    if (!follow) return;

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop, nullptr) != 0) throw_sys("sigprocmask");
    UniqueFd sfd(signalfd(-1, &stop, SFD_CLOEXEC));
    if (!sfd) throw_sys("signalfd");
    pollfd fds[2] = {{sfd.get(), POLLIN, 0}, {reader.fd(), POLLIN, 0}};
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("poll");
        if (fds[0].revents) break;
        reader.consume();
    }
    reader.consume();
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
    if (j.contains("patterns") && !j["patterns"].empty()) {
        std::snprintf(line, sizeof line, "  %-50s %14s\n", "patterns that dropped (set:pattern)",
                      "packets");
        o << line;
        for (auto& p : j["patterns"]) {
            auto name = p["set"].get<std::string>() + ":" + p["pattern"].get<std::string>();
            if (name.size() > 50) name = name.substr(0, 47) + "...";
            std::snprintf(line, sizeof line, "  %-50s %14llu\n", name.c_str(),
                          static_cast<unsigned long long>(p["packets"].get<uint64_t>()));
            o << line;
        }
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
    o << "# HELP bulwark_pattern_drops_total Packets dropped by each pattern set since the policy "
         "in force was loaded.\n"
         "# TYPE bulwark_pattern_drops_total counter\n";
    for (auto& j : all) {
        if (!j.contains("patterns")) continue;
        std::map<std::string, uint64_t> by_set;
        for (auto& p : j["patterns"])
            by_set[p["set"].get<std::string>()] += p["packets"].get<uint64_t>();
        for (auto& [set, n] : by_set)
            o << "bulwark_pattern_drops_total{service=\"" << j["name"].get<std::string>()
              << "\",set=\"" << set << "\"} " << n << "\n";
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
