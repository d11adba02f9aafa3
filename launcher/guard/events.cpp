#include "guard/events.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <sstream>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"
#include "guard/pins.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"

namespace bulwark::guard {

namespace {

std::string addr_text(uint8_t family, const uint8_t* a) {
    char buf[INET6_ADDRSTRLEN] = "";
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
    return buf;
}

const char* proto_name(uint8_t p) {
    switch (p) {
        case IPPROTO_TCP:
            return "tcp";
        case IPPROTO_UDP:
            return "udp";
        case IPPROTO_ICMP:
            return "icmp";
        case IPPROTO_ICMPV6:
            return "icmpv6";
        default:
            return "other";
    }
}

// What `matched` is for an event: the rule's text or "set:pattern", read from the pins of the
// generation that made the verdict.
struct EventContext {
    std::string service;
    UniqueFd rules, patterns;
    std::string matched(const bw_event& e) const {
        uint32_t gen = e.gen % BW_GENERATIONS;
        if (e.reason == BW_DROP_RULE && e.detail == 0) return policy::kUnresolvedPath;
        if (e.reason == BW_DROP_RULE && e.detail >= 1 && e.detail <= BW_MAX_RULES) {
            bw_rules rs{};
            if (bpf_map_lookup_elem(rules.get(), &gen, &rs) == 0) {
                auto& r = rs.r[e.detail - 1];
                return std::string(r.match, std::min<size_t>(r.len, BW_MAX_RULE_LEN));
            }
        }
        if (e.reason == BW_DROP_PATTERN && e.detail >= 1 && e.detail <= BW_MAX_PATTERNS) {
            uint32_t k = gen * BW_MAX_PATTERNS + e.detail - 1;
            bw_pattern_name n{};
            if (bpf_map_lookup_elem(patterns.get(), &k, &n) == 0)
                return std::string(n.set, strnlen(n.set, sizeof n.set)) + ":" +
                       std::string(n.text, strnlen(n.text, sizeof n.text));
        }
        return "";
    }
};

}  // namespace

Json event_json(const bw_event& e, const std::string& service, const std::string& matched,
                int64_t realtime_offset_ns) {
    bool banned = e.reason == BW_EVENT_BANNED;  // a new ban: `detail` is the offence
    bool spray = e.reason == BW_EVENT_SPRAY;    // `detail`: on (1) or off (0)
    const char* type = "REQUEST_BLOCKED";
    if (banned)
        type = "SOURCE_BANNED";
    else if (spray)
        type = e.detail ? "SPRAY_MODE_ON" : "SPRAY_MODE_OFF";
    else if (e.cls == BW_CLASS_SUSPICIOUS)
        type = "SUSPICIOUS_ACTIVITY";
    else if (e.reason == BW_DROP_RATE_PACKETS || e.reason == BW_DROP_RATE_CONNECTIONS ||
             e.reason == BW_DROP_RATE_REQUESTS || e.reason == BW_DROP_RULE)
        type = "RATE_LIMIT_EXCEEDED";
    Json j{{"time", rfc3339(static_cast<int64_t>(e.time_ns) + realtime_offset_ns)},
           {"type", type},
           {"service", service},
           {"reason", spray ? "new_sources" : xdp::reason_name(banned ? e.detail : e.reason)},
           {"src", addr_text(e.family, e.src)},
           {"src_port", e.sport},
           {"dst", addr_text(e.family, e.dst)},
           {"dst_port", e.dport},
           {"proto", proto_name(e.proto)},
           {"len", e.len}};
    if (banned) {
        j["ban_seconds"] = e.extra;
        return j;
    }
    if (spray) {
        if (!e.detail) j["seconds_on"] = e.extra;
        return j;
    }
    if (e.reason == BW_DROP_RULE) j["rule"] = matched;
    if (e.reason == BW_DROP_PATTERN) j["pattern"] = matched;
    return j;
}

std::string event_line(const Json& ev) {
    std::ostringstream o;
    o << ev["time"].get<std::string>() << " " << ev["type"].get<std::string>() << " "
      << ev["reason"].get<std::string>() << " " << ev["proto"].get<std::string>() << " "
      << ev["src"].get<std::string>() << ":" << ev["src_port"].get<unsigned>() << " -> "
      << ev["dst"].get<std::string>() << ":" << ev["dst_port"].get<unsigned>() << " len "
      << ev["len"].get<unsigned>();
    if (ev.contains("rule")) o << " rule \"" << ev["rule"].get<std::string>() << "\"";
    if (ev.contains("pattern")) o << " pattern \"" << ev["pattern"].get<std::string>() << "\"";
    if (ev.contains("ban_seconds"))
        o << " banned for " << ev["ban_seconds"].get<unsigned>() << " s";
    if (ev["type"] == "SPRAY_MODE_ON")
        o << " (new sources now share aggregate buckets on this CPU)";
    if (ev.contains("seconds_on")) o << " after " << ev["seconds_on"].get<unsigned>() << " s";
    return o.str();
}

struct EventReader::State {
    EventContext ctx;
    UniqueFd ring;
    Sink sink;
    Handle<ring_buffer, ring_buffer__free> rb;

    static int on_event(void* arg, void* data, size_t size) {
        auto* st = static_cast<State*>(arg);
        if (size < sizeof(bw_event)) return 0;
        bw_event e{};
        std::memcpy(&e, data, sizeof e);
        // Recomputed per event: the wall clock may be stepped while following.
        int64_t offset = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
        st->sink(event_json(e, st->ctx.service, st->ctx.matched(e), offset));
        return 0;
    }
};

EventReader::EventReader(const std::string& name, Sink sink) {
    auto dir = instance_dir(name);
    s_ = std::make_unique<State>(
        State{{name, open_pin(dir + "/" BW_MAP_RULES), open_pin(dir + "/" BW_MAP_PATTERNS)},
              open_pin(dir + "/" BW_MAP_EVENTS),
              std::move(sink),
              {}});
    s_->rb.reset(ring_buffer__new(s_->ring.get(), State::on_event, s_.get(), nullptr));
    if (!s_->rb) throw_sys("open ring buffer " + dir + "/" BW_MAP_EVENTS);
}

EventReader::~EventReader() = default;

int EventReader::fd() const {
    return ring_buffer__epoll_fd(s_->rb.get());
}

void EventReader::consume() {
    if (int n = ring_buffer__consume(s_->rb.get()); n < 0) throw SysError("read events", -n);
}

void events(const std::string& name, bool follow, bool json, std::ostream& out) {
    EventReader reader(name, [&](const Json& j) {
        out << (json ? j.dump() : event_line(j)) << "\n";
        out.flush();
    });
    reader.consume();
    if (!follow) return;

    SignalFd stop({SIGINT, SIGTERM});
    pollfd fds[2] = {{stop.fd(), POLLIN, 0}, {reader.fd(), POLLIN, 0}};
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("poll");
        if (fds[0].revents) break;
        reader.consume();
    }
    reader.consume();
}

}  // namespace bulwark::guard
