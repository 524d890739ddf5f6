"""Timing primitives for the benchmark: one timed run, N concurrent runs, statistics.

Every runtime is started the same way — posix_spawn (vfork+exec in glibc) from this
process, waited with a pidfd and wait4 — so the launcher's own cost is the same constant
for all of them and cancels out of the ratios.
"""
import contextlib
import ctypes
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
    """Waits for pid until `deadline` (monotonic seconds). A run still going then gets
    SIGTERM (runtimes tear their sandbox down on it) and, 3 s later, SIGKILL.

    Returns (status, rusage). status is -1 when the process had to be stopped. When
    interrupted, the process is left to the bench's cleanup (kill_descendants).
    """
    pidfd = os.pidfd_open(pid)
    try:
        def exited(until):
            return bool(select.select([pidfd], [], [], max(0.0, until - time.monotonic()))[0])
        timed_out = not exited(deadline)
        if timed_out:
            os.kill(pid, signal.SIGTERM)
            if not exited(time.monotonic() + 3):
                os.kill(pid, signal.SIGKILL)
        _, wstatus, ru = os.wait4(pid, 0)
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
    sampled: object = None      # what `sample` returned while all were running


def _proc_tree(pid):
    """pid and its descendants, from /proc/PID/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo += _children(p)
        except OSError:
            pass
    return out


def become_subreaper():
    """Orphans of the runs are reparented to us, not to init, so kill_descendants() can end
    them: a bwrap killed half-way leaves its pid 1 waiting forever for a parent that is
    gone. (Even a normal bwrap run exits without reaping its pid 1: reap_orphans().)"""
    PR_SET_CHILD_SUBREAPER = 36
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _children(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def reap_orphans():
    """Reaps whatever child of ours has exited. Call it only with no run pending: it is for
    the orphans reparented to us, and would take a run's exit status too."""
    for pid in _children(os.getpid()):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def kill_descendants(keep=(), grace=3.0):
    """Ends every process below us but the trees rooted at `keep`, and reaps our children
    among them. Our children get SIGTERM first and `grace` seconds to tear their sandboxes
    down (hive-run, runc and crun remove their cgroups and state on SIGTERM); whatever is
    left then gets SIGKILL. Returns how many processes it ended."""
    def below_us():
        procs = set(_proc_tree(os.getpid())) - {os.getpid()}
        for k in keep:
            procs -= set(_proc_tree(k))
        return procs

    ended = set()
    direct = set(_children(os.getpid())) & below_us()
    for pid in direct:
        os.kill(pid, signal.SIGTERM)
        ended.add(pid)
    deadline = time.monotonic() + grace
    while direct and time.monotonic() < deadline:
        for pid in list(direct):
            if os.waitpid(pid, os.WNOHANG)[0]:
                direct.discard(pid)
        time.sleep(0.02)
    for _ in range(10):  # each pass may free orphans that are then reparented to us
        procs = below_us()
        if not procs:
            break
        for pid in procs:
            try:
                os.kill(pid, signal.SIGKILL)
                ended.add(pid)
            except OSError:
                pass
        for pid in procs:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass  # not our child: its parent reaps it, or it is reparented to us
    return len(ended)


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


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _comm(pid):
    return _read(f"/proc/{pid}/comm").strip()


def payload_view(pid):
    """How the payload below `pid` (the one process of its tree without children) looks
    from the host: its /proc status lines for seccomp, no_new_privs and capabilities, its
    uid map, and its cgroup in every hierarchy."""
    leaves = [p for p in _proc_tree(pid) if p != pid and not _children(p)]
    if len(leaves) != 1:
        return None
    p = leaves[0]
    status = {k: v.strip() for k, _, v in (line.partition(":") for line in
                                            _read(f"/proc/{p}/status").splitlines())}
    return {
        "status": {k: status.get(k, "?") for k in ("Seccomp", "Seccomp_filters", "NoNewPrivs",
                                                   "CapEff", "CapBnd")},
        "uid_map": " ".join(_read(f"/proc/{p}/uid_map").split()),
        "cgroup": _read(f"/proc/{p}/cgroup").splitlines(),
    }


def runtime_memory(pid, runtime_comm):
    """Memory of the runtime's own processes in one sandbox's tree (the payload excluded):
    summed VmHWM (peak RSS, shared pages counted in each process) and summed Pss."""
    procs = [p for p in _proc_tree(pid) if _comm(p) == runtime_comm]
    return (sum(_field_kb(f"/proc/{p}/status", "VmHWM") for p in procs),
            sum(_field_kb(f"/proc/{p}/smaps_rollup", "Pss") for p in procs))


def concurrent_runs(argvs, timeout, stderr, sample=None):
    """Starts every argv at once; each payload writes one line when it runs, then blocks on
    stdin until we close it. That barrier makes all N sandboxes exist at the same time,
    however slowly they start, and lets `sample(pids)` look at them all running."""
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
        if sample:
            res.sampled = sample(pids)
        os.close(in_w)  # release the barrier: every payload sees EOF and exits
        in_w = -1
        deadline = time.monotonic() + 60  # to exit, from the release
        for pid in pids:
            status, _ = wait(pid, deadline)
            res.ok += status == 0
        res.wall_ns = time.perf_counter_ns() - t0
    finally:  # on an exception the sandboxes still running are left to kill_descendants
        for fd in (in_r, in_w, out_r, out_w):
            if fd >= 0:
                os.close(fd)
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
