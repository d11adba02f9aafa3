// Results kept between runs, so a restart skips what it computed last time: compiled seccomp
// filters (sandbox/seccomp_cache.hpp) and a policy's pattern tables (guard/dfa_cache.hpp).
// Root's only: an entry is trusted because nobody else can write it, and anything else found
// there is ignored and replaced. Never a failure: a cache that cannot be read or written costs
// the next run a compile.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace bulwark::cache {

// $BULWARK_CACHE_DIR/KIND, or /var/cache/bulwark/KIND.
std::string dir(const std::string& kind);

// bulwark's own binary (version, device:inode, size, mtime), for the keys: a rebuilt or
// upgraded compiler starts afresh.
std::string binary_identity();

// The bytes of DIR/NAME, or nothing when it is missing, unreadable, or not root's own 0600
// regular file (opened O_NOFOLLOW, checked on the fd) in a directory of root's that no one else
// can write. A hit is marked used now (its mtime), for trim().
std::optional<std::string> load(const std::string& dir, const std::string& name);

// Writes DIR/NAME (0600, whole, then renamed into place), creating DIR (0700). Returns false,
// writing nothing, when it cannot.
bool store(const std::string& dir, const std::string& name, const std::string& bytes);

// Removes the least recently used entries of DIR whose names end in `suffix` beyond the `keep`
// most recent: for entries big enough that one per edit of a file would add up.
void trim(const std::string& dir, const std::string& suffix, size_t keep);

}  // namespace bulwark::cache
