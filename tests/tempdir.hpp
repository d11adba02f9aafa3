// A directory under /tmp for one test, removed with its contents when the test ends, also when
// an assertion fails (the destructor runs as Catch unwinds).
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <system_error>

class TempDir {
  public:
    explicit TempDir(const std::string& tag) {
        std::string tmpl = "/tmp/bulwark-" + tag + "-XXXXXX";
        REQUIRE(mkdtemp(tmpl.data()));
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;  // never throw from here; a leftover directory is not a test failure
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};
