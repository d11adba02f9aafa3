// bulwark profile merge A.json B.json... --out C.json: one profile from several learned runs
// (start-up, traffic, reload...), checked by the same compiler `run` uses before it is written.
#include <iostream>

#include "cmd/commands.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/sys.hpp"
#include "sandbox/seccomp_compile.hpp"
#include "sandbox/seccomp_learn.hpp"

namespace bulwark::cmd {

int profile_merge(const Args& args) {
    Flags f("profile merge");
    f.add()("out", po::value<std::string>(), "the merged profile to write");
    f.positional("profile", -1);
    if (auto rc = f.parse(args)) return *rc;
    auto files = f.list("profile");
    if (files.empty() || !f.has("out")) return f.usage_error("profiles and --out are required");
    std::vector<std::pair<std::string, Json>> docs;
    for (auto& file : files) {
        // Each input must be a profile `run` accepts; its errors name its file.
        seccomp::parse_profile(load_json_file(file), file);
        docs.emplace_back(file, load_json_file(file));
    }
    auto merged = seccomp::learn::merge(docs);
    auto out = f.str("out");
    auto profile = seccomp::parse_profile(merged, out);
    auto compiled = seccomp::compile(seccomp::resolve(profile, seccomp::host_context({})), out);
    write_file_atomic(out, merged.dump(2) + "\n", 0644);
    std::cout << "merged " << files.size() << " profiles into " << out << ": "
              << merged["syscalls"].size() << " rules, " << compiled.program.size()
              << " BPF instructions\n";
    return kOk;
}

}  // namespace bulwark::cmd
