// bulwark: the command line. Each subcommand parses its arguments, calls into the modules and
// maps errors to the exit codes of docs/design.md.
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "../bpf/bulwark.h"
#include "audit.hpp"
#include "automaton.hpp"
#include "cli.hpp"
#include "digest.hpp"
#include "error.hpp"
#include "guard.hpp"
#include "json_util.hpp"
#include "manifest.hpp"
#include "policy.hpp"
#include "policy_test.hpp"
#include "sandbox.hpp"
#include "seccomp_compile.hpp"
#include "signing.hpp"
#include "supervisor.hpp"
#include "sys.hpp"
#include "xdp.hpp"

namespace po = boost::program_options;
using namespace bulwark;

namespace {

constexpr int kUsage = 2;
constexpr int kFailed = 1;
constexpr int kRunFailed = 125;

// Parsing and compiling a profile grows the heap by about 400 KB, page by page. Where page
// faults are costly (VMs: ~14 us each here), faulting the whole region in with one madvise is
// ~4x cheaper (bench/RESULTS.md). Best effort: older kernels refuse MADV_POPULATE_WRITE.
void prefault_heap(size_t bytes) {
    // Served from the brk heap, not mmap, and kept there after free.
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(2 * bytes));
    mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * bytes));
    auto* before = static_cast<char*>(sbrk(0));
    // volatile: the compiler may otherwise drop an unused malloc/free pair altogether.
    void* volatile block = malloc(bytes);
    auto* after = static_cast<char*>(sbrk(0));
    free(block);
    auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    auto start = reinterpret_cast<uintptr_t>(before) & ~(page - 1);
    if (after > before)
        madvise(reinterpret_cast<void*>(start), static_cast<size_t>(after - before),
                MADV_POPULATE_WRITE);
}

int cmd_run(const std::vector<std::string>& args) {
    prefault_heap(512 << 10);
    try {
        auto opt = cli::parse_run(args);
        auto prepared = sandbox::prepare(opt);
        return supervisor::run(prepared);
    } catch (const UsageError& e) {
        std::cerr << e.what() << (std::string(e.what()).find("usage:") == 0 ? "" : "\n");
        return kRunFailed;
    } catch (const sandbox::CommandNotFound& e) {
        std::cerr << "bulwark: " << e.what() << "\n";
        return 127;
    } catch (const std::exception& e) {
        std::cerr << "bulwark: " << e.what() << "\n";
        return kRunFailed;
    }
}

Json profile_summary(const std::string& file, const seccomp::Resolved& r,
                     const seccomp::Compiled& c) {
    Json j;
    j["file"] = file;
    j["sha256"] = sha256_file_hex(file);
    j["default_action"] = seccomp::action_name(r.default_action);
    j["architectures"] = c.arches;
    j["rules"] = r.rules.size();
    j["rules_not_applying"] = r.skipped_rules;
    j["syscalls_per_action"] = c.per_action;
    j["enosys_above"] = c.max_known_nr;
    j["warnings"] = c.warnings;
    j["unknown_syscalls"] = c.unknown_names;
    j["bpf_instructions"] = c.program.size();
    return j;
}

int check_profile(const std::string& file, const po::variables_map& vm) {
    auto caps =
        vm.count("cap") ? vm["cap"].as<std::vector<std::string>>() : std::vector<std::string>{};
    auto profile = seccomp::load_profile(file);
    auto resolved = seccomp::resolve(profile, seccomp::host_context(caps));
    auto compiled = seccomp::compile(resolved, file, {vm.count("strict") > 0});
    if (vm.count("export-bpf")) {
        auto out = vm["export-bpf"].as<std::string>();
        std::ofstream f(out, std::ios::binary);
        f.write(reinterpret_cast<const char*>(compiled.program.data()),
                static_cast<std::streamsize>(compiled.program.size() * sizeof(sock_filter)));
        if (!f) throw InputError(out + ": cannot write");
    }
    auto j = profile_summary(file, resolved, compiled);
    if (vm.count("json")) {
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::cout << "profile         " << file << "\n"
              << "sha256          " << j["sha256"].get<std::string>() << "\n"
              << "default action  " << j["default_action"].get<std::string>() << "\n"
              << "architectures  ";
    for (auto& a : compiled.arches) std::cout << " " << a;
    std::cout << "\nrules           " << resolved.rules.size() << " apply here, "
              << resolved.skipped_rules << " do not (includes/excludes)\n"
              << "syscall names per action:\n";
    for (auto& [a, n] : compiled.per_action) printf("  %-24s %zu\n", a.c_str(), n);
    for (auto& [a, n] : compiled.max_known_nr)
        std::cout << "ENOSYS above    " << a << " nr " << n << "\n";
    std::cout << "BPF             " << compiled.program.size() << " instructions ("
              << compiled.stub_insns << " in the ENOSYS stub)\n";
    for (auto& w : compiled.warnings) std::cout << "warning         " << w << "\n";
    if (!compiled.unknown_names.empty()) {
        std::cout << "unknown names   " << compiled.unknown_names.size()
                  << " skipped (libseccomp does not know them; they get ENOSYS):";
        for (auto& n : compiled.unknown_names) std::cout << " " << n;
        std::cout << "\n";
    }
    return 0;
}

int check_config(const std::string& file, const po::variables_map& vm) {
    auto opt = cli::load_config(file);
    cli::validate(opt);
    auto prepared = sandbox::prepare(opt);
    // The policy's patterns must also fit the kernel's automaton, as attach will require.
    if (prepared.policy) xdp::compile(*prepared.policy);
    const char* net = opt.net == NetMode::Veth   ? "veth"
                      : opt.net == NetMode::Host ? "host"
                                                 : "none";
    if (vm.count("json")) {
        Json j{{"file", file},
               {"name", opt.name},
               {"rootfs", opt.rootfs},
               {"command", opt.command},
               {"profile", prepared.profile_path},
               {"user", users::to_string(opt.user)},
               {"net", net},
               {"policy", opt.policy.empty() ? Json(nullptr) : Json(opt.policy)}};
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << file << ": ok (name " << opt.name << ", rootfs " << opt.rootfs << ", profile "
                  << prepared.profile_path << ", net " << net
                  << (opt.policy.empty() ? "" : ", policy " + opt.policy) << ")\n";
    }
    return 0;
}

int check_policy(const std::string& file, const po::variables_map& vm) {
    auto p = policy::load_policy(file);
    // Compiling the automaton proves the pattern sets fit the kernel's table.
    auto all = policy::all_patterns(p);
    auto dfa = automaton::compile(all);
    auto j = policy::summary(p);
    // Each table's shape and the sets in it (sets never straddle tables).
    auto sets_in = [&](const automaton::Dfa& t) {
        std::vector<std::string> sets;
        for (size_t i = t.first; i < t.first + t.patterns; ++i)
            if (sets.empty() || sets.back() != dfa.patterns[i].set)
                sets.push_back(dfa.patterns[i].set);
        return sets;
    };
    Json tables = Json::array();
    for (auto& t : dfa.tables)
        tables.push_back({{"states", t.states},
                          {"byte_classes", t.classes},
                          {"table_bytes", t.table.size() * sizeof(uint32_t)},
                          {"raw", t.raw},
                          {"sets", sets_in(t)}});
    j["patterns"]["automaton"] = {{"states", dfa.states()}, {"tables", tables}};
    j["sha256"] = sha256_file_hex(file);
    if (vm.count("json")) {
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    auto rate = [](const Json& r) {
        return r.is_null() ? std::string("unlimited")
                           : r["rate"].get<std::string>() + " burst " +
                                 std::to_string(r["burst"].get<uint64_t>());
    };
    std::cout << "policy          " << file << "\nsha256          "
              << j["sha256"].get<std::string>() << "\ninspect ports  ";
    for (auto port : p.inspect_ports) std::cout << " " << port;
    std::cout << "\nlists           deny " << p.deny.size() << ", trusted " << p.trusted.size()
              << ", suspicious " << p.suspicious.size() << "\nkey prefix      /" << p.key_prefix_v4
              << " IPv4, /" << p.key_prefix_v6 << " IPv6\n";
    for (auto cls : {"default", "suspicious", "trusted"}) {
        auto& l = j["limits"][cls];
        std::printf("limits %-10s ", cls);
        std::fflush(stdout);
        if (l.is_null()) {
            std::cout << "unlimited\n";
            continue;
        }
        std::cout << "packets " << rate(l["packets"]) << "; connections " << rate(l["connections"])
                  << "; requests " << rate(l["requests"]) << "\n";
    }
    for (auto& r : p.rules)
        std::cout << "rule            " << r.match << " -> "
                  << (r.exempt ? "exempt"
                               : "limit " + rate(j["rules"][&r - p.rules.data()]["limit"]))
                  << "\n";
    std::cout << "patterns        " << all.size() << " in " << p.pattern_sets.size()
              << " sets, first " << p.scan_bytes << " payload bytes; automaton "
              << dfa.tables.size() << " table" << (dfa.tables.size() == 1 ? "" : "s") << " of "
              << BW_DFA_TABLES << "\n";
    for (auto& t : dfa.tables) {
        std::cout << "  table " << &t - dfa.tables.data() + 1 << ": " << t.states << " states x "
                  << t.classes << " byte classes ("
                  << (t.table.size() * sizeof(uint32_t) + 1023) / 1024 << " KiB of 4096)"
                  << (t.raw ? ", raw bytes" : "") << ":";
        for (auto& set : sets_in(t)) std::cout << " " << set;
        std::cout << "\n";
    }
    for (auto& set : p.pattern_sets) {
        std::string where;
        if (set.scope.uri) where += " uri";
        if (set.scope.headers) where += " headers";
        if (set.scope.body) where += " body";
        for (auto& h : set.scope.named) where += " " + h;
        std::cout << "  " << set.name << ": " << set.size() << " in" << where
                  << (set.raw ? " (raw)" : "") << "\n";
    }
    std::cout << "sources         up to " << p.max_sources << " tracked; events "
              << p.events_per_source_per_second << "/s per source\n";
    return 0;
}

int cmd_check(const std::vector<std::string>& args) {
    po::options_description d("bulwark check options");
    d.add_options()("json", "print JSON")("strict", "unknown syscall names are errors")(
        "cap", po::value<std::vector<std::string>>(),
        "capability the app would keep (for includes)")(
        "export-bpf", po::value<std::string>(), "write the compiled filter (struct sock_filter[])")(
        "what", po::value<std::string>(), "")("file", po::value<std::string>(), "");
    po::positional_options_description pos;
    pos.add("what", 1).add("file", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "bulwark: check: " << e.what() << "\n";
        return kUsage;
    }
    if (!vm.count("what") || !vm.count("file")) {
        std::cerr << "usage: bulwark check profile|policy|config FILE [--json] [--strict]\n";
        return kUsage;
    }
    auto what = vm["what"].as<std::string>();
    auto file = vm["file"].as<std::string>();
    if (what == "profile") return check_profile(file, vm);
    if (what == "policy") return check_policy(file, vm);
    if (what == "config") return check_config(file, vm);
    std::cerr << "bulwark: check: unknown kind \"" << what << "\" (profile, policy or config)\n";
    return kUsage;
}

// Parses a subcommand's flags; returns false (after printing) on a usage error.
bool parse_flags(const std::vector<std::string>& args, const po::options_description& d,
                 po::variables_map& vm, const char* what,
                 const po::positional_options_description* pos = nullptr) {
    try {
        po::positional_options_description none;
        po::store(po::command_line_parser(args).options(d).positional(pos ? *pos : none).run(), vm);
        po::notify(vm);
        return true;
    } catch (const po::error& e) {
        std::cerr << "bulwark: " << what << ": " << e.what() << "\n";
        return false;
    }
}

std::string trust_key(const po::variables_map& vm) {
    return vm.count("trust-key") ? vm["trust-key"].as<std::string>() : "";
}

// bulwark sign --key PRIVATE.pem FILE / bulwark verify --pub PUBLIC.pem FILE
int cmd_sign(const std::string& cmd, const std::vector<std::string>& args) {
    bool sign = cmd == "sign";
    const char* flag = sign ? "key" : "pub";
    po::options_description d("bulwark sign/verify options");
    d.add_options()(flag, po::value<std::string>(), "key PEM")("file", po::value<std::string>(),
                                                               "file");
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse_flags(args, d, vm, cmd.c_str(), &pos) || !vm.count(flag) || !vm.count("file")) {
        std::cerr << "usage: bulwark sign --key PRIVATE.pem FILE\n"
                     "       bulwark verify --pub PUBLIC.pem FILE\n";
        return kUsage;
    }
    auto key = vm[flag].as<std::string>(), file = vm["file"].as<std::string>();
    if (sign) {
        signing::sign_file(key, file);
        std::cout << "signed " << file << ": " << signing::sig_path(file) << "\n";
    } else {
        signing::read_verified(file, key);
        std::cout << file << ": good signature by " << key << "\n";
    }
    return 0;
}

// bulwark rootfs seal DIR --out MANIFEST [--key PRIVATE.pem]
int cmd_rootfs(const std::vector<std::string>& args) {
    po::options_description d("bulwark rootfs options");
    d.add_options()("dir", po::value<std::string>(), "root")("out", po::value<std::string>(),
                                                             "manifest to write")(
        "key", po::value<std::string>(), "Ed25519 private key: also write MANIFEST.sig");
    po::positional_options_description pos;
    pos.add("dir", 1);
    po::variables_map vm;
    if (args.empty() || args[0] != "seal" ||
        !parse_flags({args.begin() + 1, args.end()}, d, vm, "rootfs seal", &pos) ||
        !vm.count("dir") || !vm.count("out")) {
        std::cerr << "usage: bulwark rootfs seal DIR --out MANIFEST [--key PRIVATE.pem]\n";
        return kUsage;
    }
    auto dir = vm["dir"].as<std::string>(), out = vm["out"].as<std::string>();
    auto entries = manifest::scan(dir);
    write_file_atomic(out, manifest::to_json(entries).dump(1) + "\n");
    if (vm.count("key")) signing::sign_file(vm["key"].as<std::string>(), out);
    std::cout << "sealed " << dir << ": " << entries.size() << " entries in " << out
              << (vm.count("key") ? " (signed)" : "") << "\n";
    return 0;
}

// bulwark audit verify FILE [--audit-key FILE]
int cmd_audit(const std::vector<std::string>& args) {
    po::options_description d("bulwark audit options");
    d.add_options()("file", po::value<std::string>(), "audit log")(
        "audit-key", po::value<std::string>(), "HMAC key file the log was written with");
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (args.empty() || args[0] != "verify" ||
        !parse_flags({args.begin() + 1, args.end()}, d, vm, "audit verify", &pos) ||
        !vm.count("file")) {
        std::cerr << "usage: bulwark audit verify FILE [--audit-key FILE]\n";
        return kUsage;
    }
    auto file = vm["file"].as<std::string>();
    std::string key;
    if (vm.count("audit-key")) key = read_file(vm["audit-key"].as<std::string>());
    auto c = audit::verify_chain(read_file(file), key);
    if (c.bad_line) {
        std::cerr << "bulwark: " << file << ": line " << c.bad_line << ": " << c.why << "\n";
        return kFailed;
    }
    std::cout << file << ": " << c.lines << " lines, chain intact\n";
    return 0;
}

int cmd_xdp(const std::vector<std::string>& args) {
    if (args.empty() || (args[0] != "attach" && args[0] != "detach")) {
        std::cerr << "usage: bulwark xdp attach --iface IF --policy FILE --name NAME [--mode "
                     "native|skb|auto]\n"
                     "       bulwark xdp detach --name NAME\n";
        return kUsage;
    }
    po::options_description d("bulwark xdp options");
    d.add_options()("iface", po::value<std::string>(), "interface")(
        "policy", po::value<std::string>(), "policy JSON")("name", po::value<std::string>(),
                                                           "instance name")(
        "mode", po::value<std::string>()->default_value("auto"), "native|skb|auto")(
        "trust-key", po::value<std::string>(),
        "Ed25519 public key PEM the policy must be signed by");
    po::variables_map vm;
    if (!parse_flags({args.begin() + 1, args.end()}, d, vm, "xdp")) return kUsage;
    try {
        if (!vm.count("name")) throw UsageError("xdp " + args[0] + ": --name is required");
        auto name = vm["name"].as<std::string>();
        if (args[0] == "detach") {
            guard::detach(name);
            std::cout << "detached " << name << "\n";
            return 0;
        }
        if (!vm.count("iface") || !vm.count("policy"))
            throw UsageError("xdp attach: --iface and --policy are required");
        auto mode = guard::parse_mode(vm["mode"].as<std::string>());
        auto p = policy::load_policy(vm["policy"].as<std::string>(), trust_key(vm));
        auto used = guard::attach(p, vm["iface"].as<std::string>(), name, mode);
        std::cout << "attached " << name << " to " << vm["iface"].as<std::string>() << " (" << used
                  << "), pinned at " << guard::pin_dir(name) << "\n";
        return 0;
    } catch (const UsageError& e) {
        std::cerr << "bulwark: " << e.what() << "\n";
        return kUsage;
    }
}

int cmd_stats(const std::vector<std::string>& args) {
    po::options_description d("bulwark stats options");
    d.add_options()("name", po::value<std::string>(), "instance")("json", "contract JSON")(
        "prometheus", "Prometheus text exposition")("top", po::value<size_t>()->default_value(10),
                                                    "top sources to list");
    po::variables_map vm;
    if (!parse_flags(args, d, vm, "stats")) return kUsage;
    size_t top = vm["top"].as<size_t>();
    std::vector<Json> all;
    if (vm.count("name"))
        all.push_back(guard::stats(vm["name"].as<std::string>(), top));
    else
        for (auto& n : guard::instances()) all.push_back(guard::stats(n, top));
    if (vm.count("prometheus")) {
        std::cout << guard::format_prometheus(all);
    } else if (vm.count("json")) {
        std::cout << (vm.count("name") ? all.front() : Json(all)).dump(2) << "\n";
    } else {
        if (all.empty())
            std::cout << "no bulwark instances (nothing under " << guard::pin_root() << ")\n";
        for (auto& j : all) std::cout << guard::format_table(j);
    }
    return 0;
}

// bulwark policy test --policy FILE [--json] [--jsonl] [--src ADDR] [--expect pass|drop]
// [REQUEST_FILE...]: each file (or stdin, or "-") one raw request; with --jsonl, JSON lines of
// strings or {"request": ..., "id": ...} objects.
int policy_test(const std::vector<std::string>& args) {
    po::options_description d("bulwark policy test options");
    d.add_options()("policy", po::value<std::string>(), "policy JSON")(
        "json", "one JSON array of verdicts")("jsonl", "inputs are JSON lines of requests")(
        "src", po::value<std::string>(), "one source address for every request")(
        "expect", po::value<std::string>(), "pass or drop: exit 1 if any verdict differs")(
        "files", po::value<std::vector<std::string>>(), "request files");
    po::positional_options_description pos;
    pos.add("files", -1);
    po::variables_map vm;
    const char* use =
        "usage: bulwark policy test --policy FILE [--json] [--jsonl] [--src ADDR] "
        "[--expect pass|drop] [REQUEST_FILE...]\n";
    if (!parse_flags(args, d, vm, "policy test", &pos) || !vm.count("policy")) {
        std::cerr << use;
        return kUsage;
    }
    std::string expect = vm.count("expect") ? vm["expect"].as<std::string>() : "";
    if (!expect.empty() && expect != "pass" && expect != "drop") {
        std::cerr << "bulwark: policy test: --expect " << expect << ": expected pass or drop\n";
        return kUsage;
    }
    auto files = vm.count("files") ? vm["files"].as<std::vector<std::string>>()
                                   : std::vector<std::string>{"-"};
    // Every input is read and checked before the program is loaded.
    std::vector<std::pair<std::string, std::string>> requests;  // (name, bytes)
    for (auto& f : files) {
        std::string text;
        if (f == "-") {
            std::ostringstream ss;
            ss << std::cin.rdbuf();
            text = ss.str();
        } else {
            text = read_file(f);
        }
        std::string name = f == "-" ? "stdin" : f;
        if (!vm.count("jsonl")) {
            requests.emplace_back(name, text);
            continue;
        }
        std::istringstream in(text);
        std::string line;
        for (size_t n = 1; std::getline(in, line); ++n) {
            if (line.empty()) continue;
            auto j = parse_json(line, name + ":" + std::to_string(n));
            JsonAt at(j, name + ":" + std::to_string(n));
            if (j.is_string()) {
                requests.emplace_back(name + ":" + std::to_string(n), j.get<std::string>());
            } else {
                at.only_keys({"request", "id", "class", "expect"});
                auto id = at.get("id") ? at.at("id").str() : name + ":" + std::to_string(n);
                requests.emplace_back(id, at.at("request").str());
            }
        }
    }
    auto p = policy::load_policy(vm["policy"].as<std::string>());
    policy_test::Tester tester(p, vm.count("src") ? vm["src"].as<std::string>() : "");
    Json all = Json::array();
    int differ = 0;
    for (auto& [name, req] : requests) {
        auto v = tester.run(req);
        const char* verdict = v.dropped ? "drop" : "pass";
        differ += !expect.empty() && expect != verdict;
        if (vm.count("json")) {
            Json j{{"request", name},
                   {"verdict", verdict},
                   {"reason", v.reason},
                   {"segments", v.segments}};
            j["matched"] = v.matched.empty() ? Json(nullptr) : Json(v.matched);
            all.push_back(j);
        } else {
            std::cout << name << ": " << verdict;
            if (v.dropped) std::cout << " " << v.reason;
            if (!v.matched.empty()) std::cout << " " << v.matched;
            std::cout << "\n";
        }
    }
    if (vm.count("json")) std::cout << all.dump(2) << "\n";
    if (differ)
        std::cerr << "bulwark: policy test: " << differ << " of " << requests.size()
                  << " requests not " << expect << "\n";
    return differ ? kFailed : 0;
}

int cmd_policy(const std::vector<std::string>& args) {
    if (!args.empty() && args[0] == "test") {
        try {
            return policy_test({args.begin() + 1, args.end()});
        } catch (const std::exception& e) {
            std::cerr << "bulwark: policy test: " << e.what() << "\n";
            return kFailed;
        }
    }
    po::options_description d("bulwark policy options");
    d.add_options()("name", po::value<std::string>(), "instance name")(
        "file", po::value<std::string>(), "policy JSON")(
        "trust-key", po::value<std::string>(),
        "Ed25519 public key PEM the policy must be signed by");
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (args.empty() || args[0] != "reload" ||
        !parse_flags({args.begin() + 1, args.end()}, d, vm, "policy reload", &pos) ||
        !vm.count("name") || !vm.count("file")) {
        std::cerr << "usage: bulwark policy reload --name NAME FILE [--trust-key PUBLIC.pem]\n"
                     "       bulwark policy test --policy FILE [--json] [--jsonl] [--src ADDR] "
                     "[--expect pass|drop] [REQUEST_FILE...]\n";
        return kUsage;
    }
    try {
        auto p = policy::load_policy(vm["file"].as<std::string>(), trust_key(vm));
        std::cout << guard::reload(vm["name"].as<std::string>(), p) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bulwark: policy reload: " << e.what() << " (policy in force unchanged)\n";
        return kFailed;
    }
}

int cmd_events(const std::vector<std::string>& args) {
    po::options_description d("bulwark events options");
    d.add_options()("name", po::value<std::string>(), "instance")(
        "follow", "keep reading until SIGINT/SIGTERM")("json", "one JSON object per line");
    po::variables_map vm;
    if (!parse_flags(args, d, vm, "events")) return kUsage;
    if (!vm.count("name")) {
        std::cerr << "usage: bulwark events --name NAME [--follow] [--json]\n";
        return kUsage;
    }
    try {
        guard::events(vm["name"].as<std::string>(), vm.count("follow") > 0, vm.count("json") > 0,
                      std::cout);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "bulwark: events: " << e.what() << "\n";
        return kFailed;
    }
}

// The subcommands other than run; their failures end in main's catch unless they handle them.
int dispatch(const std::string& cmd, const std::vector<std::string>& args) {
    if (cmd == "check") return cmd_check(args);
    if (cmd == "xdp") return cmd_xdp(args);
    if (cmd == "stats") return cmd_stats(args);
    if (cmd == "policy") return cmd_policy(args);
    if (cmd == "events") return cmd_events(args);
    if (cmd == "sign" || cmd == "verify") return cmd_sign(cmd, args);
    if (cmd == "audit") return cmd_audit(args);
    if (cmd == "rootfs") return cmd_rootfs(args);
    if (cmd == "version" || cmd == "--version") {
        std::cout << "bulwark " << BULWARK_VERSION << "\n";
        return 0;
    }
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
        std::cout << cli::usage();
        return 0;
    }
    std::cerr << "bulwark: unknown command \"" << cmd << "\"\n" << cli::usage();
    return kUsage;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << cli::usage();
        return kUsage;
    }
    auto cmd = args.front();
    args.erase(args.begin());
    if (cmd == "run") return cmd_run(args);
    try {
        return dispatch(cmd, args);
    } catch (const std::exception& e) {
        // What a subcommand does not handle itself: one line, exit 1.
        std::cerr << "bulwark: " << e.what() << "\n";
        return kFailed;
    }
}
