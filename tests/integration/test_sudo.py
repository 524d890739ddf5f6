"""Runs started through sudo (issue 12): SUDO_UID/SUDO_GID name the real user, the run finishes
(it used to hang before the payload ran), files written into a writable bind belong to that user
on the host, and the timeout and interrupts work during setup too."""
import os
import pwd
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402


class Sudo(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        # A real unprivileged user of this host, as sudo would name it.
        self.user = pwd.getpwnam("nobody")
        self.env = {"SUDO_UID": str(self.user.pw_uid), "SUDO_GID": str(self.user.pw_gid),
                    "SUDO_USER": "nobody"}

    def test_run_through_sudo_finishes_and_files_belong_to_the_user(self):
        work = self.path("workspace")
        os.makedirs(work)
        os.chown(work, self.user.pw_uid, self.user.pw_gid)
        r = self.hive("exec", "--timeout", "20", "--bind", f"{work}:/work:rw", "--", "sh", "-c",
                      "echo built > /work/out.txt && mkdir /work/obj", self.marker,
                      env=self.env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        for name in ("out.txt", "obj"):
            st = os.stat(os.path.join(work, name))
            self.assertEqual((st.st_uid, st.st_gid), (self.user.pw_uid, self.user.pw_gid), name)
        out = os.path.join(self.state_dir, "runs")
        run = os.listdir(out)[0]
        self.assertEqual(os.stat(os.path.join(out, run, "output")).st_uid, self.user.pw_uid)

    def start_stopped_in_setup(self, *args):
        """Starts hive-run through 'sudo' and returns it stopped before its go-ahead."""
        env = dict(os.environ)
        env.pop("HIVE_RUN_STATE_DIR", None)
        env.update(self.env)
        env["HIVE_RUN_TEST_STOP_AT"] = "setup"
        p = subprocess.Popen([hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", *args,
                              "--", "sh", "-c", "echo ran; sleep 30", self.marker], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while True:
            with open(f"/proc/{p.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "T":
                    return p
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)

    def test_sigterm_during_setup_ends_the_run(self):
        # SIGTERM while setting up is served by the same loop as after exec: the sandbox is torn
        # down before the payload ran.
        p = self.start_stopped_in_setup()
        p.send_signal(signal.SIGTERM)
        p.send_signal(signal.SIGCONT)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        self.assertNotIn("ran", out)
        self.assertIn("interrupted", err)

    def test_timeout_during_setup(self):
        p = self.start_stopped_in_setup("--timeout", "0.3")
        time.sleep(0.5)  # past the timeout while stopped in setup
        p.send_signal(signal.SIGCONT)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 124, err)
        self.assertNotIn("ran", out)
        self.assertIn("timeout", err)


if __name__ == "__main__":
    hive_test.main()
