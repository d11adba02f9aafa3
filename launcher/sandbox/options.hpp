// What `bulwark run` was asked to do, after flags and config file are merged and validated.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/cgroups.hpp"
#include "sandbox/users.hpp"

namespace bulwark {

struct TmpfsSpec {
    std::string path;  // absolute, inside the sandbox
    uint64_t size_bytes = 128ull << 20;
    bool operator==(const TmpfsSpec&) const = default;
};

struct BindSpec {
    std::string src;  // absolute host path
    std::string dst;  // absolute path inside the sandbox
    bool rw = false;
    bool operator==(const BindSpec&) const = default;
};

enum class NetMode { None, Host, Veth };

// When a run under systemd (Type=notify) reports READY=1: once the app is exec'd (`exec`), or
// when the app itself says so through the notify socket bulwark gives it (`app`).
enum class NotifyMode { Exec, App };

struct RunOptions {
    std::string name = "app";
    std::string rootfs;
    std::string profile;  // empty: the installed default profile
    std::string policy;
    users::Ids user;
    NetMode net = NetMode::None;
    std::string iface, host_addr, addr;
    std::vector<TmpfsSpec> tmpfs;  // /tmp is always present, 128m unless listed here
    std::vector<BindSpec> binds;
    std::vector<std::string> caps;
    std::vector<std::pair<std::string, std::string>> env;
    std::string workdir = "/";
    std::string hostname;  // empty: the name
    std::string audit_log;
    std::string audit_key;  // file whose bytes key the log's HMAC chain; empty: SHA-256
    // Ed25519 public key: profile, policy and config must carry a valid FILE.sig. Command line
    // only: a config cannot name the key that vouches for it.
    std::string trust_key;
    std::string verify_rootfs;  // manifest from `rootfs seal`: refuse a rootfs that differs
    cgroups::Limits limits;     // --memory, --pids, --cpus: the run's own cgroup v2
    unsigned stop_timeout = 10;
    NotifyMode notify = NotifyMode::Exec;
    // `--learn OUT.json`: run under the learning filter and write the learned profile there.
    // Command line only: a config that learns would overwrite a file on every start.
    std::string learn;
    std::vector<std::string> command;
};

}  // namespace bulwark
