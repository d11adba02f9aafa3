#!/usr/bin/env python3
"""Writes an OCI bundle for crun equivalent to `bulwark run --net none -- CMD`: the same rootfs
read-only, uid/gid 65534, no capabilities, no_new_privs, pid/net/ipc/uts/mount/cgroup
namespaces (crun: not cgroup, which it cannot set up on this machine), /proc, a tmpfs /dev, /tmp tmpfs 128m noexec, no /sys, and the seccomp rules of a
Docker-format profile converted to OCI (entries whose includes/excludes apply to x86_64 with no
capabilities kept). usage: crun-bundle.py SPEC_JSON ROOTFS PROFILE BUNDLE_DIR CMD..."""
import json, os, sys

spec, rootfs, profile, bundle = sys.argv[1:5]
cmd = sys.argv[5:]
c = json.load(open(spec))
p = json.load(open(profile))

def applies(entry):
    inc, exc = entry.get("includes", {}), entry.get("excludes", {})
    if inc.get("caps") or inc.get("minKernel"):
        return False  # needs a capability bulwark does not keep (or a kernel check crun lacks)
    if inc.get("arches") and "amd64" not in inc["arches"]:
        return False
    if "amd64" in exc.get("arches", []):
        return False
    return True

arches = []
for m in p.get("archMap", []):
    if m["architecture"] == "SCMP_ARCH_X86_64":
        arches = [m["architecture"]] + m.get("subArchitectures", [])
syscalls = []
for e in p["syscalls"]:
    if not applies(e):
        continue
    names = e.get("names") or [e["name"]]
    out = {"names": names, "action": e["action"]}
    for k in ("args", "errnoRet"):
        if k in e:
            out[k] = e[k]
    syscalls.append(out)

c["root"] = {"path": os.path.abspath(rootfs), "readonly": True}
c["process"].update({"terminal": False, "args": cmd, "user": {"uid": 65534, "gid": 65534},
                     "noNewPrivileges": True, "cwd": "/", "env": ["PATH=/bin:/usr/bin"]})
c["process"]["capabilities"] = {k: [] for k in
                                ("bounding", "effective", "inheritable", "permitted", "ambient")}
c["process"].pop("rlimits", None)
c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/sys")]
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "noexec", "size=128m", "mode=1777"]})
c["linux"]["namespaces"] = [{"type": t} for t in
                            ("pid", "network", "ipc", "uts", "mount")]  # crun 1.8.1 here: no cgroupns (see anchors)
c["linux"].pop("resources", None)
c["linux"]["seccomp"] = {"defaultAction": p["defaultAction"],
                         "defaultErrnoRet": p.get("defaultErrnoRet", 1),
                         "architectures": arches, "syscalls": syscalls}
os.makedirs(bundle, exist_ok=True)
json.dump(c, open(os.path.join(bundle, "config.json"), "w"), indent=1)
