// The guard attached to a real interface: a veth pair whose far end lives in a network namespace
// the test creates (198.18.0.0/30), real ICMP echo from the namespace, pins, stats, detach.
// Everything is removed afterwards, also when a check fails.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "harness.hpp"
#include "json_util.hpp"

using namespace harness;
using Catch::Matchers::Contains;

std::string kernel_precheck() {
    for (auto tool : {"/usr/sbin/ip", "/bin/busybox"})
        if (access(tool, X_OK) != 0) return std::string(tool) + " is missing";
    return {};
}

namespace {

const std::string kNs = "bwtest" + std::to_string(getpid());
const std::string kHost = "bwt" + std::to_string(getpid()) + "a";
const std::string kPeer = "bwt" + std::to_string(getpid()) + "b";
const std::string kName = "test-" + std::to_string(getpid());

// Builds the veth pair and namespace; tears everything down in its destructor.
struct Net {
    Net() {
        teardown();
        for (auto& cmd : std::vector<std::vector<std::string>>{
                 {"ip", "netns", "add", kNs},
                 {"ip", "link", "add", kHost, "type", "veth", "peer", "name", kPeer, "netns", kNs},
                 {"ip", "addr", "add", "198.18.0.1/30", "dev", kHost},
                 {"ip", "link", "set", kHost, "up"},
                 {"ip", "-n", kNs, "addr", "add", "198.18.0.2/30", "dev", kPeer},
                 {"ip", "-n", kNs, "link", "set", kPeer, "up"}}) {
            cmd[0] = "/usr/sbin/ip";
            auto r = run(cmd, 20);
            if (r.code != 0) throw std::runtime_error(cmd[1] + " " + cmd[2] + ": " + r.err);
        }
    }
    ~Net() { teardown(); }
    static void teardown() {
        run({harness::bulwark(), "xdp", "detach", "--name", kName}, 20);
        run({"/usr/sbin/ip", "link", "del", kHost}, 20);
        run({"/usr/sbin/ip", "netns", "del", kNs}, 20);
    }
};

// `count` echo requests from the namespace, bounded by -W 1 each; returns how many were answered.
int ping(int count) {
    auto r = run({"/usr/sbin/ip", "netns", "exec", kNs, "/bin/busybox", "ping", "-c",
                  std::to_string(count), "-W", "1", "198.18.0.1"},
                 30);
    for (auto& l : lines(r.out)) {
        auto pos = l.find(" packets received");
        if (pos == std::string::npos) continue;
        auto comma = l.rfind(", ", pos);
        return std::stoi(l.substr(comma + 2, pos - comma - 2));
    }
    return -1;
}

std::string write_policy(const std::string& text) {
    std::string path = "/tmp/bulwark-guard-" + std::to_string(getpid()) + ".json";
    std::ofstream(path) << text;
    return path;
}

bulwark::Json stats() {
    auto r = run({harness::bulwark(), "stats", "--json", "--name", kName});
    REQUIRE(r.code == 0);
    return bulwark::parse_json(r.out, "stats");
}

}  // namespace

TEST_CASE("a denied source is dropped on a real interface; stats count exactly what was sent",
          "[guard]") {
    Net net;
    REQUIRE(ping(1) == 1);  // the path works without the guard
    auto policy = write_policy(R"({"lists": {"deny": ["198.18.0.2/32"]}})");
    auto a = run({harness::bulwark(), "xdp", "attach", "--iface", kHost, "--policy", policy,
                  "--name", kName});
    INFO(a.err);
    REQUIRE(a.code == 0);
    CHECK_THAT(a.out, Contains("attached " + kName));
    auto dir = "/sys/fs/bpf/bulwark/" + kName;
    for (auto pin : {"link", "counters", "sources", "lists_v4", "config"}) {
        struct stat st {};
        CHECK(stat((dir + "/" + pin).c_str(), &st) == 0);
    }
    CHECK(run({"/usr/sbin/bpftool", "map", "dump", "pinned", dir + "/counters"}).code == 0);

    CHECK(ping(3) == 0);
    auto s = stats();
    CHECK(s["name"] == kName);
    CHECK(s["interface"] == kHost);
    CHECK(s["attached"] == true);
    CHECK((s["mode"] == "native" || s["mode"] == "skb"));
    CHECK(s["counters"]["drop_deny"]["packets"] == 3);
    CHECK(s["counters"]["drop_deny"]["bytes"] == 3 * 98);  // 14 + 20 + 8 + 56 bytes of busybox ping

    // Same name again: refused, the first instance untouched.
    auto again = run({harness::bulwark(), "xdp", "attach", "--iface", kHost, "--policy", policy,
                      "--name", kName});
    CHECK(again.code == 1);
    CHECK_THAT(again.err, Contains("already in use"));
    CHECK(stats()["attached"] == true);

    auto prom = run({harness::bulwark(), "stats", "--prometheus", "--name", kName});
    CHECK_THAT(prom.out,
               Contains("bulwark_packets_total{service=\"" + kName + "\",reason=\"drop_deny\"} 3"));

    auto d = run({harness::bulwark(), "xdp", "detach", "--name", kName});
    CHECK(d.code == 0);
    struct stat st {};
    CHECK(stat(dir.c_str(), &st) != 0);
    CHECK(ping(1) == 1);  // detached: traffic flows again
    unlink(policy.c_str());
}

TEST_CASE("a rate-limited source gets its burst through, then nothing", "[guard]") {
    Net net;
    // 1/day: no refill within the test. ARP is not IP and always passes.
    auto policy =
        write_policy(R"({"limits": {"default": {"packets": {"rate": "1/day", "burst": 2}}}})");
    REQUIRE(run({harness::bulwark(), "xdp", "attach", "--iface", kHost, "--policy", policy,
                 "--name", kName})
                .code == 0);
    CHECK(ping(5) == 2);
    auto s = stats();
    CHECK(s["counters"]["pass"]["packets"].get<uint64_t>() >= 2);  // plus ARP
    CHECK(s["counters"]["drop_rate_packets"]["packets"] == 3);
    // The peer's IPv6 link-local chatter (MLD, router solicitation) is tracked too: find ours.
    bulwark::Json ours;
    for (auto& src : s["top_sources"])
        if (src["addr"] == "198.18.0.2") ours = src;
    REQUIRE(ours.is_object());
    CHECK(ours["passed"] == 2);
    CHECK(ours["dropped"] == 3);
    CHECK(ours["last_reason"] == "drop_rate_packets");
    // The flood source is listed first: most drops.
    CHECK(s["top_sources"][0]["addr"] == "198.18.0.2");
    unlink(policy.c_str());
}

TEST_CASE("bad attach requests fail with one line and pin nothing", "[guard]") {
    Net net;
    auto good = write_policy("{}");
    auto dir = "/sys/fs/bpf/bulwark/" + kName;
    struct stat st {};
    auto no_iface = run({harness::bulwark(), "xdp", "attach", "--iface", "bwnope0", "--policy",
                         good, "--name", kName});
    CHECK(no_iface.code == 1);
    CHECK_THAT(no_iface.err, Contains("interface bwnope0 does not exist"));
    CHECK(stat(dir.c_str(), &st) != 0);
    auto bad = write_policy(R"({"lists": {"deny": ["10.0.0.0/33"]}})");
    auto bad_policy = run(
        {harness::bulwark(), "xdp", "attach", "--iface", kHost, "--policy", bad, "--name", kName});
    CHECK(bad_policy.code == 1);
    CHECK_THAT(bad_policy.err, Contains("/lists/deny/0"));
    CHECK(stat(dir.c_str(), &st) != 0);
    auto bad_name = run({harness::bulwark(), "xdp", "attach", "--iface", kHost, "--policy", good,
                         "--name", "../x"});
    CHECK(bad_name.code == 1);
    CHECK(run({harness::bulwark(), "xdp", "detach", "--name", kName}).code == 1);
    auto ip = run({"/usr/sbin/ip", "link", "show", kHost});
    CHECK(ip.out.find(" xdp") == std::string::npos);
    unlink(good.c_str());
    unlink(bad.c_str());
}
