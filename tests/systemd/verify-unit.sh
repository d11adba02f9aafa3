#!/bin/sh
# systemd-analyze verify on the configured unit, with ExecStart pointing at the built binary
# (verify checks that the executables exist). Any message from verify fails the test.
set -eu
unit=$1 bin=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/[^ ]*/sbin/bulwark|$bin|g" "$unit" > "$dir/bulwark@test.service"
out=$(systemd-analyze verify "$dir/bulwark@test.service" 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
grep -q '^Type=notify$' "$dir/bulwark@test.service"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$dir/bulwark@test.service"
echo "systemd-analyze verify: clean"
