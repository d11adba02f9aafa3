#include "oci/scheduling.hpp"

#include <linux/sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>

#include "core/error.hpp"

namespace bulwark::oci {

namespace {

// The kernel's ABI, spelt here: linux/ioprio.h does not compile as C++ (a parameter named
// `class`) and linux/sched/types.h redefines glibc's struct sched_param.
constexpr int kIoprioClassShift = 13, kIoprioWhoProcess = 1;
constexpr int kIoprioClassRt = 1, kIoprioClassBe = 2, kIoprioClassIdle = 3;
struct SchedAttr {  // sched_setattr(2)
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

template <class T, size_t N>
T lookup(const std::pair<const char*, T> (&table)[N], const std::string& name, const char* what) {
    for (auto& [n, v] : table)
        if (name == n) return v;
    std::string known;
    for (auto& [n, v] : table) known += std::string(known.empty() ? "" : ", ") + n;
    throw InputError("\"" + name + "\" is not " + what + " (" + known + ")");
}

}  // namespace

int io_class_of(const std::string& name) {
    static constexpr std::pair<const char*, int> kClasses[] = {
        {"IOPRIO_CLASS_RT", kIoprioClassRt},
        {"IOPRIO_CLASS_BE", kIoprioClassBe},
        {"IOPRIO_CLASS_IDLE", kIoprioClassIdle}};
    return lookup(kClasses, name, "an I/O priority class");
}

uint32_t sched_policy_of(const std::string& name) {
    static constexpr std::pair<const char*, uint32_t> kPolicies[] = {
        {"SCHED_OTHER", SCHED_NORMAL}, {"SCHED_FIFO", SCHED_FIFO},
        {"SCHED_RR", SCHED_RR},        {"SCHED_BATCH", SCHED_BATCH},
        {"SCHED_IDLE", SCHED_IDLE},    {"SCHED_DEADLINE", SCHED_DEADLINE}};
    return lookup(kPolicies, name, "a Linux scheduling policy");
}

uint64_t sched_flag_of(const std::string& name) {
    static constexpr std::pair<const char*, uint64_t> kFlags[] = {
        {"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK},
        {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
        {"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN},
        {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
        {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS},
        {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
        {"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX}};
    return lookup(kFlags, name, "a scheduling flag");
}

bool is_realtime(const Scheduler& s) {
    return s.policy == SCHED_FIFO || s.policy == SCHED_RR || s.policy == SCHED_DEADLINE;
}

bool is_realtime(const IoPriority& p) {
    return p.io_class == kIoprioClassRt;
}

cpu_set_t parse_cpu_list(const std::string& text) {
    auto bad = [&] {
        return InputError("\"" + text + "\" is not a list of CPUs such as \"0-3,6\"");
    };
    cpu_set_t set;
    CPU_ZERO(&set);
    if (text.empty()) throw bad();
    std::istringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        auto dash = part.find('-');
        auto number = [&](const std::string& s) {
            if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
                throw bad();
            auto n = std::stoul(s);
            if (n >= CPU_SETSIZE)
                throw InputError("CPU " + s + " is past the last one Linux schedules on (" +
                                 std::to_string(CPU_SETSIZE - 1) + ")");
            return n;
        };
        auto lo = number(part.substr(0, dash));
        auto hi = dash == std::string::npos ? lo : number(part.substr(dash + 1));
        if (hi < lo) throw bad();
        for (auto c = lo; c <= hi; ++c) CPU_SET(c, &set);
    }
    if (text.back() == ',') throw bad();  // getline drops a last empty part
    return set;
}

unsigned long personality_of(const std::string& domain) {
    static constexpr std::pair<const char*, unsigned long> kDomains[] = {{"LINUX", PER_LINUX},
                                                                         {"LINUX32", PER_LINUX32}};
    return lookup(kDomains, domain, "a personality domain");
}

void set_io_priority(const IoPriority& p) {
    if (syscall(SYS_ioprio_set, kIoprioWhoProcess, 0,
                (p.io_class << kIoprioClassShift) | p.level) != 0)
        throw_sys("ioprio_set");
}

void set_scheduler(const Scheduler& s) {
    SchedAttr a{};
    a.size = sizeof a;
    a.sched_policy = s.policy;
    a.sched_flags = s.flags;
    a.sched_nice = s.nice;
    a.sched_priority = s.priority;
    a.sched_runtime = s.runtime;
    a.sched_deadline = s.deadline;
    a.sched_period = s.period;
    if (syscall(SYS_sched_setattr, 0, &a, 0) != 0) throw_sys("sched_setattr");
}

void set_affinity(pid_t pid, const cpu_set_t& cpus) {
    if (sched_setaffinity(pid, sizeof cpus, &cpus) != 0) throw_sys("sched_setaffinity");
}

void set_personality(unsigned long persona) {
    if (personality(persona) < 0) throw_sys("personality");
}

}  // namespace bulwark::oci
