// bulwark sign --key PRIVATE.pem FILE / bulwark verify --pub PUBLIC.pem FILE: Ed25519 detached
// signatures (FILE.sig) for configs, policies, profiles and manifests.
#include <iostream>

#include "cmd/commands.hpp"
#include "core/signing.hpp"

namespace bulwark::cmd {

int sign(const Args& args) {
    Flags f("sign");
    f.add()("key", po::value<std::string>(), "Ed25519 private key PEM");
    f.positional("file");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("key") || !f.has("file")) return f.usage_error("--key and a FILE are required");
    auto file = f.str("file");
    signing::sign_file(f.str("key"), file);
    std::cout << "signed " << file << ": " << signing::sig_path(file) << "\n";
    return kOk;
}

int verify(const Args& args) {
    Flags f("verify");
    f.add()("pub", po::value<std::string>(), "Ed25519 public key PEM");
    f.positional("file");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("pub") || !f.has("file")) return f.usage_error("--pub and a FILE are required");
    auto file = f.str("file");
    signing::read_verified(file, f.str("pub"));
    std::cout << file << ": good signature by " << f.str("pub") << "\n";
    return kOk;
}

}  // namespace bulwark::cmd
