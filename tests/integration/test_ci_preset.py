"""profiles/ci.yml as a CI step would use it: a small C project and a small pytest project,
from fixtures, built and tested inside `hive-run exec` with the host's toolchain read-only,
the workspace writable and owned by an unprivileged CI user (--owner), no network."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

CI_POLICY = os.path.join(hive_test.SOURCE_ROOT, "profiles", "ci.yml")
FIXTURES = os.path.join(hive_test.SOURCE_ROOT, "tests", "fixtures", "ci")
CI_UID = CI_GID = 65534  # an unprivileged user every Debian host has (nobody:nogroup)
SYSTEM_PYTHON = "/usr/bin/python3"  # the sandbox sees the host's /usr, nothing else


class CiPreset(hive_test.SandboxTestCase):
    def workspace(self, fixture):
        ws = self.path("ws-" + fixture)
        shutil.copytree(os.path.join(FIXTURES, fixture), ws)
        for root, dirs, files in os.walk(ws):
            for name in [root] + [os.path.join(root, f) for f in files]:
                os.chown(name, CI_UID, CI_GID)
        return ws

    def step(self, ws, *cmd, extra=()):
        return self.report("exec", "--policy", CI_POLICY, "--owner", f"{CI_UID}:{CI_GID}",
                           "--bind", f"{ws}:{ws}:rw", "--workdir", ws, "--timeout", "10m",
                           *extra, "--", *cmd)

    def test_policy_loads(self):
        r = self.hive("policy", "check", CI_POLICY, state=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_c_project_builds_and_tests(self):
        if not shutil.which("make") or not shutil.which("cc"):
            self.skipTest("make and cc are not installed")
        ws = self.workspace("c_project")
        r, rep = self.step(ws, "make", "-j2", "test")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("calc_test: 2 passed", r.stdout)
        self.assertEqual(rep["outcome"], "success")
        with open(os.path.join(ws, "out", "product.txt")) as f:
            self.assertEqual(f.read(), "42\n")
        # What the build wrote belongs to the CI user, not root or a mapped id.
        for name in ("calc", "calc_test", "libcalc.o", "out/product.txt"):
            st = os.stat(os.path.join(ws, name))
            self.assertEqual((st.st_uid, st.st_gid), (CI_UID, CI_GID), name)
        self.assertEqual(rep["limits"]["max_processes"], 2048)
        self.assertNotIn("cpu_usage", [a["type"] for a in rep["alerts"]])
        # A failing test fails the step with the test's own status.
        r, rep = self.step(ws, "make", "test", extra=("--env", "CALC_TEST_BREAK=1"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("FAIL asked to", r.stdout)
        self.assertEqual(rep["outcome"], "failure")

    def test_toolchain_is_read_only_workspace_writable(self):
        ws = self.workspace("c_project")
        r, _ = self.step(ws, "/bin/sh", "-c",
                         "touch /usr/bin/hive-ci-x 2>/dev/null && echo usr-writable; "
                         "touch /etc/hive-ci-x 2>/dev/null && echo etc-writable; "
                         "touch ./ws-writable && echo ws-ok")
        self.assertEqual(r.stdout.split(), ["ws-ok"], r.stderr)
        self.assertFalse(os.path.exists("/usr/bin/hive-ci-x"))

    def test_pytest_project(self):
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import pytest"], capture_output=True)
        if probe.returncode != 0:
            print("SKIP: python3-pytest is not installed")
            self.skipTest("python3-pytest is not installed")
        ws = self.workspace("py_project")
        r, rep = self.step(ws, SYSTEM_PYTHON, "-m", "pytest", "-q")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("7 passed", r.stdout)
        self.assertEqual(rep["outcome"], "success")
        cache = os.path.join(ws, ".pytest_cache")
        self.assertTrue(os.path.isdir(cache), "pytest could not write its cache")
        self.assertEqual(os.stat(cache).st_uid, CI_UID)
        r, rep = self.step(ws, SYSTEM_PYTHON, "-m", "pytest", "-q",
                           extra=("--env", "TEXTSTATS_BREAK=1"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("1 failed, 6 passed", r.stdout)


if __name__ == "__main__":
    hive_test.main()
