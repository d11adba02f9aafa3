#include "sandbox/users.hpp"

#include <grp.h>
#include <unistd.h>

#include <charconv>

#include "core/error.hpp"

namespace bulwark::users {

namespace {
uint32_t parse_id(const std::string& s, const std::string& spec) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    // (uid_t)-1 means "unchanged" to setresuid, so it cannot be an identity.
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v == UINT32_MAX)
        throw InputError("--user " + spec + ": expected numeric UID:GID");
    return v;
}
}  // namespace

Ids parse(const std::string& spec) {
    auto colon = spec.find(':');
    Ids ids;
    ids.uid = parse_id(spec.substr(0, colon), spec);
    ids.gid = colon == std::string::npos ? ids.uid : parse_id(spec.substr(colon + 1), spec);
    if (ids.uid == 0)
        throw InputError("--user " + spec +
                         ": uid 0 is refused (root in the sandbox is root on the host)");
    if (ids.gid == 0)
        throw InputError("--user " + spec + ": gid 0 is refused (the root group owns host files)");
    return ids;
}

std::string to_string(const Ids& ids) {
    return std::to_string(ids.uid) + ":" + std::to_string(ids.gid);
}

void switch_to(const Ids& ids) {
    if (setgroups(0, nullptr) != 0) throw_sys("setgroups(0)");
    if (setresgid(ids.gid, ids.gid, ids.gid) != 0)
        throw_sys("setresgid(" + std::to_string(ids.gid) + ")");
    if (setresuid(ids.uid, ids.uid, ids.uid) != 0)
        throw_sys("setresuid(" + std::to_string(ids.uid) + ")");
}

}  // namespace bulwark::users
