/* Loads a BPF object with the verifier's statistics log (level 4) and prints its summary:
 * processed instructions and verification time, the budget the XDP program must stay within.
 * usage: bench_verifier_stats build/bulwark.bpf.o */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

static char log_buf[1 << 20];

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OBJECT\n", argv[0]);
        return 2;
    }
    struct bpf_object *obj = bpf_object__open(argv[1]);
    if (!obj) {
        perror("bpf_object__open");
        return 1;
    }
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, obj)
    {
        bpf_program__set_log_level(prog, 4);
        bpf_program__set_log_buf(prog, log_buf, sizeof log_buf);
    }
    int rc = bpf_object__load(obj);
    for (char *line = strtok(log_buf, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "processed", 9) || !strncmp(line, "verification time", 17))
            printf("%s\n", line);
    bpf_object__close(obj);
    return rc ? 1 : 0;
}
