#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "../tempdir.hpp"
#include "core/error.hpp"
#include "sandbox/manifest.hpp"

using namespace bulwark;
using Catch::Matchers::Contains;

namespace {
struct Tree {
    TempDir dir{"manifest"};
    std::string root = dir.path();
    Tree() {
        mkdir((root + "/bin").c_str(), 0755);
        mkdir((root + "/etc").c_str(), 0755);
        put("/bin/busybox", "ELF...", 04755);
        put("/etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644);
        REQUIRE(symlink("busybox", (root + "/bin/sh").c_str()) == 0);
    }
    void put(const std::string& rel, const std::string& text, mode_t mode = 0644) const {
        std::ofstream(root + rel, std::ios::trunc) << text;
        chmod((root + rel).c_str(), mode);
    }
};
}  // namespace

TEST_CASE("a sealed tree matches itself and survives the JSON round trip", "[manifest]") {
    Tree t;
    auto e = manifest::scan(t.root);
    REQUIRE(e.size() == 6);  // /, /bin, /bin/busybox, /bin/sh, /etc, /etc/passwd
    CHECK(e[0].path == "/");
    CHECK(e[2].path == "/bin/busybox");
    CHECK(e[2].mode == 04755);
    CHECK(e[2].sha256.size() == 64);
    CHECK(e[3].type == "symlink");
    CHECK(e[3].target == "busybox");
    CHECK(manifest::from_json(manifest::to_json(e), "m.json") == e);
    CHECK(manifest::compare(e, manifest::scan(t.root + "/")).empty());
}

TEST_CASE("every kind of tampering is reported by path", "[manifest]") {
    Tree t;
    auto sealed = manifest::scan(t.root);
    t.put("/etc/passwd", "root:x:0:0::/:/bin/ah\n");  // same size, other bytes
    chmod((t.root + "/bin").c_str(), 0777);
    t.put("/bin/evil", "x");
    unlink((t.root + "/bin/sh").c_str());
    REQUIRE(symlink("/tmp/x", (t.root + "/bin/sh").c_str()) == 0);
    auto d = manifest::compare(sealed, manifest::scan(t.root));
    CHECK(d.added == std::vector<std::string>{"/bin/evil"});
    CHECK(d.removed.empty());
    CHECK(d.changed ==
          std::vector<std::string>{"/bin (mode)", "/bin/sh (target)", "/etc/passwd (sha256)"});
    unlink((t.root + "/etc/passwd").c_str());
    d = manifest::compare(sealed, manifest::scan(t.root));
    CHECK(d.removed == std::vector<std::string>{"/etc/passwd"});
    CHECK(manifest::describe(d) ==
          "1 added: /bin/evil; 1 removed: /etc/passwd; 2 changed: /bin (mode), /bin/sh (target)");
}

TEST_CASE("a malformed manifest names the file and JSON path", "[manifest]") {
    auto bad = [](const std::string& text) {
        return manifest::from_json(Json::parse(text), "m.json");
    };
    CHECK_THROWS_WITH(bad(R"({"bulwark_rootfs_manifest": 2, "entries": []})"),
                      Contains("m.json: /bulwark_rootfs_manifest"));
    CHECK_THROWS_WITH(
        bad(R"({"bulwark_rootfs_manifest": 1, "entries": [{"path": "/", "type": "pipe",
            "mode": 0, "uid": 0, "gid": 0}]})"),
        Contains("/entries/0/type: unknown type \"pipe\""));
    CHECK_THROWS_WITH(
        bad(R"({"bulwark_rootfs_manifest": 1, "entries": [{"path": "/x", "type": "file",
            "mode": 420, "uid": 0, "gid": 0, "size": 1, "sha256": "abc"}]})"),
        Contains("/entries/0/sha256: expected 64 hex digits"));
    CHECK_THROWS_AS(manifest::scan("/nonexistent-bulwark"), SysError);
}
