"""The attack suite: every hostile probe in its own sandbox, under the attack policy.

Each probe (`attack list`) must be contained (it says so, and the host shows no trace of
it) and the denials it provokes must be in the run report's `violations`. A baseline run
(`attack noop`) must record nothing, so a violation cannot come from the sandbox's own
start-up. Skipped (77) when not root or when this build's `hive-run exec` cannot run
sandboxes yet.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ.get("HIVE_SOURCE_ROOT", ""), "tests", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import hive_test  # noqa: E402

ATTACK = os.environ.get("HIVE_ATTACK", "")
BLOCKED = ["delete", "chmod", "chown", "rename", "link", "mknod", "truncate", "xattr"]
# Probes that may legitimately record nothing, and why; the probe must say so itself.
UNRECORDABLE = {"i386-syscall": "unrecordable:"}
VICTIM = "precious"


def probes():
    out = subprocess.run([ATTACK, "list"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def recorded(violations, expected):
    """A violation detail matches `expected` exactly, or is `expected (note)`."""
    return any(v["detail"] == expected or v["detail"].startswith(expected + " (")
               for v in violations)


def attack_policy(path, work):
    with open(path, "w") as f:
        f.write("security:\n"
                "  filesystem:\n"
                f"    allowed_paths: [\"{work}\"]\n"
                f"    blocked_operations: [{', '.join(BLOCKED)}]\n"
                "  network:\n"
                "    allowed_domains: []\n"
                "  process:\n"
                "    seccomp_profile: default\n")


class Host:
    """What the probes aim at on the host: a process, a TCP listener, an abstract socket, a
    secret file, an inherited descriptor and an environment variable."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hive-attack-host-")
        self.secret = os.path.join(self.dir, "secret")
        self.token = "hive-attack-token-" + os.urandom(6).hex()
        with open(self.secret, "w") as f:
            f.write(self.token)
        self.sleeper = subprocess.Popen(["sleep", "3600"])
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(4)
        self.port = self.tcp.getsockname()[1]
        self.abstract = f"hive-attack-{os.getpid()}"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.abstract)
        self.unix.listen(4)
        self.fd = os.open(self.secret, os.O_RDONLY)
        os.set_inheritable(self.fd, True)

    def args(self, work):
        return ["--dir", work, "--pid", str(self.sleeper.pid), "--port", str(self.port),
                "--abstract", self.abstract, "--secret", self.secret, "--fd", str(self.fd),
                "--token", self.token]

    def intact(self):
        """Problems the host shows, or []."""
        problems = []
        if self.sleeper.poll() is not None:
            problems.append("the host's sleeper process died")
        with open(f"/proc/{self.sleeper.pid}/status") as f:
            if any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f):
                problems.append("the host's sleeper is being traced")
        for d in ("/etc", "/usr/bin", "/"):
            problems += [os.path.join(d, n) + " created" for n in os.listdir(d)
                         if n.startswith("hive-attack-")]
        return problems

    def close(self):
        self.sleeper.kill()
        self.sleeper.wait()
        self.tcp.close()
        self.unix.close()
        os.close(self.fd)
        shutil.rmtree(self.dir, ignore_errors=True)


class AttackSuite(hive_test.SandboxTestCase):
    host = None

    @classmethod
    def setUpClass(cls):
        cls.host = Host()

    @classmethod
    def tearDownClass(cls):
        cls.host.close()

    def make_work(self):
        work = self.path("work")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(os.path.join(work, "victim-dir"))
        for name, text in (("victim", VICTIM), ("decoy", "decoy")):
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
            os.chmod(os.path.join(work, name), 0o644)
        os.chmod(work, 0o755)
        return work

    def victims_intact(self, work):
        problems = []
        victim = os.path.join(work, "victim")
        if not os.path.isfile(victim):
            return ["victim is gone"]
        with open(victim) as f:
            if f.read() != VICTIM:
                problems.append("victim's content changed")
        st = os.stat(victim)
        if st.st_mode & 0o777 != 0o644:
            problems.append(f"victim's mode is {st.st_mode & 0o777:o}")
        if st.st_uid != os.getuid():
            problems.append(f"victim's owner is {st.st_uid}")
        if st.st_nlink != 1:
            problems.append("victim has another link")
        try:
            os.getxattr(victim, "user.hive")
            problems.append("victim has user.hive")
        except OSError:
            pass
        if not os.path.isdir(os.path.join(work, "victim-dir")):
            problems.append("victim-dir is gone")
        if not os.path.isfile(os.path.join(work, "decoy")):
            problems.append("decoy was moved")
        for extra in ("renamed", "hardlink", "fifo", "moved"):
            if os.path.lexists(os.path.join(work, extra)):
                problems.append(extra + " was created")
        return problems

    def run_probe(self, name):
        work = self.make_work()
        policy = self.path("policy.yml")
        attack_policy(policy, work)
        report = self.path("report.json")
        if os.path.exists(report):
            os.unlink(report)
        cmd = [hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--policy", policy,
               "--report", report, "--bind", f"{ATTACK}:/attack", "--",
               "/attack", name] + self.host.args(work)
        env = dict(os.environ, HIVE_ATTACK_SECRET=self.host.token)
        env.pop("HIVE_RUN_STATE_DIR", None)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                           pass_fds=(self.host.fd,))
        lines = [line for line in r.stdout.splitlines() if line.startswith('{"probe"')]
        result = json.loads(lines[0]) if lines else None
        data = None
        if os.path.exists(report):
            with open(report) as f:
                data = json.load(f)
        return r, result, data, work

    def test_noop_records_nothing(self):
        r, result, report, _ = self.run_probe("noop")
        self.assertIsNotNone(report, r.stderr)
        self.assertTrue(result and result["contained"], r.stdout)
        self.assertEqual(report.get("violations", []), [])

    def test_suite_is_large_enough(self):
        listed = probes()
        names = [p["name"] for p in listed]
        self.assertGreaterEqual(len(names), 40)
        self.assertEqual(len(names), len(set(names)))
        self.assertTrue(all(p["expect"] for p in listed), "every probe expects a denial")

    def check_probe(self, probe):
        name = probe["name"]
        r, result, report, work = self.run_probe(name)
        where = f"{name}: exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
        self.assertIsNotNone(result, "the probe printed no result\n" + where)
        self.assertIsNotNone(report, "no run report\n" + where)
        self.assertTrue(result["contained"], f"ESCAPED: {result.get('escaped')}\n" + where)
        self.assertEqual(r.returncode, 0, where)
        self.assertEqual(self.host.intact(), [], where)
        self.assertEqual(self.victims_intact(work), [], where)
        violations = report.get("violations", [])
        note = result.get("note", "")
        if name in UNRECORDABLE and note.startswith(UNRECORDABLE[name]):
            return
        missing = [e for e in probe["expect"] if not recorded(violations, e)]
        self.assertEqual(missing, [], f"denials not recorded; violations: {violations}\n" + where)


def add_probe_tests():
    if not ATTACK or not os.path.exists(ATTACK):
        return
    for probe in probes():
        def test(self, probe=probe):
            self.check_probe(probe)
        setattr(AttackSuite, "test_" + probe["name"].replace("-", "_"), test)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: the attack suite needs root")
        sys.exit(hive_test.SKIP)
    if not ATTACK or not os.path.exists(ATTACK):
        print("HIVE_ATTACK is not set to the built attack program")
        sys.exit(1)
    add_probe_tests()
    unittest.main(verbosity=2)
