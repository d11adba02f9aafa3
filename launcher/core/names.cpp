#include "core/names.hpp"

#include "core/error.hpp"

namespace bulwark {

void validate_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || name[0] == '.' ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
            std::string::npos)
        throw InputError("--name " + name + ": use 1-64 of [A-Za-z0-9_.-], not starting with '.'");
}

}  // namespace bulwark
