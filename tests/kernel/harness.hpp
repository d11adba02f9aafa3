// The kernel tests' one fixture module: run bulwark as a user would, precheck helpers, a veth
// pair into a namespace, an httpd, HTTP probes of the guard, bounded waits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "core/json_util.hpp"

namespace harness {

struct Result {
    int code = -1;  // exit code, or 128+signal
    std::string out, err;
};

std::string env(const char* name);  // required environment variable set by ctest
std::string bulwark();
std::string rootfs();

// Runs in the forked child just before execve (to put it under a seccomp filter, say).
using PreExec = std::function<void()>;

// Runs argv to completion (killed after timeout_s) and collects its output.
Result run(const std::vector<std::string>& argv, int timeout_s = 60, const PreExec& pre = {});
// bulwark run --rootfs ROOTFS EXTRA... -- CMD...
Result run_sandbox(const std::vector<std::string>& extra, const std::vector<std::string>& cmd,
                   int timeout_s = 60);

// A process started in the background with its stdout on a pipe (and its stderr too, with
// merge_stderr).
class Child {
  public:
    explicit Child(const std::vector<std::string>& argv, bool merge_stderr = false);
    ~Child();
    pid_t pid() const { return pid_; }
    // Reads stdout until a line equal to `line` appears; false on EOF or timeout.
    bool wait_for_line(const std::string& line, int timeout_s);
    bool wait_for_line_containing(const std::string& part, int timeout_s);
    // Waits for exit; returns exit code or 128+signal, or -1 on timeout (then kills it).
    int wait(int timeout_s);

  private:
    bool wait_for(const std::function<bool(const std::string&)>& match, int timeout_s);
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buf_;
};

// One HTTP request over a real TCP connection, for tests of the XDP guard.
enum class Outcome { Served = 0, Dropped = 1, Failed = 2 };
struct HttpProbe {
    std::string netns;  // a name under /run/netns, or "" for the test's own namespace
    std::string src, dst;
    uint16_t port;
    std::string request_line;  // "GET /path"
    std::string instance;      // the guard whose drop counters tell a drop ("": no guard)
    // Served only once the server closed the connection (its work on the request is done),
    // not at the response's first bytes.
    bool until_close = false;
};
struct HttpResult {
    Outcome outcome = Outcome::Failed;
    int status = 0;  // the response's status code when served
};
// Served (a response arrived) or dropped (the guard's drop counters moved while no response
// came), whichever happens first, awaited for at most 5 s. A dropped request's connection is
// reset at once (SO_LINGER 0) so it is never retransmitted and counted twice. `pipelined`:
// whole requests sent ahead of it in the same write, as a client that pipelines sends them.
HttpResult http(const HttpProbe& probe, const std::string& pipelined = "");

// Precheck helper: "" when `bulwark doctor`'s check `id` is ok here, else what doctor says of it
// ("bulwark doctor: int80 missing: ..."), so a test skips in doctor's words.
std::string doctor_says(const std::string& id);

// Precheck helper: "" when every tool is executable, else which one is missing.
std::string missing_tool(std::initializer_list<const char*> tools);

// A veth pair: `host` in this namespace with host_cidr, `peer` in a new network namespace `ns`
// with peer_cidr, both up; the peer speaks IPv4 only (no stray IPv6 reaches a guard). Whatever a
// killed earlier run of the same names left is removed first; everything is removed on destruction,
// whatever the test did.
class VethNs {
  public:
    VethNs(std::string ns, std::string host, std::string peer, const std::string& host_cidr,
           const std::string& peer_cidr);
    ~VethNs();
    VethNs(const VethNs&) = delete;
    VethNs& operator=(const VethNs&) = delete;
    const std::string& ns() const { return ns_; }
    const std::string& host() const { return host_; }
    // `count` echo requests from the namespace to `dst`, bounded by -W 1 each: how many were
    // answered (-1 if ping said nothing).
    int ping(const std::string& dst, int count) const;

  private:
    void teardown() const;
    std::string ns_, host_, peer_;
};

// busybox httpd on addr:port in this namespace, serving one page ("hello"); stopped on
// destruction. Ready once it listens (wait_listening: no connection disturbs a guard).
class Httpd {
  public:
    Httpd(const std::string& addr, uint16_t port);
    ~Httpd();
    Httpd(const Httpd&) = delete;
    Httpd& operator=(const Httpd&) = delete;

  private:
    void stop();
    std::string dir_;
    pid_t pid_ = -1;
};

// The sd_notify socket systemd would listen on, bound at `path` (removed on destruction): a
// `bulwark run` started with NOTIFY_SOCKET set to it says READY=1 once its app is exec'd.
class NotifySocket {
  public:
    explicit NotifySocket(std::string path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    const std::string path;
    // Waits for a datagram containing `line` as one of its lines.
    bool wait_for(const std::string& line, int timeout_ms);
    // The next datagram, or "" if none came within timeout_ms.
    std::string next(int timeout_ms);

  private:
    int fd_ = -1;
};

// "key=value" lines.
std::map<std::string, std::string> parse_kv(const std::string& text);
std::vector<std::string> lines(const std::string& text);
std::string host_mountinfo();
// The audit log at `path`, one JSON object a line (bulwark run --audit-log).
std::vector<bulwark::Json> audit_events(const std::string& path);
// pids of the current process's children (from /proc/self/task/*/children).
std::vector<pid_t> children_of(pid_t pid);
// Waits until a TCP socket listens on `port` in the network namespace of process `pid` (read
// from /proc/PID/net/tcp and tcp6, so no connection disturbs a guard's counters). There is no
// event for a listen(): the table is polled every 5 ms, for at most timeout_ms.
bool wait_listening(pid_t pid, uint16_t port, int timeout_ms);

}  // namespace harness

// Defined by each kernel test binary: returns an empty string when the tests can run here, or
// the reason they cannot (the binary then exits 77).
std::string kernel_precheck();
