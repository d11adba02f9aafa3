#include <algorithm>
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "sandbox/seccomp_compile.hpp"
#include "sandbox/seccomp_profile.hpp"

using namespace bulwark;
using namespace bulwark::seccomp;
using Catch::Matchers::Contains;

static Profile parse(const std::string& text) {
    return parse_profile(parse_json(text, "p.json"), "p.json");
}

TEST_CASE("every field of a profile is read", "[profile]") {
    auto p = parse(R"({
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "io"},
        {"name": "kill", "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                  {"index": 2, "value": 255, "valueTwo": 6, "op": "SCMP_CMP_MASKED_EQ"}],
         "includes": {"caps": ["CAP_NET_RAW"], "arches": ["amd64"], "minKernel": "4.8"},
         "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
        {"names": ["getpid"], "action": "SCMP_ACT_TRAP"},
        {"names": ["getppid"], "action": "SCMP_ACT_LOG"},
        {"names": ["gettid"], "action": "SCMP_ACT_KILL_THREAD"},
        {"names": ["tkill"], "action": "SCMP_ACT_KILL"}
      ]})");
    CHECK(p.default_action == Action{ActionKind::Errno, 38});
    CHECK(p.architectures == std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"});
    CHECK(p.flags == std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
    REQUIRE(p.rules.size() == 9);
    CHECK(p.rules[0].names == std::vector<std::string>{"read", "write"});
    CHECK(p.rules[1].names == std::vector<std::string>{"kill"});
    CHECK(p.rules[1].action.kind == ActionKind::KillProcess);
    CHECK(p.rules[2].action == Action{ActionKind::Errno, 13});
    CHECK(p.rules[3].action == Action{ActionKind::Errno, 1});  // Docker: EPERM when absent
    auto& s = p.rules[4];
    REQUIRE(s.args.size() == 2);
    CHECK(s.args[1].index == 2);
    CHECK(s.args[1].value == 255);
    CHECK(s.args[1].value_two == 6);
    CHECK(s.args[1].op == SCMP_CMP_MASKED_EQ);
    CHECK(s.includes.caps == std::vector<std::string>{"CAP_NET_RAW"});
    CHECK(s.includes.min_kernel == KernelVersion{4, 8});
    CHECK(s.excludes.arches == std::vector<std::string>{"s390x"});
    CHECK(p.rules[5].action.kind == ActionKind::Trap);
    CHECK(p.rules[6].action.kind == ActionKind::Log);
    CHECK(p.rules[7].action.kind == ActionKind::KillThread);
    CHECK(p.rules[8].action.kind == ActionKind::KillThread);
    CHECK(s.pointer == "/syscalls/4");
}

TEST_CASE("malformed profiles name the file and JSON path", "[profile]") {
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [)"),
                      Contains("p.json: invalid JSON") && Contains("line 1"));
    CHECK_THROWS_WITH(parse(""), Contains("p.json: invalid JSON"));
    // A number beyond a double (fuzz_profile's first find: it used to end in std::terminate).
    CHECK_THROWS_WITH(parse("9999999999e9998"),
                      Contains("p.json: invalid JSON") && Contains("number overflow"));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": 1e400})"), Contains("p.json: invalid JSON"));
    CHECK_THROWS_WITH(parse("[]"), Contains("p.json: /: expected an object"));
    CHECK_THROWS_WITH(parse("{}"), Contains("p.json: /: missing required key \"defaultAction\""));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": 1})"),
                      Contains("/defaultAction: expected a string, found number"));
    CHECK_THROWS_WITH(
        parse(R"({"defaultAction": "SCMP_ACT_ALOW"})"),
        Contains(
            "/defaultAction: unknown action \"SCMP_ACT_ALOW\" (did you mean \"SCMP_ACT_ALLOW\"?)"));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_NOTIFY"})"), Contains("not supported"));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_TRACE"})"), Contains("not supported"));
    CHECK_THROWS_WITH(parse(R"({"defualtAction": "SCMP_ACT_ALLOW"})"),
                      Contains("did you mean \"defaultAction\""));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})"),
                      Contains("/defaultErrnoRet: expected a non-negative integer"));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000})"),
                      Contains("/defaultErrnoRet: value 5000 is above the maximum 4095"));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1})"),
                      Contains("only meaningful with SCMP_ACT_ERRNO"));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})"),
                      Contains("/syscalls: expected an array, found object"));
    CHECK_THROWS_WITH(
        parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})"),
        Contains("/syscalls/0: a syscall entry needs \"names\""));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILLL"}]})"),
        Contains("/syscalls/0/action: unknown action"));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [""], "action": "SCMP_ACT_ERRNO"}]})"),
        Contains("/syscalls/0/names/0: empty syscall name"));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})"),
        Contains("/syscalls/0/args/0/index: value 6 is above the maximum 5"));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQUAL"}]}]})"),
        Contains("/syscalls/0/args/0/op: unknown comparison \"SCMP_CMP_EQUAL\""));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 0, "op": "SCMP_CMP_EQ"}]}]})"),
        Contains("/syscalls/0/args/0: missing required key \"value\""));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "includes": {"caps": ["NET_ADMIN"]}}]})"),
        Contains("/syscalls/0/includes/caps/0: \"NET_ADMIN\" is not a capability name"));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                        "includes": {"minKernel": "new"}}]})"),
        Contains("/syscalls/0/includes/minKernel"));
    CHECK_THROWS_WITH(
        parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]})"),
        Contains("/architectures/0: architecture \"x86_64\" is not of the form SCMP_ARCH_NAME"));
    CHECK_THROWS_WITH(
        parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
                        "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]})"),
        Contains("both"));
    CHECK_THROWS_WITH(
        parse(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]})"),
        Contains("/flags/0: unsupported seccomp flag"));
    CHECK_THROWS_WITH(
        parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock"})"),
        Contains("not supported"));
}

TEST_CASE("containers-common's profile format loads: defaultErrno, errno, listenerMetadata",
          "[profile]") {
    // The shape containers-common's seccomp.json (Podman, CRI-O) writes: every key its types
    // have, empty ones included.
    auto p = parse(R"({
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "defaultErrno": "ENOSYS",
      "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                   "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                  {"architecture": "SCMP_ARCH_LOONGARCH64", "subArchitectures": []}],
      "listenerPath": "", "listenerMetadata": "", "flags": [],
      "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "",
         "includes": {}, "excludes": {}},
        {"names": ["bdflush"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EPERM",
         "args": null, "comment": "", "includes": {}, "excludes": {}},
        {"names": ["open_tree"], "action": "SCMP_ACT_ERRNO", "errno": "ENOSYS"}]})");
    CHECK(p.warnings.empty());
    CHECK(p.default_action.errno_ret == 38);
    CHECK(p.rules[1].action.errno_ret == 1);
    CHECK(p.rules[2].action.errno_ret == 38);  // the name alone: used
    // The name alone at the top too; a number and a name that disagree: the number, said.
    CHECK(parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EACCES"})")
              .default_action.errno_ret == 13);
    auto both = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                          "defaultErrno": "ENOSYS"})");
    CHECK(both.default_action.errno_ret == 1);
    REQUIRE(both.warnings.size() == 1);
    CHECK_THAT(both.warnings[0], Contains("disagree"));
    CHECK_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOPE"})"),
                      Contains("p.json: /defaultErrno: unknown errno name \"ENOPE\""));
    // It compiles on this host: the loongarch64 entry is not this host's.
    auto r = resolve(p, Context{"SCMP_ARCH_X86_64", "amd64", {6, 1}, {}});
    CHECK(compile(r, "p.json").arches.size() == 3);
}

TEST_CASE("keys nobody knows: a warning with the nearest key, an error under --strict",
          "[profile]") {
    const char* text = R"({"defaultAction": "SCMP_ACT_ALLOW", "frobnicate": 1,
                           "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                         "commnet": "x"}]})";
    auto p = parse(text);
    REQUIRE(p.warnings.size() == 2);
    CHECK(p.warnings[0] == "/: unknown key \"frobnicate\": ignored");
    CHECK(p.warnings[1] ==
          "/syscalls/0: unknown key \"commnet\" (did you mean \"comment\"?): ignored");
    CHECK_THROWS_WITH(parse_profile(parse_json(text, "p.json"), "p.json", true),
                      "p.json: /: unknown key \"frobnicate\"");
    // Warnings reach the compiled filter, which `run` and `check profile` print.
    auto c = compile(resolve(p, Context{}), "p.json");
    CHECK(c.warnings == p.warnings);
}

TEST_CASE("an architecture libseccomp does not know is an error where the filter needs it",
          "[profile][compile]") {
    auto r = resolve(parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
                               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]})"),
                     Context{});
    CHECK_THROWS_WITH(compile(r, "p.json"),
                      "p.json: /architectures: unknown architecture \"SCMP_ARCH_VAX\" (libseccomp "
                      "does not know it)");
    // In another host's archMap entry it is never used: fine.
    auto other = resolve(parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_VAX", "subArchitectures": ["SCMP_ARCH_VAX2"]}]})"),
                         Context{});
    CHECK_NOTHROW(compile(other, "p.json"));
}

TEST_CASE("includes and excludes follow Docker's semantics", "[profile]") {
    auto p = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["b"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["c"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_BPF"]}},
        {"names": ["d"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["e"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
        {"names": ["f"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["g"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
        {"names": ["h"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.11"}},
        {"names": ["i"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.11"}}]})");
    auto names = [](const Resolved& r) {
        std::string s;
        for (auto& rule : r.rules) s += rule.names.front();
        return s;
    };
    Context old_kernel{"SCMP_ARCH_X86_64", "amd64", {4, 19}, {}};
    CHECK(names(resolve(p, old_kernel)) == "adfi");
    Context admin{"SCMP_ARCH_X86_64", "amd64", {6, 1}, {"CAP_SYS_ADMIN"}};
    CHECK(names(resolve(p, admin)) == "abfh");
    Context both{"SCMP_ARCH_X86_64", "amd64", {6, 1}, {"CAP_SYS_ADMIN", "CAP_BPF"}};
    CHECK(names(resolve(p, both)) == "abcfh");
    Context arm{"SCMP_ARCH_AARCH64", "arm64", {6, 1}, {}};
    CHECK(names(resolve(p, arm)) == "adegh");
    CHECK(resolve(p, admin).skipped_rules == 5);
    CHECK(resolve(p, admin).all_names.size() == 9);
}

TEST_CASE("archMap: only the native entry counts", "[profile]") {
    auto p = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}]})");
    Context ctx;
    CHECK(resolve(p, ctx).arches ==
          std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
    auto native_only = parse(R"({"defaultAction": "SCMP_ACT_ERRNO"})");
    CHECK(resolve(native_only, ctx).arches == std::vector<std::string>{"SCMP_ARCH_X86_64"});
}

TEST_CASE("kernel versions", "[profile]") {
    CHECK(parse_kernel_version("6.18.44-fc-v769") == KernelVersion{6, 18});
    CHECK(parse_kernel_version("4.8") == KernelVersion{4, 8});
    CHECK_FALSE(parse_kernel_version("six"));
    CHECK_FALSE(parse_kernel_version("6"));
}

TEST_CASE("Docker's default profile loads and compiles unchanged", "[profile][compile]") {
    auto path = std::string(BULWARK_TESTDATA_DIR) + "/seccomp/docker-default.json";
    auto p = load_profile(path);
    CHECK(p.rules.size() == 33);
    auto r = resolve(p, Context{"SCMP_ARCH_X86_64", "amd64", {6, 1}, {}});
    CHECK(r.arches ==
          std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
    auto c = compile(r, path);
    CHECK(c.arches.size() == 3);
    CHECK(c.program.size() > 100);
    CHECK(c.stub_insns > 0);
    CHECK(c.per_action.at("SCMP_ACT_ERRNO(38)") == 1);  // clone3 without CAP_SYS_ADMIN
    // Docker's profile names syscalls newer than this libseccomp: skipped with a warning, and an
    // error under --strict.
    CHECK(c.unknown_names.size() == 12);
    CHECK(std::find(c.unknown_names.begin(), c.unknown_names.end(), "mseal") !=
          c.unknown_names.end());
    CHECK_THROWS_WITH(compile(r, path, {true}), Contains("is unknown to libseccomp"));
}

TEST_CASE("the project's profiles compile without warnings", "[profile][compile]") {
    for (auto name : {"default.json", "strict.json"}) {
        auto path = std::string(BULWARK_SOURCE_DIR) + "/profiles/" + name;
        auto r = resolve(load_profile(path), Context{});
        auto c = compile(r, path, {true});
        CHECK(c.warnings.empty());
        CHECK(c.unknown_names.empty());
        CHECK(r.default_action == Action{ActionKind::Errno, 1});
        CHECK(c.per_action.at("SCMP_ACT_ERRNO(38)") == 1);  // clone3
    }
}

TEST_CASE("two rules that disagree: the first wins with a warning, refused under --strict",
          "[compile]") {
    auto p = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["read", "write"], "action": "SCMP_ACT_KILL"}]})");
    CHECK_THROWS_WITH(
        compile(resolve(p, Context{}), "p.json", {true}),
        Contains("p.json: /syscalls/1: syscall \"read\" is already SCMP_ACT_ALLOW by /syscalls/0"));
    // As libseccomp, so runc and crun: the first rule is kept, the rest of the second too.
    auto c = compile(resolve(p, Context{}), "p.json");
    REQUIRE(c.warnings.size() == 1);
    CHECK(c.warnings[0] ==
          "/syscalls/1: syscall \"read\" is already SCMP_ACT_ALLOW by /syscalls/0, which wins");
    CHECK(c.per_action.at("SCMP_ACT_ALLOW") == 1);
    CHECK(c.per_action.at("SCMP_ACT_KILL_THREAD") == 1);  // write
    // Podman's shape (containers-common's seccomp.json): setns in the allow list, and again as
    // EPERM for a container without CAP_SYS_ADMIN, which applies only then.
    auto podman = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "syscalls": [
        {"names": ["setns", "read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["bpf", "setns"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["bpf", "setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]})");
    auto without = compile(resolve(podman, Context{}), "p.json");
    REQUIRE(without.warnings.size() == 1);
    CHECK_THAT(without.warnings[0], Contains("/syscalls/2: syscall \"setns\" is already"));
    CHECK(without.per_action.at("SCMP_ACT_ERRNO(1)") == 1);  // bpf
    Context admin;
    admin.caps = {"CAP_SYS_ADMIN"};
    CHECK(compile(resolve(podman, admin), "p.json").warnings.empty());
    // The same action twice, or conditional rules, are fine.
    auto q = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})");
    CHECK_NOTHROW(compile(resolve(q, Context{}), "p.json"));
}
