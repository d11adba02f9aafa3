// The guard attached to a real interface: a veth pair whose far end lives in a network namespace
// the test creates (198.18.0.0/29), real ICMP echo and real HTTP over TCP from the namespace,
// pins, stats, events, reloads, detach. Everything is removed afterwards, also when a check
// fails.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../tempdir.hpp"
#include "core/fd.hpp"
#include "core/json_util.hpp"
#include "core/sys.hpp"
#include "frames.hpp"
#include "guard/dfa_cache.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"
#include "guard/reload.hpp"
#include "harness.hpp"
#include "test_run.hpp"

using namespace harness;
using Catch::Matchers::Contains;

std::string kernel_precheck() {
    return harness::missing_tool({"/usr/sbin/ip", "/bin/busybox"});
}

namespace {

const std::string kNs = "bwtest" + std::to_string(getpid());
const std::string kHost = "bwt" + std::to_string(getpid()) + "a";
const std::string kPeer = "bwt" + std::to_string(getpid()) + "b";
const std::string kName = "test-" + std::to_string(getpid());

// The guard's test network: 198.18.0.1 here, 198.18.0.2 in kNs; the instance kName is detached
// before the pair goes, whatever the test did.
struct Net {
    harness::VethNs veth{kNs, kHost, kPeer, "198.18.0.1/29", "198.18.0.2/29"};
    Net() { detach(); }
    ~Net() { detach(); }
    static void detach() { run({harness::bulwark(), "xdp", "detach", "--name", kName}, 20); }
};

int ping(const Net& net, int count) {
    return net.veth.ping("198.18.0.1", count);
}

// Policy files of this test binary, removed at exit whatever the tests did.
const TempDir& scratch() {
    static TempDir dir("guard");
    return dir;
}

std::string write_policy(const std::string& text) {
    std::string path = scratch() / "policy.json";
    std::ofstream(path) << text;
    return path;
}

bulwark::Json stats() {
    auto r = run({harness::bulwark(), "stats", "--json", "--name", kName});
    REQUIRE(r.code == 0);
    return bulwark::parse_json(r.out, "stats");
}

// What `stats` says each pattern dropped, as "set:pattern" -> packets.
std::map<std::string, uint64_t> pattern_drops(const bulwark::Json& s) {
    std::map<std::string, uint64_t> by_pattern;
    for (auto& p : s["patterns"])
        by_pattern[p["set"].get<std::string>() + ":" + p["pattern"].get<std::string>()] =
            p["packets"].get<uint64_t>();
    return by_pattern;
}

void attach(const std::string& policy) {
    auto a = run({harness::bulwark(), "xdp", "attach", "--iface", kHost, "--policy", policy,
                  "--name", kName});
    INFO(a.err);
    REQUIRE(a.code == 0);
}

Outcome http(const std::string& src, const std::string& request_line) {
    return harness::http({kNs, src, "198.18.0.1", 8080, request_line, kName}).outcome;
}

}  // namespace

TEST_CASE("a denied source is dropped on a real interface; stats count exactly what was sent",
          "[guard]") {
    Net net;
    REQUIRE(ping(net, 1) == 1);  // the path works without the guard
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

    CHECK(ping(net, 3) == 0);
    auto s = stats();
    CHECK(s["name"] == kName);
    CHECK(s["interface"] == kHost);
    CHECK(s["attached"] == true);
    CHECK((s["mode"] == "native" || s["mode"] == "skb"));
    // For the README's kernel matrix (ctest -V shows it): which mode this kernel gave veth.
    std::printf("kernel_guard: XDP attached to veth in %s mode\n",
                s["mode"].get<std::string>().c_str());
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
    CHECK(ping(net, 1) == 1);  // detached: traffic flows again
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
    CHECK(ping(net, 5) == 2);
    auto s = stats();
    CHECK(s["counters"]["pass"]["packets"].get<uint64_t>() >= 2);  // plus ARP
    CHECK(s["counters"]["drop_rate_packets"]["packets"] == 3);
    // Find ours among the sources.
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

TEST_CASE("real HTTP: a flood is cut to its burst, attacks dropped, others served, events read",
          "[guard][http]") {
    Net net;
    for (auto a : {"198.18.0.3/29", "198.18.0.4/29", "198.18.0.5/29"})
        REQUIRE(run({"/usr/sbin/ip", "-n", kNs, "addr", "add", a, "dev", kPeer}).code == 0);
    harness::Httpd server("198.18.0.1", 8080);
    // 1/day: no refill during the test, so exactly the burst gets through.
    auto policy = write_policy(R"({"inspect_ports": [8080],
        "lists": {"trusted": ["198.18.0.4/32"]},
        "limits": {"default": {"requests": {"rate": "1/day", "burst": 5}}},
        "rules": [{"match": "GET /api/health", "action": "exempt"}],
        "patterns": {"sets": {"sqli": ["union select"], "traversal": ["../"]}},
        "events": {"per_source_per_second": 1000}})");
    attach(policy);

    int legit = 0, flood_served = 0, flood_dropped = 0, trusted = 0, attacks = 0, health = 0;
    for (int i = 0; i < 3; ++i) legit += http("198.18.0.2", "GET /") == Outcome::Served;
    for (int i = 0; i < 12; ++i) {
        auto o = http("198.18.0.3", "GET /index.html");
        flood_served += o == Outcome::Served;
        flood_dropped += o == Outcome::Dropped;
    }
    for (int i = 0; i < 2; ++i) health += http("198.18.0.3", "GET /api/health") == Outcome::Served;
    for (int i = 0; i < 12; ++i) trusted += http("198.18.0.4", "GET /") == Outcome::Served;
    for (auto q : {"GET /?id=1%20UNION%20SELECT%20pw", "GET /?id=1 union select pw",
                   "GET /../../etc/passwd"})
        attacks += http("198.18.0.5", q) == Outcome::Dropped;
    legit += http("198.18.0.2", "GET /") == Outcome::Served;  // still served after all that

    CHECK(legit == 4);
    CHECK(flood_served == 5);
    CHECK(flood_dropped == 7);
    CHECK(health == 2);  // exempt: the flood source still reaches its health check... (404 here)
    CHECK(trusted == 12);
    CHECK(attacks == 3);  // decoded: %20 is a space, so the first query matches too

    auto s = stats();
    CHECK(s["counters"]["drop_rate_requests"]["packets"] == 7);
    CHECK(s["counters"]["drop_pattern"]["packets"] == 3);
    // Which pattern dropped them: two queries with "union select", one traversal.
    CHECK(pattern_drops(s) ==
          std::map<std::string, uint64_t>{{"sqli:union select", 2}, {"traversal:../", 1}});
    CHECK(s["counters"]["drop_rule"]["packets"] == 0);
    CHECK(s["counters"]["drop_deny"]["packets"] == 0);
    CHECK(s["counters"]["drop_rate_packets"]["packets"] == 0);
    CHECK(s["counters"]["drop_malformed"]["packets"] == 0);
    CHECK(s["counters"]["pass_trusted"]["packets"].get<uint64_t>() >= 12 * 3);
    CHECK(s["events_lost"] == 0);

    auto ev = run({harness::bulwark(), "events", "--name", kName, "--json"});
    REQUIRE(ev.code == 0);
    int limited = 0, blocked = 0;
    for (auto& l : lines(ev.out)) {
        auto j = bulwark::parse_json(l, "events");
        CHECK(j["service"] == kName);
        CHECK(j["dst"] == "198.18.0.1");
        CHECK(j["dst_port"] == 8080);
        CHECK(j["proto"] == "tcp");
        CHECK(j["time"].get<std::string>().size() == 27);  // 2026-11-23T22:55:08.123456Z
        if (j["type"] == "RATE_LIMIT_EXCEEDED") {
            ++limited;
            CHECK(j["reason"] == "drop_rate_requests");
            CHECK(j["src"] == "198.18.0.3");
        } else {
            ++blocked;
            CHECK(j["type"] == "REQUEST_BLOCKED");
            CHECK(j["reason"] == "drop_pattern");
            CHECK(j["src"] == "198.18.0.5");
            CHECK((j["pattern"] == "sqli:union select" || j["pattern"] == "traversal:../"));
        }
    }
    CHECK(limited == 7);
    CHECK(blocked == 3);
    // Consumed: a second read finds nothing new.
    CHECK(run({harness::bulwark(), "events", "--name", kName, "--json"}).out.empty());
    unlink(policy.c_str());
}

TEST_CASE("real HTTP: requests pipelined in one write are each counted and ruled",
          "[guard][http]") {
    // A client that pipelines writes several requests at once: one segment. Before, the guard
    // took it for its first request only, so logins after a health check passed a spent login
    // limit. Here over a real connection to busybox httpd, which answers the first.
    Net net;
    REQUIRE(run({"/usr/sbin/ip", "-n", kNs, "addr", "add", "198.18.0.3/29", "dev", kPeer}).code ==
            0);
    harness::Httpd server("198.18.0.1", 8080);
    auto policy = write_policy(R"({"inspect_ports": [8080],
        "limits": {"default": {"requests": {"rate": "1/day", "burst": 4}}},
        "rules": [{"match": "GET /api/health", "action": "exempt"},
                  {"match": "POST /login", "limit": {"rate": "1/day", "burst": 1}}]})");
    attach(policy);
    auto probe = [](const char* src, const std::string& before, const char* line) {
        return harness::http({kNs, src, "198.18.0.1", 8080, line, kName}, before).outcome;
    };
    const std::string health = "GET /api/health HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string login = "POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\nu=a&p=b";
    CHECK(probe("198.18.0.2", "", "POST /login") == Outcome::Served);  // the login's burst
    CHECK(probe("198.18.0.2", health + login, "POST /login") == Outcome::Dropped);
    // Exempt checks pipelined take no token: four writes of five (20, burst 4) all served.
    for (int i = 0; i < 4; ++i)
        CHECK(probe("198.18.0.3", health + health + health + health, "GET /api/health") ==
              Outcome::Served);
    auto s = stats();
    CHECK(s["counters"]["drop_rule"]["packets"] == 1);
    CHECK(s["counters"]["drop_rate_requests"]["packets"] == 0);
    unlink(policy.c_str());
}

TEST_CASE("reloads are atomic: under 1,020 reloads no packet sees a mix or an empty list",
          "[guard][reload]") {
    Net net;
    // Both policies drop the probe packet, for different reasons: A by its deny list, B by a
    // pattern. A packet that saw B's lists with A's patterns (or a list being rewritten) would
    // pass.
    auto a = write_policy(R"({"lists": {"deny": ["198.18.7.0/24"]}, "max_sources": 4096})");
    std::string b_path = scratch() / "b.json";
    std::ofstream(b_path) << R"({"inspect_ports": [80], "max_sources": 4096,
        "lists": {"trusted": ["198.18.6.0/24"]}, "patterns": {"sets": {"x": ["evil"]}}})";
    attach(a);

    bulwark::UniqueFd link(bpf_obj_get(("/sys/fs/bpf/bulwark/" + kName + "/link").c_str()));
    REQUIRE(link);
    bpf_link_info info{};
    uint32_t len = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0);
    bulwark::UniqueFd prog(bpf_prog_get_fd_by_id(info.prog_id));
    REQUIRE(prog);

    frames::Frame f;
    f.src = "198.18.7.9";
    f.payload = "GET /evil HTTP/1.1\r\n\r\n";
    auto frame = f.build();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> passed{0}, dropped{0};
    std::thread traffic([&] {
        while (!stop) {
            auto r = test_run(prog.get(), frame, 16);
            (r.retval == 2 ? passed : dropped) += 1;
        }
    });
    // The swap itself runs in this process, 1,000 times, the way `bulwark policy reload` does
    // it (load, validate, guard::reload); a process per reload would spend the time in exec,
    // not in the swap under test (and take minutes under emulation in tests/vm/run). The
    // command itself then reloads 20 more times while the traffic runs.
    int failures = 0;
    const int in_process = 1000, by_command = 20, reloads = in_process + by_command;
    auto pa = bulwark::policy::load_policy(a, "");
    auto pb = bulwark::policy::load_policy(b_path, "");
    for (int i = 0; i < in_process; ++i) {
        try {
            bulwark::guard::reload(kName, i % 2 ? pa : pb);
        } catch (const std::exception& e) {
            WARN(e.what());
            ++failures;
        }
    }
    for (int i = 0; i < by_command; ++i)
        failures +=
            run({harness::bulwark(), "policy", "reload", "--name", kName, i % 2 ? a : b_path})
                .code != 0;
    stop = true;
    traffic.join();
    CHECK(failures == 0);
    CHECK(passed == 0);
    CHECK(dropped > static_cast<uint64_t>(reloads));
    auto s = stats();
    CHECK(s["reloads"] == reloads);
    CHECK(s["counters"]["drop_deny"]["packets"].get<uint64_t>() > 0);
    CHECK(s["counters"]["drop_pattern"]["packets"].get<uint64_t>() > 0);
    // Ends on A (the last reload, i odd): only A's list entries are left in the maps.
    auto dump = run({"/usr/sbin/bpftool", "-j", "map", "dump", "pinned",
                     "/sys/fs/bpf/bulwark/" + kName + "/lists_v4"});
    auto entries = bulwark::parse_json(dump.out, "bpftool");
    CHECK(entries.size() == 1);
    // Each generation's automaton holds its policy's states and zeros after them: a reload
    // writes the rows in place and clears what the previous policy there left. Alternating
    // reloads keep A in one generation and B in the other; B twice then A puts A where B was.
    for (auto* np : {&pb, &pb, &pa}) bulwark::guard::reload(kName, *np);
    {
        auto pin = "/sys/fs/bpf/bulwark/" + kName;
        bulwark::UniqueFd cfg(bpf_obj_get((pin + "/config").c_str()));
        bulwark::UniqueFd dfa(bpf_obj_get((pin + "/automaton").c_str()));
        REQUIRE(cfg);
        REQUIRE(dfa);
        constexpr size_t kBytes = sizeof(bw_table) * BW_GENERATIONS * BW_DFA_TABLES;
        void* mem = mmap(nullptr, kBytes, PROT_READ, MAP_SHARED, dfa.get(), 0);
        REQUIRE(mem != MAP_FAILED);
        std::vector<uint32_t> states;
        size_t used_total = 0;
        for (uint32_t gen = 0; gen < BW_GENERATIONS; ++gen) {
            bw_config c{};
            REQUIRE(bpf_map_lookup_elem(cfg.get(), &gen, &c) == 0);
            states.push_back(c.ndfa ? c.dfa[0].states : 0);
            for (uint32_t i = 0; i < BW_DFA_TABLES; ++i) {
                auto* t = static_cast<const bw_table*>(mem) + gen * BW_DFA_TABLES + i;
                size_t used = 0, stray = 0;
                size_t in_use = i < c.ndfa ? bulwark::automaton::used_entries(c.dfa[i]) : 0;
                for (size_t e = 0; e < std::size(t->e); ++e)
                    (e < in_use ? used : stray) += t->e[e] != 0;
                used_total += used;
                CHECK(stray == 0);
            }
        }
        munmap(mem, kBytes);
        CHECK(used_total > 0);
        std::sort(states.begin(), states.end());
        CHECK(states[0] < states[1]);  // A without patterns, B with one: different sizes
    }

    // A reload that fails leaves the policy in force, and says so.
    auto bad = write_policy(R"({"lists": {"deny": ["198.18.7.0/33"]}})");
    auto r = run({harness::bulwark(), "policy", "reload", "--name", kName, bad});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("/lists/deny/0"));
    CHECK_THAT(r.err, Contains("unchanged"));
    auto big = write_policy(R"({"max_sources": 8192})");
    r = run({harness::bulwark(), "policy", "reload", "--name", kName, big});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("max_sources"));
    CHECK(test_run(prog.get(), frame).retval == 1);  // A still drops it
    CHECK(stats()["reloads"] == reloads + 3);

    // A reload's generation counts its patterns' drops from zero, under their names, also
    // where the policy before the last one had counted drops.
    auto fired = [] { return pattern_drops(stats()); };
    bulwark::guard::reload(kName, pb);
    CHECK(fired().empty());
    CHECK(test_run(prog.get(), frame).retval == 1);
    CHECK(fired() == std::map<std::string, uint64_t>{{"x:evil", 1}});
    bulwark::guard::reload(kName, pa);
    bulwark::guard::reload(kName, pb);  // into the generation that counted the drop
    CHECK(fired().empty());
    unlink(b_path.c_str());
    unlink(bad.c_str());
    unlink(big.c_str());
}

TEST_CASE("policy test: verdicts, reasons and patterns, exit codes, bad inputs, nothing pinned",
          "[guard][policy_test]") {
    auto pol = scratch() / "pt-policy.json";
    std::ofstream(pol) << R"({"inspect_ports": [80],
        "limits": {"default": {"requests": {"rate": "1/minute", "burst": 2}}},
        "lists": {"deny": ["198.18.30.0/24"]},
        "patterns": {"sets": {"sqli": {"regex": ["\\bunion\\s+select\\b"]},
                              "scanners": {"in": ["user-agent"], "literals": ["sqlmap"]},
                              "tokens": {"in": ["any"], "not_in": ["cookie"],
                                         "literals": ["plugh"]}}}})";
    auto attack = scratch() / "attack.http", benign = scratch() / "benign.http";
    std::ofstream(attack) << "GET /?id=1%20UNION/**/SELECT%202 HTTP/1.1\r\nHost: a\r\n\r\n";
    std::ofstream(benign) << "GET /?q=union+selection HTTP/1.1\r\nHost: a\r\n\r\n";
    std::vector<std::string> pt = {harness::bulwark(), "policy", "test", "--policy", pol};
    auto with = [&](std::vector<std::string> extra) {
        auto v = pt;
        v.insert(v.end(), extra.begin(), extra.end());
        return run(v);
    };
    auto pins = [] {
        std::vector<std::string> out;
        if (auto* d = opendir("/sys/fs/bpf/bulwark")) {
            while (auto* e = readdir(d))
                if (e->d_name[0] != '.') out.emplace_back(e->d_name);
            closedir(d);
        }
        return out;
    };
    auto before = pins();

    auto r = with({attack, benign});
    CHECK(r.code == 0);
    CHECK(r.out ==
          attack + ": drop drop_pattern sqli:\\bunion\\s+select\\b\n" + benign + ": pass\n");
    // Each request is judged alone: the request limit (burst 2) never builds up across them.
    r = with({attack, benign, benign, benign});
    CHECK(lines(r.out).size() == 4);
    CHECK(r.out.find("drop_rate") == std::string::npos);

    r = with({"--json", attack});
    REQUIRE(r.code == 0);
    auto j = bulwark::parse_json(r.out, "stdout");
    REQUIRE(j.size() == 1);
    CHECK(j[0]["verdict"] == "drop");
    CHECK(j[0]["reason"] == "drop_pattern");
    CHECK(j[0]["matched"] == "sqli:\\bunion\\s+select\\b");
    // A source in the deny list: the reason says so, no pattern.
    r = with({"--json", "--src", "198.18.30.7", benign});
    j = bulwark::parse_json(r.out, "stdout");
    CHECK(j[0]["reason"] == "drop_deny");
    CHECK(j[0]["matched"].is_null());
    // The header the set looks in, and only that one.
    auto ua = scratch() / "ua.jsonl";
    std::ofstream(ua)
        << R"({"id": "tool", "request": "GET / HTTP/1.1\r\nUser-Agent: sqlmap/1.7\r\n\r\n"})"
        << "\n"
        << R"("GET /sqlmap HTTP/1.1\r\nUser-Agent: curl/8\r\n\r\n")"
        << "\n";
    r = with({"--jsonl", ua});
    CHECK(r.out == "tool: drop drop_pattern scanners:sqlmap\n" + ua + ":2: pass\n");
    // Every header but the one the set leaves out ("not_in").
    auto hdr = scratch() / "not-in.jsonl";
    std::ofstream(hdr)
        << R"({"id": "cookie", "request": "GET / HTTP/1.1\r\nCookie: s=plugh\r\n\r\n"})"
        << "\n"
        << R"({"id": "referer", "request": "GET / HTTP/1.1\r\nReferer: /plugh\r\n\r\n"})"
        << "\n";
    r = with({"--jsonl", hdr});
    CHECK(r.out == "cookie: pass\nreferer: drop drop_pattern tokens:plugh\n");

    // --expect: exit 1 when a verdict differs, naming how many.
    CHECK(with({"--expect", "drop", attack}).code == 0);
    r = with({"--expect", "drop", attack, benign});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("1 of 2 requests not drop"));
    CHECK(with({"--expect", "maybe", attack}).code == 2);
    CHECK(run({harness::bulwark(), "policy", "test", attack}).code == 2);  // no --policy

    // Bad inputs: one line naming the file (and line), exit 1, nothing loaded or left.
    r = with({scratch() / "missing.http"});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("missing.http"));
    auto bad = scratch() / "bad.jsonl";
    std::ofstream(bad) << "\"GET / HTTP/1.1\\r\\n\\r\\n\"\n{\"request\": 5}\n";
    r = with({"--jsonl", bad});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("bad.jsonl:2"));
    auto broken = scratch() / "broken-policy.json";
    std::ofstream(broken) << R"({"patterns": {"sets": {"x": {"regex": ["a(b"]}}}})";
    r = run({harness::bulwark(), "policy", "test", "--policy", broken, attack});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("/patterns/sets/x/regex/0"));
    CHECK(pins() == before);
}

TEST_CASE("compiled pattern tables are kept for the next start, root's only, replaced when wrong",
          "[guard][policy_test]") {
    TempDir dir("dfa-cache");
    const std::string cache = dir / "policy";  // $BULWARK_CACHE_DIR/policy
    auto pol = [&](const std::string& word) {
        auto path = dir / (word + ".json");
        std::ofstream(path) << R"({"inspect_ports": [80],
            "patterns": {"sets": {"sqli": {"regex": ["\\bunion\\s+select\\b"]},
                                  "words": {"in": ["uri"], "literals": [")" +
                                   word + R"("]}}}})";
        return path;
    };
    auto with_cache = [&](std::vector<std::string> argv) {
        argv.insert(argv.begin(), {"/usr/bin/env", "BULWARK_CACHE_DIR=" + dir.path()});
        return run(argv);
    };
    auto check = [&](const std::string& policy) {
        auto r = with_cache({harness::bulwark(), "check", "policy", policy});
        INFO(r.err);
        REQUIRE(r.code == 0);
        return r.out;
    };
    const std::string hit = " (from the cache)";
    auto tables = [&](std::string out) {  // the report less the word that says where from
        if (auto at = out.find(hit); at != std::string::npos) out.erase(at, hit.size());
        return out;
    };
    auto entries = [&] {
        std::vector<std::string> out;
        for (auto& e : std::filesystem::directory_iterator(cache)) out.push_back(e.path());
        std::sort(out.begin(), out.end());
        return out;
    };
    auto mode_of = [](const std::string& p) {
        struct stat st {};
        REQUIRE(lstat(p.c_str(), &st) == 0);
        return st.st_mode & 07777;
    };

    auto first = pol("plugh");
    auto compiled = check(first);
    CHECK_THAT(compiled, !Contains(hit));
    REQUIRE(entries().size() == 1);
    const auto entry = entries().front();
    CHECK(mode_of(cache) == 0700);
    CHECK(mode_of(entry) == 0600);
    const auto bytes = bulwark::read_file(entry);
    auto again = check(first);
    CHECK_THAT(again, Contains(hit));
    CHECK(tables(again) == compiled);

    // What the kernel runs from the cache blocks and passes what the compiled tables did.
    auto attack = dir / "attack.http", benign = dir / "benign.http";
    std::ofstream(attack) << "GET /?id=1%20UNION/**/SELECT%202 HTTP/1.1\r\nHost: a\r\n\r\n";
    std::ofstream(benign) << "GET /?q=union+selection&w=plug HTTP/1.1\r\nHost: a\r\n\r\n";
    auto word = dir / "word.http";
    std::ofstream(word) << "GET /PLUGH HTTP/1.1\r\nHost: a\r\n\r\n";
    auto verdicts =
        with_cache({harness::bulwark(), "policy", "test", "--policy", first, attack, benign, word});
    INFO(verdicts.err);
    CHECK(verdicts.code == 0);
    CHECK(verdicts.out == attack + ": drop drop_pattern sqli:\\bunion\\s+select\\b\n" + benign +
                              ": pass\n" + word + ": drop drop_pattern words:plugh\n");

    // Torn, or readable by others: ignored, compiled afresh and replaced.
    {
        auto torn = bytes;
        torn[torn.size() / 2] ^= 1;
        std::ofstream(entry, std::ios::trunc) << torn;
    }
    CHECK_THAT(check(first), !Contains(hit));
    CHECK(bulwark::read_file(entry) == bytes);
    std::ofstream(entry, std::ios::trunc) << bytes.substr(0, bytes.size() - 100);
    CHECK_THAT(check(first), !Contains(hit));
    CHECK(bulwark::read_file(entry) == bytes);
    REQUIRE(chmod(entry.c_str(), 0644) == 0);
    CHECK_THAT(check(first), !Contains(hit));
    CHECK(mode_of(entry) == 0600);
    CHECK_THAT(check(first), Contains(hit));

    // A policy that does not compile leaves nothing.
    auto broken = dir / "broken.json";
    std::ofstream(broken) << R"({"patterns": {"sets": {"x": {"regex": ["a(b"]}}}})";
    CHECK(with_cache({harness::bulwark(), "check", "policy", broken}).code == 1);
    CHECK(entries().size() == 1);

    // Each edit of a policy is an entry; the least recently used go past kKeep.
    for (size_t i = 0; i < bulwark::automaton::cache::kKeep; ++i)
        CHECK_THAT(check(pol("xyzzy" + std::to_string(i))), !Contains(hit));
    auto kept = entries();
    CHECK(kept.size() == bulwark::automaton::cache::kKeep);
    CHECK(std::find(kept.begin(), kept.end(), entry) == kept.end());
    CHECK_THAT(check(pol("xyzzy1")), Contains(hit));
    CHECK_THAT(check(first), !Contains(hit));
}

TEST_CASE("libbpf's words prefixed by bulwark: on a refused load, or with --verbose", "[guard]") {
    std::string req = scratch() / "request.http";
    std::ofstream(req) << "GET / HTTP/1.1\r\n\r\n";
    REQUIRE(chmod((scratch() / ".").c_str(), 0755) == 0);  // nobody reads the inputs
    // As nobody, without capabilities: the kernel refuses the BPF objects.
    auto as_nobody = [] {
        if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0)
            _exit(99);
    };
    auto r = run({harness::bulwark(), "policy", "test", "--policy", write_policy("{}"), req}, 60,
                 as_nobody);
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("bulwark: policy test: load XDP program: "));
    CHECK_THAT(r.err, Contains("bulwark: libbpf: "));
    for (auto& line : lines(r.err)) CHECK(line.rfind("bulwark: ", 0) == 0);
    // A load that works says nothing, unless asked.
    auto quiet = run({harness::bulwark(), "policy", "test", "--policy", write_policy("{}"), req});
    CHECK(quiet.code == 0);
    CHECK(quiet.err.empty());
    auto verbose = run(
        {harness::bulwark(), "policy", "test", "--policy", write_policy("{}"), "--verbose", req});
    CHECK(verbose.code == 0);
    CHECK(verbose.out == quiet.out);
    CHECK_THAT(verbose.err, Contains("bulwark: libbpf: "));
    for (auto& line : lines(verbose.err)) CHECK(line.rfind("bulwark: libbpf: ", 0) == 0);
}

TEST_CASE("bulwark ban: a real attacker banned, shown by stats and ban list, lifted, re-added",
          "[guard][bans]") {
    Net net;
    REQUIRE(run({"/usr/sbin/ip", "-n", kNs, "addr", "add", "198.18.0.3/29", "dev", kPeer}).code ==
            0);
    harness::Httpd server("198.18.0.1", 8080);
    attach(write_policy(R"({"inspect_ports": [8080],
        "patterns": {"sets": {"sqli": ["union select"]}},
        "bans": {"after": 2, "for": "1 hour"}})"));
    auto ban = [](std::vector<std::string> args) {
        args.insert(args.begin(), {harness::bulwark(), "ban"});
        args.insert(args.end(), {"--name", kName});
        return run(args);
    };
    // Two attacks: banned from then on, its connections' SYNs dropped; another source is served.
    CHECK(http("198.18.0.3", "GET /?id=1 union select pw") == Outcome::Dropped);
    CHECK(http("198.18.0.3", "GET /?id=2 union select pw") == Outcome::Dropped);
    CHECK(http("198.18.0.3", "GET /") == Outcome::Dropped);
    CHECK(http("198.18.0.2", "GET /") == Outcome::Served);

    auto s = stats();
    CHECK(s["counters"]["drop_pattern"]["packets"] == 2);
    // The second attack's reset (the probe resets a dropped request's connection, and the ban
    // is in force by then) and the third connection's SYN.
    CHECK(s["counters"]["drop_banned"]["packets"] == 2);
    CHECK(s["bans"]["active"] == 1);
    CHECK(s["bans"]["issued"] == 1);
    CHECK(s["bans"]["table"] == 65536);
    REQUIRE(s["bans"]["list"].size() == 1);
    CHECK(s["bans"]["list"][0]["source"] == "198.18.0.3");
    CHECK(s["bans"]["list"][0]["level"] == 1);
    CHECK(s["bans"]["list"][0]["reason"] == "drop_pattern");
    auto left = s["bans"]["list"][0]["seconds_left"].get<uint64_t>();
    CHECK((left > 3540 && left <= 3600));
    auto table = run({harness::bulwark(), "stats", "--name", kName});
    CHECK_THAT(table.out, Contains("bans: 1 in force") && Contains("198.18.0.3"));

    auto list = ban({"list", "--json"});
    REQUIRE(list.code == 0);
    auto l = bulwark::parse_json(list.out, "ban list");
    REQUIRE(l.size() == 1);
    CHECK(l[0]["source"] == "198.18.0.3");

    // Lifted: served again. Added by hand (the next level: 2 hours). Removing twice fails.
    CHECK(ban({"remove", "198.18.0.3"}).code == 0);
    CHECK(http("198.18.0.3", "GET /") == Outcome::Served);
    CHECK(ban({"remove", "198.18.0.3"}).code == 1);
    auto added = ban({"add", "198.18.0.3"});
    CHECK(added.code == 0);
    CHECK_THAT(added.out, Contains("banned 198.18.0.3 for 3600 s"));
    CHECK(http("198.18.0.3", "GET /") == Outcome::Dropped);
    CHECK(ban({"add", "198.18.0.2", "--for", "10 minutes"}).code == 0);
    l = bulwark::parse_json(ban({"list", "--json"}).out, "ban list");
    CHECK(l.size() == 2);
    auto bad = ban({"add", "198.18.0"});
    CHECK(bad.code == 1);
    CHECK_THAT(bad.err, Contains("bulwark: ban add: \"198.18.0\" is not an IPv4 or IPv6 address"));

    // A policy without "bans": the guard does not look bans up, so adding one is refused.
    auto p = write_policy(R"({"inspect_ports": [8080]})");
    REQUIRE(run({harness::bulwark(), "policy", "reload", "--name", kName, p}).code == 0);
    auto refused = ban({"add", "198.18.0.3"});
    CHECK(refused.code == 1);
    CHECK_THAT(refused.err, Contains("the policy in force has no \"bans\""));
    CHECK(http("198.18.0.3", "GET /") == Outcome::Served);
    CHECK(stats()["bans"].is_null());
}

namespace {

// Frames sent from the namespace's end of the pair through a packet socket (a thread in the
// namespace): spoofed sources, addressed to a MAC nobody has, so the host's stack discards
// whatever the guard passes and never answers an address that is not on the pair.
void send_frames(const std::vector<frames::Bytes>& fs) {
    std::string error;
    std::thread t([&] {
        bulwark::UniqueFd ns(open(("/run/netns/" + kNs).c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns || setns(ns.get(), CLONE_NEWNET) != 0) {
            error = "setns: " + std::string(strerror(errno));
            return;
        }
        bulwark::UniqueFd s(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(kPeer.c_str()));
        to.sll_halen = 6;
        for (auto& f : fs)
            if (sendto(s.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to) != static_cast<ssize_t>(f.size())) {
                error = "sendto: " + std::string(strerror(errno));
                return;
            }
    });
    t.join();
    REQUIRE(error.empty());
}

}  // namespace

TEST_CASE("a SYN spray from 200 addresses shares one bucket; a tracked client keeps its own",
          "[guard][sprays]") {
    Net net;
    harness::Httpd server("198.18.0.1", 8080);
    // Per CPU, 8 new sources get an entry; every /24 the table does not hold shares one bucket
    // of 5 connections.
    attach(write_policy(R"({"inspect_ports": [8080],
        "limits": {"default": {"connections": {"rate": "1/day", "burst": 5}},
                   "new_sources": {"rate": "1/day", "burst": 8}},
        "events": {"per_source_per_second": 1000}})"));
    CHECK(http("198.18.0.2", "GET /") == Outcome::Served);  // tracked, one connection spent

    std::vector<frames::Bytes> spray;
    for (int i = 1; i <= 200; ++i) {
        frames::Frame f;
        f.src = "198.18.64." + std::to_string(i);
        f.dst = "198.18.0.1";
        f.dport = 8080;
        f.tcp_flags = 0x02;
        spray.push_back(f.build());
    }
    send_frames(spray);

    auto s = stats();
    auto& sp = s["sprays"];
    CHECK(sp["on"] == true);
    CHECK(sp["episodes"].get<uint64_t>() >= 1);
    // At most 16 of the spray got entries (8 per CPU, 2 CPUs at most here); the rest were
    // policed by the one bucket of 198.18.64.0/24: 5 of them passed.
    CHECK(sp["shared_packets"].get<uint64_t>() >= 200 - 16);
    CHECK(sp["aggregates"] == 1);
    auto limited = s["counters"]["drop_rate_connections"]["packets"].get<uint64_t>();
    CHECK(limited >= 200 - 16 - 5);
    CHECK(limited <= 200 - 5);
    // The tracked client still has its own bucket: four more connections, then no more.
    int served = 0;
    for (int i = 0; i < 4; ++i) served += http("198.18.0.2", "GET /") == Outcome::Served;
    CHECK(served == 4);
    CHECK(http("198.18.0.2", "GET /") == Outcome::Dropped);
    auto table = run({harness::bulwark(), "stats", "--name", kName});
    CHECK_THAT(table.out, Contains("sprays: ON on"));

    auto ev = run({harness::bulwark(), "events", "--name", kName, "--json"});
    REQUIRE(ev.code == 0);
    int on = 0;
    for (auto& l : lines(ev.out)) {
        auto j = bulwark::parse_json(l, "events");
        if (j["type"] != "SPRAY_MODE_ON") continue;
        ++on;
        CHECK(j["reason"] == "new_sources");
        CHECK_THAT(j["src"].get<std::string>(), Contains("198.18.64."));
    }
    CHECK(on >= 1);
}

namespace {

// A sysctl of this namespace, put back as it was on destruction.
class SysctlRestore {
  public:
    explicit SysctlRestore(std::string path) : path_(std::move(path)) {
        std::ifstream(path_) >> old_;
    }
    ~SysctlRestore() {
        if (!old_.empty()) std::ofstream(path_) << old_;
    }
    SysctlRestore(const SysctlRestore&) = delete;
    SysctlRestore& operator=(const SysctlRestore&) = delete;

  private:
    std::string path_, old_;
};

}  // namespace

TEST_CASE("xdp attach with SYN cookies: SYNPROXY rules loaded, clients served, removed at detach",
          "[guard][syncookie]") {
    Net net;
    harness::Httpd server("198.18.0.1", 8080);
    // Attach sets it to 0 in this namespace and leaves it so (another user may rely on it):
    // the test puts this machine's value back.
    SysctlRestore loose("/proc/sys/net/netfilter/nf_conntrack_tcp_loose");
    // The answers go back out of the host's end into the client's, which takes redirected
    // frames through NAPI: GRO on, as run --net veth turns it on for its own pair.
    REQUIRE(
        run({"/usr/sbin/ip", "netns", "exec", kNs, "/usr/sbin/ethtool", "-K", kPeer, "gro", "on"})
            .code == 0);
    attach(write_policy(R"({"inspect_ports": [8080], "syn_flood": {"cookies": "always"}})"));
    auto table = "bulwark_" + kName;
    auto rules = run({"/usr/sbin/nft", "list", "table", "inet", table});
    REQUIRE(rules.code == 0);
    CHECK_THAT(rules.out, Contains("iifname \"" + kHost +
                                   "\" tcp dport 8080 ct state "
                                   "invalid,untracked synproxy"));
    std::string value;
    std::ifstream("/proc/sys/net/netfilter/nf_conntrack_tcp_loose") >> value;
    CHECK(value == "0");

    int served = 0;
    for (int i = 0; i < 5; ++i) served += http("198.18.0.2", "GET /") == Outcome::Served;
    CHECK(served == 5);
    auto s = stats();
    CHECK(s["counters"]["syn_cookie"]["packets"] == 5);
    CHECK(s["syn_cookies"]["cookies"] == "always");
    CHECK(s["syn_cookies"]["answered"] == 5);
    auto prom = run({harness::bulwark(), "stats", "--prometheus", "--name", kName});
    CHECK_THAT(prom.out, Contains("bulwark_syn_cookies_mode{service=\"" + kName + "\"} 1"));
    CHECK_THAT(prom.out, Contains("reason=\"syn_cookie\"} 5"));

    // A reload keeps to the rules' ports, and cannot turn cookies on where attach did not.
    auto other = write_policy(R"({"inspect_ports": [8081], "syn_flood": {"cookies": "always"}})");
    auto r = run({harness::bulwark(), "policy", "reload", "--name", kName, other});
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("inspect_ports differ from the attach's"));
    auto off = write_policy(R"({"inspect_ports": [8080]})");
    CHECK(run({harness::bulwark(), "policy", "reload", "--name", kName, off}).code == 0);
    CHECK(http("198.18.0.2", "GET /") == Outcome::Served);  // to the listener, no cookie
    CHECK(stats()["counters"]["syn_cookie"]["packets"] == 5);

    REQUIRE(run({harness::bulwark(), "xdp", "detach", "--name", kName}).code == 0);
    CHECK(run({"/usr/sbin/nft", "list", "table", "inet", table}).code != 0);
}
