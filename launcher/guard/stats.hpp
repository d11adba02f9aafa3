// `bulwark stats`: an instance's counters, pattern hits and top sources read from its pins, as
// the contract JSON of docs/design.md, a text table or Prometheus exposition.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bpf/bulwark.h"
#include "core/json_util.hpp"

namespace bulwark::guard {

// The "sprays" object of `stats --json`: whether spray mode is on now (on a CPU that refused a
// new source an entry within the last BW_SPRAY_QUIET_NS), and the totals over CPUs.
Json spray_json(const std::vector<bw_spray>& cpus, const bw_config& cfg, uint64_t now_ns,
                uint64_t aggregates);

// The "syn_cookies" object of `stats --json`: the mode, whether SYNs are answered with cookies
// now (auto: on a CPU past the threshold within the last BW_SYN_QUIET_NS), how many were.
Json syn_json(const std::vector<bw_syn>& cpus, const bw_config& cfg, uint64_t now_ns,
              uint64_t answered);

// The `stats --json` object of one instance (contract in docs/design.md); top N sources.
Json stats(const std::string& name, size_t top);
std::string format_table(const Json& one);
std::string format_prometheus(const std::vector<Json>& all);

}  // namespace bulwark::guard
