// bulwark audit verify FILE: check an audit log's hash chain (and HMACs, with the key).
#include <iostream>

#include "cmd/commands.hpp"
#include "core/sys.hpp"
#include "run/audit.hpp"

namespace bulwark::cmd {

int audit_verify(const Args& args) {
    Flags f("audit verify");
    f.add()("audit-key", po::value<std::string>(), "HMAC key file the log was written with");
    f.positional("file");
    if (auto rc = f.parse(args)) return *rc;
    if (!f.has("file")) return f.usage_error("the audit log FILE is required");
    auto file = f.str("file");
    std::string key;
    if (f.has("audit-key")) key = read_file(f.str("audit-key"));
    auto c = audit::verify_chain(read_file(file), key);
    if (c.bad_line) {
        std::cerr << "bulwark: " << file << ": line " << c.bad_line << ": " << c.why << "\n";
        return kFailed;
    }
    std::cout << file << ": " << c.lines << " lines, chain intact\n";
    return kOk;
}

}  // namespace bulwark::cmd
