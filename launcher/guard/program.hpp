// The XDP program's userspace side: load the embedded skeleton, size it and write a policy into
// one of its two table generations, read its counters.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "bpf/bulwark.h"
#include "guard/automaton.hpp"
#include "guard/policy.hpp"

struct bulwark_bpf;

namespace bulwark::xdp {

// The fds of the maps a policy fills (the loaded skeleton's, or an instance's pins).
struct PolicyMaps {
    int policy_gen = -1, config = -1, ports = -1, lists_v4 = -1, lists_v6 = -1, rules = -1,
        automaton = -1, patterns = -1, pattern_hits = -1;
};

// A policy as the program's tables hold it (pure: derived from the policy). Throws InputError
// when the patterns need more automaton states than the map holds.
struct Compiled {
    bw_config config{};
    automaton::Automaton dfa;
    bw_rules rules{};
    std::vector<bw_pattern_name> pattern_names;
    bool from_cache = false;
};
// cached: the pattern tables through the cache of compiled tables (guard/dfa_cache.hpp; root
// only), for a start, a reload and `policy test`; `from_cache` says whether they came from it.
Compiled compile(const policy::Policy& p, bool cached = false);

// Writes `c` into generation `gen` (which must be idle) after clearing it. On failure the
// generation is left cleared and SysError names the map.
void write_generation(const PolicyMaps& m, uint32_t gen, const Compiled& c,
                      const policy::Policy& p);
// Removes generation `gen`'s list entries and inspected ports; it must be idle.
void clear_generation(const PolicyMaps& m, uint32_t gen);
uint32_t active_generation(const PolicyMaps& m);
uint32_t active_generation(int policy_gen_fd);
// Puts `gen` in force, then waits until no packet can still be using the other one.
void switch_generation(const PolicyMaps& m, uint32_t gen);

class Program {
  public:
    // Opens and loads the program, sized from the policy, with generation 0 filled and in
    // force. Throws SysError naming the step (e.g. "load XDP program: Operation not permitted").
    // libbpf's messages (the verifier's log among them) go to stderr as "bulwark: libbpf: ..."
    // when the load fails, or always with `verbose`.
    explicit Program(const policy::Policy& p, bool verbose = false);
    int prog_fd() const;
    // Per-reason totals, summed over CPUs.
    std::array<bw_counter, BW_REASON_MAX> counters() const;
    const automaton::Automaton& dfa() const { return compiled_.dfa; }
    PolicyMaps maps() const;
    int map_fd(const char* name) const;  // any of the program's maps, by name (BW_MAP_*)
    // Pins every map as DIR/NAME (the pin layout of docs/design.md).
    void pin_maps(const std::string& dir) const;

  private:
    Compiled compiled_;
    // Not Handle<bulwark_bpf, bulwark_bpf__destroy>: the skeleton header stays out of here.
    struct SkelDeleter {
        void operator()(bulwark_bpf* s) const;
    };
    std::unique_ptr<bulwark_bpf, SkelDeleter> skel_;
};

// Per-reason totals of a counters map (ours, or a pinned one), summed over CPUs.
std::array<bw_counter, BW_REASON_MAX> read_counters(int map_fd);
// Events the program could not put in the ring buffer, summed over CPUs.
// One BPF_PROG_TEST_RUN of an XDP program on a frame (`bulwark policy test`, tests, benchmarks).
struct TestRun {
    int retval;                // XDP_PASS, XDP_DROP...
    uint32_t duration_ns;      // mean over `repeat` runs, as the kernel reports it
    std::vector<uint8_t> out;  // the frame as the program left it (XDP_TX: what goes back)
};
TestRun test_run(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat = 1);

// Drops per pattern of a generation (index: the pattern's position), summed over CPUs.
std::vector<uint64_t> read_pattern_hits(int map_fd, uint32_t gen);
uint64_t read_events_lost(int map_fd);
// One entry of a per-CPU u64 array, summed over CPUs.
uint64_t read_percpu_sum(int map_fd, uint32_t key);
// Each CPU's spray state (the `spray` map).
std::vector<bw_spray> read_spray(int map_fd);
// Each CPU's SYN cookie state (the `syn` map).
std::vector<bw_syn> read_syn(int map_fd);

// The config entry the program reads (pure: derived from the policy). tick_ns: the resolution of
// CLOCK_MONOTONIC_COARSE, the clock bpf_ktime_get_coarse_ns reads (coarse_tick_ns()). cpus: the
// CPUs that may run the program (possible_cpus()), which share the source table.
bw_config make_config(const policy::Policy& p, uint64_t tick_ns, unsigned cpus = 1);
// The CPUs a per-CPU map has a value for (libbpf_num_possible_cpus).
unsigned possible_cpus();
// Entries of the `seen` filter for a table of max_sources: a power of two.
uint32_t seen_entries(uint64_t max_sources);
uint64_t coarse_tick_ns();

const char* reason_name(unsigned reason);  // "pass", "drop_deny", ... as in stats --json

}  // namespace bulwark::xdp
