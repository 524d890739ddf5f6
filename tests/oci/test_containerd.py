"""containerd 1.6's `ctr run --runc-binary build/hive-run`: the runc v2 shim drives hive-run
with its own --root, --log log.json --log-format json, and reaps the container's pid 1.

ctr's default container asks for 14 capabilities, a writable root and 1024 open files; the
runs here drop the capabilities and ask for a read-only root, and the policy (given through
the environment, which the shim passes on) allows 1024 open files.

Exit 77 when not root or when a Debian package is missing.
"""
import json
import os
import pty
import select
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import syspython  # noqa: E402

_MISSING_PYTHON = syspython.reexec_if_missing()

import containerd  # noqa: E402
import harness  # noqa: E402
import image  # noqa: E402
from harness import timed  # noqa: E402

RUNTIME = os.environ.get("HIVE_RUN") or os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build", "hive-run")
SESSION = harness.Session()
CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
WITHIN_POLICY = ("--read-only",) + tuple(x for c in CAPS for x in ("--cap-drop", c))


def setUpModule():
    SESSION.start()


def tearDownModule():
    SESSION.finish()


class Ctr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = tempfile.mkdtemp(prefix="hive-state-", dir=SESSION.tmp)
        policy = os.path.join(SESSION.tmp, "ctr-policy.yml")
        with open(policy, "w") as f:
            f.write("security:\n  execution:\n    max_open_files: 1024\n")
        os.environ["HIVE_RUN_POLICY"] = policy
        os.environ["HIVE_RUN_STATE_DIR"] = cls.state
        with timed("containerd start + import busybox"):
            cls.cd = containerd.Containerd(SESSION.tmp, RUNTIME,
                                           images=[SESSION.images.busybox_archive])
            cls.cd.start()

    @classmethod
    def tearDownClass(cls):
        with timed("containerd stop + cleanup"):
            cls.cd.stop()
        harness.assert_fixture_gone(cls.cd)
        os.environ.pop("HIVE_RUN_POLICY", None)
        os.environ.pop("HIVE_RUN_STATE_DIR", None)

    def setUp(self):
        harness.watch_tidy(self, self.cd)

    def records(self, cid):
        path = os.path.join(self.state, "audit.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [x for x in map(json.loads, f) if x.get("run_id") == cid]

    def test_run_echo_and_audit(self):
        with timed("ctr run --rm echo hi (hive-run)"):
            r = self.cd.ctr_run(image.BUSYBOX, "hecho1", "echo", "hi", extra=WITHIN_POLICY)
        self.assertEqual((r.returncode, r.stdout), (0, "hi\n"), r.stderr)
        self.assertEqual(self.cd.ctr("containers", "ls", "-q").stdout, "")
        runs = [x for x in self.records("hecho1") if x.get("event") == "run"]
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0].get("exit_code"), 0)

    def test_exit_code_passes_through(self):
        r = self.cd.ctr_run(image.BUSYBOX, "hexit5", "sh", "-c", "exit 5", extra=WITHIN_POLICY)
        self.assertEqual(r.returncode, 5, r.stderr)

    def kill_and_delete(self, cid):
        r = self.cd.ctr_kill(cid, "SIGKILL")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.cd.wait_task_stopped(cid))
        r = self.cd.ctr_delete(cid)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_detached_kill_delete(self):
        self.addCleanup(self.cd.ctr_delete, "hdet1", force=True)
        r = self.cd.ctr_run(image.BUSYBOX, "hdet1", "sleep", "300", detach=True,
                            extra=WITHIN_POLICY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.kill_and_delete("hdet1")
        self.assertEqual(self.cd.ctr("containers", "ls", "-q").stdout, "")

    def test_task_exec_output_and_exit_code(self):
        # The shim drives `exec --process FILE --detach --pid-file F ID` and reaps the process.
        self.addCleanup(self.cd.ctr_delete, "hexec1", force=True)
        r = self.cd.ctr_run(image.BUSYBOX, "hexec1", "sleep", "300", detach=True,
                            extra=WITHIN_POLICY)
        self.assertEqual(r.returncode, 0, r.stderr)
        with timed("ctr task exec (hive-run)"):
            r = self.cd.ctr_exec("hexec1", "ex1", "sh", "-c",
                                 "echo hi from $(hostname); ps -o args | grep -xc 'sleep 300'; "
                                 "exit 4")
        self.assertEqual(r.returncode, 4, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("hi from "), r.stdout)
        self.assertEqual(lines[1], "1")  # the container's payload, in its pid namespace
        r = self.cd.ctr_exec("hexec1", "ex2", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.kill_and_delete("hexec1")

    def test_refusal_reaches_ctr(self):
        # A writable root is beyond the built-in policy: refused at create, and ctr says why.
        r = self.cd.ctr_run(image.BUSYBOX, "hrw1", "true",
                            extra=tuple(x for c in CAPS for x in ("--cap-drop", c)))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("root.readonly", r.stderr)
        self.cd.ctr_delete("hrw1", force=True)

    def test_run_tty_through_console_socket(self):
        # ctr run -t: the shim listens on a console socket and copies between the pty's master
        # and ctr, whose own stdio must be a terminal: a pty of this test's.
        master, slave = pty.openpty()
        cid = "htty1"
        self.addCleanup(self.cd.ctr_delete, cid, force=True)
        args = [containerd.CTR, "--address", self.cd.address, "--namespace", "default", "run",
                *self.cd.runtime_flags(), "--cgroup", f"{self.cd.cgroup_parent}/{cid}", "--rm",
                "-t", *WITHIN_POLICY, image.BUSYBOX, cid,
                "sh", "-c", "tty; test -t 0 && test -t 1 && echo is-a-tty"]
        with timed("ctr run -t --rm tty (hive-run)"):
            p = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave,
                                 env=self.cd._env(), start_new_session=True)
            os.close(slave)
            out = b""
            deadline = time.monotonic() + 60
            try:
                while time.monotonic() < deadline:
                    ready, _, _ = select.select([master], [], [], 0.5)
                    if ready:
                        try:
                            chunk = os.read(master, 4096)
                        except OSError:  # EIO: ctr and everything it started are gone
                            break
                        if not chunk:
                            break
                        out += chunk
                    elif p.poll() is not None:
                        break
                p.wait(timeout=30)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                os.close(master)
        text = out.decode(errors="replace").replace("\r", "")
        self.assertEqual(p.returncode, 0, text)
        self.assertIn("/dev/pts/0", text.split("\n"), text)
        self.assertIn("is-a-tty", text.split("\n"), text)
        self.assertEqual(self.cd.ctr("containers", "ls", "-q").stdout, "")


if __name__ == "__main__":
    harness.main(RUNTIME, _MISSING_PYTHON)
