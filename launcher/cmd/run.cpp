// bulwark run [options] -- COMMAND [ARG...]
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cmd/commands.hpp"
#include "core/error.hpp"
#include "run/cli.hpp"
#include "run/supervisor.hpp"
#include "sandbox/sandbox.hpp"

namespace bulwark::cmd {

namespace {

// Parsing and compiling a profile grows the heap by about 400 KB, page by page. Where page
// faults are costly (VMs: ~14 us each here), faulting the whole region in with one madvise is
// ~4x cheaper (bench/RESULTS.md). Best effort: older kernels refuse MADV_POPULATE_WRITE.
void prefault_heap(size_t bytes) {
    // Served from the brk heap, not mmap, and kept there after free.
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(2 * bytes));
    mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * bytes));
    auto* before = static_cast<char*>(sbrk(0));
    // volatile: the compiler may otherwise drop an unused malloc/free pair altogether.
    void* volatile block = malloc(bytes);
    auto* after = static_cast<char*>(sbrk(0));
    free(block);
    auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    auto start = reinterpret_cast<uintptr_t>(before) & ~(page - 1);
    if (after > before)
        madvise(reinterpret_cast<void*>(start), static_cast<size_t>(after - before),
                MADV_POPULATE_WRITE);
}

}  // namespace

int run(const std::vector<std::string>& args) {
    auto flags_end = std::find(args.begin(), args.end(), "--");
    if (std::find_if(args.begin(), flags_end, [](auto& a) { return a == "--help" || a == "-h"; }) !=
        flags_end) {
        std::cout << usage_of(table().front(), cli::run_options());
        return kOk;
    }
    prefault_heap(512 << 10);
    try {
        auto opt = cli::parse_run(args);
        auto prepared = sandbox::prepare(opt);
        return supervisor::run(prepared);
    } catch (const UsageError& e) {
        // One line, as for every other bad input of `run` (an operator reads it in the journal).
        std::cerr << "bulwark: " << e.what() << " (bulwark run --help lists the options)\n";
        return kRunFailed;
    } catch (const sandbox::CommandNotFound& e) {
        std::cerr << "bulwark: " << e.what() << "\n";
        return kNotFound;
    } catch (const std::exception& e) {
        std::cerr << "bulwark: " << e.what() << "\n";
        return kRunFailed;
    }
}

}  // namespace bulwark::cmd
