// bulwark rootfs seal DIR --out MANIFEST: the manifest `run --verify-rootfs` checks.
#include <iostream>

#include "cmd/commands.hpp"
#include "core/json_util.hpp"
#include "core/signing.hpp"
#include "core/sys.hpp"
#include "sandbox/manifest.hpp"

namespace bulwark::cmd {

int rootfs_seal(const Args& args) {
    Flags f("rootfs seal");
    f.add()("out", po::value<std::string>(), "manifest to write")(
        "key", po::value<std::string>(), "Ed25519 private key: also write MANIFEST.sig");
    f.positional("dir");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("dir") || !f.has("out")) return f.usage_error("DIR and --out are required");
    auto dir = f.str("dir"), out = f.str("out");
    auto entries = manifest::scan(dir);
    write_file_atomic(out, manifest::to_json(entries).dump(1) + "\n");
    if (f.has("key")) signing::sign_file(f.str("key"), out);
    std::cout << "sealed " << dir << ": " << entries.size() << " entries in " << out
              << (f.has("key") ? " (signed)" : "") << "\n";
    return kOk;
}

}  // namespace bulwark::cmd
