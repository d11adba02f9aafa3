#include "oci/copyup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace bulwark::oci {
namespace {

void copy_file(int from, int to, const char* name, const struct stat& st, const std::string& at) {
    UniqueFd in(openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) throw_sys("open(" + at + ")");
    UniqueFd out(openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) throw_sys("create(" + at + " on the tmpfs)");
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
        if (n < 0) throw_sys("sendfile(" + at + ")");
        if (n == 0) break;  // the file shrank under us: what was there is copied
        left -= n;
    }
}

}  // namespace

void copy_tree(int from, int to, const std::string& what) {
    // fdopendir takes the descriptor it reads: a duplicate, so `from` stays the caller's.
    int dup = fcntl(from, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) throw_sys("dup(" + what + ")");
    std::unique_ptr<DIR, int (*)(DIR*)> dir(fdopendir(dup), closedir);
    if (!dir) {
        close(dup);
        throw_sys("opendir(" + what + ")");
    }
    while (dirent* e = readdir(dir.get())) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        auto at = what + "/" + name;
        struct stat st {};
        if (fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            throw_sys("stat(" + at + ")");
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(to, name.c_str(), 0700) != 0) throw_sys("mkdir(" + at + " on the tmpfs)");
            UniqueFd sub_from(
                openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            UniqueFd sub_to(
                openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub_from || !sub_to) throw_sys("open(" + at + ")");
            copy_tree(sub_from.get(), sub_to.get(), at);
        } else if (S_ISREG(st.st_mode)) {
            copy_file(from, to, name.c_str(), st, at);
        } else if (S_ISLNK(st.st_mode)) {
            std::vector<char> target(PATH_MAX);
            ssize_t n = readlinkat(from, name.c_str(), target.data(), target.size() - 1);
            if (n < 0) throw_sys("readlink(" + at + ")");
            target[static_cast<size_t>(n)] = '\0';
            if (symlinkat(target.data(), to, name.c_str()) != 0)
                throw_sys("symlink(" + at + " on the tmpfs)");
        } else if (mknodat(to, name.c_str(), st.st_mode, st.st_rdev) != 0) {
            throw_sys("mknod(" + at + " on the tmpfs)");
        }
        // Owner before mode: chown clears the set-id bits that chmod then puts back.
        if (fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            throw_sys("chown(" + at + " on the tmpfs)");
        if (!S_ISLNK(st.st_mode) && fchmodat(to, name.c_str(), st.st_mode & 07777, 0) != 0)
            throw_sys("chmod(" + at + " on the tmpfs)");
        const timespec times[2] = {st.st_atim, st.st_mtim};
        if (utimensat(to, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
            throw_sys("utimensat(" + at + " on the tmpfs)");
    }
}

}  // namespace bulwark::oci
