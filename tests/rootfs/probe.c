/* The tests' probe: runs inside the sandbox and reports what it can and cannot do, one
 * "key=value" line each, values being errno names (EPERM...) or OK. Static, so it runs in the
 * busybox rootfs. Every forbidden operation is harmless if it were to succeed in a sandbox. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char* res(long rc) { return rc < 0 ? strerrorname_np(errno) : "OK"; }
static void put(const char* k, long rc) { printf("%s=%s\n", k, res(rc)); }

static void status_lines(void) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        const char* keys[] = {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
                              "CapAmb:", "NoNewPrivs:", "Seccomp:"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            size_t n = strlen(keys[i]);
            if (strncmp(line, keys[i], n) != 0) continue;
            char* v = line + n;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            printf("%.*s=%s\n", (int)(n - 1), keys[i], v);
        }
    }
    fclose(f);
}

/* A clone that must be refused; should it succeed, the child leaves at once. */
static long try_clone(unsigned long flags) {
    long rc = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (rc == 0) _exit(0);
    if (rc > 0) waitpid((pid_t)rc, NULL, 0);
    return rc;
}

static void forbidden(void) {
    char hostname_buf[64];
    (void)hostname_buf;
    put("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
    put("umount2", umount2("/proc", MNT_DETACH));
    put("unshare_mnt", unshare(CLONE_NEWNS));
    put("unshare_user", unshare(CLONE_NEWUSER));
    put("unshare_net", unshare(CLONE_NEWNET));
    put("unshare_pid", unshare(CLONE_NEWPID));
    put("unshare_ipc", unshare(CLONE_NEWIPC));
    put("unshare_uts", unshare(CLONE_NEWUTS));
    put("unshare_cgroup", unshare(CLONE_NEWCGROUP));
    put("clone_newuser", try_clone(CLONE_NEWUSER));
    int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    put("setns", setns(ns, 0));
    put("ptrace", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
    put("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0));
    struct perf_event_attr pa = {.type = PERF_TYPE_SOFTWARE, .size = sizeof pa, .config = PERF_COUNT_SW_CPU_CLOCK};
    put("perf_event_open", syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));
    put("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
    put("add_key", syscall(SYS_add_key, "user", "bulwark", "x", 1, KEY_SPEC_SESSION_KEYRING));
    put("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY));
    put("init_module", syscall(SYS_init_module, NULL, 0, ""));
    put("finit_module", syscall(SYS_finit_module, 0, "", 0));
    put("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    put("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
    put("swapon", syscall(SYS_swapon, "/tmp/swap", 0));
    put("chroot", chroot("/tmp"));
    put("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
    put("mknod_dev", mknod("/tmp/null2", S_IFCHR | 0600, makedev(1, 3)));
    put("setuid0", setuid(0));
    put("acct", acct("/tmp/acct"));
    struct timeval tv = {0, 0};
    put("settimeofday", settimeofday(&tv, NULL));
    put("iopl", iopl(3));
    put("socket_packet", socket(AF_PACKET, SOCK_RAW, 0));
    put("personality_addr_no_randomize", personality(ADDR_NO_RANDOMIZE));
    put("userfaultfd", syscall(SYS_userfaultfd, 0));
    put("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
    put("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
    put("sethostname", sethostname("x", 1));
}

static void exec_tmp(void) {
    /* Copy ourselves to /tmp and try to run the copy: the tmpfs is noexec. */
    int in = open("/proc/self/exe", O_RDONLY), out = open("/tmp/probe-copy", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0) write(out, buf, (size_t)n);
    close(out);
    char* argv[] = {"/tmp/probe-copy", "ids", NULL};
    execv(argv[0], argv);
    printf("exec_tmp=%s\n", strerrorname_np(errno));
}

static void reap(void) {
    /* A grandchild orphaned into the namespace's init must be reaped, not left a zombie. */
    int p[2];
    pipe(p);
    pid_t a = fork();
    if (a == 0) {
        pid_t b = fork();
        if (b == 0) _exit(0);
        write(p[1], &b, sizeof b);
        _exit(0);
    }
    pid_t b = 0;
    read(p[0], &b, sizeof b);
    waitpid(a, NULL, 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)b);
    for (int i = 0; i < 5000; i++) { /* bounded: 5 s */
        if (access(path, F_OK) != 0) {
            printf("reaped=1\n");
            return;
        }
        usleep(1000);
    }
    printf("reaped=0\n");
}

static void hog(int mib) {
    /* Touches every page so that the memory is really charged to the cgroup. */
    int done = 0;
    for (; done < mib; done++) {
        char* m = malloc(1 << 20);
        if (!m) break;
        memset(m, 0x5a, 1 << 20);
    }
    printf("hog_mib=%d\n", done);
}

static void forkbomb(int max) {
    /* Bounded by max even where no limit applies. Children wait for the pipe to close. */
    int p[2];
    pipe(p);
    int forks = 0;
    const char* err = "OK";
    for (; forks < max; forks++) {
        pid_t c = fork();
        if (c < 0) {
            err = strerrorname_np(errno);
            break;
        }
        if (c == 0) {
            char b;
            close(p[1]);
            read(p[0], &b, 1);
            _exit(0);
        }
    }
    close(p[1]);
    while (wait(NULL) > 0) {
    }
    printf("forks=%d\nfork_error=%s\n", forks, err);
}

/* sd_notify by hand (the rootfs has no libsystemd): one datagram to $NOTIFY_SOCKET. */
static int notify(const char* text) {
    const char* path = getenv("NOTIFY_SOCKET");
    if (!path || strlen(path) >= sizeof(((struct sockaddr_un*)0)->sun_path)) return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    long rc = sendto(s, text, strlen(text), 0, (struct sockaddr*)&a, sizeof a);
    close(s);
    return rc < 0 ? -1 : 0;
}

/* A service that speaks the notify protocol: "starting", then READY=1 (with a status, and a
 * MAINPID that means nothing outside the sandbox) once SIGUSR1 comes, then runs until SIGTERM. */
static int notify_service(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("notify_socket=%s\n", getenv("NOTIFY_SOCKET") ? getenv("NOTIFY_SOCKET") : "");
    put("notify_status", notify("STATUS=warming up"));
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig != SIGUSR1)
        if (sig == SIGTERM) return 0;
    put("notify_ready", notify("READY=1\nSTATUS=serving\nMAINPID=1"));
    while (sigwait(&set, &sig) == 0 && sig != SIGTERM) {
    }
    return 0;
}

/* Reads until `stop` (a byte count, or 0: up to "\r\n\r\n") into buf; the bytes read. */
static size_t read_until(int fd, char* buf, size_t cap, size_t want, const char* end) {
    size_t n = 0;
    while (n < cap - 1) {
        if (want && n >= want) break;
        if (end && n >= strlen(end) && !memcmp(buf + n - strlen(end), end, strlen(end))) break;
        ssize_t r = read(fd, buf + n, want ? want - n : 1);
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

/* One connection of proxy_httpd: the PROXY header (v2, or a v1 line) if there is one, then
 * one request, answered with the client the header named ("none" without one). */
static void proxy_conn(int c) {
    char buf[4096], client[INET6_ADDRSTRLEN + 8] = "none";
    size_t n = read_until(c, buf, sizeof buf, 16, NULL);
    if (n == 16 && !memcmp(buf, "\r\n\r\n\0\r\nQUIT\n", 12)) {
        size_t len = ((unsigned char)buf[14] << 8) | (unsigned char)buf[15];
        unsigned char body[512];
        if (len > sizeof body || read_until(c, (char*)body, sizeof body, len, NULL) != len) return;
        if (buf[13] == 0x11) inet_ntop(AF_INET, body, client, sizeof client);
        if (buf[13] == 0x21) inet_ntop(AF_INET6, body, client, sizeof client);
    } else if (n >= 6 && !memcmp(buf, "PROXY ", 6)) {
        n += read_until(c, buf + n, sizeof buf - n, 0, "\r\n");
        sscanf(buf, "PROXY %*s %45s", client);
    } else {
        /* No header: a proxy that names clients in X-Forwarded-For instead. */
        read_until(c, buf + n, sizeof buf - n, 0, "\r\n\r\n");
        n = 0;
    }
    if (n) read_until(c, buf, sizeof buf, 0, "\r\n\r\n");
    char body[128];
    int blen = snprintf(body, sizeof body, "client=%s\n", client);
    dprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", blen,
            body);
}

/* A web server behind a PROXY-protocol proxy, as nginx with `listen ... proxy_protocol` is:
 * a process per connection, so a connection the guard starves holds up no other. */
static int proxy_httpd(int port) {
    signal(SIGCHLD, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 64)) {
        perror("probe proxy-httpd");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        if (fork() == 0) {
            close(s);
            proxy_conn(c);
            _exit(0);
        }
        close(c);
    }
}

/* Signals arriving while the process makes calls, as they reach a server's master when its
 * workers exit after a SIGTERM: a child sends `n` signals, SIGUSR1 and SIGUSR2 in turn, each
 * caught by a handler without SA_RESTART (nginx's way), so one can arrive while the other's
 * handler returns (rt_sigreturn), while the parent makes a call that never fails with EINTR.
 * Prints how many the handler ran and how many calls still failed with EINTR. */
static volatile sig_atomic_t handled;
static void on_usr(int sig) { (void)sig; handled++; }
static int signals(int n) {
    struct sigaction sa = {.sa_handler = on_usr};
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    pid_t parent = getpid(), child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        for (int i = 0; i < n; i++) kill(parent, i % 2 ? SIGUSR2 : SIGUSR1);
        _exit(0);
    }
    long eintr = 0;
    for (;;) {
        /* fcntl on a closed descriptor: EBADF, never EINTR. */
        if (fcntl(1000, F_GETFD) < 0 && errno == EINTR) eintr++;
        int st;
        if (waitpid(child, &st, WNOHANG) == child) break;
    }
    printf("handled=%d\ncalls_eintr=%ld\n", (int)handled, eintr);
    return 0;
}

int main(int argc, char** argv) {
    const char* cmd = argc > 1 ? argv[1] : "report";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "report")) {
        status_lines();
        printf("pid=%d\n", (int)getpid());
        char host[256] = "";
        gethostname(host, sizeof host);
        printf("hostname=%s\n", host);
        put("write_root", open("/probe-write", O_WRONLY | O_CREAT, 0644));
        put("write_tmp", open("/tmp/probe-write", O_WRONLY | O_CREAT, 0644));
        put("sys", access("/sys/kernel", F_OK));
        FILE* k = fopen("/proc/keys", "r");
        printf("proc_keys_bytes=%d\n", k ? (int)fread((char[64]){0}, 1, 64, k) : -1);
        put("write_proc_sys", open("/proc/sys/kernel/hostname", O_WRONLY));
        forbidden();
    } else if (!strcmp(cmd, "ids")) {
        printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());
    } else if (!strcmp(cmd, "exec-tmp")) {
        exec_tmp();
    } else if (!strcmp(cmd, "suid")) {
        char* args[] = {"/bin/probe-suid", "ids", NULL};
        execv(args[0], args);
        printf("suid_exec=%s\n", strerrorname_np(errno));
    } else if (!strcmp(cmd, "enosys")) {
        put("clone3", syscall(435 /* clone3 */, NULL, 0));
        put("nr_1000", syscall(1000));
        put("file_setattr_469", syscall(469, 0, "", NULL, 0, 0));
        put("mseal_462", syscall(462, 0, 0, 0));
        put("syslog_below_max", syscall(SYS_syslog, 3, NULL, 0));
    } else if (!strcmp(cmd, "overlap")) {
        /* Which of two seccomp rules won: setns on a bad fd is EBADF if the call reached the
         * kernel, EPERM if a rule denied it; an unlisted call gets the profile's default. */
        put("setns_badfd", setns(-1, 0));
        put("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0));
        put("add_key", syscall(SYS_add_key, "user", "bulwark", "x", 1, KEY_SPEC_SESSION_KEYRING));
    } else if (!strcmp(cmd, "int80")) {
        /* i386 getpid (20) through the 32-bit entry point. */
        long rc;
        __asm__ volatile("int $0x80" : "=a"(rc) : "a"(20) : "memory");
        printf("int80=%ld\n", rc);
    } else if (!strcmp(cmd, "x32")) {
        put("x32_getpid", syscall(0x40000000 | 39));
    } else if (!strcmp(cmd, "bind80")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        put("bind80", bind(s, (struct sockaddr*)&a, sizeof a));
    } else if (!strcmp(cmd, "reap")) {
        reap();
    } else if (!strcmp(cmd, "hog") && argc > 2) {
        hog(atoi(argv[2]));
    } else if (!strcmp(cmd, "forkbomb") && argc > 2) {
        forkbomb(atoi(argv[2]));
    } else if (!strcmp(cmd, "hold")) {
        /* Stays until signalled, so that a test can look at the running sandbox from outside. */
        printf("ready\n");
        pause();
    } else if (!strcmp(cmd, "openat2")) {
        struct { unsigned long long flags, mode, resolve; } how = {O_RDONLY, 0, 0};
        put("openat2", syscall(437 /* openat2 */, AT_FDCWD, "/", &how, sizeof how));
    } else if (!strcmp(cmd, "proxy-httpd") && argc > 2) {
        return proxy_httpd(atoi(argv[2]));
    } else if (!strcmp(cmd, "notify")) {
        return notify_service();
    } else if (!strcmp(cmd, "signals") && argc > 2) {
        return signals(atoi(argv[2]));
    } else if (!strcmp(cmd, "fds")) {
        /* Descriptors above stderr that survived into the app. */
        int n = 0;
        for (int fd = 3; fd < 1024; fd++) n += fcntl(fd, F_GETFD) >= 0;
        printf("stray_fds=%d\n", n);
    } else {
        fprintf(stderr, "probe: unknown command %s\n", cmd);
        return 2;
    }
    return 0;
}
