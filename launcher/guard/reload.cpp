#include "guard/reload.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "guard/attach.hpp"
#include "guard/pins.hpp"
#include "guard/program.hpp"

namespace bulwark::guard {

std::string reload(const std::string& name, const policy::Policy& p) {
    auto dir = instance_dir(name);
    auto lock = lock_instance(dir);
    PinnedPolicy pins(dir);
    auto meta_fd = open_pin(dir + "/" BW_MAP_META);
    auto meta = read_meta(meta_fd.get());
    auto sized = max_entries(open_pin(dir + "/" BW_MAP_SOURCES).get());
    if (sized != p.max_sources)
        throw InputError(p.file + ": max_sources " + std::to_string(p.max_sources) +
                         " differs from the running instance's " + std::to_string(sized) +
                         " (maps are sized at attach: detach and attach to change it)");
    // SYNPROXY's rules were loaded at attach, for the ports of then.
    if (p.syn_flood.cookies != policy::SynFlood::Cookies::Off &&
        (!meta.synproxy || meta.synproxy_ports != ports_digest(p.inspect_ports)))
        throw InputError(p.file + ": syn_flood.cookies: " +
                         (meta.synproxy ? std::string("inspect_ports differ from the attach's")
                                        : std::string("SYN cookies were off at attach")) +
                         ", and SYNPROXY's rules are loaded at attach: detach and attach (or "
                         "restart the run) to change them");
    // Pattern overflow etc. throw before anything is touched; the tables come from the cache
    // when `check policy` or an earlier run compiled the same patterns.
    auto compiled = xdp::compile(p, true);
    compiled.config.epoch = static_cast<uint32_t>(meta.reloads + 1);
    // The seen filter's bits are of epochs counted in the running epoch length: a new length
    // would make every bit stale at once, and a tracked source unknown during a spray.
    if (auto running = pins.config_in_force().sprays.epoch_shift;
        running && compiled.config.sprays.epoch_shift)
        compiled.config.sprays.epoch_shift = running;

    uint32_t old_gen = xdp::active_generation(pins.maps);
    uint32_t new_gen = (old_gen + 1) % BW_GENERATIONS;
    xdp::write_generation(pins.maps, new_gen, compiled, p);  // idle generation: nothing changes
    xdp::switch_generation(pins.maps, new_gen);
    xdp::clear_generation(pins.maps, old_gen);

    meta.reloads++;
    std::memset(meta.policy_sha256, 0, sizeof meta.policy_sha256);
    std::memcpy(meta.policy_sha256, p.sha256.data(),
                std::min(p.sha256.size(), sizeof meta.policy_sha256));
    write_meta(meta_fd.get(), meta);
    return "reloaded " + name + " from " + p.file + " (sha256 " + p.sha256.substr(0, 12) +
           ", reload " + std::to_string(meta.reloads) + ")";
}

}  // namespace bulwark::guard
