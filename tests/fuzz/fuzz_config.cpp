// libFuzzer: run configs (the systemd unit's JSON) through load_config, via a memfd path.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "run/cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = memfd_create("config", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != static_cast<ssize_t>(size)) __builtin_trap();
    try {
        bulwark::cli::load_config("/proc/self/fd/" + std::to_string(fd));
    } catch (const bulwark::InputError&) {
    } catch (const bulwark::UsageError&) {
    }
    close(fd);
    return 0;
}
