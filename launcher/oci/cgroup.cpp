#include "oci/cgroup.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/error.hpp"
#include "core/sys.hpp"
#include "sandbox/cgroups.hpp"

namespace bulwark::oci {

namespace {

bool exists(const std::string& p) {
    return access(p.c_str(), F_OK) == 0;
}

void write_value(const std::string& path, const std::string& value) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        throw_sys("write(" + path + ", \"" + value + "\")");
}

// A cgroup file's value without its newline.
std::string read_value(const std::string& path) {
    auto v = read_file_or_empty(path);
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    return v;
}

void make_dirs(const std::string& base, const std::string& rel) {
    std::string p = base;
    std::istringstream in(rel);
    std::string part;
    while (std::getline(in, part, '/')) {
        if (part.empty()) continue;
        auto parent = p;
        p += "/" + part;
        if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("mkdir(" + p + ")");
        // A v1 cpuset cgroup starts with no CPUs and no nodes, and takes no process until it
        // has some: the parent's, as runc gives it, before the spec's narrow them.
        for (auto f : {"/cpuset.cpus", "/cpuset.mems"})
            if (exists(p + f) && read_value(p + f).empty())
                write_value(p + f, read_value(parent + f));
    }
}

// The controllers limits are set on, as both versions name them.
constexpr const char* kLimitControllers[] = {"memory", "pids", "cpu", "cpuset", "hugetlb"};

// What each setting needs, as v1 controller names (the same names as v2's, but for devices and
// the freezer, which v2 builds in).
std::vector<std::string> v1_controllers(const Resources& r) {
    std::vector<std::string> c;
    if (r.memory_limit || r.memory_swap || r.memory_reservation) c.push_back("memory");
    if (r.pids_limit) c.push_back("pids");
    if (r.cpu_quota || r.cpu_period || r.cpu_shares) c.push_back("cpu");
    if (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty()) c.push_back("cpuset");
    if (!r.hugepages.empty()) c.push_back("hugetlb");
    return c;
}

std::string v2_controllers(const std::string& dir) {
    return read_file_or_empty(dir + "/cgroup.controllers");
}

bool offers(const std::string& dir, const std::string& ctrl) {
    auto words = cgroups::split_words(v2_controllers(dir));
    return std::find(words.begin(), words.end(), ctrl) != words.end();
}

std::string limit_or_max(int64_t v) {
    return v < 0 ? "max" : std::to_string(v);
}

// The controllers linux.resources.unified's files belong to, once each.
std::vector<std::string> unified_controllers(const Resources& r) {
    std::vector<std::string> c;
    for (auto& [key, value] : r.unified)
        if (auto ctrl = unified_controller(key);
            !ctrl.empty() && std::find(c.begin(), c.end(), ctrl) == c.end())
            c.push_back(ctrl);
    return c;
}

// Makes the v2 directories from the hierarchy's root down to `dir`, enabling `ctrls` in each
// ancestor's subtree_control on the way (a controller reaches a cgroup only so). Those in
// `required` must be enabled; the others are for a later `update`, and a host may refuse one
// (cpu, while a realtime thread sits in the parent), which the spec did not ask for.
void make_v2_path(const std::string& root, const std::string& dir,
                  const std::vector<std::string>& ctrls, const std::vector<std::string>& required) {
    std::string p = root;
    std::istringstream in(dir.substr(root.size()));
    std::string part;
    while (std::getline(in, part, '/')) {
        if (part.empty()) continue;
        for (auto& c : ctrls) {
            if (!offers(p, c)) continue;
            try {
                write_value(p + "/cgroup.subtree_control", "+" + c);
            } catch (const SysError&) {
                if (std::find(required.begin(), required.end(), c) != required.end()) throw;
            }
        }
        p += "/" + part;
        if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("mkdir(" + p + ")");
    }
}

}  // namespace

Hierarchies parse_hierarchies(const std::string& mountinfo) {
    Hierarchies h;
    for (auto& m : cgroups::cgroup_mounts(mountinfo)) {
        if (m.fstype == "cgroup2" && h.v2.empty()) h.v2 = m.mountpoint;
        if (m.fstype != "cgroup") continue;
        std::istringstream opts(m.options);
        std::string o;
        while (std::getline(opts, o, ','))
            if (o == "memory" || o == "pids" || o == "cpu" || o == "cpuset" || o == "devices" ||
                o == "freezer" || o == "hugetlb" || o == "blkio")
                h.v1.emplace(o, m.mountpoint);
    }
    return h;
}

Hierarchies host_hierarchies() {
    return parse_hierarchies(read_file("/proc/self/mountinfo"));
}

std::string slice_path(const std::string& slice) {
    const std::string suffix = ".slice";
    auto bad = [&] { return InputError("cgroupsPath: \"" + slice + "\" is not a slice name"); };
    if (slice.size() <= suffix.size() ||
        slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        slice.find('/') != std::string::npos)
        throw bad();
    auto stem = slice.substr(0, slice.size() - suffix.size());
    if (stem == "-") return "";
    std::string path, prefix;
    std::istringstream in(stem);
    std::string part;
    size_t parts = 0;
    while (std::getline(in, part, '-')) {
        if (part.empty()) throw bad();  // "-a", "a--b"
        path += "/" + prefix + part + suffix;
        prefix += part + "-";
        ++parts;
    }
    if (stem.back() == '-') throw bad();  // getline drops a last empty part
    return parts ? path : throw bad();
}

std::string cgroup_relpath(const std::string& path, const std::string& id, bool systemd) {
    if (path.empty()) return "/bulwark-oci/" + id;
    if (systemd && path.find(':') != std::string::npos) {
        auto a = path.find(':'), b = path.find(':', a + 1);
        if (b == std::string::npos)
            throw InputError("cgroupsPath \"" + path + "\": not slice:prefix:name");
        auto slice = path.substr(0, a), prefix = path.substr(a + 1, b - a - 1),
             name = path.substr(b + 1);
        if (slice.empty()) slice = "system.slice";
        if (name.find('.') == std::string::npos)
            name = (prefix.empty() ? "" : prefix + "-") + name + ".scope";
        if (name.find('/') != std::string::npos || name.find("..") != std::string::npos)
            throw InputError("cgroupsPath \"" + path + "\": not slice:prefix:name");
        return slice_path(slice) + "/" + name;
    }
    if (path.find("..") != std::string::npos)
        throw InputError("cgroupsPath \"" + path + "\": \"..\" is not allowed");
    return path[0] == '/' ? path : "/" + path;
}

CgroupDirs plan_cgroup(const Hierarchies& h, const std::string& rel, const Resources& r) {
    CgroupDirs d;
    if (!h.v2.empty()) d.v2 = h.v2 + rel;
    // Every controller the host has, not only those the spec sets, as runc joins them: `update`
    // (a pod's resize, Podman's update) sets limits the create did not, and a cgroup left at the
    // hierarchy's root for one of them could take none.
    auto wanted = v1_controllers(r);
    for (auto c : kLimitControllers) {
        bool want = std::find(wanted.begin(), wanted.end(), c) != wanted.end();
        if (!h.v2.empty() && offers(h.v2, c)) continue;
        auto it = h.v1.find(c);
        if (it != h.v1.end())
            d.v1[c] = it->second + rel;
        else if (want)
            throw InputError(std::string("linux.resources: the ") + c +
                             " controller is neither on cgroup v2 here nor mounted as cgroup v1");
    }
    // Block I/O: v2's io, v1's blkio (the one controller the two versions name apart).
    if (h.v2.empty() || !offers(h.v2, "io")) {
        if (auto it = h.v1.find("blkio"); it != h.v1.end())
            d.v1["blkio"] = it->second + rel;
        else if (!r.blkio.empty())
            throw InputError(
                "linux.resources.blockIO: the io controller is neither on cgroup v2 here nor "
                "mounted as cgroup v1 blkio");
    }
    // The freezer (pause) and device rules: built into v2; on a hybrid host that still mounts
    // them as v1 controllers, v1's (a v1 cgroup left at its root would allow everything).
    for (auto c : {"freezer", "devices"}) {
        if (auto it = h.v1.find(c); it != h.v1.end()) d.v1[c] = it->second + rel;
    }
    if (d.empty()) throw InputError("no cgroup hierarchy is mounted (cgroup v2 or v1)");
    // The runtime spec: an error when a unified key's controller is not there. Hybrid hosts
    // bind most controllers to v1, where no v2 file of theirs exists.
    for (auto& [key, value] : r.unified) {
        auto c = unified_controller(key);
        if (!c.empty() && (h.v2.empty() || !offers(h.v2, c)))
            throw InputError("linux.resources.unified: \"" + key + "\": the " + c +
                             " controller is not on cgroup v2 here" +
                             (h.v1.count(c) ? " (this host binds it to cgroup v1)" : ""));
    }
    if (!r.unified.empty() && h.v2.empty())
        throw InputError("linux.resources.unified: cgroup v2 is not mounted here");
    return d;
}

namespace {

// Device rules are set once, at create: `update` has no say over them (as in runc).
void apply_devices(const CgroupDirs& d, const Resources& r) {
    auto rules = device_rules(r.devices);
    if (auto it = d.v1.find("devices"); it != d.v1.end()) {
        auto dev = &it->second;
        for (auto& rule : rules)
            write_value(*dev + (rule.allow ? "/devices.allow" : "/devices.deny"), rule.v1());
    } else if (!d.v2.empty()) {
        // cgroup v2 has no devices files: a program on the cgroup decides. It stays attached
        // for the cgroup's life; a later one (update) replaces it.
        auto prog = device_program(rules);
        UniqueFd fd(bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "bulwark_dev", "GPL", prog.data(),
                                  prog.size(), nullptr));
        if (!fd) {
            // Loaded again only to say why: the verifier's last lines.
            int err = errno;
            std::string log(1 << 20, '\0');
            LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1,
                        .log_size = static_cast<unsigned>(log.size()), .log_buf = log.data());
            UniqueFd(bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "bulwark_dev", "GPL", prog.data(),
                                   prog.size(), &opts));
            log.resize(strnlen(log.data(), log.size()));
            if (log.size() > 400) log = "..." + log.substr(log.size() - 400);
            throw SysError("bpf_prog_load(device filter): " + log, err);
        }
        UniqueFd cg(open(d.v2.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!cg) throw_sys("open(" + d.v2 + ")");
        if (bpf_prog_attach(fd.get(), cg.get(), BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) != 0)
            throw_sys("bpf_prog_attach(device filter, " + d.v2 + ")");
    }
}

}  // namespace

void create_cgroup(const Hierarchies& h, const CgroupDirs& d, const Resources& r) {
    if (!d.v2.empty()) {
        auto required = v1_controllers(r), on_v2 = unified_controllers(r);
        required.insert(required.end(), on_v2.begin(), on_v2.end());
        if (!d.v1.count("blkio")) {
            on_v2.push_back("io");
            if (!r.blkio.empty()) required.push_back("io");
        }
        for (auto c : kLimitControllers)
            if (!d.v1.count(c) && std::find(on_v2.begin(), on_v2.end(), c) == on_v2.end())
                on_v2.push_back(c);
        make_v2_path(h.v2, d.v2, on_v2, required);
    }
    for (auto& [c, dir] : d.v1) {
        auto& base = h.v1.at(c);
        make_dirs(base, dir.substr(base.size()));
    }
    apply_resources(d, r);
    apply_devices(d, r);
}

std::vector<DeviceRule> device_rules(const std::vector<DeviceRule>& spec_rules) {
    std::vector<DeviceRule> out{{false, 'a', -1, -1, "rwm"}};
    out.insert(out.end(), spec_rules.begin(), spec_rules.end());
    const DeviceRule defaults[] = {
        {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"},   {true, 'c', 1, 3, "rwm"},
        {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 7, "rwm"},   {true, 'c', 1, 8, "rwm"},
        {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},   {true, 'c', 5, 1, "rwm"},
        {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"}};
    out.insert(out.end(), std::begin(defaults), std::end(defaults));
    return out;
}

namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

uint32_t access_bits(const std::string& a) {
    uint32_t bits = 0;
    if (a.find('m') != std::string::npos) bits |= BPF_DEVCG_ACC_MKNOD;
    if (a.find('r') != std::string::npos) bits |= BPF_DEVCG_ACC_READ;
    if (a.find('w') != std::string::npos) bits |= BPF_DEVCG_ACC_WRITE;
    return bits;
}

}  // namespace

std::vector<bpf_insn> device_program(const std::vector<DeviceRule>& rules) {
    // r2 = type, r3 = access, r4 = major, r5 = minor, from struct bpf_cgroup_dev_ctx.
    std::vector<bpf_insn> p = {
        insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0),
        insn(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff),
        insn(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0),
        insn(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16),
        insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0),
        insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0),
    };
    // A rule that matches everything ends the walk: nothing before it can matter.
    size_t first = 0;
    for (size_t i = rules.size(); i-- > 0;)
        if (rules[i].type == 'a') {
            first = i;
            break;
        }
    for (size_t i = rules.size(); i-- > first;) {
        auto& r = rules[i];
        std::vector<bpf_insn> block;
        std::vector<size_t> skips;  // jumps to the end of this block, patched below
        if (r.type != 'a') {
            int t = r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
            skips.push_back(block.size());
            block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0, t));
        }
        uint32_t acc = access_bits(r.access);
        block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, 0, 3, 0, 0));
        if (r.allow) {
            // Every access asked for must be allowed by the rule.
            block.push_back(
                insn(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, static_cast<int32_t>(~acc & 7)));
            skips.push_back(block.size());
            block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 0, 0));
        } else {
            // Any access the rule denies, asked for, denies the request.
            block.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, static_cast<int32_t>(acc)));
            skips.push_back(block.size());
            block.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0, 0));
        }
        if (r.type != 'a' && r.major >= 0) {
            skips.push_back(block.size());
            block.push_back(
                insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, static_cast<int32_t>(r.major)));
        }
        if (r.type != 'a' && r.minor >= 0) {
            skips.push_back(block.size());
            block.push_back(
                insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, static_cast<int32_t>(r.minor)));
        }
        block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r.allow ? 1 : 0));
        block.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        for (auto s : skips) block[s].off = static_cast<int16_t>(block.size() - s - 1);
        p.insert(p.end(), block.begin(), block.end());
    }
    // No rule matched (a list with no "a" rule at all): deny.
    p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
    p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return p;
}

uint64_t shares_to_weight(uint64_t shares) {
    if (shares == 0) return 0;
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_to_io_weight(uint16_t weight) {
    uint64_t w = std::clamp<uint16_t>(weight, 10, 1000);
    return 1 + (w - 10) * 9999 / 990;
}

std::vector<std::pair<std::string, std::string>> blkio_writes(const BlockIO& b, bool v2, bool bfq) {
    std::vector<std::pair<std::string, std::string>> out;
    auto dev = [](const BlockIO::Device& d) {
        return std::to_string(d.major) + ":" + std::to_string(d.minor) + " ";
    };
    // BFQ's files take blkio's own 10..1000; v2's io.weight is iocost's 1..10000.
    auto weight = [&](uint16_t w) {
        return std::to_string(v2 && !bfq ? blkio_to_io_weight(w) : w);
    };
    std::string weight_file =
        v2 ? (bfq ? "io.bfq.weight" : "io.weight") : (bfq ? "blkio.bfq.weight" : "blkio.weight");
    if (b.weight) out.emplace_back(weight_file, weight(*b.weight));
    if (b.leaf_weight && !v2) out.emplace_back("blkio.leaf_weight", std::to_string(*b.leaf_weight));
    for (auto& d : b.weight_device) {
        if (d.weight)
            out.emplace_back(v2 ? weight_file : weight_file + "_device",
                             dev(d) + weight(*d.weight));
        if (d.leaf_weight && !v2)
            out.emplace_back("blkio.leaf_weight_device", dev(d) + std::to_string(*d.leaf_weight));
    }
    struct Throttle {
        const std::vector<BlockIO::Device>& list;
        const char *v1_file, *v2_key;
    };
    const Throttle throttles[] = {{b.read_bps, "blkio.throttle.read_bps_device", "rbps"},
                                  {b.write_bps, "blkio.throttle.write_bps_device", "wbps"},
                                  {b.read_iops, "blkio.throttle.read_iops_device", "riops"},
                                  {b.write_iops, "blkio.throttle.write_iops_device", "wiops"}};
    for (auto& t : throttles) {
        for (auto& d : t.list) {
            // v1 lifts a device's limit with 0, v2 with "max".
            if (v2)
                out.emplace_back(
                    "io.max", dev(d) + t.v2_key + "=" + (d.rate ? std::to_string(d.rate) : "max"));
            else
                out.emplace_back(t.v1_file, dev(d) + std::to_string(d.rate));
        }
    }
    return out;
}

void apply_resources(const CgroupDirs& d, const Resources& r) {
    auto v1 = [&](const char* c) -> const std::string* {
        auto it = d.v1.find(c);
        return it == d.v1.end() ? nullptr : &it->second;
    };
    // The controller's v1 directory where it has one, else the v2 group's.
    auto dir_of = [&](const char* c) { return v1(c) ? *v1(c) : d.v2; };
    if (auto m = v1("memory")) {
        if (r.memory_limit)
            write_value(*m + "/memory.limit_in_bytes", std::to_string(*r.memory_limit));
        if (r.memory_swap && exists(*m + "/memory.memsw.limit_in_bytes"))
            write_value(*m + "/memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap));
    } else if (r.memory_limit || r.memory_swap) {
        if (r.memory_limit) write_value(d.v2 + "/memory.max", limit_or_max(*r.memory_limit));
        // OCI's swap is memory+swap; v2 counts swap alone.
        if (r.memory_swap && exists(d.v2 + "/memory.swap.max")) {
            std::string swap = "max";
            if (*r.memory_swap >= 0 && r.memory_limit && *r.memory_limit >= 0)
                swap = std::to_string(*r.memory_swap - *r.memory_limit);
            write_value(d.v2 + "/memory.swap.max", swap);
        }
    }
    if (r.memory_reservation) {
        if (auto m = v1("memory"))
            write_value(*m + "/memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation));
        else  // v2's counterpart, as runc maps it
            write_value(d.v2 + "/memory.low", limit_or_max(*r.memory_reservation));
    }
    auto cpuset = dir_of("cpuset");
    if (!r.cpuset_cpus.empty()) write_value(cpuset + "/cpuset.cpus", r.cpuset_cpus);
    if (!r.cpuset_mems.empty()) write_value(cpuset + "/cpuset.mems", r.cpuset_mems);
    if (r.pids_limit) {
        auto v = *r.pids_limit <= 0 ? std::string("max") : std::to_string(*r.pids_limit);
        write_value(dir_of("pids") + "/pids.max", v);
    }
    // A page size the kernel does not have has no file: the write names it. The reservation
    // limit (kernels since 5.7) is set to the same value where it exists, as runc sets it, so
    // that pages reserved by mmap and not yet faulted count too.
    for (auto& l : r.hugepages) {
        bool on_v1 = v1("hugetlb") != nullptr;
        auto base = dir_of("hugetlb") + "/hugetlb." + l.page_size;
        auto value = std::to_string(l.limit);
        write_value(base + (on_v1 ? ".limit_in_bytes" : ".max"), value);
        if (auto rsvd = base + (on_v1 ? ".rsvd.limit_in_bytes" : ".rsvd.max"); exists(rsvd))
            write_value(rsvd, value);
    }
    if (auto c = v1("cpu")) {
        if (r.cpu_period) write_value(*c + "/cpu.cfs_period_us", std::to_string(*r.cpu_period));
        if (r.cpu_quota) write_value(*c + "/cpu.cfs_quota_us", std::to_string(*r.cpu_quota));
        if (r.cpu_shares) write_value(*c + "/cpu.shares", std::to_string(*r.cpu_shares));
    } else {
        if (r.cpu_quota || r.cpu_period)
            write_value(d.v2 + "/cpu.max", limit_or_max(r.cpu_quota.value_or(-1)) + " " +
                                               std::to_string(r.cpu_period.value_or(100000)));
        if (r.cpu_shares)
            write_value(d.v2 + "/cpu.weight", std::to_string(shares_to_weight(*r.cpu_shares)));
    }
    if (!r.blkio.empty()) {
        auto b = v1("blkio");
        auto dir = b ? *b : d.v2;
        bool bfq = exists(dir + (b ? "/blkio.bfq.weight" : "/io.bfq.weight"));
        for (auto& [file, value] : blkio_writes(r.blkio, !b, bfq))
            write_value(dir + "/" + file, value);
    }
    for (auto& [key, value] : r.unified) {
        if (d.v2.empty()) throw InputError("linux.resources.unified: the cgroup has no v2 part");
        write_value(d.v2 + "/" + key, value);
    }
}

void enable_unified(const Hierarchies& h, const CgroupDirs& d, const Resources& r) {
    auto ctrls = unified_controllers(r);
    if (ctrls.empty()) return;
    if (h.v2.empty() || d.v2.rfind(h.v2 + "/", 0) != 0)
        throw InputError("linux.resources.unified: the cgroup has no v2 part");
    make_v2_path(h.v2, d.v2, ctrls, ctrls);
}

void add_process(const CgroupDirs& d, pid_t pid) {
    auto p = std::to_string(pid);
    if (!d.v2.empty()) write_value(d.v2 + "/cgroup.procs", p);
    for (auto& [c, dir] : d.v1) write_value(dir + "/cgroup.procs", p);
}

std::vector<pid_t> cgroup_pids(const CgroupDirs& d) {
    std::string dir = !d.v2.empty() ? d.v2 : d.v1.begin()->second;
    std::vector<pid_t> out;
    std::istringstream in(read_file_or_empty(dir + "/cgroup.procs"));
    long pid;
    while (in >> pid) out.push_back(static_cast<pid_t>(pid));
    return out;
}

void freeze(const CgroupDirs& d, bool on) {
    if (auto it = d.v1.find("freezer"); it != d.v1.end()) {
        write_value(it->second + "/freezer.state", on ? "FROZEN" : "THAWED");
        return;
    }
    if (d.v2.empty() || !exists(d.v2 + "/cgroup.freeze"))
        throw InputError("no freezer: neither cgroup v2's cgroup.freeze nor the v1 freezer");
    write_value(d.v2 + "/cgroup.freeze", on ? "1" : "0");
}

bool frozen(const CgroupDirs& d) {
    if (auto it = d.v1.find("freezer"); it != d.v1.end())
        return read_file_or_empty(it->second + "/freezer.state").rfind("FROZEN", 0) == 0;
    return !d.v2.empty() && read_file_or_empty(d.v2 + "/cgroup.freeze").rfind("1", 0) == 0;
}

void destroy_cgroup(const CgroupDirs& d) {
    if (d.empty()) return;
    // A frozen task cannot die: thaw first.
    if (frozen(d)) freeze(d, false);
    if (!d.v2.empty() && exists(d.v2 + "/cgroup.kill")) {
        write_value(d.v2 + "/cgroup.kill", "1");
    } else {
        for (auto pid : cgroup_pids(d)) kill(pid, SIGKILL);
    }
    // rmdir succeeds once the last task is gone (EBUSY until then); the v2 directory's
    // cgroup.events says "populated 0" at that moment, and poll wakes on its change.
    auto try_rmdir = [](const std::string& dir) {
        return rmdir(dir.c_str()) == 0 || errno == ENOENT;
    };
    if (!d.v2.empty()) {
        UniqueFd ev(open((d.v2 + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
        while (!try_rmdir(d.v2)) {
            if (errno != EBUSY || !ev) throw_sys("rmdir(" + d.v2 + ")");
            for (auto pid : cgroup_pids(d)) kill(pid, SIGKILL);
            pollfd p{ev.get(), POLLPRI, 0};
            char buf[256];
            (void)!pread(ev.get(), buf, sizeof buf, 0);
            if (poll(&p, 1, 100) < 0 && errno != EINTR) throw_sys("poll(cgroup.events)");
        }
    }
    for (auto& [c, dir] : d.v1) {
        // v1 has no populated event; the v2 wait above covered every process it also holds.
        for (int i = 0; !try_rmdir(dir); ++i) {
            if (errno != EBUSY || i > 1000) throw_sys("rmdir(" + dir + ")");
            for (auto pid : cgroup_pids(CgroupDirs{"", {{c, dir}}})) kill(pid, SIGKILL);
            usleep(1000);
        }
    }
}

}  // namespace bulwark::oci
