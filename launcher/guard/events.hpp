// `bulwark events` and the run's audit feed: the drop events of an instance's ring buffer, decoded
// into the design's JSON objects.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "bpf/bulwark.h"
#include "core/json_util.hpp"

namespace bulwark::guard {

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

}  // namespace bulwark::guard
