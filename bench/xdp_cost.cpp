// ns per packet through BPF_PROG_TEST_RUN (repeat 1,000,000): bulwark's XDP program under
// policies/web.json on typical packets, xdp-filter's all-features allow program (Debian's
// xdp-tools) on the same allowed request, and an empty XDP program as the floor. Prints a table
// with ratios. usage: bench_xdp_cost [REPEAT] (root)
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../tests/kernel/frames.hpp"
#include "../tests/kernel/test_run.hpp"
#include "json_util.hpp"
#include "policy.hpp"
#include "xdp.hpp"

using namespace bulwark;
using frames::Bytes;
using frames::Frame;

namespace {

double ns_per_packet(int fd, const Bytes& pkt, uint32_t repeat, int* retval = nullptr) {
    // Best of 3: the kernel reports the mean duration of `repeat` runs.
    double best = 1e18;
    for (int i = 0; i < 3; ++i) {
        auto r = test_run(fd, pkt, repeat);
        best = std::min(best, static_cast<double>(r.duration_ns));
        if (retval) *retval = r.retval;
    }
    return best;
}

Bytes request(const std::string& src, size_t payload_len, uint16_t port = 80) {
    Frame f;
    f.src = src;
    f.dport = port;
    std::string p = "GET /index.html HTTP/1.1\r\nHost: bench\r\n";
    p.resize(payload_len, 'a');
    f.payload = p;
    return f.build();
}

int empty_prog() {
    bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
                        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty", "GPL", insns, 2, nullptr);
    if (fd < 0) perror("load empty XDP program"), exit(1);
    return fd;
}

// xdp-filter pins its maps by name: give them a private directory on bpffs, removed at exit.
char pin_dir[] = "/sys/fs/bpf/bulwark-bench-XXXXXX";

int xdp_filter_prog(bpf_object** obj) {
    const char* path = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o";
    if (!mkdtemp(pin_dir)) perror("mkdtemp on /sys/fs/bpf (is bpffs mounted?)"), exit(1);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
    *obj = bpf_object__open_file(path, &opts);
    if (!*obj || bpf_object__load(*obj) != 0) {
        fprintf(stderr, "cannot load %s (apt-get install xdp-tools)\n", path);
        exit(1);
    }
    bpf_program* prog = bpf_object__next_program(*obj, nullptr);
    return bpf_program__fd(prog);
}

}  // namespace

int main(int argc, char** argv) {
    libbpf_set_print([](libbpf_print_level level, const char* fmt, va_list ap) {
        return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
    });
    uint32_t repeat = argc > 1 ? static_cast<uint32_t>(atol(argv[1])) : 1'000'000;
    std::string src = BULWARK_SOURCE_DIR;
    auto web = policy::load_policy(src + "/policies/web.json");
    // The allowed-path policy: web.json with limits so high nothing is dropped, so every packet
    // runs the whole pipeline (lists, buckets with their compare-and-swap, request detection,
    // pattern scan) and passes.
    auto open = web;
    policy::Rate huge = policy::parse_rate("1000000000/second");
    huge.burst = 1'000'000'000;
    for (auto* l : {&open.default_limits, &open.suspicious_limits})
        l->packets = l->connections = l->requests = huge;
    auto wide = open;
    wide.scan_bytes = BW_MAX_SCAN_BYTES;
    // Breakdown rows: the same open policy without patterns (lists, buckets, request check and
    // rules only).
    auto no_patterns = open;
    no_patterns.pattern_sets.clear();

    xdp::Program allow(open), limited(web), wide_scan(wide), plain(no_patterns);
    bpf_object* xf = nullptr;
    int xdpfilt = xdp_filter_prog(&xf);
    int empty = empty_prog();

    auto get64 = request("198.18.0.9", 64);
    struct Row {
        const char* name;
        int fd;
        Bytes pkt;
    };
    Row rows[] = {
        {"empty XDP program (floor)", empty, get64},
        {"xdp-filter alw_all, allowed GET 64 B", xdpfilt, get64},
        {"bulwark, allowed GET 64 B payload", allow.prog_fd(), get64},
        {"bulwark, denied source", limited.prog_fd(), request("198.18.30.5", 64)},
        {"bulwark, rate-limited source", limited.prog_fd(), request("198.18.0.77", 64)},
        {"bulwark, allowed GET 512 B, scan 512", allow.prog_fd(), request("198.18.0.9", 512)},
        {"bulwark, allowed GET 1460 B, scan 1460", wide_scan.prog_fd(),
         request("198.18.0.9", 1460)},
        {"breakdown: GET 64 B, no patterns", plain.prog_fd(), get64},
        {"breakdown: 64 B to a port not inspected", allow.prog_fd(),
         request("198.18.0.9", 64, 9000)},
    };
    constexpr size_t kRows = sizeof rows / sizeof rows[0];
    double results[kRows];
    int verdicts[kRows];
    for (size_t i = 0; i < kRows; ++i)
        results[i] = ns_per_packet(rows[i].fd, rows[i].pkt, repeat, &verdicts[i]);
    printf("%-42s %9s %7s %10s %s\n", "program and packet", "ns/pkt", "verdict", "vs floor",
           "vs xdp-filter");
    for (size_t i = 0; i < kRows; ++i)
        printf("%-42s %9.1f %7s %10.2f %9.2f\n", rows[i].name, results[i],
               verdicts[i] == XDP_PASS ? "pass" : "drop", results[i] / results[0],
               results[i] / results[1]);
    printf("scan cost per payload byte (1460 B vs 64 B): %.3f ns\n",
           (results[6] - results[2]) / (1460.0 - 64.0));
    printf("repeat %u, best of 3\n", repeat);
    bpf_object__unpin_maps(xf, nullptr);
    bpf_object__close(xf);
    rmdir(pin_dir);
    close(empty);
    return 0;
}
