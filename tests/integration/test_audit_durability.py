"""A run that cannot be audited does not start, and a run whose record cannot be written does not
pass (issue 12): the state dir is a small tmpfs this test fills."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402


class AuditDurability(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        os.makedirs(self.state_dir)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", self.state_dir],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.state_dir], check=False)
        # One run first: keys, log and caches exist, as on a machine in use.
        r = self.hive("exec", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        # The tmpfs goes before the base class compares the mounts with the ones at setUp.
        subprocess.run(["umount", self.state_dir], check=False)
        super().tearDown()

    def fill(self):
        """Fills the state dir's filesystem to the last byte."""
        fd = os.open(os.path.join(self.state_dir, "fill"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)

    def start_sleeping(self, run_id):
        """Starts a run whose payload sleeps a second; returns once the payload has started."""
        env = dict(os.environ)
        env.pop("HIVE_RUN_STATE_DIR", None)
        started = self.path("started")
        p = subprocess.Popen([hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--id",
                              run_id, "--bind", f"{self.tmp}:/host:rw", "--", "sh", "-c",
                              "echo > /host/started; sleep 1", self.marker],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(started):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        return p

    def records(self):
        with open(os.path.join(self.state_dir, "audit.log")) as f:
            return [json.loads(line) for line in f]

    def test_a_full_state_dir_refuses_the_run_before_it_starts(self):
        self.fill()
        out = self.path("ran")
        r = self.hive("exec", "--bind", f"{self.tmp}:/host:rw", "--", "sh", "-c",
                      "echo > /host/ran", self.marker)
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("No space left on device", r.stderr)
        self.assertFalse(os.path.exists(out), "the payload ran although it could not be audited")
        os.unlink(os.path.join(self.state_dir, "fill"))
        self.assertEqual(self.hive("audit", "verify").returncode, 0)

    def test_space_taken_while_the_payload_runs_does_not_lose_its_record(self):
        p = self.start_sleeping("filled")
        self.fill()
        out, err = p.communicate(timeout=60)
        # Never a pass without a record: either the record is there (space was set aside
        # before the payload ran) or the run fails naming the log.
        runs = [x for x in self.records() if x.get("run_id") == "filled"]
        if p.returncode == 0:
            self.assertEqual(len(runs), 1, err)
            self.assertEqual(runs[0]["outcome"], "success")
        else:
            self.assertEqual(p.returncode, 125, err)
            self.assertIn("audit record could not be written", err)
        self.assertEqual(p.returncode, 0, "the reserved space did not cover the record: " + err)
        os.unlink(os.path.join(self.state_dir, "fill"))
        self.assertEqual(self.hive("audit", "verify").returncode, 0)

    def test_an_unwritable_log_fails_the_run_and_the_next_run_records_it(self):
        # The log is replaced by a directory while the payload runs: the append finds its path
        # no longer names the file it opened.
        p = self.start_sleeping("moved")
        log = os.path.join(self.state_dir, "audit.log")
        os.rename(log, log + ".moved")
        os.mkdir(log)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 125, err)
        self.assertIn("audit", err)
        # Put back, the next run writes the late record of the run that could not.
        os.rmdir(log)
        os.rename(log + ".moved", log)
        r = self.hive("exec", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        late = [x for x in self.records() if x.get("run_id") == "moved"]
        self.assertEqual(len(late), 1)
        self.assertEqual(late[0]["outcome"], "success")
        self.assertIn("recorded_late", late[0])
        self.assertEqual(self.hive("audit", "verify").returncode, 0)


if __name__ == "__main__":
    hive_test.main()
