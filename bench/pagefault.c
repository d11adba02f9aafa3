/* Cost of faulting in 256 anonymous pages: one touch per page (256 faults) against one
 * madvise(MADV_POPULATE_WRITE) or MAP_POPULATE. Explains why bulwark pre-populates its heap.
 * usage: bench_pagefault (prints µs for each way, best of 20) */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double once(int mode) {
    size_t n = 256 * 4096;
    double t0 = now_us();
    char* p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | (mode == 2 ? MAP_POPULATE : 0), -1, 0);
    if (mode == 1) madvise(p, n, MADV_POPULATE_WRITE);
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    double dt = now_us() - t0;
    munmap(p, n);
    return dt;
}

int main(void) {
    const char* names[] = {"touch each page", "MADV_POPULATE_WRITE", "MAP_POPULATE"};
    for (int mode = 0; mode < 3; mode++) {
        double best = 1e18;
        for (int i = 0; i < 20; i++) {
            double t = once(mode);
            if (t < best) best = t;
        }
        printf("%-22s %8.0f us for 256 pages\n", names[mode], best);
    }
    return 0;
}
