#include "guard/stats.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/sys.hpp"
#include "guard/bans.hpp"
#include "guard/map_walk.hpp"
#include "guard/pins.hpp"
#include "guard/program.hpp"

namespace bulwark::guard {

Json spray_json(const std::vector<bw_spray>& cpus, const bw_config& cfg, uint64_t now_ns,
                uint64_t aggregates) {
    uint64_t admitted = 0, shared = 0, episodes = 0, since = 0;
    unsigned on = 0;
    for (auto& c : cpus) {
        admitted += c.admitted;
        shared += c.shared;
        episodes += c.episodes;
        if (c.on_since && now_ns >= c.last_refused &&
            now_ns - c.last_refused <= BW_SPRAY_QUIET_NS) {
            ++on;
            since = since ? std::min<uint64_t>(since, c.on_since) : c.on_since;
        }
    }
    Json limit = nullptr;
    if (auto& r = cfg.sprays.new_sources; r.interval_ns)
        limit = {{"per_second", 1'000'000'000ULL / r.interval_ns},
                 {"burst", r.tau_ns / r.interval_ns + 1}};
    return {{"on", on > 0},
            {"cpus_on", on},
            {"seconds_on", on ? (now_ns - since) / 1'000'000'000ULL : 0},
            {"new_sources_per_cpu", limit},
            {"admitted", admitted},
            {"shared_packets", shared},
            {"episodes", episodes},
            {"aggregates", aggregates}};
}

Json syn_json(const std::vector<bw_syn>& cpus, const bw_config& cfg, uint64_t now_ns,
              uint64_t answered) {
    static const char* modes[] = {"off", "auto", "always"};
    uint64_t episodes = 0;
    unsigned on = 0;
    for (auto& c : cpus) {
        episodes += c.episodes;
        if (c.on_since && now_ns >= c.last_over && now_ns - c.last_over <= BW_SYN_QUIET_NS) ++on;
    }
    bool always = cfg.syn.mode == BW_COOKIES_ALWAYS;
    Json threshold = nullptr;
    if (cfg.syn.mode == BW_COOKIES_AUTO && cfg.syn.threshold.interval_ns)
        threshold = 1'000'000'000ULL / cfg.syn.threshold.interval_ns;
    return {{"cookies", modes[cfg.syn.mode % 3]},
            {"on", always || on > 0},
            {"cpus_on", always ? cpus.size() : on},
            {"threshold_per_cpu", threshold},
            {"answered", answered},
            {"episodes", episodes}};
}

Json stats(const std::string& name, size_t top) {
    auto dir = instance_dir(name);
    auto meta = read_meta(open_pin(dir + "/" BW_MAP_META).get());
    PinnedPolicy pins(dir);
    uint32_t gen = xdp::active_generation(pins.maps);
    auto cfg = pins.config_in_force();

    bool attached = false;
    if (UniqueFd link(bpf_obj_get((dir + "/" BW_PIN_LINK).c_str())); link) {
        bpf_link_info info{};
        uint32_t len = sizeof info;
        attached = bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 && info.xdp.ifindex != 0;
    }
    std::string ifname(meta.ifname, strnlen(meta.ifname, sizeof meta.ifname));

    Json counters = Json::object();
    auto sums = xdp::read_counters(open_pin(dir + "/" BW_MAP_COUNTERS).get());
    for (uint32_t r = 0; r < BW_REASON_MAX; ++r)
        counters[xdp::reason_name(r)] = {{"packets", sums[r].packets}, {"bytes", sums[r].bytes}};

    // The most dropped sources first. The table may hold a million during a spray: only the
    // leaders are kept while walking it, and only those shown are formatted.
    struct Row {
        bw_source_key k;
        bw_source s;
    };
    auto ahead = [](const Row& a, const Row& b) {
        return a.s.dropped != b.s.dropped ? a.s.dropped > b.s.dropped : a.s.passed > b.s.passed;
    };
    std::vector<Row> rows;
    auto keep = [&](size_t n) {
        if (rows.size() <= n) return;
        auto nth = rows.begin() + static_cast<std::ptrdiff_t>(n);
        std::nth_element(rows.begin(), nth, rows.end(), ahead);
        rows.erase(nth, rows.end());
    };
    auto sfd = open_pin(dir + "/" BW_MAP_SOURCES);
    xdp::for_each_entry<bw_source_key, bw_source>(sfd.get(),
                                                  [&](const bw_source_key& k, const bw_source& s) {
                                                      rows.push_back({k, s});
                                                      if (rows.size() >= 2 * top + 4096) keep(top);
                                                  });
    keep(top);
    std::sort(rows.begin(), rows.end(), ahead);
    Json tops = Json::array();
    for (auto& r : rows)
        tops.push_back({{"addr", source_text(r.k, cfg)},
                        {"passed", r.s.passed},
                        {"dropped", r.s.dropped},
                        {"last_reason", xdp::reason_name(r.s.last_reason)}});
    // The patterns that dropped something since the policy in force was loaded, most first.
    Json patterns = Json::array();
    {
        auto hits = xdp::read_pattern_hits(pins.maps.pattern_hits, gen);
        std::vector<uint32_t> fired;
        for (uint32_t i = 0; i < hits.size(); ++i)
            if (hits[i]) fired.push_back(i);
        std::stable_sort(fired.begin(), fired.end(),
                         [&](uint32_t a, uint32_t b) { return hits[a] > hits[b]; });
        for (auto i : fired) {
            uint32_t k = gen * BW_MAX_PATTERNS + i;
            bw_pattern_name n{};
            if (bpf_map_lookup_elem(pins.maps.patterns, &k, &n) != 0) continue;
            patterns.push_back({{"set", std::string(n.set, strnlen(n.set, sizeof n.set))},
                                {"pattern", std::string(n.text, strnlen(n.text, sizeof n.text))},
                                {"packets", hits[i]}});
        }
    }
    auto lost = xdp::read_events_lost(open_pin(dir + "/" BW_MAP_EVENTS_LOST).get());
    // Bans in force, the longest left first; the totals since the guard was loaded.
    Json bans = nullptr;
    if (cfg.bans.for_ns) {
        auto bfd = open_pin(dir + "/" BW_MAP_BANS);
        auto now = static_cast<uint64_t>(clock_ns(CLOCK_MONOTONIC));
        auto entries = read_bans(bfd.get());
        std::erase_if(entries, [&](const BanEntry& e) { return e.ban.until_ns <= now; });
        std::sort(entries.begin(), entries.end(), [](const BanEntry& a, const BanEntry& b) {
            return a.ban.until_ns > b.ban.until_ns;
        });
        auto counts = read_ban_counts(open_pin(dir + "/" BW_MAP_BANS_STATS).get());
        Json list = Json::array();
        for (size_t i = 0; i < entries.size() && i < top; ++i)
            list.push_back(ban_json(entries[i], cfg, now));
        bans = {{"active", entries.size()},
                {"issued", counts.issued},
                {"refused", counts.refused},
                {"table", max_entries(bfd.get())},
                {"list", list}};
    }
    uint64_t aggregates = 0;
    xdp::for_each_entry<bw_source_key, bw_source>(
        open_pin(dir + "/" BW_MAP_AGGREGATES).get(),
        [&](const bw_source_key&, const bw_source&) { ++aggregates; });
    auto sprays = spray_json(xdp::read_spray(open_pin(dir + "/" BW_MAP_SPRAY).get()), cfg,
                             static_cast<uint64_t>(clock_ns(CLOCK_MONOTONIC)), aggregates);
    auto syn =
        syn_json(xdp::read_syn(open_pin(dir + "/" BW_MAP_SYN).get()), cfg,
                 static_cast<uint64_t>(clock_ns(CLOCK_MONOTONIC)), sums[BW_TX_SYN_COOKIE].packets);
    return Json{
        {"name", name},
        {"interface", ifname},
        {"mode", mode_name(meta.mode)},
        {"attached", attached},
        {"policy_sha256",
         std::string(meta.policy_sha256, strnlen(meta.policy_sha256, sizeof meta.policy_sha256))},
        {"reloads", meta.reloads},
        {"counters", counters},
        {"events_lost", lost},
        {"patterns", patterns},
        {"top_sources", tops},
        {"bans", bans},
        {"sprays", sprays},
        {"syn_cookies", syn}};
}

std::string format_table(const Json& j) {
    std::ostringstream o;
    o << j["name"].get<std::string>() << " on " << j["interface"].get<std::string>() << " ("
      << j["mode"].get<std::string>() << ", "
      << (j["attached"].get<bool>() ? "attached" : "NOT attached") << ")\n";
    char line[160];
    std::snprintf(line, sizeof line, "  %-24s %14s %16s\n", "reason", "packets", "bytes");
    o << line;
    for (unsigned r = 0; r < BW_REASON_MAX; ++r) {
        auto& c = j["counters"][xdp::reason_name(r)];
        std::snprintf(line, sizeof line, "  %-24s %14llu %16llu\n", xdp::reason_name(r),
                      static_cast<unsigned long long>(c["packets"].get<uint64_t>()),
                      static_cast<unsigned long long>(c["bytes"].get<uint64_t>()));
        o << line;
    }
    if (j.contains("patterns") && !j["patterns"].empty()) {
        std::snprintf(line, sizeof line, "  %-50s %14s\n", "patterns that dropped (set:pattern)",
                      "packets");
        o << line;
        for (auto& p : j["patterns"]) {
            auto name = p["set"].get<std::string>() + ":" + p["pattern"].get<std::string>();
            if (name.size() > 50) name = name.substr(0, 47) + "...";
            std::snprintf(line, sizeof line, "  %-50s %14llu\n", name.c_str(),
                          static_cast<unsigned long long>(p["packets"].get<uint64_t>()));
            o << line;
        }
    }
    if (!j["top_sources"].empty()) {
        std::snprintf(line, sizeof line, "  %-40s %10s %10s  %s\n", "top sources", "passed",
                      "dropped", "last");
        o << line;
        for (auto& s : j["top_sources"]) {
            std::snprintf(line, sizeof line, "  %-40s %10llu %10llu  %s\n",
                          s["addr"].get<std::string>().c_str(),
                          static_cast<unsigned long long>(s["passed"].get<uint64_t>()),
                          static_cast<unsigned long long>(s["dropped"].get<uint64_t>()),
                          s["last_reason"].get<std::string>().c_str());
            o << line;
        }
    }
    if (j.contains("bans") && !j["bans"].is_null()) {
        auto& b = j["bans"];
        o << "  bans: " << b["active"].get<uint64_t>() << " in force (table "
          << b["table"].get<uint64_t>() << "), " << b["issued"].get<uint64_t>() << " issued, "
          << b["refused"].get<uint64_t>() << " refused (table full)\n";
        if (!b["list"].empty()) {
            std::snprintf(line, sizeof line, "  %-40s %10s %6s %10s  %s\n", "banned source",
                          "time left", "level", "drops", "for");
            o << line;
        }
        for (auto& e : b["list"]) {
            std::snprintf(line, sizeof line, "  %-40s %9llus %6u %10llu  %s\n",
                          e["source"].get<std::string>().c_str(),
                          static_cast<unsigned long long>(e["seconds_left"].get<uint64_t>()),
                          e["level"].get<unsigned>(),
                          static_cast<unsigned long long>(e["drops"].get<uint64_t>()),
                          e["reason"].get<std::string>().c_str());
            o << line;
        }
    }
    if (j.contains("sprays")) {
        auto& sp = j["sprays"];
        o << "  sprays: " << (sp["on"].get<bool>() ? "ON" : "off");
        if (sp["on"].get<bool>())
            o << " on " << sp["cpus_on"].get<unsigned>() << " CPU(s) for "
              << sp["seconds_on"].get<uint64_t>() << "s";
        o << "; " << sp["admitted"].get<uint64_t>() << " new sources tracked, "
          << sp["shared_packets"].get<uint64_t>() << " packets of untracked ones in "
          << sp["aggregates"].get<uint64_t>() << " aggregates, " << sp["episodes"].get<uint64_t>()
          << " episodes\n";
    }
    if (j.contains("syn_cookies") && j["syn_cookies"]["cookies"] != "off") {
        auto& sc = j["syn_cookies"];
        o << "  SYN cookies: " << sc["cookies"].get<std::string>() << ", "
          << (sc["on"].get<bool>() ? "answering" : "not answering") << " ("
          << sc["cpus_on"].get<unsigned>() << " CPU(s)); " << sc["answered"].get<uint64_t>()
          << " SYNs answered, " << sc["episodes"].get<uint64_t>() << " episodes\n";
    }
    return o.str();
}

std::string format_prometheus(const std::vector<Json>& all) {
    std::ostringstream o;
    for (auto metric : {"packets", "bytes"}) {
        o << "# HELP bulwark_" << metric << "_total " << (metric[0] == 'p' ? "Packets" : "Bytes")
          << " seen by the XDP guard, by verdict reason.\n"
          << "# TYPE bulwark_" << metric << "_total counter\n";
        for (auto& j : all)
            for (unsigned r = 0; r < BW_REASON_MAX; ++r)
                o << "bulwark_" << metric << "_total{service=\"" << j["name"].get<std::string>()
                  << "\",reason=\"" << xdp::reason_name(r) << "\"} "
                  << j["counters"][xdp::reason_name(r)][metric].get<uint64_t>() << "\n";
    }
    o << "# HELP bulwark_pattern_drops_total Packets dropped by each pattern set since the policy "
         "in force was loaded.\n"
         "# TYPE bulwark_pattern_drops_total counter\n";
    for (auto& j : all) {
        if (!j.contains("patterns")) continue;
        std::map<std::string, uint64_t> by_set;
        for (auto& p : j["patterns"])
            by_set[p["set"].get<std::string>()] += p["packets"].get<uint64_t>();
        for (auto& [set, n] : by_set)
            o << "bulwark_pattern_drops_total{service=\"" << j["name"].get<std::string>()
              << "\",set=\"" << set << "\"} " << n << "\n";
    }
    o << "# HELP bulwark_bans Sources the guard bans now (escalating bans).\n"
         "# TYPE bulwark_bans gauge\n";
    for (auto& j : all)
        if (j.contains("bans") && !j["bans"].is_null())
            o << "bulwark_bans{service=\"" << j["name"].get<std::string>() << "\"} "
              << j["bans"]["active"].get<uint64_t>() << "\n";
    o << "# HELP bulwark_bans_issued_total Bans the guard has given since it was loaded.\n"
         "# TYPE bulwark_bans_issued_total counter\n";
    for (auto& j : all)
        if (j.contains("bans") && !j["bans"].is_null())
            o << "bulwark_bans_issued_total{service=\"" << j["name"].get<std::string>() << "\"} "
              << j["bans"]["issued"].get<uint64_t>() << "\n";
    o << "# HELP bulwark_spray_mode Whether new sources share aggregate buckets now (1) or not.\n"
         "# TYPE bulwark_spray_mode gauge\n";
    for (auto& j : all)
        if (j.contains("sprays"))
            o << "bulwark_spray_mode{service=\"" << j["name"].get<std::string>() << "\"} "
              << (j["sprays"]["on"].get<bool>() ? 1 : 0) << "\n";
    o << "# HELP bulwark_spray_shared_packets_total Packets of untracked sources policed by "
         "their aggregate.\n"
         "# TYPE bulwark_spray_shared_packets_total counter\n";
    for (auto& j : all)
        if (j.contains("sprays"))
            o << "bulwark_spray_shared_packets_total{service=\"" << j["name"].get<std::string>()
              << "\"} " << j["sprays"]["shared_packets"].get<uint64_t>() << "\n";
    o << "# HELP bulwark_syn_cookies_mode Whether SYNs to inspected ports are answered with SYN "
         "cookies from XDP now (1) or not.\n"
         "# TYPE bulwark_syn_cookies_mode gauge\n";
    for (auto& j : all)
        if (j.contains("syn_cookies"))
            o << "bulwark_syn_cookies_mode{service=\"" << j["name"].get<std::string>() << "\"} "
              << (j["syn_cookies"]["on"].get<bool>() ? 1 : 0) << "\n";
    o << "# HELP bulwark_attached Whether the guard's XDP program is attached (1) or not (0).\n"
         "# TYPE bulwark_attached gauge\n";
    for (auto& j : all)
        o << "bulwark_attached{service=\"" << j["name"].get<std::string>() << "\",interface=\""
          << j["interface"].get<std::string>() << "\",mode=\"" << j["mode"].get<std::string>()
          << "\"} " << (j["attached"].get<bool>() ? 1 : 0) << "\n";
    return o.str();
}

}  // namespace bulwark::guard
