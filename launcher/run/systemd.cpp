#include "run/systemd.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bulwark::sd {

namespace {

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

}  // namespace

bool stderr_is_journal(const char* journal_stream) {
    if (!journal_stream) return false;
    std::string_view v(journal_stream);
    auto colon = v.find(':');
    if (colon == std::string_view::npos) return false;
    unsigned long long dev = 0, ino = 0;
    auto a = std::from_chars(v.data(), v.data() + colon, dev);
    auto b = std::from_chars(v.data() + colon + 1, v.data() + v.size(), ino);
    if (a.ec != std::errc() || a.ptr != v.data() + colon || b.ec != std::errc() ||
        b.ptr != v.data() + v.size())
        return false;
    struct stat st {};
    return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

Systemd::Systemd() {
    bool want_notify = getenv("NOTIFY_SOCKET") != nullptr;
    bool want_journal = stderr_is_journal(getenv("JOURNAL_STREAM"));
    if (!want_notify && !want_journal) return;
    lib_ = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib_) {
        fprintf(stderr,
                "bulwark: libsystemd.so.0 cannot be loaded (%s): systemd will not hear "
                "READY=1, and audit events go to the journal as plain lines\n",
                dlerror());
        return;
    }
    if (want_notify)
        notify_ = reinterpret_cast<int (*)(int, const char*)>(dlsym(lib_, "sd_notify"));
    if (want_journal)
        send_ = reinterpret_cast<int (*)(const void*, int)>(dlsym(lib_, "sd_journal_sendv"));
}

Systemd::~Systemd() {
    if (lib_) dlclose(lib_);
}

void Systemd::notify(const std::string& state) const {
    if (notify_) notify_(0, state.c_str());
}

bool Systemd::journal_send(const std::vector<std::string>& fields) const {
    if (!send_ || fields.empty()) return false;
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
    return send_(iov.data(), static_cast<int>(iov.size())) >= 0;
}

std::string filter_app_notify(std::string_view datagram) {
    static constexpr std::string_view kExact[] = {"READY=1", "RELOADING=1", "STOPPING=1",
                                                  "WATCHDOG=1", "WATCHDOG=trigger"};
    static constexpr std::string_view kPrefix[] = {
        "STATUS=", "ERRNO=", "BUSERROR=", "WATCHDOG_USEC=", "EXTEND_TIMEOUT_USEC="};
    std::string out;
    for (size_t pos = 0; pos < datagram.size();) {
        auto end = std::min(datagram.find('\n', pos), datagram.size());
        auto line = datagram.substr(pos, end - pos);
        pos = end + 1;
        bool keep = line.find('\0') == std::string_view::npos &&
                    (std::find(std::begin(kExact), std::end(kExact), line) != std::end(kExact) ||
                     std::any_of(std::begin(kPrefix), std::end(kPrefix),
                                 [&](auto p) { return starts_with(line, p); }));
        if (!keep) continue;
        if (!out.empty()) out += '\n';
        out += line;
    }
    return out;
}

}  // namespace bulwark::sd
