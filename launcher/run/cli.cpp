#include "run/cli.hpp"

#include <boost/program_options.hpp>
#include <charconv>
#include <sstream>

#include "core/cidr.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/names.hpp"
#include "core/signing.hpp"
#include "core/sys.hpp"
#include "run/network.hpp"

namespace po = boost::program_options;

namespace bulwark::cli {

namespace {

bool clean_absolute(const std::string& p) {
    if (!is_absolute(p)) return false;
    // ".." could climb out of the intended directory; the sandbox paths are literal.
    for (size_t pos = 0; (pos = p.find("..", pos)) != std::string::npos; pos += 2) {
        bool start = pos == 0 || p[pos - 1] == '/';
        bool end = pos + 2 == p.size() || p[pos + 2] == '/';
        if (start && end) return false;
    }
    return true;
}

void require_abs(const std::string& p, const std::string& what) {
    if (!clean_absolute(p))
        throw InputError(what + " " + p + ": must be an absolute path without \"..\"");
}

std::string resolve_rel(const std::string& p, const std::string& base) {
    if (p.empty() || is_absolute(p)) return p;
    return base + "/" + p;
}

}  // namespace

po::options_description run_options() {
    po::options_description d("bulwark run options");
    d.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                "JSON config file (flags override it)")(
        "rootfs", po::value<std::string>(), "directory to use as the read-only root")(
        "name", po::value<std::string>(), "instance name (default app)")(
        "profile", po::value<std::string>(), "seccomp profile, OCI/Docker JSON")(
        "policy", po::value<std::string>(), "network policy JSON")("user", po::value<std::string>(),
                                                                   "UID:GID (default 65534:65534)")(
        "net", po::value<std::string>(), "none|host|veth (default none)")(
        "iface", po::value<std::string>(), "host interface for --net host")(
        "host-addr", po::value<std::string>(), "host side address for --net veth")(
        "addr", po::value<std::string>(), "sandbox side address for --net veth")(
        "tmpfs", po::value<std::vector<std::string>>(), "PATH[:SIZE] noexec tmpfs (repeatable)")(
        "bind", po::value<std::vector<std::string>>(), "SRC:DST[:rw] bind mount (repeatable)")(
        "cap", po::value<std::vector<std::string>>(), "capability to keep (repeatable)")(
        "env", po::value<std::vector<std::string>>(), "K=V for the app (repeatable)")(
        "workdir", po::value<std::string>(), "working directory in the sandbox")(
        "hostname", po::value<std::string>(), "hostname in the sandbox (default: name)")(
        "audit-log", po::value<std::string>(), "append security events here")(
        "audit-key", po::value<std::string>(), "HMAC key file for the audit log's hash chain")(
        "verify-rootfs", po::value<std::string>(),
        "manifest from `bulwark rootfs seal`: refuse to start if the rootfs differs")(
        "trust-key", po::value<std::string>(),
        "Ed25519 public key PEM: refuse a profile, policy or config without a valid FILE.sig")(
        "memory", po::value<std::string>(), "memory.max for the sandbox, e.g. 256m (cgroup v2)")(
        "pids", po::value<std::string>(), "pids.max: most processes and threads (cgroup v2)")(
        "cpus", po::value<std::string>(), "cpu.max as CPUs, e.g. 0.5 (cgroup v2)")(
        "stop-timeout", po::value<std::string>(),
        "seconds between SIGTERM and SIGKILL (default 10)")(
        "learn", po::value<std::string>(),
        "learn a profile: every call --profile (the base) does not deny runs and is recorded, "
        "written to FILE (OCI JSON) when the app exits")(
        "notify", po::value<std::string>(),
        "under systemd, READY=1 once the app is exec'd (exec, default) or when the app sends it "
        "to $NOTIFY_SOCKET (app)");
    return d;
}

uint64_t parse_size(const std::string& s, const std::string& what) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    std::string suffix(p, s.data() + s.size());
    uint64_t mul = 1;
    if (suffix == "k" || suffix == "K")
        mul = 1ull << 10;
    else if (suffix == "m" || suffix == "M")
        mul = 1ull << 20;
    else if (suffix == "g" || suffix == "G")
        mul = 1ull << 30;
    else if (!suffix.empty())
        ec = std::errc::invalid_argument;
    if (s.empty() || ec != std::errc() || n == 0 || n > (1ull << 40) / mul)
        throw InputError(what + ": size \"" + s +
                         "\" is not a positive size like 128m (at most 1T)");
    return n * mul;
}

TmpfsSpec parse_tmpfs(const std::string& spec) {
    auto colon = spec.find(':');
    TmpfsSpec t;
    t.path = spec.substr(0, colon);
    require_abs(t.path, "--tmpfs");
    if (colon != std::string::npos)
        t.size_bytes = parse_size(spec.substr(colon + 1), "--tmpfs " + spec);
    return t;
}

BindSpec parse_bind(const std::string& spec) {
    BindSpec b;
    auto c1 = spec.find(':');
    if (c1 == std::string::npos) throw InputError("--bind " + spec + ": expected SRC:DST[:rw]");
    b.src = spec.substr(0, c1);
    auto rest = spec.substr(c1 + 1);
    auto c2 = rest.find(':');
    b.dst = rest.substr(0, c2);
    if (c2 != std::string::npos) {
        auto mode = rest.substr(c2 + 1);
        if (mode != "rw" && mode != "ro")
            throw InputError("--bind " + spec + ": mode must be rw or ro");
        b.rw = mode == "rw";
    }
    require_abs(b.src, "--bind source");
    require_abs(b.dst, "--bind destination");
    return b;
}

std::pair<std::string, std::string> parse_env(const std::string& spec) {
    auto eq = spec.find('=');
    if (eq == 0 || eq == std::string::npos) throw InputError("--env " + spec + ": expected K=V");
    return {spec.substr(0, eq), spec.substr(eq + 1)};
}

NetMode parse_net(const std::string& s) {
    if (s == "none") return NetMode::None;
    if (s == "host") return NetMode::Host;
    if (s == "veth") return NetMode::Veth;
    throw InputError("--net " + s + ": expected none, host or veth");
}

NotifyMode parse_notify(const std::string& s) {
    if (s == "exec") return NotifyMode::Exec;
    if (s == "app") return NotifyMode::App;
    throw InputError("--notify " + s + ": expected exec or app");
}

RunOptions load_config(const std::string& path, const std::string& trust_key) {
    auto doc = parse_json(signing::read_verified(path, trust_key), path);
    JsonAt root(doc, path);
    root.only_keys({"name", "rootfs", "command", "user", "profile", "policy", "net", "tmpfs",
                    "binds", "caps", "env", "workdir", "hostname", "audit_log", "audit_key",
                    "verify_rootfs", "limits", "stop_timeout", "notify"});
    auto base = dirname_of(path);
    RunOptions o;
    // Errors from the shared spec parsers name the flag: JsonAt::here raises them at the path.
    if (auto v = root.get("name")) o.name = v->str();
    if (auto v = root.get("rootfs")) o.rootfs = resolve_rel(v->str(), base);
    if (auto v = root.get("command")) o.command = v->str_list();
    if (auto v = root.get("user")) o.user = v->here([&] { return users::parse(v->str()); });
    if (auto v = root.get("profile")) o.profile = resolve_rel(v->str(), base);
    if (auto v = root.get("policy")) o.policy = resolve_rel(v->str(), base);
    if (auto net = root.get("net")) {
        net->only_keys({"mode", "iface", "host_addr", "addr"});
        if (auto v = net->get("mode")) o.net = v->here([&] { return parse_net(v->str()); });
        if (auto v = net->get("iface")) o.iface = v->str();
        auto cidr = [&](const JsonAt& v, const char* what) {
            return v.here([&] {
                parse_cidr4(v.str(), what);
                return v.str();
            });
        };
        if (auto v = net->get("host_addr")) o.host_addr = cidr(*v, "host_addr");
        if (auto v = net->get("addr")) o.addr = cidr(*v, "addr");
    }
    if (auto v = root.get("tmpfs"))
        for (size_t i = 0; i < v->size(); ++i)
            o.tmpfs.push_back((*v)[i].here([&] { return parse_tmpfs((*v)[i].str()); }));
    if (auto v = root.get("binds"))
        for (size_t i = 0; i < v->size(); ++i)
            o.binds.push_back((*v)[i].here([&] { return parse_bind((*v)[i].str()); }));
    if (auto v = root.get("caps")) o.caps = v->str_list();
    if (auto v = root.get("env"))
        for (auto& [k, val] : v->members()) o.env.emplace_back(k, val.str());
    if (auto v = root.get("workdir")) o.workdir = v->str();
    if (auto v = root.get("hostname")) o.hostname = v->str();
    if (auto v = root.get("audit_log")) o.audit_log = resolve_rel(v->str(), base);
    if (auto v = root.get("audit_key")) o.audit_key = resolve_rel(v->str(), base);
    if (auto v = root.get("verify_rootfs")) o.verify_rootfs = resolve_rel(v->str(), base);
    if (auto lim = root.get("limits")) {
        lim->only_keys({"memory", "pids", "cpus"});
        // Numbers or strings: "memory": "256m" or 268435456, "cpus": 0.5 or "0.5".
        auto text = [](const JsonAt& v) { return v.raw().is_number() ? v.raw().dump() : v.str(); };
        if (auto v = lim->get("memory"))
            o.limits.memory_bytes = v->here([&] { return parse_size(text(*v), "limits.memory"); });
        if (auto v = lim->get("pids"))
            o.limits.pids = v->here([&] { return cgroups::parse_pids(text(*v), "limits.pids"); });
        if (auto v = lim->get("cpus"))
            o.limits.millicpus =
                v->here([&] { return cgroups::parse_cpus(text(*v), "limits.cpus"); });
    }
    if (auto v = root.get("stop_timeout")) o.stop_timeout = static_cast<unsigned>(v->u64(86400));
    if (auto v = root.get("notify")) o.notify = v->here([&] { return parse_notify(v->str()); });
    return o;
}

RunOptions parse_run(const std::vector<std::string>& args) {
    std::vector<std::string> flags;
    std::vector<std::string> command;
    bool after = false;
    for (auto& a : args) {
        if (!after && a == "--") {
            after = true;
            continue;
        }
        (after ? command : flags).push_back(a);
    }
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(flags).options(run_options()).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(std::string("run: ") + e.what());
    }

    std::string trust = vm.count("trust-key") ? vm["trust-key"].as<std::string>() : "";
    RunOptions o =
        vm.count("config") ? load_config(vm["config"].as<std::string>(), trust) : RunOptions{};
    o.trust_key = trust;
    auto str = [&](const char* k, std::string& dst) {
        if (vm.count(k)) dst = vm[k].as<std::string>();
    };
    auto list = [&](const char* k) {
        return vm.count(k) ? vm[k].as<std::vector<std::string>>() : std::vector<std::string>{};
    };
    str("rootfs", o.rootfs);
    str("name", o.name);
    str("profile", o.profile);
    str("policy", o.policy);
    str("iface", o.iface);
    str("host-addr", o.host_addr);
    str("addr", o.addr);
    str("workdir", o.workdir);
    str("hostname", o.hostname);
    str("audit-log", o.audit_log);
    str("audit-key", o.audit_key);
    str("verify-rootfs", o.verify_rootfs);
    str("learn", o.learn);
    if (vm.count("user")) o.user = users::parse(vm["user"].as<std::string>());
    if (vm.count("net")) o.net = parse_net(vm["net"].as<std::string>());
    if (vm.count("notify")) o.notify = parse_notify(vm["notify"].as<std::string>());
    if (vm.count("stop-timeout")) {
        // Parsed here: program_options would wrap "-1" into a huge unsigned.
        auto s = vm["stop-timeout"].as<std::string>();
        unsigned v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 86400)
            throw InputError("--stop-timeout " + s + ": expected whole seconds from 0 to 86400");
        o.stop_timeout = v;
    }
    if (vm.count("memory"))
        o.limits.memory_bytes = parse_size(vm["memory"].as<std::string>(), "--memory");
    if (vm.count("pids"))
        o.limits.pids = cgroups::parse_pids(vm["pids"].as<std::string>(), "--pids");
    if (vm.count("cpus"))
        o.limits.millicpus = cgroups::parse_cpus(vm["cpus"].as<std::string>(), "--cpus");
    if (vm.count("tmpfs")) {
        o.tmpfs.clear();
        for (auto& s : list("tmpfs")) o.tmpfs.push_back(parse_tmpfs(s));
    }
    if (vm.count("bind")) {
        o.binds.clear();
        for (auto& s : list("bind")) o.binds.push_back(parse_bind(s));
    }
    if (vm.count("cap")) o.caps = list("cap");
    if (vm.count("env")) {
        o.env.clear();
        for (auto& s : list("env")) o.env.push_back(parse_env(s));
    }
    if (!command.empty()) o.command = command;
    validate(o);
    return o;
}

void validate(const RunOptions& o) {
    if (o.rootfs.empty()) throw InputError("--rootfs is required");
    if (o.command.empty())
        throw InputError("no command given (bulwark run ... -- COMMAND [ARG...])");
    if (o.command.front().empty()) throw InputError("the command is an empty string");
    require_abs(o.workdir, "--workdir");
    validate_name(o.name);
}

}  // namespace bulwark::cli
