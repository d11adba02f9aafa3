// `tmpcopyup`, the mount option runc and crun take and Podman sends for `--read-only` and
// `--tmpfs`: a tmpfs starts with what the image had at its mount point.
#pragma once

#include <string>

namespace bulwark::oci {

// Copies the tree under the directory `from` into the directory `to`, both open descriptors:
// directories, regular files, symlinks, FIFOs and device nodes, each with its owner, mode and
// times. `from` may be a directory the mount on `to` now covers: it is read through its own
// descriptor, never by path. Throws SysError naming `what` and the entry.
void copy_tree(int from, int to, const std::string& what);

}  // namespace bulwark::oci
