#!/usr/bin/env python3
"""What kubelet waits for per pod, through containerd's CRI with runtime handler `hive`
(build/hive-run) against handler `runc` in the same containerd, interleaved round by round:
RunPodSandbox + CreateContainer + StartContainer + ExecSync (`true`) + StopContainer +
RemoveContainer + StopPodSandbox + RemovePodSandbox, on a CNI bridge. Each call is timed
too. containerd is started here with its state under a temporary directory, as the tests
start it, and stopped at the end; the pods' audit records go to a temporary state directory.

    sudo bench/cri_pod.py [--rounds N]    # prints a markdown table, never asserts
"""
import argparse
import os
import shutil
import statistics
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

HIVE = os.path.abspath(os.path.join(HERE, "..", "build", "hive-run"))
STEPS = ("RunPodSandbox", "CreateContainer", "StartContainer", "ExecSync", "StopContainer",
         "RemoveContainer", "StopPodSandbox", "RemovePodSandbox")


def pod_cycle(cri, cd, handler, k, logs):
    """One pod through every call; {step: ms}."""
    name = f"b-{handler}-{k}"
    config = cri.pod_config(name, os.path.join(logs, name), cd.pod_cgroup_parent(name))
    ctr = cri.container_config("c", image.BUSYBOX, ["sleep", "300"])
    out = {}
    ids = {}

    def step(what, fn):
        t0 = time.monotonic()
        r = fn()
        out[what] = (time.monotonic() - t0) * 1000
        return r

    ids["pod"] = step("RunPodSandbox", lambda: cri.run_pod(config, handler))
    ids["c"] = step("CreateContainer", lambda: cri.create_container(ids["pod"], ctr, config))
    step("StartContainer", lambda: cri.start(ids["c"]))
    r = step("ExecSync", lambda: cri.exec_sync(ids["c"], ["true"]))
    if r.exit_code != 0:
        raise RuntimeError(f"{handler}: ExecSync true exited {r.exit_code}: {r.stderr!r}")
    step("StopContainer", lambda: cri.stop(ids["c"], 0))
    step("RemoveContainer", lambda: cri.remove(ids["c"]))
    step("StopPodSandbox", lambda: cri.stop_pod(ids["pod"]))
    step("RemovePodSandbox", lambda: cri.remove_pod(ids["pod"]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    if _MISSING_PYTHON or not shutil.which("containerd"):
        sys.exit("needs containerd and python3-grpcio (./setup test installs them)")
    tmp = tempfile.mkdtemp(prefix="hive-cb-")
    os.chmod(tmp, 0o755)
    os.environ["HIVE_RUN_STATE_DIR"] = os.path.join(tmp, "state")
    os.environ.pop("HIVE_RUN_POLICY", None)
    cd = None
    try:
        images = image.TestImages(os.path.join(tmp, "images"))
        cd = containerd.Containerd(tmp, HIVE, images=[images.busybox_archive,
                                                      images.pause_archive])
        cd.start()
        import cri as cri_module
        cri = cri_module.CriClient(cd.address, os.path.join(tmp, "cri-stubs"))
        cri.wait_ready()
        logs = os.path.join(tmp, "logs")
        os.makedirs(logs)
        handlers = ["hive", "runc"]
        for h in handlers:  # warm-up
            pod_cycle(cri, cd, h, 0, logs)
        totals = {h: [] for h in handlers}
        steps = {h: {s: [] for s in STEPS} for h in handlers}
        for k in range(1, args.rounds + 1):
            for h in handlers[k % 2:] + handlers[:k % 2]:
                t = pod_cycle(cri, cd, h, k, logs)
                totals[h].append(sum(t.values()))
                for s, ms in t.items():
                    steps[h][s].append(ms)
        cri.close()
        print(f"## CRI pod cycle, handler hive vs runc, {args.rounds} rounds, interleaved\n")
        print("| step | hive median ms | runc median ms | hive / runc |")
        print("|---|---|---|---|")
        for s in STEPS + ("total",):
            a = statistics.median(totals["hive"] if s == "total" else steps["hive"][s])
            b = statistics.median(totals["runc"] if s == "total" else steps["runc"][s])
            print(f"| {s} | {a:.0f} | {b:.0f} | ×{a / b:.2f} |")
    finally:
        if cd is not None:
            cd.stop()
        host.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
