// `bulwark stats`: an instance's counters, pattern hits and top sources read from its pins, as
// the contract JSON of docs/design.md, a text table or Prometheus exposition.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/json_util.hpp"

namespace bulwark::guard {

// The `stats --json` object of one instance (contract in docs/design.md); top N sources.
Json stats(const std::string& name, size_t top);
std::string format_table(const Json& one);
std::string format_prometheus(const std::vector<Json>& all);

}  // namespace bulwark::guard
