// Loads compiled filters in a forked child (no privileges needed: no_new_privs is enough) and
// checks what a program under them sees.
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <functional>

#include "sandbox/seccomp_cache.hpp"
#include "sandbox/seccomp_compile.hpp"

using namespace bulwark;
using namespace bulwark::seccomp;

namespace {

seccomp::Compiled compile_text(const std::string& text) {
    auto p = parse_profile(parse_json(text, "t.json"), "t.json");
    return compile(resolve(p, Context{}), "t.json");
}

// Runs `fn` under the filter in a child; returns the child's wait status. fn's return value is
// the exit code, so tests encode an errno in it.
int under_filter(const seccomp::Compiled& c, const std::function<int()>& fn) {
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(200);
        if (install(c) != 0) _exit(201);
        _exit(fn());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

int errno_of(long rc) {
    return rc < 0 ? errno : 0;
}

}  // namespace

TEST_CASE("allowed, denied and errno-specific syscalls", "[filter]") {
    auto c = compile_text(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["exit_group", "exit", "getpid", "brk", "mmap", "munmap", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["gettid"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})");
    auto status = under_filter(c, [] { return syscall(SYS_getpid) > 0 ? 0 : 1; });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_getppid)); })) == EACCES);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_getuid)); })) == EPERM);
    auto killed = under_filter(c, [] { return errno_of(syscall(SYS_gettid)); });
    CHECK(WIFSIGNALED(killed));
    CHECK(WTERMSIG(killed) == SIGSYS);
}

TEST_CASE("syscalls newer than the profile get ENOSYS, older unknown ones the default",
          "[filter]") {
    // The profile's highest syscall is exit_group (231): above it ENOSYS, below it EPERM.
    auto c = compile_text(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["exit_group", "exit", "getppid"], "action": "SCMP_ACT_ALLOW"}]})");
    CHECK(c.max_known_nr.at("SCMP_ARCH_X86_64") == SYS_exit_group);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_getuid)); })) == EPERM);
    CHECK(WEXITSTATUS(under_filter(
              c, [] { return errno_of(syscall(SYS_epoll_wait, -1, nullptr, 0, 0)); })) == ENOSYS);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(1000)); })) == ENOSYS);
}

TEST_CASE("an allow-by-default profile has no ENOSYS stub", "[filter]") {
    auto c = compile_text(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})");
    CHECK(c.stub_insns == 0);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_getppid)); })) == EPERM);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_gettid)); })) == 0);
}

TEST_CASE("argument conditions: all must hold; repeated indexes are alternatives", "[filter]") {
    // personality(arg0): Docker's profile lists several allowed values as separate conditions.
    auto c = compile_text(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["exit_group", "exit"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
        {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 255, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]})");
    CHECK(WEXITSTATUS(under_filter(
              c, [] { return errno_of(syscall(SYS_personality, 0xffffffffUL)); })) == 0);
    CHECK(WEXITSTATUS(under_filter(
              c, [] { return errno_of(syscall(SYS_personality, 0x0040000UL)); })) == EPERM);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_kill, 0, 0)); })) == 0);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_kill, 0, SIGCONT)); })) ==
          EPERM);
    // socket(AF_UNIX=1) passes the mask check; AF_INET (2) does not.
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_socket, 1, 1, 0)); })) !=
          EPERM);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_socket, 2, 1, 0)); })) ==
          EPERM);
}

TEST_CASE("x32 calls cannot slip past a native-only profile", "[filter]") {
    auto c = compile_text(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["exit_group", "exit", "getpid"], "action": "SCMP_ACT_ALLOW"}]})");
    auto st = under_filter(c, [] { return errno_of(syscall(0x40000000 | SYS_getpid)); });
    CHECK(WIFSIGNALED(st));
    CHECK(WTERMSIG(st) == SIGSYS);
}

TEST_CASE("profiles/default.json under a real program", "[filter]") {
    auto path = std::string(BULWARK_SOURCE_DIR) + "/profiles/default.json";
    auto c = compile(resolve(load_profile(path), Context{}), path);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_getppid)); })) == 0);
    CHECK(WEXITSTATUS(under_filter(
              c, [] { return errno_of(syscall(435 /* clone3 */, nullptr, 0)); })) == ENOSYS);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_unshare, 0)); })) == EPERM);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(SYS_bpf, 0, nullptr, 0)); })) ==
          EPERM);
    CHECK(WEXITSTATUS(under_filter(c, [] { return errno_of(syscall(469 /* file_setattr */)); })) ==
          ENOSYS);
    // fork is clone without namespace flags: allowed.
    auto st = under_filter(c, [] {
        pid_t p = fork();
        if (p == 0) _exit(7);
        int s = 0;
        waitpid(p, &s, 0);
        return WEXITSTATUS(s) == 7 ? 0 : 1;
    });
    CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("a profile that takes away what the launch needs is named, not run", "[filter]") {
    // The kernel answers for the filter in a throwaway child; no privilege needed.
    CHECK(seccomp::launch_denials(compile_text(R"({"defaultAction": "SCMP_ACT_ALLOW"})")).empty());
    auto noexec = seccomp::launch_denials(compile_text(R"({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ERRNO"}]})"));
    CHECK(noexec == std::vector<std::string>{"denies execve: no command can start under it"});
    // Killing instead of an errno, and the calls that report a failed start and end the process.
    auto noexit = seccomp::launch_denials(compile_text(R"({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["exit_group", "write"], "action": "SCMP_ACT_KILL_PROCESS"}]})"));
    CHECK(noexit == std::vector<std::string>{"denies write: a failed start could not be reported",
                                             "denies exit_group: no process could exit under it"});
    // An allow list without them: all three.
    CHECK(seccomp::launch_denials(compile_text(R"({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})"))
              .size() == 3);
    // The shipped profiles and Docker's start anything.
    for (auto name : {"default.json", "strict.json"}) {
        auto path = std::string(BULWARK_SOURCE_DIR) + "/profiles/" + name;
        INFO(path);
        CHECK(seccomp::launch_denials(
                  seccomp::compile(seccomp::resolve(seccomp::load_profile(path), {}), path))
                  .empty());
    }
}

#if defined(__x86_64__)
TEST_CASE("the kernel counts the syscall numbers a filter allows with arguments 0", "[filter]") {
    using V = std::vector<int>;
    // An allow list: exactly its numbers (read 0, write 1, execve 59, exit_group 231).
    CHECK(seccomp::allowed_numbers(compile_text(R"({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "write", "execve", "exit_group"],
                      "action": "SCMP_ACT_ALLOW"}]})")) == V{0, 1, 59, 231});
    // A deny list with every kind of denial: killing and trapping numbers end the asking child,
    // and the count goes on after them; LOG lets the call through.
    auto c = compile_text(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["getppid"], "action": "SCMP_ACT_KILL_THREAD"},
        {"names": ["gettid"], "action": "SCMP_ACT_TRAP"},
        {"names": ["getuid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["getgid"], "action": "SCMP_ACT_LOG"}]})");
    auto all = seccomp::allowed_numbers(c);
    auto has = [&](int nr) { return std::binary_search(all.begin(), all.end(), nr); };
    for (int denied : {39, 110, 186, 102}) CHECK_FALSE(has(denied));
    for (int allowed : {0, 40, 104, 111, 187}) CHECK(has(allowed));
    // An allowing default has no ENOSYS stub: every other number is allowed, as under a filter
    // that allows everything (which still lacks the numbers the kernel passes without asking
    // any filter: uretprobe and uprobe since 6.11).
    auto everything =
        seccomp::allowed_numbers(compile_text(R"({"defaultAction": "SCMP_ACT_ALLOW"})"));
    CHECK(everything.size() > 1000);
    CHECK(everything.back() == seccomp::kCountedNumbers - 1);
    V expected;
    for (int nr : everything)
        if (nr != 39 && nr != 110 && nr != 186 && nr != 102) expected.push_back(nr);
    CHECK(all == expected);
    // Argument rules are judged with every argument 0.
    CHECK(seccomp::allowed_numbers(compile_text(R"({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                     {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]})")) == V{41});
}

TEST_CASE("the shipped profiles allow no more syscall numbers than they did", "[filter]") {
    // Ceilings, counted as `check profile` does; a profile change that widens one fails here.
    for (auto [name, ceiling] : {std::pair{"default.json", 220}, std::pair{"strict.json", 120}}) {
        auto path = std::string(BULWARK_SOURCE_DIR) + "/profiles/" + name;
        INFO(path);
        auto n = seccomp::allowed_numbers(
                     seccomp::compile(seccomp::resolve(seccomp::load_profile(path), {}), path))
                     .size();
        CHECK(n <= static_cast<size_t>(ceiling));
        CHECK(n > 100);
    }
}
#endif

TEST_CASE("a cached filter's key changes with whatever changes the program", "[cache]") {
    namespace cache = seccomp::cache;
    auto k = cache::key("aa", {});
    CHECK(k == cache::key("aa", {}));
    CHECK(k.size() == 64);
    CHECK(k != cache::key("ab", {}));
    CHECK(k != cache::key("aa", {"CAP_NET_BIND_SERVICE"}));
    CHECK(cache::key("aa", {"CAP_A"}) != cache::key("aa", {"CAP_B"}));
    CHECK(cache::path("/var/cache/bulwark/seccomp", k) ==
          "/var/cache/bulwark/seccomp/" + k + ".json");
    // Nothing there, or a directory that is not root's alone: no entry.
    CHECK_FALSE(cache::load("/nonexistent", k));
    CHECK_FALSE(cache::load("/tmp", k));  // writable by others
}
