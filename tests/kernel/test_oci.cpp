// bulwark-oci as its callers drive it: runc's command line straight (the runtime-spec lifecycle),
// Podman with conmon, and containerd's runc shim through ctr. Containers run the busybox test
// rootfs; their network tests use 198.18.0.0/15 only, on a Podman network the test makes.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../tempdir.hpp"
#include "core/json_util.hpp"
#include "harness.hpp"
#include "oci/cgroup.hpp"
#include "sandbox/apparmor.hpp"
#include "sandbox/cgroups.hpp"

using harness::Result;
using harness::run;
namespace fs = std::filesystem;

namespace {

std::string oci_bin() {
    return harness::env("BULWARK_OCI");
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// One runtime root and scratch space per case. Commands run with stdout and stderr on a file:
// a container started by `create` inherits them, and a pipe would stay open for its life.
struct Oci {
    TempDir dir{"oci"};
    std::string root = dir / "state";

    // `also` runs in the child before the exec, as run()'s PreExec does.
    Result call(const std::vector<std::string>& args, int timeout_s = 60,
                const harness::PreExec& also = {}) {
        std::vector<std::string> argv{oci_bin(),        "--root",       root,  "--log",
                                      dir / "log.json", "--log-format", "json"};
        argv.insert(argv.end(), args.begin(), args.end());
        std::string out = dir / "out.txt";
        auto r = run(argv, timeout_s, [out, also] {
            int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(127);
            if (also) also();
        });
        r.out = slurp(out);
        return r;
    }
    bulwark::Json state(const std::string& id) {
        auto r = call({"state", id});
        INFO(r.out);
        REQUIRE(r.code == 0);
        return bulwark::parse_json(r.out, "state");
    }
    std::string status(const std::string& id) { return state(id).at("status"); }
    // The last line of --log, which Podman and containerd show as the runtime's error.
    bulwark::Json last_log() {
        auto lines = harness::lines(slurp(dir / "log.json"));
        REQUIRE(!lines.empty());
        return bulwark::parse_json(lines.back(), "log");
    }
};

// A bundle over the test rootfs (read-only root), with /data bound read-write from `out` so the
// container can leave results, and the given command.
std::string make_bundle(const TempDir& dir, const std::vector<std::string>& cmd,
                        const std::function<void(bulwark::Json&)>& edit = {}) {
    auto bundle = dir / "bundle";
    fs::create_directories(bundle);
    fs::create_directories(dir / "data");
    auto r = run({oci_bin(), "spec", "--bundle", bundle});
    REQUIRE(r.code == 0);
    auto doc = bulwark::load_json_file(bundle + "/config.json");
    doc["root"]["path"] = harness::rootfs();
    doc["process"]["args"] = cmd;
    // No /sys mount point in the test rootfs, and the tests share it: nothing is made in it.
    auto& mounts = doc["mounts"];
    for (size_t i = 0; i < mounts.size(); ++i)
        if (mounts[i]["destination"] == "/sys") mounts.erase(i--);
    mounts.push_back({{"destination", "/data"},
                      {"type", "bind"},
                      {"source", dir / "data"},
                      {"options", bulwark::Json::array({"rbind", "rw", "nosuid", "nodev"})}});
    doc["linux"]["resources"] = {{"pids", {{"limit", 32}}}};
    chmod((dir / "data").c_str(), 0777);
    if (edit) edit(doc);
    std::ofstream(bundle + "/config.json") << doc.dump(2);
    return bundle;
}

// The container's exit, as its reaper (this process, a subreaper, once create has gone) sees it.
int reap(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

size_t mount_count() {
    return harness::lines(harness::host_mountinfo()).size();
}

bool cgroup_left(const std::string& id) {
    auto h = bulwark::oci::host_hierarchies();
    std::vector<std::string> dirs{h.v2 + "/bulwark-oci/" + id};
    for (auto& [c, m] : h.v1) dirs.push_back(m + "/bulwark-oci/" + id);
    for (auto& d : dirs)
        if (!d.empty() && access(d.c_str(), F_OK) == 0) return true;
    return false;
}

// Creates `id` from a new `true` bundle that `edit` bends, which must fail (status 1) and leave
// nothing: no state directory, no cgroup. Returns what bulwark-oci said, for the caller to check
// that it names the field or file.
std::string refused_create(Oci& o, const std::string& id,
                           const std::function<void(bulwark::Json&)>& edit) {
    fs::remove_all(o.dir / "bundle");
    auto r = o.call({"create", "--bundle", make_bundle(o.dir, {"true"}, edit), id});
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK_FALSE(cgroup_left(id));
    CHECK(fs::is_empty(o.root));
    return r.out;
}

// The directory of process `pid`'s cgroup for `controller`: its v1 hierarchy's where the host
// mounts the controller so, else the cgroup v2 one (read from /proc/PID/cgroup); "": the v2 one.
std::string cgroup_dir_of(pid_t pid, const std::string& controller) {
    auto h = bulwark::oci::host_hierarchies();
    std::string v2;
    for (auto& line : harness::lines(slurp("/proc/" + std::to_string(pid) + "/cgroup"))) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        auto ctrl = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if (!controller.empty() && ctrl == controller) return h.v1.at(controller) + path;
        if (ctrl.empty()) v2 = h.v2 + path;
    }
    return v2;
}

// Whether the host's cgroup v2 offers the memory controller: a pure v2 host, where the kubelet
// gives every container memory.oom.group (kuberuntime's linux container resources).
bool memory_on_v2() {
    auto h = bulwark::oci::host_hierarchies();
    auto roots = bulwark::cgroups::split_words(h.v2.empty() ? std::string()
                                                            : slurp(h.v2 + "/cgroup.controllers"));
    return std::find(roots.begin(), roots.end(), "memory") != roots.end();
}

// `dir`/`v1` where the controller is v1's (that file exists), else `dir`/`v2`.
std::string v1_or_v2(const std::string& dir, const std::string& v1, const std::string& v2) {
    return dir + "/" + (fs::exists(dir + "/" + v1) ? v1 : v2);
}

constexpr const char* kApparmorParser = "/usr/sbin/apparmor_parser";

// The names of the AppArmor profiles the kernel holds.
std::vector<std::string> loaded_profiles() {
    std::vector<std::string> names;
    for (auto& line : harness::lines(slurp("/sys/kernel/security/apparmor/profiles")))
        names.push_back(line.substr(0, line.find(' ')));
    return names;
}

// Profiles whose names start with `prefix` that a case made Podman or containerd load (they
// leave theirs loaded), unloaded at its end, pass or fail; those loaded before it stay.
struct UnloadNewProfiles {
    std::string prefix;
    std::vector<std::string> before = loaded_profiles();
    explicit UnloadNewProfiles(std::string p) : prefix(std::move(p)) {}
    ~UnloadNewProfiles() {
        for (auto& name : loaded_profiles())
            if (name.rfind(prefix, 0) == 0 &&
                std::find(before.begin(), before.end(), name) == before.end())
                std::ofstream("/sys/kernel/security/apparmor/.remove") << name;
    }
};

// securityfs, where apparmor_parser loads profiles, mounted for the test when the system has not
// (the VM's init does not, so Podman there sees no AppArmor).
struct SecurityFs {
    bool mounted = false;
    SecurityFs() {
        if (access("/sys/kernel/security/apparmor", F_OK) == 0) return;
        REQUIRE(mount("securityfs", "/sys/kernel/security", "securityfs", 0, nullptr) == 0);
        mounted = true;
    }
    ~SecurityFs() {
        if (mounted) umount2("/sys/kernel/security", MNT_DETACH);
    }
};

// A profile loaded into the kernel for one case, and removed after it.
struct LoadedProfile {
    std::string file;
    LoadedProfile(std::string path, const std::string& text) : file(std::move(path)) {
        std::ofstream(file) << text;
        auto r = run({kApparmorParser, "-r", "-K", file});
        INFO(r.out);
        REQUIRE(r.code == 0);
    }
    ~LoadedProfile() { run({kApparmorParser, "-R", file}); }
};

}  // namespace

std::string kernel_precheck() {
    if (access(oci_bin().c_str(), X_OK) != 0) return "bulwark-oci is not built";
    // The [apparmor] cases' own ctest entry (kernel_oci_apparmor) asks for AppArmor.
    if (getenv("BULWARK_TEST_APPARMOR")) {
        if (!bulwark::sandbox::apparmor::enabled())
            return "AppArmor is not enabled in this kernel (Debian's, as in tests/vm/run "
                   "--debian-kernel, has it)";
        if (auto m = harness::missing_tool({kApparmorParser}); !m.empty()) return m;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return "cannot become a subreaper";
    // The CRI cases' client (tests/cri/cri.py) and the pods' network.
    for (auto f : {"/usr/lib/python3/dist-packages/grpc/__init__.py",
                   "/usr/lib/python3/dist-packages/grpc_tools/protoc.py"})
        if (access(f, F_OK) != 0)
            return std::string(f) + " is missing (python3-grpcio, -grpc-tools)";
    return harness::missing_tool({"/usr/bin/podman", "/usr/bin/conmon", "/usr/bin/containerd",
                                  "/usr/bin/ctr", "/usr/bin/curl", "/usr/lib/cni/ptp",
                                  "/usr/lib/cni/host-local"});
}

TEST_CASE(
    "create leaves the process blocked until start; state follows the lifecycle; delete "
    "removes everything",
    "[oci]") {
    Oci o;
    auto mounts_before = mount_count();
    auto bundle = make_bundle(o.dir, {"sh", "-c",
                                      "id -u > /data/uid; hostname > /data/host; "
                                      "grep CapEff /proc/self/status > /data/caps; "
                                      "touch /rootfile 2> /data/ro; exit 7"});
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "c1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    pid_t pid = std::stoi(slurp(pidfile));
    auto st = o.state("c1");
    CHECK(st.at("status") == "created");
    CHECK(st.at("pid") == pid);
    CHECK(st.at("bundle") == fs::canonical(bundle).string());
    CHECK(st.at("ociVersion") == "1.0.2");
    // Blocked before the user program: nothing written yet.
    CHECK_FALSE(fs::exists(o.dir / "data/uid"));
    CHECK(o.call({"create", "--bundle", bundle, "c1"}).code == 1);  // the ID is taken

    REQUIRE(o.call({"start", "c1"}).code == 0);
    CHECK(reap(pid) == 7);
    CHECK(trim(slurp(o.dir / "data/uid")) == "65534");
    CHECK(trim(slurp(o.dir / "data/host")) == "bulwark");
    CHECK(trim(slurp(o.dir / "data/caps")) == "CapEff:\t0000000000000000");
    CHECK_THAT(slurp(o.dir / "data/ro"), Catch::Contains("Read-only file system"));
    CHECK(o.status("c1") == "stopped");
    r = o.call({"start", "c1"});
    CHECK(r.code == 1);
    CHECK_THAT(o.last_log().at("msg").get<std::string>(), Catch::Contains("stopped"));

    REQUIRE(o.call({"delete", "c1"}).code == 0);
    r = o.call({"state", "c1"});
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Catch::Contains("does not exist"));
    CHECK_FALSE(cgroup_left("c1"));
    CHECK(mount_count() == mounts_before);
    CHECK(fs::is_empty(o.root));
}

TEST_CASE(
    "kill signals a created or running container; delete refuses a live one without "
    "--force",
    "[oci]") {
    Oci o;
    auto bundle = make_bundle(o.dir, {"sh", "-c",
                                      "trap 'exit 42' USR1; echo up > /data/up; "
                                      "while :; do sleep 0.05; done"});
    auto pidfile = o.dir / "pid";
    REQUIRE(o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "k1"}).code == 0);
    pid_t pid = std::stoi(slurp(pidfile));
    // Killed while created: it never runs the program.
    REQUIRE(o.call({"kill", "k1", "KILL"}).code == 0);
    CHECK(reap(pid) == 128 + SIGKILL);
    CHECK(o.status("k1") == "stopped");
    CHECK(o.call({"kill", "k1", "TERM"}).code == 1);  // nothing left to signal
    REQUIRE(o.call({"delete", "k1"}).code == 0);
    CHECK_FALSE(fs::exists(o.dir / "data/up"));

    REQUIRE(o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "k2"}).code == 0);
    pid = std::stoi(slurp(pidfile));
    REQUIRE(o.call({"start", "k2"}).code == 0);
    CHECK(o.status("k2") == "running");
    // The command's own options are its own, as with runc (bulwark-oci took -c for one of its
    // own before 2026-12-07).
    auto ex = o.call({"exec", "--cwd", "/data", "k2", "sh", "-c", "pwd; exit 5"});
    CHECK(ex.code == 5);
    CHECK(ex.out == "/data\n");
    auto ps = o.call({"ps", "--format", "json", "k2"});
    REQUIRE(ps.code == 0);
    CHECK(bulwark::parse_json(ps.out, "ps").size() >= 1);
    // Not stopped: delete is an error and changes nothing.
    CHECK(o.call({"delete", "k2"}).code == 1);
    CHECK(o.status("k2") == "running");
    REQUIRE(o.call({"pause", "k2"}).code == 0);
    CHECK(o.status("k2") == "paused");
    REQUIRE(o.call({"resume", "k2"}).code == 0);
    CHECK(o.status("k2") == "running");
    REQUIRE(o.call({"kill", "k2", "SIGUSR1"}).code == 0);
    CHECK(reap(pid) == 42);
    CHECK(trim(slurp(o.dir / "data/up")) == "up");
    REQUIRE(o.call({"delete", "k2"}).code == 0);

    // --force takes a running one down.
    REQUIRE(o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "k3"}).code == 0);
    pid = std::stoi(slurp(pidfile));
    REQUIRE(o.call({"start", "k3"}).code == 0);
    REQUIRE(o.call({"delete", "--force", "k3"}).code == 0);
    CHECK(reap(pid) == 128 + SIGKILL);
    CHECK_FALSE(cgroup_left("k3"));
    CHECK(fs::is_empty(o.root));
}

TEST_CASE("bad specs and failed set-ups are refused with the field named and leave nothing",
          "[oci]") {
    Oci o;
    auto mounts_before = mount_count();
    auto expect_refused = [&](const std::string& id, const std::string& bundle,
                              const std::string& what, const harness::PreExec& also = {}) {
        auto r = o.call({"create", "--bundle", bundle, id}, 60, also);
        INFO(r.out);
        CHECK(r.code == 1);
        CHECK_THAT(r.out, Catch::Contains(what));
        auto log = o.last_log();
        CHECK(log.at("level") == "error");
        CHECK_THAT(log.at("msg").get<std::string>(), Catch::Contains(what));
        CHECK_FALSE(fs::exists(o.root + "/" + id));
        CHECK_FALSE(cgroup_left(id));
    };
    auto bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["linux"]["uidMappings"] =
            bulwark::Json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    });
    expect_refused("b1", bundle, "/linux/uidMappings");
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["process"]["user"]["uid"] = 0;
        d["annotations"]["org.bulwark.harden"] = "true";
    });
    expect_refused("b2", bundle, "process.user.uid");
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"no-such-program"});
    expect_refused("b3", bundle, "executable file not found in $PATH");
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["hooks"]["prestart"] = bulwark::Json::array({{{"path", "/bin/false"}}});
    });
    expect_refused("b4", bundle, "prestart hook /bin/false exited with status 1");
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["mounts"].push_back({{"destination", "/data/x"},
                               {"type", "bind"},
                               {"source", "/nonexistent/src"},
                               {"options", bulwark::Json::array({"rbind"})}});
    });
    expect_refused("b5", bundle, "/nonexistent/src");
    // A hook past its timeout is killed, even one that ignores the alarm (before, it held the
    // create until it ended: 30 s here, and then passed).
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["hooks"]["prestart"] =
            bulwark::Json::array({{{"path", "/bin/sh"},
                                   {"args", {"sh", "-c", "trap '' ALRM; exec sleep 30"}},
                                   {"timeout", 1}}});
    });
    expect_refused("b8", bundle, "prestart hook /bin/sh was killed at its timeout (1 s)");
    // A namespace joined by a path to another type of namespace (runtime-tools'
    // linux_ns_path_type): setns checks the type, and the error names the entry.
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        for (auto& n : d["linux"]["namespaces"])
            if (n["type"] == "network") n["path"] = "/proc/self/ns/ipc";
    });
    expect_refused("b7", bundle, "setns(network namespace /proc/self/ns/ipc): Invalid argument");
    // A capability the runtime does not hold cannot be granted (config.md): root on this
    // project's test machine lacks CAP_SYS_RESOURCE; here it is dropped wherever the test runs.
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["process"]["capabilities"]["bounding"] =
            bulwark::Json::array({"CAP_KILL", "CAP_SYS_RESOURCE"});
    });
    expect_refused("b6", bundle,
                   "process.capabilities.bounding: CAP_SYS_RESOURCE is not in bulwark-oci's own "
                   "bounding set",
                   [] { prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0); });
    // An AppArmor profile: refused where AppArmor is off (as Podman and containerd name none
    // there); where it is on, one the kernel has not loaded fails the create.
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["process"]["apparmorProfile"] = "bulwark-absent";
    });
    expect_refused("b9", bundle,
                   bulwark::sandbox::apparmor::enabled()
                       ? "apparmor profile \"bulwark-absent\": write(/proc/thread-self/attr/"
                       : "process.apparmorProfile: AppArmor is not enabled in this kernel");
    CHECK(mount_count() == mounts_before);
    CHECK(fs::is_empty(o.root));
}

TEST_CASE("a hook that exits without reading its state does not take the runtime down", "[oci]") {
    // With a state larger than a pipe holds (a 200 KiB annotation), the write waits for the
    // hook, which exits unread: on a pipe that was SIGPIPE for bulwark-oci (exit 141), every
    // time; with a small state, whenever /bin/true exited first.
    Oci o;
    auto bundle = make_bundle(o.dir, {"true"}, [](bulwark::Json& d) {
        d["annotations"]["example.org/big"] = std::string(200 * 1024, 'x');
        d["hooks"]["prestart"] = bulwark::Json::array({{{"path", "/bin/true"}}});
        d["hooks"]["poststart"] = bulwark::Json::array({{{"path", "/bin/false"}}});
    });
    auto r = o.call({"run", "--bundle", bundle, "u1"});
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK(o.last_log().at("msg") == "poststart hook /bin/false exited with status 1");
}

TEST_CASE("linux.seccomp is compiled like a profile: a denied call returns EPERM", "[oci]") {
    Oci o;
    auto bundle = make_bundle(
        o.dir, {"sh", "-c", "mkdir /tmp/x 2> /data/err; echo $? > /data/rc"}, [](bulwark::Json& d) {
            d["linux"]["seccomp"] = {
                {"defaultAction", "SCMP_ACT_ALLOW"},
                {"architectures", bulwark::Json::array({"SCMP_ARCH_X86_64"})},
                {"syscalls", bulwark::Json::array({{{"names", {"mkdir", "mkdirat"}},
                                                    {"action", "SCMP_ACT_ERRNO"},
                                                    {"errnoRet", 1}}})}};
        });
    auto r = o.call({"run", "--bundle", bundle, "s1"});
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK(trim(slurp(o.dir / "data/rc")) == "1");
    CHECK_THAT(slurp(o.dir / "data/err"), Catch::Contains("Operation not permitted"));
    CHECK(fs::is_empty(o.root));  // run deletes what it created
}

TEST_CASE("the capabilities `runc spec` writes run as under runc: ambient only if inheritable",
          "[oci]") {
    // `runc spec` and `crun spec` list ambient capabilities and no inheritable ones; the kernel
    // raises an ambient capability only if it is permitted and inheritable, and runc leaves the
    // rest out. A spec that runc runs must run here too.
    auto caps = bulwark::Json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
    for (bool inheritable : {false, true}) {
        INFO("inheritable " << inheritable);
        Oci o;
        auto bundle = make_bundle(
            o.dir, {"sh", "-c", "grep Cap /proc/self/status | tr -d '\\t' | tr : = > /data/caps"},
            [&](bulwark::Json& d) {
                d["process"]["capabilities"] = {{"bounding", caps},
                                                {"effective", caps},
                                                {"permitted", caps},
                                                {"ambient", caps}};
                if (inheritable) d["process"]["capabilities"]["inheritable"] = caps;
            });
        auto r = o.call({"run", "--bundle", bundle, "c1"});
        INFO(r.out);
        REQUIRE(r.code == 0);
        auto kv = harness::parse_kv(slurp(o.dir / "data/caps"));
        // The spec's user is not root: what is not ambient is gone at exec, as under runc.
        auto three = inheritable ? "0000000020000420" : "0000000000000000";
        CHECK(kv["CapAmb"] == three);
        CHECK(kv["CapPrm"] == three);
        CHECK(kv["CapBnd"] == "0000000020000420");
        auto log = slurp(o.dir / "log.json");
        bool warned = log.find("CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE not raised") !=
                      std::string::npos;
        CHECK(warned == !inheritable);
    }
}

TEST_CASE(
    "what the host mounts later reaches the container; what the container mounts never "
    "reaches the host",
    "[oci]") {
    // As under runc (rslave): a volume the host mounts after the start (Kubernetes'
    // HostToContainer, an automounter) is seen inside; the container's own mounts stay inside.
    struct Unmount {
        std::string path;
        ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
    };
    Oci o;
    auto data = o.dir / "data";
    auto bundle = make_bundle(
        o.dir,
        {"sh", "-c",
         "read x < /data/go && cat /data/sub/file > /data/seen && mount -t tmpfs t /data/mine"},
        [](bulwark::Json& d) {
            d["process"]["user"] = {{"uid", 0}, {"gid", 0}};
            auto admin = bulwark::Json::array({"CAP_SYS_ADMIN"});
            d["process"]["capabilities"] = {
                {"bounding", admin}, {"effective", admin}, {"permitted", admin}};
            d["linux"].erase("seccomp");
            d["annotations"].erase("org.bulwark.harden");
        });
    fs::create_directories(data + "/sub");
    fs::create_directories(data + "/mine");
    fs::create_directories(o.dir / "src");
    std::ofstream(o.dir / "src/file") << "from the host\n";
    REQUIRE(mkfifo((data + "/go").c_str(), 0666) == 0);
    // The volume's side on the host, shared (as systemd makes every mount; "/" is private on
    // this test machine, where nothing would propagate either way).
    Unmount shared{data};
    REQUIRE(mount(data.c_str(), data.c_str(), nullptr, MS_BIND, nullptr) == 0);
    REQUIRE(mount(nullptr, data.c_str(), nullptr, MS_SHARED, nullptr) == 0);
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "p1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    pid_t pid = std::stoi(slurp(pidfile));
    REQUIRE(o.call({"start", "p1"}).code == 0);
    Unmount later{data + "/sub"};
    REQUIRE(mount((o.dir / "src").c_str(), (data + "/sub").c_str(), nullptr, MS_BIND, nullptr) ==
            0);
    Unmount leaked{data + "/mine"};
    std::ofstream(data + "/go") << "go\n";
    CHECK(reap(pid) == 0);
    CHECK(slurp(data + "/seen") == "from the host\n");
    CHECK(harness::host_mountinfo().find(" " + (data + "/mine") + " ") == std::string::npos);
    CHECK(o.call({"delete", "p1"}).code == 0);
}

TEST_CASE("HOME is the user's directory in the image's /etc/passwd when the env has none",
          "[oci]") {
    // As runc and crun set it (containerd's CRI leaves it to the runtime).
    struct Case {
        int uid;
        std::string env, home;  // a named struct: clang before 16 captures no structured binding
    };
    for (const Case& c : std::vector<Case>{{65534, "", "/nonexistent"},  // nobody in the rootfs
                                           {0, "", "/root"},
                                           {1234, "", "/"},  // no entry
                                           {65534, "HOME=/srv", "/srv"}}) {
        INFO(c.uid << " " << c.env);
        Oci o;
        auto bundle =
            make_bundle(o.dir, {"sh", "-c", "echo \"$HOME\" > /data/home"}, [&](bulwark::Json& d) {
                d["process"]["user"] = {{"uid", c.uid}, {"gid", c.uid}};
                d["process"]["env"] = {"PATH=/bin"};
                if (!c.env.empty()) d["process"]["env"].push_back(c.env);
                d["annotations"].erase("org.bulwark.harden");
            });
        auto r = o.call({"run", "--bundle", bundle, "e1"});
        INFO(r.out);
        REQUIRE(r.code == 0);
        CHECK(trim(slurp(o.dir / "data/home")) == c.home);
    }
}

TEST_CASE("an AppArmor profile confines the container's process and what exec starts there",
          "[oci][apparmor]") {
    // As Podman (containers-default-*) and containerd (cri-containerd.apparmor.d) name theirs:
    // loaded on the host, applied at the container's exec, with no_new_privs and a non-root user
    // (make_bundle's spec).
    SecurityFs securityfs;
    Oci o;
    std::string name = "bulwark-test-" + std::to_string(getpid());
    LoadedProfile profile(o.dir / "profile",
                          "profile " + name +
                              " flags=(attach_disconnected,mediate_deleted) {\n"
                              "  file,\n  capability,\n  network,\n  signal,\n  unix,\n"
                              "  deny /data/secret rw,\n}\n");
    auto bundle = make_bundle(o.dir,
                              {"sh", "-c",
                               "cat /proc/self/attr/current > /data/label; "
                               "cat /data/secret > /data/got 2> /data/err; exit 3"},
                              [&](bulwark::Json& d) { d["process"]["apparmorProfile"] = name; });
    std::ofstream(o.dir / "data/secret") << "key\n";
    chmod((o.dir / "data/secret").c_str(), 0644);
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "a1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    pid_t pid = std::stoi(slurp(pidfile));
    // What exec starts runs under the spec's profile too.
    r = o.call({"exec", "a1", "sh", "-c", "cat /proc/self/attr/current; cat /data/secret"});
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Catch::Contains(name + " (enforce)") &&
                          Catch::Contains("Permission denied") && !Catch::Contains("key"));
    REQUIRE(o.call({"start", "a1"}).code == 0);
    CHECK(reap(pid) == 3);
    CHECK(trim(slurp(o.dir / "data/label")) == name + " (enforce)");
    CHECK(slurp(o.dir / "data/got").empty());
    CHECK_THAT(slurp(o.dir / "data/err"), Catch::Contains("Permission denied"));
    CHECK(o.call({"delete", "a1"}).code == 0);

    // An image whose /proc is no procfs cannot turn the write into a no-op (runc's
    // CVE-2019-16884: a bundle's mount put a directory with the attr files at /proc).
    fs::remove_all(o.dir / "bundle");
    auto fake = o.dir / "fakeproc";
    fs::create_directories(fake + "/thread-self/attr/apparmor");
    std::ofstream(fake + "/thread-self/attr/apparmor/exec").flush();
    bundle = make_bundle(o.dir, {"true"}, [&](bulwark::Json& d) {
        d["process"]["apparmorProfile"] = name;
        for (auto& m : d["mounts"])
            if (m["destination"] == "/proc")
                m = {{"destination", "/proc"},
                     {"type", "bind"},
                     {"source", fake},
                     {"options", bulwark::Json::array({"rbind", "rw"})}};
    });
    r = o.call({"create", "--bundle", bundle, "a3"});
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Catch::Contains("/proc/thread-self/attr/apparmor/exec is not on procfs"));
    CHECK(slurp(fake + "/thread-self/attr/apparmor/exec").empty());
    CHECK_FALSE(fs::exists(o.root + "/a3"));

    // "unconfined" (a pod's Unconfined, Podman's apparmor=unconfined) runs unconfined.
    fs::remove_all(o.dir / "bundle");
    bundle = make_bundle(o.dir, {"sh", "-c", "cat /proc/self/attr/current > /data/label"},
                         [&](bulwark::Json& d) { d["process"]["apparmorProfile"] = "unconfined"; });
    r = o.call({"run", "--bundle", bundle, "a2"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK(trim(slurp(o.dir / "data/label")) == "unconfined");
}

TEST_CASE("maskedPaths read as empty; readonlyPaths refuse writes and still run programs",
          "[oci]") {
    Oci o;
    auto bundle = make_bundle(
        o.dir,
        {"sh", "-c",
         "cat /data/secret > /data/got.secret; "
         "ls -A /data/secretdir > /data/got.dir; "
         "/data/ro/prog > /data/got.prog 2>&1; "
         "touch /data/ro/x 2> /data/got.ro; exit 0"},
        [](bulwark::Json& d) {
            d["linux"]["maskedPaths"] = {"/data/secret", "/data/secretdir", "/data/absent"};
            d["linux"]["readonlyPaths"] = {"/data/ro", "/data/absent"};
        });
    auto data = o.dir / "data";
    std::ofstream(data + "/secret") << "key\n";
    fs::create_directories(data + "/secretdir");
    std::ofstream(data + "/secretdir/key") << "key\n";
    fs::create_directories(data + "/ro");
    std::ofstream(data + "/ro/prog") << "#!/bin/sh\necho ran\n";
    chmod((data + "/ro/prog").c_str(), 0755);
    chmod((data + "/ro").c_str(), 0777);
    auto r = o.call({"run", "--bundle", bundle, "m1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK(slurp(data + "/got.secret").empty());
    CHECK(slurp(data + "/got.dir").empty());
    // As under runc: read-only adds no noexec (it did here before 2026-12-06).
    CHECK(slurp(data + "/got.prog") == "ran\n");
    CHECK_THAT(slurp(data + "/got.ro"), Catch::Contains("Read-only file system"));
    CHECK_FALSE(fs::exists(data + "/ro/x"));
}

TEST_CASE("tmpcopyup (Podman's --read-only and --tmpfs): the tmpfs starts with what it covers",
          "[oci]") {
    // /bin and /etc of the read-only test rootfs under writable tmpfs copies: the programs run
    // from the copy, the setuid bit, owners, sizes and symlinks come along, and a new file lands
    // in the copy, not in the rootfs.
    Oci o;
    auto tmpfs = [](const std::string& dest) {
        return bulwark::Json{
            {"destination", dest},
            {"type", "tmpfs"},
            {"source", "tmpfs"},
            {"options", bulwark::Json::array({"rw", "nosuid", "nodev", "tmpcopyup", "size=16m"})}};
    };
    auto bundle = make_bundle(
        o.dir,
        {"sh", "-c",
         "stat -c '%n %a %u:%g %s' /bin/busybox /bin/probe-suid /etc/passwd > /data/stat; "
         "readlink /bin/ls >> /data/stat; "
         "echo added > /etc/new; cat /etc/new >> /data/stat; "
         "grep -c ' /bin tmpfs ' /proc/mounts >> /data/stat"},
        [&](bulwark::Json& d) {
            d["mounts"].push_back(tmpfs("/bin"));
            d["mounts"].push_back(tmpfs("/etc"));
        });
    auto r = o.call({"run", "--bundle", bundle, "c1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    auto host = [](const std::string& path) {
        struct stat st {};
        REQUIRE(lstat((harness::rootfs() + path).c_str(), &st) == 0);
        char mode[8];
        snprintf(mode, sizeof mode, "%o", st.st_mode & 07777);
        return path + " " + mode + " " + std::to_string(st.st_uid) + ":" +
               std::to_string(st.st_gid) + " " + std::to_string(st.st_size);
    };
    auto link = [](const std::string& path) {
        return fs::read_symlink(harness::rootfs() + path).string();
    };
    CHECK(slurp(o.dir / "data/stat") == host("/bin/busybox") + "\n" + host("/bin/probe-suid") +
                                            "\n" + host("/etc/passwd") + "\n" + link("/bin/ls") +
                                            "\nadded\n1\n");
    CHECK(host("/bin/probe-suid").find(" 4755 0:0 ") != std::string::npos);
    CHECK(!fs::exists(harness::rootfs() + "/etc/new"));  // the write went to the copy
    // Only where a tmpfs is made.
    Oci o2;
    auto bad = make_bundle(o2.dir, {"true"}, [](bulwark::Json& d) {
        d["mounts"].push_back({{"destination", "/www"},
                               {"type", "bind"},
                               {"source", "/tmp"},
                               {"options", bulwark::Json::array({"rbind", "tmpcopyup"})}});
    });
    r = o2.call({"run", "--bundle", bad, "c2"});
    CHECK(r.code != 0);
    CHECK_THAT(r.out, Catch::Contains("options: tmpcopyup is for tmpfs mounts only"));
}

TEST_CASE(
    "hooks get the state on stdin at their stage; update changes a live limit; list shows "
    "the container",
    "[oci]") {
    Oci o;
    auto hook = [&](const std::string& stage) {
        // The hook runs on the host: it saves what it read and when it ran.
        return bulwark::Json{
            {"path", "/bin/sh"},
            {"args", bulwark::Json::array({"sh", "-c", "cat > " + (o.dir / (stage + ".json"))})}};
    };
    auto bundle =
        make_bundle(o.dir, {"sh", "-c", "read x < /data/go; exit 0"}, [&](bulwark::Json& d) {
            // A failing poststart or poststop hook is a warning, and the hooks after it run.
            bulwark::Json fail = {{"path", "/bin/false"}};
            d["hooks"] = {{"createRuntime", bulwark::Json::array({hook("createRuntime")})},
                          {"prestart", bulwark::Json::array({hook("prestart")})},
                          {"poststart", bulwark::Json::array({fail, hook("poststart")})},
                          {"poststop", bulwark::Json::array({fail, hook("poststop")})}};
            d["annotations"]["example.org/a"] = "b";
            // A property the runtime spec does not define is ignored with a warning.
            d["unknown"] = "unknown";
        });
    REQUIRE(mkfifo((o.dir / "data/go").c_str(), 0666) == 0);
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "h1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK_THAT(slurp(o.dir / "log.json"),
               Catch::Contains("config.json: /: unknown key \\\"unknown\\\": ignored"));
    // Changes to the bundle's config.json after create do not affect the container (runtime
    // spec): start and delete run the hooks create read.
    std::ofstream(bundle + "/config.json") << R"({"ociVersion": "1.0.0"})";
    pid_t pid = std::stoi(slurp(pidfile));
    auto read_hook = [&](const std::string& stage) {
        return bulwark::parse_json(slurp(o.dir / (stage + ".json")), stage);
    };
    CHECK(read_hook("createRuntime").at("status") == "creating");
    CHECK(read_hook("prestart").at("status") == "created");
    CHECK(read_hook("prestart").at("pid") == pid);
    CHECK(read_hook("prestart").at("annotations").at("example.org/a") == "b");
    CHECK_FALSE(fs::exists(o.dir / "poststart.json"));
    r = o.call({"start", "h1"});
    REQUIRE(r.code == 0);
    CHECK(o.last_log().at("msg") == "poststart hook /bin/false exited with status 1");
    CHECK(o.last_log().at("level") == "warning");
    CHECK(read_hook("poststart").at("status") == "running");
    CHECK(read_hook("poststart").at("id") == "h1");

    // The floor holds for what exec adds: a root process is refused, and no_new_privs is set
    // where the process asks for none.
    auto process = [&](int uid) {
        std::ofstream(o.dir / "process.json") << bulwark::Json{
            {"args", {"sh", "-c", "grep NoNewPrivs /proc/self/status"}},
            {"cwd", "/"},
            {"env", {"PATH=/bin"}},
            {"user", {{"uid", uid}, {"gid", uid}}},
            {"noNewPrivileges", false}}.dump();
        return o.call({"exec", "--process", o.dir / "process.json", "h1"});
    };
    r = process(0);
    CHECK(r.code == 1);
    CHECK(o.last_log().at("msg") ==
          "exec: org.bulwark.harden: process.user.uid: 0 (root), the floor runs non-root");
    r = process(65534);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("NoNewPrivs:\t1"));

    auto list = o.call({"list", "--format", "json"});
    REQUIRE(list.code == 0);
    auto all = bulwark::parse_json(list.out, "list");
    REQUIRE(all.size() == 1);
    CHECK(all[0].at("id") == "h1");
    CHECK(all[0].at("status") == "running");

    // A live pids limit, changed by update and read back where the container's cgroup is.
    auto pids_max = cgroup_dir_of(pid, "pids") + "/pids.max";
    REQUIRE(fs::exists(pids_max));
    CHECK(trim(slurp(pids_max)) == "32");
    std::ofstream(o.dir / "res.json") << R"({"pids": {"limit": 77}})";
    REQUIRE(o.call({"update", "--resources", o.dir / "res.json", "h1"}).code == 0);
    CHECK(trim(slurp(pids_max)) == "77");

    std::ofstream(o.dir / "data/go") << "go\n";
    CHECK(reap(pid) == 0);
    CHECK_FALSE(fs::exists(o.dir / "poststop.json"));
    r = o.call({"delete", "h1"});
    REQUIRE(r.code == 0);
    CHECK(o.last_log().at("msg") == "poststop hook /bin/false exited with status 1");
    CHECK(read_hook("poststop").at("status") == "stopped");
}

// What Podman's --cpuset-cpus and --memory-reservation ask for.
TEST_CASE("hugepage limits as the kubelet gives every container are set, and changed by update",
          "[oci]") {
    // The kubelet names each page size the node has (/sys/kernel/mm/hugepages, "2MB" for
    // hugepages-2048kB), at 0 unless the pod asks for hugepages; refused before 2026-12-07, so
    // no pod could start through bulwark-oci on a node with hugetlb.
    std::vector<std::string> sizes;
    for (auto& e : fs::directory_iterator("/sys/kernel/mm/hugepages")) {
        auto kb = std::stoull(e.path().filename().string().substr(10));  // "hugepages-"
        sizes.push_back(kb % (1 << 20) == 0   ? std::to_string(kb >> 20) + "GB"
                        : kb % (1 << 10) == 0 ? std::to_string(kb >> 10) + "MB"
                                              : std::to_string(kb) + "KB");
    }
    REQUIRE(!sizes.empty());
    Oci o;
    auto bundle = make_bundle(o.dir, {"true"}, [&](bulwark::Json& d) {
        for (auto& size : sizes)
            d["linux"]["resources"]["hugepageLimits"].push_back({{"pageSize", size}, {"limit", 0}});
    });
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "h1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    auto pid = trim(slurp(pidfile));
    auto dir = cgroup_dir_of(std::stoi(pid), "hugetlb");
    REQUIRE(!dir.empty());
    auto limit_file = [&](const std::string& size) {
        return v1_or_v2(dir, "hugetlb." + size + ".limit_in_bytes", "hugetlb." + size + ".max");
    };
    for (auto& size : sizes) {
        INFO(size);
        CHECK(trim(slurp(limit_file(size))) == "0");
    }
    auto pages = std::to_string(2ull << 30);  // a multiple of every page size
    std::ofstream(o.dir / "res.json") << R"({"hugepageLimits": [{"pageSize": ")" << sizes[0]
                                      << R"(", "limit": )" << pages << "}]}";
    r = o.call({"update", "--resources", o.dir / "res.json", "h1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK(trim(slurp(limit_file(sizes[0]))) == pages);
    CHECK(o.call({"delete", "--force", "h1"}).code == 0);

    // A page size the kernel does not have is refused at create, naming its file, and leaves
    // nothing (512GB pages exist on no machine this runs on).
    auto said = refused_create(o, "h2", [](bulwark::Json& d) {
        d["linux"]["resources"]["hugepageLimits"] =
            bulwark::Json::array({{{"pageSize", "512GB"}, {"limit", 0}}});
    });
    CHECK_THAT(said,
               Catch::Contains("hugetlb.512GB.") && Catch::Contains("No such file or directory"));
}

TEST_CASE("cpusets and memory reservations are set at create and changed by update", "[oci]") {
    cpu_set_t mine;
    REQUIRE(sched_getaffinity(0, sizeof mine, &mine) == 0);
    int first = -1, last = -1;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &mine)) (first < 0 ? first : last) = c;
    if (last < 0) last = first;
    Oci o;
    auto bundle = make_bundle(o.dir, {"true"}, [&](bulwark::Json& d) {
        d["linux"]["resources"]["cpu"] = {{"cpus", std::to_string(last)}, {"mems", "0"}};
        d["linux"]["resources"]["memory"] = {{"reservation", 32 << 20}};
    });
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "c1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    auto pid = trim(slurp(pidfile));
    auto allowed = [&] {
        for (auto& line : harness::lines(slurp("/proc/" + pid + "/status")))
            if (line.rfind("Cpus_allowed_list:\t", 0) == 0) return trim(line.substr(19));
        return std::string();
    };
    CHECK(allowed() == std::to_string(last));
    // The soft limit where the container's memory cgroup is: v1's, else v2's memory.low.
    auto memory = cgroup_dir_of(std::stoi(pid), "memory");
    auto soft = v1_or_v2(memory, "memory.soft_limit_in_bytes", "memory.low");
    REQUIRE(fs::exists(soft));
    CHECK(trim(slurp(soft)) == std::to_string(32 << 20));
    std::ofstream(o.dir / "res.json")
        << R"({"cpu": {"cpus": ")" << first << R"("}, "memory": {"reservation": 16777216}})";
    r = o.call({"update", "--resources", o.dir / "res.json", "c1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK(allowed() == std::to_string(first));
    CHECK(trim(slurp(soft)) == std::to_string(16 << 20));
    // Bad lists are refused with the field named.
    std::ofstream(o.dir / "bad.json") << R"({"cpu": {"cpus": "all"}})";
    r = o.call({"update", "--resources", o.dir / "bad.json", "c1"});
    CHECK(r.code != 0);
    CHECK_THAT(r.out, Catch::Contains("/cpu/cpus: not a list of CPUs"));
    CHECK(o.call({"delete", "--force", "c1"}).code == 0);
}

TEST_CASE("unified cgroup v2 files are written at create and by update; others are refused",
          "[oci]") {
    // cgroup.max.descendants is the core's, in every v2 cgroup (this host's v2 offers no memory
    // controller); memory.oom.group is what the kubelet sends on a v2 node (the VM's case).
    auto h = bulwark::oci::host_hierarchies();
    REQUIRE(!h.v2.empty());
    bool memory_v2 = memory_on_v2();
    Oci o;
    auto bundle = make_bundle(o.dir, {"true"}, [&](bulwark::Json& d) {
        d["linux"]["resources"]["unified"]["cgroup.max.descendants"] = "3";
        if (memory_v2) d["linux"]["resources"]["unified"]["memory.oom.group"] = "1";
    });
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "u1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    auto dir = cgroup_dir_of(std::stoi(trim(slurp(pidfile))), "");
    REQUIRE(dir.rfind(h.v2 + "/", 0) == 0);
    CHECK(trim(slurp(dir + "/cgroup.max.descendants")) == "3");
    if (memory_v2) CHECK(trim(slurp(dir + "/memory.oom.group")) == "1");
    std::ofstream(o.dir / "res.json") << R"({"unified": {"cgroup.max.descendants": "5"}})";
    r = o.call({"update", "--resources", o.dir / "res.json", "u1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK(trim(slurp(dir + "/cgroup.max.descendants")) == "5");
    // A key the runtime manages is refused where the document names it.
    std::ofstream(o.dir / "bad.json") << R"({"unified": {"cgroup.kill": "1"}})";
    r = o.call({"update", "--resources", o.dir / "bad.json", "u1"});
    CHECK(r.code != 0);
    CHECK_THAT(r.out, Catch::Contains("/unified/cgroup.kill") && Catch::Contains("runtime"));
    CHECK(o.call({"state", "u1"}).code == 0);  // still there, still its process
    CHECK(o.call({"delete", "--force", "u1"}).code == 0);

    // A controller no v2 cgroup offers here, and a core file the kernel does not have: refused
    // at create, naming them, leaving nothing.
    for (auto& refused : {std::pair{"nosuch.max", "nosuch controller is not on cgroup v2"},
                          std::pair{"cgroup.nosuch", "cgroup.nosuch"}}) {
        std::string key = refused.first, says = refused.second;
        INFO(key);
        auto said = refused_create(o, "u2", [&](bulwark::Json& d) {
            d["linux"]["resources"]["unified"] = {{key, "1"}};
        });
        CHECK_THAT(said, Catch::Contains(says));
    }
}

// A block device's "MAJ:MIN" for I/O limits: the first the kernel has, else a RAM disk of brd's
// (the VM boots from virtiofs and has none), unloaded when the test ends.
class BlockDevice {
  public:
    BlockDevice() {
        dev_ = first();
        if (!dev_.empty()) return;
        auto r = harness::run({"/usr/sbin/modprobe", "brd", "rd_nr=1", "rd_size=1024"});
        INFO(r.out + r.err);
        REQUIRE(r.code == 0);
        loaded_ = true;
        dev_ = first();
        REQUIRE(!dev_.empty());
    }
    ~BlockDevice() {
        if (loaded_) harness::run({"/usr/sbin/modprobe", "-r", "brd"});
    }
    const std::string& dev() const { return dev_; }    // "MAJ:MIN"
    const std::string& path() const { return path_; }  // its node, /dev/NAME

  private:
    std::string first() {
        std::vector<std::pair<std::string, std::string>> devs;
        for (auto& e : fs::directory_iterator("/sys/block"))
            if (fs::exists(e.path() / "dev"))
                devs.emplace_back(trim(slurp(e.path() / "dev")),
                                  "/dev/" + e.path().filename().string());
        std::sort(devs.begin(), devs.end());
        if (devs.empty()) return "";
        path_ = devs.front().second;
        return devs.front().first;
    }
    std::string dev_, path_;
    bool loaded_ = false;
};

TEST_CASE("blockIO throttles (Podman's --device-read-bps) reach blkio or io, and update them",
          "[oci]") {
    BlockDevice bd;
    auto colon = bd.dev().find(':');
    auto major = std::stoul(bd.dev().substr(0, colon)),
         minor = std::stoul(bd.dev().substr(colon + 1));
    INFO(bd.dev());
    Oci o;
    auto bundle = make_bundle(o.dir, {"true"}, [&](bulwark::Json& d) {
        d["linux"]["resources"]["blockIO"] = {
            {"throttleReadBpsDevice", {{{"major", major}, {"minor", minor}, {"rate", 1048576}}}},
            {"throttleWriteIOPSDevice", {{{"major", major}, {"minor", minor}, {"rate", 100}}}}};
    });
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "b1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    auto pid = std::stoi(trim(slurp(pidfile)));
    // v1's blkio where the host mounts it so (this one), else v2's io.max, one line a device.
    auto v1 = cgroup_dir_of(pid, "blkio");
    bool on_v1 = fs::exists(v1 + "/blkio.throttle.read_bps_device");
    auto v2_limits = [&] {
        for (auto& line : harness::lines(slurp(cgroup_dir_of(pid, "") + "/io.max")))
            if (line.rfind(bd.dev() + " ", 0) == 0) return line;
        return std::string();
    };
    if (on_v1) {
        CHECK(trim(slurp(v1 + "/blkio.throttle.read_bps_device")) == bd.dev() + " 1048576");
        CHECK(trim(slurp(v1 + "/blkio.throttle.write_iops_device")) == bd.dev() + " 100");
    } else {
        CHECK(v2_limits() == bd.dev() + " rbps=1048576 wbps=max riops=max wiops=100");
    }
    // podman update --device-read-bps DEV:2mb; a rate of 0 lifts the write limit.
    std::ofstream(o.dir / "res.json")
        << R"({"blockIO": {"throttleReadBpsDevice": [{"major": )" << major << R"(, "minor": )"
        << minor << R"(, "rate": 2097152}], "throttleWriteIOPSDevice": [{"major": )" << major
        << R"(, "minor": )" << minor << R"(, "rate": 0}]}})";
    r = o.call({"update", "--resources", o.dir / "res.json", "b1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    if (on_v1) {
        CHECK(trim(slurp(v1 + "/blkio.throttle.read_bps_device")) == bd.dev() + " 2097152");
        CHECK(trim(slurp(v1 + "/blkio.throttle.write_iops_device")).empty());
    } else {
        CHECK(v2_limits() == bd.dev() + " rbps=2097152 wbps=max riops=max wiops=max");
    }
    CHECK(o.call({"delete", "--force", "b1"}).code == 0);

    // A device the kernel does not have: refused at create, naming the file, leaving nothing.
    auto said = refused_create(o, "b2", [](bulwark::Json& d) {
        d["linux"]["resources"]["blockIO"] = {
            {"throttleReadBpsDevice", {{{"major", 4095}, {"minor", 4095}, {"rate", 1}}}}};
    });
    CHECK_THAT(said, Catch::Contains(on_v1 ? "blkio.throttle.read_bps_device" : "io.max"));
}

TEST_CASE("a time namespace: the container's clocks read its offsets, exec's too", "[oci]") {
    INFO("time namespaces need Linux 5.6 with CONFIG_TIME_NS (this host's and the VM's have it)");
    REQUIRE(fs::exists("/proc/self/ns/time"));
    constexpr long long kBoot = 3000000000LL;  // some 95 years: no host has been up that long
    Oci o;
    auto bundle = make_bundle(o.dir, {"sleep", "60"}, [&](bulwark::Json& d) {
        d["linux"]["namespaces"].push_back({{"type", "time"}});
        d["linux"]["timeOffsets"] = {{"boottime", {{"secs", kBoot}}},
                                     {"monotonic", {{"secs", 86400}, {"nanosecs", 500}}}};
    });
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "t1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    // The init itself is in it (not only its children): its namespace and its children's are
    // one, and not the host's.
    auto pid = trim(slurp(pidfile));
    auto ns = fs::read_symlink("/proc/" + pid + "/ns/time");
    CHECK(ns == fs::read_symlink("/proc/" + pid + "/ns/time_for_children"));
    CHECK(ns != fs::read_symlink("/proc/self/ns/time"));
    std::map<std::string, std::pair<long long, long>> offsets;
    std::istringstream in(slurp("/proc/" + pid + "/timens_offsets"));
    std::string clock;
    long long secs;
    long nanos;
    while (in >> clock >> secs >> nanos) offsets[clock] = {secs, nanos};
    CHECK(offsets["boottime"] == std::pair<long long, long>{kBoot, 0});
    CHECK(offsets["monotonic"] == std::pair<long long, long>{86400, 500});
    // /proc/uptime is CLOCK_BOOTTIME as the reader's namespace sees it; exec joins the
    // container's.
    auto uptime = [](const std::string& text) {
        return std::stoll(text.substr(0, text.find('.')));
    };
    CHECK(uptime(slurp("/proc/uptime")) < kBoot);
    r = o.call({"exec", "t1", "cat", "/proc/uptime"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK(uptime(r.out) >= kBoot);
    CHECK(o.call({"delete", "--force", "t1"}).code == 0);

    // Offsets with no namespace of the container's own to carry them: refused, naming the field.
    // Offsets the kernel refuses (a boot clock before boot): the create fails naming the file,
    // leaving nothing.
    struct Bad {
        bool with_ns;
        long long boot;
        const char* says;
    };
    for (auto& bad : {Bad{false, 1, "/linux/timeOffsets"}, Bad{true, -kBoot, "timens_offsets"}}) {
        INFO(bad.says);
        auto said = refused_create(o, "t2", [&](bulwark::Json& d) {
            if (bad.with_ns) d["linux"]["namespaces"].push_back({{"type", "time"}});
            d["linux"]["timeOffsets"] = {{"boottime", {{"secs", bad.boot}}}};
        });
        CHECK_THAT(said, Catch::Contains(bad.says));
    }
}

TEST_CASE("scheduler, I/O priority, CPU affinity, personality and domain name reach the process",
          "[oci]") {
    cpu_set_t mine;
    REQUIRE(sched_getaffinity(0, sizeof mine, &mine) == 0);
    int last = 0;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &mine)) last = c;
    Oci o;
    auto bundle = make_bundle(o.dir, {"sleep", "60"}, [&](bulwark::Json& d) {
        d["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 7}};
        d["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 0}};
        d["process"]["execCPUAffinity"] = {{"final", std::to_string(last)}};
        d["linux"]["personality"] = {{"domain", "LINUX32"}};
        d["domainname"] = "example.test";
    });
    auto pidfile = o.dir / "pid";
    auto r = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "s1"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    // Seen from the host, on the container's process (set before it waits for start).
    pid_t pid = std::stoi(trim(slurp(pidfile)));
    CHECK(sched_getscheduler(pid) == SCHED_BATCH);
    errno = 0;
    CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(pid)) == 7);
    CHECK(syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, pid) == (3 << 13));  // IDLE, 0
    cpu_set_t got;
    REQUIRE(sched_getaffinity(pid, sizeof got, &got) == 0);
    CHECK(CPU_COUNT(&got) == 1);
    CHECK(CPU_ISSET(last, &got));
    CHECK(trim(slurp("/proc/" + std::to_string(pid) + "/personality")) == "00000008");
    // exec's process gets the spec's personality too; the domain name is the namespace's.
    r = o.call({"exec", "s1", "sh", "-c", "uname -m; cat /proc/sys/kernel/domainname"});
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK(r.out == "i686\nexample.test\n");
    // An exec's own process.json: its policy (stat's 41st field; 5 is SCHED_IDLE) and affinity.
    std::ofstream(o.dir / "process.json") << bulwark::Json{
        {"args",
         {"sh", "-c", "cut -d' ' -f41 /proc/$$/stat; grep Cpus_allowed_list: /proc/$$/status"}},
        {"cwd", "/"},
        {"env", {"PATH=/bin"}},
        {"user", {{"uid", 65534}, {"gid", 65534}}},
        {"scheduler", {{"policy", "SCHED_IDLE"}}},
        {"execCPUAffinity",
         {{"initial", "0"},
          {"final", std::to_string(last)}}}}.dump();
    r = o.call({"exec", "--process", o.dir / "process.json", "s1"});
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK(r.out == "5\nCpus_allowed_list:\t" + std::to_string(last) + "\n");
    CHECK(o.call({"delete", "--force", "s1"}).code == 0);
}

TEST_CASE("device rules: only the default nodes and those allowed open; the rest is EPERM",
          "[oci]") {
    Oci o;
    auto script =
        "echo x > /dev/null && echo null-ok > /data/null; "
        "head -c1 /dev/fuse > /dev/null 2> /data/fuse; true";
    auto with_rules = [&](const bulwark::Json& rules) {
        fs::remove_all(o.dir / "bundle");
        fs::remove_all(o.dir / "data");
        auto bundle = make_bundle(o.dir, {"sh", "-c", script}, [&](bulwark::Json& d) {
            d["linux"]["devices"] = bulwark::Json::array({{{"type", "c"},
                                                           {"path", "/dev/fuse"},
                                                           {"major", 10},
                                                           {"minor", 229},
                                                           {"fileMode", 0666}}});
            d["linux"]["resources"]["devices"] = rules;
        });
        auto r = o.call({"run", "--bundle", bundle, "d1"});
        INFO(r.out);
        REQUIRE(r.code == 0);
        CHECK(trim(slurp(o.dir / "data/null")) == "null-ok");
        return slurp(o.dir / "data/fuse");
    };
    // Podman's list: deny everything. The node exists but the kernel refuses to open it.
    CHECK_THAT(with_rules(bulwark::Json::array({{{"allow", false}, {"access", "rwm"}}})),
               Catch::Contains("Operation not permitted"));
    // Allowed: the open reaches the driver, which answers for itself (EIO from an unmounted
    // fuse device, ENODEV without the fuse module), never the cgroup's EPERM.
    auto err = with_rules(bulwark::Json::array(
        {{{"allow", false}, {"access", "rwm"}},
         {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rw"}}}));
    CHECK_THAT(err, !Catch::Contains("Operation not permitted"));
}

TEST_CASE("200 create/delete cycles with a guard on a joined network namespace leave nothing",
          "[oci][cycles]") {
    Oci o;
    harness::VethNs net("bw-oci-ns", "bw-oci-h", "bw-oci-c", "198.18.44.1/24", "198.18.44.2/24");
    auto policy = o.dir / "policy.json";
    std::ofstream(policy) << R"({"version": 1, "lists": {"deny": ["198.18.44.1/32"]}})";
    auto bundle = make_bundle(o.dir, {"true"}, [&](bulwark::Json& d) {
        for (auto& n : d["linux"]["namespaces"])
            if (n["type"] == "network") n["path"] = "/run/netns/bw-oci-ns";
        d["annotations"]["org.bulwark.policy"] = policy;
    });
    auto mounts_before = mount_count();
    // The guard drops the denied host while the container lives.
    auto pidfile = o.dir / "pid";
    REQUIRE(o.call({"create", "--bundle", bundle, "--pid-file", pidfile, "g0"}).code == 0);
    CHECK(fs::exists("/sys/fs/bpf/bulwark/g0"));
    CHECK(net.ping("198.18.44.1", 1) == 0);
    auto stats = run({harness::bulwark(), "stats", "--json", "--name", "g0"});
    INFO(stats.out << stats.err);
    CHECK_THAT(stats.out, Catch::Contains("drop_deny"));
    REQUIRE(o.call({"delete", "--force", "g0"}).code == 0);
    reap(std::stoi(slurp(pidfile)));
    CHECK_FALSE(fs::exists("/sys/fs/bpf/bulwark/g0"));
    CHECK(net.ping("198.18.44.1", 1) == 1);

    for (int i = 0; i < 200; ++i) {
        auto id = "cyc" + std::to_string(i);
        auto c = o.call({"create", "--bundle", bundle, "--pid-file", pidfile, id});
        INFO(c.out);
        REQUIRE(c.code == 0);
        REQUIRE(o.call({"delete", "--force", id}).code == 0);
        reap(std::stoi(slurp(pidfile)));
    }
    CHECK(fs::is_empty(o.root));
    CHECK(mount_count() == mounts_before);
    for (int i = 0; i < 200; ++i) CHECK_FALSE(cgroup_left("cyc" + std::to_string(i)));
    bool pins = false;
    if (fs::exists("/sys/fs/bpf/bulwark"))
        for (auto& e : fs::directory_iterator("/sys/fs/bpf/bulwark"))
            pins |= e.path().filename().string().rfind("cyc", 0) == 0;
    CHECK_FALSE(pins);
}

namespace {

// The test rootfs as a Podman image, and a Podman network in the benchmarking range; removed
// (with every container made from the image) when the case ends.
struct PodmanFixture {
    TempDir dir{"podman"};
    std::string image = "localhost/bulwark-oci-test:latest";
    std::string network = "bulwark-oci-test";
    PodmanFixture() {
        cleanup();
        auto tar = dir / "rootfs.tar";
        REQUIRE(run({"/bin/tar", "-C", harness::rootfs(), "-cf", tar, "."}).code == 0);
        auto r = run({"/usr/bin/podman", "import", tar, image}, 120);
        INFO(r.err);
        REQUIRE(r.code == 0);
        r = run({"/usr/bin/podman", "network", "create", "--subnet", "198.18.46.0/24", network});
        INFO(r.err);
        REQUIRE(r.code == 0);
    }
    ~PodmanFixture() { cleanup(); }
    void cleanup() {
        run({"/usr/bin/podman", "--runtime", oci_bin(), "rm", "-f", "-t", "0", "-a", "--filter",
             "ancestor=" + image});
        run({"/usr/bin/podman", "network", "rm", "-f", network});
        run({"/usr/bin/podman", "rmi", "-f", image});
    }
    Result podman(const std::vector<std::string>& args, int timeout_s = 60) {
        std::vector<std::string> argv{"/usr/bin/podman", "--runtime", oci_bin()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, timeout_s);
    }
};

}  // namespace

TEST_CASE("Podman runs, execs into, signals, limits and removes containers through bulwark-oci",
          "[oci][podman]") {
    PodmanFixture p;
    auto r = p.podman({"run", "--rm", p.image, "sh", "-c", "echo hello; exit 3"});
    INFO(r.out << r.err);
    CHECK(r.code == 3);
    CHECK(r.out == "hello\n");

    // A pty: conmon hands bulwark-oci a console socket, the master goes back over it.
    r = p.podman({"run", "--rm", "-t", p.image, "tty"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("/dev/pts/"));

    // A read-only bind mount and a memory limit.
    TempDir src("podman-bind");
    std::ofstream(src / "f") << "bound\n";
    r = p.podman({"run", "--rm", "-v", src.path() + ":/mnt:ro", p.image, "sh", "-c",
                  "cat /mnt/f; touch /mnt/g 2>&1 | grep -c Read-only"});
    INFO(r.err);
    CHECK(r.out == "bound\n1\n");

    // --read-only: Podman asks for tmpfs on /tmp, /var/tmp and /run with runc's tmpcopyup;
    // --device: the node's fileMode with its file type (S_IFCHR | 0666 for /dev/null's twin).
    // --cpuset-cpus and --memory-reservation: a cpuset and a soft limit.
    r = p.podman({"run", "--rm", "--read-only", "--device", "/dev/zero:/dev/zero2", "--cpuset-cpus",
                  "0", "--memory-reservation", "32m", p.image, "sh", "-c",
                  "touch /tmp/w && echo tmp-ok; touch /w 2>&1 | grep -c Read-only; "
                  "head -c 3 /dev/zero2 | wc -c; grep Cpus_allowed_list /proc/self/status"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out == "tmp-ok\n1\n3\nCpus_allowed_list:\t0\n");

    // --device-read-bps: a throttle on a block device (blkio's file, or a line of io.max).
    BlockDevice bd;
    r = p.podman({"run", "-d", "--name", "bw-long", "--memory", "64m", "--device-read-bps",
                  bd.path() + ":1mb", p.image, "sh", "-c",
                  "trap 'exit 42' USR1; while :; do sleep 0.05; done"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto pid =
        trim(run({"/usr/bin/podman", "inspect", "--format", "{{.State.Pid}}", "bw-long"}).out);
    auto memory = cgroup_dir_of(std::stoi(pid), "memory");
    auto limit = slurp(v1_or_v2(memory, "memory.limit_in_bytes", "memory.max"));
    CHECK(trim(limit) == std::to_string(64 << 20));
    auto blkio = cgroup_dir_of(std::stoi(pid), "blkio");
    auto throttle = slurp(v1_or_v2(blkio, "blkio.throttle.read_bps_device", "io.max"));
    CHECK_THAT(throttle, Catch::Contains(bd.dev() + " ") && Catch::Contains("1048576"));
    r = p.podman({"exec", "bw-long", "sh", "-c", "echo in-exec; exit 5"});
    CHECK(r.code == 5);
    CHECK(r.out == "in-exec\n");
    r = p.podman({"top", "bw-long"});
    CHECK(r.code == 0);
    CHECK(p.podman({"pause", "bw-long"}).code == 0);
    CHECK(
        trim(run({"/usr/bin/podman", "inspect", "--format", "{{.State.Status}}", "bw-long"}).out) ==
        "paused");
    CHECK(p.podman({"unpause", "bw-long"}).code == 0);
    CHECK(p.podman({"kill", "-s", "USR1", "bw-long"}).code == 0);
    r = p.podman({"wait", "bw-long"});
    CHECK(trim(r.out) == "42");
    CHECK(p.podman({"rm", "bw-long"}).code == 0);
}

TEST_CASE(
    "a policy annotation guards a Podman container's interface: a denied source is "
    "dropped, another container is served",
    "[oci][podman]") {
    PodmanFixture p;
    auto policy = p.dir / "policy.json";
    // The host reaches the network's containers from its gateway address, .1.
    std::ofstream(policy) << R"({"version": 1, "lists": {"deny": ["198.18.46.1/32"]}})";
    auto serve = [&](const std::string& name, const std::vector<std::string>& extra) {
        std::vector<std::string> args{"run", "-d", "--name", name, "--network", p.network};
        args.insert(args.end(), extra.begin(), extra.end());
        args.insert(args.end(), {p.image, "httpd", "-f", "-p", "80", "-h", "/www"});
        auto r = p.podman(args);
        INFO(r.err);
        REQUIRE(r.code == 0);
        auto ip = trim(
            run({"/usr/bin/podman", "inspect", "--format",
                 "{{(index .NetworkSettings.Networks \"" + p.network + "\").IPAddress}}", name})
                .out);
        auto pid =
            trim(run({"/usr/bin/podman", "inspect", "--format", "{{.State.Pid}}", name}).out);
        REQUIRE(harness::wait_listening(std::stoi(pid), 80, 5000));
        return ip;
    };
    auto guarded = serve("bw-guarded", {"--annotation", "org.bulwark.policy=" + policy});
    auto open = serve("bw-open", {});
    auto id = trim(run({"/usr/bin/podman", "inspect", "--format", "{{.Id}}", "bw-guarded"}).out);
    CHECK(fs::exists("/sys/fs/bpf/bulwark/" + id));

    auto curl = [](const std::string& ip) {
        return run({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2",
                    "http://" + ip + "/"});
    };
    CHECK(curl(open).out == "200");
    auto r = curl(guarded);
    CHECK(r.code == 28);  // dropped: no answer within the bound
    auto stats = run({harness::bulwark(), "stats", "--json", "--name", id});
    INFO(stats.out << stats.err);
    REQUIRE(stats.code == 0);
    auto doc = bulwark::parse_json(stats.out, "stats");
    CHECK(doc.dump().find("\"drop_deny\"") != std::string::npos);

    CHECK(p.podman({"rm", "-f", "-t", "0", "bw-guarded", "bw-open"}).code == 0);
    CHECK_FALSE(fs::exists("/sys/fs/bpf/bulwark/" + id));
}

TEST_CASE("Podman's default AppArmor profile confines its containers through bulwark-oci",
          "[oci][podman][apparmor]") {
    // As on a Debian or Ubuntu host: with AppArmor on and apparmor_parser there, Podman loads
    // its containers-default-* profile and names it in every spec (before 2026-12-07 bulwark-oci
    // refused every such spec).
    SecurityFs securityfs;
    UnloadNewProfiles unload("containers-default-");
    PodmanFixture p;
    // Its deny rules are AppArmor's to enforce (the case above checks one of a profile's).
    auto r = p.podman({"run", "--rm", p.image, "cat", "/proc/self/attr/current"});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("containers-default-") && Catch::EndsWith(" (enforce)\n"));
    r = p.podman({"run", "--rm", "--security-opt", "apparmor=unconfined", p.image, "cat",
                  "/proc/self/attr/current"});
    CHECK(r.code == 0);
    CHECK(r.out == "unconfined\n");
}

namespace {

// The test rootfs as an OCI image archive, made once a run by Podman (ctr cannot build one; under
// the VM's TCG each import and save takes seconds). Its CMD waits, as a pod's sandbox (pause)
// image does; ctr's and the CRI's containers name their own command.
constexpr const char* kArchiveImage = "localhost/bulwark-oci-image";  // its name, also in ctr
const std::string& test_image_archive() {
    static TempDir dir{"oci-image"};
    static std::string archive;
    if (!archive.empty()) return archive;
    const std::string image = kArchiveImage + std::string(":latest");
    REQUIRE(run({"/bin/tar", "-C", harness::rootfs(), "-cf", dir / "fs.tar", "."}).code == 0);
    REQUIRE(run({"/usr/bin/podman", "import", "--change", R"(CMD ["/bin/sleep", "2147483647"])",
                 dir / "fs.tar", image},
                120)
                .code == 0);
    auto saved = run(
        {"/usr/bin/podman", "save", "--format", "oci-archive", "-o", dir / "img.tar", image}, 120);
    run({"/usr/bin/podman", "rmi", "-f", image});
    REQUIRE(saved.code == 0);
    archive = dir / "img.tar";
    return archive;
}

// A containerd of the test's own (its root, state and socket in a temporary directory) with the
// test rootfs imported as an image, for ctr to run through bulwark-oci.
struct ContainerdFixture {
    TempDir d{"containerd"};
    const std::string image = "localhost/bulwark-oci-image:latest";
    std::optional<harness::Child> daemon;
    ContainerdFixture() {
        {
            std::ofstream cfg(d / "config.toml");
            cfg << "version = 2\nroot = \"" << d / "root"
                << "\"\nstate = \"" << d / "state"
                << "\"\n[grpc]\n  address = \"" << d / "sock"
                << "\"\n";
        }
        daemon.emplace(
            std::vector<std::string>{"/usr/bin/containerd", "--config", d / "config.toml"}, true);
        // containerd logs this line once its API socket serves.
        REQUIRE(daemon->wait_for_line_containing("containerd successfully booted", 30));
        // The native snapshotter (plain copies): overlayfs cannot stack on the VM's overlay root.
        auto r = ctr({"image", "import", "--snapshotter", "native", "--base-name", kArchiveImage,
                      test_image_archive()},
                     120);
        INFO(r.out << r.err);
        REQUIRE(r.code == 0);
    }
    Result ctr(std::vector<std::string> args, int timeout_s = 60) {
        args.insert(args.begin(), {"/usr/bin/ctr", "-a", d / "sock"});
        return run(args, timeout_s);
    }
};

}  // namespace

TEST_CASE("containerd's runc shim starts, execs into and signals containers through bulwark-oci",
          "[oci][containerd]") {
    ContainerdFixture c;
    auto ctr = [&](std::vector<std::string> args, int timeout_s = 60) {
        return c.ctr(std::move(args), timeout_s);
    };
    const std::string& image = c.image;
    auto& d = c.d;

    // containerd's default seccomp profile (--seccomp), the one Kubernetes' RuntimeDefault gives.
    auto r =
        ctr({"run", "--rm", "--snapshotter", "native", "--seccomp", "--runc-binary", oci_bin(),
             image, "t1", "sh", "-c",
             "echo from-ctr; grep Seccomp: /proc/self/status | tr -d '\\t'; /bin/probe overlap; "
             "exit 3"});
    INFO(r.err);
    CHECK(r.code == 3);
    CHECK(r.out == "from-ctr\nSeccomp:2\nsetns_badfd=EPERM\nbpf=EPERM\nadd_key=EPERM\n");

    // t2 runs under a ctr in the foreground, which asks containerd for the task's exit before it
    // starts it and exits with the task's status: the exit cannot be missed, as an event can
    // when `ctr events` has not subscribed yet by the time the task exits.
    harness::Child t2({"/usr/bin/ctr", "-a", d / "sock", "run", "--snapshotter", "native",
                       "--runc-binary", oci_bin(), image, "t2", "sh", "-c",
                       "trap 'exit 42' USR1; echo ready; while :; do sleep 0.05; done"});
    REQUIRE(t2.wait_for_line("ready", 60));
    r = ctr({"task", "exec", "--exec-id", "e1", "t2", "sh", "-c", "echo in-exec; exit 4"});
    CHECK(r.code == 4);
    CHECK(r.out == "in-exec\n");
    CHECK(ctr({"task", "pause", "t2"}).code == 0);
    CHECK_THAT(ctr({"task", "ls"}).out, Catch::Contains("PAUSED"));
    CHECK(ctr({"task", "resume", "t2"}).code == 0);
    CHECK(ctr({"task", "kill", "-s", "SIGUSR1", "t2"}).code == 0);
    // The trap's status, through the shim and bulwark-oci's state; ctr deletes the task.
    CHECK(t2.wait(60) == 42);
    CHECK_THAT(ctr({"task", "ls"}).out, !Catch::Contains("t2"));
    CHECK(ctr({"container", "rm", "t2"}).code == 0);

    // The kubelet's systemd driver through the shim's SystemdCgroup: the container's cgroup is
    // inside its pod's slice where systemd keeps it (before 2026-12-07 it was a sibling of the
    // QoS slices, /kubepods-besteffort-podbw1.slice, out of the pod's and the QoS class's limits).
    const std::string pod =
        "/kubepods.slice/kubepods-besteffort.slice/"
        "kubepods-besteffort-podbw1.slice";
    struct RemoveSlices {  // the kubelet made them on a node; the test did here
        std::string pod;
        ~RemoveSlices() {
            auto h = bulwark::oci::host_hierarchies();
            std::vector<std::string> roots{h.v2};
            for (auto& [ctrl, mnt] : h.v1) roots.push_back(mnt);
            for (auto& root : roots)
                for (auto p = pod; !root.empty() && p.size() > 1; p = p.substr(0, p.rfind('/')))
                    rmdir((root + p).c_str());
        }
    } slices{pod};
    r = ctr({"run", "--rm", "--snapshotter", "native", "--runc-binary", oci_bin(),
             "--runc-systemd-cgroup", "--cgroup",
             "kubepods-besteffort-podbw1.slice:cri-containerd:t3", image, "t3", "cat",
             "/proc/self/cgroup"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains(":" + pod + "/cri-containerd-t3.scope\n"));
}

TEST_CASE("containerd's default AppArmor profile confines its containers through bulwark-oci",
          "[oci][containerd][apparmor]") {
    // The profile containerd's CRI gives a pod's containers on an AppArmor node (as
    // cri-containerd.apparmor.d): ctr writes and loads the same template under the name given.
    SecurityFs securityfs;
    std::string name = "bulwark-ctr-test-" + std::to_string(getpid());
    UnloadNewProfiles unload(name);
    ContainerdFixture c;
    auto r = c.ctr({"run", "--rm", "--snapshotter", "native", "--apparmor-default-profile", name,
                    "--runc-binary", oci_bin(), c.image, "a1", "sh", "-c",
                    "cat /proc/self/attr/current; cat /proc/kcore"});
    INFO(r.err);
    // The template's deny rule on /proc/kcore (readable by root with its default capabilities).
    CHECK(r.code == 1);
    CHECK(r.out == name + " (enforce)\n");
    CHECK_THAT(r.err, Catch::Contains("Permission denied"));
}

namespace {

// containerd with its CRI plugin, driven as a kubelet drives it (tests/cri/cri.py, the CRI's
// gRPC calls), its one runtime handler bulwark-oci through the runc shim, as docs/kubernetes.md
// configures it. Pods get a network namespace from the CNI ptp plugin in 198.18.47.0/24.
struct CriFixture {
    TempDir d{"cri"};
    const std::string image = "localhost/bulwark-oci-image:latest";
    std::optional<harness::Child> daemon;
    std::vector<std::string> pods;  // stopped and removed at the end, pass or fail
    CriFixture() {
        fs::create_directories(d / "cni");
        fs::create_directories(d / "logs");
        {
            std::ofstream cfg(d / "config.toml");
            cfg << "version = 2\nroot = \"" << d / "root"
                << "\"\nstate = \"" << d / "state"
                << "\"\n[grpc]\n  address = \"" << d / "sock"
                << "\"\n"
                << "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
                << "  sandbox_image = \"" << image << "\"\n"
                << "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
                << "    snapshotter = \"native\"\n"
                << "    default_runtime_name = \"bulwark\"\n"
                << "    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.bulwark]\n"
                << "      runtime_type = \"io.containerd.runc.v2\"\n"
                << "      pod_annotations = [\"org.bulwark.*\"]\n"
                << "      container_annotations = [\"org.bulwark.*\"]\n"
                << "      "
                   "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.bulwark.options]\n"
                << "        BinaryName = \"" << oci_bin() << "\"\n"
                << "  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
                << "    bin_dir = \"/usr/lib/cni\"\n    conf_dir = \"" << d / "cni"
                << "\"\n";
        }
        std::ofstream(d / "cni/10-ptp.conflist")
            << R"({"cniVersion": "0.4.0", "name": "bulwark-cri-test", "plugins": [{"type": "ptp",)"
            << R"( "ipMasq": false, "ipam": {"type": "host-local", "subnet": "198.18.47.0/24",)"
            << R"( "dataDir": ")" << d / "ipam"
            << R"("}}]})";
        daemon.emplace(
            std::vector<std::string>{"/usr/bin/containerd", "--config", d / "config.toml"}, true);
        REQUIRE(daemon->wait_for_line_containing("containerd successfully booted", 30));
        auto r =
            run({"/usr/bin/ctr", "-a", d / "sock", "-n", "k8s.io", "image", "import",
                 "--snapshotter", "native", "--base-name", kArchiveImage, test_image_archive()},
                120);
        INFO(r.out << r.err);
        REQUIRE(r.code == 0);
    }
    ~CriFixture() {
        for (auto& p : pods) {
            cri({"stopp", p});
            cri({"rmp", p});
        }
        // The pods' parent cgroups, which a kubelet makes and bulwark-oci made here.
        auto h = bulwark::oci::host_hierarchies();
        std::vector<std::string> roots{h.v2};
        for (auto& m : h.v1) roots.push_back(m.second);
        for (auto& root : roots) {
            if (root.empty()) continue;
            for (auto& p : parents) rmdir((root + p).c_str());
            rmdir((root + "/kubepods/besteffort").c_str());
            rmdir((root + "/kubepods").c_str());
        }
    }
    std::vector<std::string> parents;  // the pods' cgroup parents
    Result cri(const std::vector<std::string>& args) {
        std::vector<std::string> argv{"/usr/bin/python3",
                                      harness::env("BULWARK_SOURCE_DIR") + "/tests/cri/cri.py",
                                      "--stubs", d / "stubs", d / "sock"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, 150);
    }
    // A pod as the kubelet asks for one: its own network, its containers' own pid namespaces.
    std::string pod_json(const std::string& name, const bulwark::Json& annotations = {},
                         const bulwark::Json& security = {}) {
        bulwark::Json pod = {
            {"metadata", {{"name", name}, {"uid", "bw-" + name}, {"namespace", "default"}}},
            {"hostname", name},
            {"log_directory", d / "logs"},
            {"linux",
             {{"cgroup_parent", parents.emplace_back("/kubepods/besteffort/podbw-" + name)},
              {"security_context", {{"namespace_options", {{"pid", "CONTAINER"}}}}}}}};
        if (!annotations.is_null()) pod["annotations"] = annotations;
        if (!security.is_null()) pod["linux"]["security_context"].update(security);
        auto path = d / (name + ".pod.json");
        std::ofstream(path) << pod.dump();
        return path;
    }
    std::string run_pod(const std::string& pod_file) {
        auto r = cri({"runp", pod_file});
        INFO(r.err);
        REQUIRE(r.code == 0);
        pods.push_back(trim(r.out));
        return pods.back();
    }
    // A container's init, as bulwark-oci's state (the shim's runtime root) names it.
    pid_t pid_of(const std::string& id) {
        auto state = run({oci_bin(), "--root", "/run/containerd/runc/k8s.io", "state", id});
        REQUIRE(state.code == 0);
        return bulwark::parse_json(state.out, "state").at("pid").get<int>();
    }
    std::string create(const std::string& pod, const std::string& pod_file,
                       const bulwark::Json& config) {
        auto path = d / "ctr.json";
        std::ofstream(path) << config.dump();
        auto r = cri({"create", pod, path, pod_file});
        INFO(r.err);
        REQUIRE(r.code == 0);
        return trim(r.out);
    }
};

// A container as the kubelet configures one of a pod's: a non-root user, no_new_privs (the
// pod's allowPrivilegeEscalation: false), the runtime's default seccomp profile, masked and
// read-only /proc paths, a besteffort pod's cpu shares.
bulwark::Json cri_container(const std::string& name, const std::vector<std::string>& cmd) {
    bulwark::Json resources = {{"cpu_shares", 2}, {"oom_score_adj", 1000}};
    if (memory_on_v2()) resources["unified"] = {{"memory.oom.group", "1"}};
    return {{"metadata", {{"name", name}}},
            {"image", {{"image", "localhost/bulwark-oci-image:latest"}}},
            {"command", cmd},
            {"log_path", name + ".log"},
            {"linux",
             {{"resources", resources},
              {"security_context",
               {{"namespace_options", {{"pid", "CONTAINER"}}},
                {"run_as_user", {{"value", 65534}}},
                {"run_as_group", {{"value", 65534}}},
                {"no_new_privs", true},
                {"seccomp", {{"profile_type", "RuntimeDefault"}}},
                {"masked_paths", {"/proc/keys"}},
                {"readonly_paths", {"/proc/sys", "/proc/sysrq-trigger"}}}}}}};
}

}  // namespace

TEST_CASE("a kubelet's CRI calls run a pod's containers through containerd and bulwark-oci",
          "[oci][cri]") {
    CriFixture c;
    auto pod_file = c.pod_json("web");
    auto pod = c.run_pod(pod_file);
    auto id = c.create(
        pod, pod_file,
        cri_container("app", {"/bin/sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"}));
    auto r = c.cri({"start", id});
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto status = [&] {
        auto s = c.cri({"status", id});
        INFO(s.err);
        REQUIRE(s.code == 0);
        return bulwark::parse_json(s.out, "status");
    };
    CHECK(status().at("state") == "CONTAINER_RUNNING");
    // kubectl exec's path (ExecSync): the container's user, hostname, filter, no_new_privs.
    r = c.cri({"exec", id, "sh", "-c",
               "id -u; hostname; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr -d '\\t';"
               " awk '$5 == \"/proc/keys\" || $5 == \"/proc/sys\" {print $5, substr($6, 1, 2)}'"
               " /proc/self/mountinfo; exit 4"});
    INFO(r.err);
    CHECK(r.code == 4);
    // /proc/keys masked (a mount over it), /proc/sys read-only.
    CHECK(r.out == "65534\nweb\nNoNewPrivs:1\nSeccomp:2\n/proc/keys rw\n/proc/sys ro\n");
    // The pod's network namespace, from CNI, shared with the sandbox: its address is the pod's.
    r = c.cri({"exec", id, "ip", "-4", "-o", "addr", "show", "eth0"});
    CHECK_THAT(r.out, Catch::Contains("inet 198.18.47."));
    // UpdateContainerResources (a pod resize): the memory limit reaches the container's cgroup.
    std::ofstream(c.d / "res.json") << R"({"memory_limit_in_bytes": 67108864, "cpu_shares": 4})";
    r = c.cri({"update", id, c.d / "res.json"});
    INFO(r.err);
    CHECK(r.code == 0);
    auto memory = cgroup_dir_of(c.pid_of(id), "memory");
    auto limit = v1_or_v2(memory, "memory.limit_in_bytes", "memory.max");
    REQUIRE(fs::exists(limit));
    CHECK(trim(slurp(limit)) == "67108864");
    if (memory_on_v2()) CHECK(trim(slurp(memory + "/memory.oom.group")) == "1");
    // StopContainer: SIGTERM, the trap's status back through the shim.
    r = c.cri({"stop", id});
    INFO(r.err);
    CHECK(r.code == 0);
    auto st = status();
    CHECK(st.at("state") == "CONTAINER_EXITED");
    CHECK(st.value("exit_code", 0) == 7);
    CHECK(c.cri({"rm", id}).code == 0);
}

TEST_CASE("a pod annotation guards the pod's interface: the host's address is dropped",
          "[oci][cri]") {
    // The kubelet passes a pod's annotations to the CRI; containerd copies the allow-listed ones
    // into the sandbox's spec and its containers' (docs/kubernetes.md).
    CriFixture c;
    auto policy = c.d / "policy.json";
    // The host reaches a ptp pod from its end of the pair, the network's gateway, .1.
    std::ofstream(policy) << R"({"version": 1, "lists": {"deny": ["198.18.47.1/32"]}})";
    auto pod_file = c.pod_json("guarded", {{"org.bulwark.policy", policy}});
    auto pod = c.run_pod(pod_file);
    CHECK(fs::exists("/sys/fs/bpf/bulwark/" + pod));
    auto id =
        c.create(pod, pod_file, cri_container("web", {"httpd", "-f", "-p", "8080", "-h", "/www"}));
    auto r = c.cri({"start", id});
    INFO(r.err);
    REQUIRE(r.code == 0);
    REQUIRE(harness::wait_listening(c.pid_of(id), 8080, 5000));
    r = c.cri({"exec", id, "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"});
    auto ip = trim(r.out).substr(0, trim(r.out).find('/'));
    REQUIRE(ip.rfind("198.18.47.", 0) == 0);
    r = run({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2",
             "http://" + ip + ":8080/"});
    CHECK(r.code == 28);  // dropped: no answer within the bound
    auto stats = run({harness::bulwark(), "stats", "--json", "--name", pod});
    INFO(stats.out << stats.err);
    REQUIRE(stats.code == 0);
    CHECK(stats.out.find("\"drop_deny\"") != std::string::npos);
    // httpd is its namespace's init and has no SIGTERM handler: no grace, as it would wait out.
    CHECK(c.cri({"stop", id, "0"}).code == 0);
    CHECK(c.cri({"stopp", pod}).code == 0);
    CHECK(c.cri({"rmp", pod}).code == 0);
    CHECK_FALSE(fs::exists("/sys/fs/bpf/bulwark/" + pod));
}

TEST_CASE("org.bulwark.harden on a pod holds its sandbox and containers to the floor",
          "[oci][cri]") {
    // As docs/kubernetes.md's example: the floor for every container of the pod, the sandbox
    // (pause) container included, which runs as the pod's securityContext.
    CriFixture c;
    auto refused = c.pod_json("root", {{"org.bulwark.harden", "true"}});
    auto r = c.cri({"runp", refused});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("org.bulwark.harden: process.user.uid: 0") &&
                          Catch::Contains("this is the pod's sandbox"));
    auto pod_file =
        c.pod_json("floor", {{"org.bulwark.harden", "true"}},
                   {{"run_as_user", {{"value", 65534}}}, {"run_as_group", {{"value", 65534}}}});
    auto pod = c.run_pod(pod_file);
    auto config = cri_container("app", {"/bin/sleep", "1000"});
    config["linux"]["security_context"].erase("no_new_privs");  // the floor sets it
    auto id = c.create(pod, pod_file, config);
    REQUIRE(c.cri({"start", id}).code == 0);
    r = c.cri({"exec", id, "sh", "-c",
               "grep NoNewPrivs: /proc/self/status | tr -d '\\t'; touch /x 2>&1; "
               "awk '$5 == \"/tmp\" {print $5, $6}' /proc/self/mountinfo"});
    INFO(r.err);
    CHECK_THAT(r.out, Catch::StartsWith("NoNewPrivs:1\n") &&
                          Catch::Contains("Read-only file system") &&
                          Catch::Contains("/tmp rw,nosuid,nodev,noexec"));
}

TEST_CASE("a pod's containers run under containerd's default AppArmor profile through the CRI",
          "[oci][cri][apparmor]") {
    // A Kubernetes node with AppArmor: containerd's CRI loads cri-containerd.apparmor.d and names
    // it for every container that does not ask for another (the pod's RuntimeDefault).
    SecurityFs securityfs;
    UnloadNewProfiles unload("cri-containerd.apparmor.d");
    CriFixture c;  // started after securityfs, so that it sees AppArmor
    auto pod_file = c.pod_json("aa");
    auto pod = c.run_pod(pod_file);
    auto id = c.create(pod, pod_file, cri_container("app", {"/bin/sleep", "1000"}));
    REQUIRE(c.cri({"start", id}).code == 0);
    auto r = c.cri({"exec", id, "cat", "/proc/self/attr/current"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out == "cri-containerd.apparmor.d (enforce)\n");
}
