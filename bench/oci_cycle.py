#!/usr/bin/env python3
"""The OCI lifecycle cycle an engine pays per container: `create` + `start` + wait for pid 1
+ `delete`, for build/hive-run, crun and runc, interleaved round by round, same bundle
(busybox-static, `/bin/true`, read-only root). This driver is a child subreaper, as conmon
and the containerd shim are, so pid 1 reparents to it and is reaped here.

hive-run runs with its layers on (user namespace, cgroups, seccomp with a listener, Landlock,
the monitor, the audit record at delete); runc and crun run the same config.json without a
user namespace (as root, their default).

    sudo bench/oci_cycle.py [--rounds N]      # prints a markdown table, never asserts
"""
import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oci"))
import image  # noqa: E402

HIVE = os.path.join(HERE, "..", "build", "hive-run")


def config(rootfs, userns):
    ns = ["pid", "network", "ipc", "uts", "mount"] + (["cgroup", "user"] if userns else [])
    return {"ociVersion": "1.0.2",
            "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
                        "env": [image.DEFAULT_PATH], "cwd": "/", "noNewPrivileges": True},
            "root": {"path": rootfs, "readonly": True}, "hostname": "bench",
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
            "linux": {"namespaces": [{"type": t} for t in ns]}}


def cycle(cmd, root, bundle, cid, env):
    pid_file = os.path.join(bundle, "pid")
    null = subprocess.DEVNULL
    t0 = time.monotonic()
    subprocess.run([*cmd, "--root", root, "create", "--bundle", bundle, "--pid-file", pid_file,
                    cid], check=True, stdout=null, stderr=null, env=env)
    with open(pid_file) as f:
        pid = int(f.read())
    subprocess.run([*cmd, "--root", root, "start", cid], check=True, env=env)
    os.waitpid(pid, 0)
    subprocess.run([*cmd, "--root", root, "delete", cid], check=True, env=env)
    return (time.monotonic() - t0) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    tmp = tempfile.mkdtemp(prefix="hive-oci-bench-")
    try:
        rootfs = image.busybox_rootfs(os.path.join(tmp, "rootfs"))
        env = dict(os.environ, HIVE_RUN_STATE_DIR=os.path.join(tmp, "state"))
        runtimes = {"hive-run": [HIVE]}
        for name in ("crun", "runc"):
            if shutil.which(name):
                runtimes[name] = [shutil.which(name)]
        bundles = {}
        for name in runtimes:
            b = os.path.join(tmp, "bundle-" + name)
            os.makedirs(b)
            with open(os.path.join(b, "config.json"), "w") as f:
                json.dump(config(rootfs, name == "hive-run"), f)
            bundles[name] = b
        skipped = {}
        for name in list(runtimes):  # round 0: warms caches, and finds who cannot run here
            try:
                cycle(runtimes[name], os.path.join(tmp, "root-" + name), bundles[name], "b0", env)
            except subprocess.CalledProcessError as e:
                r = subprocess.run([*runtimes[name], "--root", os.path.join(tmp, "root-" + name),
                                    "create", "--bundle", bundles[name], "why"],
                                   capture_output=True, text=True, env=env)
                skipped[name] = (r.stderr.strip().splitlines() or [str(e)])[-1]
                subprocess.run([*runtimes[name], "--root", os.path.join(tmp, "root-" + name),
                                "delete", "--force", "why"], capture_output=True, env=env)
                del runtimes[name]
        times = {name: [] for name in runtimes}
        order = list(runtimes)
        for k in range(1, args.rounds + 1):
            for name in order[k % len(order):] + order[:k % len(order)]:
                ms = cycle(runtimes[name], os.path.join(tmp, "root-" + name), bundles[name],
                           f"b{k}", env)
                times[name].append(ms)
        print("| runtime | create+start+wait+delete, median ms | min | max |")
        print("|---|---|---|---|")
        for name, t in times.items():
            print(f"| {name} | {statistics.median(t):.1f} | {min(t):.1f} | {max(t):.1f} |")
        for name, why in skipped.items():
            print(f"| {name} | cannot run here: {why} | | |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
