// bulwark-oci's commands, runc's lifecycle: `create` sets a container up and leaves its process
// blocked on the state directory's exec.fifo, `start` opens the fifo's other end and the process
// execs the user program; bulwark-oci itself never stays (the caller, conmon or a containerd
// shim, is the subreaper that reaps the container).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.hpp"
#include "oci/cgroup.hpp"
#include "oci/spec.hpp"

namespace bulwark::oci {

struct Globals {
    std::string root = "/run/bulwark-oci";
    bool systemd_cgroup = false;
    std::string config = "/etc/bulwark/oci.json";  // trust_key for signed profiles/policies
    // Where warnings go (--log, else stderr): conmon shows a runtime's stderr to the user.
    std::function<void(const std::string&)> warn = [](const std::string&) {};
};

struct CreateOptions {
    std::string id, bundle = ".", pid_file, console_socket;
    int preserve_fds = 0;
};

// What create leaves in ROOT/ID/state.json, and what the other commands read.
struct State {
    std::string id, bundle, rootfs, created;
    pid_t pid = 0;
    uint64_t start_time = 0;  // /proc/PID/stat's field 22: a reused pid has another
    CgroupDirs cgroup;
    std::string guard;  // the XDP guard's instance name, when org.bulwark.policy put one on
    std::map<std::string, std::string> annotations;
    std::string status;  // derived when read: created, running, paused or stopped
};

// Validates an ID as runc does: [A-Za-z0-9_+.-], not "." or "..", at most 1024 characters.
void check_id(const std::string& id);

// One warning per property of `file` that was ignored (spec.hpp, Unknown).
void warn_unknown(const Globals& g, const std::string& file, const Unknown& unknown);
pid_t create(const Globals& g, const CreateOptions& o);
void start(const Globals& g, const std::string& id);
State load_state(const Globals& g, const std::string& id);
Json state_json(const State& s);  // the runtime-spec state
std::vector<State> list(const Globals& g);
void kill(const Globals& g, const std::string& id, int sig, bool all);
void remove(const Globals& g, const std::string& id, bool force);
void pause(const Globals& g, const std::string& id, bool on);
void update(const Globals& g, const std::string& id, const Resources& r);
std::vector<pid_t> processes(const Globals& g, const std::string& id);

struct ExecOptions {
    std::string id, process_file, console_socket, pid_file, cwd;
    std::vector<std::string> args, env;
    bool tty = false, detach = false;
    int preserve_fds = 0;  // fds 3..3+N-1 of the caller stay open in the process
};
// The exit status of the exec'd process (or 0 with detach).
int exec(const Globals& g, const ExecOptions& o);

// create, start, then (without detach) wait for the container's end, delete it and return its
// exit status.
int run(const Globals& g, const CreateOptions& o, bool detach);

}  // namespace bulwark::oci
