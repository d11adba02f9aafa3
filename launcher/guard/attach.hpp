// Putting the XDP guard on an interface and taking it off: `xdp attach|detach`, and the lease a
// `bulwark run` holds on its instance name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "guard/policy.hpp"

namespace bulwark::guard {

enum class Mode { Native, Skb, Auto };
Mode parse_mode(const std::string& s);  // native|skb|auto

// The window scale Linux gives a connection of a listener in this network namespace (a SYN-ACK
// cookie must offer the same): tcp_select_initial_window's ilog2(max(tcp_rmem[2], rmem_max)) - 15,
// 0..14. A listener with TCP_WINDOW_CLAMP may use less. wscale_for is the pure part;
// net.core.rmem_max is global, read where it can be (the host's namespace: 6.1 shows it in no
// other), tcp_rmem in the listener's.
unsigned wscale_for(uint64_t rmem_max);
uint64_t read_rmem_max();
unsigned listener_wscale(uint64_t rmem_max);
// A digest of a set of ports, whatever their order (bw_meta.synproxy_ports).
uint64_t ports_digest(std::vector<uint16_t> ports);

// Loads the program for `p`, attaches it to `iface` through a bpf_link and pins link and maps.
// Fails closed and leaves nothing behind: on any error, whatever was pinned is removed.
// Returns the mode used ("native" or "skb"). With `netns_fd` >= 0, `iface` is an interface of
// that network namespace (`run --net veth`: the sandbox's end of the pair). `verbose`: libbpf's
// messages also when the load succeeds.
std::string attach(const policy::Policy& p, const std::string& iface, const std::string& name,
                   Mode mode, int netns_fd = -1, bool verbose = false);

// Removes the pins; with the last reference gone the kernel detaches the program.
void detach(const std::string& name);

// The instance whose program is attached to `iface` (of the network namespace `netns_fd`, or
// ours with -1), or "" when none is: a pod's containers join its sandbox's network namespace,
// which the sandbox's guard already holds.
std::string guarding(const std::string& iface, int netns_fd = -1);

// For `bulwark run` with a policy or a veth pair: holds /run/bulwark/NAME.lock for the run's
// life, so a second run of the same name is refused while the first lives. When taken, pins of
// that name left by a dead run (its supervisor was SIGKILLed: meta.owner is BW_OWNER_RUN) are
// removed at once; its veth pair is network::Veth's to reclaim. Pins made by `xdp attach` are
// never taken over.
class RunLease {
  public:
    explicit RunLease(const std::string& name);
    RunLease(const RunLease&) = delete;
    RunLease& operator=(const RunLease&) = delete;
    // Non-empty when stale pins were removed: what to tell the operator.
    const std::string& recovered() const { return recovered_; }

  private:
    UniqueFd lock_;
    std::string recovered_;
};

// Marks an instance's pins as a run's (meta.owner), so a later RunLease may reclaim them.
void mark_run_owned(const std::string& name);

}  // namespace bulwark::guard
