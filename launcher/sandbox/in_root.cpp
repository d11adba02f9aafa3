#include "sandbox/in_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

namespace bulwark::in_root {

namespace {

constexpr int kMaxLinks = 40;  // the kernel's own limit on symlinks in one resolution

void push_components(std::deque<std::string>& todo, const std::string& path) {
    std::deque<std::string> parts;
    for (size_t pos = 0; pos <= path.size();) {
        auto end = std::min(path.find('/', pos), path.size());
        if (end > pos) parts.emplace_back(path, pos, end - pos);
        pos = end + 1;
    }
    todo.insert(todo.begin(), parts.begin(), parts.end());
}

// The target of the symlink `fd` refers to (an O_PATH|O_NOFOLLOW fd of the link itself).
bool read_link(int fd, std::string& out) {
    char buf[4096];
    ssize_t n = readlinkat(fd, "", buf, sizeof buf);
    if (n < 0) return false;
    if (static_cast<size_t>(n) == sizeof buf) {
        errno = ENAMETOOLONG;
        return false;
    }
    out.assign(buf, static_cast<size_t>(n));
    return true;
}

}  // namespace

int sys_openat2(int dirfd, const char* path, open_how* how) {
    return static_cast<int>(syscall(SYS_openat2, dirfd, path, how, sizeof *how));
}

UniqueFd open(int root, const std::string& path, int flags, Openat2 openat2) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(openat2(root, path.c_str(), &how));
    if (fd || (errno != ENOSYS && errno != EPERM)) return fd;
    return walk(root, path, flags);
}

UniqueFd walk(int root, const std::string& path, int flags) {
    if (path.empty()) {  // as openat: an empty path names nothing
        errno = ENOENT;
        return {};
    }
    std::vector<UniqueFd> dirs;  // dirs[0] is the root; back() the directory being searched
    dirs.emplace_back(fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (!dirs.back()) return {};
    std::deque<std::string> todo;
    push_components(todo, path);
    int links = 0;
    while (!todo.empty()) {
        std::string name = std::move(todo.front());
        todo.pop_front();
        if (name == ".") continue;
        if (name == "..") {
            if (dirs.size() > 1) dirs.pop_back();
            continue;
        }
        UniqueFd fd(openat(dirs.back().get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return {};
        struct stat st {};
        if (fstat(fd.get(), &st) != 0) return {};
        bool last = todo.empty();
        if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
            if (++links > kMaxLinks) {
                errno = ELOOP;
                return {};
            }
            std::string target;
            if (!read_link(fd.get(), target)) return {};
            if (!target.empty() && target[0] == '/') dirs.resize(1);
            push_components(todo, target);
            continue;
        }
        if (!last) {
            if (!S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                return {};
            }
            dirs.push_back(std::move(fd));
            continue;
        }
        if (flags & O_PATH) {
            if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                return {};
            }
            return fd;
        }
        // The last component, opened as asked. O_NOFOLLOW: had it been swapped for a symlink
        // since it was checked, this fails (ELOOP) instead of following it.
        UniqueFd out(openat(dirs.back().get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
        if (!out) return {};
        struct stat again {};
        if (fstat(out.get(), &again) != 0) return {};
        if (again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
            errno = EAGAIN;  // replaced between the two opens: the caller may try again
            return {};
        }
        return out;
    }
    // The path named the root itself, or climbed back to it.
    if (flags & O_PATH) return std::move(dirs.back());
    return UniqueFd(openat(dirs.back().get(), ".", flags | O_CLOEXEC));
}

}  // namespace bulwark::in_root
