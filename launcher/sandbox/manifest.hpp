// Rootfs manifests: `bulwark rootfs seal DIR` records every entry under a root (path, type,
// mode, owner, size, SHA-256 of files, symlink targets); `run --verify-rootfs` compares the
// rootfs with it before anything is mounted, so a tampered container image is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json_util.hpp"

namespace bulwark::manifest {

struct Entry {
    std::string path;   // "/bin/sh", relative to the root; "/" is the root itself
    std::string type;   // file, dir, symlink, char, block, fifo, socket
    uint32_t mode = 0;  // permission bits with setuid/setgid/sticky
    uint32_t uid = 0, gid = 0;
    uint64_t size = 0;   // files only
    std::string sha256;  // files only
    std::string target;  // symlinks only
    bool operator==(const Entry&) const = default;
};

// Walks root without following symlinks or leaving its filesystem; sorted by path.
std::vector<Entry> scan(const std::string& root);

Json to_json(const std::vector<Entry>& entries);
// InputError naming the file and JSON path on anything malformed.
std::vector<Entry> from_json(const Json& doc, const std::string& file);

struct Diff {
    std::vector<std::string> added, removed, changed;  // changed: "/bin/sh (sha256, mode)"
    bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
// Pure: what differs between the sealed entries and the current ones (digests compared in
// constant time).
Diff compare(const std::vector<Entry>& sealed, const std::vector<Entry>& now);
// One line: "2 added (/bin/x, /etc/y), 1 changed (/bin/sh: sha256)", at most 5 paths each.
std::string describe(const Diff& d);

}  // namespace bulwark::manifest
