#include "cmd/command.hpp"

#include <iostream>
#include <sstream>

namespace bulwark::cmd {

namespace {

const Command& find(const char* name) {
    for (auto& c : table())
        if (std::string(c.name) == name) return c;
    throw std::logic_error(std::string("no command ") + name + " in the table");
}

}  // namespace

std::string usage_of(const Command& c, const po::options_description& options) {
    std::ostringstream o;
    o << "usage: bulwark " << c.name << (*c.synopsis ? " " : "") << c.synopsis << "\n";
    if (!options.options().empty()) o << "\n" << options;
    return o.str();
}

Flags::Flags(const char* command)
    : command_(find(command)), visible_(std::string("bulwark ") + command + " options") {
    visible_.add_options()("help,h", "show this help");
}

Flags& Flags::positional(const char* name, int max) {
    if (max == 1)
        hidden_.add_options()(name, po::value<std::string>());
    else
        hidden_.add_options()(name, po::value<std::vector<std::string>>());
    pos_.add(name, max);
    return *this;
}

std::optional<int> Flags::parse(const std::vector<std::string>& args) {
    po::options_description all;
    all.add(visible_).add(hidden_);
    try {
        po::store(po::command_line_parser(args).options(all).positional(pos_).run(), vm_);
        po::notify(vm_);
    } catch (const po::error& e) {
        return usage_error(e.what());
    }
    if (has("help")) {
        std::cout << usage();
        return kOk;
    }
    return std::nullopt;
}

int Flags::usage_error(const std::string& why) const {
    std::cerr << "bulwark: " << command_.name << ": " << why << "\n" << usage();
    return kUsage;
}

std::string Flags::usage() const {
    return usage_of(command_, visible_);
}

std::string Flags::str(const char* name, const std::string& fallback) const {
    return has(name) ? vm_[name].as<std::string>() : fallback;
}

std::vector<std::string> Flags::list(const char* name) const {
    return has(name) ? vm_[name].as<std::vector<std::string>>() : std::vector<std::string>{};
}

}  // namespace bulwark::cmd
