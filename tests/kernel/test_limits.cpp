// --memory, --pids, --cpus: a memory hog and a fork bomb inside the sandbox are contained, and
// the limits sit on the cgroup the sandbox runs in. Needs cgroup v2 with the memory, pids and cpu
// controllers in the root cgroup: tests/vm/run's VM has them; a hybrid host (cgroup v1
// controllers) skips with the reason.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>

#include "../tempdir.hpp"
#include "core/sys.hpp"
#include "harness.hpp"
#include "sandbox/cgroups.hpp"

using namespace harness;
using Catch::Matchers::Contains;

namespace {

const bulwark::cgroups::Limits kAll{1 << 20, 1, 1000};

bulwark::cgroups::Place place() {
    bulwark::cgroups::Place where;
    bulwark::cgroups::unavailable(kAll, &where);
    return where;
}

std::string base_dir() {
    return place().base;
}

bool exists(const std::string& p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0;
}

}  // namespace

std::string kernel_precheck() {
    if (auto why = harness::doctor_says("cgroup-controllers"); !why.empty()) return why;
    // bulwark would move itself into a leaf when not at the root; the test's own process shares
    // that cgroup, which cgroup v2 does not allow, so this test wants the root cgroup.
    if (auto where = place(); !where.root)
        return "the test runs in cgroup " + where.base +
               ", which also holds other processes; it needs the root cgroup (tests/vm/run)";
    return {};
}

TEST_CASE("a memory hog is killed at memory.max; the run says so", "[limits]") {
    TempDir tmp("limits");
    auto log = tmp / "audit.jsonl";
    auto r = run_sandbox({"--name", "hog", "--memory", "32m", "--audit-log", log},
                         {"/bin/probe", "hog", "256"});
    INFO(r.out << r.err);
    CHECK(r.code == 128 + SIGKILL);
    CHECK(r.out.find("hog_mib=") == std::string::npos);  // it never got to report
    CHECK_THAT(r.err, Contains("killed at memory.max"));
    auto audit = bulwark::read_file(log);
    CHECK_THAT(audit, Contains("\"type\":\"RESOURCE_LIMIT\""));
    CHECK_THAT(audit, Contains("\"memory_max\":33554432"));
    CHECK(!exists(base_dir() + "/bulwark-hog"));

    // Under the limit the same program runs to the end.
    auto ok = run_sandbox({"--name", "hog", "--memory", "64m"}, {"/bin/probe", "hog", "16"});
    CHECK(ok.code == 0);
    CHECK(parse_kv(ok.out)["hog_mib"] == "16");
}

TEST_CASE("a fork bomb stops at pids.max and the host is untouched", "[limits]") {
    auto r = run_sandbox({"--name", "bomb", "--pids", "16"}, {"/bin/probe", "forkbomb", "500"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    auto kv = parse_kv(r.out);
    CHECK(kv["fork_error"] == "EAGAIN");
    // pids.max counts the sandbox's init and the app itself.
    CHECK(std::stoi(kv["forks"]) == 14);
    CHECK_THAT(r.err, Contains("forks refused at pids.max"));

    auto free = run_sandbox({"--name", "bomb"}, {"/bin/probe", "forkbomb", "40"});
    CHECK(parse_kv(free.out)["forks"] == "40");  // the probe can fork: the limit above did it
    CHECK(!exists(base_dir() + "/bulwark-bomb"));
}

TEST_CASE("the limits sit on the sandbox's own cgroup, which goes with the run", "[limits]") {
    auto dir = base_dir() + "/bulwark-lim";
    Child c({harness::bulwark(), "run", "--rootfs", rootfs(), "--name", "lim", "--memory", "48m",
             "--pids", "20", "--cpus", "0.25", "--", "/bin/probe", "hold"});
    REQUIRE(c.wait_for_line("ready", 20));
    auto kids = children_of(c.pid());
    REQUIRE(kids.size() == 1);
    // The sandbox's init (and everything under it) is in the run's cgroup, seen from the host...
    CHECK(bulwark::read_file("/proc/" + std::to_string(kids[0]) + "/cgroup") ==
          "0::/bulwark-lim\n");
    CHECK(bulwark::read_file(dir + "/memory.max") == "50331648\n");
    CHECK(bulwark::read_file(dir + "/pids.max") == "20\n");
    CHECK(bulwark::read_file(dir + "/cpu.max") == "25000 100000\n");
    CHECK(lines(bulwark::read_file(dir + "/cgroup.procs")).size() == 2);  // init and the probe
    // ...while the supervisor stays outside, so the limits do not bind bulwark itself.
    CHECK(bulwark::read_file("/proc/" + std::to_string(c.pid()) + "/cgroup") == "0::/\n");
    kill(c.pid(), SIGTERM);
    CHECK(c.wait(20) == 128 + SIGTERM);
    CHECK(!exists(dir));
}

TEST_CASE("a second run with the same name and limits is refused, the first unharmed",
          "[limits][input]") {
    auto dir = base_dir() + "/bulwark-twice";
    Child first({harness::bulwark(), "run", "--rootfs", rootfs(), "--name", "twice", "--pids", "20",
                 "--", "/bin/probe", "hold"});
    REQUIRE(first.wait_for_line("ready", 20));
    auto second = run_sandbox({"--name", "twice", "--pids", "20"}, {"/bin/probe", "hold"});
    CHECK(second.code == 125);
    CHECK_THAT(second.err, Contains("rmdir(" + dir +
                                    ") left by an earlier run: Device or "
                                    "resource busy"));
    CHECK(bulwark::read_file(dir + "/pids.max") == "20\n");
    CHECK(lines(bulwark::read_file(dir + "/cgroup.procs")).size() == 2);
    kill(first.pid(), SIGTERM);
    CHECK(first.wait(20) == 128 + SIGTERM);
    CHECK(!exists(dir));
}

TEST_CASE(
    "in a cgroup of its own (systemd's Delegate=yes), the supervisor steps into a leaf and "
    "back; a cgroup shared with others is refused",
    "[limits]") {
    // What systemd does for a unit with Delegate=yes: the controller enabled above the unit's
    // cgroup, the cgroup itself left to the service.
    auto parent = base_dir() + "/bulwark-test-delegated";
    auto root_control = base_dir() + "/cgroup.subtree_control";
    std::ofstream(root_control) << "+pids";
    REQUIRE((mkdir(parent.c_str(), 0755) == 0 || errno == EEXIST));
    struct Remove {
        std::string p, control;
        ~Remove() {
            rmdir(p.c_str());
            std::ofstream(control) << "-pids";
        }
    } remove{parent, root_control};
    auto in_parent = [&](const std::string& cmd) {
        return std::vector<std::string>{"/bin/sh", "-c",
                                        "echo $$ > " + parent + "/cgroup.procs && exec " + cmd};
    };
    auto run_cmd = harness::bulwark() + " run --rootfs " + rootfs() +
                   " --name deleg --pids 20 -- /bin/probe hold";
    {
        Child c(in_parent(run_cmd));
        REQUIRE(c.wait_for_line("ready", 20));
        auto kids = children_of(c.pid());
        REQUIRE(kids.size() == 1);
        auto sup = std::to_string(c.pid());
        CHECK(bulwark::read_file("/proc/" + std::to_string(kids[0]) + "/cgroup") ==
              "0::/bulwark-test-delegated/bulwark-deleg\n");
        CHECK(bulwark::read_file("/proc/" + sup + "/cgroup") ==
              "0::/bulwark-test-delegated/bulwark-supervisor-" + sup + "\n");
        CHECK_THAT(bulwark::read_file(parent + "/cgroup.subtree_control"), Contains("pids"));
        CHECK(bulwark::read_file(parent + "/bulwark-deleg/pids.max") == "20\n");
        kill(c.pid(), SIGTERM);
        CHECK(c.wait(20) == 128 + SIGTERM);
        CHECK(!exists(parent + "/bulwark-deleg"));
        CHECK(!exists(parent + "/bulwark-supervisor-" + sup));
        CHECK(bulwark::cgroups::split_words(bulwark::read_file(parent + "/cgroup.subtree_control"))
                  .empty());
    }
    // Another process in the same cgroup: bulwark cannot both stay and delegate, so it refuses.
    Child other(in_parent("/bin/sh -c 'echo ready; exec sleep 60'"));
    REQUIRE(other.wait_for_line("ready", 20));
    auto r = run({"/bin/sh", "-c",
                  "echo $$ > " + parent + "/cgroup.procs && exec " + harness::bulwark() +
                      " run --rootfs " + rootfs() + " --name deleg --pids 20 -- /bin/true"});
    CHECK(r.code == 125);
    CHECK_THAT(r.err, Contains("cgroup " + parent + " holds other processes"));
    CHECK(!exists(parent + "/bulwark-deleg"));
    kill(other.pid(), SIGKILL);
    other.wait(20);
}
