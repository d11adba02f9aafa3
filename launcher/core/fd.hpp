// Ownership of C resources: file descriptors (UniqueFd) and library handles (Handle).
#pragma once

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <utility>

namespace bulwark {

// Owns one file descriptor; closes it when it goes out of scope.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

// Owns one mmap(2) region; unmapped when it goes out of scope. Throws SysError naming `what`
// when the mapping fails.
class Mapping {
  public:
    Mapping(size_t len, int prot, int flags, int fd, off_t offset, const char* what);
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() { munmap(addr_, len_); }
    void* get() const { return addr_; }
    char* end() const { return static_cast<char*>(addr_) + len_; }

  private:
    void* addr_;
    size_t len_;
};

// One datagram of `len` bytes at `payload` and, with fd >= 0, that descriptor as SCM_RIGHTS,
// laid out for sendmsg(2) without allocating (a CLONE_VM child between its filter and execve
// builds one). The payload must outlive it; it cannot be copied, since it points into itself.
class FdMessage {
  public:
    FdMessage(void* payload, size_t len, int fd) : iov_{payload, len} {
        mh_.msg_iov = &iov_;
        mh_.msg_iovlen = 1;
        if (fd < 0) return;
        mh_.msg_control = control_;
        mh_.msg_controllen = sizeof control_;
        cmsghdr* c = CMSG_FIRSTHDR(&mh_);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    FdMessage(const FdMessage&) = delete;
    FdMessage& operator=(const FdMessage&) = delete;
    msghdr* get() { return &mh_; }

  private:
    iovec iov_;
    alignas(cmsghdr) char control_[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh_{};
};

// A C library's handle freed by `Free` (bubblewrap's cleanup_*, nsjail's defer):
// Handle<EVP_PKEY, EVP_PKEY_free>, Handle<void, seccomp_release>. One template instead of a
// deleter struct per library type.
template <auto Free>
struct FreeWith {
    template <typename T>
    void operator()(T* p) const {
        Free(p);
    }
};
template <typename T, auto Free>
using Handle = std::unique_ptr<T, FreeWith<Free>>;

}  // namespace bulwark
