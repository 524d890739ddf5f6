#!/usr/bin/python3
"""Where `hive-run exec -- /bin/true` spends its time, phase by phase.

    sudo bench/profile.py [--runs N] [HIVE_RUN]      (default build/hive-run, 15 runs)

Traces each run with `perf trace` (system-call tracepoints; far less overhead than strace's
ptrace stops, but not none, so the phases add up to more than an untraced run) and splits
it at system calls every run makes:

  start      exec of hive-run → its clone3: loading, static init, policy, run directory
  rootfs     clone3 → the child's pivot_root: id maps, sync, mounts, /dev, /etc files
  finish     pivot_root → the payload's execve: masking, rlimits, capabilities, pid-1 init
  payload    the payload's execve → its exit_group
  teardown   payload exit → hive-run's exit_group: reaping, report, execution.json

Also prints, untraced, the start-to-exit of `hive-run --help` (exec, dynamic linking and
static init with no sandbox) beside `/bin/true`, and the system calls that took the most
time in one traced run. Prints markdown; asserts nothing.
"""
import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import timed_run  # noqa: E402

# "    27.081 ( 2.120 ms): hive-run/29821 clone3(uargs: ...) = 29824"
EVENT = re.compile(r"^\s*([\d.]+) \(\s*([\d.]*)\s*(?:ms)?\): (.+)/(\d+) (?:\.\.\. \[continued\]: )?"
                   r"(\w+)\(")
PHASES = ["start", "rootfs", "finish", "payload", "teardown"]
# Calls that block waiting for the other side, not work.
WAITS = {"epoll_wait", "rt_sigtimedwait", "wait4", "waitid", "recvfrom", "recvmsg", "read",
         "poll", "ppoll"}


def trace(hive, state, out):
    subprocess.run(["perf", "trace", "-f", "-o", out, hive, "--state-dir", state, "exec",
                    "--quiet", "--", "/bin/true"], check=True, stdout=subprocess.DEVNULL)
    events = []
    with open(out) as f:
        for line in f:
            m = EVENT.match(line)
            if m:
                ts, dur, comm, pid, name = m.groups()
                events.append((float(ts), float(dur or 0), comm, int(pid), name))
    return events


def phases(events):
    """Phase durations in ms, or None when a marker is missing."""
    main = events[0][3] if events else None

    def first(pred):
        return next((e for e in events if pred(e)), None)
    clone = first(lambda e: e[3] == main and e[4] == "clone3")
    pivot = first(lambda e: e[4] == "pivot_root")
    execve = first(lambda e: e[3] != main and e[4] == "execve")
    if not (clone and pivot and execve):
        return None
    payload_exit = first(lambda e: e[3] == execve[3] and e[4] == "exit_group")
    end = first(lambda e: e[3] == main and e[4] == "exit_group")
    if not (payload_exit and end):
        return None
    marks = [0.0, clone[0], pivot[0], execve[0], payload_exit[0], end[0]]
    return {p: marks[i + 1] - marks[i] for i, p in enumerate(PHASES)}


def median_ms(argv, n):
    runs = [timed_run(argv, 30) for _ in range(n)]
    return statistics.median(r.wall_ns / 1e6 for r in runs if r.ok)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hive_run", nargs="?", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "hive-run"))
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("profile: run as root: sudo bench/profile.py")
    if not shutil.which("perf"):
        sys.exit("profile: needs `perf` (Debian: apt-get install linux-perf)")
    hive = os.path.abspath(args.hive_run)
    tmp = tempfile.mkdtemp(prefix="hive-profile.", dir="/var/tmp")
    try:
        state = os.path.join(tmp, "state")
        untraced = {
            "/bin/true": median_ms(["/bin/true"], 30),
            "hive-run --help (no sandbox)": median_ms([hive, "--help"], 30),
            "hive-run exec -- /bin/true": median_ms(
                [hive, "--state-dir", state, "exec", "--quiet", "--", "/bin/true"], 30),
        }
        got = collections.defaultdict(list)
        calls = None
        for i in range(args.runs):
            events = trace(hive, state, os.path.join(tmp, "trace.txt"))
            p = phases(events)
            if p:
                for k, v in p.items():
                    got[k].append(v)
            if i == args.runs // 2:
                calls = events
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"## Where `hive-run exec -- /bin/true` spends its time\n\nload average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("Untraced, median of 30:\n\n| command | median ms |\n|---|---|")
    for k, v in untraced.items():
        print(f"| `{k}` | {v:.2f} |")
    total = sum(statistics.median(v) for v in got.values()) if got else 0
    print(f"\nTraced with `perf trace`, median of {len(got.get('start', []))} runs "
          "(tracing adds its own cost):\n\n| phase | median ms | share |\n|---|---|---|")
    for k in PHASES:
        if got.get(k):
            m = statistics.median(got[k])
            print(f"| {k} | {m:.2f} | {m / total:.0%} |")
    if calls:
        by = collections.defaultdict(lambda: [0, 0.0])
        for _, dur, _, _, name in calls:
            by[name][0] += 1
            by[name][1] += dur
        print("\nSystem calls of one traced run by time inside them (waits marked):\n\n"
              "| syscall | calls | total ms |\n|---|---|---|")
        for name, (n, t) in sorted(by.items(), key=lambda kv: -kv[1][1])[:15]:
            print(f"| {name}{' (wait)' if name in WAITS else ''} | {n} | {t:.2f} |")
        print(f"\n{len(calls)} system calls in all.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
