// Namespaces: which ones the sandbox gets, creating the child in them, and the per-namespace
// set-up done from inside (hostname, loopback).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "sandbox/options.hpp"

namespace bulwark::namespaces {

// mount, pid, ipc, uts, cgroup always; net unless the app shares the host's network.
int clone_flags(NetMode net);

// clone3(2) without CLONE_VM: returns like fork, 0 in the child, which is pid 1 of the new
// pid namespace. With cgroup_fd >= 0 the child starts inside that cgroup (CLONE_INTO_CGROUP),
// which also becomes the root of its cgroup namespace. Throws SysError in the parent.
pid_t clone_child(int flags, int cgroup_fd = -1);

// A clock's offset in a time namespace: seconds, and nanoseconds 0..999999999 added to them.
struct ClockOffset {
    int64_t secs = 0;
    int64_t nanosecs = 0;
};
struct TimeOffsets {
    ClockOffset monotonic, boottime;
};
// Moves the calling process, single-threaded, into a new time namespace whose CLOCK_MONOTONIC
// and CLOCK_BOOTTIME read `o` ahead of the host's (/proc/uptime too); its children follow.
// Offsets can only be set before a process is in the namespace, so it is made for children
// first (unshare), given its offsets, then entered (setns to time_for_children). Throws SysError.
void enter_new_time_namespace(const TimeOffsets& o);

void set_hostname(const std::string& name);
void set_domainname(const std::string& name);  // the NIS domain name, also the UTS namespace's

// A new network namespace has lo down; services expect 127.0.0.1 to work.
void loopback_up();

}  // namespace bulwark::namespaces
