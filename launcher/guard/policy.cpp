#include "guard/policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <set>

#include "bpf/bulwark.h"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/signing.hpp"
#include "core/sys.hpp"
#include "guard/regex.hpp"

namespace bulwark::policy {

namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;
// A rule's method: any the guard counts as a request's (bw_is_request), but in upper case, as
// every registered method is: a lower-case one is far likelier a typo than a client's.
bool rule_method(std::string_view m) {
    return !m.empty() && m.size() <= BW_METHOD_MAX && std::all_of(m.begin(), m.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

// A time unit of rates and durations in ns; 0 for none.
uint64_t unit_ns(std::string_view name) {
    static const std::map<std::string, uint64_t, std::less<>> units = {{"second", kSecond},
                                                                       {"minute", 60 * kSecond},
                                                                       {"hour", 3600 * kSecond},
                                                                       {"day", 86400 * kSecond}};
    auto it = units.find(name);
    return it == units.end() ? 0 : it->second;
}

uint64_t parse_u64(std::string_view s, bool& ok) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    ok = !s.empty() && ec == std::errc() && p == s.data() + s.size();
    return v;
}

std::vector<Cidr> parse_list(const JsonAt& at) {
    std::vector<Cidr> out;
    for (size_t i = 0; i < at.size(); ++i) {
        auto item = at[i];
        out.push_back(item.here([&] { return parse_cidr(item.str()); }));
    }
    return out;
}

Rate parse_limit(const JsonAt& at) {
    at.only_keys({"rate", "burst"});
    Rate r = at.at("rate").here([&] { return parse_rate(at.at("rate").str()); });
    if (auto b = at.get("burst")) {
        if (b->raw().is_number_integer() && !b->raw().is_number_unsigned() &&
            b->raw().get<int64_t>() < 0)
            b->fail("burst must be at least 1, found " + b->raw().dump());
        r.burst = b->u64(1'000'000'000);
        if (r.burst == 0) b->fail("burst must be at least 1");
    }
    return r;
}

// A limit set's kinds: a kind given as null is unlimited; a kind left out takes `inherit`'s.
Limits parse_kinds(const JsonAt& at, const Limits& inherit) {
    Limits l = inherit;
    auto one = [&](const char* key, std::optional<Rate>& dst) {
        if (auto v = at.get(key))
            dst = v->is_null() ? std::nullopt : std::optional(parse_limit(*v));
    };
    one("packets", l.packets);
    one("connections", l.connections);
    one("requests", l.requests);
    return l;
}

Limits parse_limits(const JsonAt& at, const Limits& inherit) {
    at.only_keys({"packets", "connections", "requests"});
    return parse_kinds(at, inherit);
}

Rule parse_rule(const JsonAt& at) {
    at.only_keys({"match", "action", "limit"});
    Rule r;
    auto m = at.at("match");
    r.match = m.str();
    auto sp = r.match.find(' ');
    std::string method = r.match.substr(0, sp);
    if (sp == std::string::npos || !rule_method(method) || r.match.size() <= sp + 1 ||
        r.match[sp + 1] != '/')
        m.fail("match \"" + r.match + "\" is not \"METHOD /path\" (e.g. \"GET /api/health\")");
    if (r.match.size() > BW_MAX_RULE_LEN)
        m.fail("match is longer than " + std::to_string(BW_MAX_RULE_LEN) + " bytes");
    // The kernel compares a rule with the line as the server routes it: a rule written another
    // way would never match. The space ends the path, as in a request.
    auto routed = rule_line(r.match + " ");
    if (routed && *routed != r.match + " ")
        m.fail("match \"" + r.match +
               "\" is compared with the request line as a server routes it " +
               "(decoded, slashes and dot segments resolved): write \"" +
               routed->substr(0, routed->size() - 1) + "\"");
    auto action = at.get("action");
    auto limit = at.get("limit");
    if (action) {
        if (action->str() != "exempt")
            action->fail("action must be \"exempt\" (or give \"limit\")");
        if (limit) at.fail("a rule has either \"action\": \"exempt\" or a \"limit\", not both");
        r.exempt = true;
    } else if (limit) {
        r.limit = parse_limit(*limit);
    } else {
        at.fail("a rule needs \"action\": \"exempt\" or a \"limit\"");
    }
    return r;
}

// A header name for "in": an HTTP token, lower case.
std::string header_name(const JsonAt& at) {
    auto s = at.str();
    std::string out;
    for (unsigned char c : s) {
        if (!(std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c)))
            at.fail("\"" + s + "\" is neither uri, headers, body, any nor a header name");
        out += static_cast<char>(std::tolower(c));
    }
    if (out.empty() || out.size() > 64) at.fail("a header name of 1 to 64 characters");
    return out;
}

// One pattern's text, checked on its own so an error names its JSON path.
std::string pattern_text(const JsonAt& at, bool regex, bool raw, unsigned scan_bytes) {
    auto s = at.str();
    if (s.size() > BW_MAX_PATTERN_LEN)
        at.fail("pattern is " + std::to_string(s.size()) + " bytes, more than " +
                std::to_string(BW_MAX_PATTERN_LEN));
    if (!regex && s.size() > scan_bytes)
        at.fail("pattern is longer than scan_bytes (" + std::to_string(scan_bytes) +
                "): it could never match");
    regex::Nfa scratch;
    at.here([&] {
        if (s.empty()) throw InputError("empty pattern");
        regex::add_pattern(scratch, s, 1, {raw, !regex});
    });
    return s;
}

// A set: a list of literals, or {"comment", "in", "literals", "regex", "raw"}.
PatternSet parse_set(const std::string& name, const JsonAt& v, unsigned scan_bytes) {
    PatternSet set;
    set.name = name;
    if (v.raw().is_array()) {
        for (size_t i = 0; i < v.size(); ++i)
            set.literals.push_back(pattern_text(v[i], false, false, scan_bytes));
        return set;
    }
    v.only_keys({"comment", "in", "not_in", "literals", "regex", "raw"});
    if (auto c = v.get("comment")) set.comment = c->str();
    if (auto r = v.get("raw")) set.raw = r->boolean();
    if (auto in = v.get("in")) {
        set.scope = {};
        for (size_t i = 0; i < in->size(); ++i) {
            auto part = (*in)[i].str();
            if (part == "any")
                set.scope.uri = set.scope.headers = set.scope.body = true;
            else if (part == "uri")
                set.scope.uri = true;
            else if (part == "headers")
                set.scope.headers = true;
            else if (part == "body")
                set.scope.body = true;
            else
                set.scope.named.push_back(header_name((*in)[i]));
        }
        if (in->size() == 0) in->fail("\"in\" names no part: the set could never match");
    }
    if (auto out = v.get("not_in")) {
        for (size_t i = 0; i < out->size(); ++i) {
            auto h = header_name((*out)[i]);
            if (h == "uri" || h == "headers" || h == "body" || h == "any")
                (*out)[i].fail("\"not_in\" names headers, not a part such as \"" + h + "\"");
            if (!set.scope.headers)
                (*out)[i].fail(
                    "\"not_in\" leaves out a header of \"headers\", which \"in\" "
                    "does not name");
            if (std::find(set.scope.named.begin(), set.scope.named.end(), h) !=
                set.scope.named.end())
                (*out)[i].fail("\"" + h + "\" is both in \"in\" and in \"not_in\"");
            set.scope.not_in.push_back(h);
        }
    }
    if (auto l = v.get("literals"))
        for (size_t i = 0; i < l->size(); ++i)
            set.literals.push_back(pattern_text((*l)[i], false, set.raw, scan_bytes));
    if (auto r = v.get("regex"))
        for (size_t i = 0; i < r->size(); ++i)
            set.regexes.push_back(pattern_text((*r)[i], true, set.raw, scan_bytes));
    if (set.size() == 0) v.fail("the set has no literals and no regex");
    return set;
}

// The offences a ban may count: the drops a source earns by what it sends. Not drop_deny (the
// list already drops it), drop_malformed (a spoofer's frames would ban the address they
// forge as easily), nor drop_banned.
const std::vector<std::string> kBanReasons = {"drop_rate_packets", "drop_rate_connections",
                                              "drop_rate_requests", "drop_rule", "drop_pattern"};

Bans parse_bans(const JsonAt& at) {
    at.only_keys({"comment", "after", "within", "for", "max", "forget", "reasons", "table"});
    Bans b;
    auto dur = [&](const char* key, uint64_t fallback) {
        auto v = at.get(key);
        return v ? v->here([&] { return parse_duration(v->str()); }) : fallback;
    };
    b.after = static_cast<uint32_t>(at.at("after").u64(1'000'000));
    if (b.after == 0) at.at("after").fail("after must be at least 1");
    b.within_ns = dur("within", 60 * kSecond);
    b.first_ns = at.at("for").here([&] { return parse_duration(at.at("for").str()); });
    b.max_ns = dur("max", std::max(b.first_ns, 86400 * kSecond));
    if (b.max_ns < b.first_ns) at.at("max").fail("max is shorter than for");
    b.forget_ns = dur("forget", b.max_ns);
    b.reasons = kBanReasons;
    if (auto r = at.get("reasons")) {
        b.reasons.clear();
        for (size_t i = 0; i < r->size(); ++i) {
            auto name = (*r)[i].str();
            if (std::find(kBanReasons.begin(), kBanReasons.end(), name) == kBanReasons.end())
                (*r)[i].fail(
                    "not a reason a ban counts (one of drop_rate_packets, "
                    "drop_rate_connections, drop_rate_requests, drop_rule, drop_pattern)");
            if (std::find(b.reasons.begin(), b.reasons.end(), name) == b.reasons.end())
                b.reasons.push_back(name);
        }
        if (b.reasons.empty()) r->fail("reasons is empty: leave \"bans\" out for no bans");
    }
    if (auto t = at.get("table")) {
        b.table = static_cast<uint32_t>(t->u64(16'000'000));
        if (b.table < 16) t->fail("table must hold at least 16 sources");
    }
    return b;
}

SynFlood parse_syn_flood(const JsonAt& at) {
    at.only_keys({"comment", "cookies", "threshold"});
    SynFlood f;
    if (auto c = at.get("cookies")) {
        auto v = c->str();
        if (v == "off")
            f.cookies = SynFlood::Cookies::Off;
        else if (v == "auto")
            f.cookies = SynFlood::Cookies::Auto;
        else if (v == "always")
            f.cookies = SynFlood::Cookies::Always;
        else
            c->fail("cookies must be \"auto\", \"always\" or \"off\"");
    } else {
        f.cookies = SynFlood::Cookies::Auto;
    }
    if (auto t = at.get("threshold")) {
        f.threshold = t->here([&] { return parse_rate(t->str()); });
        if (f.threshold.period_ns != kSecond) t->fail("threshold is SYNs per second: N/second");
    }
    return f;
}

}  // namespace

Rate parse_rate(const std::string& s) {
    auto slash = s.find('/');
    if (slash == std::string::npos)
        throw InputError("rate \"" + s + "\" is not COUNT/UNIT (e.g. \"60/minute\")");
    bool ok;
    Rate r;
    r.count = parse_u64(std::string_view(s).substr(0, slash), ok);
    if (!ok || r.count == 0 || r.count > 1'000'000'000)
        throw InputError("rate \"" + s + "\": count must be 1..1000000000");
    uint64_t unit = unit_ns(s.substr(slash + 1));
    if (unit == 0) throw InputError("rate \"" + s + "\": unit must be second, minute, hour or day");
    r.period_ns = unit;
    r.burst = r.count;
    return r;
}

uint64_t parse_duration(const std::string& s) {
    auto sp = s.find(' ');
    bool ok = false;
    uint64_t n = sp == std::string::npos ? 0 : parse_u64(std::string_view(s).substr(0, sp), ok);
    if (!ok || n == 0)
        throw InputError("duration \"" + s + "\" is not COUNT UNIT (e.g. \"10 minutes\")");
    auto name = s.substr(sp + 1);
    if (name.size() > 1 && name.back() == 's') name.pop_back();
    uint64_t unit = unit_ns(name);
    if (unit == 0)
        throw InputError("duration \"" + s +
                         "\": unit must be second(s), minute(s), hour(s) or day(s)");
    // A year at most: beyond that a ban is a deny list entry.
    if (n > 365 * 86400 * kSecond / unit)
        throw InputError("duration \"" + s + "\" is longer than 365 days");
    return n * unit;
}

std::optional<Rate> new_sources_per_cpu(const Policy& p, unsigned cpus) {
    auto r = p.new_sources;
    if (r && r->burst == 0)
        r->burst = std::clamp<uint64_t>(p.max_sources / (16 * std::max(cpus, 1u)), 1, r->count);
    return r;
}

Gcra to_gcra(const Rate& r) {
    uint64_t interval = r.period_ns / r.count;
    if (interval == 0) interval = 1;
    return {interval, interval * (r.burst - 1)};
}

std::vector<automaton::Pattern> all_patterns(const Policy& p) {
    std::vector<automaton::Pattern> out;
    for (auto& set : p.pattern_sets) {
        for (auto& l : set.literals) out.push_back({set.name, l, false, set.raw, set.scope});
        for (auto& r : set.regexes) out.push_back({set.name, r, true, set.raw, set.scope});
    }
    return out;
}

Policy parse_policy(const Json& doc, const std::string& file) {
    JsonAt root(doc, file);
    root.only_keys({"version", "comment", "inspect_ports", "lists", "limits", "rules", "patterns",
                    "events", "max_sources", "fragments", "bans", "syn_flood"});
    Policy p;
    p.file = file;
    if (auto v = root.get("version")) {
        p.version = static_cast<unsigned>(v->u64());
        if (p.version != 1)
            v->fail("unsupported policy version " + std::to_string(p.version) +
                    " (this bulwark reads 1)");
    }
    if (auto ports = root.get("inspect_ports")) {
        for (size_t i = 0; i < ports->size(); ++i) {
            auto port = (*ports)[i].u64(65535);
            if (port == 0) (*ports)[i].fail("port 0 cannot be inspected");
            p.inspect_ports.push_back(static_cast<uint16_t>(port));
        }
    } else {
        p.inspect_ports = {80};
    }
    if (auto lists = root.get("lists")) {
        lists->only_keys({"deny", "trusted", "suspicious", "proxies"});
        if (auto l = lists->get("deny")) p.deny = parse_list(*l);
        if (auto l = lists->get("trusted")) p.trusted = parse_list(*l);
        if (auto l = lists->get("suspicious")) p.suspicious = parse_list(*l);
        if (auto l = lists->get("proxies")) p.proxies = parse_list(*l);
        // One prefix in two lists would make "most specific wins" ambiguous.
        std::vector<std::pair<const Cidr*, const char*>> all;
        for (auto& c : p.deny) all.emplace_back(&c, "deny");
        for (auto& c : p.trusted) all.emplace_back(&c, "trusted");
        for (auto& c : p.suspicious) all.emplace_back(&c, "suspicious");
        for (auto& c : p.proxies) all.emplace_back(&c, "proxies");
        for (size_t i = 0; i < all.size(); ++i)
            for (size_t j = i + 1; j < all.size(); ++j)
                if (*all[i].first == *all[j].first)
                    lists->fail("\"" + all[j].first->text + "\" is in both \"" + all[i].second +
                                "\" and \"" + all[j].second + "\"");
    }
    if (auto limits = root.get("limits")) {
        limits->only_keys(
            {"key_prefix", "default", "suspicious", "trusted", "aggregate", "new_sources"});
        if (auto kp = limits->get("key_prefix")) {
            kp->only_keys({"ipv4", "ipv6"});
            if (auto v = kp->get("ipv4")) p.key_prefix_v4 = static_cast<unsigned>(v->u64(32));
            if (auto v = kp->get("ipv6")) p.key_prefix_v6 = static_cast<unsigned>(v->u64(128));
            if (p.key_prefix_v4 == 0 || p.key_prefix_v6 == 0)
                kp->fail("a key prefix of 0 would put every source in one bucket");
        }
        if (auto d = limits->get("default"); d && !d->is_null())
            p.default_limits = parse_limits(*d, {});
        p.suspicious_limits = p.default_limits;
        if (auto s = limits->get("suspicious"); s && !s->is_null())
            p.suspicious_limits = parse_limits(*s, p.default_limits);
        if (auto t = limits->get("trusted"); t && !t->is_null()) {
            p.trusted_unlimited = false;
            p.trusted_limits = parse_limits(*t, {});
        }
        if (auto ns = limits->get("new_sources")) {
            p.new_sources = ns->is_null() ? std::nullopt : std::optional(parse_limit(*ns));
            if (p.new_sources && !ns->get("burst")) p.new_sources->burst = 0;
        }
        if (auto ag = limits->get("aggregate"); ag && !ag->is_null()) {
            ag->only_keys({"prefix", "packets", "connections", "requests"});
            if (auto pf = ag->get("prefix")) {
                pf->only_keys({"ipv4", "ipv6"});
                if (auto v = pf->get("ipv4")) p.aggregate_prefix_v4 = unsigned(v->u64(32));
                if (auto v = pf->get("ipv6")) p.aggregate_prefix_v6 = unsigned(v->u64(128));
                if (p.aggregate_prefix_v4 == 0 || p.aggregate_prefix_v6 == 0)
                    pf->fail("a prefix of 0 would make every source one aggregate");
            }
            p.aggregate_limits = parse_kinds(*ag, {});
        }
        // An aggregate holds whole source buckets: its prefix is no longer than the key's.
        auto longer = [&](unsigned agg, unsigned key, const char* family) {
            if (agg > key)
                limits->fail("aggregate prefix /" + std::to_string(agg) + " is longer than the " +
                             family + " key prefix /" + std::to_string(key));
        };
        longer(p.aggregate_prefix_v4, p.key_prefix_v4, "IPv4");
        longer(p.aggregate_prefix_v6, p.key_prefix_v6, "IPv6");
    }
    if (auto rules = root.get("rules")) {
        if (rules->size() > BW_MAX_RULES)
            (*rules)[BW_MAX_RULES].fail("more than " + std::to_string(BW_MAX_RULES) + " rules");
        for (size_t i = 0; i < rules->size(); ++i) {
            p.rules.push_back(parse_rule((*rules)[i]));
            for (size_t j = 0; j + 1 < p.rules.size(); ++j)
                if (p.rules[j].match == p.rules.back().match)
                    (*rules)[i].fail("\"" + p.rules.back().match + "\" repeats rule " +
                                     std::to_string(j));
        }
    }
    if (auto pat = root.get("patterns")) {
        pat->only_keys({"scan_bytes", "binary_bodies", "sets"});
        if (auto bb = pat->get("binary_bodies")) {
            auto v = bb->str();
            if (v == "scan")
                p.scan_binary = true;
            else if (v != "skip")
                bb->fail("binary_bodies must be \"skip\" or \"scan\"");
        }
        if (auto sb = pat->get("scan_bytes")) {
            p.scan_bytes = static_cast<unsigned>(sb->u64(BW_MAX_SCAN_BYTES));
            if (p.scan_bytes == 0) sb->fail("scan_bytes must be at least 1");
        }
        size_t total = 0;
        if (auto sets = pat->get("sets")) {
            for (auto& [name, v] : sets->members()) {
                if (name.empty() || name.size() >= sizeof(bw_pattern_name{}.set))
                    v.fail("a set's name must be 1 to " +
                           std::to_string(sizeof(bw_pattern_name{}.set) - 1) + " characters");
                p.pattern_sets.push_back(parse_set(name, v, p.scan_bytes));
                total += p.pattern_sets.back().size();
                if (total > BW_MAX_PATTERNS)
                    v.fail("more than " + std::to_string(BW_MAX_PATTERNS) + " patterns in all");
            }
        }
    }
    if (auto ev = root.get("events")) {
        ev->only_keys({"per_source_per_second"});
        if (auto v = ev->get("per_source_per_second"))
            p.events_per_source_per_second = v->u64(1'000'000);
    }
    if (auto ms = root.get("max_sources")) {
        p.max_sources = ms->u64(16'000'000);
        if (p.max_sources < 1024) ms->fail("max_sources must be at least 1024");
    }
    if (auto b = root.get("bans")) p.bans = parse_bans(*b);
    if (auto sf = root.get("syn_flood")) p.syn_flood = parse_syn_flood(*sf);
    if (auto fr = root.get("fragments")) {
        auto v = fr->str();
        if (v == "pass")
            p.non_first_fragments = Policy::Fragments::Pass;
        else if (v == "drop")
            p.non_first_fragments = Policy::Fragments::Drop;
        else
            fr->fail("fragments must be \"pass\" or \"drop\"");
    }
    return p;
}

void refuse_syn_cookies(const Policy& p, const std::string& how) {
    if (p.syn_flood.cookies != SynFlood::Cookies::Off)
        throw InputError(p.file + ": syn_flood.cookies: not with " + how +
                         " yet (the SYN-ACKs would not reach the container's veth peer); "
                         "use `bulwark run --net veth` or `xdp attach`, or \"off\"");
}

Policy load_policy(const std::string& path, const std::string& trust_key) {
    // Hash (and check the signature of) the bytes that were parsed, not a second read of a file
    // that may have changed.
    auto text = signing::read_verified(path, trust_key);
    auto p = parse_policy(parse_json(text, path), path);
    p.sha256 = sha256_hex(text);
    return p;
}

namespace {
Json rate_json(const std::optional<Rate>& r) {
    if (!r) return nullptr;
    static const std::map<uint64_t, const char*> names = {{kSecond, "second"},
                                                          {60 * kSecond, "minute"},
                                                          {3600 * kSecond, "hour"},
                                                          {86400 * kSecond, "day"}};
    return Json{{"rate", std::to_string(r->count) + "/" + names.at(r->period_ns)},
                {"burst", r->burst}};
}
Json limits_json(const Limits& l) {
    return Json{{"packets", rate_json(l.packets)},
                {"connections", rate_json(l.connections)},
                {"requests", rate_json(l.requests)}};
}
}  // namespace

Json summary(const Policy& p, unsigned cpus) {
    Json j;
    j["file"] = p.file;
    j["inspect_ports"] = p.inspect_ports;
    j["lists"] = {{"deny", p.deny.size()},
                  {"trusted", p.trusted.size()},
                  {"suspicious", p.suspicious.size()},
                  {"proxies", p.proxies.size()}};
    j["key_prefix"] = {{"ipv4", p.key_prefix_v4}, {"ipv6", p.key_prefix_v6}};
    j["limits"] = {
        {"default", limits_json(p.default_limits)},
        {"suspicious", limits_json(p.suspicious_limits)},
        {"trusted", p.trusted_unlimited ? Json(nullptr) : limits_json(p.trusted_limits)}};
    Json rules = Json::array();
    for (auto& r : p.rules)
        rules.push_back({{"match", r.match},
                         {"action", r.exempt ? "exempt" : "limit"},
                         {"limit", rate_json(r.limit)}});
    j["rules"] = rules;
    Json sets = Json::object();
    size_t total = 0;
    for (auto& s : p.pattern_sets) {
        sets[s.name] = s.size();
        total += s.size();
    }
    j["patterns"] = {{"scan_bytes", p.scan_bytes},
                     {"binary_bodies", p.scan_binary ? "scan" : "skip"},
                     {"sets", sets},
                     {"total", total}};
    j["events"] = {{"per_source_per_second", p.events_per_source_per_second}};
    j["max_sources"] = p.max_sources;
    j["new_sources_per_cpu"] = rate_json(new_sources_per_cpu(p, cpus));
    j["aggregate"] = {
        {"prefix", {{"ipv4", p.aggregate_prefix_v4}, {"ipv6", p.aggregate_prefix_v6}}},
        {"limits", limits_json(p.aggregate_limits)}};
    if (p.bans) {
        auto sec = [](uint64_t ns) { return ns / kSecond; };
        j["bans"] = {{"after", p.bans->after},
                     {"within_seconds", sec(p.bans->within_ns)},
                     {"for_seconds", sec(p.bans->first_ns)},
                     {"max_seconds", sec(p.bans->max_ns)},
                     {"forget_seconds", sec(p.bans->forget_ns)},
                     {"reasons", p.bans->reasons},
                     {"table", p.bans->table}};
    } else {
        j["bans"] = nullptr;
    }
    j["fragments"] = p.non_first_fragments == Policy::Fragments::Pass ? "pass" : "drop";
    static const char* cookies[] = {"off", "auto", "always"};
    j["syn_flood"] = {{"cookies", cookies[static_cast<int>(p.syn_flood.cookies)]},
                      {"threshold_per_cpu", rate_json(p.syn_flood.threshold)}};
    return j;
}

std::optional<std::string> rule_line(std::string_view request_line) {
    std::vector<__u8> raw(BW_SCAN_BUF, 0);
    auto n = std::min<size_t>(request_line.size(), BW_MAX_SCAN_BYTES);
    std::memcpy(raw.data(), request_line.data(), n);
    bw_rule_line r{};
    r.len = static_cast<__u32>(n);
    while (bw_rule_line_step(raw.data(), &r)) {
    }
    if (r.unresolved) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(r.line),
                       std::min<size_t>(r.out, BW_MAX_RULE_LEN));
}

}  // namespace bulwark::policy
