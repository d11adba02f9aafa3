#include "core/sys.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.hpp"

namespace bulwark {

int64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {
sigset_t set_of(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    return set;
}
}  // namespace

std::string rfc3339(int64_t ns) {
    // Calendar arithmetic, not gmtime_r/strftime: glibc's read /etc/localtime (tzset) in every
    // process that formats a time, for a UTC time.
    using namespace std::chrono;
    sys_time<nanoseconds> t{nanoseconds(ns)};
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss hms{floor<microseconds>(t - day)};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02lld.%06lldZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), static_cast<long long>(hms.seconds().count()),
                  static_cast<long long>(hms.subseconds().count()));
    return buf;
}

void keep_heap() {
    // Setting a threshold turns glibc's dynamic one off for the rest of the process, so they
    // are set where the dynamic ones end (32 MiB and twice that): at 1 MiB, a policy compiled
    // after a filter mapped and faulted its multi-MiB tables afresh each time (`run --policy
    // web.json` with nothing cached: 12.8 s, 515,000 page faults, against 7.3 s for `xdp
    // attach`). Left dynamic, they still trim and map some of a compile's vectors.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

void release_heap() {
    malloc_trim(0);
    // Best effort, as the trim: a kernel without THP refuses nothing here (EINVAL only before
    // 3.15), and a supervisor that keeps huge pages is larger, not wrong.
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
}

void prefault_heap(size_t bytes) {
    // Served from the brk heap, not mmap, and kept there after free: in blocks below the mmap
    // threshold, all held until the heap has grown by `bytes`.
    keep_heap();
    bytes = std::min<size_t>(bytes, 48 << 20);
    auto* before = static_cast<char*>(sbrk(0));
    std::vector<void*> blocks;
    for (size_t left = bytes; left > 0;) {
        size_t n = std::min<size_t>(left, 16 << 20);
        // volatile: the compiler may otherwise drop an unused malloc/free pair altogether.
        void* volatile block = malloc(n);
        void* held = block;
        if (!held) break;
        blocks.push_back(held);
        left -= n;
    }
    auto* after = static_cast<char*>(sbrk(0));
    for (auto* b : blocks) free(b);
    auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    auto start = reinterpret_cast<uintptr_t>(before) & ~(page - 1);
    if (after > before)
        madvise(reinterpret_cast<void*>(start), static_cast<size_t>(after - before),
                MADV_POPULATE_WRITE);
}

int ifreq_ioctl(int sock, const std::string& iface, unsigned long request, ifreq& ifr) {
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface.c_str());
    return ioctl(sock, request, &ifr) == 0 ? 0 : errno;
}

int ifreq_ioctl(const std::string& iface, unsigned long request, ifreq& ifr) {
    UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return errno;
    return ifreq_ioctl(s.get(), iface, request, ifr);
}

InNetns::InNetns(int netns_fd) : home_(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
    if (!home_) throw_sys("open /proc/thread-self/ns/net");
    if (setns(netns_fd, CLONE_NEWNET) != 0) throw_sys("setns(sandbox network namespace)");
}

InNetns::~InNetns() {
    if (setns(home_.get(), CLONE_NEWNET) != 0) {
        // Continuing in the sandbox's namespace would act on the wrong interfaces.
        perror("bulwark: setns(back to the host network namespace)");
        abort();
    }
}

SignalFd::SignalFd(std::initializer_list<int> signals, int flags)
    : SignalFd(set_of(signals), flags) {}

SignalFd::SignalFd(const sigset_t& set, int flags) {
    if (sigprocmask(SIG_BLOCK, &set, &old_) != 0) throw_sys("sigprocmask");
    fd_.reset(signalfd(-1, &set, SFD_CLOEXEC | flags));
    if (!fd_) {
        int err = errno;
        sigprocmask(SIG_SETMASK, &old_, nullptr);
        throw SysError("signalfd", err);
    }
}

SignalFd::~SignalFd() {
    sigprocmask(SIG_SETMASK, &old_, nullptr);
}

SysError::SysError(const std::string& step, int err)
    : std::runtime_error(step + ": " + std::strerror(err)), err_(err) {}

void throw_sys(const std::string& step) {
    throw SysError(step, errno);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw InputError(path + ": read failed");
    return ss.str();
}

std::string read_file_or_empty(const std::string& path) {
    try {
        return read_file(path);
    } catch (const InputError&) {
        return "";
    }
}

void default_signal_handlers() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
}

std::string read_fd(int fd, const std::string& what) {
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read(" + what + ")");
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

std::pair<UniqueFd, UniqueFd> make_pipe(const std::string& step) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw_sys(step);
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

namespace {

// Retries EINTR and short writes; false on any other error, with errno set.
template <class Write>
bool write_fully(const void* buf, size_t len, Write write) {
    auto p = static_cast<const char*>(buf);
    while (len > 0) {
        ssize_t n = write(p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

bool write_all(int fd, const void* buf, size_t len) {
    return write_fully(buf, len, [fd](const char* p, size_t n) { return ::write(fd, p, n); });
}

bool send_all(int fd, const void* buf, size_t len) {
    return write_fully(buf, len,
                       [fd](const char* p, size_t n) { return ::send(fd, p, n, MSG_NOSIGNAL); });
}

void write_file_atomic(const std::string& path, const std::string& text, mode_t mode) {
    auto tmp = path + ".tmp";
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) throw_sys("open(" + tmp + ")");
    if (!write_all(fd.get(), text.data(), text.size()) || fsync(fd.get()) != 0 ||
        rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        unlink(tmp.c_str());
        throw SysError("write(" + path + ")", e);
    }
}

std::string dirname_of(const std::string& path) {
    auto pos = path.rfind('/');
    if (pos == std::string::npos) return ".";
    if (pos == 0) return "/";
    return path.substr(0, pos);
}

bool is_absolute(const std::string& path) {
    return !path.empty() && path[0] == '/';
}

Mapping::Mapping(size_t len, int prot, int flags, int fd, off_t offset, const char* what)
    : addr_(mmap(nullptr, len, prot, flags, fd, offset)), len_(len) {
    if (addr_ == MAP_FAILED) throw_sys(std::string("mmap(") + what + ")");
}

}  // namespace bulwark
