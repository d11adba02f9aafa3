#include "xdp.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <vector>

#include "bulwark.skel.h"
#include "error.hpp"

namespace bulwark::xdp {

void SkelDeleter::operator()(bulwark_bpf* s) const {
    bulwark_bpf__destroy(s);
}

namespace {

bw_rate rate_of(const std::optional<policy::Rate>& r) {
    if (!r) return {0, 0};
    auto g = policy::to_gcra(*r);
    return {g.interval_ns, g.tau_ns};
}

void put(int fd, const void* key, const void* value, const std::string& what) {
    if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) throw_sys("update " + what);
}

void fill_lists(bulwark_bpf* s, const std::vector<policy::Cidr>& list, uint32_t cls) {
    for (auto& c : list) {
        if (c.family == AF_INET) {
            bw_lpm_v4 k{c.prefix, {}};
            std::copy_n(c.addr.begin(), 4, k.addr);
            put(bpf_map__fd(s->maps.lists_v4), &k, &cls, "lists_v4 " + c.text);
        } else {
            bw_lpm_v6 k{c.prefix, {}};
            std::copy_n(c.addr.begin(), 16, k.addr);
            put(bpf_map__fd(s->maps.lists_v6), &k, &cls, "lists_v6 " + c.text);
        }
    }
}

}  // namespace

bw_config make_config(const policy::Policy& p) {
    bw_config c{};
    auto set = [&](unsigned cls, const policy::Limits& l) {
        c.rates[cls][BW_LIMIT_PACKETS] = rate_of(l.packets);
        c.rates[cls][BW_LIMIT_CONNECTIONS] = rate_of(l.connections);
        c.rates[cls][BW_LIMIT_REQUESTS] = rate_of(l.requests);
    };
    set(BW_CLASS_DEFAULT, p.default_limits);
    set(BW_CLASS_SUSPICIOUS, p.suspicious_limits);
    c.key_prefix_v4 = p.key_prefix_v4;
    c.key_prefix_v6 = p.key_prefix_v6;
    c.drop_fragments = p.non_first_fragments == policy::Policy::Fragments::Drop;
    c.scan_bytes = p.pattern_sets.empty() ? 0 : p.scan_bytes;
    return c;
}

const char* reason_name(unsigned reason) {
    static const char* names[BW_REASON_MAX] = {"pass",
                                               "pass_trusted",
                                               "drop_deny",
                                               "drop_rate_packets",
                                               "drop_rate_connections",
                                               "drop_rate_requests",
                                               "drop_rule",
                                               "drop_pattern",
                                               "drop_malformed"};
    return reason < BW_REASON_MAX ? names[reason] : "unknown";
}

std::vector<std::string> all_patterns(const policy::Policy& p) {
    std::vector<std::string> all;
    for (auto& set : p.pattern_sets)
        all.insert(all.end(), set.patterns.begin(), set.patterns.end());
    return all;
}

Program::Program(const policy::Policy& p)
    : dfa_(automaton::compile(all_patterns(p), BW_AUTOMATON_MAX_STATES)) {
    skel_.reset(bulwark_bpf__open());
    if (!skel_) throw_sys("open XDP program");
    if (bpf_map__set_max_entries(skel_->maps.sources, static_cast<uint32_t>(p.max_sources)) != 0)
        throw_sys("size sources map");

    if (int rc = bulwark_bpf__load(skel_.get()); rc != 0) throw SysError("load XDP program", -rc);
    auto cfg = make_config(p);
    uint32_t zero = 0;
    put(bpf_map__fd(skel_->maps.config), &zero, &cfg, "config");
    uint8_t one = 1;
    for (uint32_t port : p.inspect_ports) put(bpf_map__fd(skel_->maps.ports), &port, &one, "ports");
    fill_lists(skel_.get(), p.deny, BW_CLASS_DENY);
    fill_lists(skel_.get(), p.trusted, BW_CLASS_TRUSTED);
    fill_lists(skel_.get(), p.suspicious, BW_CLASS_SUSPICIOUS);
    // The whole table is one map value; unused states stay zero (never reached).
    auto table = std::make_unique<bw_table>();
    std::copy(dfa_.table.begin(), dfa_.table.end(), table->e);
    put(bpf_map__fd(skel_->maps.automaton), &zero, table.get(), "automaton");
}

int Program::prog_fd() const {
    return bpf_program__fd(skel_->progs.bulwark_xdp);
}

std::array<bw_counter, BW_REASON_MAX> read_counters(int map_fd) {
    std::array<bw_counter, BW_REASON_MAX> out{};
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) throw SysError("libbpf_num_possible_cpus", -ncpu);
    std::vector<bw_counter> per_cpu(static_cast<size_t>(ncpu));
    for (uint32_t r = 0; r < BW_REASON_MAX; ++r) {
        if (bpf_map_lookup_elem(map_fd, &r, per_cpu.data()) != 0) throw_sys("read counters");
        for (auto& c : per_cpu) {
            out[r].packets += c.packets;
            out[r].bytes += c.bytes;
        }
    }
    return out;
}

std::array<bw_counter, BW_REASON_MAX> Program::counters() const {
    return read_counters(bpf_map__fd(skel_->maps.counters));
}

}  // namespace bulwark::xdp
