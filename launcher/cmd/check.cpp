// bulwark check profile|policy|config FILE: validate and summarise what `run` would load.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "bpf/bulwark.h"
#include "cmd/commands.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"
#include "run/cli.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/seccomp_compile.hpp"
#include "sandbox/users.hpp"

namespace bulwark::cmd {

namespace {

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

int check_profile(const std::string& file, const Flags& f) {
    auto caps = f.list("cap");
    auto profile = seccomp::load_profile(file, f.has("strict"));
    auto resolved = seccomp::resolve(profile, seccomp::host_context(caps));
    auto compiled = seccomp::compile(resolved, file, {f.has("strict")});
    if (f.has("export-bpf")) {
        auto out = f.str("export-bpf");
        std::ofstream bpf(out, std::ios::binary);
        bpf.write(reinterpret_cast<const char*>(compiled.program.data()),
                  static_cast<std::streamsize>(compiled.program.size() * sizeof(sock_filter)));
        if (!bpf) throw InputError(out + ": cannot write");
    }
    auto j = profile_summary(file, resolved, compiled);
    auto denied = seccomp::launch_denials(compiled);
    j["launch_denials"] = denied;
    // The attack surface as the kernel sees it; a host without user notifications still gets
    // the rest of the report.
    std::string allowed;
    try {
        auto nrs = seccomp::allowed_numbers(compiled);
        j["allowed_syscall_numbers"] = nrs.size();
        allowed = std::to_string(nrs.size()) + " of 0.." +
                  std::to_string(seccomp::kCountedNumbers - 1) +
                  " (native, every argument 0, asked of the kernel)";
    } catch (const std::exception& e) {
        j["allowed_syscall_numbers"] = nullptr;
        allowed = std::string("not counted: ") + e.what();
    }
    if (f.has("json")) {
        std::cout << j.dump(2) << "\n";
        return denied.empty() ? kOk : kFailed;
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
              << compiled.stub_insns << " in the ENOSYS stub)\n"
              << "allowed numbers " << allowed << "\n";
    for (auto& w : compiled.warnings) std::cout << "warning         " << w << "\n";
    if (!compiled.unknown_names.empty()) {
        std::cout << "unknown names   " << compiled.unknown_names.size()
                  << " skipped (libseccomp does not know them; they get ENOSYS):";
        for (auto& n : compiled.unknown_names) std::cout << " " << n;
        std::cout << "\n";
    }
    for (auto& d : denied) std::cerr << "bulwark: " << file << " " << d << "\n";
    return denied.empty() ? kOk : kFailed;
}

int check_config(const std::string& file, const Flags& f) {
    auto opt = cli::load_config(file);
    cli::validate(opt);
    auto prepared = sandbox::prepare(opt);
    // The policy's patterns must also fit the kernel's automaton, as attach will require.
    // Through the cache, so the start that follows finds its tables there.
    if (prepared.policy) xdp::compile(*prepared.policy, true);
    const char* net = opt.net == NetMode::Veth   ? "veth"
                      : opt.net == NetMode::Host ? "host"
                                                 : "none";
    if (f.has("json")) {
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

int check_policy(const std::string& file, const Flags& f) {
    auto p = policy::load_policy(file);
    // Compiling the automaton proves the pattern sets fit the kernel's table. Through the cache:
    // a check before a reload leaves the reload its tables.
    auto compiled = xdp::compile(p, true);
    const auto& dfa = compiled.dfa;
    auto j = policy::summary(p, xdp::possible_cpus());
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
    j["patterns"]["automaton"] = {
        {"states", dfa.states()}, {"tables", tables}, {"from_cache", compiled.from_cache}};
    j["sha256"] = sha256_file_hex(file);
    if (f.has("json")) {
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
              << ", suspicious " << p.suspicious.size() << ", proxies " << p.proxies.size()
              << "\nkey prefix      /" << p.key_prefix_v4 << " IPv4, /" << p.key_prefix_v6
              << " IPv6\n";
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
    std::cout << "patterns        " << dfa.patterns.size() << " in " << p.pattern_sets.size()
              << " sets, first " << p.scan_bytes << " payload bytes"
              << (p.scan_binary ? "" : " (binary bodies skipped)") << "; automaton "
              << dfa.tables.size() << " table" << (dfa.tables.size() == 1 ? "" : "s") << " of "
              << BW_DFA_TABLES << (compiled.from_cache ? " (from the cache)" : "") << "\n";
    for (auto& t : dfa.tables) {
        std::cout << "  table " << &t - dfa.tables.data() + 1 << ": " << t.states << " states x "
                  << t.classes << " byte classes ("
                  << (t.table.size() * sizeof(uint32_t) + 1023) / 1024 << " KiB of "
                  << BW_DFA_USABLE * sizeof(uint32_t) / 1024 << ")" << (t.raw ? ", raw bytes" : "")
                  << ":";
        for (auto& set : sets_in(t)) std::cout << " " << set;
        std::cout << "\n";
    }
    for (auto& set : p.pattern_sets) {
        std::string where;
        if (set.scope.uri) where += " uri";
        if (set.scope.headers) where += " headers";
        for (auto& h : set.scope.not_in) where += " but " + h;
        if (set.scope.body) where += " body";
        for (auto& h : set.scope.named) where += " " + h;
        std::cout << "  " << set.name << ": " << set.size() << " in" << where
                  << (set.raw ? " (raw)" : "") << "\n";
    }
    std::cout << "sources         up to " << p.max_sources << " tracked; events "
              << p.events_per_source_per_second << "/s per source\n";
    auto& ag = j["aggregate"]["limits"];
    std::cout << "new sources     " << rate(j["new_sources_per_cpu"])
              << " per CPU, then untracked sources share /" << p.aggregate_prefix_v4 << " IPv4, /"
              << p.aggregate_prefix_v6 << " IPv6 aggregates\naggregates      packets "
              << rate(ag["packets"]) << "; connections " << rate(ag["connections"]) << "; requests "
              << rate(ag["requests"]) << "\n";
    if (auto& b = p.bans) {
        auto sec = [](uint64_t ns) { return std::to_string(ns / 1'000'000'000ull) + " s"; };
        std::cout << "bans            after " << b->after << " offences within "
                  << sec(b->within_ns) << ": " << sec(b->first_ns) << ", doubling to "
                  << sec(b->max_ns) << ", forgotten after " << sec(b->forget_ns) << "; table "
                  << b->table << "\n";
    }
    auto& sf = j["syn_flood"];
    std::cout << "SYN cookies     " << sf["cookies"].get<std::string>();
    if (p.syn_flood.cookies == policy::SynFlood::Cookies::Auto)
        std::cout << ", past " << rate(sf["threshold_per_cpu"]) << " SYNs per CPU";
    std::cout << "\n";
    return 0;
}

}  // namespace

int check(const Args& args) {
    Flags f("check");
    f.add()("json", "print JSON")("strict", "unknown syscall names and keys are errors (profile)")(
        "cap", po::value<std::vector<std::string>>(),
        "capability the app would keep, for the profile's includes (repeatable)")(
        "export-bpf", po::value<std::string>(),
        "write the compiled filter as struct sock_filter[] (profile)");
    f.positional("what").positional("file");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("what") || !f.has("file")) return f.usage_error("what to check and a FILE");
    auto what = f.str("what");
    auto file = f.str("file");
    if (what == "profile") return check_profile(file, f);
    if (what == "policy") return check_policy(file, f);
    if (what == "config") return check_config(file, f);
    return f.usage_error("unknown kind \"" + what + "\" (profile, policy or config)");
}

}  // namespace bulwark::cmd
