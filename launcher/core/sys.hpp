// Syscall helpers every module uses: whole files, pipes, signals through a signalfd, clocks and
// RFC 3339 times, the calling thread in another network namespace.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <initializer_list>

#include <string>

#include "core/fd.hpp"

struct ifreq;

namespace bulwark {

// Reads a whole file; InputError naming the path if it cannot.
std::string read_file(const std::string& path);
// A whole file, or "" when it cannot be read: for /proc and cgroupfs files whose absence is an
// answer (the process is gone, the controller is not there).
std::string read_file_or_empty(const std::string& path);

// The rest of an open file; throws SysError naming `what`.
std::string read_fd(int fd, const std::string& what);

// pipe2(O_CLOEXEC); returns {read end, write end}.
std::pair<UniqueFd, UniqueFd> make_pipe(const std::string& step);

// Writes all of buf, retrying on EINTR and short writes. Returns false on error.
bool write_all(int fd, const void* buf, size_t len);
// The same on a socket with MSG_NOSIGNAL: a peer that went away is EPIPE, not SIGPIPE.
bool send_all(int fd, const void* buf, size_t len);

// Every signal's handler back to the default, as in a child about to exec or to run under a
// seccomp filter: the parent's handlers (a sanitizer's, a test framework's) must not run there.
// Syscalls only, no allocation: safe in a CLONE_VM child.
void default_signal_handlers();

// Writes path whole (a temporary beside it, fsync'ed, then renamed over it): a reader sees the
// old file or the new one, never half. SysError naming the step on failure, nothing left.
void write_file_atomic(const std::string& path, const std::string& text, mode_t mode = 0644);

// Directory part and absolute-path helpers for config files.
std::string dirname_of(const std::string& path);
bool is_absolute(const std::string& path);

// Nanoseconds on `clock` (CLOCK_MONOTONIC, CLOCK_REALTIME...).
int64_t clock_ns(clockid_t clock);
// "2026-11-23T22:00:00.250000Z" for a CLOCK_REALTIME time in ns (pure).
std::string rfc3339(int64_t realtime_ns);

// An interface's ioctl (SIOCETHTOOL, SIOCGIFMTU, SIOCSIFFLAGS...) in this network namespace,
// on a socket of its own; `ifr` gets the name (cut to IFNAMSIZ-1). Returns 0 or the errno.
int ifreq_ioctl(const std::string& iface, unsigned long request, ifreq& ifr);
// The same on a socket the caller holds (several requests in a row, one socket).
int ifreq_ioctl(int sock, const std::string& iface, unsigned long request, ifreq& ifr);

// Blocks of up to 32 MiB come from the brk heap and stay there after free (up to 64 MiB at its
// top), for a step that allocates and frees large blocks over and over (a pattern compile),
// where page faults are costly (VMs: ~14 us each here).
void keep_heap();

// Hands back to the kernel the free memory a compile left in the heap (malloc_trim(0)), for a
// process that lives on after it: under keep_heap()'s thresholds, a supervisor kept 6.7 MiB of
// it resident after a start that compiled web.json, 16 MiB after a reload that did. It also
// turns transparent huge pages off for the rest of the process (PR_SET_THP_DISABLE): where THP
// is "always" (Debian's kernels), khugepaged otherwise collapses the trimmed heap's sparse
// 2 MiB ranges back into whole huge pages within seconds (864 -> 4,828 kB RssAnon here).
// Processes forked after it inherit that, so it belongs after the sandbox's init is cloned.
void release_heap();

// Faults in `bytes` (at most 48 MiB, below keep_heap()'s trim threshold) of heap with one
// madvise and keeps it (keep_heap()), for a step about to grow the heap page by page: that is
// ~4x cheaper (bench/RESULTS.md). Best effort: older kernels refuse MADV_POPULATE_WRITE.
void prefault_heap(size_t bytes);

// Runs the calling thread in another network namespace for as long as it lives.
class InNetns {
  public:
    explicit InNetns(int netns_fd);
    ~InNetns();
    InNetns(const InNetns&) = delete;
    InNetns& operator=(const InNetns&) = delete;

  private:
    UniqueFd home_;
};

// Blocks `signals` for as long as it lives (the previous mask comes back after) and delivers
// them through a signalfd: the one way the supervisor, the sandbox's init and `events --follow`
// wait for signals beside their other fds.
class SignalFd {
  public:
    explicit SignalFd(std::initializer_list<int> signals, int flags = 0);
    explicit SignalFd(const sigset_t& signals, int flags = 0);
    ~SignalFd();
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;
    int fd() const { return fd_.get(); }

  private:
    sigset_t old_{};
    UniqueFd fd_;
};

}  // namespace bulwark
