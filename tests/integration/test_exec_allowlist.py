"""The seeds' SecureRunner allowlist enforced by `hive-run exec`: security.process
.allowed_binaries and tools_dirs. A program outside them is refused with 126 and the reason,
before anything runs; a command given as one string is split and checked as `check` does."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402


class ExecAllowlist(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        self.tools = self.path("proj", "tools", "bin")
        os.makedirs(self.tools)
        os.chmod(self.path("proj"), 0o755)
        self.write("proj/tools/bin/mytool", "#!/bin/sh\necho mytool ran \"$@\"\n", mode=0o755)
        self.policy = self.write("proj/policy.yml",
                                 "security:\n  process:\n"
                                 "    allowed_binaries: [echo, cat, sh]\n"
                                 "    tools_dirs: [./tools/bin]\n")

    def test_allowed_binary_runs(self):
        r = self.hive("exec", "--policy", self.policy, "--", "echo", "hello")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "hello\n")

    def test_binary_outside_the_allowlist_is_126_with_the_reason(self):
        marker = self.path("ran")
        r, rep = self.report("exec", "--policy", self.policy, "--", "touch", marker)
        self.assertEqual(r.returncode, 126, r.stderr)
        self.assertIn("allowed_binaries", r.stderr)
        self.assertIn("`touch`", r.stderr)
        self.assertIn("not in the allowlist", r.stderr)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(rep["outcome"], "blocked")
        self.assertNoRunState()
        # The refusal is in the audit log.
        with open(os.path.join(self.state_dir, "audit.log")) as f:
            records = [json.loads(line) for line in f]
        self.assertEqual(records[-1]["outcome"], "blocked")

    def test_tools_directory_program_runs(self):
        r = self.hive("exec", "--policy", self.policy, "--", "mytool", "x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "mytool ran x\n")

    def test_one_string_is_split_and_checked(self):
        r = self.hive("exec", "--policy", self.policy, "--", "echo 'two words' three")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "two words three\n")
        marker = self.path("ran2")
        r = self.hive("exec", "--policy", self.policy, "--", f"echo hi; touch {marker}")
        self.assertEqual(r.returncode, 126, r.stderr)
        self.assertIn("`;`", r.stderr)
        self.assertFalse(os.path.exists(marker))

    def test_dangerous_arguments_and_dotdot_paths_are_refused(self):
        r = self.hive("exec", "--policy", self.policy, "--", "sh", "-c", "id")
        self.assertEqual(r.returncode, 126, r.stderr)
        r = self.hive("exec", "--policy", self.policy, "--", "cat", "data/../../etc/passwd")
        self.assertEqual(r.returncode, 126, r.stderr)
        self.assertIn("`..`", r.stderr)

    def test_lookalike_path_is_refused(self):
        fake = self.path("bin")
        os.makedirs(fake)
        shutil.copy("/bin/echo", os.path.join(fake, "echo"))
        r = self.hive("exec", "--policy", self.policy, "--", os.path.join(fake, "echo"), "x")
        self.assertEqual(r.returncode, 126, r.stderr)
        self.assertEqual(r.stdout, "")

    def test_bind_over_the_allowed_program_is_refused(self):
        fake = self.write("fake-echo", "#!/bin/sh\necho fake\n", mode=0o755)
        for dst in ("/usr/bin/echo", "/usr/bin", "/usr"):
            r = self.hive("exec", "--policy", self.policy, "--bind", f"{fake}:{dst}", "--",
                          "echo", "x")
            self.assertEqual(r.returncode, 126, (dst, r.stderr))
            self.assertIn("the program the allowlist admitted", r.stderr)
            self.assertEqual(r.stdout, "")

    def test_without_the_key_exec_runs_any_host_program(self):
        r = self.hive("exec", "--", "/usr/bin/touch", "/tmp/x")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_check_uses_the_policys_allowlist_and_refuses_dotdot(self):
        r = self.hive("check", "--policy", self.policy, "--", "touch", "x", state=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        r = self.hive("check", "--policy", self.policy, "--", "mytool", state=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.hive("check", "--", "cat", "--file=../secret", state=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("`..`", r.stdout)


if __name__ == "__main__":
    hive_test.main()
