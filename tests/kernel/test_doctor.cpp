// `bulwark doctor` on this host (and in the VM): it agrees with what the tests find, and changes
// nothing.
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "core/json_util.hpp"
#include "harness.hpp"
#include "sandbox/cgroups.hpp"

using namespace harness;

std::string kernel_precheck() {
    return {};
}

namespace {

bulwark::Json doctor_json(int* code = nullptr) {
    auto r = run({harness::bulwark(), "doctor", "--json"});
    INFO(r.err);
    if (code) *code = r.code;
    return bulwark::parse_json(r.out, "doctor");
}

std::string status_of(const bulwark::Json& d, const std::string& id) {
    for (auto& c : d.at("checks"))
        if (c.at("id") == id) return c.at("status");
    return "absent";
}

}  // namespace

TEST_CASE("doctor's verdicts match what bulwark and the kernel do here", "[doctor]") {
    auto mounts = lines(host_mountinfo()).size();
    int code = -1;
    auto d = doctor_json(&code);
    // Its exit status is its verdict.
    CHECK((code == 0) == d.at("ok").get<bool>());
    CHECK((code == 0 || code == 1));
    // Root on a kernel that runs the rest of this suite: BPF, seccomp and namespaces work.
    for (auto id : {"bpffs", "bpf-test-run", "bpf-loop", "ringbuf", "seccomp", "namespaces",
                    "pidfd", "capabilities"})
        CHECK(status_of(d, id) == "ok");
    // Limits: doctor says missing exactly where bulwark refuses them.
    const bulwark::cgroups::Limits all{1 << 20, 1, 1000};
    bool limits = bulwark::cgroups::unavailable(all).empty();
    CHECK((status_of(d, "cgroup-controllers") == "ok") == limits);
    auto r = run_sandbox({"--memory", "16m"}, {"/bin/true"});
    CHECK((r.code == 0) == limits);
    // The 32-bit entry point: doctor's answer is the probe's (SIGSEGV when closed).
    auto p = run({env("BULWARK_PROBE"), "int80"}, 10);
    bool closed = p.code == 128 + SIGSEGV || p.code == 128 + SIGILL;
    CHECK((status_of(d, "int80") == "missing") == closed);
    // PID 1.
    auto comm = lines(run({"/bin/cat", "/proc/1/comm"}).out);
    CHECK((status_of(d, "systemd") == "ok") == (!comm.empty() && comm[0] == "systemd"));
    // Nothing changed: no mount, no pin.
    CHECK(lines(host_mountinfo()).size() == mounts);
    // The table says the same, with the fixes.
    auto t = run({harness::bulwark(), "doctor"});
    CHECK(t.code == code);
    CHECK_THAT(t.out, Catch::Contains("cgroup-controllers"));
}

TEST_CASE("doctor: a bpf filesystem not mounted yet is not missing", "[doctor]") {
    // A machine whose PID 1 is not systemd boots without /sys/fs/bpf mounted; `xdp attach` mounts
    // it. Doctor, run where a tmpfs hides the host's bpffs (a mount namespace of its own), must
    // say so, not "missing", and mount nothing itself.
    auto hide_bpffs = [] {
        if (unshare(CLONE_NEWNS) != 0 ||
            mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            mount("tmpfs", "/sys/fs/bpf", "tmpfs", 0, "size=64k") != 0)
            _exit(126);
    };
    auto r = run({harness::bulwark(), "doctor", "--json"}, 60, hide_bpffs);
    INFO(r.err);
    auto d = bulwark::parse_json(r.out, "doctor");
    CHECK(status_of(d, "bpffs") == "ok");
    auto sh = run({"/bin/sh", "-c",
                   "stat -f -c %T /sys/fs/bpf; " + harness::bulwark() +
                       " doctor --json >/dev/null; stat -f -c %T /sys/fs/bpf"},
                  60, hide_bpffs);
    // Doctor changed nothing: still the tmpfs after it ran.
    CHECK(lines(sh.out) == std::vector<std::string>{"tmpfs", "tmpfs"});
}

namespace {

// An interface of `type` (bridge, ...) in this namespace for the test's length.
struct Link {
    std::string name;
    Link(std::string n, const std::string& type) : name(std::move(n)) {
        run({"/usr/sbin/ip", "link", "del", name});
        auto r = run({"/usr/sbin/ip", "link", "add", name, "type", type});
        if (r.code != 0) throw std::runtime_error("ip link add " + name + ": " + r.err);
    }
    ~Link() { run({"/usr/sbin/ip", "link", "del", name}); }
};

// A guard attached by the test, detached on destruction whatever the test did.
struct Attached {
    std::string name;
    ~Attached() { run({harness::bulwark(), "xdp", "detach", "--name", name}); }
};

}  // namespace

TEST_CASE("doctor's xdp-driver answer is what a native attach does", "[doctor]") {
    VethNs veth("bw-doc-ns", "bw-doc-h", "bw-doc-p", "198.18.47.1/30", "198.18.47.2/30");
    Link bridge("bw-doc-b", "bridge");
    auto policy = std::filesystem::temp_directory_path() / "bulwark-doctor-policy.json";
    std::ofstream(policy) << R"({ "inspect_ports": [80] })";
    // veth has native XDP and a bridge has none, whether the kernel says so (xdp-features, 6.3+)
    // or doctor knows the driver (before).
    for (auto [iface, native] : {std::pair{veth.host(), true}, {bridge.name, false}}) {
        INFO(iface);
        auto d = bulwark::parse_json(
            run({harness::bulwark(), "doctor", "--json", "--iface", iface}).out, "doctor");
        Attached guard{"doctor-native"};
        auto r = run({harness::bulwark(), "xdp", "attach", "--iface", iface, "--mode", "native",
                      "--policy", policy.string(), "--name", guard.name});
        INFO(r.err);
        CHECK(status_of(d, "xdp-driver") == (native ? "ok" : "degraded"));
        CHECK((r.code == 0) == native);
    }
    std::filesystem::remove(policy);
}
