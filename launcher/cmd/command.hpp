// The command table's entry (crun's command table, xdp-tools' DEFINE_COMMAND) and what every
// command shares: flags parsed by Boost.Program_options, usage generated from the option
// descriptions, the exit codes of docs/design.md.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::cmd {

namespace po = boost::program_options;

inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;       // the command ran and failed
inline constexpr int kUsage = 2;        // bad command line
inline constexpr int kRunFailed = 125;  // `run`: bulwark itself failed
inline constexpr int kNotFound = 127;   // `run`: the app's command does not exist

// One subcommand ("stats") or one form of a command group ("xdp attach"). A command's handler
// owns its flags and the mapping of its failures to exit codes; what it lets through ends in
// main as "bulwark: WHAT" and exit 1.
struct Command {
    const char* name;      // "xdp attach"
    const char* synopsis;  // after the name: "--iface IF --policy FILE --name NAME"
    const char* summary;   // one line for `bulwark help`
    int (*main)(const std::vector<std::string>& args);
};

// Every command, in the order `bulwark help` lists them (launcher/main.cpp).
const std::vector<Command>& table();

// A command's flags: the visible options (its --help and usage errors print them), positional
// arguments (hidden) and the parsed values.
class Flags {
  public:
    explicit Flags(const char* command);
    po::options_description_easy_init add() { return visible_.add_options(); }
    // A positional argument NAME, `max` times (-1: any number), stored as strings.
    Flags& positional(const char* name, int max = 1);

    // Parses `args`. nullopt: go on; otherwise the command's exit code: kOk after printing the
    // help for -h/--help, kUsage after printing the error and the usage to stderr.
    std::optional<int> parse(const std::vector<std::string>& args);
    // Prints "bulwark: COMMAND: why" and the usage to stderr; returns kUsage.
    int usage_error(const std::string& why) const;
    std::string usage() const;

    bool has(const char* name) const { return vm_.count(name) > 0; }
    std::string str(const char* name, const std::string& fallback = "") const;
    std::vector<std::string> list(const char* name) const;
    template <typename T>
    T get(const char* name) const {
        return vm_[name].as<T>();
    }

  private:
    const Command& command_;
    po::options_description visible_, hidden_;
    po::positional_options_description pos_;
    po::variables_map vm_;
};

// The usage of one command: its synopsis line and a generated list of `options`.
std::string usage_of(const Command& c, const po::options_description& options);

}  // namespace bulwark::cmd
