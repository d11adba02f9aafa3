# Shared by the checks that run under systemd in the VM (operator-checks.sh, package-checks.sh):
# TAP-like "ok"/"not ok" lines, bounded polling, and what systemd, ss, curl and bpftool say.
# Sourced; the caller sets `mounts` (the host's mountinfo line count) before left_behind.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= \
    SYSTEMD_COLORS=0
failed=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
    d=$1
    shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# until_true SECONDS COMMAND...: polls COMMAND until it succeeds; fails after SECONDS.
until_true() {
    t=$1
    shift
    end=$(($(date +%s) + t))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.1
    done
}
finish() {
    if [ "$failed" != 0 ]; then
        echo "== the journal of bulwark's units, for the failures above"
        journalctl -q --no-pager -o short -u "bulwark@*" | tail -n 60
    fi
    echo "== $n checks, $failed failed"
    exit "$failed"
}
prop() { systemctl show -P "$2" "$1"; }
is_state() { [ "$(prop "$1" ActiveState)/$(prop "$1" SubState)" = "$2" ]; }
main_pid() { prop "bulwark@$1" MainPID; }
rss_anon() { awk '/^RssAnon:/ {print $2}' /proc/"$(main_pid "$1")"/status; }  # kB
init_pid() { # the supervisor's one child
    set -- $(cat /proc/"$(main_pid "$1")"/task/*/children 2>/dev/null)
    echo "${1:-}"
}
# A TCP socket listening on PORT in the network namespace of PID.
listening() { nsenter --net=/proc/"$1"/ns/net ss -Hltn "sport = :$2" | grep -q LISTEN; }
# HTTP status from SRC to the sandbox (000: no answer within 2 s, as a dropped request).
http() { curl -s -o /dev/null -w '%{http_code}' --path-as-is -m 2 --interface "$1" "$2"; }
journal_count() { journalctl -q -u "bulwark@$1" -o cat "$2" | wc -l; }
xdp_links() { bpftool -j link show | grep -o '"type":"xdp"' | wc -l; }
left_behind() { # what a stopped instance must not leave
    [ ! -e "/sys/fs/bpf/bulwark/$1" ] && ! ip link show "bw-$1-h" >/dev/null 2>&1 &&
        [ "$(xdp_links)" = 0 ] && [ "$(cat /proc/self/mountinfo | wc -l)" = "$mounts" ] &&
        [ ! -e "/sys/fs/cgroup/system.slice/system-bulwark.slice/bulwark@$1.service" ]
}
drops() { # the instance's drop_pattern packets, from bulwark stats
    bulwark stats --name "$1" --json | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["counters"]["drop_pattern"]["packets"])'
}
