// A TLS terminator in front of a sandboxed service, as operators deploy HTTPS behind the guard:
// Debian's HAProxy on the host ends TLS (a certificate the test makes) and sends each request
// with a PROXY v2 header to `bulwark run --net veth`, whose server (the probe's proxy-httpd,
// which answers with the client the header named) is guarded on its veth. The guard must see
// the clients behind the proxy, one by one. Everything is removed afterwards, also when a check
// fails.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "core/json_util.hpp"
#include "harness.hpp"

using namespace harness;

std::string kernel_precheck() {
    return harness::missing_tool(
        {"/usr/sbin/ip", "/usr/sbin/haproxy", "/usr/bin/curl", "/usr/bin/openssl"});
}

namespace {

const std::string kId = std::to_string(getpid());
const std::string kName = "px" + kId;
const std::string kHostIf = "bw-" + kName + "-h";
const std::string kTmp = "/tmp/bulwark-proxy-" + kId;

struct Fixture {
    Fixture() {
        cleanup();
        mkdir(kTmp.c_str(), 0700);
    }
    ~Fixture() { cleanup(); }
    static void cleanup() {
        run({harness::bulwark(), "xdp", "detach", "--name", kName});
        run({"/usr/sbin/ip", "link", "del", kHostIf});
        run({"/bin/rm", "-rf", kTmp});
    }
    std::string file(const std::string& name, const std::string& text) const {
        auto path = kTmp + "/" + name;
        std::ofstream(path) << text;
        return path;
    }
};

struct Reply {
    int status = 0;  // 0: no HTTP answer at all
    std::string body;
};

// One HTTPS request from `src` through the proxy, by curl; a request the guard starves ends as
// the proxy's 504 once its `timeout server` has passed.
Reply https(const std::string& src, const std::string& path, int port = 8443) {
    auto r = run({"/usr/bin/curl", "-sk", "--interface", src, "--max-time", "20", "-w",
                  "\n%{http_code}", "https://198.18.2.1:" + std::to_string(port) + path},
                 30);
    auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return {};
    return {std::atoi(r.out.c_str() + nl + 1), r.out.substr(0, nl)};
}

}  // namespace

TEST_CASE(
    "behind HAProxy (TLS, PROXY v2): clients are denied, limited, blocked and named, "
    "not the proxy",
    "[proxy]") {
    Fixture fx;
    // The proxy is 198.18.2.1 (the host end of the pair); its clients are the host's .3 to .6:
    // the user, the flooder (suspicious: a burst of 3), the denied one, the attacker.
    auto policy = fx.file("policy.json", R"({"inspect_ports": [8080],
        "lists": {"proxies": ["198.18.2.1/32"], "deny": ["198.18.2.5/32"],
                  "suspicious": ["198.18.2.4/32"]},
        "limits": {"default": {"requests": {"rate": "1/day", "burst": 50}},
                   "suspicious": {"requests": {"rate": "1/day", "burst": 3}}},
        "patterns": {"sets": {"sqli": ["union select"]}},
        "events": {"per_source_per_second": 1000}})");
    auto audit = kTmp + "/audit.jsonl";
    NotifySocket notify(kTmp + "/notify.sock");
    setenv("NOTIFY_SOCKET", notify.path.c_str(), 1);
    Child svc({harness::bulwark(),
               "run",
               "--rootfs",
               harness::rootfs(),
               "--name",
               kName,
               "--net",
               "veth",
               "--host-addr",
               "198.18.2.1/29",
               "--addr",
               "198.18.2.2/29",
               "--policy",
               policy,
               "--audit-log",
               audit,
               "--",
               "/bin/probe",
               "proxy-httpd",
               "8080"});
    unsetenv("NOTIFY_SOCKET");
    // READY=1 says the app is exec'd; then it is the supervisor's one child, and it listens.
    REQUIRE(notify.wait_for("READY=1", 20000));
    auto init = children_of(svc.pid());
    REQUIRE(init.size() == 1);
    REQUIRE(wait_listening(init.front(), 8080, 10000));
    for (auto a : {"198.18.2.3/29", "198.18.2.4/29", "198.18.2.5/29", "198.18.2.6/29"})
        REQUIRE(run({"/usr/sbin/ip", "addr", "add", a, "dev", kHostIf}).code == 0);

    auto key = kTmp + "/key.pem", cert = kTmp + "/cert.pem";
    REQUIRE(run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
                 "1", "-subj", "/CN=bulwark-test"})
                .code == 0);
    {
        std::ifstream c1(cert), k1(key);
        std::ofstream(kTmp + "/tls.pem") << c1.rdbuf() << k1.rdbuf();
    }
    auto cfg = fx.file("haproxy.cfg",
                       "global\n  maxconn 100\n"
                       "defaults\n  mode http\n  timeout connect 5s\n"
                       "  timeout client 20s\n  timeout server 3s\n"
                       "frontend tls\n  bind 198.18.2.1:8443 ssl crt " +
                           kTmp +
                           "/tls.pem\n  default_backend app\n"
                           "backend app\n"
                           "  server sandbox 198.18.2.2:8080 send-proxy-v2\n"
                           // The other way a proxy names clients: X-Forwarded-For, appended.
                           "frontend xff\n  bind 198.18.2.1:8444 ssl crt " +
                           kTmp +
                           "/tls.pem\n  option forwardfor\n  default_backend app_xff\n"
                           "backend app_xff\n"
                           "  server sandbox 198.18.2.2:8080\n");
    Child haproxy({"/usr/sbin/haproxy", "-db", "-f", cfg}, true);
    REQUIRE(wait_listening(haproxy.pid(), 8443, 20000));
    REQUIRE(wait_listening(haproxy.pid(), 8444, 20000));

    // The user is served, and the server was told who it is.
    auto user = https("198.18.2.3", "/");
    CHECK(user.status == 200);
    CHECK(user.body == "client=198.18.2.3\n");
    // The flooding client gets its burst; the user is served meanwhile.
    int served = 0;
    for (int i = 0; i < 3; ++i) served += https("198.18.2.4", "/").status == 200;
    CHECK(served == 3);
    auto flood = https("198.18.2.4", "/");
    CHECK(flood.status == 504);
    CHECK(https("198.18.2.3", "/").status == 200);
    // The denied client and the attacker are dropped; the user still served.
    CHECK(https("198.18.2.5", "/").status == 504);
    CHECK(https("198.18.2.6", "/?id=1%20UNION%20SELECT%20password%20FROM%20users").status == 504);
    CHECK(https("198.18.2.3", "/").status == 200);
    // Through the X-Forwarded-For frontend (no PROXY header: the server hears of no client):
    // the same clients, the same verdicts, the flooder's spent burst shared.
    auto viaxff = https("198.18.2.3", "/", 8444);
    CHECK(viaxff.status == 200);
    CHECK(viaxff.body == "client=none\n");
    CHECK(https("198.18.2.5", "/", 8444).status == 504);
    CHECK(https("198.18.2.4", "/", 8444).status == 504);
    CHECK(https("198.18.2.3", "/", 8444).status == 200);

    auto st = run({harness::bulwark(), "stats", "--json", "--name", kName});
    REQUIRE(st.code == 0);
    auto s = bulwark::parse_json(st.out, "stats");
    CHECK(s["counters"]["drop_pattern"]["packets"].get<uint64_t>() >= 1);
    CHECK(s["counters"]["drop_deny"]["packets"].get<uint64_t>() >= 1);
    CHECK(s["counters"]["drop_rate_requests"]["packets"].get<uint64_t>() >= 1);
    // Sources are the clients; the proxy's own packets (SYNs, handshakes) drop nothing.
    for (auto& t : s["top_sources"]) {
        INFO(t.dump());
        if (t["addr"] == "198.18.2.1") CHECK(t["dropped"] == 0);
    }

    kill(haproxy.pid(), SIGTERM);
    haproxy.wait(10);
    kill(svc.pid(), SIGTERM);
    CHECK(svc.wait(30) == 128 + SIGTERM);
    // The events name the clients, never the proxy. (The proxy resends a dropped segment
    // until its timeout, and each copy is a request again: the attacker's later copies find
    // its burst spent.)
    std::map<std::string, std::set<std::string>> by_src;
    for (auto& e : audit_events(audit)) {
        if (!e.contains("src")) continue;
        CHECK(e["src"] != "198.18.2.1");
        by_src[e["src"].get<std::string>()].insert(e["reason"].get<std::string>());
    }
    CHECK(by_src["198.18.2.4"] == std::set<std::string>{"drop_rate_requests"});
    CHECK(by_src["198.18.2.5"] == std::set<std::string>{"drop_deny"});
    CHECK(by_src["198.18.2.6"].count("drop_pattern") == 1);
    CHECK(by_src.count("198.18.2.3") == 0);
}
