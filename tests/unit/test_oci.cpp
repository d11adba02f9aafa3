// bulwark-oci's pure logic: config.json parsing and refusals, mount options, signals, cgroup paths.
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <tuple>

#include "../tempdir.hpp"
#include "oci/cgroup.hpp"
#include "oci/runtime.hpp"
#include "oci/spec.hpp"
#include "sandbox/apparmor.hpp"

using namespace bulwark;
using namespace bulwark::oci;

namespace {

// A minimal valid config in the shape Podman writes, to be bent by each case.
Json podman_like() {
    return Json::parse(R"({
      "ociVersion": "1.0.2-dev",
      "process": {"user": {"uid": 0, "gid": 0, "umask": 18}, "args": ["/bin/true"],
                  "env": ["PATH=/bin"], "cwd": "/",
                  "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"],
                                   "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]},
                  "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}]},
      "root": {"path": "rootfs"},
      "hostname": "c1",
      "mounts": [{"destination": "/proc", "type": "proc", "source": "proc",
                  "options": ["nosuid", "noexec", "nodev"]},
                 {"destination": "/data", "type": "bind", "source": "/srv/data",
                  "options": ["rbind", "ro", "rprivate"]}],
      "linux": {"sysctl": {"net.ipv4.ping_group_range": "0 0"},
                "resources": {"devices": [{"allow": false, "access": "rwm"}],
                              "pids": {"limit": 2048}},
                "cgroupsPath": "/libpod_parent/libpod-abc",
                "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"},
                               {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
                "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
    })");
}

std::string parse_error(const Json& doc) {
    try {
        parse_spec(doc, "/b/config.json", "/b");
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

// linux.resources (or `update --resources`) from JSON text, as file "r.json".
Resources resources_from(const std::string& text) {
    auto doc = parse_json(text, "r.json");
    Unknown unknown;
    return parse_resources(JsonAt(doc, "r.json"), unknown);
}

}  // namespace

TEST_CASE("a Podman-shaped config.json parses into what the runtime applies", "[oci]") {
    auto s = parse_spec(podman_like(), "/b/config.json", "/b");
    CHECK(s.root == "/b/rootfs");
    CHECK_FALSE(s.root_readonly);
    CHECK(s.process.args == std::vector<std::string>{"/bin/true"});
    CHECK(s.process.umask == 18u);
    REQUIRE(s.process.caps.bounding.size() == 2);
    CHECK(s.process.caps.bounding[1] == CAP_KILL);
    CHECK(s.process.caps.ambient.empty());
    REQUIRE(s.process.rlimits.size() == 1);
    CHECK(s.process.rlimits[0].resource == RLIMIT_NOFILE);
    REQUIRE(s.mounts.size() == 2);
    CHECK(s.mounts[1].opts.flags == (MS_BIND | MS_REC | MS_RDONLY));
    CHECK(s.mounts[1].opts.propagation == (MS_PRIVATE | MS_REC));
    CHECK(s.has_namespace(CLONE_NEWPID));
    CHECK_FALSE(s.has_namespace(CLONE_NEWCGROUP));
    CHECK(s.find_namespace(CLONE_NEWNET)->path == "/run/netns/x");
    CHECK(s.resources.pids_limit == 2048);
    REQUIRE(s.resources.devices.size() == 1);
    CHECK(s.resources.devices[0].v1() == "a");
    CHECK(s.sysctl.at("net.ipv4.ping_group_range") == "0 0");
    CHECK(s.cgroups_path == "/libpod_parent/libpod-abc");
}

TEST_CASE("what bulwark-oci cannot honour is refused with its JSON path", "[oci]") {
    auto doc = podman_like();
    doc["linux"]["uidMappings"] =
        Json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});
    CHECK_THAT(parse_error(doc),
               Catch::Contains("/linux/uidMappings") && Catch::Contains("user namespaces"));

    doc = podman_like();
    doc["linux"]["namespaces"].push_back({{"type", "user"}});
    CHECK_THAT(parse_error(doc), Catch::Contains("/linux/namespaces/5/type"));

    doc = podman_like();
    doc["mounts"][1]["options"].push_back("idmap");
    CHECK_THAT(parse_error(doc), Catch::Contains("/mounts/1/options") && Catch::Contains("idmap"));

    // runc's tmpcopyup, which Podman sends for --read-only and --tmpfs: tmpfs only.
    doc = podman_like();
    doc["mounts"][1]["options"].push_back("tmpcopyup");
    CHECK_THAT(parse_error(doc),
               Catch::Contains("/mounts/1/options: tmpcopyup is for tmpfs mounts only"));
    doc = podman_like();
    doc["mounts"].push_back({{"destination", "/run"},
                             {"type", "tmpfs"},
                             {"source", "tmpfs"},
                             {"options", Json::array({"rw", "nosuid", "nodev", "tmpcopyup"})}});
    CHECK(parse_error(doc) == "");

    // fileMode: Podman gives the host node's whole st_mode; its file type must be the node's.
    for (auto [mode, type, error] : std::vector<std::tuple<int, const char*, const char*>>{
             {020600, "c", ""},  // /dev/fuse as `podman run --device` sends it
             {0666, "c", ""},
             {060660, "b", ""},
             {010644, "p", ""},
             {060600, "c", "/linux/devices/0/fileMode: its file type is not the type \"c\""},
             {0100644, "c", "/linux/devices/0/fileMode"}}) {
        INFO(mode << " " << type);
        doc = podman_like();
        doc["linux"]["devices"] = Json::array({{{"type", type},
                                                {"path", "/dev/x"},
                                                {"major", 10},
                                                {"minor", 229},
                                                {"fileMode", mode}}});
        CHECK_THAT(parse_error(doc), Catch::Contains(error));
        if (*error == '\0') CHECK(parse_error(doc) == "");
    }

    doc = podman_like();
    doc["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
    CHECK_THAT(parse_error(doc), Catch::Contains("/process/selinuxLabel"));

    doc = podman_like();
    doc["process"]["apparmorProfile"] = 5;
    CHECK_THAT(parse_error(doc), Catch::Contains("/process/apparmorProfile"));
    doc["process"]["apparmorProfile"] = "containers-default-0.50.0";
    CHECK(parse_spec(doc, "/b/config.json", "/b").process.apparmor_profile ==
          "containers-default-0.50.0");

    doc = podman_like();
    doc["linux"]["resources"]["memory"] = {{"limit", 1 << 20}, {"swap", 1 << 19}};
    CHECK_THAT(parse_error(doc), Catch::Contains("/linux/resources/memory/swap"));

    doc = podman_like();
    doc["hooks"] = {{"createContainer", Json::array({{{"path", "/bin/hook"}}})}};
    CHECK_THAT(parse_error(doc), Catch::Contains("/hooks/createContainer"));

    doc = podman_like();
    doc["process"]["rlimits"][0]["type"] = "RLIMIT_BOGUS";
    CHECK_THAT(parse_error(doc), Catch::Contains("/process/rlimits/0/type"));

    doc = podman_like();
    doc["linux"]["namespaces"] = Json::array({{{"type", "pid"}}});
    CHECK_THAT(parse_error(doc), Catch::Contains("mount namespace"));

    doc = podman_like();
    doc["linux"]["devices"] =
        Json::array({{{"type", "c"}, {"path", "/etc/evil"}, {"major", 1}, {"minor", 3}}});
    CHECK_THAT(parse_error(doc), Catch::Contains("/linux/devices/0/path"));

    // Empty values of unsupported features ask for nothing and pass.
    doc = podman_like();
    doc["linux"]["uidMappings"] = Json::array();
    doc["process"]["apparmorProfile"] = "";
    CHECK(parse_error(doc) == "");
}

TEST_CASE("an AppArmor profile is applied where AppArmor is on, and refused where it is off",
          "[oci]") {
    namespace aa = bulwark::sandbox::apparmor;
    // Podman, containerd and Docker name a profile only where AppArmor is on; "unconfined" is
    // what `--security-opt apparmor=unconfined` and a pod's Unconfined send anywhere.
    for (bool on : {false, true}) {
        INFO(on);
        CHECK(aa::refusal("", on) == "");
        CHECK(aa::refusal("unconfined", on) == "");
        CHECK_THAT(aa::refusal("bad\nname", on), Catch::Contains("control character"));
    }
    CHECK(aa::refusal("cri-containerd.apparmor.d", true) == "");
    CHECK_THAT(aa::refusal("cri-containerd.apparmor.d", false),
               Catch::Contains("AppArmor is not enabled") &&
                   Catch::Contains("\"cri-containerd.apparmor.d\""));
}

TEST_CASE("properties the runtime spec does not define are ignored, each named", "[oci]") {
    // config.md, Extensibility: a runtime MUST NOT fail on an unknown property (runtime-tools'
    // misc_props adds a top-level "unknown"); a newer spec's fields and vendors' come this way.
    auto doc = podman_like();
    doc["unknown"] = "unknown";
    doc["process"]["user"]["uidd"] = 5;
    doc["linux"]["resources"]["pids"]["limitt"] = 3;
    doc["linux"]["namespaces"][0]["flags"] = 1;
    doc["hooks"] = {{"prestart", Json::array({{{"path", "/bin/hook"}, {"why", "x"}}})}};
    CHECK(parse_error(doc) == "");
    auto s = parse_spec(doc, "/b/config.json", "/b");
    CHECK(s.unknown ==
          std::vector<std::string>{
              "/: unknown key \"unknown\"",
              "/process/user: unknown key \"uidd\" (did you mean \"uid\"?)",
              "/hooks/prestart/0: unknown key \"why\"",
              "/linux/namespaces/0: unknown key \"flags\"",
              "/linux/resources/pids: unknown key \"limitt\" (did you mean \"limit\"?)"});
    CHECK(s.resources.pids_limit == 2048);  // the misspelt limit is not read
    CHECK(parse_spec(podman_like(), "/b/config.json", "/b").unknown.empty());
    // What the spec defines and bulwark-oci does not do is still refused (test above).
    doc["linux"]["intelRdt"] = {{"closID", "x"}};
    CHECK_THAT(parse_error(doc), Catch::Contains("/linux/intelRdt"));
}

TEST_CASE("mount options map to mount(2) flags, propagation and data", "[oci]") {
    auto m = parse_mount_options({"nosuid", "noexec", "mode=755", "size=65536k", "strictatime"});
    CHECK(m.flags == (MS_NOSUID | MS_NOEXEC | MS_STRICTATIME));
    CHECK(m.data == "mode=755,size=65536k");
    CHECK_FALSE(m.bind());
    // A later option undoes an earlier one, as in mount(8).
    m = parse_mount_options({"ro", "rw", "bind", "rslave"});
    CHECK(m.flags == MS_BIND);
    CHECK(m.clear == MS_RDONLY);
    CHECK(m.propagation == (MS_SLAVE | MS_REC));
    CHECK_THROWS_WITH(parse_mount_options({"idmap"}), Catch::Contains("idmap"));
}

TEST_CASE("signals by name, with or without SIG, and by number", "[oci]") {
    CHECK(parse_signal("KILL") == SIGKILL);
    CHECK(parse_signal("SIGTERM") == SIGTERM);
    CHECK(parse_signal("sigusr1") == SIGUSR1);
    CHECK(parse_signal("9") == 9);
    CHECK(parse_signal("RTMIN+2") == SIGRTMIN + 2);
    CHECK_THROWS_AS(parse_signal("NOPE"), InputError);
    CHECK_THROWS_AS(parse_signal("0"), InputError);
    CHECK_THROWS_AS(parse_signal("99999"), InputError);
}

TEST_CASE("container IDs as runc accepts them", "[oci]") {
    check_id("libpod-3f2a_x.y+z");
    CHECK_THROWS_AS(check_id(".."), InputError);
    CHECK_THROWS_AS(check_id("a/b"), InputError);
    CHECK_THROWS_AS(check_id(""), InputError);
}

TEST_CASE("cgroupsPath and hierarchies on hybrid and pure cgroup v2 hosts", "[oci]") {
    CHECK(cgroup_relpath("", "c1", false) == "/bulwark-oci/c1");
    CHECK(cgroup_relpath("/libpod_parent/libpod-x", "c1", false) == "/libpod_parent/libpod-x");
    CHECK(cgroup_relpath("k8s/pod1", "c1", false) == "/k8s/pod1");
    CHECK(cgroup_relpath("system.slice:crio:abc", "c1", true) == "/system.slice/crio-abc.scope");
    // The kubelet's systemd driver: containerd passes the pod's slice, which systemd nests by its
    // dashes; the container's cgroup must be inside the pod's (its limits, its QoS class).
    CHECK(cgroup_relpath("kubepods-besteffort-pod1a2b.slice:cri-containerd:abc", "c1", true) ==
          "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b.slice/"
          "cri-containerd-abc.scope");
    CHECK(cgroup_relpath("machine.slice:libpod:abc", "c1", true) ==
          "/machine.slice/libpod-abc.scope");
    CHECK(cgroup_relpath("-.slice:x:abc", "c1", true) == "/x-abc.scope");
    CHECK(cgroup_relpath(":x:abc", "c1", true) == "/system.slice/x-abc.scope");
    CHECK(cgroup_relpath("user-1000.slice:x:y.scope", "c1", true) ==
          "/user.slice/user-1000.slice/y.scope");
    for (auto bad : {"a--b.slice:x:y", "-a.slice:x:y", "a-.slice:x:y", "a/b.slice:x:y",
                     "kubepods:x:y", ".slice:x:y", "a.slice:x:../../y", "a.slice:x:y/z"}) {
        INFO(bad);
        CHECK_THROWS_AS(cgroup_relpath(bad, "c1", true), InputError);
    }
    CHECK_THROWS_AS(cgroup_relpath("/a/../../etc", "c1", false), InputError);

    std::string hybrid =
        "30 24 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n"
        "33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory\n"
        "34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:13 - cgroup cgroup rw,cpu,cpuacct\n"
        "35 30 0:31 /sub /mnt/pids rw shared:14 - cgroup cgroup rw,pids\n";
    auto h = parse_hierarchies(hybrid);
    CHECK(h.v2 == "/sys/fs/cgroup/unified");
    CHECK(h.v1.at("memory") == "/sys/fs/cgroup/memory");
    CHECK(h.v1.at("cpu") == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK_FALSE(h.v1.count("pids"));  // only a subtree's bind: not where paths start

    // Every controller the host has is joined, limited or not, for `update` to find it.
    auto joined = plan_cgroup(h, "/x", Resources{});
    CHECK(joined.v2 == "/sys/fs/cgroup/unified/x");
    CHECK(joined.v1.at("memory") == "/sys/fs/cgroup/memory/x");
    CHECK(joined.v1.at("cpu") == "/sys/fs/cgroup/cpu,cpuacct/x");
    CHECK_FALSE(joined.v1.count("pids"));  // not mounted where paths start: not asked either

    // Limits on a controller that no hierarchy offers: refused, naming it.
    Resources r;
    r.pids_limit = 10;
    CHECK_THROWS_WITH(plan_cgroup(h, "/x", r), Catch::Contains("pids"));

    CHECK(shares_to_weight(2) == 1);
    CHECK(shares_to_weight(1024) == 39);
    CHECK(shares_to_weight(262144) == 10000);
}

TEST_CASE("the harden annotation raises defaults to the floor and names each field against it",
          "[oci]") {
    auto ok = parse_spec(example_spec(), "/b/config.json", "/b");
    CHECK(harden(ok).empty());
    CHECK(ok.root_readonly);
    CHECK(ok.process.uid == 65534);

    std::vector<std::string> v;
    auto has = [&](const std::string& what) {
        for (auto& x : v)
            if (x.find(what) != std::string::npos) return true;
        return false;
    };
    // Podman's spec as it comes: root, so refused; nothing else is held against it.
    auto s = parse_spec(podman_like(), "/b/config.json", "/b");
    v = harden(s);
    CHECK(has("process.user.uid"));
    CHECK(has("process.user.gid"));
    CHECK(v.size() == 2);

    // Non-root and silent about the rest: raised to the floor.
    auto doc = podman_like();
    doc["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    s = parse_spec(doc, "/b/config.json", "/b");
    CHECK(harden(s).empty());
    CHECK(s.process.no_new_privileges);
    CHECK(s.root_readonly);
    REQUIRE(s.mounts.back().destination == "/tmp");
    CHECK(s.mounts.back().opts.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV));

    doc = example_spec();
    doc["process"]["capabilities"]["effective"] = Json::array({"CAP_SYS_ADMIN"});
    doc["mounts"][6]["options"] = Json::array({"nosuid"});
    s = parse_spec(doc, "/b/config.json", "/b");
    v = harden(s);
    CHECK(has("process.capabilities.effective: CAP_SYS_ADMIN"));
    CHECK(has("/mounts/6: /tmp must be a tmpfs with noexec,nosuid,nodev"));

    // Realtime CPU and I/O classes, which the runtime's own capabilities would grant; batch and
    // idle ones pass.
    for (auto policy : {"SCHED_FIFO", "SCHED_RR", "SCHED_DEADLINE"}) {
        doc = example_spec();
        doc["process"]["scheduler"] = {{"policy", policy}};
        s = parse_spec(doc, "/b/config.json", "/b");
        v = harden(s);
        CHECK(has("process.scheduler.policy"));
    }
    doc = example_spec();
    doc["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_RT"}};
    s = parse_spec(doc, "/b/config.json", "/b");
    v = harden(s);
    CHECK(has("process.ioPriority.class"));
    doc["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}};
    doc["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 10}};
    s = parse_spec(doc, "/b/config.json", "/b");
    CHECK(harden(s).empty());
}

TEST_CASE("time namespaces take offsets for CLOCK_MONOTONIC and CLOCK_BOOTTIME", "[oci]") {
    auto doc = podman_like();
    doc["linux"]["namespaces"].push_back({{"type", "time"}});
    doc["linux"]["timeOffsets"] = {{"monotonic", {{"secs", -5}, {"nanosecs", 250}}},
                                   {"boottime", {{"secs", 86400}}}};
    auto s = parse_spec(doc, "/b/config.json", "/b");
    REQUIRE(s.has_namespace(CLONE_NEWTIME));
    CHECK(s.time_offsets.monotonic.secs == -5);
    CHECK(s.time_offsets.monotonic.nanosecs == 250);
    CHECK(s.time_offsets.boottime.secs == 86400);
    CHECK(s.time_offsets.boottime.nanosecs == 0);
    CHECK(s.unknown.empty());
    // A clock no time namespace offsets is a property to warn about, not an error.
    doc["linux"]["timeOffsets"]["realtime"] = {{"secs", 1}};
    CHECK(parse_spec(doc, "/b/config.json", "/b").unknown.size() == 1);

    auto bad = doc;
    bad["linux"]["timeOffsets"]["boottime"]["nanosecs"] = 1000000000;
    CHECK_THAT(parse_error(bad), Catch::Contains("/linux/timeOffsets/boottime/nanosecs"));
    // Offsets are set on a namespace before anyone enters it: not on one joined by path.
    bad = doc;
    bad["linux"]["namespaces"].back()["path"] = "/proc/1/ns/time";
    CHECK_THAT(parse_error(bad),
               Catch::Contains("/linux/timeOffsets") && Catch::Contains("new time namespace"));
    bad = podman_like();
    bad["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1}}}};
    CHECK_THAT(parse_error(bad), Catch::Contains("/linux/timeOffsets"));
}

TEST_CASE("scheduling, I/O priority, affinity and personality parse as the runtime spec names them",
          "[oci]") {
    auto doc = podman_like();
    doc["process"]["scheduler"] = {{"policy", "SCHED_DEADLINE"},
                                   {"flags", {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"}},
                                   {"runtime", 10000000},
                                   {"deadline", 30000000},
                                   {"period", 30000000}};
    doc["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 4}};
    doc["process"]["execCPUAffinity"] = {{"initial", "0"}, {"final", "0-2,5"}};
    doc["linux"]["personality"] = {{"domain", "LINUX32"}};
    doc["domainname"] = "example.test";
    auto s = parse_spec(doc, "/b/config.json", "/b");
    CHECK(s.unknown.empty());
    REQUIRE(s.process.scheduler);
    CHECK(s.process.scheduler->policy == 6);  // SCHED_DEADLINE
    CHECK(s.process.scheduler->flags == (0x01 | 0x02));
    CHECK(s.process.scheduler->runtime == 10000000);
    REQUIRE(s.process.io_priority);
    CHECK(s.process.io_priority->io_class == 2);
    CHECK(s.process.io_priority->level == 4);
    REQUIRE(s.process.cpus_final);
    CHECK(CPU_COUNT(&*s.process.cpus_final) == 4);
    CHECK(CPU_ISSET(5, &*s.process.cpus_final));
    CHECK(s.personality == 0x0008u);  // PER_LINUX32
    CHECK(s.domainname == "example.test");

    auto cpus = parse_cpu_list("1,3-4");
    CHECK(CPU_COUNT(&cpus) == 3);
    CHECK(CPU_ISSET(4, &cpus));
    for (auto bad : {"", "a", "1-", "-1", "3-1", "1,,2", "1,", "1 2", "99999"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_cpu_list(bad), InputError);
    }
    auto refusal = [&](const char* path, const Json& value) {
        auto d = doc;
        d[Json::json_pointer(path)] = value;
        return parse_error(d);
    };
    CHECK_THAT(refusal("/process/scheduler/policy", "SCHED_ISO"),
               Catch::Contains("/process/scheduler/policy") && Catch::Contains("SCHED_OTHER"));
    CHECK_THAT(refusal("/process/scheduler/flags/0", "SCHED_FLAG_X"),
               Catch::Contains("/process/scheduler/flags/0"));
    CHECK_THAT(refusal("/process/scheduler/nice", 20), Catch::Contains("/process/scheduler/nice"));
    CHECK_THAT(refusal("/process/ioPriority/class", "IOPRIO_CLASS_NONE"),
               Catch::Contains("/process/ioPriority/class"));
    CHECK_THAT(refusal("/process/ioPriority/priority", 8),
               Catch::Contains("/process/ioPriority/priority"));
    CHECK_THAT(refusal("/process/execCPUAffinity/final", "all"),
               Catch::Contains("/process/execCPUAffinity/final"));
    CHECK_THAT(refusal("/linux/personality/domain", "PER_BSD"),
               Catch::Contains("/linux/personality/domain"));
    CHECK_THAT(refusal("/linux/personality/flags", Json::array({"X"})),
               Catch::Contains("/linux/personality/flags/0"));
    // A domain name outside a uts namespace of the container's would be the host's.
    auto d = doc;
    auto& ns = d["linux"]["namespaces"];
    ns.erase(std::remove(ns.begin(), ns.end(), Json{{"type", "uts"}}), ns.end());
    CHECK_THAT(parse_error(d), Catch::Contains("/domainname"));
}

TEST_CASE("the features document lists what is supported", "[oci]") {
    auto f = features();
    CHECK(f.at("ociVersionMin") == "1.0.0");
    auto ns = f.at("linux").at("namespaces");
    CHECK(std::find(ns.begin(), ns.end(), "network") != ns.end());
    CHECK(std::find(ns.begin(), ns.end(), "user") == ns.end());
    CHECK(std::find(ns.begin(), ns.end(), "time") != ns.end());
    CHECK(f.at("annotations").contains("org.bulwark.policy"));
    auto opts = f.at("mountOptions");
    CHECK(std::find(opts.begin(), opts.end(), "tmpcopyup") != opts.end());
}

TEST_CASE("hugepage limits parse as the kubelet sends them and find the hugetlb controller",
          "[oci]") {
    // Every container of a pod: each of the node's page sizes at 0 unless the pod asks.
    auto r = resources_from(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 0},
                                          {"pageSize": "1GB", "limit": 2147483648}]})");
    REQUIRE(r.hugepages.size() == 2);
    CHECK(r.hugepages[0].page_size == "2MB");
    CHECK(r.hugepages[0].limit == 0);
    CHECK(r.hugepages[1].page_size == "1GB");
    CHECK(r.hugepages[1].limit == 2147483648u);
    CHECK(r.any_limit());
    for (auto bad : {"2M", "MB", "02MB", "2MB/../x", "2 MB", "2mb", ""}) {
        INFO(bad);
        CHECK_THROWS_WITH(resources_from(std::string(R"({"hugepageLimits": [{"pageSize": ")") +
                                         bad + R"(", "limit": 0}]})"),
                          Catch::Contains("/hugepageLimits/0/pageSize"));
    }
    CHECK_THROWS_WITH(resources_from(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": -1}]})"),
                      Catch::Contains("/hugepageLimits/0/limit"));
    // hugetlb as a v1 controller (a hybrid host), or nowhere: refused, naming it.
    auto h = parse_hierarchies(
        "37 30 0:33 / /sys/fs/cgroup/hugetlb rw shared:16 - cgroup cgroup rw,hugetlb\n");
    CHECK(plan_cgroup(h, "/x", r).v1.at("hugetlb") == "/sys/fs/cgroup/hugetlb/x");
    h = parse_hierarchies(
        "33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory\n");
    CHECK_THROWS_WITH(plan_cgroup(h, "/x", r), Catch::Contains("hugetlb controller"));
}

TEST_CASE("unified cgroup v2 files parse as the kubelet sends them and need their controller",
          "[oci]") {
    // The kubelet on a cgroup v2 node: memory.oom.group, so an OOM kill takes the container's
    // every process. Refused before 2026-12-07: no pod started through bulwark-oci there.
    auto r = resources_from(R"({"unified": {"memory.oom.group": "1", "cgroup.max.descendants": "10",
                                   "hugetlb.2MB.max": "0", "io.weight": "default 50"}})");
    REQUIRE(r.unified.size() == 4);
    CHECK(r.unified.at("memory.oom.group") == "1");
    CHECK(r.unified.at("io.weight") == "default 50");
    CHECK(r.any_limit());
    CHECK(unified_controller("memory.oom.group") == "memory");
    CHECK(unified_controller("hugetlb.1GB.rsvd.max") == "hugetlb");
    CHECK(unified_controller("cgroup.max.depth").empty());  // the core's: every cgroup has it
    for (auto bad : {"memory", ".max", "memory.", "../memory.max", "memory.max/x", "Memory.max",
                     "memory.max\n", "mem ory.max", "cgroup.procs", "cgroup.threads",
                     "cgroup.subtree_control", "cgroup.type", "cgroup.freeze", "cgroup.kill"}) {
        INFO(bad);
        CHECK_THROWS_AS(unified_controller(bad), InputError);
        Json doc = {{"unified", {{bad, "1"}}}};
        Unknown unknown;
        CHECK_THROWS_WITH(parse_resources(JsonAt(doc, "r.json"), unknown),
                          Catch::Contains("r.json") && Catch::Contains("/unified/"));
    }
    CHECK_THROWS_WITH(resources_from(R"({"unified": {"memory.oom.group": 1}})"),
                      Catch::Contains("/unified/memory.oom.group"));
    CHECK_THROWS_WITH(resources_from(R"({"unified": ["memory.oom.group"]})"),
                      Catch::Contains("/unified"));

    // A v2 mount that offers memory and pids; cpu bound to v1 (a hybrid host), io nowhere.
    TempDir v2("unified");
    std::ofstream(v2 / "cgroup.controllers") << "memory pids\n";
    Hierarchies h;
    h.v2 = v2.path();
    h.v1["cpu"] = "/sys/fs/cgroup/cpu,cpuacct";
    auto one = [&](const std::string& key) {
        Resources res;
        res.unified[key] = "1";
        return res;
    };
    CHECK(plan_cgroup(h, "/x", one("memory.oom.group")).v2 == v2 / "x");
    CHECK_NOTHROW(plan_cgroup(h, "/x", one("cgroup.max.descendants")));
    CHECK_THROWS_WITH(plan_cgroup(h, "/x", one("cpu.weight")),
                      Catch::Contains("cpu controller") && Catch::Contains("cgroup v1"));
    CHECK_THROWS_WITH(plan_cgroup(h, "/x", one("io.weight")), Catch::Contains("io controller"));
    Hierarchies v1_only;
    v1_only.v1["memory"] = "/sys/fs/cgroup/memory";
    CHECK_THROWS_WITH(plan_cgroup(v1_only, "/x", one("cgroup.max.depth")),
                      Catch::Contains("cgroup v2 is not mounted"));
}

TEST_CASE("cpusets and memory reservations parse; a list that is not one is refused", "[oci]") {
    auto r = resources_from(
        R"({"cpu": {"cpus": "0-3,6", "mems": "0"}, "memory": {"reservation": 1024}})");
    CHECK(r.cpuset_cpus == "0-3,6");
    CHECK(r.cpuset_mems == "0");
    CHECK(r.memory_reservation == 1024);
    CHECK(r.any_limit());
    CHECK_THROWS_WITH(resources_from(R"({"cpu": {"cpus": "all"}})"),
                      Catch::Contains("/cpu/cpus: not a list of CPUs"));
    CHECK_THROWS_WITH(resources_from(R"({"memory": {"reservation": -2}})"),
                      Catch::Contains("/memory/reservation"));
    // The cpuset controller found where a hybrid host mounts it.
    auto h = parse_hierarchies(
        "36 30 0:32 / /sys/fs/cgroup/cpuset rw shared:15 - cgroup cgroup rw,cpuset\n");
    CHECK(h.v1.at("cpuset") == "/sys/fs/cgroup/cpuset");
    r.memory_reservation.reset();
    CHECK(plan_cgroup(h, "/x", r).v1.at("cpuset") == "/sys/fs/cgroup/cpuset/x");
}

TEST_CASE("blockIO parses as Podman writes it and becomes v1 blkio or v2 io files as runc's",
          "[oci]") {
    // podman run --blkio-weight 300 --blkio-weight-device /dev/vda:200
    //   --device-read-bps /dev/vda:1mb --device-write-iops /dev/vda:100
    auto r = resources_from(R"({"blockIO": {"weight": 300, "leafWeight": 20,
        "weightDevice": [{"major": 254, "minor": 0, "weight": 200, "leafWeight": 30}],
        "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100},
                                    {"major": 8, "minor": 16, "rate": 0}]}})");
    REQUIRE(r.any_limit());
    CHECK(r.blkio.weight == 300);
    REQUIRE(r.blkio.weight_device.size() == 1);
    CHECK(r.blkio.weight_device[0].weight == 200);
    CHECK(r.blkio.write_iops.size() == 2);

    using W = std::vector<std::pair<std::string, std::string>>;
    // v1 without BFQ (this host's kernel: only the throttle files exist); leaf weights are
    // written, and fail where the kernel has no CFQ, as under runc.
    CHECK(blkio_writes(r.blkio, false, false) ==
          W{{"blkio.weight", "300"},
            {"blkio.leaf_weight", "20"},
            {"blkio.weight_device", "254:0 200"},
            {"blkio.leaf_weight_device", "254:0 30"},
            {"blkio.throttle.read_bps_device", "254:0 1048576"},
            {"blkio.throttle.write_iops_device", "254:0 100"},
            {"blkio.throttle.write_iops_device", "8:16 0"}});
    CHECK(blkio_writes(r.blkio, false, true).front() == W::value_type{"blkio.bfq.weight", "300"});
    // v2: iocost's io.weight scale, or BFQ's own; no leaf weights; "max" lifts a limit.
    CHECK(blkio_writes(r.blkio, true, false) == W{{"io.weight", "2930"},
                                                  {"io.weight", "254:0 1920"},
                                                  {"io.max", "254:0 rbps=1048576"},
                                                  {"io.max", "254:0 wiops=100"},
                                                  {"io.max", "8:16 wiops=max"}});
    CHECK(blkio_writes(r.blkio, true, true)[1] == W::value_type{"io.bfq.weight", "254:0 200"});
    CHECK(blkio_to_io_weight(10) == 1);
    CHECK(blkio_to_io_weight(500) == 4950);
    CHECK(blkio_to_io_weight(1000) == 10000);

    for (auto bad : {R"({"blockIO": {"weight": 5}})", R"({"blockIO": {"weight": 1001}})",
                     R"({"blockIO": {"weightDevice": [{"major": 8, "weight": 100}]}})",
                     R"({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0}]}})",
                     R"({"blockIO": {"throttleReadBpsDevice": [{"major": -8, "minor": 0,
                                                                "rate": 1}]}})"}) {
        INFO(bad);
        CHECK_THROWS_WITH(resources_from(bad),
                          Catch::Contains("r.json") && Catch::Contains("/blockIO"));
    }

    // Where the controller is: v2's io if offered, else v1's blkio; neither is refused.
    TempDir v2("blkio");
    std::ofstream(v2 / "cgroup.controllers") << "io memory\n";
    Hierarchies h;
    h.v2 = v2.path();
    h.v1["blkio"] = "/sys/fs/cgroup/blkio";
    CHECK_FALSE(plan_cgroup(h, "/x", r).v1.count("blkio"));
    std::ofstream(v2 / "cgroup.controllers") << "memory\n";
    CHECK(plan_cgroup(h, "/x", r).v1.at("blkio") == "/sys/fs/cgroup/blkio/x");
    h.v1.clear();
    CHECK_THROWS_WITH(plan_cgroup(h, "/x", r), Catch::Contains("blockIO"));
    CHECK_NOTHROW(plan_cgroup(h, "/x", Resources{}));  // joined only where it exists
}
