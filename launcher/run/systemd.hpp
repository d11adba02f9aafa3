// systemd's side of a run: the notify protocol (READY=1 and friends, and the app's own messages
// passed on from inside the sandbox) and the journal's native protocol for audit events with
// structured fields. libsystemd is loaded only when systemd runs bulwark: linking it would map
// it and its compression and crypto libraries into every run (+10 ms of start-up measured with
// bench/service.sh) for a feature most runs do not use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bulwark::sd {

class Systemd {
  public:
    // Reads NOTIFY_SOCKET and JOURNAL_STREAM; loads libsystemd if either is in use.
    Systemd();
    ~Systemd();
    Systemd(const Systemd&) = delete;
    Systemd& operator=(const Systemd&) = delete;

    // Whether systemd listens for notifications (NOTIFY_SOCKET is set and usable).
    bool notifying() const { return notify_ != nullptr; }
    void notify(const std::string& state) const;
    // Whether stderr is the journal's stream, so entries can go to it natively instead.
    bool journal() const { return send_ != nullptr; }
    // One journal entry of "FIELD=value" items; false if journald did not take it.
    bool journal_send(const std::vector<std::string>& fields) const;

  private:
    void* lib_ = nullptr;
    int (*notify_)(int, const char*) = nullptr;
    int (*send_)(const void*, int) = nullptr;
};

// Whether stderr is the stream JOURNAL_STREAM ("DEVICE:INODE", as systemd sets it) names. Only
// then is it the journal: a service may have redirected it and kept the variable.
bool stderr_is_journal(const char* journal_stream);

// Of a notify datagram from the app, the lines bulwark passes on to systemd (pure): READY=1,
// RELOADING=1, STOPPING=1, STATUS=, ERRNO=, BUSERROR=, WATCHDOG=, WATCHDOG_USEC= and
// EXTEND_TIMEOUT_USEC=. MAINPID= (a pid in the sandbox's pid namespace), the file descriptor
// store, BARRIER= and anything unknown are dropped. "" when nothing is left.
std::string filter_app_notify(std::string_view datagram);

}  // namespace bulwark::sd
