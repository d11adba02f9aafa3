#include "guard/program.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <numeric>
#include <string_view>
#include <vector>

#include "bulwark.skel.h"
#include "core/cache.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "guard/dfa_cache.hpp"
#include "guard/map_walk.hpp"

namespace bulwark::xdp {

void Program::SkelDeleter::operator()(bulwark_bpf* s) const {
    bulwark_bpf__destroy(s);
}

namespace {

constexpr uint32_t kRuleBucketsMax = 262144;
constexpr uint32_t kEventGatesMax = 65536;
constexpr uint32_t kProxiedMax = 65536;
constexpr uint32_t kAggregatesMax = 65536;

// One entry of a per-CPU map: each CPU's value.
template <class T>
std::vector<T> read_percpu(int map_fd, uint32_t key, const std::string& what) {
    std::vector<T> per_cpu(possible_cpus());
    if (bpf_map_lookup_elem(map_fd, &key, per_cpu.data()) != 0) throw_sys("read " + what);
    return per_cpu;
}

bw_rate rate_of(const std::optional<policy::Rate>& r) {
    if (!r) return {0, 0};
    auto g = policy::to_gcra(*r);
    return {g.interval_ns, g.tau_ns};
}

void put(int fd, const void* key, const void* value, const std::string& what) {
    if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) throw_sys("update " + what);
}

// Consecutive keys from `first` in one bpf(2) call: a reload rewrites its generation's 1,024
// pattern slots, and one call each made a reload of a one-pattern policy take 2.5 ms here and
// 0.1 s under the VM's emulation. `values` holds n values as the map takes them (per CPU).
void put_run(int fd, uint32_t first, uint32_t n, const void* values, const std::string& what) {
    if (n == 0) return;
    std::vector<uint32_t> keys(n);
    std::iota(keys.begin(), keys.end(), first);
    uint32_t count = n;
    if (bpf_map_update_batch(fd, keys.data(), values, &count, nullptr) != 0)
        throw_sys("update " + what);
}

void fill_lists(const PolicyMaps& m, uint32_t gen, const std::vector<Cidr>& list, uint32_t cls) {
    for (auto& c : list) {
        if (c.family == AF_INET) {
            bw_lpm_v4 k{BW_LPM_GEN_BITS + c.prefix, gen, {}};
            std::copy_n(c.addr.begin(), 4, k.addr);
            put(m.lists_v4, &k, &cls, "lists_v4 " + c.text);
        } else {
            bw_lpm_v6 k{BW_LPM_GEN_BITS + c.prefix, gen, {}};
            std::copy_n(c.addr.begin(), 16, k.addr);
            put(m.lists_v6, &k, &cls, "lists_v6 " + c.text);
        }
    }
}

// Deletes every key of `gen` from an LPM map (keys are collected first: deleting while
// walking would restart the walk).
template <typename Key>
void clear_lpm(int fd, uint32_t gen, const char* what) {
    std::vector<Key> doomed;
    for_each_key<Key>(fd, [&](const Key& k) {
        if (k.gen == gen) doomed.push_back(k);
    });
    for (auto& d : doomed)
        if (bpf_map_delete_elem(fd, &d) != 0 && errno != ENOENT)
            throw_sys(std::string("clear ") + what);
}

// Waits for an RCU grace period: the kernel runs synchronize_rcu() after an update of a
// map-of-maps before returning, so every XDP program that started before the call (and might
// have read the old generation) has finished when it returns.
void wait_for_running_programs() {
    UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bw_sync_inner", 4, 4, 1, nullptr));
    if (!inner) throw_sys("create map for the reload barrier");
    LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = static_cast<uint32_t>(inner.get()));
    UniqueFd outer(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "bw_sync", 4, 4, 1, &o));
    if (!outer) throw_sys("create map for the reload barrier");
    uint32_t zero = 0;
    int fd = inner.get();
    if (bpf_map_update_elem(outer.get(), &zero, &fd, BPF_ANY) != 0)
        throw_sys("wait for running XDP programs");
}

}  // namespace

unsigned possible_cpus() {
    int n = libbpf_num_possible_cpus();
    if (n <= 0) throw SysError("libbpf_num_possible_cpus", -n);
    return static_cast<unsigned>(n);
}

uint64_t coarse_tick_ns() {
    timespec res{};
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return UINT64_MAX;
    return static_cast<uint64_t>(res.tv_sec) * 1'000'000'000ULL +
           static_cast<uint64_t>(res.tv_nsec);
}

uint32_t seen_entries(uint64_t max_sources) {
    // 56 bits per entry and epoch, one entry per eight sources: seven bits a source, so a full
    // table leaves about one lookup in eight of an untracked source to the table (a false
    // positive); 2 MiB for a million sources, small enough to stay in a CPU's caches.
    uint32_t n = 128;
    while (n < max_sources / 8) n *= 2;
    return n;
}

static_assert(static_cast<uint32_t>(policy::SynFlood::Cookies::Auto) == BW_COOKIES_AUTO &&
              static_cast<uint32_t>(policy::SynFlood::Cookies::Always) == BW_COOKIES_ALWAYS);

bw_config make_config(const policy::Policy& p, uint64_t tick_ns, unsigned cpus) {
    bw_config c{};
    auto set = [&](unsigned cls, const policy::Limits& l) {
        c.rates[cls][BW_LIMIT_PACKETS] = rate_of(l.packets);
        c.rates[cls][BW_LIMIT_CONNECTIONS] = rate_of(l.connections);
        c.rates[cls][BW_LIMIT_REQUESTS] = rate_of(l.requests);
    };
    set(BW_CLASS_DEFAULT, p.default_limits);
    set(BW_CLASS_SUSPICIOUS, p.suspicious_limits);
    // Untracked sources share an aggregate at its own limits where the policy gives them, at
    // one source's elsewhere: a spray from one /24 is held like one source.
    auto shared = p.aggregate_limits;
    for (auto [kind, def] : {std::pair{&shared.packets, &p.default_limits.packets},
                             {&shared.connections, &p.default_limits.connections},
                             {&shared.requests, &p.default_limits.requests}})
        if (!*kind) *kind = *def;
    set(BW_RATES_SHARED, shared);
    set(BW_RATES_AGGREGATE, p.aggregate_limits);
    for (unsigned k = 0; k < BW_LIMIT_KINDS; ++k)
        if (c.rates[BW_RATES_AGGREGATE][k].interval_ns) c.sprays.aggregate_kinds |= 1u << k;
    c.sprays.new_sources = rate_of(policy::new_sources_per_cpu(p, cpus));
    c.sprays.prefix_v4 = p.aggregate_prefix_v4;
    c.sprays.prefix_v6 = p.aggregate_prefix_v6;
    c.sprays.seen_mask = seen_entries(p.max_sources) - 1;
    c.syn.mode = static_cast<uint32_t>(p.syn_flood.cookies);
    c.syn.threshold = rate_of(p.syn_flood.threshold);
    c.key_prefix_v4 = p.key_prefix_v4;
    c.key_prefix_v6 = p.key_prefix_v6;
    c.drop_fragments = p.non_first_fragments == policy::Policy::Fragments::Drop;
    c.scan_bytes = p.pattern_sets.empty() ? 0 : p.scan_bytes;
    c.scan_binary = p.scan_binary;
    c.nrules = static_cast<uint32_t>(p.rules.size());
    if (uint64_t n = p.events_per_source_per_second)
        c.events = rate_of(policy::Rate{n, 1'000'000'000ULL, n});
    // The tick clock is exact enough when every bucket tolerates a tick's worth of packets;
    // otherwise a burst of 1 at 1000/s would be capped at one packet per tick. Event gates do
    // not count: they only throttle reports.
    // Every bucket's rate: the limit rows' and the rules'.
    std::vector<bw_rate> buckets;
    for (auto& row : c.rates) buckets.insert(buckets.end(), std::begin(row), std::end(row));
    for (auto& rule : p.rules) buckets.push_back(rate_of(rule.limit));
    bool coarse = tick_ns > 0 && tick_ns != UINT64_MAX;
    auto covers = [&](const bw_rate& r) { return r.interval_ns == 0 || r.tau_ns >= tick_ns; };
    c.coarse_clock = coarse && std::all_of(buckets.begin(), buckets.end(), covers) &&
                     covers(c.sprays.new_sources) && covers(c.syn.threshold);
    // The seen filter's epoch: a source keeps its bit for one to two epochs after its last
    // packet, so an epoch outlasts every bucket's memory (a bucket idle that long is full
    // again, as a new source's) and the event gates'; at least a minute (2^36 ns, 69 s).
    if (p.new_sources) {
        uint64_t longest = 60'000'000'000ULL;
        buckets.push_back(c.events);
        for (auto& r : buckets)
            if (r.interval_ns) longest = std::max<uint64_t>(longest, r.tau_ns + r.interval_ns);
        // A power of two, so the program takes the epoch with a shift, not a division.
        c.sprays.epoch_shift = 1;
        while ((1ULL << c.sprays.epoch_shift) < longest) ++c.sprays.epoch_shift;
    }
    for (auto* list : {&p.deny, &p.trusted, &p.suspicious, &p.proxies})
        for (auto& cidr : *list) (cidr.family == AF_INET ? c.lists_v4 : c.lists_v6) = 1;
    if (p.bans) {
        c.bans.for_ns = p.bans->first_ns;
        c.bans.max_ns = p.bans->max_ns;
        c.bans.within_ns = p.bans->within_ns;
        c.bans.forget_ns = p.bans->forget_ns;
        c.bans.after = p.bans->after;
        for (auto& name : p.bans->reasons)
            for (unsigned r = 0; r < BW_REASON_MAX; ++r)
                if (name == reason_name(r)) c.bans.reasons |= 1u << r;
    }
    return c;
}

Compiled compile(const policy::Policy& p, bool cached) {
    auto patterns = policy::all_patterns(p);
    auto tables = cached ? automaton::cache::compile(patterns, bulwark::cache::dir("policy"))
                         : automaton::cache::Compiled{automaton::compile(patterns), false};
    Compiled c{make_config(p, coarse_tick_ns(), possible_cpus()),
               std::move(tables.automaton),
               {},
               {},
               tables.from_cache};
    c.config.ndfa = static_cast<uint32_t>(c.dfa.tables.size());
    for (auto& t : c.dfa.tables) c.config.any_raw |= t.raw ? 1u : 0u;
    for (size_t i = 0; i < c.dfa.tables.size(); ++i)
        c.config.dfa[i] = automaton::to_kernel(c.dfa.tables[i]);
    for (size_t i = 0; i < p.rules.size() && i < BW_MAX_RULES; ++i) {
        auto& r = c.rules.r[i];
        r.len = static_cast<uint32_t>(std::min<size_t>(p.rules[i].match.size(), BW_MAX_RULE_LEN));
        std::memcpy(r.match, p.rules[i].match.data(), r.len);
        std::memset(r.mask, 0xff, r.len);
        r.action = p.rules[i].exempt ? BW_RULE_EXEMPT : BW_RULE_LIMIT;
        r.rate = rate_of(p.rules[i].limit);
    }
    for (auto& pat : c.dfa.patterns) {
        bw_pattern_name n{};
        std::strncpy(n.set, pat.set.c_str(), sizeof n.set - 1);
        std::memcpy(n.text, pat.text.data(), std::min(pat.text.size(), sizeof n.text));
        c.pattern_names.push_back(n);
    }
    return c;
}

namespace {

// A table of the idle generation (key gen * BW_DFA_TABLES + i), written in place through the map's
// memory: the new policy's rows, and zeros over what only the previous one used (entries past the
// used rows are never reached, zeros keep dumps honest). Only those pages are mapped: a mapping
// costs a page table update per page, dear on a VM. Programs cannot be reading this generation (the
// last switch waited them out); the fence orders these stores before the policy_gen store that
// publishes them, and a program reaches the table only through the generation it read.
void write_automaton(int fd, uint32_t key, const std::vector<uint32_t>& table, size_t old_used) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t n = std::min<size_t>(table.size(), BW_DFA_ENTRIES);
    size_t used = std::max(n, std::min<size_t>(old_used, BW_DFA_ENTRIES));
    size_t len = (used * sizeof(uint32_t) + page - 1) / page * page;
    if (len == 0) return;
    Mapping mem(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                static_cast<off_t>(key * sizeof(bw_table)), "automaton map");
    auto* e = static_cast<uint32_t*>(mem.get());
    std::copy_n(table.begin(), n, e);
    std::fill(e + n, e + used, 0u);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace

void clear_generation(const PolicyMaps& m, uint32_t gen) {
    clear_lpm<bw_lpm_v4>(m.lists_v4, gen, "lists_v4");
    clear_lpm<bw_lpm_v6>(m.lists_v6, gen, "lists_v6");
    bw_ports none{};
    put(m.ports, &gen, &none, "ports");
}

void write_generation(const PolicyMaps& m, uint32_t gen, const Compiled& c,
                      const policy::Policy& p) {
    bw_config old{};
    if (bpf_map_lookup_elem(m.config, &gen, &old) != 0) throw_sys("read config");
    clear_generation(m, gen);
    try {
        put(m.config, &gen, &c.config, "config");
        bw_ports ports{};
        for (uint32_t port : p.inspect_ports)
            ports.bits[(port & 0xffff) >> 3] |= static_cast<uint8_t>(1u << (port & 7));
        put(m.ports, &gen, &ports, "ports");
        fill_lists(m, gen, p.deny, BW_CLASS_DENY);
        fill_lists(m, gen, p.trusted, BW_CLASS_TRUSTED);
        fill_lists(m, gen, p.suspicious, BW_CLASS_SUSPICIOUS);
        fill_lists(m, gen, p.proxies, BW_CLASS_PROXY);
        put(m.rules, &gen, &c.rules, "rules");
        // The generation's per-pattern drop counts start again: its patterns are new.
        put_run(m.patterns, gen * BW_MAX_PATTERNS,
                static_cast<uint32_t>(std::min<size_t>(c.pattern_names.size(), BW_MAX_PATTERNS)),
                c.pattern_names.data(), "patterns");
        if (m.pattern_hits >= 0) {
            std::vector<uint64_t> zeros(possible_cpus() * BW_MAX_PATTERNS, 0);
            put_run(m.pattern_hits, gen * BW_MAX_PATTERNS, BW_MAX_PATTERNS, zeros.data(),
                    "pattern_hits");
        }
        static const std::vector<uint32_t> none;
        for (uint32_t i = 0; i < BW_DFA_TABLES; ++i)
            write_automaton(m.automaton, gen * BW_DFA_TABLES + i,
                            i < c.dfa.tables.size() ? c.dfa.tables[i].table : none,
                            automaton::used_entries(old.dfa[i]));
    } catch (...) {
        clear_generation(m, gen);
        throw;
    }
}

uint32_t active_generation(int policy_gen_fd) {
    uint32_t zero = 0, gen = 0;
    if (bpf_map_lookup_elem(policy_gen_fd, &zero, &gen) != 0) throw_sys("read policy_gen");
    return gen % BW_GENERATIONS;
}

uint32_t active_generation(const PolicyMaps& m) {
    return active_generation(m.policy_gen);
}

void switch_generation(const PolicyMaps& m, uint32_t gen) {
    uint32_t zero = 0;
    put(m.policy_gen, &zero, &gen, "policy_gen");
    wait_for_running_programs();
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
                                               "drop_malformed",
                                               "drop_banned",
                                               "syn_cookie"};
    return reason < BW_REASON_MAX ? names[reason] : "unknown";
}

namespace {

// libbpf's messages (the verifier's log among them) are collected while the program loads and
// printed, each line as "bulwark: libbpf: ...", only if the load fails; libbpf_set_print takes
// no context pointer, so the collector is reached through a thread_local for the load's scope.
class LibbpfLog {
  public:
    explicit LibbpfLog(bool debug) : previous_(libbpf_set_print(collect)), debug_(debug) {
        current() = this;
    }
    ~LibbpfLog() {
        current() = nullptr;
        libbpf_set_print(previous_);
    }
    LibbpfLog(const LibbpfLog&) = delete;
    LibbpfLog& operator=(const LibbpfLog&) = delete;
    void print(std::FILE* to) const {
        size_t at = 0;
        while (at < text_.size()) {
            auto end = text_.find('\n', at);
            if (end == std::string::npos) end = text_.size();
            auto line = std::string_view(text_).substr(at, end - at);
            at = end + 1;
            // Most of libbpf's own lines already name it.
            if (line.substr(0, 8) == "libbpf: ") line.remove_prefix(8);
            if (!line.empty())
                std::fprintf(to, "bulwark: libbpf: %.*s\n", static_cast<int>(line.size()),
                             line.data());
        }
    }

  private:
    static LibbpfLog*& current() {
        thread_local LibbpfLog* log = nullptr;
        return log;
    }
    static int collect(libbpf_print_level level, const char* fmt, va_list ap) {
        auto* log = current();
        if (!log || (level == LIBBPF_DEBUG && !log->debug_)) return 0;
        // The verifier's log is one message of up to megabytes: its head says which function,
        // its tail what was refused; a long one keeps both ends.
        va_list copy;
        va_copy(copy, ap);
        int n = std::vsnprintf(nullptr, 0, fmt, copy);
        va_end(copy);
        if (n <= 0) return n;
        std::string msg(static_cast<size_t>(n) + 1, '\0');
        std::vsnprintf(msg.data(), msg.size(), fmt, ap);
        msg.resize(static_cast<size_t>(n));
        constexpr size_t kHead = 8192, kTail = 65536;
        if (msg.size() > kHead + kTail) {
            auto cut = msg.find('\n', kHead);
            auto resume = msg.find('\n', msg.size() - kTail);
            if (cut != std::string::npos && resume != std::string::npos && cut < resume)
                msg = msg.substr(0, cut + 1) + "... (" + std::to_string(resume - cut) +
                      " bytes of the log left out) ...\n" + msg.substr(resume + 1);
        }
        log->text_ += msg;
        return n;
    }
    libbpf_print_fn_t previous_;
    bool debug_;
    std::string text_;
};

}  // namespace

Program::Program(const policy::Policy& p, bool verbose) : compiled_(compile(p, true)) {
    LibbpfLog log(verbose);
    skel_.reset(bulwark_bpf__open());
    if (!skel_) {
        int err = errno;
        log.print(stderr);
        throw SysError("open XDP program", err);
    }
    // LRU maps are preallocated (~100 bytes an entry, ~0.2 s per million at attach). Sources
    // get max_sources. Rule buckets and event gates are capped lower: under a spray larger than
    // the cap an evicted rule bucket starts fresh (the source's request bucket still holds),
    // and an evicted gate lets one more event through (the ring buffer counts what it drops).
    auto n = static_cast<uint32_t>(p.max_sources);
    auto size = [](bpf_map* map, uint32_t entries) {
        if (bpf_map__set_max_entries(map, entries) != 0)
            throw_sys(std::string("size ") + bpf_map__name(map) + " map");
    };
    size(skel_->maps.sources, n);
    size(skel_->maps.rule_buckets, std::min(n, kRuleBucketsMax));
    size(skel_->maps.event_gate, std::min(n, kEventGatesMax));
    // Connections from proxies (lists.proxies), each naming its client: an evicted one's
    // packets become the proxy's own.
    size(skel_->maps.proxied, std::min(n, kProxiedMax));
    // Aggregates: one per /24 or /48 that untracked sources come from, or that any source does
    // when the policy limits aggregates; an evicted one starts fresh.
    size(skel_->maps.aggregates, std::min(n, kAggregatesMax));
    size(skel_->maps.seen, seen_entries(p.max_sources));
    // The ban table as the policy says (a reload cannot resize it); offences are counted for
    // up to four times as many sources (an evicted count starts again).
    uint32_t table = p.bans ? p.bans->table : 16;
    size(skel_->maps.bans, table);
    size(skel_->maps.strikes, std::min(n, table * 4));

    if (int rc = bulwark_bpf__load(skel_.get()); rc != 0) {
        log.print(stderr);
        throw SysError("load XDP program", -rc);
    }
    if (verbose) log.print(stderr);
    write_generation(maps(), 0, compiled_, p);
    switch_generation(maps(), 0);
}

PolicyMaps Program::maps() const {
    auto& m = skel_->maps;
    return {bpf_map__fd(m.policy_gen), bpf_map__fd(m.config),   bpf_map__fd(m.ports),
            bpf_map__fd(m.lists_v4),   bpf_map__fd(m.lists_v6), bpf_map__fd(m.rules),
            bpf_map__fd(m.automaton),  bpf_map__fd(m.patterns), bpf_map__fd(m.pattern_hits)};
}

int Program::map_fd(const char* name) const {
    return bpf_object__find_map_fd_by_name(skel_->obj, name);
}

void Program::pin_maps(const std::string& dir) const {
    bpf_map* map;
    bpf_object__for_each_map(map, skel_->obj) {
        // .rodata is the program's constants, not state anyone reads: bpffs (6.1) refuses the
        // dot in its name, and the pins are the contract of docs/design.md.
        if (bpf_map__is_internal(map)) continue;
        auto path = dir + "/" + bpf_map__name(map);
        if (int rc = bpf_map__pin(map, path.c_str()); rc != 0) throw SysError("pin " + path, -rc);
    }
}

int Program::prog_fd() const {
    return bpf_program__fd(skel_->progs.bulwark_xdp);
}

std::array<bw_counter, BW_REASON_MAX> read_counters(int map_fd) {
    std::array<bw_counter, BW_REASON_MAX> out{};
    for (uint32_t r = 0; r < BW_REASON_MAX; ++r) {
        for (auto& c : read_percpu<bw_counter>(map_fd, r, "counters")) {
            out[r].packets += c.packets;
            out[r].bytes += c.bytes;
        }
    }
    return out;
}

TestRun test_run(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat) {
    std::vector<uint8_t> out(frame.size() + 256);
    bpf_test_run_opts o{};
    o.sz = sizeof o;
    o.data_in = frame.data();
    o.data_size_in = static_cast<uint32_t>(frame.size());
    o.data_out = out.data();
    o.repeat = repeat;
    // The kernel checks for a signal between repeats and gives up with EINTR (a debugger's or
    // a child's signal to any thread of a caller): the run starts again.
    int rc;
    do {
        o.data_size_out = static_cast<uint32_t>(out.size());
        rc = bpf_prog_test_run_opts(prog_fd, &o);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) throw_sys("BPF_PROG_TEST_RUN");
    out.resize(std::min<size_t>(o.data_size_out, out.size()));
    return {static_cast<int>(o.retval), o.duration, std::move(out)};
}

std::vector<uint64_t> read_pattern_hits(int map_fd, uint32_t gen) {
    std::vector<uint64_t> out(BW_MAX_PATTERNS, 0);
    for (uint32_t i = 0; i < BW_MAX_PATTERNS; ++i)
        for (auto v : read_percpu<uint64_t>(map_fd, gen * BW_MAX_PATTERNS + i, "pattern_hits"))
            out[i] += v;
    return out;
}

uint64_t read_percpu_sum(int map_fd, uint32_t key) {
    uint64_t sum = 0;
    for (auto v : read_percpu<uint64_t>(map_fd, key, "per-CPU entry " + std::to_string(key)))
        sum += v;
    return sum;
}

std::vector<bw_spray> read_spray(int map_fd) {
    return read_percpu<bw_spray>(map_fd, 0, "spray");
}

std::vector<bw_syn> read_syn(int map_fd) {
    return read_percpu<bw_syn>(map_fd, 0, "syn");
}

uint64_t read_events_lost(int map_fd) {
    return read_percpu_sum(map_fd, 0);
}

std::array<bw_counter, BW_REASON_MAX> Program::counters() const {
    return read_counters(bpf_map__fd(skel_->maps.counters));
}

}  // namespace bulwark::xdp
