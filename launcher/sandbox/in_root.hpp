// Opening a path inside a directory tree as if that tree were / (a rootfs, a bind source), so
// that absolute symlinks and ".." in it resolve inside it and never reach the host's files.
#pragma once

#include <linux/openat2.h>

#include <string>

#include "core/fd.hpp"

namespace bulwark::in_root {

// The openat2 system call, or a stand-in for it in tests: returns an fd or -1 with errno.
using Openat2 = int (*)(int dirfd, const char* path, open_how* how);
int sys_openat2(int dirfd, const char* path, open_how* how);

// Opens `path` under `root` (an O_PATH or O_DIRECTORY fd) with `flags` (O_CLOEXEC is added).
// openat2(RESOLVE_IN_ROOT) where the kernel has it; where it returns ENOSYS or EPERM (a kernel
// before 5.6, or a seccomp filter such as systemd's RestrictSUIDSGID= refusing it) the same
// resolution is done by walk(). Returns an invalid fd with errno set on failure.
UniqueFd open(int root, const std::string& path, int flags, Openat2 openat2 = sys_openat2);

// RESOLVE_IN_ROOT without openat2, as libpathrs and filepath-securejoin do it: one component at
// a time with O_NOFOLLOW under the directory fds walked so far. A symlink is read and its
// target walked in its place (an absolute one from the root again, at most 40 of them: ELOOP),
// ".." steps back to the previous directory fd and never above the root. No path is ever
// resolved by the kernel across more than one component, so a symlink or a rename cannot lead
// the walk outside the root.
UniqueFd walk(int root, const std::string& path, int flags);

}  // namespace bulwark::in_root
