"""OCI hooks (config.json `hooks`), run by hive-run's create, start and delete at the moments the
runtime-spec gives them, with the container's state on stdin.

Each hook here is a shell script that appends "<kind> <status> <id> <pid> <hostname>" read from
its stdin: the runtime-namespace kinds write a file on the host, the in-container kinds
(createContainer, startContainer) write the container's own /tmp, which its program prints.
Like test_lifecycle.py, this test is a child subreaper, so pid 1 of a container reparents to it.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import image  # noqa: E402
import oci_case  # noqa: E402
from oci_case import HIVE_RUN  # noqa: E402

# Reads the state from stdin and appends one line to $LOG ("<kind> <status> <id> <pid> <host>").
HOOK = r"""#!/bin/sh
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
id=$(echo "$state" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
pid=$(echo "$state" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
echo "$1 $status $id $pid $(hostname) $(id -u)" >> "$LOG"
"""


def setUpModule():
    rootfs = oci_case.setUpModule("hive-oci-hooks-rootfs-")
    # startContainer hooks resolve their path in the container: the script lives in the image.
    with open(os.path.join(rootfs, "hook.sh"), "w") as f:
        f.write(HOOK)
    os.chmod(os.path.join(rootfs, "hook.sh"), 0o755)


tearDownModule = oci_case.tearDownModule


class Hooks(oci_case.OciCase):
    tmp_prefix = "hive-oci-hooks-"
    tmp_mode = 0o755
    hive_timeout = 120

    def setUp(self):
        super().setUp()
        self.policy = os.path.join(self.tmp, "hooks.yml")
        with open(self.policy, "w") as f:
            f.write("security:\n  process:\n    allow_oci_hooks: true\n")
        self.hook = os.path.join(self.tmp, "hook.sh")
        with open(self.hook, "w") as f:
            f.write(HOOK)
        os.chmod(self.hook, 0o755)
        self.log = os.path.join(self.tmp, "hooks.log")

    def hive_env(self):
        env = super().hive_env()
        env.pop("HIVE_RUN_POLICY", None)
        return env

    def hive(self, *args, policy=True, **kw):
        pol = ["--policy", self.policy] if policy is True else (
            ["--policy", policy] if policy else [])
        return super().hive(*pol, *args, **kw)

    def host_hook(self, kind, **extra):
        h = {"path": self.hook, "args": ["hook.sh", kind],
             "env": [image.DEFAULT_PATH, "LOG=" + self.log]}
        h.update(extra)
        return h

    def bundle(self, args, hooks):
        return super().bundle(args, hooks=hooks)

    def create(self, cid, bundle, out=None, **kw):
        pid_file = os.path.join(self.tmp, cid + ".pid")
        self.ids.append(cid)
        with open(out or os.devnull, "w") as o:
            r = self.hive("create", "--bundle", bundle, "--pid-file", pid_file, cid, stdout=o,
                          **kw)
        pid = None
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                pid = int(f.read())
        return r, pid

    def log_lines(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [l.split() for l in f.read().splitlines()]

    def test_each_kind_at_its_moment_with_the_state(self):
        host = os.uname().nodename
        in_ct = lambda kind, path: {"path": path, "args": ["hook.sh", kind],  # noqa: E731
                                    "env": [image.DEFAULT_PATH, "LOG=/tmp/hooks.log"]}
        hooks = {
            "prestart": [self.host_hook("prestart")],
            "createRuntime": [self.host_hook("createRuntime")],
            # Resolved on the host, run in the container (its hostname, its root).
            "createContainer": [in_ct("createContainer", self.hook)],
            # Resolved and run in the container.
            "startContainer": [in_ct("startContainer", "/hook.sh")],
            "poststart": [self.host_hook("poststart")],
            "poststop": [self.host_hook("poststop")],
        }
        out = os.path.join(self.tmp, "out")
        b = self.bundle(["sh", "-c", "cat /tmp/hooks.log; echo program ran"], hooks)
        r, pid = self.create("h1", b, out=out)
        self.assertEqual(r.returncode, 0, r.stderr)
        # create ran prestart then createRuntime, in the runtime's namespaces, as host root,
        # with the container's id and pid 1.
        self.assertEqual(self.log_lines(), [
            ["prestart", "creating", "h1", str(pid), host, "0"],
            ["createRuntime", "creating", "h1", str(pid), host, "0"]])
        with open(out) as f:
            self.assertEqual(f.read(), "", "the program ran before start")
        r = self.hive("start", "h1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.wait(pid), 0)
        with open(out) as f:
            lines = [l.split() for l in f.read().splitlines()]
        # In the container: its hostname and its root (uid 0 there, an unprivileged uid on the
        # host), before the program.
        self.assertEqual(lines, [
            ["createContainer", "creating", "h1", str(pid), "hive", "0"],
            ["startContainer", "created", "h1", str(pid), "hive", "0"],
            ["program", "ran"]])
        self.assertEqual(self.log_lines()[2], ["poststart", "running", "h1", str(pid), host, "0"])
        self.assertEqual(len(self.log_lines()), 3)
        r = self.hive("delete", "h1")
        self.assertEqual(r.returncode, 0, r.stderr)
        # poststop: after the container is gone (pid 0 in the state).
        self.assertEqual(self.log_lines()[3], ["poststop", "stopped", "h1", "0", host, "0"])

    def test_failing_prestart_fails_create_and_leaves_nothing(self):
        hooks = {"prestart": [{"path": "/bin/sh",
                               "args": ["sh", "-c", "echo boom-from-hook >&2; exit 3"]}],
                 "createRuntime": [self.host_hook("createRuntime")]}
        r, pid = self.create("h2", self.bundle(["true"], hooks))
        self.assertEqual(r.returncode, 1)
        self.assertIn("hooks.prestart[0]", r.stderr)
        self.assertIn("exited with status 3", r.stderr)
        self.assertIn("boom-from-hook", r.stderr)
        self.assertIsNone(pid, "pid file written for a failed create")
        self.assertFalse(os.path.exists(os.path.join(self.root, "h2")))
        self.assertEqual(self.log_lines(), [], "a later hook ran after a failure")
        self.assertEqual(self.hive("state", "h2").returncode, 1)

    def test_timeout_kills_the_hook(self):
        marker = "31.123"  # a sleep of ours, found by its argument
        hooks = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", marker],
                                    "timeout": 1}]}
        t0 = time.monotonic()
        r, pid = self.create("h3", self.bundle(["true"], hooks))
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 1)
        self.assertIn("hooks.createRuntime[0]", r.stderr)
        self.assertIn("timeout of 1s", r.stderr)
        self.assertLess(took, 10)
        self.assertFalse(os.path.exists(os.path.join(self.root, "h3")))
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    self.assertNotIn(marker.encode(), f.read(), "the hook survived its timeout")
            except OSError:
                pass

    def test_policy_without_hooks_refuses_them(self):
        strict = os.path.join(self.tmp, "strict.yml")
        with open(strict, "w") as f:
            f.write("security:\n  process:\n    capabilities: []\n")
        hooks = {"poststop": [self.host_hook("poststop")]}
        self.ids.append("h4")
        r = self.hive("create", "--bundle", self.bundle(["true"], hooks), "h4", policy=strict)
        self.assertEqual(r.returncode, 1)
        self.assertIn("hooks.poststop[0]", r.stderr)
        self.assertIn("allow_oci_hooks", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "h4")))
        self.assertEqual(self.log_lines(), [])
        # The policy says it: `policy show` renders the key once it is set.
        r = subprocess.run([HIVE_RUN, "policy", "show", self.policy], capture_output=True,
                           text=True)
        self.assertIn("allow_oci_hooks: true", r.stdout, r.stderr)

    def test_failing_start_container_hook_fails_start(self):
        out = os.path.join(self.tmp, "out")
        hooks = {"startContainer": [{"path": "/bin/sh",
                                     "args": ["sh", "-c", "echo no-start >&2; exit 5"]}]}
        r, pid = self.create("h5", self.bundle(["sh", "-c", "echo program ran"], hooks), out=out)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.hive("start", "h5")
        self.assertEqual(r.returncode, 1)
        self.assertIn("hooks.startContainer[0]", r.stderr)
        self.assertIn("exited with status 5", r.stderr)
        self.assertIn("no-start", r.stderr)
        self.assertEqual(self.wait(pid), -9)
        with open(out) as f:
            self.assertEqual(f.read(), "", "the program ran although its hook failed")
        self.assertEqual(json.loads(self.hive("state", "h5").stdout)["status"], "stopped")

    def test_failing_poststart_and_poststop_only_warn(self):
        fail = {"path": "/bin/sh", "args": ["sh", "-c", "echo hook-said-no >&2; exit 4"]}
        hooks = {"poststart": [fail, self.host_hook("poststart")],
                 "poststop": [fail, self.host_hook("poststop")]}
        r, pid = self.create("h6", self.bundle(["true"], hooks))
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.hive("start", "h6")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("hooks.poststart[0]", r.stderr)
        self.assertIn("hook-said-no", r.stderr)
        self.assertEqual(self.wait(pid), 0)
        r = self.hive("delete", "h6")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("hooks.poststop[0]", r.stderr)
        # The hooks after the failing one still ran.
        self.assertEqual([l[0] for l in self.log_lines()], ["poststart", "poststop"])


if __name__ == "__main__":
    oci_case.main()
