"""What a container engine run leaves on the host, and how a fixture takes it away again.

Every fixture keeps its state under one temporary directory and names its cgroup parent and
network bridge with one unique token, so "what this test made" is: mounts under that
directory, cgroups named by the token, links named by it, processes whose command line names
the directory or that sit in the token's cgroups. The functions here find those and remove
them; they never touch anything else. stop_at_exit() makes a fixture's stop() run even when
the test dies before calling it.
"""
import atexit
import ctypes
import os
import signal
import subprocess
import sys
import time

CGROUP_ROOT = "/sys/fs/cgroup"
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)

_pending_stops = []  # stop() of each fixture started and not yet stopped, oldest first


def stop_at_exit(stop):
    """Makes sure `stop` runs even when the test never gets to call it: setUpClass failing
    after start(), an uncaught exception, SIGTERM from the test runner's timeout."""
    if not getattr(stop_at_exit, "installed", False):
        stop_at_exit.installed = True
        atexit.register(stop_all)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _stop_and_exit)
    _pending_stops.append(stop)


def stopped(stop):
    """Called by a fixture's stop(): nothing left to do for it at exit."""
    if stop in _pending_stops:
        _pending_stops.remove(stop)


def stop_all():
    """Stops every fixture that is still running (newest first)."""
    while _pending_stops:
        stop = _pending_stops.pop()
        try:
            stop()
        except Exception as e:  # keep stopping the others
            print(f"stopping {stop}: {e}", file=sys.stderr)


def _stop_and_exit(signum, frame):
    stop_all()
    os._exit(128 + signum)


def _unescape(field):
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(field):
        digits = field[i + 1:i + 4]
        if field[i] == "\\" and len(digits) == 3 and digits.isdigit():
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts():
    """Mount points of this mount namespace, in mount order (parents before children)."""
    with open("/proc/self/mountinfo") as f:
        return [_unescape(line.split()[4]) for line in f]


def mounts_under(path):
    path = os.path.realpath(path)
    return [m for m in mounts() if m == path or m.startswith(path + "/")]


def unmount_under(path):
    """Detaches every mount at or below `path`, children first; returns what it unmounted."""
    done = []
    for _ in range(10):  # a detach can uncover a mount that was stacked below it
        found = mounts_under(path)
        if not found:
            break
        for m in reversed(found):
            if _libc.umount2(m.encode(), MNT_DETACH) == 0:
                done.append(m)
    return done


def cgroup_hierarchies():
    """Mount points of every cgroup hierarchy (v1 controllers, name=systemd, unified v2)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2") and fields[4].startswith(CGROUP_ROOT):
                found.append(_unescape(fields[4]))
    return sorted(set(found))


def cgroups_named(token):
    """Every cgroup directory, in any hierarchy, whose path has a component `token`."""
    found = []
    for h in cgroup_hierarchies():
        top = os.path.join(h, token)
        if os.path.isdir(top):
            for root, dirs, _ in os.walk(top):
                found.append(root)
    return sorted(found)


def relative_cgroups(paths):
    """The cgroup paths, as /proc/PID/cgroup names them, of directories of any hierarchy."""
    out = set()
    for p in paths:
        for h in cgroup_hierarchies():
            if p.startswith(h + "/"):
                out.add(p[len(h):])
    return sorted(out)


def runtime_leftovers(token, parents):
    """What a runtime should have removed once none of a fixture's containers exists any more,
    one string per item: "cgroup <path>" below /<token> other than the grouping `parents`
    (names), and "process <pid> <cmdline>" in such a cgroup. (A process in a parent, such as
    podman's conmon in <parent>/conmon, is the engine's, and may still be finishing.)"""
    left = [d for d in cgroups_named(token) if os.path.basename(d) not in parents]
    pids = {p for d in left for p in cgroup_procs(d)}
    return ([f"cgroup {c}" for c in relative_cgroups(left)]
            + [f"process {p} {_cmdline(p) or '?'}" for p in sorted(pids)])


def cgroup_procs(cgroup_dir):
    try:
        with open(os.path.join(cgroup_dir, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def remove_cgroups(token):
    """Removes the token's cgroup trees, deepest first; returns the directories removed."""
    removed = []
    for d in sorted(cgroups_named(token), key=lambda p: p.count("/"), reverse=True):
        try:
            os.rmdir(d)
            removed.append(d)
        except OSError:
            pass
    return removed


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None


def processes_naming(text):
    """(pid, command line) of every process, other than this one, whose command line contains
    `text` (a temporary directory: containerd, its shims, podman's conmon all name theirs)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        cmd = _cmdline(int(name))
        if cmd and text in cmd:
            found.append((int(name), cmd))
    return sorted(found)


def wait_for_exit(text, timeout=10.0):
    """Waits until no process names `text` (an engine's helpers finishing their own cleanup:
    shims after their last task, conmon running podman's exit command); returns those left."""
    deadline = time.monotonic() + timeout
    while True:
        left = [(p, c) for p, c in processes_naming(text) if not _is_zombie(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def processes_in_cgroups(token):
    """(pid, command line) of every process in a cgroup whose path names `token`."""
    pids = set()
    for d in cgroups_named(token):
        pids.update(cgroup_procs(d))
    return sorted((p, _cmdline(p) or "?") for p in pids)


def kill_and_wait(pids, timeout=5.0):
    """SIGKILLs the given pids (this test's own processes) and waits until they are gone."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if os.path.exists(f"/proc/{p}") and not _is_zombie(p)]
        if not alive:
            return
        time.sleep(0.02)


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def stop_process(proc, timeout=10.0):
    """Stops a subprocess.Popen this test started: SIGTERM, then SIGKILL after `timeout`."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def links():
    """Names of the network links of this network namespace."""
    return sorted(os.listdir("/sys/class/net"))


def delete_link(name):
    if os.path.exists(f"/sys/class/net/{name}"):
        subprocess.run(["ip", "link", "delete", name], capture_output=True)
        return True
    return False


def bridge_ports(bridge):
    try:
        return sorted(os.listdir(f"/sys/class/net/{bridge}/brif"))
    except OSError:
        return []


def netns_names(directory="/run/netns"):
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def remove_empty_dirs(paths):
    """rmdir()s each path that is an empty directory, deepest first (another user of the
    directory keeps it alive: rmdir fails on a non-empty directory)."""
    for p in sorted(paths, key=lambda p: p.count("/"), reverse=True):
        try:
            os.rmdir(p)
        except OSError:
            pass


class Snapshot:
    """The host-wide things an engine may leave outside its temporary directory, taken before
    and after a fixture to prove it left none of them behind."""

    def __init__(self, watched_dirs=(), link_prefixes=("veth", "hvt"), netns_prefix="cni-"):
        # Only the links and network namespaces that CNI and containerd name: other tests on
        # the host may add their own at the same time.
        self.links = [n for n in links() if n.startswith(tuple(link_prefixes))]
        self.netns = [n for n in netns_names() if n.startswith(netns_prefix)]
        self.dirs = {d: sorted(os.listdir(d)) if os.path.isdir(d) else None
                     for d in watched_dirs}

    def differences(self, later):
        out = []
        for what, a, b in (("links", self.links, later.links),
                           ("/run/netns", self.netns, later.netns)):
            new = sorted(set(b) - set(a))
            if new:
                out.append(f"new {what}: {new}")
        for d, before in self.dirs.items():
            after = later.dirs.get(d)
            if before is None and after is not None:
                out.append(f"{d} was created: {after}")
            elif before is not None and after is not None and set(after) - set(before):
                out.append(f"new in {d}: {sorted(set(after) - set(before))}")
        return out
