#include <catch2/catch.hpp>

#include "sandbox/sandbox.hpp"

using namespace bulwark;

TEST_CASE("the command's candidates follow the sandbox's PATH, as execvp tries them", "[sandbox]") {
    using V = std::vector<std::string>;
    CHECK(sandbox::path_candidates({"HOME=/", "PATH=/usr/bin:/bin"}, "sh") ==
          V{"/usr/bin/sh", "/bin/sh"});
    // An empty entry is the working directory; a name with a slash is used as it is.
    CHECK(sandbox::path_candidates({"PATH=/bin::"}, "app") == V{"/bin/app", "./app", "./app"});
    CHECK(sandbox::path_candidates({"PATH=/bin"}, "./run.sh") == V{"./run.sh"});
    CHECK(sandbox::path_candidates({"PATH=/bin"}, "/opt/app") == V{"/opt/app"});
    // No PATH at all: the one empty entry.
    CHECK(sandbox::path_candidates({"HOME=/"}, "app") == V{"./app"});
}
