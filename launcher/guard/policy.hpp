// Network policies (policies/*.json, documented in policies/README.md): parsing and validation.
// Pure logic; what the XDP program receives is derived from the Policy.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.hpp"
#include "core/json_util.hpp"
#include "guard/automaton.hpp"

namespace bulwark::policy {

struct Rate {
    uint64_t count = 0;      // tokens per period
    uint64_t period_ns = 0;  // second, minute, hour or day
    uint64_t burst = 0;      // defaults to count
    bool operator==(const Rate&) const = default;
};
// "60/minute" -> {60, 60e9}. Throws InputError.
Rate parse_rate(const std::string& s);
// GCRA parameters: one token every period/count ns (rounded down, so a source at exactly the
// rate always conforms), tau = interval * (burst - 1).
struct Gcra {
    uint64_t interval_ns, tau_ns;
};
Gcra to_gcra(const Rate& r);
// "90 seconds", "1 minute", "12 hours", "1 day" (singular or plural, one space) -> ns.
// Throws InputError.
uint64_t parse_duration(const std::string& s);

// Escalating bans (policy "bans"): `after` drops for one of `reasons` within `within` of the
// first ban the source for `first`, doubled for each ban in a row up to `max`; after `forget`
// without a ban the next one is `first` again. Absent: no bans.
struct Bans {
    uint32_t after = 0;
    uint64_t within_ns = 0, first_ns = 0, max_ns = 0, forget_ns = 0;
    std::vector<std::string> reasons;  // stats names: "drop_pattern", ...
    uint32_t table = 65536;            // most sources the ban table holds
};

// A limit per kind; nullopt = unlimited.
struct Limits {
    std::optional<Rate> packets, connections, requests;
};

struct Rule {
    std::string match;  // "METHOD /path-prefix", anchored, case-sensitive
    bool exempt = false;
    std::optional<Rate> limit;  // when not exempt
};

// A named set of patterns, looked for in the parts of a request its `in` names.
struct PatternSet {
    std::string name;
    std::string comment;
    automaton::Scope scope = automaton::Scope::any();
    bool raw = false;  // against the undecoded bytes
    std::vector<std::string> literals, regexes;
    size_t size() const { return literals.size() + regexes.size(); }
};

// SYN cookies (policy "syn_flood"): SYNs to inspected ports answered from XDP with the kernel's
// SYN cookie, the client's ACK proven by netfilter SYNPROXY, whose rules attach loads where the
// program is attached (guard/synproxy.hpp). Auto: past `threshold` SYNs a second on a CPU. Off
// when absent: SYNPROXY brings conntrack to the namespace, which costs every packet there.
struct SynFlood {
    enum class Cookies { Off, Auto, Always } cookies = Cookies::Off;
    Rate threshold{2000, 1'000'000'000, 2000};  // per CPU
};

struct Policy {
    std::string file;
    std::string sha256;  // of the file's bytes, hex (load_policy)
    unsigned version = 1;
    std::vector<uint16_t> inspect_ports;
    std::vector<Cidr> deny, trusted, suspicious;
    // TLS terminators and load balancers whose PROXY protocol headers name the client.
    std::vector<Cidr> proxies;
    unsigned key_prefix_v4 = 32, key_prefix_v6 = 64;
    Limits default_limits, suspicious_limits;
    bool trusted_unlimited = true;
    Limits trusted_limits;  // only when trusted is not null
    // Source sprays. Past `new_sources` a second per CPU, a source without a bucket of its own
    // gets none: it shares its aggregate's (its address masked to the aggregate prefix) with
    // the other untracked sources there, held to `aggregate_limits` where given and to
    // `default_limits` elsewhere, so a spray cannot evict the sources already tracked.
    // nullopt: every new source gets a bucket (a spray evicts the least recently seen).
    // burst 0: not given; new_sources_per_cpu() sets it.
    std::optional<Rate> new_sources = Rate{125'000, 1'000'000'000, 0};
    unsigned aggregate_prefix_v4 = 24, aggregate_prefix_v6 = 48;
    Limits aggregate_limits;  // what each aggregate is held to at once, sources and all
    std::vector<Rule> rules;
    unsigned scan_bytes = 1460;  // a whole segment of a 1500-byte MTU
    bool scan_binary = false;    // patterns.binary_bodies "scan": uploads' files are scanned too
    std::vector<PatternSet> pattern_sets;
    uint64_t events_per_source_per_second = 1;
    uint64_t max_sources = 1'000'000;
    std::optional<Bans> bans;
    SynFlood syn_flood;
    enum class Fragments { Pass, Drop } non_first_fragments = Fragments::Pass;
};

// A request line as the guard's rules compare it (bw_rule_line_step in bpf/bulwark.h): the path
// percent-decoded (an encoded '?', '#' or space stays a path byte), backslashes as slashes, runs
// of slashes as one, dot segments resolved, a segment's ";param" left out, an absolute-form
// target's scheme and host left out; at most BW_MAX_RULE_LEN bytes. nullopt when
// a ".." climbs out of a path nested deeper than the guard records (it drops such requests).
std::optional<std::string> rule_line(std::string_view request_line);
// What events and `policy test` name for such a drop (drop_rule with no rule: detail 0).
inline constexpr const char* kUnresolvedPath =
    "(a \"..\" out of a path nested too deep to resolve)";

Policy parse_policy(const Json& doc, const std::string& file);
// Throws InputError naming the file when the policy turns SYN cookies on for a guard started
// by `how`, which cannot make their answers reach the client (bulwark-oci: the container's
// veth peer is the engine's, without NAPI).
void refuse_syn_cookies(const Policy& p, const std::string& how);
// trust_key: non-empty requires a valid Ed25519 signature (path + ".sig") by that key.
Policy load_policy(const std::string& path, const std::string& trust_key = "");

// Every pattern of every set, in order: DFA match index i+1 is element i.
std::vector<automaton::Pattern> all_patterns(const Policy& p);

// limits.new_sources as each of `cpus` CPUs applies it. A burst the policy leaves out is one
// period's rate, but at most a sixteenth of max_sources over all the CPUs: every CPU gives a
// spray its burst before it turns spray mode on, so with one second's 125,000 a CPU a spray on
// 8 CPUs would take the whole default table, evicting every source it tracked. The rate, which
// is what a legitimate crowd of newcomers meets, stays the policy's.
std::optional<Rate> new_sources_per_cpu(const Policy& p, unsigned cpus);

// Summary for `bulwark check policy` (also its --json shape), for a host of `cpus` CPUs.
Json summary(const Policy& p, unsigned cpus);

}  // namespace bulwark::policy
