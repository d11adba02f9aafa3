#include "oci/spec.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "core/sys.hpp"
#include "sandbox/caps.hpp"

namespace bulwark::oci {

namespace {

struct FlagOption {
    const char* name;
    bool clear;  // the option turns the flag off
    unsigned long flag;
};

// mount(8)'s names, as runc's and crun's option tables have them.
constexpr FlagOption kFlagOptions[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
};

constexpr std::pair<const char*, unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

unsigned long propagation_of(const std::string& s) {
    for (auto& [name, flag] : kPropagation)
        if (s == name) return flag;
    return 0;
}

constexpr std::pair<const char*, int> kNamespaces[] = {
    {"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},     {"cgroup", CLONE_NEWCGROUP},
    {"user", CLONE_NEWUSER}, {"time", CLONE_NEWTIME},
};

constexpr std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

std::vector<cap_value_t> cap_list(const JsonAt& j) {
    std::vector<cap_value_t> out;
    for (size_t i = 0; i < j.size(); ++i) {
        auto e = j[i];
        out.push_back(e.here([&] { return caps::parse_name(e.str()); }));
    }
    return out;
}

// Refuses a member that asks for something bulwark-oci does not do, unless it is empty.
void refuse_nonempty(const JsonAt& obj, std::string_view key, const std::string& why) {
    auto v = obj.get(key);
    if (!v || v->is_null()) return;
    auto& raw = v->raw();
    if ((raw.is_string() && raw.get<std::string>().empty()) ||
        ((raw.is_array() || raw.is_object()) && raw.empty()))
        return;
    v->fail("not supported by bulwark-oci: " + why);
}

// Keeps the members of `j` that are not `keys` as ignored properties (spec.hpp, Unknown).
void note_unknown(const JsonAt& j, std::initializer_list<std::string_view> keys, Unknown& unknown) {
    for (auto& w : j.unknown_keys(keys)) unknown.push_back(std::move(w));
}

std::vector<Hook> parse_hooks(const JsonAt& j, Unknown& unknown) {
    std::vector<Hook> out;
    for (size_t i = 0; i < j.size(); ++i) {
        auto h = j[i];
        note_unknown(h, {"path", "args", "env", "timeout"}, unknown);
        Hook hook;
        hook.path = h.at("path").str();
        if (!is_absolute(hook.path)) h.at("path").fail("must be an absolute path");
        if (auto a = h.get("args")) hook.args = a->str_list();
        if (auto e = h.get("env")) hook.env = e->str_list();
        if (auto t = h.get("timeout")) {
            hook.timeout = static_cast<unsigned>(t->u64(86400));
            if (*hook.timeout == 0) t->fail("must be greater than zero");
        }
        out.push_back(std::move(hook));
    }
    return out;
}

}  // namespace

bool MountOptions::bind() const {
    return flags & MS_BIND;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
    MountOptions m;
    for (auto& o : options) {
        bool known = false;
        for (auto& f : kFlagOptions) {
            if (o != f.name) continue;
            known = true;
            if (f.clear) {
                m.flags &= ~f.flag;
                m.clear |= f.flag;
            } else {
                m.flags |= f.flag;
                m.clear &= ~f.flag;
            }
        }
        if (known) continue;
        if (auto p = propagation_of(o)) {
            m.propagation = p;
            continue;
        }
        if (o == "tmpcopyup") {
            m.copy_up = true;
            continue;
        }
        if (o == "idmap" || o == "ridmap" || o == "copy-symlink" || o.rfind("X-", 0) == 0 ||
            o.rfind("x-", 0) == 0)
            throw InputError("mount option \"" + o + "\" is not supported by bulwark-oci");
        if (o.empty()) continue;
        m.data += (m.data.empty() ? "" : ",") + o;
    }
    return m;
}

int rlimit_resource(const std::string& name) {
    for (auto& [n, r] : kRlimits)
        if (name == n) return r;
    throw InputError("unknown rlimit \"" + name + "\"");
}

std::string DeviceRule::v1() const {
    auto num = [](int64_t v) { return v < 0 ? std::string("*") : std::to_string(v); };
    if (type == 'a') return "a";
    return std::string(1, type) + " " + num(major) + ":" + num(minor) + " " + access;
}

Process parse_process(const JsonAt& j, Unknown& unknown) {
    Process p;
    note_unknown(j,
                 {"terminal", "consoleSize", "user", "args", "commandLine", "env", "cwd",
                  "capabilities", "rlimits", "noNewPrivileges", "apparmorProfile", "oomScoreAdj",
                  "selinuxLabel", "ioPriority", "scheduler", "execCPUAffinity"},
                 unknown);
    if (auto t = j.get("terminal")) p.terminal = t->boolean();
    p.args = j.at("args").str_list();
    if (p.args.empty()) j.at("args").fail("must name the program to run");
    if (auto e = j.get("env")) p.env = e->str_list();
    if (auto c = j.get("cwd")) {
        p.cwd = c->str();
        if (!is_absolute(p.cwd)) c->fail("must be an absolute path");
    }
    if (auto u = j.get("user")) {
        note_unknown(*u, {"uid", "gid", "umask", "additionalGids", "username"}, unknown);
        if (auto v = u->get("uid")) p.uid = static_cast<uid_t>(v->u64(UINT32_MAX - 1));
        if (auto v = u->get("gid")) p.gid = static_cast<gid_t>(v->u64(UINT32_MAX - 1));
        if (auto v = u->get("umask")) p.umask = static_cast<mode_t>(v->u64(0777));
        if (auto v = u->get("additionalGids"))
            for (size_t i = 0; i < v->size(); ++i)
                p.additional_gids.push_back(static_cast<gid_t>((*v)[i].u64(UINT32_MAX - 1)));
    }
    if (auto c = j.get("capabilities")) {
        note_unknown(*c, {"bounding", "effective", "inheritable", "permitted", "ambient"}, unknown);
        auto set = [&](const char* key, std::vector<cap_value_t>& out) {
            if (auto v = c->get(key)) out = cap_list(*v);
        };
        set("bounding", p.caps.bounding);
        set("effective", p.caps.effective);
        set("inheritable", p.caps.inheritable);
        set("permitted", p.caps.permitted);
        set("ambient", p.caps.ambient);
    }
    if (auto r = j.get("rlimits")) {
        for (size_t i = 0; i < r->size(); ++i) {
            auto e = (*r)[i];
            note_unknown(e, {"type", "soft", "hard"}, unknown);
            Rlimit rl;
            rl.name = e.at("type").str();
            rl.resource = e.at("type").here([&] { return rlimit_resource(rl.name); });
            rl.soft = e.at("soft").u64();
            rl.hard = e.at("hard").u64();
            if (rl.soft > rl.hard) e.fail("soft limit above the hard limit");
            p.rlimits.push_back(rl);
        }
    }
    if (auto n = j.get("noNewPrivileges")) p.no_new_privileges = n->boolean();
    if (auto o = j.get("oomScoreAdj")) p.oom_score_adj = static_cast<int>(o->i64(-1000, 1000));
    if (auto a = j.get("apparmorProfile")) p.apparmor_profile = a->str();
    refuse_nonempty(j, "selinuxLabel", "SELinux labels are not applied (they would be ignored)");
    if (auto io = j.get("ioPriority")) {
        note_unknown(*io, {"class", "priority"}, unknown);
        IoPriority prio;
        prio.io_class = io->at("class").here([&] { return io_class_of(io->at("class").str()); });
        if (auto v = io->get("priority")) prio.level = static_cast<int>(v->u64(7));
        p.io_priority = prio;
    }
    if (auto sc = j.get("scheduler")) {
        note_unknown(*sc, {"policy", "nice", "priority", "flags", "runtime", "deadline", "period"},
                     unknown);
        Scheduler s;
        auto policy = sc->at("policy");
        s.policy = policy.here([&] { return sched_policy_of(policy.str()); });
        if (auto v = sc->get("nice")) s.nice = static_cast<int32_t>(v->i64(-20, 19));
        if (auto v = sc->get("priority")) s.priority = static_cast<uint32_t>(v->u64(99));
        if (auto v = sc->get("flags"))
            for (size_t i = 0; i < v->size(); ++i)
                s.flags |= (*v)[i].here([&] { return sched_flag_of((*v)[i].str()); });
        if (auto v = sc->get("runtime")) s.runtime = v->u64();
        if (auto v = sc->get("deadline")) s.deadline = v->u64();
        if (auto v = sc->get("period")) s.period = v->u64();
        p.scheduler = s;
    }
    if (auto a = j.get("execCPUAffinity")) {
        note_unknown(*a, {"initial", "final"}, unknown);
        if (auto v = a->get("initial"))
            p.cpus_initial = v->here([&] { return parse_cpu_list(v->str()); });
        if (auto v = a->get("final"))
            p.cpus_final = v->here([&] { return parse_cpu_list(v->str()); });
    }
    return p;
}

Resources parse_resources(const JsonAt& j, Unknown& unknown) {
    Resources r;
    note_unknown(j,
                 {"devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network",
                  "rdma", "unified"},
                 unknown);
    if (auto m = j.get("memory")) {
        note_unknown(*m,
                     {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
                      "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"},
                     unknown);
        if (auto v = m->get("limit")) r.memory_limit = v->i64(-1, INT64_MAX);
        if (auto v = m->get("swap")) r.memory_swap = v->i64(-1, INT64_MAX);
        if (r.memory_limit && r.memory_swap && *r.memory_swap >= 0 &&
            *r.memory_swap < *r.memory_limit)
            m->at("swap").fail("memory+swap limit below the memory limit");
        if (auto v = m->get("reservation")) r.memory_reservation = v->i64(-1, INT64_MAX);
        refuse_nonempty(*m, "kernel", "kernel memory limits (gone from cgroup v2)");
        refuse_nonempty(*m, "kernelTCP", "kernel TCP memory limits");
        if (auto d = m->get("disableOOMKiller"); d && d->boolean())
            d->fail("not supported by bulwark-oci: disabling the OOM killer");
    }
    if (auto c = j.get("cpu")) {
        note_unknown(*c,
                     {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod",
                      "cpus", "mems", "idle"},
                     unknown);
        if (auto v = c->get("quota")) r.cpu_quota = v->i64(-1, INT64_MAX);
        if (auto v = c->get("period")) r.cpu_period = v->u64(1000000);
        if (auto v = c->get("shares")) r.cpu_shares = v->u64(262144);
        // A list as cpuset.cpus takes it ("0-3,6"); the kernel checks the CPUs exist.
        auto cpu_list = [](const JsonAt& v) {
            auto text = v.str();
            if (text.find_first_not_of("0123456789,-") != std::string::npos)
                v.fail("not a list of CPUs or memory nodes such as \"0-3,6\"");
            return text;
        };
        if (auto v = c->get("cpus")) r.cpuset_cpus = cpu_list(*v);
        if (auto v = c->get("mems")) r.cpuset_mems = cpu_list(*v);
        for (auto key : {"burst", "realtimeRuntime", "realtimePeriod", "idle"})
            refuse_nonempty(*c, key, "this cpu setting");
    }
    if (auto p = j.get("pids")) {
        note_unknown(*p, {"limit"}, unknown);
        r.pids_limit = p->at("limit").i64(INT64_MIN, INT64_MAX);
    }
    if (auto d = j.get("devices")) {
        for (size_t i = 0; i < d->size(); ++i) {
            auto e = (*d)[i];
            note_unknown(e, {"allow", "type", "major", "minor", "access"}, unknown);
            DeviceRule rule;
            rule.allow = e.at("allow").boolean();
            if (auto t = e.get("type")) {
                auto s = t->str();
                if (s != "a" && s != "c" && s != "b") t->fail("must be a, c or b");
                rule.type = s[0];
            }
            if (auto v = e.get("major")) rule.major = v->i64(-1, UINT32_MAX);
            if (auto v = e.get("minor")) rule.minor = v->i64(-1, UINT32_MAX);
            if (auto v = e.get("access")) {
                rule.access = v->str();
                if (rule.access.find_first_not_of("rwm") != std::string::npos)
                    v->fail("access is made of r, w and m");
            }
            r.devices.push_back(rule);
        }
    }
    if (auto h = j.get("hugepageLimits")) {
        for (size_t i = 0; i < h->size(); ++i) {
            auto e = (*h)[i];
            note_unknown(e, {"pageSize", "limit"}, unknown);
            HugepageLimit l;
            l.page_size = e.at("pageSize").str();
            // Digits and a unit, as the kernel names the files: the name is part of a path.
            auto unit = l.page_size.find_first_not_of("0123456789");
            static const char* kUnits[] = {"KB", "MB", "GB", "TB", "PB"};
            bool ok = unit > 0 && unit != std::string::npos && l.page_size[0] != '0' &&
                      std::find(std::begin(kUnits), std::end(kUnits), l.page_size.substr(unit)) !=
                          std::end(kUnits);
            if (!ok) e.at("pageSize").fail("not a page size such as \"2MB\" or \"1GB\"");
            l.limit = e.at("limit").u64();
            r.hugepages.push_back(l);
        }
    }
    if (auto u = j.get("unified")) {
        for (auto& member : u->members()) {
            const std::string& key = member.first;  // not a binding: clang 14 captures none
            member.second.here([&] { return unified_controller(key); });
            r.unified[key] = member.second.str();
        }
    }
    if (auto b = j.get("blockIO")) {
        note_unknown(
            *b,
            {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
             "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"},
            unknown);
        // The kernel's range for blkio/io weights; 0 and 1001 are EINVAL or ERANGE there.
        auto weight = [](const JsonAt& v) {
            auto w = v.u64(1000);
            if (w < 10) v.fail("a weight is 10 to 1000");
            return static_cast<uint16_t>(w);
        };
        auto device = [&](const JsonAt& e) {
            BlockIO::Device d;
            d.major = static_cast<uint32_t>(e.at("major").u64(UINT32_MAX));
            d.minor = static_cast<uint32_t>(e.at("minor").u64(UINT32_MAX));
            return d;
        };
        if (auto v = b->get("weight")) r.blkio.weight = weight(*v);
        if (auto v = b->get("leafWeight")) r.blkio.leaf_weight = weight(*v);
        if (auto list = b->get("weightDevice")) {
            for (size_t i = 0; i < list->size(); ++i) {
                auto e = (*list)[i];
                note_unknown(e, {"major", "minor", "weight", "leafWeight"}, unknown);
                auto d = device(e);
                if (auto v = e.get("weight")) d.weight = weight(*v);
                if (auto v = e.get("leafWeight")) d.leaf_weight = weight(*v);
                r.blkio.weight_device.push_back(d);
            }
        }
        std::pair<const char*, std::vector<BlockIO::Device>*> throttles[] = {
            {"throttleReadBpsDevice", &r.blkio.read_bps},
            {"throttleWriteBpsDevice", &r.blkio.write_bps},
            {"throttleReadIOPSDevice", &r.blkio.read_iops},
            {"throttleWriteIOPSDevice", &r.blkio.write_iops}};
        for (auto& [key, out] : throttles) {
            auto list = b->get(key);
            for (size_t i = 0; list && i < list->size(); ++i) {
                auto e = (*list)[i];
                note_unknown(e, {"major", "minor", "rate"}, unknown);
                auto d = device(e);
                d.rate = e.at("rate").u64();
                out->push_back(d);
            }
        }
    }
    for (auto key : {"network", "rdma"}) refuse_nonempty(j, key, "these resources");
    return r;
}

std::string unified_controller(const std::string& key) {
    auto bad = [&](const std::string& why) { return InputError("\"" + key + "\": " + why); };
    auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
        throw bad("not a cgroup v2 file name such as \"memory.oom.group\"");
    auto ctrl = key.substr(0, dot);
    if (ctrl.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos ||
        key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
                              dot) != std::string::npos)
        throw bad("not a cgroup v2 file name such as \"memory.oom.group\"");
    if (ctrl != "cgroup") return ctrl;
    // Membership, controllers, pausing and killing are the runtime's: a spec that wrote them
    // would move or kill processes behind its back.
    for (auto managed : {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.type",
                         "cgroup.freeze", "cgroup.kill"})
        if (key == managed) throw bad("managed by the runtime, not settable");
    return "";
}

bool Spec::has_namespace(int flag) const {
    return find_namespace(flag) != nullptr;
}

const Namespace* Spec::find_namespace(int flag) const {
    for (auto& n : namespaces)
        if (n.flag == flag) return &n;
    return nullptr;
}

Spec parse_spec(const Json& doc, const std::string& file, const std::string& bundle) {
    JsonAt top(doc, file);
    Spec s;
    s.file = file;
    note_unknown(top,
                 {"ociVersion", "root", "mounts", "process", "hostname", "domainname", "hooks",
                  "annotations", "linux", "solaris", "windows", "vm", "zos"},
                 s.unknown);
    s.oci_version = top.at("ociVersion").str();
    if (s.oci_version.rfind("1.", 0) != 0)
        top.at("ociVersion").fail("unsupported version (bulwark-oci reads 1.x)");
    for (auto key : {"solaris", "windows", "vm", "zos"}) refuse_nonempty(top, key, "not Linux");

    auto root = top.at("root");
    note_unknown(root, {"path", "readonly"}, s.unknown);
    s.root = root.at("path").str();
    if (!is_absolute(s.root)) s.root = bundle + "/" + s.root;
    if (auto ro = root.get("readonly")) s.root_readonly = ro->boolean();

    if (auto m = top.get("mounts")) {
        for (size_t i = 0; i < m->size(); ++i) {
            auto e = (*m)[i];
            note_unknown(e,
                         {"destination", "type", "source", "options", "uidMappings", "gidMappings"},
                         s.unknown);
            refuse_nonempty(e, "uidMappings", "id-mapped mounts");
            refuse_nonempty(e, "gidMappings", "id-mapped mounts");
            Mount mt;
            mt.pointer = e.pointer();
            mt.destination = e.at("destination").str();
            if (!is_absolute(mt.destination)) e.at("destination").fail("must be absolute");
            if (auto t = e.get("type")) mt.type = t->str();
            if (auto src = e.get("source")) mt.source = src->str();
            if (auto o = e.get("options"))
                mt.opts = o->here([&] { return parse_mount_options(o->str_list()); });
            if (mt.type == "bind") mt.opts.flags |= MS_BIND;
            if (mt.opts.bind() && !mt.source.empty() && !is_absolute(mt.source))
                mt.source = bundle + "/" + mt.source;
            if (!mt.opts.bind() && mt.type.empty()) e.fail("a mount needs a type or \"bind\"");
            if (mt.opts.copy_up && (mt.opts.bind() || mt.type != "tmpfs"))
                e.at("options").fail("tmpcopyup is for tmpfs mounts only");
            s.mounts.push_back(std::move(mt));
        }
    }

    if (auto p = top.get("process"))
        s.process = parse_process(*p, s.unknown);
    else
        top.fail("\"process\" is required to create a container");
    if (auto h = top.get("hostname")) s.hostname = h->str();
    if (auto d = top.get("domainname")) s.domainname = d->str();
    if (auto a = top.get("annotations"))
        for (auto& [k, v] : a->members()) s.annotations[k] = v.str();
    if (auto h = top.get("hooks")) {
        note_unknown(*h,
                     {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                      "poststop"},
                     s.unknown);
        refuse_nonempty(*h, "createContainer", "hooks run inside the container's namespaces");
        refuse_nonempty(*h, "startContainer", "hooks run inside the container's namespaces");
        if (auto v = h->get("prestart")) s.hooks.prestart = parse_hooks(*v, s.unknown);
        if (auto v = h->get("createRuntime")) s.hooks.create_runtime = parse_hooks(*v, s.unknown);
        if (auto v = h->get("poststart")) s.hooks.poststart = parse_hooks(*v, s.unknown);
        if (auto v = h->get("poststop")) s.hooks.poststop = parse_hooks(*v, s.unknown);
    }

    auto linux = top.get("linux");
    if (!linux) top.fail("\"linux\" is required");
    note_unknown(*linux,
                 {"namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices",
                  "cgroupsPath", "rootfsPropagation", "maskedPaths", "readonlyPaths", "mountLabel",
                  "personality", "resources", "sysctl", "seccomp", "intelRdt", "memoryPolicy"},
                 s.unknown);
    refuse_nonempty(*linux, "uidMappings",
                    "user namespaces (bulwark-oci runs rootful containers; use non-root "
                    "process.user instead)");
    refuse_nonempty(*linux, "gidMappings", "user namespaces");
    refuse_nonempty(*linux, "mountLabel", "SELinux labels");
    if (auto pers = linux->get("personality")) {
        note_unknown(*pers, {"domain", "flags"}, s.unknown);
        auto domain = pers->at("domain");
        s.personality = domain.here([&] { return personality_of(domain.str()); });
        // The spec defines no flag values yet.
        if (auto f = pers->get("flags"); f && f->size() > 0)
            (*f)[0].fail("not supported: no personality flag is defined by the runtime spec");
    }
    refuse_nonempty(*linux, "intelRdt", "Intel RDT");
    refuse_nonempty(*linux, "memoryPolicy", "NUMA memory policies");
    if (auto ns = linux->get("namespaces")) {
        for (size_t i = 0; i < ns->size(); ++i) {
            auto e = (*ns)[i];
            note_unknown(e, {"type", "path"}, s.unknown);
            auto type = e.at("type").str();
            Namespace n;
            n.type = type;
            for (auto& [name, flag] : kNamespaces)
                if (type == name) n.flag = flag;
            if (!n.flag) e.at("type").fail("unknown namespace type \"" + type + "\"");
            if (n.flag == CLONE_NEWUSER)
                e.at("type").fail(
                    "not supported by bulwark-oci: user namespaces (it runs rootful containers; "
                    "use a non-root process.user)");
            if (auto p = e.get("path")) n.path = p->str();
            if (s.has_namespace(n.flag)) e.fail("namespace \"" + type + "\" listed twice");
            s.namespaces.push_back(n);
        }
    }
    if (!s.has_namespace(CLONE_NEWNS))
        top.fail("linux.namespaces: bulwark-oci needs a mount namespace (pivot_root changes it)");
    // As runc: a domain name set outside a UTS namespace of the container's would be the host's.
    if (!s.domainname.empty() && !s.has_namespace(CLONE_NEWUTS))
        top.at("domainname").fail("needs a uts namespace in linux.namespaces");
    if (auto t = linux->get("timeOffsets")) {
        note_unknown(*t, {"monotonic", "boottime"}, s.unknown);
        auto* ns = s.find_namespace(CLONE_NEWTIME);
        if (!ns || !ns->path.empty())
            t->fail("offsets need a new time namespace (a \"time\" entry without a path)");
        auto clock = [&](const char* name, namespaces::ClockOffset& out) {
            auto c = t->get(name);
            if (!c) return;
            note_unknown(*c, {"secs", "nanosecs"}, s.unknown);
            // The kernel's bound (KTIME_SEC_MAX / 2, some 146 years) keeps clocks from wrapping.
            constexpr int64_t kMaxSecs = 4611686018;
            if (auto v = c->get("secs")) out.secs = v->i64(-kMaxSecs, kMaxSecs);
            if (auto v = c->get("nanosecs")) out.nanosecs = static_cast<int64_t>(v->u64(999999999));
        };
        clock("monotonic", s.time_offsets.monotonic);
        clock("boottime", s.time_offsets.boottime);
    }
    if (auto d = linux->get("devices")) {
        for (size_t i = 0; i < d->size(); ++i) {
            auto e = (*d)[i];
            note_unknown(e, {"type", "path", "major", "minor", "fileMode", "uid", "gid"},
                         s.unknown);
            Device dev;
            auto t = e.at("type").str();
            if (t != "c" && t != "b" && t != "u" && t != "p")
                e.at("type").fail("must be c, b, u or p");
            dev.type = t[0];
            dev.path = e.at("path").str();
            if (dev.path.rfind("/dev/", 0) != 0) e.at("path").fail("must be under /dev/");
            if (dev.type != 'p') {
                dev.major = static_cast<uint32_t>(e.at("major").u64(UINT32_MAX));
                dev.minor = static_cast<uint32_t>(e.at("minor").u64(UINT32_MAX));
            }
            if (auto v = e.get("fileMode")) {
                // Podman gives the host node's whole st_mode (8576 = S_IFCHR | 0600 for
                // /dev/fuse), as runc takes it: a file type, if any, must be the node's.
                auto mode = static_cast<mode_t>(v->u64(S_IFMT | 07777));
                if ((mode & S_IFMT) != 0 && (mode & S_IFMT) != dev.file_type())
                    v->fail("its file type is not the type \"" + t + "\"");
                dev.mode = mode & 07777;
            }
            if (auto v = e.get("uid")) dev.uid = static_cast<uid_t>(v->u64(UINT32_MAX - 1));
            if (auto v = e.get("gid")) dev.gid = static_cast<gid_t>(v->u64(UINT32_MAX - 1));
            s.devices.push_back(dev);
        }
    }
    if (auto c = linux->get("cgroupsPath")) s.cgroups_path = c->str();
    if (auto r = linux->get("rootfsPropagation")) {
        s.rootfs_propagation = propagation_of(r->str());
        if (!s.rootfs_propagation) r->fail("unknown propagation \"" + r->str() + "\"");
    }
    if (auto m = linux->get("maskedPaths")) s.masked_paths = m->str_list();
    if (auto m = linux->get("readonlyPaths")) s.readonly_paths = m->str_list();
    if (auto r = linux->get("resources")) s.resources = parse_resources(*r, s.unknown);
    if (auto sc = linux->get("sysctl")) {
        for (auto& [k, v] : sc->members()) {
            if (k.find("..") != std::string::npos || k.find('/') != std::string::npos)
                v.fail("not a sysctl name");
            s.sysctl[k] = v.str();
        }
    }
    if (auto sc = linux->get("seccomp")) s.seccomp = sc->raw();
    return s;
}

Spec load_spec(const std::string& bundle) {
    auto file = bundle + "/config.json";
    return parse_spec(load_json_file(file), file, bundle);
}

std::vector<std::string> harden_process(Process& p) {
    std::vector<std::string> out;
    if (p.uid == 0) out.push_back("process.user.uid: 0 (root), the floor runs non-root");
    if (p.gid == 0) out.push_back("process.user.gid: 0 (root), the floor runs non-root");
    auto bad_caps = [&](const char* set, const std::vector<cap_value_t>& v) {
        // The bounding set lists what a container may keep; every other set must be inside it.
        for (auto c : v)
            if (std::find(p.caps.bounding.begin(), p.caps.bounding.end(), c) ==
                p.caps.bounding.end())
                out.push_back(std::string("process.capabilities.") + set + ": " + caps::name_of(c) +
                              " is not in the bounding set");
    };
    bad_caps("effective", p.caps.effective);
    bad_caps("permitted", p.caps.permitted);
    bad_caps("inheritable", p.caps.inheritable);
    bad_caps("ambient", p.caps.ambient);
    // Realtime classes are given by the runtime, which holds CAP_SYS_NICE and CAP_SYS_ADMIN: a
    // container at them could starve the host's CPUs or disks whatever capabilities it keeps.
    if (p.scheduler && is_realtime(*p.scheduler))
        out.push_back("process.scheduler.policy: a realtime policy, the floor runs none");
    if (p.io_priority && is_realtime(*p.io_priority))
        out.push_back("process.ioPriority.class: IOPRIO_CLASS_RT, the floor runs none");
    if (out.empty()) p.no_new_privileges = true;
    return out;
}

std::vector<std::string> harden(Spec& s) {
    auto out = harden_process(s.process);
    bool has_tmp = false;
    for (auto& m : s.mounts) {
        if (m.destination != "/tmp") continue;
        has_tmp = true;
        unsigned long need = MS_NOEXEC | MS_NOSUID | MS_NODEV;
        if (m.type != "tmpfs" || (m.opts.flags & need) != need)
            out.push_back(m.pointer + ": /tmp must be a tmpfs with noexec,nosuid,nodev");
    }
    if (!out.empty()) return out;
    s.root_readonly = true;
    if (!has_tmp) {
        Mount tmp;
        tmp.destination = "/tmp";
        tmp.type = "tmpfs";
        tmp.source = "tmpfs";
        tmp.opts =
            parse_mount_options({"nosuid", "noexec", "nodev", "mode=1777", "size=134217728"});
        tmp.pointer = "org.bulwark.harden";
        s.mounts.push_back(tmp);
    }
    return out;
}

int parse_signal(const std::string& in) {
    if (!in.empty() && std::all_of(in.begin(), in.end(), ::isdigit)) {
        int n = std::stoi(in.size() > 3 ? "999" : in);
        if (n > 0 && n < NSIG) return n;
        throw InputError("invalid signal \"" + in + "\"");
    }
    std::string s = in;
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (s.rfind("SIG", 0) == 0) s = s.substr(3);
    for (int n = 1; n < NSIG; ++n)
        if (auto a = sigabbrev_np(n); a && s == a) return n;
    if (s.rfind("RTMIN", 0) == 0 || s.rfind("RTMAX", 0) == 0) {
        int base = s[2] == 'M' && s[3] == 'I' ? SIGRTMIN : SIGRTMAX;
        auto rest = s.substr(5);
        int off = rest.empty() ? 0 : std::stoi(rest);
        int n = base + off;
        if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    }
    throw InputError("invalid signal \"" + in + "\"");
}

Json example_spec() {
    auto caps = Json::array();
    auto mount = [](const char* dst, const char* type, const char* src,
                    std::initializer_list<const char*> opts) {
        Json o = Json::array();
        for (auto x : opts) o.push_back(x);
        return Json{{"destination", dst}, {"type", type}, {"source", src}, {"options", o}};
    };
    Json mounts = Json::array(
        {mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
         mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
         mount("/dev/pts", "devpts", "devpts",
               {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
         mount("/dev/shm", "tmpfs", "shm",
               {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
         mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
         mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
         mount("/tmp", "tmpfs", "tmpfs",
               {"nosuid", "noexec", "nodev", "mode=1777", "size=134217728"})});
    Json ns = Json::array();
    for (auto t : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) ns.push_back({{"type", t}});
    return Json{
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", false},
          {"user", {{"uid", 65534}, {"gid", 65534}}},
          {"args", Json::array({"sh"})},
          {"env", Json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                               "TERM=xterm"})},
          {"cwd", "/"},
          {"capabilities",
           {{"bounding", caps},
            {"effective", caps},
            {"permitted", caps},
            {"inheritable", caps},
            {"ambient", caps}}},
          {"rlimits", Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "bulwark"},
        {"mounts", mounts},
        {"annotations", {{"org.bulwark.harden", "true"}}},
        {"linux",
         {{"namespaces", ns},
          {"maskedPaths",
           Json::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                        "/proc/sched_debug", "/proc/scsi", "/proc/interrupts", "/sys/firmware"})},
          {"readonlyPaths", Json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                         "/proc/sysrq-trigger"})}}}};
}

Json features() {
    Json ns = Json::array();
    for (auto& [name, flag] : kNamespaces)
        if (flag != CLONE_NEWUSER) ns.push_back(name);
    Json opts = Json::array();
    for (auto& f : kFlagOptions) opts.push_back(f.name);
    for (auto& [name, flag] : kPropagation) opts.push_back(name);
    opts.push_back("tmpcopyup");
    Json caps = Json::array();
    for (cap_value_t v = 0; v <= CAP_LAST_CAP; ++v) caps.push_back(caps::name_of(v));
    return Json{{"ociVersionMin", "1.0.0"},
                {"ociVersionMax", "1.1.0"},
                {"hooks", Json::array({"prestart", "createRuntime", "poststart", "poststop"})},
                {"mountOptions", opts},
                {"linux",
                 {{"namespaces", ns},
                  {"capabilities", caps},
                  {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}}},
                  {"seccomp", {{"enabled", true}}},
                  {"apparmor", {{"enabled", true}}},
                  {"selinux", {{"enabled", false}}}}},
                {"annotations",
                 {{"org.bulwark.policy", "XDP guard policy for the container's interfaces"},
                  {"org.bulwark.profile", "a bulwark seccomp profile instead of linux.seccomp"},
                  {"org.bulwark.harden", "true: refuse a spec below the launcher's floor"}}}};
}

}  // namespace bulwark::oci
