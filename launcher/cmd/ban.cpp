// bulwark ban list|add|remove: the guard's escalating bans, for operators. The program bans by
// itself (policy "bans"); these read and change its `bans` map through the pins, keyed as the
// program keys sources.
#include <iostream>

#include "cmd/commands.hpp"
#include "core/sys.hpp"
#include "guard/bans.hpp"
#include "guard/pins.hpp"
#include "guard/policy.hpp"

namespace bulwark::cmd {

namespace {

struct Instance {
    std::string dir;
    bw_config cfg;
    UniqueFd bans;
    explicit Instance(const std::string& name)
        : dir(guard::instance_dir(name)),
          cfg(guard::config_in_force(dir)),
          bans(guard::open_pin(dir + "/" BW_MAP_BANS)) {}
};

uint64_t now_ns() {
    return static_cast<uint64_t>(clock_ns(CLOCK_MONOTONIC));
}

// The command's body, its errors printed as "bulwark: ban VERB: ...".
int guarded(const char* verb, const std::function<int()>& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        std::cerr << "bulwark: ban " << verb << ": " << e.what() << "\n";
        return kFailed;
    }
}

}  // namespace

int ban_list(const Args& args) {
    Flags f("ban list");
    f.add()("name", po::value<std::string>(), "instance")("json", "a JSON array")(
        "all", "also ended bans whose level is still remembered");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("name")) return f.usage_error("--name is required");
    return guarded("list", [&] {
        Instance in(f.str("name"));
        auto now = now_ns();
        Json list = Json::array();
        for (auto& e : guard::read_bans(in.bans.get()))
            if (f.has("all") || now < e.ban.until_ns)
                list.push_back(guard::ban_json(e, in.cfg, now));
        if (f.has("json")) {
            std::cout << list.dump(2) << "\n";
            return kOk;
        }
        if (list.empty()) std::cout << "no bans in force on " << f.str("name") << "\n";
        for (auto& b : list)
            std::cout << b["source"].get<std::string>() << "  "
                      << (b["active"].get<bool>()
                              ? std::to_string(b["seconds_left"].get<uint64_t>()) + "s left"
                              : std::string("ended"))
                      << "  level " << b["level"].get<unsigned>() << "  "
                      << b["reason"].get<std::string>() << "  " << b["drops"].get<uint64_t>()
                      << " drops\n";
        return kOk;
    });
}

int ban_add(const Args& args) {
    Flags f("ban add");
    f.add()("name", po::value<std::string>(), "instance")(
        "for", po::value<std::string>(),
        "how long, e.g. \"1 hour\" (default: the policy's bans.for, doubled per ban in a row)");
    f.positional("address");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("name") || !f.has("address"))
        return f.usage_error("--name and an ADDRESS are required");
    return guarded("add", [&] {
        Instance in(f.str("name"));
        if (!in.cfg.bans.for_ns)
            throw InputError(
                "the policy in force has no \"bans\": the guard does not look bans "
                "up without one (add \"bans\" to the policy and reload it)");
        auto key = guard::source_key(f.str("address"), in.cfg);
        std::optional<uint64_t> want;
        if (f.has("for")) want = policy::parse_duration(f.str("for"));
        uint64_t length = guard::add_ban(in.bans.get(), key, in.cfg, want, now_ns());
        std::cout << "banned " << guard::source_text(key, in.cfg) << " for "
                  << length / 1'000'000'000ull << " s\n";
        return kOk;
    });
}

int ban_remove(const Args& args) {
    Flags f("ban remove");
    f.add()("name", po::value<std::string>(), "instance");
    f.positional("address");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("name") || !f.has("address"))
        return f.usage_error("--name and an ADDRESS are required");
    return guarded("remove", [&] {
        Instance in(f.str("name"));
        auto key = guard::source_key(f.str("address"), in.cfg);
        if (!guard::remove_ban(in.bans.get(), key))
            throw InputError(guard::source_text(key, in.cfg) + " is not banned");
        std::cout << "lifted the ban of " << guard::source_text(key, in.cfg) << "\n";
        return kOk;
    });
}

}  // namespace bulwark::cmd
