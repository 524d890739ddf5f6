"""When hive-run itself dies (issue 12): the sandbox dies with it at every moment, the next run
records the run as `supervisor_lost`, and nothing of it is left. Also: runs clean never removes
a run under way, and cleans only the runs it is given."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402


def wait_stopped(pid, timeout=20):
    """Waits until `pid` is stopped (state T); False when it exited or the wait ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state in ("T", "t"):
            return True
        time.sleep(0.01)
    return False


class SupervisorDeath(hive_test.SandboxTestCase):
    def start(self, run_id, *cmd, stop_at=None, extra=()):
        env = dict(os.environ)
        env.pop("HIVE_RUN_STATE_DIR", None)
        if stop_at:
            env["HIVE_RUN_TEST_STOP_AT"] = stop_at
        return subprocess.Popen(
            [hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--id", run_id, *extra,
             "--", *cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def records(self):
        with open(os.path.join(self.state_dir, "audit.log")) as f:
            return [json.loads(line) for line in f]

    def assert_lost_and_recorded(self, run_id):
        # Nothing of the sandbox outlives its supervisor.
        deadline = time.monotonic() + 10
        while hive_test.hive_processes(self.marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(hive_test.hive_processes(self.marker), [], "sandbox outlived hive-run")
        # The next run records the lost one and removes what it left.
        r = self.hive("exec", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        lost = [x for x in self.records() if x.get("run_id") == run_id]
        self.assertEqual(len(lost), 1, lost)
        self.assertEqual(lost[0]["outcome"], "supervisor_lost")
        self.assertIn("died before the run ended", lost[0]["error"])
        v = self.hive("audit", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertEqual(hive_test.cgroup_snapshot({run_id}), [], "cgroups of the lost run left")
        self.assertEqual(os.listdir(os.path.join(self.state_dir, "live")), [])
        with open(os.path.join(self.state_dir, "runs", run_id, "logs", "execution.json")) as f:
            self.assertEqual(json.load(f)["outcome"], "supervisor_lost")
        stats = self.hive("stats", "--json")
        self.assertIn("supervisor_lost", stats.stdout)

    def kill_at(self, stop_at, *cmd, extra=()):
        run_id = "lost-" + stop_at
        p = self.start(run_id, *cmd, stop_at=stop_at, extra=extra)
        try:
            self.assertTrue(wait_stopped(p.pid), f"hive-run never reached `{stop_at}`")
            p.kill()
        finally:
            p.wait(timeout=30)
        self.assert_lost_and_recorded(run_id)

    def test_killed_before_the_go_ahead(self):
        self.kill_at("go", "sh", "-c", "echo ran > /run/hive/output/ran", self.marker)
        self.assertFalse(os.path.exists(
            os.path.join(self.state_dir, "runs", "lost-go", "output", "ran")),
            "the payload ran after its supervisor died")

    def test_killed_during_setup(self):
        self.kill_at("setup", "sh", "-c", "echo ran > /run/hive/output/ran", self.marker)
        self.assertFalse(os.path.exists(
            os.path.join(self.state_dir, "runs", "lost-setup", "output", "ran")),
            "the payload ran after its supervisor died")

    def test_killed_mid_run(self):
        p = self.start("lost-mid", "sh", "-c",
                       "echo > /run/hive/output/started; sleep 4; echo > /run/hive/output/late",
                       self.marker, extra=["--timeout", "2"])
        out = os.path.join(self.state_dir, "runs", "lost-mid", "output")
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(out, "started")):
            self.assertLess(time.monotonic(), deadline, "the payload never started")
            time.sleep(0.02)
        p.kill()
        p.wait(timeout=30)
        time.sleep(5)  # past the payload's own write
        self.assertFalse(os.path.exists(os.path.join(out, "late")),
                         "the sandbox outlived hive-run past its timeout")
        self.assert_lost_and_recorded("lost-mid")

    def test_killed_during_a_limit_kill(self):
        self.kill_at("limit_kill", "sh", "-c", "sleep 30", self.marker,
                     extra=["--timeout", "0.5"])

    def test_killed_at_random_moments_of_start_up(self):
        # Kills from a few milliseconds after start on: the window the earlier hangs lived in.
        ids = []
        for i in range(12):
            run_id = f"early{i}"
            p = self.start(run_id, "sh", "-c", "sleep 30", self.marker)
            time.sleep(0.003 * i)
            p.kill()
            p.wait(timeout=30)
            ids.append(run_id)
        deadline = time.monotonic() + 10
        while hive_test.hive_processes(self.marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(hive_test.hive_processes(self.marker), [], "sandboxes outlived hive-run")
        r = self.hive("runs", "clean")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(hive_test.cgroup_snapshot(set(ids)), [])
        self.assertEqual(os.listdir(os.path.join(self.state_dir, "live")), [])
        # Every run that got as far as leaving state is in the log, as lost.
        recorded = {x["run_id"] for x in self.records() if x.get("outcome") == "supervisor_lost"}
        self.assertTrue(recorded <= set(ids), recorded)
        self.assertEqual(self.hive("audit", "verify").returncode, 0)


class RunsClean(hive_test.SandboxTestCase):
    def test_clean_only_the_named_run(self):
        for i in range(3):
            self.assertEqual(self.hive("exec", "--id", f"r{i}", "--", "/bin/true").returncode, 0)
        r = self.hive("runs", "clean", "r1", "--keep-logs")
        self.assertEqual(r.returncode, 0, r.stderr)
        runs = os.path.join(self.state_dir, "runs")
        self.assertEqual(sorted(os.listdir(runs)), ["r0", "r1", "r2"])
        self.assertEqual(os.listdir(os.path.join(runs, "r1")), ["logs"])
        self.assertIn("input", os.listdir(os.path.join(runs, "r0")))
        r = self.hive("runs", "clean", "r2")
        self.assertEqual(sorted(os.listdir(runs)), ["r0", "r1"])
        r = self.hive("runs", "clean", "nosuch")
        self.assertEqual(r.returncode, 125)
        self.assertIn("no run `nosuch`", r.stderr)

    def test_clean_skips_a_run_under_way(self):
        env = dict(os.environ)
        env.pop("HIVE_RUN_STATE_DIR", None)
        p = subprocess.Popen([hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--id",
                              "busy", "--", "sh", "-c", "sleep 2; echo done", self.marker],
                             env=env, stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while not os.path.exists(os.path.join(self.state_dir, "live", "busy")):
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            r = self.hive("runs", "clean")
            self.assertIn("skipped run busy: under way", r.stdout)
            self.assertTrue(os.path.isdir(os.path.join(self.state_dir, "runs", "busy")))
        finally:
            out, _ = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(out, "done\n")


class ReportDestinations(hive_test.SandboxTestCase):
    def test_report_dash_is_stdout(self):
        cwd = self.path("cwd")
        os.makedirs(cwd)
        r = subprocess.run([hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--report",
                            "-", "--", "/bin/true"], cwd=cwd, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["outcome"], "success")
        self.assertEqual(os.listdir(cwd), [], "--report - wrote a file named -")

    def test_report_through_a_symlink_is_not_renamed_over(self):
        target = self.write("target.json", "")
        link = self.path("link.json")
        os.symlink(target, link)
        r = self.hive("exec", "--report", link, "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.islink(link), "the symlink was replaced by a file")
        with open(target) as f:
            self.assertEqual(json.load(f)["outcome"], "success")

    def test_report_to_a_fifo(self):
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE, text=True)
        r = self.hive("exec", "--report", fifo, "--", "/bin/true")
        out, _ = reader.communicate(timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(out)["outcome"], "success")
        self.assertTrue(os.path.exists(fifo) and not os.path.isfile(fifo))


if __name__ == "__main__":
    hive_test.main()
