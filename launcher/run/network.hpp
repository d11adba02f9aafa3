// `run --net veth`: a veth pair between the host and the sandbox's network namespace, through
// rtnetlink (libnl-route-3). The host end gets --host-addr, the sandbox end --addr and a default
// route via the host end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace bulwark::network {

struct VethNames {
    std::string host, sandbox;
};
// Interface names derived from the instance name, within IFNAMSIZ: "bw-NAME-h"/"bw-NAME-s", or
// for a long name its first 6 characters and 4 hex digits of a hash of the whole (pure).
VethNames veth_names(const std::string& name);

// The pair, created and configured; deleted on destruction (the kernel would also delete it
// with the namespace, but not before every process in it is gone).
class Veth {
  public:
    // `netns_fd`: the sandbox's network namespace. Throws SysError (or std::runtime_error with
    // libnl's message) naming the step on failure, after removing whatever it created. The caller
    // holds the name's run lease, so a link that already has the host end's name is a dead run's:
    // its namespace is torn down by the kernel asynchronously after its last process is gone, which
    // a quick restart can beat. That pair is deleted and replaced (replaced() says so).
    Veth(const VethNames& names, int netns_fd, const std::string& host_cidr,
         const std::string& sandbox_cidr);
    ~Veth();
    Veth(const Veth&) = delete;
    Veth& operator=(const Veth&) = delete;
    const VethNames& names() const { return names_; }
    bool replaced() const { return replaced_; }

  private:
    VethNames names_;
    bool replaced_ = false;
};

// Turns GRO on for `ifname` (this namespace): a veth can only take frames its peer's XDP
// program sends back (XDP_TX) while it has NAPI, which GRO gives it.
void enable_gro(const std::string& ifname);

}  // namespace bulwark::network
