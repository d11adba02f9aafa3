// Compiled filters kept between runs: a service restarted with the same profile skips parsing,
// libseccomp and the launch probe. Root's only: entries are trusted because nobody else can
// write them, and anything else found there is ignored and replaced.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sandbox/seccomp_compile.hpp"

namespace bulwark::seccomp::cache {

// $BULWARK_CACHE_DIR/seccomp, or /var/cache/bulwark/seccomp (core/cache.hpp).
std::string dir();

// What decides the compiled program besides the profile's bytes: the kept capabilities (they
// resolve `includes.caps`), the kernel and libseccomp versions (known syscalls, the ENOSYS
// stub) and bulwark's own binary (the compiler: version, inode, size, mtime). A change in any is a
// different entry.
std::string key(const std::string& profile_sha256, const std::vector<std::string>& kept_caps);

struct Entry {
    Compiled filter;
    std::vector<std::string> launch_denials;
};

// The entry for `key`, or nothing when it is missing, unreadable, not root's own 0600 file in a
// directory of root's that no one else can write, or not what store wrote for this key.
std::optional<Entry> load(const std::string& dir, const std::string& key);

// Writes the entry (0600, whole, then renamed into place), creating the directory (0700).
// Returns false, writing nothing, when it cannot: a cache is an optimisation, never a failure.
bool store(const std::string& dir, const std::string& key, const Entry& e);

// The entry's file.
std::string path(const std::string& dir, const std::string& key);

}  // namespace bulwark::seccomp::cache
