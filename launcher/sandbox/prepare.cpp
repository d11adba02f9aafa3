// sandbox::prepare: every input read, checked and resolved before anything is touched.
#include "sandbox/sandbox.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/cidr.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/signing.hpp"
#include "core/sys.hpp"
#include "sandbox/caps.hpp"
#include "sandbox/in_root.hpp"
#include "sandbox/manifest.hpp"
#include "sandbox/seccomp_cache.hpp"
#include "sandbox/seccomp_learn.hpp"

namespace bulwark::sandbox {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
    for (auto& kv : env)
        if (kv.compare(0, key.size() + 1, key + "=") == 0) return kv.substr(key.size() + 1);
    return {};
}

bool under(const std::string& path, const std::string& dir) {
    return path == dir ||
           (path.compare(0, dir.size(), dir) == 0 && (dir == "/" || path[dir.size()] == '/'));
}

// Whether `path` (absolute, as the app will see it) names a regular file, looked up where it
// will come from: the deepest bind mount covering it, else the rootfs. Paths on a tmpfs start
// empty, so nothing there exists yet. Only "no such file" counts as missing: any other failure
// (a symlink loop, a refused lookup) is an error naming the path and errno.
enum class Lookup { kFound, kMissing, kUnknown };
Lookup look_up(const Prepared& p, const std::string& path) {
    const BindSpec* best = nullptr;
    for (auto& b : p.opt.binds)
        if (under(path, b.dst) && (!best || b.dst.size() > best->dst.size())) best = &b;
    for (auto& t : p.plan.tmpfs)
        if (under(path, t.path) && (!best || t.path.size() > best->dst.size()))
            return Lookup::kUnknown;
    std::string root = best ? best->src : p.opt.rootfs;
    std::string rest = best ? path.substr(best->dst.size()) : path;
    struct stat st {};
    if (rest.empty() || rest == "/")
        return stat(root.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? Lookup::kFound
                                                                   : Lookup::kMissing;
    auto failed = [&](const std::string& step) {
        if (errno == ENOENT || errno == ENOTDIR) return Lookup::kMissing;
        throw SysError(step, errno);
    };
    UniqueFd dir(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return failed("open(" + root + ")");
    auto fd = in_root::open(dir.get(), rest, O_PATH);
    if (!fd) return failed("look up " + path + " in " + root);
    if (fstat(fd.get(), &st) != 0) throw_sys("fstat(" + path + " in " + root + ")");
    return S_ISREG(st.st_mode) ? Lookup::kFound : Lookup::kMissing;
}

// Mirrors execvp's search so a missing command fails before anything starts. Relative PATH
// entries depend on the working directory inside the sandbox; they are left to execve.
void check_command(const Prepared& p) {
    const auto& cmd = p.opt.command.front();
    auto where = [&](const std::string& c) {
        return c[0] == '/' ? c : (p.opt.workdir == "/" ? "" : p.opt.workdir) + "/" + c;
    };
    for (auto& c : path_candidates(p.env, cmd)) {
        bool absolute_entry = c[0] == '/' || cmd.find('/') != std::string::npos;
        if (absolute_entry && look_up(p, where(c)) != Lookup::kMissing) return;
    }
    throw CommandNotFound(cmd +
                          (cmd.find('/') != std::string::npos ? ": not found in rootfs "
                                                              : ": not found in PATH of rootfs ") +
                          p.opt.rootfs);
}

}  // namespace

// execvp's candidates for `cmd` under the sandbox's PATH ("" entries mean the working directory).
std::vector<std::string> path_candidates(const std::vector<std::string>& env,
                                         const std::string& cmd) {
    if (cmd.find('/') != std::string::npos) return {cmd};
    std::vector<std::string> out;
    auto path = env_value(env, "PATH");
    for (size_t start = 0; start <= path.size();) {
        auto end = std::min(path.find(':', start), path.size());
        auto dir = path.substr(start, end - start);
        out.push_back((dir.empty() ? "." : dir) + "/" + cmd);
        start = end + 1;
    }
    return out;
}

std::string default_profile_path() {
    if (access(BULWARK_DEFAULT_PROFILE, R_OK) == 0) return BULWARK_DEFAULT_PROFILE;
    return BULWARK_SOURCE_PROFILE;
}

Prepared prepare(const RunOptions& opt) {
    Prepared p;
    p.opt = opt;
    if (opt.rootfs.empty()) throw InputError("--rootfs is required");
    struct stat st {};
    if (stat(opt.rootfs.c_str(), &st) != 0)
        throw InputError("rootfs " + opt.rootfs + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw InputError("rootfs " + opt.rootfs + ": not a directory");
    if (!opt.verify_rootfs.empty()) {
        // Before anything is mounted: the manifest (signed, with --trust-key) against the tree.
        auto text = signing::read_verified(opt.verify_rootfs, opt.trust_key);
        auto sealed = manifest::from_json(parse_json(text, opt.verify_rootfs), opt.verify_rootfs);
        auto diff = manifest::compare(sealed, manifest::scan(opt.rootfs));
        if (!diff.empty())
            throw InputError("rootfs " + opt.rootfs + " differs from " + opt.verify_rootfs + ": " +
                             manifest::describe(diff));
    }
    if (opt.command.empty())
        throw InputError("no command given (bulwark run ... -- COMMAND [ARG...])");
    if (opt.net == NetMode::Veth) {
        if (opt.host_addr.empty() || opt.addr.empty())
            throw InputError("--net veth needs --host-addr CIDR and --addr CIDR");
        auto host = parse_cidr4(opt.host_addr, "--host-addr");
        auto mine = parse_cidr4(opt.addr, "--addr");
        if (host.addr == mine.addr)
            throw InputError("--host-addr and --addr are the same address (" + host.addr + ")");
    }
    if (opt.net == NetMode::Host && !opt.policy.empty() && opt.iface.empty())
        throw InputError("--policy with --net host needs --iface (the interface to guard)");
    if (opt.net == NetMode::None && !opt.policy.empty())
        throw InputError(
            "--policy needs --net veth or --net host --iface IF (with --net none "
            "the sandbox has no network to guard)");
    if (!opt.policy.empty()) {
        validate_name(opt.name);
        p.policy = policy::load_policy(opt.policy, opt.trust_key);
    }
    for (auto& b : opt.binds) {
        struct stat bs {};
        if (stat(b.src.c_str(), &bs) != 0)
            throw InputError("--bind " + b.src + ": " + std::strerror(errno));
    }
    p.keep_caps = caps::parse_names(opt.caps);
    std::vector<std::string> kept_names;
    for (auto v : p.keep_caps) kept_names.push_back(caps::name_of(v));

    p.profile_path = opt.profile.empty() ? default_profile_path() : opt.profile;
    // Hash the bytes that are compiled, for the audit log, not a second read of the file.
    auto profile_text = signing::read_verified(p.profile_path, opt.trust_key);
    p.profile_sha256 = sha256_hex(profile_text);
    // Parsing and compiling a profile grows the heap by about 400 KB; a cached filter needs
    // none of it (faulting it in anyway cost 3-9% of a cached start).
    auto resolved_profile = [&] {
        prefault_heap(512 << 10);
        auto profile =
            seccomp::parse_profile(parse_json(profile_text, p.profile_path), p.profile_path);
        return seccomp::resolve(profile, seccomp::host_context(kept_names));
    };
    if (!opt.learn.empty()) {
        p.learn_base = resolved_profile();
        // The learning filter lets the launch through by construction (nothing but the base's
        // KILL and TRAP rules is decided in the kernel): no launch denials to ask about.
        p.filter = seccomp::learn::compile_learning(*p.learn_base, p.profile_path);
    } else {
        // The same bytes on the same host compile to the same program: a restart reuses it.
        // The cache is root's, so only root looks there.
        bool cacheable = geteuid() == 0;
        auto cache_dir = cacheable ? seccomp::cache::dir() : "";
        auto cache_key = cacheable ? seccomp::cache::key(p.profile_sha256, kept_names) : "";
        auto cached = cacheable ? seccomp::cache::load(cache_dir, cache_key) : std::nullopt;
        if (!cached) {
            cached =
                seccomp::cache::Entry{seccomp::compile(resolved_profile(), p.profile_path), {}};
            cached->launch_denials = seccomp::launch_denials(cached->filter);
            if (cacheable) seccomp::cache::store(cache_dir, cache_key, *cached);
        }
        p.filter = std::move(cached->filter);
        // A filter that takes away what the launch needs would end as a bare SIGSEGV or exit.
        if (!cached->launch_denials.empty())
            throw InputError("profile " + p.profile_path + " " + cached->launch_denials.front());
    }
    for (auto& w : p.filter.warnings)
        fprintf(stderr, "bulwark: warning: %s: %s\n", p.profile_path.c_str(), w.c_str());

    p.plan.rootfs = opt.rootfs;
    p.plan.binds = opt.binds;
    p.plan.workdir = opt.workdir;
    p.plan.tmpfs = opt.tmpfs;
    bool has_tmp = false;
    for (auto& t : opt.tmpfs) has_tmp |= t.path == "/tmp";
    if (!has_tmp) p.plan.tmpfs.insert(p.plan.tmpfs.begin(), TmpfsSpec{"/tmp", 128ull << 20});

    p.env = {std::string("PATH=") + kDefaultPath, "HOME=/"};
    // `--notify app` under systemd: the app gets a socket of its own; the supervisor passes on
    // what it says. Without NOTIFY_SOCKET nobody listens, so the app gets none.
    if (opt.notify == NotifyMode::App && getenv("NOTIFY_SOCKET")) {
        p.plan.notify_socket = kAppNotifySocket;
        p.env.push_back(std::string("NOTIFY_SOCKET=") + kAppNotifySocket);
    }
    for (auto& [k, v] : opt.env) {
        std::string kv = k + "=" + v;
        bool replaced = false;
        for (auto& e : p.env)
            if (e.compare(0, k.size() + 1, k + "=") == 0) {
                e = kv;
                replaced = true;
            }
        if (!replaced) p.env.push_back(kv);
    }
    check_command(p);
    return p;
}

}  // namespace bulwark::sandbox
