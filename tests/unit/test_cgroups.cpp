#include <catch2/catch.hpp>

#include "sandbox/cgroups.hpp"

using namespace bulwark;

TEST_CASE("cgroup v2 mount and own cgroup from /proc", "[limits]") {
    // A hybrid host's mountinfo: cgroup v1 controllers and the unified hierarchy beside them.
    std::string mi =
        "30 24 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n"
        "33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory\n";
    CHECK(cgroups::cgroup2_mount(mi) == "/sys/fs/cgroup/unified");
    CHECK(cgroups::cgroup2_mount("33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw\n") ==
          "");
    // A bind of a subtree does not show this process's path: not usable.
    CHECK(cgroups::cgroup2_mount("40 1 0:27 /sub /mnt rw - cgroup2 cgroup2 rw\n") == "");
    CHECK(cgroups::own_cgroup("4:memory:/x\n0::/system.slice/bulwark@web.service\n") ==
          "/system.slice/bulwark@web.service");
    CHECK(cgroups::own_cgroup("4:memory:/x\n") == "");
    CHECK(cgroups::split_words("cpu  memory\tpids\n") ==
          std::vector<std::string>{"cpu", "memory", "pids"});
}
