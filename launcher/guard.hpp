// Attaching the XDP guard to an interface and reading it back: the pin layout of docs/design.md
// (/sys/fs/bpf/bulwark/NAME/{link, every map by name}), `xdp attach|detach` and `stats`.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "../bpf/bulwark.h"

#include "fd.hpp"
#include "json_util.hpp"
#include "policy.hpp"

namespace bulwark::guard {

enum class Mode { Native, Skb, Auto };
Mode parse_mode(const std::string& s);  // native|skb|auto

std::string pin_root();  // /sys/fs/bpf/bulwark
std::string pin_dir(const std::string& name);

// Loads the program for `p`, attaches it to `iface` through a bpf_link and pins link and maps.
// Fails closed and leaves nothing behind: on any error, whatever was pinned is removed.
// Returns the mode used ("native" or "skb"). With `netns_fd` >= 0, `iface` is an interface of
// that network namespace (`run --net veth`: the sandbox's end of the pair).
std::string attach(const policy::Policy& p, const std::string& iface, const std::string& name,
                   Mode mode, int netns_fd = -1);

// For `bulwark run` with a policy or a veth pair: holds /run/bulwark/NAME.lock for the run's
// life, so a second run of the same name is refused while the first lives, and whatever a dead
// run of that name left (its supervisor was SIGKILLed) may be removed: its pins here, at once,
// and its veth pair by network::Veth. Pins made by `xdp attach` are never taken over.
class RunLease {
  public:
    explicit RunLease(const std::string& name);
    RunLease(const RunLease&) = delete;
    RunLease& operator=(const RunLease&) = delete;
    // Non-empty when stale pins were removed: what to tell the operator.
    const std::string& recovered() const { return recovered_; }

  private:
    UniqueFd lock_;
    std::string recovered_;
};
void mark_run_owned(const std::string& name);

// Removes the pins; with the last reference gone the kernel detaches the program.
void detach(const std::string& name);

// Puts `p` in force on a running instance at once: the idle table generation is written, then
// made current with one store, then the old one is cleared once no packet can be using it.
// A policy that fails to compile or to load leaves the old one in force (the error says why).
// Returns the new policy's summary line.
std::string reload(const std::string& name, const policy::Policy& p);

// The instance's drop events, as the design's JSON objects, from its pinned ring buffer.
// Events are consumed: each goes to one reader.
class EventReader {
  public:
    using Sink = std::function<void(const Json&)>;
    EventReader(const std::string& name, Sink sink);
    ~EventReader();
    EventReader(const EventReader&) = delete;
    EventReader& operator=(const EventReader&) = delete;
    int fd() const;  // readable when events are waiting
    void consume();  // hands every waiting event to the sink

  private:
    struct State;
    std::unique_ptr<State> s_;
};

// Reads the instance's ring buffer: every pending event, and with `follow` new ones until
// SIGINT or SIGTERM. Each event goes to `out` as the design's JSON object (with `--json`) or
// a readable line. Events are consumed: one reader gets each (`run` drains them into the
// audit log).
void events(const std::string& name, bool follow, bool json, std::ostream& out);
// One event as the design's JSON object (pure). `matched` is the rule text for drop_rule, the
// pattern for drop_pattern; `realtime_offset_ns` turns the kernel's monotonic time into UTC.
Json event_json(const bw_event& e, const std::string& service, const std::string& matched,
                int64_t realtime_offset_ns);
std::string event_line(const Json& ev);  // the readable form

// The `stats --json` object of one instance (contract in docs/design.md); top N sources.
Json stats(const std::string& name, size_t top);
std::vector<std::string> instances();  // names with pins

std::string format_table(const Json& one);
std::string format_prometheus(const std::vector<Json>& all);

}  // namespace bulwark::guard
