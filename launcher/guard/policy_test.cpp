#include "guard/policy_test.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include <cstring>

#include "bulwark.skel.h"
#include "core/error.hpp"
#include "guard/program.hpp"

namespace bulwark::policy_test {

namespace {

constexpr size_t kSegment = 1460;              // TCP payload of a 1500-byte MTU segment
constexpr uint32_t kFirstSource = 0x64400000;  // 100.64.0.0: shared address space, RFC 6598

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

// Ethernet, IPv4 and TCP (ACK|PSH) around `payload`. The program checks no checksum.
std::vector<uint8_t> frame(uint32_t src, uint16_t dport, uint16_t sport, std::string_view payload) {
    constexpr size_t kHeaders = 14 + 20 + 20;
    // Sized once: GCC 12 -O3 misreads insert() at the end as a write past the headers.
    std::vector<uint8_t> b(kHeaders + payload.size(), 0);
    for (size_t i = 0; i < 6; ++i) b[i] = 0x02, b[6 + i] = 0x04;
    put16(b, 12, ETH_P_IP);
    b[14] = 0x45;
    put16(b, 16, static_cast<uint16_t>(40 + payload.size()));
    b[22] = 64;
    b[23] = IPPROTO_TCP;
    uint32_t s = htonl(src), d = htonl(0xc6120001);  // 198.18.0.1: the service
    std::memcpy(&b[26], &s, 4);
    std::memcpy(&b[30], &d, 4);
    put16(b, 34, sport);
    put16(b, 36, dport);
    b[46] = 5 << 4;
    b[47] = 0x18;
    if (!payload.empty()) std::memcpy(b.data() + kHeaders, payload.data(), payload.size());
    return b;
}

}  // namespace

struct Tester::Impl {
    policy::Policy policy;
    xdp::Program prog;
    ring_buffer* ring = nullptr;
    bool have_event = false;
    bw_event last{};
    uint32_t fixed_src = 0, next_src = kFirstSource;
    uint16_t port;

    static policy::Policy adapted(policy::Policy p) {
        p.max_sources = 65536;
        p.events_per_source_per_second = 1'000'000;
        return p;
    }
    Impl(const policy::Policy& p, const std::string& src, bool verbose)
        : policy(adapted(p)),
          prog(policy, verbose),
          port(p.inspect_ports.empty() ? 80 : p.inspect_ports.front()) {
        if (!src.empty()) {
            in_addr a{};
            if (inet_pton(AF_INET, src.c_str(), &a) != 1)
                throw InputError("--src " + src + ": not an IPv4 address");
            fixed_src = ntohl(a.s_addr);
        }
        ring = ring_buffer__new(
            prog.map_fd(BW_MAP_EVENTS),
            [](void* ctx, void* data, size_t size) {
                auto* self = static_cast<Impl*>(ctx);
                if (size >= sizeof(bw_event) && !self->have_event) {
                    std::memcpy(&self->last, data, sizeof self->last);
                    self->have_event = true;
                }
                return 0;
            },
            this, nullptr);
        if (!ring) throw_sys("ring_buffer__new(events)");
    }
    ~Impl() { ring_buffer__free(ring); }

    std::string matched(const bw_event& e) const {
        if (e.reason == BW_DROP_PATTERN && e.detail > 0 && e.detail <= prog.dfa().patterns.size()) {
            auto& pat = prog.dfa().patterns[e.detail - 1];
            return pat.set + ":" + pat.text;
        }
        if (e.reason == BW_DROP_RULE && e.detail == 0) return policy::kUnresolvedPath;
        if (e.reason == BW_DROP_RULE && e.detail > 0 && e.detail <= policy.rules.size())
            return policy.rules[e.detail - 1].match;
        return {};
    }
};

Tester::Tester(const policy::Policy& p, std::string src, bool verbose)
    : impl_(new Impl(p, src, verbose)) {}

Tester::~Tester() {
    delete impl_;
}

Verdict Tester::run(const std::string& request) {
    auto& m = *impl_;
    uint32_t src = m.fixed_src ? m.fixed_src : m.next_src++;
    if (m.next_src >= kFirstSource + (1u << 22)) m.next_src = kFirstSource;  // 100.64.0.0/10
    Verdict v;
    v.segments = std::max<size_t>(1, (request.size() + kSegment - 1) / kSegment);
    for (size_t off = 0; off < request.size() || off == 0; off += kSegment) {
        auto before = m.prog.counters();
        auto f = frame(src, m.port, static_cast<uint16_t>(40000 + (src & 0x3fff)),
                       std::string_view(request).substr(off, kSegment));
        auto o = xdp::test_run(m.prog.prog_fd(), f);
        m.have_event = false;
        ring_buffer__consume(m.ring);
        auto after = m.prog.counters();
        // The reason the counters moved for; the event, when one came, also names the match.
        unsigned reason = BW_PASS;
        for (unsigned r = 0; r < BW_REASON_MAX; ++r)
            if (after[r].packets != before[r].packets) reason = r;
        if (o.retval == XDP_DROP) {
            v.dropped = true;
            v.reason = xdp::reason_name(reason);
            if (m.have_event) v.matched = m.matched(m.last);
            return v;
        }
        v.reason = xdp::reason_name(reason);
        if (request.empty()) break;
    }
    return v;
}

}  // namespace bulwark::policy_test
