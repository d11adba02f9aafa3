// The learning side of `run --learn` without a kernel: the base's denials matched as libseccomp
// would, the learned profile written from recorded calls, and `profile merge`.
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "sandbox/seccomp_compile.hpp"
#include "sandbox/seccomp_learn.hpp"

using namespace bulwark;
using namespace bulwark::seccomp;
using Catch::Matchers::Contains;

namespace {

Resolved resolve_text(const std::string& text) {
    return resolve(parse_profile(parse_json(text, "base.json"), "base.json"), Context{});
}

learn::Call call(int nr, std::array<uint64_t, 6> args = {}, std::string exe = "/usr/bin/app") {
    return {AUDIT_ARCH_X86_64, nr, args, std::move(exe)};
}

// The rules of `doc` that name `name`.
std::vector<Json> rules_for(const Json& doc, const std::string& name) {
    std::vector<Json> out;
    for (auto& r : doc["syscalls"])
        for (auto& n : r["names"])
            if (n == name) out.push_back(r);
    return out;
}

const char* kBase = R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["syslog", "bpf"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
      {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]},
      {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
    ]})";

}  // namespace

TEST_CASE("argument comparisons are libseccomp's", "[learn]") {
    auto c = [](scmp_compare op, uint64_t a, uint64_t b = 0) { return ArgCond{0, a, b, op}; };
    CHECK(learn::holds(c(SCMP_CMP_EQ, 5), 5));
    CHECK_FALSE(learn::holds(c(SCMP_CMP_EQ, 5), 6));
    CHECK(learn::holds(c(SCMP_CMP_NE, 5), 6));
    CHECK(learn::holds(c(SCMP_CMP_LT, 5), 4));
    CHECK_FALSE(learn::holds(c(SCMP_CMP_LT, 5), 5));
    CHECK(learn::holds(c(SCMP_CMP_LE, 5), 5));
    CHECK(learn::holds(c(SCMP_CMP_GT, 5), 6));
    CHECK(learn::holds(c(SCMP_CMP_GE, 5), 5));
    CHECK_FALSE(learn::holds(c(SCMP_CMP_GE, 5), 4));
    // 64-bit: a sign-extended -1 is not 0xffffffff.
    CHECK_FALSE(learn::holds(c(SCMP_CMP_EQ, 0xffffffffu), ~0ull));
    CHECK(learn::holds(c(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, 0), CLONE_VM | CLONE_THREAD));
    CHECK_FALSE(learn::holds(c(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, 0), CLONE_NEWUSER | CLONE_VM));
}

TEST_CASE("the base's errno rules are found as libseccomp would apply them", "[learn]") {
    auto base = resolve_text(kBase);
    CHECK(learn::syscall_name(AUDIT_ARCH_X86_64, SYS_syslog) == "syslog");
    CHECK(learn::syscall_name(AUDIT_ARCH_X86_64, 0x40000000 | SYS_getpid) == "getpid");  // x32
    CHECK(learn::syscall_name(AUDIT_ARCH_X86_64, 5000).empty());
    auto* r = learn::explicit_denial(base, call(SYS_syslog));
    REQUIRE(r);
    CHECK(r->action.errno_ret == 1);
    REQUIRE(learn::explicit_denial(base, call(SYS_clone3)));
    CHECK(learn::explicit_denial(base, call(SYS_clone3))->action.errno_ret == 38);
    // Allowed, or denied only by the default: not explicit.
    CHECK_FALSE(learn::explicit_denial(base, call(SYS_read)));
    CHECK_FALSE(learn::explicit_denial(base, call(SYS_mount)));
    // Two conditions on one argument: either (Docker's reading).
    CHECK(learn::explicit_denial(base, call(SYS_personality, {8})));
    CHECK(learn::explicit_denial(base, call(SYS_personality, {9})));
    CHECK_FALSE(learn::explicit_denial(base, call(SYS_personality, {0})));
    // Conditions on different arguments: both.
    CHECK(learn::explicit_denial(base, call(SYS_kill, {1, 9})));
    CHECK_FALSE(learn::explicit_denial(base, call(SYS_kill, {1, 15})));
}

TEST_CASE("what the base allows: its default, or a matching allow rule", "[learn]") {
    auto base = resolve_text(kBase);
    CHECK(learn::base_allows(base, call(SYS_read)));
    CHECK_FALSE(learn::base_allows(base, call(SYS_mount)));   // the default
    CHECK_FALSE(learn::base_allows(base, call(SYS_syslog)));  // an errno rule
    auto open = resolve_text(R"({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"}]})");
    CHECK(learn::base_allows(open, call(SYS_mount)));
    auto args = resolve_text(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]})");
    CHECK(learn::base_allows(args, call(SYS_socket, {AF_INET})));
    CHECK_FALSE(learn::base_allows(args, call(SYS_socket, {AF_PACKET})));

    learn::Recorder rec;
    CHECK_FALSE(rec.allowed(call(SYS_read)));
    CHECK(rec.allowed(call(SYS_mount), true));  // reported once
    CHECK_FALSE(rec.allowed(call(SYS_mount), true));
    auto doc = rec.profile(base, "base.json");
    CHECK_THAT(rules_for(doc, "mount")[0]["comment"].get<std::string>(),
               Contains("not allowed by the base profile"));
    CHECK_THAT(rules_for(doc, "read")[0]["comment"].get<std::string>(),
               !Contains("not allowed by the base profile"));
}

TEST_CASE("the learned profile: calls seen, argument rules, first executables, denials",
          "[learn]") {
    auto base = resolve_text(kBase);
    learn::Recorder rec;
    rec.allowed(call(SYS_read, {}, "/usr/sbin/nginx"));
    rec.allowed(call(SYS_read, {}, "/usr/bin/other"));  // first one wins the comment
    rec.allowed(call(SYS_socket, {AF_INET}, "/usr/sbin/nginx"));
    rec.allowed(call(SYS_socket, {AF_INET6}));
    rec.allowed(call(SYS_socket, {AF_INET}));
    rec.allowed(call(SYS_clone, {CLONE_VM | CLONE_THREAD}));
    rec.allowed(call(SYS_clone, {CLONE_NEWUSER | CLONE_NEWNS}));
    rec.allowed(call(SYS_mmap, {0, 4096, PROT_READ | PROT_EXEC}));
    rec.allowed(call(SYS_mprotect, {0, 4096, PROT_READ}));
    rec.allowed(call(SYS_prctl, {PR_SET_NAME}));
    rec.allowed(call(SYS_personality, {0xffffffffu}));
    rec.allowed(call(SYS_ioctl, {1, 0xffffffff80045430ull}));  // a sign-extended request
    rec.allowed(call(5000));                                   // unknown to libseccomp
    rec.denied(call(SYS_syslog, {}, "/usr/bin/probe"),
               *learn::explicit_denial(base, call(SYS_syslog)));
    rec.denied(call(SYS_syslog), *learn::explicit_denial(base, call(SYS_syslog)));
    CHECK(rec.calls() == 15);
    CHECK(rec.denials() == std::vector<std::string>{"syslog"});
    CHECK(rec.unknown() == std::set<int>{5000});

    auto doc = rec.profile(base, "base.json");
    CHECK(doc["defaultAction"] == "SCMP_ACT_ERRNO");
    CHECK(doc["defaultErrnoRet"] == EPERM);
    CHECK(doc["architectures"] == Json{"SCMP_ARCH_X86_64"});
    CHECK_THAT(doc["comment"].get<std::string>(), Contains("base.json"));
    CHECK_THAT(doc["comment"].get<std::string>(), Contains("5000"));

    auto read = rules_for(doc, "read");
    REQUIRE(read.size() == 1);
    CHECK(read[0]["comment"] == "first made by /usr/sbin/nginx");
    CHECK_FALSE(read[0].contains("args"));

    auto socket = rules_for(doc, "socket");
    REQUIRE(socket.size() == 2);  // one per family seen
    CHECK(socket[0]["args"][0]["value"] == AF_INET);
    CHECK(socket[1]["args"][0]["value"] == AF_INET6);
    CHECK(socket[0]["args"][0]["op"] == "SCMP_CMP_EQ");

    auto clone = rules_for(doc, "clone");
    REQUIRE(clone.size() == 1);
    CHECK(clone[0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ");
    CHECK(clone[0]["args"][0]["valueTwo"] == 0);
    CHECK((clone[0]["args"][0]["value"].get<uint64_t>() & CLONE_NEWUSER) != 0);
    CHECK_THAT(clone[0]["comment"].get<std::string>(), Contains("namespace flags"));

    auto mmap = rules_for(doc, "mmap");  // PROT_EXEC was seen: any protection
    REQUIRE(mmap.size() == 1);
    CHECK_FALSE(mmap[0].contains("args"));
    auto mprotect = rules_for(doc, "mprotect");  // never PROT_EXEC: never with it
    REQUIRE(mprotect.size() == 1);
    CHECK(mprotect[0]["args"][0]["value"] == PROT_EXEC);

    CHECK(rules_for(doc, "prctl")[0]["args"][0]["value"] == PR_SET_NAME);
    CHECK(rules_for(doc, "personality")[0]["args"][0]["value"] == 0xffffffffu);
    auto ioctl = rules_for(doc, "ioctl");
    REQUIRE(ioctl.size() == 1);
    CHECK(ioctl[0]["args"][0]["value"] == 0xffffffffu);
    CHECK(ioctl[0]["args"][0]["valueTwo"] == 0x80045430u);

    // What the launch needs is there even though the run never made it.
    for (auto* name : {"execve", "exit_group", "write"}) CHECK(rules_for(doc, name).size() == 1);
    auto syslog = rules_for(doc, "syslog");
    REQUIRE(syslog.size() == 1);
    CHECK(syslog[0]["action"] == "SCMP_ACT_ERRNO");
    CHECK(syslog[0]["errnoRet"] == 1);
    CHECK_THAT(syslog[0]["comment"].get<std::string>(), Contains("/usr/bin/probe"));

    // It is a profile `run` accepts, and it compiles.
    auto p = parse_profile(doc, "learned.json", true);
    CHECK(p.warnings.empty());
    CHECK_NOTHROW(compile(resolve(p, Context{}), "learned.json"));
}

TEST_CASE("a handler's return is learned with the call that installs the handler", "[learn]") {
    // rt_sigreturn is let through while learning (a notified one breaks when a second signal
    // comes in), so the recorder never sees it: rt_sigaction stands for it.
    auto base = resolve_text(kBase);
    learn::Recorder quiet;
    quiet.allowed(call(SYS_read));
    CHECK(rules_for(quiet.profile(base, "base.json"), "rt_sigreturn").empty());
    learn::Recorder handler;
    handler.allowed(call(SYS_rt_sigaction, {SIGTERM}, "/usr/sbin/nginx"));
    handler.allowed(call(SYS_rt_sigaction, {SIGCHLD}));
    auto doc = handler.profile(base, "base.json");
    auto ret = rules_for(doc, "rt_sigreturn");
    REQUIRE(ret.size() == 1);
    CHECK(ret[0]["action"] == "SCMP_ACT_ALLOW");
    CHECK_FALSE(ret[0].contains("args"));
    CHECK_THAT(ret[0]["comment"].get<std::string>(), Contains("rt_sigaction"));
    CHECK(rules_for(doc, "sigreturn").empty());  // i386's, for its sigaction only
    // Recorded in its own right (a base that denies it keeps it notified): one rule, not two.
    handler.allowed(call(SYS_rt_sigreturn));
    CHECK(rules_for(handler.profile(base, "base.json"), "rt_sigreturn").size() == 1);
}

TEST_CASE("many ioctl requests make one unconditional rule", "[learn]") {
    learn::Recorder rec;
    for (uint64_t r = 0; r <= learn::kMaxIoctlRequests; ++r) rec.allowed(call(SYS_ioctl, {0, r}));
    auto ioctl = rules_for(rec.profile(resolve_text(kBase), "base.json"), "ioctl");
    REQUIRE(ioctl.size() == 1);
    CHECK_FALSE(ioctl[0].contains("args"));
}

TEST_CASE("profile merge: the union of learned runs", "[learn]") {
    auto a = parse_json(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "first made by /a"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 21505, "op": "SCMP_CMP_EQ"}]},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})",
                        "a.json");
    auto b = parse_json(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [
        {"names": ["read", "close"], "action": "SCMP_ACT_ALLOW", "comment": "first made by /b"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ioctl", "clone3"], "action": "SCMP_ACT_ALLOW"}]})",
                        "b.json");
    auto m = learn::merge({{"a.json", a}, {"b.json", b}});
    CHECK(m["defaultAction"] == "SCMP_ACT_ERRNO");
    CHECK(m["defaultErrnoRet"] == 1);
    CHECK(m["architectures"] == Json{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"});
    CHECK_THAT(m["comment"].get<std::string>(), Contains("a.json, b.json"));
    CHECK(rules_for(m, "read").size() == 1);  // once, with its first comment
    CHECK(rules_for(m, "read")[0]["comment"] == "first made by /a");
    CHECK(rules_for(m, "read")[0]["names"] == Json{"read", "write"});
    CHECK(rules_for(m, "socket").size() == 2);  // AF_INET once, AF_INET6
    auto ioctl = rules_for(m, "ioctl");         // unconditional absorbs the request rule
    REQUIRE(ioctl.size() == 1);
    CHECK_FALSE(ioctl[0].contains("args"));
    auto clone3 = rules_for(m, "clone3");  // another run needed it: allowed
    REQUIRE(clone3.size() == 1);
    CHECK(clone3[0]["action"] == "SCMP_ACT_ALLOW");
    CHECK_NOTHROW(compile(resolve(parse_profile(m, "m.json", true), Context{}), "m.json"));

    auto other =
        parse_json(R"({"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": []})", "c.json");
    CHECK_THROWS_WITH(learn::merge({{"a.json", a}, {"c.json", other}}),
                      Contains("c.json: /defaultAction") && Contains("a.json"));
    CHECK_THROWS_AS(learn::merge({}), InputError);
}
