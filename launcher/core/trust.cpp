#include "core/trust.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <deque>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace bulwark::trust {

namespace {

std::string octal(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::deque<std::string> components(const std::string& path) {
    std::deque<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) out.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::string join(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace

std::optional<std::string> judge(const Node& n, uid_t invoker, bool last) {
    const char* what = last ? "" : "directory ";
    if (n.uid != 0 && n.uid != invoker)
        return what + n.path + " is owned by uid " + std::to_string(n.uid) + ", not root";
    if (last && !S_ISREG(n.mode)) return n.path + " is not a regular file";
    if (!last && !S_ISDIR(n.mode)) return n.path + " is not a directory";
    mode_t w = n.mode & (S_IWGRP | S_IWOTH);
    if (w == 0 || (!last && n.uid == 0 && (n.mode & S_ISVTX))) return std::nullopt;
    std::string who = w == (S_IWGRP | S_IWOTH) ? "group and others"
                      : w == S_IWGRP           ? "its group"
                                               : "others";
    return what + n.path + " is writable by " + who + " (mode " + octal(n.mode) + ")";
}

void require_trusted(const std::string& path) {
    uid_t invoker = getuid();
    auto refuse = [&](const std::string& why) {
        throw InputError(path + ": refused: " + why +
                         "; whoever can change it controls the sandbox (make it root's and not "
                         "writable by others, or sign it and pass --trust-key)");
    };
    std::string start = "/";
    if (path.empty() || path[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) throw_sys("getcwd");
        start = cwd;
    }
    auto todo = components(start);
    for (auto& c : components(path)) todo.push_back(c);
    std::string dir = "/";
    struct stat st {};
    if (lstat("/", &st) != 0) throw_sys("lstat(/)");
    if (auto why = judge({"/", st.st_uid, st.st_mode}, invoker, false)) refuse(*why);
    uid_t dir_uid = st.st_uid;  // who owns `dir`, which decides whether its links are followed
    int links = 0;
    while (!todo.empty()) {
        std::string name = todo.front();
        todo.pop_front();
        if (name == ".") continue;
        if (name == "..") {                 // `dir` holds no links, so its parent is lexical
            size_t slash = dir.rfind('/');  // `dir` is absolute: there is one
            dir.resize(slash == 0 ? 1 : slash);
            if (lstat(dir.c_str(), &st) != 0) throw_sys("lstat(" + dir + ")");
            dir_uid = st.st_uid;
            continue;
        }
        std::string p = join(dir, name);
        if (lstat(p.c_str(), &st) != 0) return;
        if (S_ISLNK(st.st_mode)) {
            if (dir_uid != 0) refuse("symbolic link " + p + " is in a directory not owned by root");
            if (++links > 40) refuse("too many symbolic links");
            std::string target(PATH_MAX, '\0');
            ssize_t n = readlink(p.c_str(), target.data(), target.size());
            if (n <= 0) throw_sys("readlink(" + p + ")");
            target.resize(static_cast<size_t>(n));
            auto parts = components(target);
            todo.insert(todo.begin(), parts.begin(), parts.end());
            if (target[0] == '/') {
                dir.assign(1, '/');
                dir_uid = 0;  // judged above
            }
            continue;
        }
        if (auto why = judge({p, st.st_uid, st.st_mode}, invoker, todo.empty())) refuse(*why);
        dir = p;
        dir_uid = st.st_uid;
    }
}

std::string read_trusted(const std::string& path) {
    require_trusted(path);
    return read_file(path);
}

}  // namespace bulwark::trust
