// Profiles on real services: `bulwark run --learn` the way an operator learns one (the service
// runs under the learning filter while a client drives its workload, is stopped with SIGTERM,
// and the learned profile then runs the same workload again), and the shipped profiles under the
// same workloads. Services: busybox httpd (with a CGI script) from the test rootfs; nginx and
// Python's threaded http.server from the host's /usr, bound read-only into an empty root. Clients
// talk over a veth pair in 198.18.0.0/15.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "core/json_util.hpp"
#include "harness.hpp"

using namespace harness;
using Catch::Matchers::Contains;

std::string kernel_precheck() {
    return harness::missing_tool(
        {"/usr/sbin/ip", "/bin/busybox", "/usr/sbin/nginx", "/usr/bin/python3"});
}

namespace {

const std::string kId = std::to_string(getpid());
const std::string kName = "lrn" + kId;
const std::string kHostIf = "bw-" + kName + "-h";
const std::string kTmp = "/tmp/bulwark-learn-" + kId;

void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// The pages, the CGI script, nginx's configuration and an empty root for the host's services;
// removed with whatever a failed run left (its veth pair).
struct Fixture {
    Fixture() {
        cleanup();
        for (auto d :
             {"", "/www", "/www/cgi-bin", "/root", "/root/usr", "/root/etc", "/root/srv",
              "/root/proc", "/root/dev", "/root/tmp", "/root/run", "/root/var", "/root/var/log",
              "/root/var/log/nginx", "/root/var/lib", "/root/var/lib/nginx"})
            mkdir((kTmp + d).c_str(), 0755);
        for (auto d : {"bin", "lib", "lib64", "sbin"})
            symlink((std::string("usr/") + d).c_str(), (kTmp + "/root/" + d).c_str());
        // The root's /etc: the host's loader cache and users, and name resolution that stays in
        // the sandbox (Python's http.server looks its own name up: a nameserver on the
        // sandbox's loopback refuses at once, and nothing goes toward the host's resolver).
        for (auto f : {"ld.so.cache", "passwd", "group", "nsswitch.conf"})
            run({"/bin/cp", std::string("/etc/") + f, kTmp + "/root/etc/" + f});
        write(kTmp + "/root/etc/hosts", "127.0.0.1 localhost\n198.18.2.2 bulwark-learn\n");
        write(kTmp + "/root/etc/resolv.conf", "nameserver 127.0.0.1\n");
        write(kTmp + "/www/index.html", "<p>hello</p>\n");
        write(kTmp + "/www/cgi-bin/id", "#!/bin/sh\necho Content-Type: text/plain\necho\nid\n");
        chmod((kTmp + "/www/cgi-bin/id").c_str(), 0755);
        write(kTmp + "/nginx.conf",
              "worker_processes 2;\npid /tmp/nginx.pid;\nerror_log stderr;\n"
              "events { worker_connections 64; }\n"
              "http {\n  access_log off;\n  client_body_temp_path /tmp/cb;\n"
              "  proxy_temp_path /tmp/px;\n  fastcgi_temp_path /tmp/fc;\n"
              "  uwsgi_temp_path /tmp/uw;\n  scgi_temp_path /tmp/sc;\n"
              "  server { listen 8080; root /srv/www; }\n}\n");
    }
    ~Fixture() { cleanup(); }
    static void cleanup() {
        run({"/usr/sbin/ip", "link", "del", kHostIf});
        run({"/bin/rm", "-rf", kTmp});
    }
};

struct Service {
    const char* name;
    std::vector<std::string> sandbox;  // rootfs and binds
    std::vector<std::string> command;
    std::vector<std::string> requests;
    size_t max_numbers;  // issue 16's targets: nginx 80, Python 90
};

std::vector<Service> services() {
    std::vector<std::string> host_usr = {"--rootfs",  kTmp + "/root", "--bind",
                                         "/usr:/usr", "--bind",       kTmp + ":/srv"};
    auto python = host_usr;
    python.insert(python.end(), {"--workdir", "/srv/www"});
    return {
        {"busybox httpd",
         {"--rootfs", rootfs(), "--bind", kTmp + "/www:/www"},
         {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"},
         {"GET /index.html", "GET /nope", "GET /cgi-bin/id"},
         80},
        {"nginx",
         host_usr,
         {"/usr/sbin/nginx", "-c", "/srv/nginx.conf", "-g", "daemon off;"},
         {"GET /index.html", "GET /nope", "GET /cgi-bin/id"},
         80},
        {"python3 -m http.server",
         python,
         {"/usr/bin/python3", "-m", "http.server", "8080"},
         {"GET /index.html", "GET /nope", "GET /cgi-bin/"},
         90},
    };
}

struct Served {
    std::vector<int> statuses;
    int exit_code = -1;
};

// One run of the service with `profile_args`: started, its requests made once it listens (each
// read to the server's close, so the server's work on it is done), then stopped with SIGTERM as
// an operator (or systemd) stops it.
Served serve(const Service& s, const std::vector<std::string>& profile_args) {
    std::vector<std::string> argv = {
        harness::bulwark(), "run",           "--name", kName,           "--net",          "veth",
        "--host-addr",      "198.18.2.1/29", "--addr", "198.18.2.2/29", "--stop-timeout", "20"};
    argv.insert(argv.end(), s.sandbox.begin(), s.sandbox.end());
    argv.insert(argv.end(), profile_args.begin(), profile_args.end());
    argv.push_back("--");
    argv.insert(argv.end(), s.command.begin(), s.command.end());
    NotifySocket notify(kTmp + "/notify.sock");
    setenv("NOTIFY_SOCKET", notify.path.c_str(), 1);
    Child svc(argv);
    unsetenv("NOTIFY_SOCKET");
    Served out;
    // READY=1: the app is exec'd (the init is the supervisor's one child by then).
    if (notify.wait_for("READY=1", 30000)) {
        auto init = children_of(svc.pid());
        if (!init.empty() && wait_listening(init.front(), 8080, 30000))
            for (auto& r : s.requests)
                out.statuses.push_back(
                    http({"", "198.18.2.1", "198.18.2.2", 8080, r, "", true}).status);
    }
    kill(svc.pid(), SIGTERM);
    out.exit_code = svc.wait(60);
    return out;
}

size_t allowed_numbers(const std::string& profile) {
    auto r = run({harness::bulwark(), "check", "profile", profile, "--json"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    return bulwark::parse_json(r.out, "check")["allowed_syscall_numbers"].get<size_t>();
}

const bulwark::Json* rule_for(const bulwark::Json& profile, const std::string& name) {
    for (auto& r : profile["syscalls"])
        for (auto& n : r["names"])
            if (n == name) return &r;
    return nullptr;
}

// `learned` with SCMP_ACT_KILL_PROCESS as its default, written to `path`: any call outside it
// ends the app with SIGSYS (exit 159) instead of a quiet EPERM.
std::string killing_copy(bulwark::Json learned, const std::string& path) {
    learned["defaultAction"] = "SCMP_ACT_KILL_PROCESS";
    learned.erase("defaultErrnoRet");
    write(path, learned.dump(2));
    return path;
}

}  // namespace

TEST_CASE("a profile learned from a service's workload replays it three times without a violation",
          "[learn]") {
    Fixture fx;
    for (auto& s : services()) {
        INFO(s.name);
        auto learned = kTmp + "/learned.json";
        unlink(learned.c_str());
        auto first = serve(s, {"--learn", learned});
        REQUIRE(first.statuses.size() == s.requests.size());
        CHECK(first.statuses[0] == 200);
        CHECK(first.statuses[1] == 404);
        CHECK(first.exit_code != 128 + SIGSYS);
        auto doc = bulwark::load_json_file(learned);
        size_t numbers = allowed_numbers(learned);
        INFO("allowed numbers: " << numbers);
        CHECK(numbers <= s.max_numbers);
        CHECK(numbers >= 20);  // a web server needs more than a handful: nothing was lost
        // Argument rules: sockets only of the families used, clone never for namespaces.
        auto* sock = rule_for(doc, "socket");
        REQUIRE(sock);
        CHECK(sock->contains("args"));
        if (auto* clone = rule_for(doc, "clone")) CHECK(clone->contains("args"));
        CHECK(rule_for(doc, "execve"));
        CHECK_FALSE(rule_for(doc, "mount"));

        // A replay must not need anything the learning did not see.
        auto killing = killing_copy(doc, kTmp + "/killing.json");
        for (int i = 0; i < 3; ++i) {
            INFO("replay " << i);
            auto again = serve(s, {"--profile", killing});
            CHECK(again.statuses == first.statuses);
            CHECK(again.exit_code == first.exit_code);
        }
    }
}

TEST_CASE("a learned profile refuses a call its workload never made", "[learn]") {
    Fixture fx;
    auto learned = kTmp + "/ls.json";
    auto r = run_sandbox({"--learn", learned}, {"/bin/busybox", "ls", "/"});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.err, Contains("calls recorded; " + learned + " allows"));
    auto again = run_sandbox({"--profile", learned}, {"/bin/busybox", "ls", "/"});
    CHECK(again.code == 0);
    CHECK(again.out == r.out);
    // mkdir was never made while learning: EPERM, the learned default.
    auto mk = run_sandbox({"--profile", learned}, {"/bin/busybox", "mkdir", "/tmp/x"});
    CHECK(mk.code == 1);
    CHECK_THAT(mk.err, Contains("Operation not permitted"));
}

TEST_CASE("learning from a base that allows little says what the base would have denied",
          "[learn]") {
    Fixture fx;
    auto base = kTmp + "/tiny.json";
    write(base, R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["execve", "exit_group", "write"], "action": "SCMP_ACT_ALLOW"}]})");
    auto learned = kTmp + "/beyond.json";
    auto r = run_sandbox({"--profile", base, "--learn", learned}, {"/bin/busybox", "ls", "/"});
    REQUIRE(r.code == 0);  // learning lets every call run
    CHECK_THAT(r.out, Contains("bin"));
    CHECK_THAT(r.err, Contains("/bin/busybox made getdents64, which the base profile does not "
                               "allow: learned anyway"));
    auto doc = bulwark::load_json_file(learned);
    auto* dents = rule_for(doc, "getdents64");
    REQUIRE(dents);
    CHECK_THAT((*dents)["comment"].get<std::string>(), Contains("not allowed by the base"));
    CHECK_THAT((*rule_for(doc, "execve"))["comment"].get<std::string>(),
               !Contains("not allowed by the base"));
    CHECK(run_sandbox({"--profile", learned}, {"/bin/busybox", "ls", "/"}).out == r.out);
}

TEST_CASE("explicit denials of the base profile stay denied while learning, and are reported",
          "[learn]") {
    Fixture fx;
    auto learned = kTmp + "/enosys.json";
    auto r = run_sandbox({"--learn", learned}, {"/bin/probe", "enosys"});
    REQUIRE(r.code == 0);
    auto kv = parse_kv(r.out);
    CHECK(kv["clone3"] == "ENOSYS");           // default.json: ERRNO(ENOSYS), so libc falls back
    CHECK(kv["syslog_below_max"] == "EPERM");  // default.json: ERRNO(EPERM)
    CHECK_THAT(r.err, Contains("/bin/probe tried clone3: still denied (SCMP_ACT_ERRNO(38)"));
    CHECK_THAT(r.err, Contains("/bin/probe tried syslog: still denied (SCMP_ACT_ERRNO(1)"));
    auto doc = bulwark::load_json_file(learned);
    auto* sys = rule_for(doc, "syslog");
    REQUIRE(sys);
    CHECK((*sys)["action"] == "SCMP_ACT_ERRNO");
    CHECK((*sys)["errnoRet"] == 1);
    // The learned profile gives the same answers.
    auto again = run_sandbox({"--profile", learned}, {"/bin/probe", "enosys"});
    CHECK(parse_kv(again.out)["clone3"] == "ENOSYS");
    CHECK(parse_kv(again.out)["syslog_below_max"] == "EPERM");
}

TEST_CASE("a learning run outlives signals that come in while a handler returns", "[learn]") {
    // 20,000 SIGUSR1 and SIGUSR2 in turn, caught without SA_RESTART as nginx catches SIGCHLD
    // and SIGTERM: with rt_sigreturn notified, one arriving while the other's handler returned
    // ended the app with SIGSEGV (exit 139, every run; nginx's master so, now and then).
    Fixture fx;
    auto learned = kTmp + "/signals.json";
    auto r = run_sandbox({"--learn", learned}, {"/bin/probe", "signals", "20000"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto kv = parse_kv(r.out);
    CHECK(std::stoi(kv["handled"]) > 0);
    auto doc = bulwark::load_json_file(learned);
    REQUIRE(rule_for(doc, "rt_sigaction"));
    CHECK(rule_for(doc, "rt_sigreturn"));
    // The learned profile, killing on anything else, runs it again; outside learning the
    // call the probe makes meanwhile never fails with EINTR.
    auto killing = killing_copy(doc, kTmp + "/signals-killing.json");
    auto again = run_sandbox({"--profile", killing}, {"/bin/probe", "signals", "20000"});
    INFO(again.err);
    CHECK(again.code == 0);
    CHECK(parse_kv(again.out)["calls_eintr"] == "0");
}

TEST_CASE("the shipped profiles serve busybox httpd, nginx and Python's threaded server",
          "[learn][profiles]") {
    Fixture fx;
    auto dir = env("BULWARK_SOURCE_DIR") + "/profiles/";
    for (auto* profile : {"default.json", "strict.json"})
        for (auto& s : services()) {
            INFO(s.name << " under " << profile);
            auto r = serve(s, {"--profile", dir + profile});
            REQUIRE(r.statuses.size() == s.requests.size());
            CHECK(r.statuses[0] == 200);
            CHECK(r.statuses[1] == 404);
            CHECK(r.statuses[2] == 200);
            CHECK(r.exit_code != 128 + SIGSYS);
            CHECK(r.exit_code != 125);
        }
}
