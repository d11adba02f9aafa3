// bulwark run [options] -- COMMAND [ARG...]
#include <algorithm>
#include <iostream>

#include "cmd/commands.hpp"
#include "core/error.hpp"
#include "run/cli.hpp"
#include "run/supervisor.hpp"
#include "sandbox/sandbox.hpp"

namespace bulwark::cmd {

int run(const std::vector<std::string>& args) {
    auto flags_end = std::find(args.begin(), args.end(), "--");
    if (std::find_if(args.begin(), flags_end, [](auto& a) { return a == "--help" || a == "-h"; }) !=
        flags_end) {
        std::cout << usage_of(table().front(), cli::run_options());
        return kOk;
    }
    try {
        auto opt = cli::parse_run(args);
        auto prepared = sandbox::prepare(opt);
        return supervisor::run(prepared);
    } catch (const UsageError& e) {
        // One line, as for every other bad input of `run` (an operator reads it in the journal).
        std::cerr << "bulwark: " << e.what() << " (bulwark run --help lists the options)\n";
        return kRunFailed;
    } catch (const sandbox::CommandNotFound& e) {
        std::cerr << "bulwark: " << e.what() << "\n";
        return kNotFound;
    } catch (const std::exception& e) {
        std::cerr << "bulwark: " << e.what() << "\n";
        return kRunFailed;
    }
}

}  // namespace bulwark::cmd
