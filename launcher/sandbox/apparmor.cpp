#include "sandbox/apparmor.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"

namespace bulwark::sandbox::apparmor {

bool enabled() {
    auto v = read_file_or_empty("/sys/module/apparmor/parameters/enabled");
    return !v.empty() && v[0] == 'Y';
}

std::string refusal(const std::string& name, bool on) {
    if (name.empty() || name == "unconfined") return "";
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f) return "a profile name has no control characters";
    if (!on)
        return "AppArmor is not enabled in this kernel, so profile \"" + name +
               "\" cannot be applied";
    return "";
}

void exec_profile(const std::string& name) {
    if (name.empty()) return;
    std::string path = "/proc/thread-self/attr/apparmor/exec";
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd && errno == ENOENT) {  // before 5.8 the LSM's files were shared
        path = "/proc/thread-self/attr/exec";
        fd = UniqueFd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    }
    if (!fd) throw_sys("open(" + path + ")");
    struct statfs fs {};
    if (fstatfs(fd.get(), &fs) != 0) throw_sys("fstatfs(" + path + ")");
    if (fs.f_type != PROC_SUPER_MAGIC) throw SysError(path + " is not on procfs", EXDEV);
    std::string text = "exec " + name;
    ssize_t n = write(fd.get(), text.data(), text.size());
    if (n != static_cast<ssize_t>(text.size()))
        throw SysError("apparmor profile \"" + name + "\": write(" + path + ")",
                       n < 0 ? errno : EIO);
}

}  // namespace bulwark::sandbox::apparmor
