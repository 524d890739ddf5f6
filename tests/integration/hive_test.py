"""Shared helpers for tests that run real sandboxes with the built hive-run binary.

Every test case gets its own state directory and checks, on tear-down, that the run left
no mounts, cgroups or processes behind.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HIVE_RUN = os.environ.get("HIVE_RUN", "")
PROBE = os.environ.get("HIVE_PROBE", "")
SOURCE_ROOT = os.environ.get("HIVE_SOURCE_ROOT", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))

SKIP = 77


def require_root(case):
    if os.geteuid() != 0:
        case.skipTest("needs root")


def mount_snapshot(under=None):
    """Mount points on the host; with `under`, only those below it (what this test made there).
    hive-run mounts nothing on the host, so a leak shows up beside the test's own files, or as
    a mount naming hive-run; mounts other programs make meanwhile are not this test's."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4]
            if under is None or point.startswith(under + "/") or point == under \
                    or "hive-run" in point or "/hive/" in point:
                points.append(point)
    return sorted(points)


def cgroup_snapshot(run_ids=None):
    """hive-run's cgroups (hive-run-<run id>); with run_ids, only those runs' cgroups, so that
    other hive-run processes on the machine do not count as this test's leftovers."""
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        for d in dirs:
            if not d.startswith("hive-run-"):
                continue
            if run_ids is not None and d[len("hive-run-"):] not in run_ids:
                continue
            found.append(os.path.join(root, d))
    return sorted(found)


def run_ids_of(state_dir):
    """Every run id a state dir knows: kept run directories and audit records."""
    ids = set()
    runs = os.path.join(state_dir, "runs")
    if os.path.isdir(runs):
        ids.update(os.listdir(runs))
    try:
        with open(os.path.join(state_dir, "audit.log"), errors="replace") as f:
            for line in f:
                try:
                    rid = json.loads(line).get("run_id")
                except ValueError:
                    continue
                if rid:
                    ids.add(rid)
    except OSError:
        pass
    return ids


def hive_processes(marker):
    """Processes whose command line mentions `marker` (this test's own runs and payloads)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            pids.append((int(name), cmd))
    return pids


class SandboxTestCase(unittest.TestCase):
    """Runs hive-run against a private state dir and asserts nothing is left behind."""

    def setUp(self):
        require_root(self)
        if not HIVE_RUN or not os.path.exists(HIVE_RUN):
            self.fail("HIVE_RUN is not set to the built hive-run binary")
        self.tmp = tempfile.mkdtemp(prefix="hive-test-")
        os.chmod(self.tmp, 0o755)
        self.state_dir = os.path.join(self.tmp, "state")
        # Passed to payloads as an argument so leftovers can be found by their command line.
        self.marker = os.path.basename(self.tmp)
        self.mounts_before = mount_snapshot(self.tmp)

    def tearDown(self):
        try:
            self.assertEqual(hive_processes(self.marker), [], "processes left running")
            self.assertEqual(mount_snapshot(self.tmp), self.mounts_before, "mounts left behind")
            self.assertEqual(cgroup_snapshot(run_ids_of(self.state_dir)), [],
                             "cgroups left behind")
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def assertNoRunState(self):
        runs = os.path.join(self.state_dir, "runs")
        self.assertEqual(os.listdir(runs) if os.path.isdir(runs) else [], [],
                         "a refused run left its run directory behind")

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def hive(self, *args, input=None, timeout=120, env=None, state=True):
        """Runs hive-run; returns CompletedProcess with text stdout/stderr."""
        cmd = [HIVE_RUN]
        if state:
            cmd += ["--state-dir", self.state_dir]
        cmd += list(args)
        full_env = dict(os.environ)
        full_env.pop("HIVE_RUN_STATE_DIR", None)
        if env:
            full_env.update(env)
        return subprocess.run(cmd, input=input, capture_output=True, text=True,
                              timeout=timeout, env=full_env)

    def probe(self, *probe_args, extra=(), **kw):
        """Runs the static probe inside the built-in sandbox via `hive-run exec`."""
        return self.hive("exec", "--bind", f"{PROBE}:/probe", *extra, "--", "/probe",
                         *probe_args, **kw)

    def report(self, *args, **kw):
        """Runs hive-run with --report and returns (CompletedProcess, report dict)."""
        rep = self.path("report.json")
        if os.path.exists(rep):
            os.unlink(rep)
        args = list(args)
        args.insert(1, "--report")
        args.insert(2, rep)
        r = self.hive(*args, **kw)
        data = None
        if os.path.exists(rep):
            with open(rep) as f:
                data = json.load(f)
        return r, data


def main():
    """Runs the module's tests. Exits 77 (meson: SKIP) when every test skipped, so a suite that
    cannot run here never shows as a pass."""
    program = unittest.main(verbosity=2, exit=False)
    result = program.result
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        print(f"all {result.testsRun} tests skipped: "
              + "; ".join(sorted({reason for _, reason in result.skipped})))
        sys.exit(SKIP)
    sys.exit(0 if result.wasSuccessful() else 1)
