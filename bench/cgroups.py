"""Cgroup layout for the benchmark: hybrid-host detection, the private cgroup view crun
needs there, and finding the cgroups the benchmark's runs left behind.

Running crun 1.8 on a hybrid cgroup host:

crun 1.8 refuses a host that has cgroup v1 controllers and a cgroup2 mount at
/sys/fs/cgroup/unified ("cgroups in hybrid mode not supported"). Unmounting the cgroup2
mount in a private mount namespace is not enough: crun then treats the empty
`unified` directory as a hierarchy and leaves files in the host's /sys/fs/cgroup tmpfs,
and it places relative cgroupsPath at the root of each hierarchy, outside the cgroup
the benchmark itself runs in.

So the helper below builds a private view of /sys/fs/cgroup: a new tmpfs holding only
the v1 hierarchies, each bind-mounted from the cgroup this process is in. crun still
creates, joins and removes a real cgroup in every v1 hierarchy — nested below ours, the
way runc and hive-run place theirs — and nothing is left on the host.

The helper is a forked copy of this process that lives in that mount namespace and
starts crun on request, so the namespace is set up once, not on every timed run.
"""
import ctypes
import json
import os
import signal
import sys

from measure import RunResult, open_append, timed_run

CLONE_NEWNS = 0x00020000
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 0x1000, 0x2000, 0x4000, 0x40000

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _mount(src, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {src} on {target}")


def is_hybrid():
    """/sys/fs/cgroup is a tmpfs of v1 hierarchies and a cgroup2 is mounted below it."""
    fstypes = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fstypes[pre.split()[4]] = post.split()[0]
    return (fstypes.get("/sys/fs/cgroup") == "tmpfs"
            and any(t == "cgroup2" and m.startswith("/sys/fs/cgroup/") for m, t in fstypes.items()))


def _own_cgroups():
    """[(mount point, fstype, our cgroup path in it)] for every hierarchy we are in."""
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fstype, _, superopts = post.split()[:3]
            if fstype in ("cgroup", "cgroup2"):
                mounts.append((pre.split()[4], fstype, set(superopts.split(","))))
    out = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for mnt, fstype, opts in mounts:
                if (fstype == "cgroup2" and not ctrls) or \
                        (fstype == "cgroup" and ctrls and set(ctrls.split(",")) <= opts):
                    out.append((mnt, fstype, path))
                    break
    return out


def _v1_hierarchies():
    """[(mount point, our cgroup path in it)] for every v1 hierarchy we are in."""
    return [(mnt, path) for mnt, fstype, path in _own_cgroups() if fstype == "cgroup"]


def named(prefix):
    """Cgroups directly below ours, in any hierarchy, whose name starts with prefix."""
    found = []
    for mnt, _, path in _own_cgroups():
        base = mnt + path
        try:
            found += [os.path.join(base, d) for d in os.listdir(base) if d.startswith(prefix)]
        except OSError:
            pass
    return found


def _private_cgroup_view(staging):
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    hierarchies = _v1_hierarchies()
    for i, (mnt, path) in enumerate(hierarchies):
        os.mkdir(f"{staging}/{i}")
        _mount(mnt + path, f"{staging}/{i}", None, MS_BIND)
    _mount("none", "/sys/fs/cgroup", "tmpfs", 0, "mode=755")
    for i, (mnt, _) in enumerate(hierarchies):
        target = "/sys/fs/cgroup/" + os.path.basename(mnt)
        os.mkdir(target)
        _mount(f"{staging}/{i}", target, None, MS_MOVE)


class NamespaceHelper:
    """A child process in the private cgroup view that runs timed commands for us.

    It ignores Ctrl-C (the parent decides when it stops) and, when the parent closes the
    request pipe, calls `at_exit` inside the view before it exits: crun can only clean up
    its containers from there.
    """

    def __init__(self, staging, at_exit=None):
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self._req_w)
            os.close(self._resp_r)
            self._serve(staging, req_r, resp_w, at_exit)
        os.close(req_r)
        os.close(resp_w)
        self._req = os.fdopen(self._req_w, "w")
        self._resp = os.fdopen(self._resp_r, "r")
        ready = json.loads(self._resp.readline() or '{"error": "helper died"}')
        if "error" in ready:
            self.stop()
            raise OSError(ready["error"])

    @staticmethod
    def _serve(staging, req_r, resp_w, at_exit):
        # A handler, not SIG_IGN, so the commands it starts still get the default action.
        signal.signal(signal.SIGINT, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: None)
        code = 0
        try:
            req, resp = os.fdopen(req_r, "r"), os.fdopen(resp_w, "w")
            try:
                _private_cgroup_view(staging)
                resp.write("{}\n")
            except OSError as e:
                resp.write(json.dumps({"error": f"private cgroup view: {e}"}) + "\n")
                resp.flush()
                os._exit(1)
            resp.flush()
            for line in req:  # one JSON request per line until the parent closes the pipe
                r = json.loads(line)
                with open_append(r["stderr"]) as err:
                    res = timed_run(r["argv"], r["timeout"], stderr=err)
                resp.write(json.dumps(res.__dict__) + "\n")
                resp.flush()
        except BrokenPipeError:
            pass  # the parent stopped waiting for an answer: it is shutting down
        except BaseException as e:  # never fall back into the parent's code after fork
            print(f"bench: namespace helper: {e}", file=sys.stderr)
            code = 1
        try:
            if at_exit:
                at_exit()
        except BaseException as e:
            print(f"bench: namespace helper: cleanup: {e}", file=sys.stderr)
            code = 1
        os._exit(code)

    def run(self, argv, timeout, stderr_path):
        self._req.write(json.dumps({"argv": argv, "timeout": timeout,
                                    "stderr": stderr_path}) + "\n")
        self._req.flush()
        line = self._resp.readline()
        if not line:
            raise OSError("namespace helper died")
        return RunResult(**json.loads(line))

    def stop(self):
        """Closes the request pipe and waits for the helper (and its at_exit) to finish."""
        if self.pid:
            for f in (self._req, self._resp):
                try:
                    f.close()
                except OSError:
                    pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass  # it died early and reap_orphans() took its status
            self.pid = 0
