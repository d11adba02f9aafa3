// bulwark stats: the guard's counters as a table, the contract JSON or Prometheus text.
#include <iostream>

#include "cmd/commands.hpp"
#include "guard/pins.hpp"
#include "guard/stats.hpp"

namespace bulwark::cmd {

int stats(const Args& args) {
    Flags f("stats");
    f.add()("name", po::value<std::string>(), "instance (default: every instance)")(
        "json", "the contract JSON of docs/design.md")("prometheus", "Prometheus text exposition")(
        "top", po::value<size_t>()->default_value(10), "top sources to list");
    if (auto rc = f.parse(args)) return *rc;
    auto top = f.get<size_t>("top");
    std::vector<Json> all;
    if (f.has("name"))
        all.push_back(guard::stats(f.str("name"), top));
    else
        for (auto& n : guard::instances()) all.push_back(guard::stats(n, top));
    if (f.has("prometheus")) {
        std::cout << guard::format_prometheus(all);
    } else if (f.has("json")) {
        std::cout << (f.has("name") ? all.front() : Json(all)).dump(2) << "\n";
    } else {
        if (all.empty())
            std::cout << "no bulwark instances (nothing under " << guard::pin_root() << ")\n";
        for (auto& j : all) std::cout << guard::format_table(j);
    }
    return kOk;
}

}  // namespace bulwark::cmd
