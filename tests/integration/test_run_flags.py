"""Run flags CI tunes most (--pids, --cpu-seconds, --tmp-size, human units, --env NAME,
--owner, --json) and the small traps of the command line: help, mistyped subcommands,
non-root callers, violation lines on stderr, CPU alerts without a CPU limit."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

PYTHON = "/usr/bin/python3"  # the sandbox sees the host's /usr, nothing else


class Help(hive_test.SandboxTestCase):
    def test_exec_and_script_help_print_help(self):
        for sub in ("exec", "script"):
            r = self.hive(sub, "--help")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"usage: hive-run {sub}", r.stdout)
            self.assertIn("--pids N", r.stdout)
            self.assertEqual(r.stderr, "")
        self.assertNoRunState()

    def test_mistyped_subcommand_says_so(self):
        r = self.hive("exce", "--", "/bin/true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("`exce` is not a hive-run command", r.stderr)
        self.assertIn("did you mean `exec`", r.stderr)
        self.assertNotIn("not a directory", r.stderr)
        self.assertNoRunState()


class Limits(hive_test.SandboxTestCase):
    def test_human_units_reach_the_limits(self):
        r, rep = self.report("exec", "--timeout", "5m", "--memory", "2G", "--tmp-size", "1G",
                             "--cpu-seconds", "2m", "--pids", "40", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        lim = rep["limits"]
        self.assertEqual(lim["timeout_seconds"], 300)
        self.assertEqual(lim["memory_mb"], 2048)
        self.assertEqual(lim["cpu_seconds"], 120)
        self.assertEqual(lim["max_processes"], 40)

    def test_bad_values_are_refused_naming_the_flag(self):
        for args, want in ((("--memory", "2X"), "--memory"), (("--memory", "1.5M"), "whole"),
                           (("--timeout", "0m"), "--timeout"), (("--pids", "0"), "--pids"),
                           (("--pids", "99999999999"), "out of range"),
                           (("--cpu-seconds", "-1"), "--cpu-seconds"),
                           (("--tmp-size", "5P"), "unknown unit"),
                           (("--owner", "12"), "UID:GID")):
            r = self.hive("exec", *args, "--", "/bin/true")
            self.assertEqual(r.returncode, 125, (args, r.stderr))
            self.assertIn(want, r.stderr, args)
        self.assertNoRunState()

    def test_timeout_in_seconds_suffix_stops_the_run(self):
        r, rep = self.report("exec", "--timeout", "1s", "--", "/bin/sh", "-c", "sleep 30",
                             self.marker)
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertEqual(rep["outcome"], "timeout")

    def test_pids_limits_forks(self):
        bomb = self.write("bomb.py", "import os, time\n"
                          "kids = []\n"
                          "for _ in range(30):\n"
                          "    try:\n        pid = os.fork()\n"
                          "    except OSError:\n        break\n"
                          "    if pid == 0:\n        time.sleep(5); os._exit(0)\n"
                          "    kids.append(pid)\n"
                          "print(len(kids))\n"
                          "for k in kids: os.kill(k, 9)\n"
                          "raise SystemExit(3 if len(kids) < 30 else 0)\n")
        r, rep = self.report("exec", "--pids", "6", "--bind", f"{bomb}:/bomb.py", "--",
                             PYTHON, "/bomb.py")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertLessEqual(int(r.stdout.strip()), 5)
        self.assertEqual(rep["limits"]["max_processes"], 6)
        self.assertEqual(rep["outcome"], "pids_limit")

    def test_cpu_seconds_stops_a_spinner(self):
        r, rep = self.report("exec", "--cpu-seconds", "1", "--timeout", "60", "--", PYTHON, "-c",
                             "while True: pass")
        self.assertEqual(rep["outcome"], "cpu_limit", r.stderr)
        self.assertNotEqual(r.returncode, 0)

    def test_tmp_size_bounds_the_private_tmp(self):
        r = self.hive("exec", "--tmp-size", "2", "--", "/bin/sh", "-c",
                      "dd if=/dev/zero of=/tmp/f bs=1M count=1 2>/dev/null && echo one-ok; "
                      "dd if=/dev/zero of=/tmp/g bs=1M count=4 2>/dev/null || echo four-full")
        self.assertEqual(r.stdout.split(), ["one-ok", "four-full"], r.stderr)


class Environment(hive_test.SandboxTestCase):
    def test_env_name_passes_the_hosts_value(self):
        r = self.hive("exec", "--env", "CI_TOKEN_X", "--env", "OTHER=set", "--", "/bin/sh", "-c",
                      'echo "$CI_TOKEN_X/$OTHER"', env={"CI_TOKEN_X": "from host"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "from host/set\n")

    def test_env_name_unset_is_refused(self):
        env = dict(os.environ)
        env.pop("HIVE_UNSET_VAR", None)
        r = self.hive("exec", "--env", "HIVE_UNSET_VAR", "--", "/bin/true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("HIVE_UNSET_VAR is not set", r.stderr)


class Owner(hive_test.SandboxTestCase):
    def workspace(self):
        ws = self.path("ws")
        os.makedirs(ws)
        os.chown(ws, 65534, 65534)
        os.chmod(ws, 0o755)
        return ws

    def test_unwritable_workspace_is_refused_naming_the_fix(self):
        ws = self.workspace()
        r = self.hive("exec", "--bind", f"{ws}:/ws:rw", "--", "/bin/touch", "/ws/x")
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("--owner 65534:65534", r.stderr)
        self.assertIn(ws, r.stderr)
        self.assertEqual(os.listdir(ws), [])
        self.assertNoRunState()

    def test_owner_writes_as_the_workspace_user(self):
        ws = self.workspace()
        r = self.hive("exec", "--owner", "65534:65534", "--bind", f"{ws}:/ws:rw", "--",
                      "/bin/sh", "-c", "mkdir /ws/out && echo hi > /ws/out/f")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.stat(os.path.join(ws, "out", "f"))
        self.assertEqual((st.st_uid, st.st_gid), (65534, 65534))


class Reports(hive_test.SandboxTestCase):
    def test_json_and_report_dash_print_the_report_on_stdout(self):
        for flag in (("--json",), ("--report", "-")):
            r = self.hive("exec", *flag, "--", "/bin/true")
            self.assertEqual(r.returncode, 0, r.stderr)
            rep = json.loads(r.stdout)
            self.assertEqual(rep["schema"], "hive-run/report/v1")
            self.assertEqual(rep["outcome"], "success")

    def test_no_cpu_alert_without_a_cpu_limit(self):
        # Two processes spinning until each has used 0.6 s of CPU (CPU time, not wall time: a
        # loaded machine must not starve the count). With no CPU limit set, that is the build
        # doing its job.
        spin = ("import os, time\n"
                "pid = os.fork()\n"
                "while time.process_time() < 0.6: pass\n"
                "if pid: os.waitpid(pid, 0)\n")
        r, rep = self.report("exec", "--", PYTHON, "-c", spin)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(rep["usage"]["cpu_user_ms"] + rep["usage"]["cpu_system_ms"], 1000)
        self.assertNotIn("cpu_usage", [a["type"] for a in rep["alerts"]])


class ViolationLines(hive_test.SandboxTestCase):
    def policy(self, work):
        return self.write("policy.yml", "security:\n  filesystem:\n"
                          f"    allowed_paths: [{json.dumps(work)}]\n"
                          "    blocked_operations: [delete]\n"
                          "  network:\n    allowed_domains: []\n")

    def test_blocked_and_network_violations_get_one_line_each(self):
        work = self.path("work")
        os.makedirs(work)
        victim = self.write("work/victim", "x")
        code = ("import os, socket\n"
                "try: socket.socket(socket.AF_INET)\nexcept OSError: pass\n"
                f"try: os.unlink({victim!r})\nexcept OSError: pass\n")
        pol = self.policy(work)
        r = self.hive("exec", "--policy", pol, "--", PYTHON, "-c", code)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len([ln for ln in lines if "network access refused" in ln]), 1, r.stderr)
        self.assertEqual(len([ln for ln in lines if "blocked operation refused" in ln
                              and "unlink" in ln]), 1, r.stderr)
        q = self.hive("exec", "--quiet", "--policy", pol, "--", PYTHON, "-c", code)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertEqual(q.stderr, "")


class NonRoot(hive_test.SandboxTestCase):
    def test_non_root_is_told_it_needs_root(self):
        setpriv = shutil.which("setpriv")
        if not setpriv:
            self.skipTest("setpriv (util-linux) is not installed")
        state = self.path("nobody-state")
        os.makedirs(state)
        os.chown(state, 65534, 65534)
        env = {k: v for k, v in os.environ.items() if k not in ("SUDO_UID", "SUDO_GID")}
        env["HOME"] = state
        r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            hive_test.HIVE_RUN, "--state-dir", state, "exec", "--", "/bin/true"],
                           capture_output=True, text=True, timeout=60, env=env, cwd=state)
        if r.returncode == 0:
            self.skipTest("this host lets unprivileged users build sandboxes")
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("needs root (or:", r.stderr)


if __name__ == "__main__":
    hive_test.main()
