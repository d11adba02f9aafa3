// How a container's process is scheduled and what it runs as, set just before exec: the runtime
// spec's process.ioPriority, process.scheduler, process.execCPUAffinity and linux.personality.
// Parsing is pure (spec.cpp calls it); the setters are the syscalls.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::oci {

struct IoPriority {
    int io_class = 0;  // IOPRIO_CLASS_RT, _BE, _IDLE (1, 2, 3)
    int level = 0;     // 0 (highest) .. 7
};
// "IOPRIO_CLASS_BE" -> 2; throws InputError for a name Linux does not have.
int io_class_of(const std::string& name);

// sched_setattr(2)'s struct sched_attr, as the spec names its fields.
struct Scheduler {
    uint32_t policy = 0;  // SCHED_OTHER ...
    int32_t nice = 0;
    uint32_t priority = 0;
    uint64_t flags = 0;  // SCHED_FLAG_*
    uint64_t runtime = 0, deadline = 0, period = 0;
};
// "SCHED_BATCH" -> 3, "SCHED_FLAG_RESET_ON_FORK" -> 1; InputError for others (SCHED_ISO was
// never merged into Linux).
uint32_t sched_policy_of(const std::string& name);
uint64_t sched_flag_of(const std::string& name);

// SCHED_FIFO, SCHED_RR and SCHED_DEADLINE; IOPRIO_CLASS_RT. Pure.
bool is_realtime(const Scheduler& s);
bool is_realtime(const IoPriority& p);

// "0-3,6" as sched_setaffinity takes it; InputError for what is no such list or names a CPU at
// or past CPU_SETSIZE. Pure.
cpu_set_t parse_cpu_list(const std::string& text);

// personality(2) domains the spec names: "LINUX" (PER_LINUX), "LINUX32" (PER_LINUX32, uname -m
// says i686 on x86_64); InputError for others.
unsigned long personality_of(const std::string& domain);

// The setters; each throws SysError naming its call.
void set_io_priority(const IoPriority& p);
void set_scheduler(const Scheduler& s);
void set_affinity(pid_t pid, const cpu_set_t& cpus);  // 0: the caller
void set_personality(unsigned long persona);

}  // namespace bulwark::oci
