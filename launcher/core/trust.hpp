// Whether a file bulwark runs on (config, profile, policy, manifest, key) can be changed by
// someone other than root: sshd's StrictModes and sudo's checks, applied to the whole path.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace bulwark::trust {

// One step of the walk as lstat saw it.
struct Node {
    std::string path;
    uid_t uid;
    mode_t mode;
};

// What is wrong with a node, or nothing. `invoker`: the real uid; when not root its own files
// are trusted too (its files are its own business). A directory writable by others is trusted
// only when root owns it and the sticky bit is set (/tmp): others may add names there but not
// replace root's. `last`: the file itself, which must be a regular file no one else can write.
std::optional<std::string> judge(const Node& n, uid_t invoker, bool last);

// Throws InputError naming `path` and what is wrong, unless the file and every directory on the
// way to it (the current directory's too, for a relative path) pass `judge`. Symbolic links are
// followed only where root owns the directory holding them, and their targets are walked the
// same way. A path that does not exist passes: reading it reports that.
void require_trusted(const std::string& path);

// require_trusted, then the file's bytes.
std::string read_trusted(const std::string& path);

}  // namespace bulwark::trust
