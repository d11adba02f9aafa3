// ns per packet through BPF_PROG_TEST_RUN (repeat 1,000,000): bulwark's XDP program under
// policies/web.json on typical packets, xdp-filter's all-features allow program (Debian's
// xdp-tools) on the same allowed request, and an empty XDP program as the floor. Prints a table
// with ratios. usage: bench_xdp_cost [REPEAT] (root)
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../tests/kernel/frames.hpp"
#include "../tests/kernel/test_run.hpp"
#include "core/cidr.hpp"
#include "core/json_util.hpp"
#include "core/sys.hpp"
#include "guard/bans.hpp"
#include "guard/policy.hpp"
#include "guard/program.hpp"

using namespace bulwark;
using frames::Bytes;
using frames::Frame;

constexpr uint64_t kSec = 1'000'000'000ull;

namespace {

double ns_per_packet(int fd, const Bytes& pkt, uint32_t repeat, int* retval = nullptr) {
    // Best of 3: the kernel reports the mean duration of `repeat` runs.
    double best = 1e18;
    for (int i = 0; i < 3; ++i) {
        auto r = test_run(fd, pkt, repeat);
        best = std::min(best, static_cast<double>(r.duration_ns));
        if (retval) *retval = r.retval;
    }
    return best;
}

Bytes request(const std::string& src, size_t payload_len, uint16_t port = 80) {
    Frame f;
    f.src = src;
    f.dport = port;
    std::string p = "GET /index.html HTTP/1.1\r\nHost: bench\r\n";
    p.resize(payload_len, 'a');
    f.payload = p;
    return f.build();
}

Bytes raw_request(const std::string& payload) {
    Frame f;
    f.src = "198.18.0.9";
    f.payload = payload;
    return f.build();
}

// The 64-byte GET with an encoded dot: the rules' line is then built a byte at a time
// (bw_rule_line_step) instead of taken from the raw words.
Bytes encoded_get64() {
    std::string p = "GET /index%2Ehtml HTTP/1.1\r\nHost: bench\r\n";
    p.resize(64, 'a');
    return raw_request(p);
}

// The 64-byte GET after an empty line, which servers skip: the run of CR and LF is counted,
// the payload loaded again from the request line (skip_blank_lines).
Bytes blank_led_get64() {
    std::string p = "\r\nGET /index.html HTTP/1.1\r\nHost: bench\r\n";
    p.resize(66, 'a');
    return raw_request(p);
}

// Requests of the shapes a web shop receives (tests/corpus has thousands like them).
std::string browser_get() {
    return "GET /products/oak-chair-set-of-4?colour=walnut&ref=home HTTP/1.1\r\n"
           "Host: shop.example\r\n"
           "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
           "like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
           "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
           "*/*;q=0.8\r\n"
           "Accept-Language: en-GB,en;q=0.7\r\nAccept-Encoding: gzip, deflate, br\r\n"
           "Referer: https://shop.example/category/chairs?page=2&sort=price_asc\r\n"
           "Cookie: session=9f2c1e7a4b8d4c0e9a1f3b5d7e9c2a4f; cart=3; "
           "consent=analytics%3D0%26ads%3D0;"
           " _ga=GA1.2.1234567890.1700000000; theme=light\r\n"
           "Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin\r\n"
           "Upgrade-Insecure-Requests: 1\r\nConnection: keep-alive\r\n\r\n";
}

std::string form_post() {
    std::string body =
        "name=%C3%89lodie+Laurent&email=elodie%40example.org&order=70754&message=Hello%2C+the+"
        "chairs+arrived+today+but+one+leg+is+scratched.+I%27d+like+a+replacement+rather+than+a+"
        "refund+if+possible%3B+I%27m+home+after+6pm+or+on+weekends.+%22Set+of+4%22+was+the+"
        "description+on+the+site%2C+and+the+box+said+the+same.+Thanks+in+advance%21&consent=on";
    return "POST /contact HTTP/1.1\r\nHost: shop.example\r\n"
           "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.1 Safari/605.1.15\r\n"
           "Accept: text/html,application/xhtml+xml\r\nAccept-Language: fr-FR,fr;q=0.8\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(body.size()) +
           "\r\nOrigin: https://shop.example\r\nReferer: https://shop.example/contact\r\n"
           "Cookie: session=9f2c1e7a4b8d4c0e9a1f3b5d7e9c2a4f; cart=3\r\n\r\n" +
           body;
}

// The same form POST from a client that streams its body: one chunk, as curl and HTTP
// libraries send a body whose length they do not know up front.
std::string chunked_post() {
    std::string post = form_post();
    size_t blank = post.find("\r\n\r\n") + 4;
    std::string body = post.substr(blank), head = post.substr(0, blank);
    size_t cl = head.find("Content-Length: ");
    head.replace(cl, head.find("\r\n", cl) - cl, "Transfer-Encoding: chunked");
    char size[16];
    snprintf(size, sizeof size, "%zx\r\n", body.size());
    return head + size + body + "\r\n0\r\n\r\n";
}

// A later segment of a long form POST: text, no request line.
std::string body_segment() {
    std::string text;
    while (text.size() < 700)
        text +=
            "Thanks+again+for+the+quick+reply.+The+replacement+leg+fits%2C+and+the+"
            "colour+matches+the+others+well.+";
    return text.substr(0, 700);
}

int empty_prog() {
    bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
                        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty", "GPL", insns, 2, nullptr);
    if (fd < 0) perror("load empty XDP program"), exit(1);
    return fd;
}

// xdp-filter's maps ask to be pinned by name: the bench clears their pin paths before load, so
// nothing is left on bpffs whichever way it exits.
int xdp_filter_prog(bpf_object** obj) {
    const char* path = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o";
    *obj = bpf_object__open_file(path, nullptr);
    bpf_map* map;
    if (*obj) bpf_object__for_each_map(map, *obj) bpf_map__set_pin_path(map, nullptr);
    if (!*obj || bpf_object__load(*obj) != 0) {
        fprintf(stderr, "cannot load %s (apt-get install xdp-tools)\n", path);
        exit(1);
    }
    bpf_program* prog = bpf_object__next_program(*obj, nullptr);
    return bpf_program__fd(prog);
}

// `n` short GETs one after the other, as a client that pipelines sends them in one segment.
std::string pipelined_gets(int n) {
    std::string p;
    for (int i = 0; i < n; ++i) p += "GET /index.html HTTP/1.1\r\nHost: bench\r\n\r\n";
    return p;
}

}  // namespace

int main(int argc, char** argv) {
    libbpf_set_print([](libbpf_print_level level, const char* fmt, va_list ap) {
        return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
    });
    uint32_t repeat = argc > 1 ? static_cast<uint32_t>(atol(argv[1])) : 1'000'000;
    std::string src = BULWARK_SOURCE_DIR;
    auto web = policy::load_policy(src + "/policies/web.json");
    // The allowed-path policy: web.json with limits so high nothing is dropped, so every packet
    // runs the whole pipeline (lists, buckets with their compare-and-swap, request detection,
    // pattern scan) and passes.
    auto open = web;
    policy::Rate huge = policy::parse_rate("1000000000/second");
    huge.burst = 1'000'000'000;
    for (auto* l : {&open.default_limits, &open.suspicious_limits})
        l->packets = l->connections = l->requests = huge;
    auto wide = open;
    wide.scan_bytes = BW_MAX_SCAN_BYTES;
    // Breakdown rows: the same open policy without patterns (lists, buckets, request check and
    // rules only).
    auto no_patterns = open;
    no_patterns.pattern_sets.clear();
    // A smaller policy: web.json's SQL and command sets only, two tables, so two lanes a byte
    // instead of four.
    auto two = open;
    std::erase_if(two.pattern_sets,
                  [](const policy::PatternSet& s) { return s.name != "sqli" && s.name != "rce"; });

    // The open policy with escalating bans: what the ban lookup adds to every packet, and what
    // a banned source's packet costs (one ban added by hand, as `bulwark ban add` does).
    auto banning = open;
    banning.bans = policy::Bans{
        5, 60 * kSec, 3600 * kSec, 86400 * kSec, 86400 * kSec, {"drop_pattern"}, 65536};

    // The open policy behind a TLS proxy (198.18.0.1 sends PROXY headers): what a client's
    // packet on an established proxied connection costs (the connection lookup, the client's
    // class and key), against the same request sent straight.
    auto behind = open;
    behind.proxies = {parse_cidr("198.18.0.1/32")};

    xdp::Program allow(open), limited(web), wide_scan(wide), plain(no_patterns), bans(banning),
        proxied(behind), two_tables(two);
    Frame conn;  // the proxy's connection, opened and named before the rows run
    conn.src = "198.18.0.1";
    conn.sport = 50000;
    conn.seq = 1000;
    conn.tcp_flags = 0x02;
    test_run(proxied.prog_fd(), conn.build(), 1);
    conn.tcp_flags = 0x18;
    conn.seq = 1001;
    conn.payload = "PROXY TCP4 198.18.0.9 198.18.0.2 40000 80\r\n";
    test_run(proxied.prog_fd(), conn.build(), 1);
    conn.seq += static_cast<uint32_t>(conn.payload.size());
    conn.payload = "GET /index.html HTTP/1.1\r\nHost: bench\r\n";
    conn.payload.resize(64, 'a');
    // The browser GET as a proxy forwards it with `option forwardfor`, on a connection without
    // a PROXY header: the header is read per request.
    Frame xff_get;
    xff_get.src = "198.18.0.1";
    xff_get.sport = 50001;
    xff_get.payload = browser_get();
    xff_get.payload.insert(xff_get.payload.size() - 2, "X-Forwarded-For: 198.18.0.9\r\n");
    {
        auto cfg = xdp::make_config(banning, 0);
        auto key = guard::source_key("198.18.0.66", cfg);
        guard::add_ban(bans.map_fd(BW_MAP_BANS), key, cfg, 3600 * kSec,
                       static_cast<uint64_t>(clock_ns(CLOCK_MONOTONIC)));
    }
    bpf_object* xf = nullptr;
    int xdpfilt = xdp_filter_prog(&xf);
    int empty = empty_prog();

    auto get64 = request("198.18.0.9", 64);
    struct Row {
        const char* name;
        int fd;
        Bytes pkt;
    };
    auto browser = raw_request(browser_get()), post = raw_request(form_post());
    Row rows[] = {
        {"empty XDP program (floor)", empty, get64},
        {"xdp-filter alw_all, allowed GET 64 B", xdpfilt, get64},
        {"bulwark, allowed GET 64 B payload", allow.prog_fd(), get64},
        {"bulwark, denied source", limited.prog_fd(), request("198.18.30.5", 64)},
        {"bulwark, rate-limited source", limited.prog_fd(), request("198.18.0.77", 64)},
        {"bulwark, allowed GET 512 B", allow.prog_fd(), request("198.18.0.9", 512)},
        {"bulwark, allowed GET 1460 B, scan 1460", wide_scan.prog_fd(),
         request("198.18.0.9", 1460)},
        {"bulwark, browser GET with cookies", allow.prog_fd(), browser},
        {"bulwark, form POST", allow.prog_fd(), post},
        {"breakdown: GET 64 B, no patterns", plain.prog_fd(), get64},
        {"breakdown: 1460 B, no patterns", plain.prog_fd(), request("198.18.0.9", 1460)},
        {"breakdown: 64 B to a port not inspected", allow.prog_fd(),
         request("198.18.0.9", 64, 9000)},
        {"bulwark + bans, allowed GET 64 B", bans.prog_fd(), get64},
        {"bulwark + bans, banned source", bans.prog_fd(), request("198.18.0.66", 64)},
        {"bulwark, GET 64 B via a PROXY-named client", proxied.prog_fd(), conn.build()},
        {"bulwark, browser GET, X-Forwarded-For", proxied.prog_fd(), xff_get.build()},
        {"bulwark, browser GET sent straight", proxied.prog_fd(), browser},
        {"bulwark, browser GET, 2 tables", two_tables.prog_fd(), browser},
        {"bulwark, browser request as PROPFIND", allow.prog_fd(),
         raw_request("PROPFIND" + browser_get().substr(3))},
        {"bulwark, a later segment of a body", allow.prog_fd(), raw_request(body_segment())},
        {"bulwark, form POST, body chunked", allow.prog_fd(), raw_request(chunked_post())},
        {"bulwark, GET 64 B, path /index%2Ehtml", allow.prog_fd(), encoded_get64()},
        {"bulwark, GET 64 B after an empty line", allow.prog_fd(), blank_led_get64()},
        // Four requests pipelined in one segment: each framed, counted and ruled.
        {"bulwark, 4 GETs pipelined, 172 B", allow.prog_fd(), raw_request(pipelined_gets(4))},
    };
    constexpr size_t kRows = sizeof rows / sizeof rows[0];
    if (argc > 2) {  // one row only, repeated, for a profiler (perf record -a)
        size_t i = static_cast<size_t>(atol(argv[2]));
        if (i >= kRows) fprintf(stderr, "row %zu: there are %zu\n", i, kRows), exit(2);
        printf("%s: %.1f ns\n", rows[i].name,
               ns_per_packet(rows[i].fd, rows[i].pkt, repeat, nullptr));
        return 0;
    }
    double results[kRows];
    int verdicts[kRows];
    for (size_t i = 0; i < kRows; ++i)
        results[i] = ns_per_packet(rows[i].fd, rows[i].pkt, repeat, &verdicts[i]);
    printf("%-42s %9s %7s %10s %s\n", "program and packet", "ns/pkt", "verdict", "vs floor",
           "vs xdp-filter");
    for (size_t i = 0; i < kRows; ++i)
        printf("%-42s %9.1f %7s %10.2f %9.2f\n", rows[i].name, results[i],
               verdicts[i] == XDP_PASS ? "pass" : "drop", results[i] / results[0],
               results[i] / results[1]);
    printf("decode and scan cost per payload byte (1460 B vs 64 B): %.3f ns\n",
           (results[6] - results[2]) / (1460.0 - 64.0));
    printf("  of which without patterns (1460 B vs 64 B, no sets): %.3f ns\n",
           (results[10] - results[9]) / (1460.0 - 64.0));
    printf(
        "browser GET %zu B payload, form POST %zu B payload; %zu DFA tables (%zu in the "
        "\"2 tables\" row)\n",
        browser_get().size(), form_post().size(), allow.dfa().tables.size(),
        two_tables.dfa().tables.size());
    printf("two tables instead of four: %.2fx (browser GET)\n", results[17] / results[7]);
    printf("the ban lookup on an allowed packet: %+.1f ns (bans vs none, GET 64 B)\n",
           results[12] - results[2]);
    printf("a proxied client's packet: %+.1f ns (vs the same GET sent straight)\n",
           results[14] - results[2]);
    printf("reading X-Forwarded-For: %+.1f ns (browser GET from a proxy vs straight)\n",
           results[15] - results[16]);
    printf("a path the rules read byte by byte: %+.1f ns (GET 64 B, /index%%2Ehtml vs .html)\n",
           results[21] - results[2]);
    printf("empty lines before the request line: %+.1f ns (GET 64 B after \"\\r\\n\")\n",
           results[22] - results[2]);
    printf("a method the guard does not list: %+.1f ns (the browser's request as PROPFIND)\n",
           results[18] - results[7]);
    printf("a chunked body: %+.1f ns (the form POST chunked vs with Content-Length)\n",
           results[20] - results[8]);
    printf("repeat %u, best of 3\n", repeat);
    bpf_object__close(xf);
    close(empty);
    return 0;
}
