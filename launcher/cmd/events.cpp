// bulwark events: the guard's drop events from the instance's ring buffer.
#include <iostream>

#include "cmd/commands.hpp"
#include "guard/events.hpp"

namespace bulwark::cmd {

int events(const Args& args) {
    Flags f("events");
    f.add()("name", po::value<std::string>(), "instance")(
        "follow", "keep reading until SIGINT/SIGTERM")("json", "one JSON object per line");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("name")) return f.usage_error("--name is required");
    try {
        guard::events(f.str("name"), f.has("follow"), f.has("json"), std::cout);
        return kOk;
    } catch (const std::exception& e) {
        std::cerr << "bulwark: events: " << e.what() << "\n";
        return kFailed;
    }
}

}  // namespace bulwark::cmd
