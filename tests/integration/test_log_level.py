"""security.monitoring.log_level drives what a run says on stderr (issue 13): DEBUG names each
state change with the file and the value written, ERROR silences warnings, --quiet wins."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402


class LogLevel(hive_test.SandboxTestCase):
    def policy(self, level):
        # A path that does not exist gives the run a warning to say (or not).
        return self.write(f"{level}.yml", "security:\n  execution:\n    memory_mb: 64\n"
                          f"  filesystem:\n    allowed_paths: [\"{self.path('missing')}\"]\n"
                          f"  monitoring:\n    log_level: {level}\n")

    def test_debug_names_each_state_change(self):
        r = self.hive("exec", "--policy", self.policy("DEBUG"), "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("hive-run: debug: write `67108864` to `", r.stderr)
        self.assertIn("uid_map`", r.stderr)
        self.assertIn("go-ahead sent", r.stderr)
        self.assertIn("`/bin/true` exec'd", r.stderr)
        self.assertIn("hive-run: warning: security.filesystem.allowed_paths", r.stderr)

    def test_info_says_warnings_not_debug(self):
        r = self.hive("exec", "--policy", self.policy("INFO"), "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("debug:", r.stderr)
        self.assertIn("hive-run: warning: security.filesystem.allowed_paths", r.stderr)

    def test_error_and_quiet_silence_warnings(self):
        r = self.hive("exec", "--policy", self.policy("ERROR"), "--", "/bin/true")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        r = self.hive("exec", "--quiet", "--policy", self.policy("DEBUG"), "--", "/bin/true")
        self.assertEqual((r.returncode, r.stderr), (0, ""))


if __name__ == "__main__":
    hive_test.main()
