// Which owners and modes make a file or directory one bulwark refuses to run on.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "core/trust.hpp"

using bulwark::trust::judge;
using bulwark::trust::Node;
using Catch::Matchers::Contains;

namespace {
Node file(uid_t uid, mode_t perm) {
    return {"/etc/bulwark/app.json", uid, static_cast<mode_t>(S_IFREG | perm)};
}
Node dir(uid_t uid, mode_t perm) {
    return {"/etc/bulwark", uid, static_cast<mode_t>(S_IFDIR | perm)};
}
}  // namespace

TEST_CASE("root's files not writable by others are trusted", "[trust]") {
    CHECK_FALSE(judge(file(0, 0644), 0, true));
    CHECK_FALSE(judge(file(0, 0600), 0, true));
    CHECK_FALSE(judge(file(0, 0400), 0, true));
    CHECK_FALSE(judge(dir(0, 0755), 0, false));
    CHECK_FALSE(judge(dir(0, 0700), 0, false));
}

TEST_CASE("another owner is refused, the invoking user's own files are not", "[trust]") {
    auto why = judge(file(65534, 0644), 0, true);
    REQUIRE(why);
    CHECK(*why == "/etc/bulwark/app.json is owned by uid 65534, not root");
    CHECK(*judge(dir(1000, 0755), 0, false) ==
          "directory /etc/bulwark is owned by uid 1000, not root");
    // Not root: the user's files are the user's business, root's are trusted, others' are not.
    CHECK_FALSE(judge(file(1000, 0644), 1000, true));
    CHECK_FALSE(judge(dir(0, 0755), 1000, false));
    CHECK(judge(file(1001, 0644), 1000, true));
}

TEST_CASE("group or other write is refused, naming who and the mode", "[trust]") {
    CHECK(*judge(file(0, 0666), 0, true) ==
          "/etc/bulwark/app.json is writable by group and others (mode 0666)");
    CHECK(*judge(file(0, 0664), 0, true) ==
          "/etc/bulwark/app.json is writable by its group (mode 0664)");
    CHECK(*judge(file(0, 0646), 0, true) ==
          "/etc/bulwark/app.json is writable by others (mode 0646)");
    CHECK(*judge(dir(0, 0775), 0, false) ==
          "directory /etc/bulwark is writable by its group (mode 0775)");
}

TEST_CASE("a sticky directory of root's is trusted, a file in it or another's is not", "[trust]") {
    CHECK_FALSE(judge(dir(0, 01777), 0, false));  // /tmp
    CHECK(judge(dir(1000, 01777), 0, false));     // not root's
    CHECK(judge(dir(1000, 01777), 1000, false));  // not even for its owner
    CHECK(judge(file(0, 01666), 0, true));        // sticky means nothing on files
    CHECK_THAT(*judge(dir(0, 0777), 0, false), Contains("mode 0777"));  // no sticky bit
}

TEST_CASE("the file must be a regular file, each step a directory", "[trust]") {
    CHECK(*judge({"/dev/stdin", 0, S_IFCHR | 0620}, 0, true) == "/dev/stdin is not a regular file");
    CHECK(*judge(file(0, 0644), 0, false) == "/etc/bulwark/app.json is not a directory");
}
