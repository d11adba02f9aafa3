// The XDP program's userspace side: load the embedded skeleton, size and fill its maps from a
// policy, read its counters.
#pragma once

#include <array>
#include <memory>

#include "../bpf/bulwark.h"
#include "automaton.hpp"
#include "policy.hpp"

struct bulwark_bpf;

namespace bulwark::xdp {

struct SkelDeleter {
    void operator()(bulwark_bpf* s) const;
};

class Program {
  public:
    // Opens and loads the program, sized from the policy, with its tables filled. Throws
    // SysError naming the step (e.g. "load XDP program: Operation not permitted").
    explicit Program(const policy::Policy& p);
    int prog_fd() const;
    // Per-reason totals, summed over CPUs.
    std::array<bw_counter, BW_REASON_MAX> counters() const;
    bulwark_bpf* skel() const { return skel_.get(); }
    const automaton::Dfa& dfa() const { return dfa_; }

  private:
    automaton::Dfa dfa_;
    std::unique_ptr<bulwark_bpf, SkelDeleter> skel_;
};

// Per-reason totals of a counters map (ours, or a pinned one), summed over CPUs.
std::array<bw_counter, BW_REASON_MAX> read_counters(int map_fd);

// The config entry the program reads (pure: derived from the policy).
bw_config make_config(const policy::Policy& p);

const char* reason_name(unsigned reason);

// Every pattern of every set, in order: DFA match index i+1 is element i.
std::vector<std::string> all_patterns(
    const policy::Policy& p);  // "pass", "drop_deny", ... as in stats --json

}  // namespace bulwark::xdp
