"""Timing primitives for the benchmark: one timed run, N concurrent runs, statistics.

Every runtime is started the same way — posix_spawn (vfork+exec in glibc) from this
process, waited with a pidfd and wait4 — so the launcher's own cost is the same constant
for all of them and cancels out of the ratios.
"""
import contextlib
import os
import select
import signal
import statistics
import time
from collections import namedtuple
from dataclasses import dataclass, field

ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@dataclass
class RunResult:
    wall_ns: int
    status: int          # exit code, 128+N when killed by signal N, -1 when we timed it out
    maxrss_kb: int       # wait4: largest resident set of the process or any descendant it reaped
    cpu_ns: int          # user+system of the whole tree (reaped descendants included)

    @property
    def ok(self):
        return self.status == 0


def _status_code(wstatus):
    if os.WIFEXITED(wstatus):
        return os.WEXITSTATUS(wstatus)
    return 128 + os.WTERMSIG(wstatus)


def spawn(argv, stdin=None, stdout=None, stderr=None):
    """posix_spawn with fds 0-2 set; every other fd of ours is close-on-exec already."""
    actions = []
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        if fd is not None:
            actions.append((os.POSIX_SPAWN_DUP2, fd, target))
    return os.posix_spawn(argv[0], argv, ENV, file_actions=actions)


def wait(pid, deadline):
    """Waits for pid until `deadline` (monotonic seconds); kills it when the deadline passes.

    Returns (status, rusage). status is -1 when the process had to be killed.
    """
    pidfd = os.pidfd_open(pid)
    try:
        timed_out = not select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))[0]
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, wstatus, ru = os.wait4(pid, 0)
    except BaseException:  # interrupted: do not leave the child behind
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(pidfd)
    return (-1 if timed_out else _status_code(wstatus)), ru


def timed_run(argv, timeout, stdout=None, stderr=None):
    devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    try:
        t0 = time.perf_counter_ns()
        pid = spawn(argv, devnull, stdout if stdout is not None else devnull,
                    stderr if stderr is not None else devnull)
        status, ru = wait(pid, time.monotonic() + timeout)
        t1 = time.perf_counter_ns()
    finally:
        os.close(devnull)
    cpu = int((ru.ru_utime + ru.ru_stime) * 1e9)
    return RunResult(t1 - t0, status, ru.ru_maxrss, cpu)


@dataclass
class ConcurrentResult:
    n: int
    up: int = 0                 # sandboxes whose payload reported it was running
    ok: int = 0                 # sandboxes that exited 0
    all_up_ns: int = 0          # from the first spawn until every payload was running
    wall_ns: int = 0            # from the first spawn until the last one exited
    memory: list = field(default_factory=list)  # per sandbox: (runtime VmHWM kB, runtime Pss kB)


def _proc_tree(pid):
    """pid and its descendants, from /proc/PID/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _field_kb(path, key):
    """The kB value of `key:` in a /proc file such as status or smaps_rollup, 0 if gone."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def runtime_memory(pid, runtime_comm):
    """Memory of the runtime's own processes in one sandbox's tree (the payload excluded):
    summed VmHWM (peak RSS, shared pages counted in each process) and summed Pss."""
    procs = [p for p in _proc_tree(pid) if _comm(p) == runtime_comm]
    return (sum(_field_kb(f"/proc/{p}/status", "VmHWM") for p in procs),
            sum(_field_kb(f"/proc/{p}/smaps_rollup", "Pss") for p in procs))


def concurrent_runs(argvs, timeout, stderr, runtime_comm=None):
    """Starts every argv at once; each payload writes one line when it runs, then blocks on
    stdin until we close it. That barrier makes all N sandboxes exist at the same time (and
    lets us read their memory), however slowly they start."""
    res = ConcurrentResult(len(argvs))
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    pids = []
    deadline = time.monotonic() + timeout
    try:
        t0 = time.perf_counter_ns()
        for argv in argvs:
            pids.append(spawn(argv, in_r, out_w, stderr))
        os.close(out_w)
        out_w = -1
        got = b""
        while got.count(b"\n") < len(argvs):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out_r], [], [], left)[0]:
                break
            chunk = os.read(out_r, 65536)
            if not chunk:  # every payload's stdout is closed: the rest died before reporting
                break
            got += chunk
        res.up = got.count(b"\n")
        res.all_up_ns = time.perf_counter_ns() - t0
        if runtime_comm:
            res.memory = [runtime_memory(p, runtime_comm) for p in pids]
        os.close(in_w)  # release the barrier: every payload sees EOF and exits
        in_w = -1
        for pid in pids:
            status, _ = wait(pid, deadline)
            res.ok += status == 0
        pids = []
        res.wall_ns = time.perf_counter_ns() - t0
    finally:
        for fd in (in_r, in_w, out_r, out_w):
            if fd >= 0:
                os.close(fd)
        for pid in pids:  # only on an exception: reap what we started
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
    return res


Summary = namedtuple("Summary", "median lo hi")


def summary(values):
    """Median, min and max of a list, or None when it is empty."""
    if not values:
        return None
    return Summary(statistics.median(values), min(values), max(values))


@contextlib.contextmanager
def open_append(path):
    """An fd appending to path (created if needed), for a child's stderr."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        yield fd
    finally:
        os.close(fd)
