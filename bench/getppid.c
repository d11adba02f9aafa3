/* ns per getppid(2) in a tight loop, best of 5 runs of N calls: the cost a seccomp filter adds
 * to every syscall. Raw syscall(), so no libc caching can hide the kernel entry. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    double best = 1e18;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
        double per = (now() - t0) / (double)n;
        if (per < best) best = per;
    }
    printf("%.1f\n", best);
    return 0;
}
