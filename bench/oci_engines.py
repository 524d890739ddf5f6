#!/usr/bin/env python3
"""What an engine user waits for per container, with hive-run, runc and crun behind the same
engine in the same run: `podman run --rm IMAGE true` (podman 4.3, conmon) and
`ctr run --rm IMAGE ID true` (containerd 1.6, the runc v2 shim with --runc-binary).
Runtimes are interleaved round by round, each round starting with a different one.

Every runtime gets the same engine flags: a read-only root and no capabilities, which
hive-run's built-in policy admits as they are (its OCI ceiling; see hive-run(1)). hive-run
runs with its layers on (user namespace, cgroups, seccomp with a listener, Landlock, the
monitor, a signed audit record per container). podman and containerd are started here with
their state under a temporary directory, as the tests start them, and stopped at the end.

    sudo bench/oci_engines.py [--rounds N]    # prints a markdown table, never asserts
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oci"))
import syspython  # noqa: E402

_MISSING_PYTHON = syspython.reexec_if_missing()

import containerd  # noqa: E402
import host  # noqa: E402
import image  # noqa: E402
import podman  # noqa: E402

HIVE = os.path.abspath(os.path.join(HERE, "..", "build", "hive-run"))
PODMAN_FLAGS = ("--read-only", "--read-only-tmpfs=false", "--cap-drop", "all",
                "--security-opt", "no-new-privileges", "--pids-limit", "64",
                "--ulimit", "nofile=256:256", "--ulimit", "nproc=64:64")
CTR_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
CTR_FLAGS = ("--read-only",) + tuple(x for c in CTR_CAPS for x in ("--cap-drop", c))


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return (time.monotonic() - t0) * 1000, r


def interleave(names, rounds, one):
    """`one(name, k)` for every runtime, rounds times, rotating the order: {name: [ms]}."""
    times = {n: [] for n in names}
    for k in range(rounds):
        for name in names[k % len(names):] + names[:k % len(names)]:
            ms, r = timed(lambda: one(name, k))
            if r.returncode != 0:
                raise RuntimeError(f"{name}: rc {r.returncode}: {r.stderr.strip()[-300:]}")
            times[name].append(ms)
    return times


def table(title, times, skipped):
    print(f"\n### {title}\n")
    print("| runtime | median ms | min | max | vs runc |")
    print("|---|---|---|---|---|")
    base = statistics.median(times["runc"]) if "runc" in times else None
    for name, t in times.items():
        m = statistics.median(t)
        ratio = f"×{m / base:.2f}" if base else ""
        print(f"| {name} | {m:.0f} | {min(t):.0f} | {max(t):.0f} | {ratio} |")
    for name, why in skipped.items():
        print(f"| {name} | cannot run here: {why} | | | |")


def runtimes():
    found = {"hive-run": HIVE}
    for name in ("runc", "crun"):
        if shutil.which(name):
            found[name] = shutil.which(name)
    return found


def bench_podman(tmp, images, rounds, state):
    policy = os.path.join(tmp, "policy.yml")
    fixtures, skipped = {}, {}
    try:
        for name, path in runtimes().items():
            pm = podman.Podman(tmp, path)
            pm.start()
            fixtures[name] = pm
        with open(policy, "w") as f:
            # The engine binds its per-container files (hosts, hostname, .containerenv)
            # writable from under its own directory.
            dirs = ", ".join(f'"{pm.dir}"' for pm in fixtures.values())
            f.write(f"security:\n  filesystem:\n    allowed_paths: [{dirs}]\n")

        def one(name, k):
            extra = (["--runtime-flag", f"policy={policy}", "--runtime-flag", f"state-dir={state}"]
                     if name == "hive-run" else [])
            return fixtures[name].podman(*extra, "run", "--rm", "--cgroup-parent",
                                         fixtures[name].cgroup_parent, "--network", "none",
                                         *PODMAN_FLAGS, image.BUSYBOX, "true")

        for name, pm in list(fixtures.items()):
            pm.import_image(images.busybox_layer, image.BUSYBOX)
            r = one(name, -1)  # warm-up, and finds who cannot run here
            if r.returncode != 0:
                skipped[name] = (r.stderr.strip().splitlines() or ["?"])[-1][:200]
        names = [n for n in fixtures if n not in skipped]
        table("`podman run --rm busybox true`", interleave(names, rounds, one), skipped)
    finally:
        for pm in fixtures.values():
            pm.stop()


def bench_ctr(tmp, images, rounds, state):
    os.environ["HIVE_RUN_STATE_DIR"] = state  # the shim passes its environment on
    policy = os.path.join(tmp, "ctr-policy.yml")
    with open(policy, "w") as f:
        f.write("security:\n  execution:\n    max_open_files: 1024\n")
    os.environ["HIVE_RUN_POLICY"] = policy
    cd = containerd.Containerd(tmp, HIVE, images=[images.busybox_archive])
    cd.start()
    skipped = {}
    try:
        found = runtimes()

        def one(name, k):
            return cd.ctr_run(image.BUSYBOX, f"b-{name}-{k + 1}", "true", runtime=found[name],
                              extra=CTR_FLAGS)

        for name in list(found):
            r = one(name, -1)
            if r.returncode != 0:
                skipped[name] = (r.stderr.strip().splitlines() or ["?"])[-1][:200]
                cd.ctr_delete(f"b-{name}-0", force=True)
        names = [n for n in found if n not in skipped]
        table("`ctr run --rm busybox true`", interleave(names, rounds, one), skipped)
    finally:
        cd.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    if _MISSING_PYTHON or not shutil.which("podman") or not shutil.which("containerd"):
        sys.exit("needs podman, containerd and python3-grpcio (./setup test installs them)")
    tmp = tempfile.mkdtemp(prefix="hive-eb-")
    os.chmod(tmp, 0o755)
    try:
        images = image.TestImages(os.path.join(tmp, "images"))
        state = os.path.join(tmp, "state")
        print(f"## OCI engines, {args.rounds} rounds, runtimes interleaved")
        bench_podman(tmp, images, args.rounds, state)
        bench_ctr(tmp, images, args.rounds, state)
    finally:
        host.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
