// One BPF_PROG_TEST_RUN of an XDP program on a frame, for tests and benchmarks.
#pragma once

#include <bpf/bpf.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

struct TestRun {
    int retval;            // XDP_PASS, XDP_DROP...
    uint32_t duration_ns;  // mean over `repeat` runs, as the kernel reports it
};

inline TestRun test_run(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat = 1) {
    std::vector<uint8_t> out(frame.size() + 256);
    bpf_test_run_opts o{};
    o.sz = sizeof o;
    o.data_in = frame.data();
    o.data_size_in = static_cast<uint32_t>(frame.size());
    o.data_out = out.data();
    o.data_size_out = static_cast<uint32_t>(out.size());
    o.repeat = repeat;
    if (bpf_prog_test_run_opts(prog_fd, &o) != 0)
        throw std::runtime_error("bpf_prog_test_run_opts failed");
    return {static_cast<int>(o.retval), o.duration};
}
