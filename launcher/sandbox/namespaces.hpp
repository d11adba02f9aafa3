// Namespaces: which ones the sandbox gets, creating the child in them, and the per-namespace
// set-up done from inside (hostname, loopback).
#pragma once

#include <sys/types.h>

#include <string>

#include "sandbox/options.hpp"

namespace bulwark::namespaces {

// mount, pid, ipc, uts, cgroup always; net unless the app shares the host's network.
int clone_flags(NetMode net);

// clone3(2) without CLONE_VM: returns like fork, 0 in the child, which is pid 1 of the new
// pid namespace. With cgroup_fd >= 0 the child starts inside that cgroup (CLONE_INTO_CGROUP),
// which also becomes the root of its cgroup namespace. Throws SysError in the parent.
pid_t clone_child(int flags, int cgroup_fd = -1);

void set_hostname(const std::string& name);

// A new network namespace has lo down; services expect 127.0.0.1 to work.
void loopback_up();

}  // namespace bulwark::namespaces
