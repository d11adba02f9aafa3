/* Floods a veth from its own end with BPF_PROG_RUN live frames (bench/xdp_gen.bpf.c): TCP SYNs
 * or HTTP GET segments to 198.18.0.1:8080 from SOURCES addresses in turn from 198.18.128.1 up (at most
 * 32,766: 198.18.128.0/17), or with syn6/get6 to [2001:2:0:1::1]:8080 from SOURCES addresses from
 * 2001:2::1:0:0 up (RFC 5180's benchmarking range). Run it inside the namespace that holds
 * IFNAME, pinned to one CPU: the peer's receive path runs in the same CPU's softirq after every
 * batch, so the wall time covers sending and receiving. Prints "packets N seconds S". Bounded
 * by PACKETS. FIRST (default 0) moves the first source up by that many addresses: another
 * group of sources than the default one.
 * usage: bench_flood_gen OBJ IFNAME DST_MAC syn|get|syn6|get6 SOURCES PACKETS [FIRST] (root) */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gen_config {
    uint32_t ifindex, sources, v6, saddr;
    uint16_t sport, tcp_check;
    uint32_t next;
    uint32_t len;
    uint8_t frame[128];
};

static uint32_t add16(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t finish(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Adds n to the big-endian 32-bit number at p (the low part of a source address). */
static void add_be32(uint8_t *p, uint32_t n)
{
    uint32_t v;
    memcpy(&v, p, 4);
    v = htonl(ntohl(v) + n);
    memcpy(p, &v, 4);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
                  &mac[5]) == 6
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: %s OBJ IFNAME DST_MAC syn|get|syn6|get6 SOURCES PACKETS [FIRST]\n",
                argv[0]);
        return 2;
    }
    const char *ifname = argv[2];
    int get = strncmp(argv[4], "get", 3) == 0, v6 = argv[4][3] == '6';
    unsigned long sources = strtoul(argv[5], NULL, 10);
    unsigned long packets = strtoul(argv[6], NULL, 10);
    uint32_t first = argc > 7 ? (uint32_t)strtoul(argv[7], NULL, 0) : 0;
    unsigned ifindex = if_nametoindex(ifname);
    uint8_t frame[128] = {0};
    if (!ifindex) {
        fprintf(stderr, "flood_gen: %s: %s\n", ifname, strerror(errno));
        return 1;
    }
    if (parse_mac(argv[3], frame) != 0 || packets == 0 || packets > UINT32_MAX || sources == 0 ||
        sources + first > (v6 ? 1ul << 31 : 32766)) {
        fprintf(stderr, "flood_gen: bad MAC, source or packet count\n");
        return 2;
    }

    char path[64];
    snprintf(path, sizeof path, "/sys/class/net/%s/address", ifname);
    FILE *f = fopen(path, "r");
    char src_mac[32] = "";
    if (!f || !fgets(src_mac, sizeof src_mac, f) || parse_mac(src_mac, frame + 6) != 0) {
        fprintf(stderr, "flood_gen: %s: cannot read\n", path);
        return 1;
    }
    fclose(f);
    uint16_t ethertype = v6 ? ETH_P_IPV6 : ETH_P_IP;
    frame[12] = (uint8_t)(ethertype >> 8);
    frame[13] = (uint8_t)ethertype;

    static const char req[] = "GET / HTTP/1.1\r\nHost: bulwark-flood\r\n\r\n";
    size_t payload = get ? sizeof req - 1 : 0, tcp_len = 20 + payload;
    size_t ip_len = v6 ? 40 : 20;
    uint8_t *ip = frame + 14, *tcp = ip + ip_len, *saddr;
    uint32_t sum;
    if (v6) {
        ip[0] = 0x60;
        ip[4] = (uint8_t)(tcp_len >> 8);
        ip[5] = (uint8_t)tcp_len;
        ip[6] = 6;
        ip[7] = 64;
        inet_pton(AF_INET6, "2001:2::1:0:0", ip + 8);
        add_be32(ip + 20, first);
        inet_pton(AF_INET6, "2001:2:0:1::1", ip + 24);
        saddr = ip + 8 + 12;
        sum = add16(0, ip + 8, 32);
    } else {
        ip[0] = 0x45;
        ip[2] = (uint8_t)((20 + tcp_len) >> 8);
        ip[3] = (uint8_t)(20 + tcp_len);
        ip[6] = 0x40; /* DF */
        ip[8] = 64;
        ip[9] = 6;
        inet_pton(AF_INET, "198.18.128.1", ip + 12);
        add_be32(ip + 12, first);
        inet_pton(AF_INET, "198.18.0.1", ip + 16);
        uint16_t c = finish(add16(0, ip, 20));
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
        saddr = ip + 12;
        sum = add16(0, ip + 12, 8);
    }
    tcp[0] = 1024 >> 8;
    tcp[1] = 1024 & 0xff;
    tcp[2] = 8080 >> 8;
    tcp[3] = 8080 & 0xff;
    tcp[4] = 0x12;           /* sequence number: any */
    tcp[8] = get ? 0x34 : 0; /* an ACK number for the GET segments */
    tcp[12] = 5 << 4;
    tcp[13] = get ? 0x18 : 0x02; /* PSH|ACK or SYN */
    tcp[14] = 0xfa;              /* window 64240 */
    tcp[15] = 0xf0;
    memcpy(tcp + 20, req, payload);
    uint8_t pseudo[4] = {0, 6, (uint8_t)(tcp_len >> 8), (uint8_t)tcp_len};
    uint16_t c = finish(add16(add16(sum, pseudo, 4), tcp, tcp_len));
    tcp[16] = (uint8_t)(c >> 8);
    tcp[17] = (uint8_t)c;

    struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
    if (!obj || bpf_object__load(obj) != 0) {
        fprintf(stderr, "flood_gen: loading %s failed\n", argv[1]);
        return 1;
    }
    struct gen_config cfg = {
        .ifindex = ifindex, .sources = (uint32_t)sources, .v6 = (uint32_t)v6};
    memcpy(&cfg.saddr, saddr, 4);
    memcpy(&cfg.sport, tcp, 2);
    memcpy(&cfg.tcp_check, tcp + 16, 2);
    cfg.len = (uint32_t)(14 + ip_len + tcp_len);
    memcpy(cfg.frame, frame, cfg.len);
    uint32_t zero = 0;
    int cfg_fd = bpf_object__find_map_fd_by_name(obj, "gen_config");
    struct bpf_program *prog = bpf_object__find_program_by_name(obj, "gen");
    if (cfg_fd < 0 || !prog || bpf_map_update_elem(cfg_fd, &zero, &cfg, 0) != 0) {
        fprintf(stderr, "flood_gen: configuring the generator failed\n");
        return 1;
    }

    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame,
                .data_size_in = (uint32_t)(14 + ip_len + tcp_len), .repeat = (uint32_t)packets,
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &run);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (err) {
        fprintf(stderr, "flood_gen: BPF_PROG_RUN (live frames): %s\n", strerror(errno));
        return 1;
    }
    printf("packets %lu seconds %.6f\n", packets,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    bpf_object__close(obj);
    return 0;
}
