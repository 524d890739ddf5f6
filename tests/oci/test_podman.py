"""podman 4.3 driving hive-run (`--runtime`, as containers.conf runtime `hive` with
runtime_supports_json): run --rm, exit codes as podman maps them, a seccomp denial in the
container's signed audit record, a config.json field refused by name, `podman update`.

podman's default container (a writable root, 14 capabilities, 2048 pids, 4096 open files)
runs under hive-run's built-in container ceiling as it is (the test_plain_* cases). The other
runs use the scripts' stricter defaults as a policy given with --runtime-flag, so they ask for
what it allows (WITHIN_POLICY), and that policy lets the engine's per-container files (hosts,
hostname, .containerenv, shm) be bound writable: they live under podman's directory.

Exit 77 when not root or when a Debian package is missing.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import syspython  # noqa: E402

_MISSING_PYTHON = syspython.reexec_if_missing()

import harness  # noqa: E402
import image  # noqa: E402
import podman  # noqa: E402
from harness import timed  # noqa: E402

RUNTIME = os.environ.get("HIVE_RUN") or os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build", "hive-run")
SESSION = harness.Session()
# What hive-run's built-in policy allows of a podman container.
WITHIN_POLICY = ("--read-only", "--read-only-tmpfs=false", "--cap-drop", "all", "--security-opt", "no-new-privileges",
                 "--pids-limit", "64", "--ulimit", "nofile=256:256", "--ulimit", "nproc=64:64")


def setUpModule():
    SESSION.start()


def tearDownModule():
    SESSION.finish()


class Podman(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = tempfile.mkdtemp(prefix="hive-state-", dir=SESSION.tmp)
        # podman never passes --root: containers live under hive-run's default root.
        cls.oci_root = "/run/hive-run"
        cls.pm = podman.Podman(SESSION.tmp, RUNTIME)
        cls.pm.start()
        cls.cids = set()
        cls.policy = os.path.join(SESSION.tmp, "policy.yml")
        with open(cls.policy, "w") as f:
            f.write("security:\n  filesystem:\n    allowed_paths: [\"%s\"]\n" % cls.pm.dir)
        with timed("podman import busybox"):
            cls.pm.import_image(SESSION.images.busybox_layer, image.BUSYBOX)

    @classmethod
    def tearDownClass(cls):
        with timed("podman stop + cleanup"):
            cls.pm.stop()
        harness.assert_fixture_gone(cls.pm)

    def setUp(self):
        harness.watch_tidy(self, self.pm)

    def run_hive(self, *args):
        return self.podman_run(("--runtime-flag", f"policy={self.policy}"),
                               (*WITHIN_POLICY, *args))

    def podman_run(self, runtime_flags, args):
        """`podman run ARGS` with hive-run given `runtime_flags` and the state dir (conmon does
        not pass the environment on: the audit log's directory is a flag); the result and the
        container's id."""
        cidfile = tempfile.mktemp(dir=SESSION.tmp)
        r = self.pm.podman(*runtime_flags, "--runtime-flag", f"state-dir={self.state}",
                           "run", "--cidfile", cidfile, "--cgroup-parent", self.pm.cgroup_parent,
                           "--network", "none", *args)
        cid = None
        if os.path.exists(cidfile):
            with open(cidfile) as f:
                cid = f.read().strip()
            self.cids.add(cid)
            os.unlink(cidfile)
        return r, cid

    def left(self):
        """This podman's containers still recorded under hive-run's root."""
        ours = set(self.pm.podman("ps", "-aq", "--no-trunc").stdout.split()) | self.cids
        return [c for c in (os.listdir(self.oci_root) if os.path.isdir(self.oci_root) else [])
                if c in ours]

    def records(self, cid):
        path = os.path.join(self.state, "audit.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [x for x in map(json.loads, f) if x.get("run_id") == cid]

    def assert_one_verified_run(self, r, cid):
        """`echo hi` printed hi, nothing is left, and the container has one run record in a
        log that verifies."""
        self.assertEqual((r.returncode, r.stdout), (0, "hi\n"), r.stderr)
        self.assertFalse(self.left())
        runs = [x for x in self.records(cid) if x.get("event") == "run"]
        self.assertEqual(len(runs), 1, self.records(cid))
        self.assertEqual(runs[0].get("exit_code"), 0)
        v = subprocess.run([RUNTIME, "audit", "verify", "--log",
                            os.path.join(self.state, "audit.log")],
                           env=dict(os.environ, HIVE_RUN_STATE_DIR=self.state),
                           capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_run_rm_echo(self):
        with timed("podman run --rm echo hi (hive-run)"):
            r, cid = self.run_hive("--rm", image.BUSYBOX, "echo", "hi")
        self.assert_one_verified_run(r, cid)

    def test_exit_codes(self):
        for args, want in ((["sh", "-c", "exit 3"], 3), (["/nonexistent"], 127),
                           (["nonexistent"], 127), (["/etc/passwd"], 126)):
            r, _ = self.run_hive("--rm", image.BUSYBOX, *args)
            self.assertEqual(r.returncode, want, (args, r.stderr))
        self.assertEqual(self.pm.podman("ps", "-aq").stdout, "")
        self.assertFalse(self.left())

    def test_seccomp_denial_in_audit_record(self):
        # With podman's own profile off, hive-run's default profile is the only filter: its
        # denial of unshare is answered EPERM and recorded.
        r, cid = self.run_hive("--rm", "--security-opt", "seccomp=unconfined", image.BUSYBOX,
                               "sh", "-c", "unshare -n true; echo rc=$?")
        self.assertEqual((r.returncode, r.stdout), (0, "rc=1\n"), r.stderr)
        runs = [x for x in self.records(cid) if x.get("event") == "run"]
        self.assertEqual(len(runs), 1)
        self.assertIn("unshare", json.dumps(runs[0].get("violations")))

    def test_podman_seccomp_profile_honoured(self):
        # podman's default profile (in config.json) is compiled and installed beneath
        # hive-run's: the container runs, and what both deny stays denied.
        r, _ = self.run_hive("--rm", image.BUSYBOX, "sh", "-c", "unshare -n true; echo rc=$?")
        self.assertEqual((r.returncode, r.stdout), (0, "rc=1\n"), r.stderr)

    def test_run_detached_exec_stop(self):
        # conmon drives `exec --process FILE --detach --pid-file F ID` and reaps the process
        # itself: its output and exit code come back through podman. With podman's profile off,
        # hive-run's is the only filter, and the exec'd process's denial is recorded.
        r, cid = self.run_hive("-d", "--security-opt", "seccomp=unconfined", image.BUSYBOX,
                               "sleep", "300")
        self.assertEqual(r.returncode, 0, r.stderr)
        flags = ("--runtime-flag", f"policy={self.policy}",
                 "--runtime-flag", f"state-dir={self.state}")
        self.addCleanup(self.pm.podman, *flags, "rm", "-f", "-t", "0", cid)
        with timed("podman exec (hive-run)"):
            r = self.pm.podman(*flags, "exec", cid, "sh", "-c",
                               "echo hi from $(hostname); ps -o args | grep -xc 'sleep 300'; "
                               "exit 6")
        self.assertEqual(r.returncode, 6, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("hi from "), r.stdout)
        self.assertEqual(lines[1], "1")  # the container's payload, in its pid namespace
        r = self.pm.podman(*flags, "exec", cid, "/nonexistent")
        self.assertEqual(r.returncode, 127, r.stderr)
        r = self.pm.podman(*flags, "exec", cid, "sh", "-c", "unshare -n true; echo rc=$?")
        self.assertEqual((r.returncode, r.stdout), (0, "rc=1\n"), r.stderr)
        r = self.pm.podman(*flags, "stop", "-t", "2", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.pm.podman(*flags, "rm", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(self.left())
        runs = [x for x in self.records(cid) if x.get("event") == "run"]
        self.assertEqual(len(runs), 1, self.records(cid))
        self.assertIn("unshare", json.dumps(runs[0].get("violations")))

    def run_plain(self, *args):
        """`podman run` with podman's default container: no flags to fit a policy; hive-run's
        built-in container ceiling (profiles/container.yml) applies. Only the state dir (where
        the audit log is) is passed."""
        return self.podman_run((), args)

    def test_plain_run_rm_echo(self):
        with timed("podman run --rm echo hi (hive-run, podman's defaults)"):
            r, cid = self.run_plain("--rm", image.BUSYBOX, "echo", "hi")
        self.assert_one_verified_run(r, cid)

    def test_plain_run_writable_root_is_the_containers(self):
        # The image's files (host root's on disk) are the container root's; what it writes
        # lands in podman's upper layer as hive-run's host range, never as host root.
        r, cid = self.run_plain("--name", "wr-" + os.urandom(4).hex(), image.BUSYBOX, "sh", "-c",
                                "echo x > /etc/x && cat /etc/x && id -u && "
                                "stat -c %u /bin/busybox && stat -c %u:%g /etc/x")
        self.assertEqual((r.returncode, r.stdout), (0, "x\n0\n0\n0:0\n"), r.stderr)
        upper = json.loads(self.pm.check("inspect", cid).stdout)[0]["GraphDriver"]["Data"][
            "UpperDir"]
        st = os.stat(os.path.join(upper, "etc", "x"))
        self.assertEqual((st.st_uid, st.st_gid), (0x70000000, 0x70000000))
        with open(os.path.join(upper, "etc", "x")) as f:
            self.assertEqual(f.read(), "x\n")
        self.pm.check("rm", "-f", cid)
        self.assertFalse(self.left())

    def test_plain_run_sees_its_own_cgroup(self):
        # podman's /sys/fs/cgroup mount (type cgroup, ro) is the container's own cgroup view:
        # its limits, read-only, "/" in /proc/self/cgroup.
        script = ("cd /sys/fs/cgroup && if [ -e cgroup.controllers ]; then cat memory.max "
                  "pids.max; else cat memory/memory.limit_in_bytes pids/pids.max; fi && "
                  "grep -vc ':/$' /proc/self/cgroup; touch x 2>&1")
        r, _ = self.run_plain("--rm", "--memory", "64m", "--memory-swap", "64m",
                              "--pids-limit", "50", image.BUSYBOX, "sh", "-c", script)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[:3], [str(64 << 20), "50", "0"], r.stdout + r.stderr)
        self.assertIn("Read-only file system", r.stdout)
        self.assertFalse(self.left())

    def test_refused_field_named(self):
        r, _ = self.run_hive("--rm", "--device", "/dev/fuse", image.BUSYBOX, "true")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("linux.devices", r.stderr)
        self.assertFalse(self.left())

    def test_update_memory_within_policy(self):
        # `podman update` writes the LinuxResources to a file: `update --resources=FILE ID`.
        r, cid = self.run_hive("-d", image.BUSYBOX, "sleep", "100")
        self.assertEqual(r.returncode, 0, r.stderr)
        try:
            u = self.pm.podman("update", "--memory", "32m", "--memory-swap", "32m", cid)
            self.assertEqual(u.returncode, 0, u.stderr)
            with open(os.path.join(self.oci_root, cid, "state.json")) as f:
                dirs = json.load(f)["cgroup_dirs"]
            limits = []
            for d in dirs:
                for name in ("memory.limit_in_bytes", "memory.max"):
                    if os.path.exists(os.path.join(d, name)):
                        with open(os.path.join(d, name)) as f:
                            limits.append(f.read().strip())
            self.assertEqual(limits, [str(32 << 20)])
            # podman's default swap is twice the memory: refused (swap stays off), named.
            u = self.pm.podman("update", "--memory", "48m", cid)
            self.assertNotEqual(u.returncode, 0)
            self.assertIn("linux.resources.memory.swap", u.stderr)
            # Above the built-in policy's 512 MiB: refused, both values named.
            u = self.pm.podman("update", "--memory", "1g", "--memory-swap", "1g", cid)
            self.assertNotEqual(u.returncode, 0)
            self.assertIn("linux.resources.memory.limit", u.stderr)
            self.assertIn("memory_mb = 512", u.stderr)
        finally:
            self.pm.podman("rm", "-f", "-t", "0", cid)
        self.assertFalse(self.left())

    def test_run_tty_through_console_socket(self):
        # run -t: conmon listens on a console socket and reads the pty's master from it; the
        # container's stdio is the slave, /dev/pts/0 of its own devpts.
        with timed("podman run -t --rm tty (hive-run)"):
            r, cid = self.run_hive("-t", "--rm", image.BUSYBOX, "sh", "-c",
                                   "tty; test -t 0 && test -t 1 && echo is-a-tty")
        lines = r.stdout.replace("\r", "").split("\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("/dev/pts/0", lines, r.stdout)
        self.assertIn("is-a-tty", lines, r.stdout)
        self.assertEqual(self.pm.podman("ps", "-aq").stdout, "")
        self.assertFalse(self.left())

    def test_exec_tty_through_console_socket(self):
        # exec -t: conmon sends `exec --tty --console-socket S --process F --detach`; the exec'd
        # process gets a pty of the container's own devpts, whose master conmon reads from S.
        r, cid = self.run_hive("-d", image.BUSYBOX, "sleep", "300")
        self.assertEqual(r.returncode, 0, r.stderr)
        flags = ("--runtime-flag", f"policy={self.policy}",
                 "--runtime-flag", f"state-dir={self.state}")
        self.addCleanup(self.pm.podman, *flags, "rm", "-f", "-t", "0", cid)
        with timed("podman exec -t (hive-run)"):
            r = self.pm.podman(*flags, "exec", "-t", cid, "sh", "-c",
                               "tty; test -t 0 && test -t 1 && echo is-a-tty; exit 4")
        lines = r.stdout.replace("\r", "").split("\n")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("is-a-tty", lines, r.stdout)
        self.assertTrue(any(l.startswith("/dev/pts/") for l in lines), r.stdout)
        r = self.pm.podman(*flags, "rm", "-f", "-t", "0", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(self.left())


if __name__ == "__main__":
    harness.main(RUNTIME, _MISSING_PYTHON)
