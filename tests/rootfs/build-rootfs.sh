#!/bin/sh
# Builds the test rootfs: busybox-static with its applets, /etc/passwd and group, the tests' probe
# (static), a setuid-root copy of the probe, and a small web root for the demo's httpd.
# usage: build-rootfs.sh OUTDIR PROBE
set -eu
out=$1
probe=$2
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || { echo "build-rootfs: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/etc" "$tmp/proc" "$tmp/dev" "$tmp/tmp" \
         "$tmp/www/cgi-bin" "$tmp/data" "$tmp/root"
cp "$busybox" "$tmp/bin/busybox"
for app in $("$busybox" --list); do
    [ "$app" = busybox ] || ln -sf busybox "$tmp/bin/$app"
done
cp "$probe" "$tmp/bin/probe"
cp "$probe" "$tmp/bin/probe-suid"
# A setuid-root binary: inside the sandbox (nosuid mount, no_new_privs) it must not gain root.
if [ "$(id -u)" = 0 ]; then chown 0:0 "$tmp/bin/probe-suid"; fi
chmod 4755 "$tmp/bin/probe-suid"
cat > "$tmp/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$tmp/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
cat > "$tmp/www/index.html" <<'H'
<!doctype html><title>bulwark demo</title><p>Hello from a sandboxed busybox httpd.</p>
H
cat > "$tmp/www/cgi-bin/whoami" <<'C'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "uid=$(id -u) gid=$(id -g) host=$(hostname)"
grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status
C
chmod 755 "$tmp/www/cgi-bin/whoami"
rm -rf "$out"
mv "$tmp" "$out"
