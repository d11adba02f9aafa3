// bulwark doctor's verdict and its output, on given checks (the probes are kernel_doctor's).
#include <catch2/catch.hpp>

#include "doctor/doctor.hpp"

using namespace bulwark::doctor;

TEST_CASE("doctor exits 1 only for what run or xdp attach needs", "[doctor]") {
    std::vector<Check> c = {{"kernel", "Linux 6.1", Status::Ok, "", "run, xdp attach"},
                            {"systemd", "PID 1 is sh", Status::Degraded, "boot systemd", ""},
                            {"int80", "closed", Status::Missing, "none needed", ""}};
    CHECK(exit_code(c) == 0);  // information only
    auto t = table(c);
    CHECK_THAT(t, Catch::Contains("degraded  systemd"));
    CHECK_THAT(t, Catch::Contains("fix: boot systemd"));
    CHECK_THAT(t, Catch::Contains("can work fully"));
    c.push_back({"cgroup-controllers", "no memory", Status::Missing, "pure v2",
                 "run --memory/--pids/--cpus"});
    CHECK(exit_code(c) == 1);
    t = table(c);
    CHECK_THAT(t, Catch::Contains("needed by: run --memory/--pids/--cpus"));
    auto j = to_json(c);
    CHECK(j.at("ok") == false);
    CHECK(j.at("checks").size() == 4);
    CHECK(j.at("checks")[3].at("status") == "missing");
    CHECK(j.at("checks")[3].at("needed_by") == "run --memory/--pids/--cpus");
    c[3].status = Status::Degraded;
    CHECK(exit_code(c) == 1);
}

TEST_CASE("doctor knows each check by its id", "[doctor]") {
    CHECK(probe_one("kernel").id == "kernel");
    CHECK(probe_one("namespaces").id == "namespaces");
    CHECK_THROWS_AS(probe_one("nope"), bulwark::InputError);
}
