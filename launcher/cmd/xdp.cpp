// bulwark xdp attach|detach: the guard on an interface without a sandbox (docs/design.md).
#include <iostream>

#include "cmd/commands.hpp"
#include "core/error.hpp"
#include "guard/attach.hpp"
#include "guard/pins.hpp"
#include "guard/policy.hpp"

namespace bulwark::cmd {

int xdp_attach(const Args& args) {
    Flags f("xdp attach");
    f.add()("iface", po::value<std::string>(), "interface")(
        "policy", po::value<std::string>(), "policy JSON")("name", po::value<std::string>(),
                                                           "instance name (the pin directory)")(
        "mode", po::value<std::string>()->default_value("auto"), "native|skb|auto")(
        "trust-key", po::value<std::string>(),
        "Ed25519 public key PEM the policy must be signed by")(
        "verbose", "libbpf's messages and the verifier's log even when the load succeeds");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("name") || !f.has("iface") || !f.has("policy"))
        return f.usage_error("--iface, --policy and --name are required");
    auto mode = guard::parse_mode(f.str("mode"));
    auto p = policy::load_policy(f.str("policy"), f.str("trust-key"));
    auto name = f.str("name"), iface = f.str("iface");
    auto used = guard::attach(p, iface, name, mode, -1, f.has("verbose"));
    std::cout << "attached " << name << " to " << iface << " (" << used << "), pinned at "
              << guard::pin_dir(name) << "\n";
    return kOk;
}

int xdp_detach(const Args& args) {
    Flags f("xdp detach");
    f.add()("name", po::value<std::string>(), "instance name");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("name")) return f.usage_error("--name is required");
    guard::detach(f.str("name"));
    std::cout << "detached " << f.str("name") << "\n";
    return kOk;
}

}  // namespace bulwark::cmd
