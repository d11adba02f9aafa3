// Attaching the XDP guard to an interface and reading it back: the pin layout of docs/design.md
// (/sys/fs/bpf/bulwark/NAME/{link, every map by name}), `xdp attach|detach` and `stats`.
#pragma once

#include <string>
#include <vector>

#include "json_util.hpp"
#include "policy.hpp"

namespace bulwark::guard {

enum class Mode { Native, Skb, Auto };
Mode parse_mode(const std::string& s);  // native|skb|auto

std::string pin_root();  // /sys/fs/bpf/bulwark
std::string pin_dir(const std::string& name);

// Loads the program for `p`, attaches it to `iface` through a bpf_link and pins link and maps.
// Fails closed and leaves nothing behind: on any error, whatever was pinned is removed.
// Returns the mode used ("native" or "skb").
std::string attach(const policy::Policy& p, const std::string& iface, const std::string& name,
                   Mode mode);

// Removes the pins; with the last reference gone the kernel detaches the program.
void detach(const std::string& name);

// The `stats --json` object of one instance (contract in docs/design.md); top N sources.
Json stats(const std::string& name, size_t top);
std::vector<std::string> instances();  // names with pins

std::string format_table(const Json& one);
std::string format_prometheus(const std::vector<Json>& all);

}  // namespace bulwark::guard
