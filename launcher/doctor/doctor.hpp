// `bulwark doctor`: what this host offers of what bulwark needs, probed without changing
// anything (bpftool feature probe, docker info and cilium status answer the same question for
// their tools). Each check says ok, degraded or missing, and the fix.
#pragma once

#include <string>
#include <vector>

#include "core/json_util.hpp"

namespace bulwark::doctor {

enum class Status { Ok, Degraded, Missing };
const char* status_name(Status s);  // "ok", "degraded", "missing"

struct Check {
    std::string id;    // stable, for --json and for tests that skip: "cgroup-controllers"
    std::string what;  // one line: what was found
    Status status = Status::Ok;
    std::string fix;     // empty when ok
    std::string needed;  // what depends on it: "run --memory", "xdp attach", "" (information)
};

struct Options {
    std::string iface;  // --iface: the driver's XDP support
};

// Every probe, in a fixed order. Probes that need root say so when not root.
std::vector<Check> probe(const Options& o);

// One check by its id (kernel tests that skip for a missing feature ask the same question and
// say what doctor would say). InputError for an unknown id.
Check probe_one(const std::string& id);

// 0 when `run` and `xdp attach` can work fully (nothing degraded or missing that they need), 1
// otherwise. Pure.
int exit_code(const std::vector<Check>& checks);

// The table and the JSON document (pure).
std::string table(const std::vector<Check>& checks);
Json to_json(const std::vector<Check>& checks);

}  // namespace bulwark::doctor
