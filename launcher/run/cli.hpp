// Command-line and config-file parsing into RunOptions. Pure: no system state is touched.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/options.hpp"

namespace bulwark::cli {

// "128m", "64k", "1g", "4096" -> bytes. InputError for anything else, zero, or over 1 TiB.
uint64_t parse_size(const std::string& s, const std::string& what);
TmpfsSpec parse_tmpfs(const std::string& spec);                          // PATH[:SIZE]
BindSpec parse_bind(const std::string& spec);                            // SRC:DST[:rw|:ro]
std::pair<std::string, std::string> parse_env(const std::string& spec);  // K=V
NetMode parse_net(const std::string& s);
NotifyMode parse_notify(const std::string& s);  // exec|app

// `bulwark run` arguments (everything after "run"). --config is read first; flags given on the
// command line replace the config's value (lists included). Throws UsageError or InputError.
RunOptions parse_run(const std::vector<std::string>& args);

// A config file as in docs/design.md; relative paths are relative to the file's directory.
// trust_key: non-empty requires a valid Ed25519 signature (path + ".sig") by that key.
RunOptions load_config(const std::string& path, const std::string& trust_key = "");

// Checks that apply however the options were given (absolute paths, non-empty command...).
void validate(const RunOptions& o);

// The flags of `bulwark run` (its --help prints them).
boost::program_options::options_description run_options();

}  // namespace bulwark::cli
