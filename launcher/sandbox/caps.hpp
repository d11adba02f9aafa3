// Capabilities, through libcap: name parsing, and the drop sequence around the uid change.
#pragma once

#include <sys/capability.h>

#include <string>
#include <vector>

namespace bulwark::caps {

// "CAP_NET_BIND_SERVICE" -> value; InputError for unknown names. Case-insensitive, CAP_ required.
cap_value_t parse_name(const std::string& name);
std::vector<cap_value_t> parse_names(const std::vector<std::string>& names);
std::string name_of(cap_value_t v);  // canonical upper-case "CAP_..."

// Step 1, while still root: empty the bounding set except `keep`, clear ambient, and keep the
// permitted set across the coming setuid when something is kept.
void prepare_drop(const std::vector<cap_value_t>& keep);
// Step 2, after setresuid: permitted = effective = inheritable = keep, ambient = keep, so the
// kept capabilities survive execve of a non-setuid program by a non-root user.
void finish_drop(const std::vector<cap_value_t>& keep);

}  // namespace bulwark::caps
