#include "guard/synproxy.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/sys.hpp"

namespace bulwark::guard {

namespace {

struct NftResult {
    int status;
    std::string out;  // standard output and error
};

// `nft -f -` with `input` on its standard input.
NftResult nft(const std::string& input) {
    const char* path = nullptr;
    for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"})
        if (access(p, X_OK) == 0) {
            path = p;
            break;
        }
    if (!path) throw std::runtime_error("nft: not found (SYN cookies need nftables installed)");
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) throw_sys("pipe2");
    UniqueFd in_r(in[0]), in_w(in[1]);
    if (pipe2(out, O_CLOEXEC) != 0) throw_sys("pipe2");
    UniqueFd out_r(out[0]), out_w(out[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 2);
    char* argv[] = {const_cast<char*>("nft"), const_cast<char*>("-f"), const_cast<char*>("-"),
                    nullptr};
    char* envp[] = {nullptr};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, nullptr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw SysError(std::string("posix_spawn(") + path + ")", rc);
    in_r.reset();
    out_w.reset();
    bool wrote = write_all(in_w.get(), input.data(), input.size());
    in_w.reset();
    NftResult r{0, {}};
    char buf[512];
    for (ssize_t n; (n = read(out_r.get(), buf, sizeof buf)) != 0;) {
        if (n > 0)
            r.out.append(buf, static_cast<size_t>(n));
        else if (errno != EINTR)
            break;
    }
    while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    if (!wrote) r.status = -1;
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r;
}

bool ok(const NftResult& r) {
    return r.status == 0 || (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
}

}  // namespace

std::string synproxy_table(const std::string& name) {
    return "bulwark_" + name;
}

std::string synproxy_ruleset(const std::string& table, const std::string& iface,
                             const std::vector<uint16_t>& ports, unsigned mss, unsigned wscale) {
    std::string set;
    for (auto p : ports) set += (set.empty() ? "" : ", ") + std::to_string(p);
    std::string match = "iifname \"" + iface + "\" tcp dport { " + set + " } ct state ";
    // SYNPROXY's own ACK to the listener (locally made, so through lo, from the client's
    // address) leaves with the timestamp echo the listener sent and then passes SYNPROXY's
    // timestamp translation, which shifts it again. Since Linux 6.15 a listener refuses a
    // handshake ACK whose echo no SYN-ACK of its carried and answers with a challenge ACK; when
    // its clock ticked in between, the client echoes that newer value and the listener refuses
    // the client's data too, until it resends its SYN-ACK a second later (1-3% of connections,
    // measured). Without the option the listener takes the ACK as it takes any ACK without
    // one, so the connection exists before the client's first byte.
    std::string own_ack = "iifname \"lo\" tcp dport { " + set +
                          " } tcp flags & (fin | syn | rst | ack) == ack fib saddr type != local";
    return "table inet " + table + " {\n  chain syn_cookies {\n" +
           "    type filter hook input priority filter; policy accept;\n    " + match +
           "invalid,untracked synproxy mss " + std::to_string(mss) + " wscale " +
           std::to_string(wscale) + " timestamp sack-perm\n    " + match + "invalid drop\n    " +
           own_ack + " reset tcp option timestamp\n  }\n}\n";
}

void load_synproxy(const std::string& table, const std::string& iface,
                   const std::vector<uint16_t>& ports, unsigned mss, unsigned wscale) {
    // A table of that name left by a run that was killed goes first, in the same transaction.
    auto r = nft("table inet " + table + "\ndelete table inet " + table + "\n" +
                 synproxy_ruleset(table, iface, ports, mss, wscale));
    if (!ok(r))
        throw std::runtime_error("nft (SYNPROXY rules for SYN cookies): " +
                                 (r.out.empty() ? std::string("failed") : r.out));
    // After the rules: where conntrack is a module, loading them is what registers the
    // namespace's netfilter sysctls.
    const char* loose = "/proc/sys/net/netfilter/nf_conntrack_tcp_loose";
    UniqueFd f(open(loose, O_WRONLY | O_CLOEXEC));
    if (!f || !write_all(f.get(), "0", 1)) {
        int err = errno;
        unload_synproxy(table);
        throw SysError(std::string("write ") + loose, err);
    }
}

void unload_synproxy(const std::string& table) {
    nft("delete table inet " + table + "\n");  // absent: nothing to do
}

unsigned mtu_of(const std::string& iface) {
    ifreq ifr{};
    if (int err = ifreq_ioctl(iface, SIOCGIFMTU, ifr))
        throw SysError("SIOCGIFMTU(" + iface + ")", err);
    return static_cast<unsigned>(ifr.ifr_mtu);
}

}  // namespace bulwark::guard
