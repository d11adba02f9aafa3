// in_root: openat2(RESOLVE_IN_ROOT) and the component walk that stands in for it where openat2
// is missing or filtered. Every case runs through both, and the walk through open() with an
// openat2 that fails as a filter or an old kernel would.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "../tempdir.hpp"
#include "core/fd.hpp"
#include "sandbox/in_root.hpp"

using namespace bulwark;

namespace {

struct Tree {
    TempDir dir{"inroot"};
    std::string root = dir / "root";
    UniqueFd root_fd;
    Tree() {
        for (auto d : {"", "/bin", "/etc", "/usr", "/usr/lib", "/srv", "/srv/www"})
            REQUIRE(mkdir((root + d).c_str(), 0755) == 0);
        std::ofstream(root + "/bin/sh") << "inside sh";
        std::ofstream(root + "/etc/passwd") << "inside passwd";
        std::ofstream(root + "/usr/lib/libc") << "inside libc";
        std::ofstream(dir / "outside") << "outside the root";
        auto link = [&](const char* target, const char* at) {
            REQUIRE(symlink(target, (root + at).c_str()) == 0);
        };
        link("usr/lib", "/lib");                      // relative, inside
        link("/bin/sh", "/bin/abs");                  // absolute: the root's /bin/sh
        link("../../../../../../etc/passwd", "/up");  // climbs: stops at the root
        link("/", "/srv/slash");                      // the root itself
        link("../../outside", "/srv/www/esc");        // would leave the root on the host
        link(("/" + dir.path() + "/outside").c_str(), "/hostabs");  // a host path, absolute
        link("loop2", "/loop1");
        link("loop1", "/loop2");
        link("/srv/www/../../bin/./sh", "/bin/twisty");
        root_fd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(root_fd);
    }
};

std::string content(const UniqueFd& fd) {
    char buf[64] = {};
    ssize_t n = pread(fd.get(), buf, sizeof buf - 1, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

int fake_enosys(int, const char*, open_how*) {
    errno = ENOSYS;
    return -1;
}
int fake_eperm(int, const char*, open_how*) {
    errno = EPERM;
    return -1;
}

// Opens through each resolver: the kernel's openat2, the walk, and open() falling back.
std::vector<std::pair<std::string, UniqueFd>> open_all(const Tree& t, const std::string& path,
                                                       int flags, std::vector<int>* errs) {
    std::vector<std::pair<std::string, UniqueFd>> out;
    auto add = [&](const char* what, UniqueFd fd) {
        errs->push_back(fd ? 0 : errno);
        out.emplace_back(what, std::move(fd));
    };
    add("openat2", in_root::open(t.root_fd.get(), path, flags));
    add("walk", in_root::walk(t.root_fd.get(), path, flags));
    add("ENOSYS fallback", in_root::open(t.root_fd.get(), path, flags, fake_enosys));
    add("EPERM fallback", in_root::open(t.root_fd.get(), path, flags, fake_eperm));
    return out;
}

}  // namespace

TEST_CASE("in_root resolves inside the root, by openat2 and by the walk alike", "[in_root]") {
    Tree t;
    struct Case {
        const char* path;
        const char* expect;  // file content, or "" for an error
        int err;
    } cases[] = {
        {"/bin/sh", "inside sh", 0},
        {"bin/sh", "inside sh", 0},
        {"/lib/libc", "inside libc", 0},
        {"/bin/abs", "inside sh", 0},
        {"/up", "inside passwd", 0},
        {"/../../../etc/passwd", "inside passwd", 0},
        {"/srv/slash/etc/passwd", "inside passwd", 0},
        {"/srv/slash/../../bin/sh", "inside sh", 0},
        {"/bin/twisty", "inside sh", 0},
        {"/srv/www/esc", "", ENOENT},  // ../../outside from /srv/www is the root's /outside
        {"/hostabs", "", ENOENT},      // an absolute host path means the root's copy of it
        {"/loop1", "", ELOOP},
        {"/bin/sh/x", "", ENOTDIR},
        {"/nope/sh", "", ENOENT},
    };
    for (auto& c : cases) {
        std::vector<int> errs;
        auto fds = open_all(t, c.path, O_RDONLY, &errs);
        for (size_t i = 0; i < fds.size(); ++i) {
            INFO(fds[i].first << ": " << c.path);
            if (*c.expect) {
                REQUIRE(fds[i].second);
                CHECK(content(fds[i].second) == c.expect);
            } else {
                CHECK(!fds[i].second);
                CHECK(errs[i] == c.err);
            }
        }
    }
}

TEST_CASE("in_root: O_PATH lookups and the root itself", "[in_root]") {
    Tree t;
    for (auto path : {"/", "..", "/srv/..", "/srv/slash"}) {
        std::vector<int> errs;
        for (auto& [what, fd] : open_all(t, path, O_PATH | O_DIRECTORY, &errs)) {
            INFO(what << ": " << path);
            REQUIRE(fd);
            struct stat a {
            }, b{};
            REQUIRE(fstat(fd.get(), &a) == 0);
            REQUIRE(fstat(t.root_fd.get(), &b) == 0);
            CHECK(a.st_ino == b.st_ino);
        }
    }
    std::vector<int> errs;
    for (auto& [what, fd] : open_all(t, "", O_PATH, &errs)) {
        INFO(what << ": an empty path names nothing");
        CHECK(!fd);
    }
    CHECK(errs == std::vector<int>(4, ENOENT));
    // O_NOFOLLOW on the last component gives the link itself, as openat2 does.
    errs.clear();
    for (auto& [what, fd] : open_all(t, "/bin/abs", O_PATH | O_NOFOLLOW, &errs)) {
        INFO(what);
        REQUIRE(fd);
        struct stat st {};
        REQUIRE(fstat(fd.get(), &st) == 0);
        CHECK(S_ISLNK(st.st_mode));
    }
}

TEST_CASE("in_root: other openat2 failures are not papered over by the walk", "[in_root]") {
    Tree t;
    auto eacces = [](int, const char*, open_how*) {
        errno = EACCES;
        return -1;
    };
    auto fd = in_root::open(t.root_fd.get(), "/bin/sh", O_RDONLY, eacces);
    CHECK(!fd);
    CHECK(errno == EACCES);
}
