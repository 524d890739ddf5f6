"""What the OCI command line tests (test_lifecycle.py, test_exec.py, test_namespaces.py,
test_hooks.py, test_update.py, test_terminal.py, test_rootfs.py) share: the module's busybox
rootfs, the config.json of a plain container, and OciCase, a test case with its own --root and
state directory per test that checks nothing is left after it (no state, no cgroup), and runs
hive-run with its output in files, not pipes.

main() runs a test module as these tests run: as root, as a child subreaper (as conmon and the
containerd shim are, so a container's pid 1 reparents to the test), exit 77 (SKIP) when it
cannot run here.
"""
import contextlib
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import image  # noqa: E402

HIVE_RUN = os.environ.get("HIVE_RUN") or os.path.join(
    os.path.dirname(os.path.dirname(HERE)), "build", "hive-run")
SKIP = 77
PR_SET_CHILD_SUBREAPER = 36

ROOTFS = None  # one busybox rootfs for the module: setUpModule() makes it
ROOTFS_DIR = None


def setUpModule(prefix="hive-oci-rootfs-"):
    """Makes the module's busybox rootfs; returns its path (also oci_case.ROOTFS)."""
    global ROOTFS_DIR, ROOTFS
    ROOTFS_DIR = tempfile.mkdtemp(prefix=prefix)
    ROOTFS = image.busybox_rootfs(os.path.join(ROOTFS_DIR, "rootfs"))
    return ROOTFS


def tearDownModule():
    shutil.rmtree(ROOTFS_DIR, ignore_errors=True)


@contextlib.contextmanager
def devnull_at(*fds):
    """/dev/null open (inheritable) at each of `fds` in this process while the block runs, as
    the extra descriptors a client starts hive-run with; closed afterwards."""
    extra = os.open(os.devnull, os.O_RDONLY)
    try:
        for fd in fds:
            os.dup2(extra, fd, inheritable=True)
        yield
    finally:
        os.close(extra)
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass


def bundle_config(args, **extra):
    config = {
        "ociVersion": "1.0.2",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
                    "env": [image.DEFAULT_PATH], "cwd": "/", "noNewPrivileges": True},
        "root": {"path": ROOTFS, "readonly": True},
        "hostname": "hive",
        "linux": {"namespaces": [{"type": t} for t in
                                 ("pid", "network", "ipc", "uts", "mount", "cgroup", "user")]},
    }
    config.update(extra)
    return config


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


class OciCase(unittest.TestCase):
    tmp_prefix = "hive-oci-"  # the per-test temporary directory
    tmp_mode = None           # its mode, when it must be other than mkdtemp's 0700
    check_cgroups = True      # whether tearDown asserts no hive-run-<id> cgroup is left
    hive_timeout = 60

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=self.tmp_prefix)
        if self.tmp_mode is not None:
            os.chmod(self.tmp, self.tmp_mode)
        self.root = os.path.join(self.tmp, "root")
        self.state = os.path.join(self.tmp, "state")
        self.ids = []

    def delete_all(self):
        for cid in self.ids:
            self.hive("delete", "--force", cid)

    def tearDown(self):
        self.delete_all()
        # Nothing left: state records, cgroups, processes of these containers.
        left = os.listdir(self.root) if os.path.isdir(self.root) else []
        cgroups = []
        if self.check_cgroups:
            for top, dirs, _ in os.walk("/sys/fs/cgroup"):
                cgroups += [os.path.join(top, d) for d in dirs
                            if any(d == "hive-run-" + cid for cid in self.ids)]
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(left, [], "state left under --root")
        if self.check_cgroups:
            self.assertEqual(cgroups, [], "cgroups left")

    def hive_env(self):
        return dict(os.environ, HIVE_RUN_STATE_DIR=self.state)

    def hive(self, *args, stdout=None, **kw):
        """Runs hive-run; its output goes to files, not pipes: a container inherits the
        stdio of `create`, and would hold a pipe open for as long as it runs."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            r = subprocess.run([HIVE_RUN, "--root", self.root, *args], env=self.hive_env(),
                               text=True, stdout=stdout if stdout is not None else out,
                               stderr=err, timeout=self.hive_timeout, **kw)
            out.seek(0)
            err.seek(0)
            r.stdout, r.stderr = out.read(), err.read()
        return r

    def bundle(self, args, **extra):
        return self.bundle_from(bundle_config(args, **extra))

    def bundle_from(self, config):
        """A new bundle directory with `config` as its config.json."""
        b = tempfile.mkdtemp(dir=self.tmp, prefix="bundle-")
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
        return b

    def run_output(self, cid, bundle):
        """`run` of `bundle` as `cid` (deleted at tearDown): the CompletedProcess and what the
        container wrote to its stdout."""
        self.ids.append(cid)
        out = os.path.join(self.tmp, cid + ".out")
        with open(out, "w") as o:
            r = self.hive("run", "--bundle", bundle, cid, stdout=o)
        with open(out) as f:
            return r, f.read()

    def create(self, cid, args, out=None, extra_args=(), config=None, **kw):
        """`create` of a bundle running `args`, or of `config` when given; the pid of its
        process."""
        b = self.bundle_from(config) if config is not None else self.bundle(args)
        pid_file = os.path.join(self.tmp, cid + ".pid")
        self.ids.append(cid)
        with open(out or os.devnull, "w") as o:
            r = self.hive("create", "--bundle", b, "--pid-file", pid_file, *extra_args, cid,
                          stdout=o, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            return int(f.read())

    def state_of(self, cid):
        r = self.hive("state", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def wait(self, pid):
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    def audit_records(self, cid):
        with open(os.path.join(self.state, "audit.log")) as f:
            records = [json.loads(l) for l in f if l.strip()]
        return [x for x in records if x.get("run_id") == cid]


def main(checks=()):
    """Runs the calling script's tests; exit 77 (SKIP) when they cannot run here. `checks`:
    more functions returning why not (a message) or None, tried before becoming a subreaper."""
    if os.geteuid() != 0:
        print("SKIP: needs root")
        sys.exit(SKIP)
    if not os.path.exists(image.BUSYBOX_BINARY):
        print("SKIP: missing Debian packages: apt-get install -y busybox-static")
        sys.exit(SKIP)
    if not os.access(HIVE_RUN, os.X_OK):
        print(f"SKIP: {HIVE_RUN} is not built")
        sys.exit(SKIP)
    for check in checks:
        why = check()
        if why:
            print(f"SKIP: {why}")
            sys.exit(SKIP)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("SKIP: cannot become a child subreaper")
        sys.exit(SKIP)
    result = unittest.main(module="__main__", verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
