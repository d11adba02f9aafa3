// The other half of SYN cookies answered from XDP (policy syn_flood): the listener's namespace
// must take the client's ACK although its listener never saw the SYN. netfilter SYNPROXY does
// that: it checks the cookie (the kernel's own, the one bpf_tcp_raw_gen_syncookie made) and
// opens the connection to the listener with the options the cookie and timestamp carried, as
// in the kernel's xdp_synproxy selftest. Rules go in through nft(8), the nftables tool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::guard {

// The table for instance `name`: "bulwark_NAME" in family inet.
std::string synproxy_table(const std::string& name);

// The ruleset (pure): in the input hook, a TCP packet from `iface` to one of `ports` that
// conntrack does not know (an ACK answering a cookie: with nf_conntrack_tcp_loose 0 it is
// "invalid") goes to SYNPROXY, which drops it unless its cookie is good; other invalid packets
// to those ports are dropped. SYNs are tracked as ever: those XDP lets through reach the
// listener. `mss` and `wscale` are what SYNPROXY would offer answering a SYN itself, which it
// never does here; they are the XDP program's all the same.
std::string synproxy_ruleset(const std::string& table, const std::string& iface,
                             const std::vector<uint16_t>& ports, unsigned mss, unsigned wscale);

// Loads the table into this network namespace (replacing one of the same name) and sets
// nf_conntrack_tcp_loose to 0 there (netns-wide; left so on removal: another user may rely on
// it). Throws with nft's message.
void load_synproxy(const std::string& table, const std::string& iface,
                   const std::vector<uint16_t>& ports, unsigned mss, unsigned wscale);
// Deletes the table from this network namespace; absent is fine.
void unload_synproxy(const std::string& table);

// An interface's MTU, this namespace.
unsigned mtu_of(const std::string& iface);

}  // namespace bulwark::guard
