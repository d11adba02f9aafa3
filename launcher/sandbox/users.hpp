// The non-root identity the app runs as.
#pragma once

#include <sys/types.h>

#include <string>

namespace bulwark::users {

struct Ids {
    uid_t uid = 65534;
    gid_t gid = 65534;
    bool operator==(const Ids&) const = default;
};

// "UID:GID" or "UID" (gid = uid), numeric. uid 0 and gid 0 are refused: root inside the sandbox
// is root on the host, as there is no user namespace.
Ids parse(const std::string& spec);
std::string to_string(const Ids& ids);

// Clears supplementary groups, then sets real, effective and saved gid and uid.
void switch_to(const Ids& ids);

}  // namespace bulwark::users
