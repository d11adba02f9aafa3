#!/bin/sh
# The Debian package under systemd as PID 1, the way an operator meets it: dpkg -i, the shipped
# example config started with systemctl, an upgrade to a rebuilt package while the service runs,
# remove, purge. Runs inside the VM of `tests/vm/run --systemd --checks
# tests/systemd/package-checks.sh` (dpkg writes to the guest's tmpfs overlay: never run it on a
# real host), with the packages scripts/test builds in $VM_BUILD/packages (revisions 1 and 2 of
# the same source). Prints one "ok"/"not ok" line per check and exits with the number failed.
#
# Defined upgrade behaviour (packaging/deb/postinst): a running instance is restarted on the new
# binary, its pins and XDP link made anew by it; a stopped one stays stopped; an operator's edit
# of a conffile survives without a prompt.
set -u
. /.bulwark-vm.env
echo "bulwark-vm: userspace at $(cut -d' ' -f1 /proc/uptime)s"
. "$(dirname "$0")/lib.sh"
trap finish EXIT
export DEBIAN_FRONTEND=noninteractive
deb1=$(ls "$VM_BUILD"/packages/bulwark_*-1_amd64.deb)
deb2=$(ls "$VM_BUILD"/packages/bulwark_*-2_amd64.deb)
# A bulwark from an earlier `cmake --install` in the host's /usr/local must not stand in for the
# package's: in this guest (a tmpfs overlay) there is none, say so if there is.
check "no /usr/local/sbin/bulwark shadows the package's" [ ! -e /usr/local/sbin/bulwark ]
mounts=$(cat /proc/self/mountinfo | wc -l)
# dpkg, quiet unless it fails; stdin /dev/null, so that a conffile prompt would fail, not hang.
dpkg_q() { dpkg "$@" </dev/null >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; return 1; }; }
link_ids() { bpftool -j link show | python3 -c \
    'import json,sys; print(" ".join(str(l["id"]) for l in json.load(sys.stdin) if l["type"]=="xdp"))'; }

echo "== dpkg -i $(basename "$deb1")"
check "dpkg -i returns success" dpkg_q -i "$deb1"
check "installed, version 0.1.0-1" [ "$(dpkg-query -W -f='${Status} ${Version}' bulwark)" = \
    "install ok installed 0.1.0-1" ]
check "dpkg --verify finds every file as shipped" sh -c '[ -z "$(dpkg --verify bulwark)" ]'
check "bulwark --version from /usr/sbin" [ "$(bulwark --version)" = "bulwark 0.1.0" ]
check "man pages: bulwark(8), bulwark-oci(8)" sh -c \
    'man -w bulwark | grep -qx /usr/share/man/man8/bulwark.8.gz &&
     man -w bulwark-oci | grep -qx /usr/share/man/man8/bulwark-oci.8.gz'
check "bulwark(8) has a section per command (run, xdp attach, doctor)" sh -c \
    'zcat /usr/share/man/man8/bulwark.8.gz | grep -c "^\.SS \"bulwark \(run\|xdp attach\|doctor\)\"" |
     grep -qx 3'
check "the unit runs /usr/sbin/bulwark" sh -c \
    'systemctl cat bulwark@web.service | grep -qx "ExecStart=/usr/sbin/bulwark run --config /etc/bulwark/%i.json"'
check "/etc/bulwark/oci.json is a conffile" sh -c \
    'dpkg-query -W -f="\${Conffiles}" bulwark | grep -q "^ /etc/bulwark/oci.json "'
check "/etc/bulwark is root's only (0700)" [ "$(stat -c %a /etc/bulwark)" = 700 ]
echo "# bulwark doctor (exit status: whether run and xdp attach can work fully)"
bulwark doctor
echo "# doctor exit $?"

echo "== the shipped example, started as the README says"
mkdir -p /srv/web
cp -a "$VM_BUILD/tests/rootfs" /srv/web/rootfs
install -m 0600 /usr/share/doc/bulwark/examples/web.json /usr/share/doc/bulwark/examples/web.policy.json \
    /etc/bulwark/
check "bulwark check config accepts it" sh -c 'bulwark check config /etc/bulwark/web.json >/dev/null'
check "systemctl enable --now bulwark@web" systemctl enable --now bulwark@web
check "active/running" is_state bulwark@web active/running
check "httpd listens in the sandbox" until_true 20 listening "$(init_pid web)" 80
url=http://198.18.0.2
check "served: GET / is 200" [ "$(http 198.18.0.1 $url/)" = 200 ]
check "an attack (GET /?q=<script>...) gets no answer" \
    [ "$(http 198.18.0.1 "$url/?q=%3Cscript%3Ealert(1)%3C/script%3E")" = 000 ]
check "bulwark stats counts it" [ "$(drops web)" -gt 0 ]
check "the example's limits: the sandbox's memory.max is 256m" [ "$(cat \
    "/sys/fs/cgroup$(prop bulwark@web ControlGroup)/bulwark-web/memory.max")" = 268435456 ]
echo "# systemctl status bulwark@web"
systemctl status --no-pager -n 0 bulwark@web | sed 's/^/    /'
echo "# journalctl -u bulwark@web -o cat TYPE=REQUEST_BLOCKED -n 1"
journalctl -q --no-pager -u bulwark@web -o cat TYPE=REQUEST_BLOCKED -n 1 | sed 's/^/    /'

echo "== upgrade to $(basename "$deb2") with the service running"
printf '{ }\n' >/etc/bulwark/oci.json # the operator's edit of the conffile
pid1=$(main_pid web)
links1=$(link_ids)
starts=$(journal_count web TYPE=SANDBOX_START)
t0=$(date +%s%N)
check "dpkg -i returns success, no conffile prompt (stdin is /dev/null)" \
    dpkg_q -i "$deb2"
echo "# dpkg -i took $((($(date +%s%N) - t0) / 1000000)) ms, the service's restart included"
python3 - /var/log/bulwark/web.jsonl <<'PY'
import datetime, json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
t = lambda e: datetime.datetime.fromisoformat(e["time"].rstrip("Z"))
stop = [e for e in ev if e["type"] == "SANDBOX_EXIT"][-1]
start = [e for e in ev if e["type"] == "SANDBOX_START"][-1]
print(f"# the service was down {(t(start) - t(stop)).total_seconds() * 1000:.0f} ms "
      "(the old app's SANDBOX_EXIT to the new SANDBOX_START, audit log)")
PY
check "installed, version 0.1.0-2" [ "$(dpkg-query -W -f='${Version}' bulwark)" = 0.1.0-2 ]
check "the instance was restarted: a new main process" [ "$(main_pid web)" != "$pid1" ]
check "active/running" is_state bulwark@web active/running
check "the old app ended by SIGTERM (exit 143) before the new start" sh -c \
    "grep '\"type\":\"SANDBOX_EXIT\"' /var/log/bulwark/web.jsonl | tail -n1 | grep -q '\"exit_code\":143'"
check "one more SANDBOX_START in the journal" \
    [ "$(journal_count web TYPE=SANDBOX_START)" = $((starts + 1)) ]
links2=$(link_ids)
check "one XDP link, a new one ($links1 -> $links2)" sh -c \
    "[ -n '$links2' ] && [ '$links2' = '${links2%% *}' ] && [ '$links2' != '$links1' ]"
check "one pin directory" [ "$(ls /sys/fs/bpf/bulwark)" = web ]
check "httpd listens again" until_true 20 listening "$(init_pid web)" 80
check "served: GET / is 200" [ "$(http 198.18.0.1 $url/)" = 200 ]
check "attacks still dropped" \
    [ "$(http 198.18.0.1 "$url/?q=%3Cscript%3Ealert(1)%3C/script%3E")" = 000 ]
check "the operator's conffile edit kept" [ "$(cat /etc/bulwark/oci.json)" = "{ }" ]
check "still enabled" [ "$(systemctl is-enabled bulwark@web)" = enabled ]
echo "# journalctl -u bulwark@web _PID=1 -o short-precise: what systemd did to it (upgrade included)"
journalctl -q --no-pager -u bulwark@web _PID=1 -o short-precise --no-hostname | sed 's/^/    /'

echo "== remove: every instance and guard stops, configs stay"
ip link add bwpkg0 type veth peer name bwpkg1
ip link set bwpkg0 up
ip link set bwpkg1 up
check "a guard attached outside a unit (bulwark xdp attach)" sh -c "bulwark xdp attach \
    --iface bwpkg0 --policy /usr/share/bulwark/policies/web.json --name loose >/dev/null"
check "dpkg -r returns success" dpkg_q -r bulwark
check "the unit is inactive" sh -c '[ "$(systemctl show -P ActiveState bulwark@web)" = inactive ]'
check "no process left of bulwark or the app" sh -c '! pgrep -f "[b]ulwark run|[b]usybox httpd" >/dev/null'
check "the unit's instance: no pins, veth, XDP link, mounts or cgroup left" left_behind web
check "the loose guard detached, its pins gone" [ ! -e /sys/fs/bpf/bulwark/loose ]
check "binaries gone" sh -c '[ ! -e /usr/sbin/bulwark ] && [ ! -e /usr/sbin/bulwark-oci ]'
check "configs kept (remove is not purge)" test -f /etc/bulwark/web.json -a -f /etc/bulwark/oci.json
check "dpkg: config-files" [ "$(dpkg-query -W -f='${Status}' bulwark)" = "deinstall ok config-files" ]
ip link del bwpkg0

echo "== purge"
files=$(dpkg-deb -c "$deb2" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }')
check "dpkg -P returns success" dpkg_q -P bulwark
check "dpkg knows nothing of bulwark" sh -c '! dpkg-query -W bulwark 2>/dev/null'
gone=yes
for f in $files; do [ -e "$f" ] && { echo "# left: $f"; gone=no; }; done
check "none of the package's files left" [ "$gone" = yes ]
check "no /etc/bulwark, /var/log/bulwark, /var/cache/bulwark, /run/bulwark" sh -c \
    '! ls -d /etc/bulwark /var/log/bulwark /var/cache/bulwark /run/bulwark 2>/dev/null'
check "no enablement link" sh -c '! ls /etc/systemd/system/*.wants/bulwark@* 2>/dev/null'
check "systemd has forgotten bulwark@web" sh -c \
    '[ -z "$(systemctl list-units --all --plain --no-legend "bulwark@*")" ]'
check "no pin directory, XDP link or mount left" sh -c "[ ! -e /sys/fs/bpf/bulwark ] &&
    [ \"\$(bpftool -j link show | grep -c '\"type\":\"xdp\"')\" = 0 ] &&
    [ \"\$(cat /proc/self/mountinfo | wc -l)\" = $mounts ]"
