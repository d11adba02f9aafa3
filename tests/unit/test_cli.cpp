#include <catch2/catch.hpp>
#include <fstream>

#include "../tempdir.hpp"
#include "core/error.hpp"
#include "run/cli.hpp"
#include "sandbox/cgroups.hpp"
#include "sandbox/users.hpp"

using namespace bulwark;

static RunOptions run(std::vector<std::string> a) {
    return cli::parse_run(a);
}

TEST_CASE("run flags parse into options", "[cli]") {
    auto o = run({"--rootfs",
                  "/srv/r",
                  "--name",
                  "web",
                  "--user",
                  "1000:1001",
                  "--tmpfs",
                  "/run:8m",
                  "--tmpfs",
                  "/var/cache",
                  "--bind",
                  "/data:/data:rw",
                  "--bind",
                  "/etc/x:/etc/x",
                  "--cap",
                  "CAP_NET_BIND_SERVICE",
                  "--env",
                  "A=b=c",
                  "--workdir",
                  "/www",
                  "--hostname",
                  "h",
                  "--stop-timeout",
                  "3",
                  "--net",
                  "host",
                  "--",
                  "/bin/httpd",
                  "-f"});
    CHECK(o.rootfs == "/srv/r");
    CHECK(o.name == "web");
    CHECK(o.user == users::Ids{1000, 1001});
    REQUIRE(o.tmpfs.size() == 2);
    CHECK(o.tmpfs[0] == TmpfsSpec{"/run", 8u << 20});
    CHECK(o.tmpfs[1] == TmpfsSpec{"/var/cache", 128u << 20});
    REQUIRE(o.binds.size() == 2);
    CHECK(o.binds[0] == BindSpec{"/data", "/data", true});
    CHECK(o.binds[1] == BindSpec{"/etc/x", "/etc/x", false});
    CHECK(o.caps == std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
    CHECK(o.env == std::vector<std::pair<std::string, std::string>>{{"A", "b=c"}});
    CHECK(o.workdir == "/www");
    CHECK(o.stop_timeout == 3);
    CHECK(o.net == NetMode::Host);
    CHECK(o.command == std::vector<std::string>{"/bin/httpd", "-f"});
}

TEST_CASE("run defaults follow the design page", "[cli]") {
    auto o = run({"--rootfs", "/r", "--", "true"});
    CHECK(o.user == users::Ids{65534, 65534});
    CHECK(o.net == NetMode::None);
    CHECK(o.tmpfs.empty());  // /tmp 128m is added by the sandbox when not listed
    CHECK(o.stop_timeout == 10);
    CHECK(o.workdir == "/");
}

TEST_CASE("run refuses bad input with a clear message", "[cli]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--user", "0", "--", "x"}),
                      Contains("uid 0 is refused"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--user", "0:0", "--", "x"}), Contains("uid 0"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--user", "10:0", "--", "x"}), Contains("gid 0"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--user", "abc", "--", "x"}), Contains("numeric"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--tmpfs", "tmp", "--", "x"}), Contains("absolute"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--tmpfs", "/a/../b", "--", "x"}),
                      Contains("absolute"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--tmpfs", "/t:0", "--", "x"}), Contains("size"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--tmpfs", "/t:12q", "--", "x"}), Contains("size"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--bind", "/a", "--", "x"}), Contains("SRC:DST"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--bind", "/a:b", "--", "x"}), Contains("absolute"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--bind", "/a:/b:rx", "--", "x"}),
                      Contains("rw or ro"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--env", "=v", "--", "x"}), Contains("K=V"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--net", "bridge", "--", "x"}),
                      Contains("none, host or veth"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--workdir", "www", "--", "x"}), Contains("absolute"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--name", "a/b", "--", "x"}), Contains("--name"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r"}), Contains("no command"));
    CHECK_THROWS_WITH(run({"--", "x"}), Contains("--rootfs is required"));
    CHECK_THROWS_AS(run({"--rootfs", "/r", "--bogus", "--", "x"}), UsageError);
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--stop-timeout", "-1", "--", "x"}),
                      Contains("--stop-timeout -1"));
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--stop-timeout", "1e3", "--", "x"}),
                      Contains("whole seconds"));
}

TEST_CASE("sizes", "[cli]") {
    CHECK(cli::parse_size("4096", "t") == 4096);
    CHECK(cli::parse_size("64k", "t") == 64u << 10);
    CHECK(cli::parse_size("128M", "t") == 128u << 20);
    CHECK(cli::parse_size("1g", "t") == 1ull << 30);
    CHECK_THROWS_AS(cli::parse_size("", "t"), InputError);
    CHECK_THROWS_AS(cli::parse_size("2048g", "t"), InputError);
    CHECK_THROWS_AS(cli::parse_size("-1", "t"), InputError);
}

TEST_CASE("resource limits: --memory, --pids, --cpus and the config's limits", "[cli][limits]") {
    auto o = run(
        {"--rootfs", "/r", "--memory", "256m", "--pids", "64", "--cpus", "1.5", "--", "/bin/true"});
    CHECK(o.limits == cgroups::Limits{256u << 20, 64, 1500});
    CHECK(run({"--rootfs", "/r", "--", "/bin/true"}).limits.any() == false);
    CHECK(cgroups::parse_cpus("0.01", "t") == 10);
    CHECK(cgroups::parse_cpus("0.1", "t") == 100);
    CHECK(cgroups::parse_cpus("2", "t") == 2000);
    CHECK(cgroups::parse_cpus("1024", "t") == 1024000);
    for (auto bad : {"", "0", "0.001", "0.009", "1.0001", "1025", "-1", "1.", ".5", "1e3", "nan",
                     "99999999999999999999"})
        CHECK_THROWS_WITH(cgroups::parse_cpus(bad, "--cpus"),
                          Catch::Matchers::Contains("is not a CPU count from 0.01 to 1024"));
    CHECK(cgroups::parse_pids("1", "t") == 1);
    for (auto bad : {"", "0", "-3", "4194305", "12x"})
        CHECK_THROWS_AS(cgroups::parse_pids(bad, "--pids"), InputError);
    CHECK(cgroups::cpu_max(1500) == "150000 100000");
    CHECK(cgroups::cpu_max(10) == "1000 100000");  // the kernel's smallest quota
    CHECK(cgroups::needed_controllers({0, 5, 0}) == std::vector<std::string>{"pids"});
    CHECK(cgroups::needed_controllers({1, 1, 1}) ==
          std::vector<std::string>{"cpu", "memory", "pids"});

    TempDir dir("cfg");
    std::string path = dir / "c.json";
    std::ofstream(path)
        << R"({"rootfs": "/r", "limits": {"memory": "1g", "pids": 100, "cpus": 0.5}})";
    CHECK(cli::load_config(path).limits == cgroups::Limits{1u << 30, 100, 500});
    std::ofstream(path) << R"({"rootfs": "/r", "limits": {"memory": 1048576, "cpus": "2"}})";
    CHECK(cli::load_config(path).limits == cgroups::Limits{1u << 20, 0, 2000});
    auto f = run({"--config", path, "--cpus", "0.25", "--", "/bin/true"});
    CHECK(f.limits == cgroups::Limits{1u << 20, 0, 250});  // the flag overrides one limit only
    std::ofstream(path) << R"({"rootfs": "/r", "limits": {"cpus": 0}})";
    CHECK_THROWS_WITH(cli::load_config(path),
                      Catch::Matchers::Contains("c.json: /limits/cpus: limits.cpus: \"0\""));
    std::ofstream(path) << R"({"rootfs": "/r", "limits": {"memroy": "1g"}})";
    CHECK_THROWS_WITH(cli::load_config(path), Catch::Matchers::Contains("did you mean \"memory\""));
}

TEST_CASE("config file: relative paths, and flags override it", "[cli]") {
    TempDir dir("cfg");
    std::string path = dir / "web.json";
    std::ofstream(path) << R"({"name": "web", "rootfs": "rootfs", "command": ["/bin/httpd", "-f"],
        "user": "1000:1000", "profile": "p.json", "net": {"mode": "host"}, "tmpfs": ["/tmp:64m"],
        "binds": ["/srv/data:/data:rw"], "caps": ["CAP_NET_BIND_SERVICE"], "env": {"LANG": "C.UTF-8"},
        "workdir": "/", "hostname": "web", "audit_log": "web.jsonl", "stop_timeout": 5})";
    auto o = cli::load_config(path);
    CHECK(o.rootfs == dir / "rootfs");
    CHECK(o.profile == dir / "p.json");
    CHECK(o.audit_log == dir / "web.jsonl");
    CHECK(o.command == std::vector<std::string>{"/bin/httpd", "-f"});
    CHECK(o.tmpfs == std::vector<TmpfsSpec>{{"/tmp", 64u << 20}});
    CHECK(o.env == std::vector<std::pair<std::string, std::string>>{{"LANG", "C.UTF-8"}});
    CHECK(o.stop_timeout == 5);
    auto f = run({"--config", path, "--name", "other", "--stop-timeout", "1", "--", "/bin/true"});
    CHECK(f.name == "other");
    CHECK(f.stop_timeout == 1);
    CHECK(f.command == std::vector<std::string>{"/bin/true"});
    CHECK(f.user == users::Ids{1000, 1000});

    std::ofstream(path) << R"({"name": "web", "rootfs": "/r", "comand": ["x"]})";
    CHECK_THROWS_WITH(
        cli::load_config(path),
        Catch::Matchers::Contains("/: unknown key \"comand\" (did you mean \"command\"?)"));
    std::ofstream(path) << R"({"rootfs": "/r", "tmpfs": ["/tmp:lots"]})";
    CHECK_THROWS_WITH(cli::load_config(path), Catch::Matchers::Contains("web.json: /tmpfs/0: "));
    std::ofstream(path) << R"({"rootfs": "/r", "stop_timeout": "10"})";
    CHECK_THROWS_WITH(cli::load_config(path),
                      Catch::Matchers::Contains("/stop_timeout: expected a non-negative integer"));
    std::ofstream(path) << R"({"rootfs": "/r", )";
    CHECK_THROWS_WITH(cli::load_config(path), Catch::Matchers::Contains("web.json: invalid JSON"));
}

TEST_CASE("--notify and the config's notify: exec by default, or app", "[cli]") {
    CHECK(run({"--rootfs", "/r", "--", "/bin/true"}).notify == NotifyMode::Exec);
    CHECK(run({"--rootfs", "/r", "--notify", "app", "--", "/bin/true"}).notify == NotifyMode::App);
    CHECK_THROWS_WITH(run({"--rootfs", "/r", "--notify", "ready", "--", "/bin/true"}),
                      "--notify ready: expected exec or app");
    TempDir dir("cfg");
    std::string path = dir / "n.json";
    std::ofstream(path) << R"({"rootfs": "/r", "command": ["/bin/true"], "notify": "app"})";
    CHECK(cli::load_config(path).notify == NotifyMode::App);
    CHECK(run({"--config", path, "--notify", "exec"}).notify == NotifyMode::Exec);
    std::ofstream(path) << R"({"rootfs": "/r", "notify": "yes"})";
    CHECK_THROWS_WITH(cli::load_config(path),
                      Catch::Matchers::Contains("n.json: /notify: --notify yes: expected exec"));
}
