// `bulwark policy test`: raw HTTP requests through the real XDP program (BPF_PROG_TEST_RUN),
// each with the verdict, the reason and the pattern or rule that decided it. The operator's
// answer to "why was this blocked?", and how a policy is tuned before it is deployed. Needs no
// interface and pins nothing.
#pragma once

#include <string>
#include <vector>

#include "guard/policy.hpp"

namespace bulwark::policy_test {

struct Verdict {
    bool dropped = false;
    std::string reason;   // "pass", "drop_pattern", ... (stats --json names)
    std::string matched;  // "set:pattern" or the rule's match text; empty if none
    size_t segments = 1;  // TCP segments the request took (each is judged alone)
};

// Runs on a private copy of the program: the policy's own tables, its source tracking sized
// down (max_sources 65536) and an event for every drop. Each request comes as the first from
// its own address in 100.64.0.0/10 (so rate limits meet a fresh source) unless `src` names
// one address for all; it goes to the policy's first inspected port. A request longer than
// a segment (1460 bytes) is cut into segments as TCP would: the first drop decides.
class Tester {
  public:
    Tester(const policy::Policy& p, std::string src = "", bool verbose = false);
    ~Tester();
    Tester(const Tester&) = delete;
    Tester& operator=(const Tester&) = delete;
    Verdict run(const std::string& request);

  private:
    struct Impl;
    Impl* impl_;
};

}  // namespace bulwark::policy_test
