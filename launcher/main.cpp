// bulwark: the command table. Each command lives in launcher/cmd/ with its flags, usage and exit
// codes; main finds it ("xdp attach" is two words) and catches what it lets through.

#include <cstring>
#include <iostream>

#include "cmd/commands.hpp"

namespace bulwark::cmd {

namespace {

int help(const Args&);
int version(const Args&) {
    std::cout << "bulwark " << BULWARK_VERSION << "\n";
    return kOk;
}

}  // namespace

const std::vector<Command>& table() {
    static const std::vector<Command> commands = {
        {"run", "[options] -- COMMAND [ARG...]", "start COMMAND in the sandbox, guarded", run},
        {"check", "profile|policy|config FILE [options]", "validate and summarise a file", check},
        {"xdp attach", "--iface IF --policy FILE --name NAME [options]",
         "attach the guard to an interface", xdp_attach},
        {"xdp detach", "--name NAME", "remove an attached guard", xdp_detach},
        {"policy reload", "--name NAME FILE [options]", "put a new policy in force at once",
         policy_reload},
        {"policy test", "--policy FILE [options] [REQUEST_FILE...]",
         "the verdicts a policy gives to requests", policy_test},
        {"stats", "[options]", "counters of the guards", stats},
        {"events", "--name NAME [options]", "the guard's drop events", events},
        {"ban list", "--name NAME [--json] [--all]", "the sources the guard bans", ban_list},
        {"ban add", "--name NAME ADDRESS [--for DURATION]", "ban a source now", ban_add},
        {"ban remove", "--name NAME ADDRESS", "lift a source's ban", ban_remove},
        {"sign", "--key PRIVATE.pem FILE", "sign a file (FILE.sig)", sign},
        {"verify", "--pub PUBLIC.pem FILE", "check a file's signature", verify},
        {"audit verify", "FILE [options]", "check an audit log's chain", audit_verify},
        {"rootfs seal", "DIR --out MANIFEST [options]", "write a rootfs manifest", rootfs_seal},
        {"profile merge", "A.json B.json... --out C.json",
         "one seccomp profile from several (learned) ones", profile_merge},
        {"doctor", "[--json] [--iface IF]",
         "what this host offers of what bulwark needs, and the fixes", doctor},
        {"version", "", "print the version", version},
        {"help", "", "this list; `bulwark COMMAND --help` for a command's options", help},
    };
    return commands;
}

namespace {

std::string summary() {
    std::string s = "usage: bulwark COMMAND [ARG...]\n\n";
    for (auto& c : table()) {
        std::string line = std::string("  ") + c.name + (*c.synopsis ? " " : "") + c.synopsis;
        s += line + "\n      " + c.summary + "\n";
    }
    return s;
}

int help(const Args&) {
    std::cout << summary();
    return kOk;
}

}  // namespace

}  // namespace bulwark::cmd

int main(int argc, char** argv) {
    using namespace bulwark::cmd;
    Args args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << summary();
        return kUsage;
    }
    if (args[0] == "--version") args[0] = "version";
    if (args[0] == "--help" || args[0] == "-h") args[0] = "help";
    // A one-word command, or the first word of a group ("xdp") and the form ("attach").
    const Command* found = nullptr;
    size_t words = 1;
    bool group = false;
    for (auto& c : table()) {
        auto name = std::string(c.name);
        if (name == args[0]) found = &c;
        if (name.rfind(args[0] + " ", 0) == 0) {
            group = true;
            if (args.size() > 1 && name == args[0] + " " + args[1]) found = &c, words = 2;
        }
    }
    if (!found) {
        if (group) {
            const char* lead = "usage: ";
            for (auto& c : table())
                if (std::string(c.name).rfind(args[0] + " ", 0) == 0) {
                    std::cerr << lead << "bulwark " << c.name << " " << c.synopsis << "\n";
                    lead = "       ";
                }
            return kUsage;
        }
        std::cerr << "bulwark: unknown command \"" << args[0] << "\"\n" << summary();
        return kUsage;
    }
    Args rest(args.begin() + static_cast<long>(words), args.end());
    try {
        return found->main(rest);
    } catch (const std::exception& e) {
        // What a command does not handle itself: one line, exit 1.
        std::cerr << "bulwark: " << e.what() << "\n";
        return kFailed;
    }
}
