#include "audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "error.hpp"

namespace bulwark::audit {

std::string rfc3339(int64_t ns) {
    time_t secs = static_cast<time_t>(ns / 1'000'000'000);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06lldZ",
                  static_cast<long long>((ns % 1'000'000'000) / 1000));
    return buf;
}

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Log::Log(const std::string& path, std::string service) : path_(path), service_(std::move(service)) {
    if (path.empty()) return;
    fd_.reset(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd_) throw_sys("open audit log " + path);
}

void Log::write(Json event, bool lifecycle) {
    if (!event.contains("time")) event["time"] = rfc3339(realtime_ns());
    event["service"] = service_;
    auto line = event.dump() + "\n";
    // stderr goes to the journal under systemd; a closed stderr must not stop the file.
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    if (!fd_) return;
    bool ok = ::write(fd_.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
    if (ok && lifecycle) ok = fsync(fd_.get()) == 0;
    if (!ok && !failing_) {
        std::fprintf(stderr, "bulwark: write audit log %s: %s (the guard keeps enforcing)\n",
                     path_.c_str(), std::strerror(errno));
        failing_ = true;
    } else if (ok) {
        failing_ = false;
    }
}

}  // namespace bulwark::audit
