"""The attack suite again, each probe as pid 1's program of an OCI container made with the
runc command line (`create`, `start`, `delete`), as podman and containerd make them.

The probes run under the same attack policy (given with --policy, the ceiling of the OCI
commands); their denials must be in the container's signed audit record, which `delete`
writes, and the host must show no trace of them; a host descriptor open in `create` (as
the containerd shim leaks one) must not reach them. This test is a child subreaper like conmon
and the containerd shim, so the container's pid 1 reparents to it and is reaped here.
Skipped (77) when not root.
"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.environ.get("HIVE_SOURCE_ROOT", ""), "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hive_test  # noqa: E402
import test_attacks as suite  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
# The host descriptor the probes look for is open as fd 3 of `create` without --preserve-fds,
# as the containerd shim leaks one into create: it must not reach the container.
LEAKED_FD = 3


def config(rootfs, work, args):
    return {
        "ociVersion": "1.0.2",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
                    "env": ["PATH=/usr/bin:/bin"], "cwd": "/", "noNewPrivileges": True},
        "root": {"path": rootfs, "readonly": True},
        "hostname": "hive",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": work, "type": "bind", "source": work, "options": ["rbind", "rw"]},
        ],
        "linux": {"namespaces": [{"type": t} for t in
                                 ("pid", "network", "ipc", "uts", "mount", "cgroup", "user")]},
    }


class ContainerAttackSuite(suite.AttackSuite):
    """Each probe of the suite, in a container; the checks are the suite's own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.oci = tempfile.mkdtemp(prefix="hive-attack-oci-")
        cls.rootfs = os.path.join(cls.oci, "rootfs")
        for d in ("proc", "dev", "tmp", "etc", "usr/bin"):
            os.makedirs(os.path.join(cls.rootfs, d))
        shutil.copy(suite.ATTACK, os.path.join(cls.rootfs, "attack"))
        os.chmod(os.path.join(cls.rootfs, "attack"), 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.oci, ignore_errors=True)
        super().tearDownClass()

    def hive(self, root, *args, wrap=(), stdout=None):
        """Runs hive-run with output to files, not pipes: the container inherits the stdio of
        `create` and would hold a pipe open for as long as it runs."""
        env = dict(os.environ, HIVE_RUN_STATE_DIR=self.state_dir)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            r = subprocess.run([*wrap, hive_test.HIVE_RUN, "--root", root, *args], env=env,
                               text=True, timeout=120, stdin=subprocess.DEVNULL,
                               stdout=stdout or out, stderr=err)
            out.seek(0)
            err.seek(0)
            r.stdout, r.stderr = out.read(), err.read()
        return r

    def run_probe(self, name):
        work = self.make_work()
        policy = self.path("policy.yml")
        suite.attack_policy(policy, work)
        root = self.path("oci-root")
        bundle = self.path("bundle-" + name)
        os.makedirs(bundle)
        args = ["/attack", name] + self.host.args(work)
        args[args.index("--fd") + 1] = str(LEAKED_FD)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(config(self.rootfs, work, args), f)
        cid = "attack-" + name
        pid_file = os.path.join(bundle, "pid")
        out_path = os.path.join(bundle, "out")
        # The container's stdout is a file: a pipe would stay open as long as it runs.
        with open(out_path, "w") as out:
            made = self.hive(root, "--policy", policy, "create", "--bundle", bundle,
                             "--pid-file", pid_file, cid, stdout=out,
                             wrap=["sh", "-c", f'exec "$@" {LEAKED_FD}<"$0"',
                                   self.host.secret])
        stderr = made.stderr
        status = None
        if made.returncode == 0:
            with open(pid_file) as f:
                pid = int(f.read())
            started = self.hive(root, "start", cid)
            stderr += started.stderr
            status = self.reap(pid, root, cid)
        deleted = self.hive(root, "delete", "--force", cid)
        stderr += deleted.stderr
        with open(out_path) as f:
            stdout = f.read()
        rc = os.waitstatus_to_exitcode(status) if status is not None else made.returncode
        r = subprocess.CompletedProcess(args, rc, stdout, stderr)
        lines = [line for line in stdout.splitlines() if line.startswith('{"probe"')]
        result = json.loads(lines[0]) if lines else None
        runs = [x for x in self.audit_records(cid) if x.get("event") == "run"]
        # The container's record holds what a run report holds: its violations.
        data = runs[-1] if len(runs) == 1 and deleted.returncode == 0 else None
        self.assertFalse(os.path.exists(os.path.join(root, cid)), "state left after delete")
        return r, result, data, work

    def reap(self, pid, root, cid, seconds=60):
        """pid 1's wait status; a probe still running after `seconds` is killed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return status
            time.sleep(0.02)
        self.hive(root, "kill", cid, "KILL")
        return os.waitpid(pid, 0)[1]

    def audit_records(self, cid):
        path = os.path.join(self.state_dir, "audit.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [x for x in map(json.loads, filter(str.strip, f)) if x.get("run_id") == cid]

    def test_record_verifies(self):
        self.run_probe("noop")
        v = subprocess.run([hive_test.HIVE_RUN, "--state-dir", self.state_dir, "audit", "verify"],
                           capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: the attack suite needs root")
        sys.exit(hive_test.SKIP)
    if not suite.ATTACK or not os.path.exists(suite.ATTACK):
        print("HIVE_ATTACK is not set to the built attack program")
        sys.exit(1)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("skipped: cannot become a child subreaper")
        sys.exit(hive_test.SKIP)
    suite.add_probe_tests()
    # The probes are added to the suite's class; this class inherits them.
    for name in dir(suite.AttackSuite):
        if name.startswith("test_"):
            setattr(ContainerAttackSuite, name, getattr(suite.AttackSuite, name))
    loader = unittest.TestLoader()
    tests = loader.loadTestsFromTestCase(ContainerAttackSuite)
    result = unittest.TextTestRunner(verbosity=2).run(tests)
    sys.exit(0 if result.wasSuccessful() else 1)
