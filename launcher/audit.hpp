// The audit log: one JSON object per line (design: "Events and the audit log"), appended to a
// 0600 file and copied to stderr for the journal. Lifecycle events are fsync'ed. A failing
// write is reported once on stderr and never stops the service: enforcement is in the kernel.
#pragma once

#include <cstdint>
#include <string>

#include "fd.hpp"
#include "json_util.hpp"

namespace bulwark::audit {

// "2026-11-23T22:00:00.250000Z" for a CLOCK_REALTIME time in ns (pure).
std::string rfc3339(int64_t realtime_ns);
int64_t realtime_ns();

class Log {
  public:
    // Empty path: stderr only. Throws SysError when the file cannot be opened.
    Log(const std::string& path, std::string service);
    // Adds `time` (now, unless present) and `service`, writes one line.
    void write(Json event, bool lifecycle);
    // A network event already shaped by guard::event_json.
    void write_network(const Json& event) { write(event, false); }
    bool failing() const { return failing_; }

  private:
    std::string path_, service_;
    UniqueFd fd_;
    bool failing_ = false;
};

}  // namespace bulwark::audit
