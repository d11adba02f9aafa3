// Every command's handler; the table in launcher/main.cpp names them. One file per command
// (group) in launcher/cmd/.
#pragma once

#include <string>
#include <vector>

#include "cmd/command.hpp"

namespace bulwark::cmd {

using Args = std::vector<std::string>;

int run(const Args& args);            // run.cpp
int check(const Args& args);          // check.cpp
int xdp_attach(const Args& args);     // xdp.cpp
int xdp_detach(const Args& args);     // xdp.cpp
int policy_reload(const Args& args);  // policy.cpp
int policy_test(const Args& args);    // policy.cpp
int stats(const Args& args);          // stats.cpp
int events(const Args& args);         // events.cpp
int sign(const Args& args);           // sign.cpp
int verify(const Args& args);         // sign.cpp
int audit_verify(const Args& args);   // audit.cpp
int rootfs_seal(const Args& args);    // rootfs.cpp
int profile_merge(const Args& args);  // profile.cpp
int doctor(const Args& args);         // doctor.cpp
int ban_list(const Args& args);       // ban.cpp
int ban_add(const Args& args);        // ban.cpp
int ban_remove(const Args& args);     // ban.cpp

}  // namespace bulwark::cmd
