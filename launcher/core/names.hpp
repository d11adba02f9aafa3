// Instance names: one rule for every place a name becomes a path or an interface name.
#pragma once

#include <string>

namespace bulwark {

// Instance names become pin directories, lock files and interface names: 1-64 of
// [A-Za-z0-9_.-], not starting with '.'. InputError otherwise.
void validate_name(const std::string& name);

}  // namespace bulwark
