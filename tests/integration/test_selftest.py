"""hive-run selftest: the kernel feature table, and a few attack probes through it."""
import json
import os

import hive_test


class SelftestTest(hive_test.SandboxTestCase):
    def test_features_without_attacks(self):
        r = self.hive("selftest", "--no-attacks", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        features = json.loads(r.stdout)["features"]
        for key in ("kernel", "user_namespaces", "cgroups", "landlock",
                    "seccomp_user_notification"):
            self.assertIn(key, features)
        self.assertEqual(features["kernel"], os.uname().release)

    def test_probes_are_contained_and_recorded(self):
        r = self.hive("selftest", "--json", "--probe", "chroot", "--probe", "blocked-unlink",
                      "--probe", "x32-syscall", timeout=300)
        out = json.loads(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = {p["probe"]: p for p in out["probes"]}
        self.assertEqual(sorted(rows), ["blocked-unlink", "chroot", "x32-syscall"])
        for row in rows.values():
            self.assertEqual(row["result"], "contained", row)
            self.assertEqual(row["recorded"], "yes", row)

    def test_bad_argument(self):
        r = self.hive("selftest", "--frobnicate")
        self.assertEqual(r.returncode, 125)
        self.assertIn("--frobnicate", r.stderr)


if __name__ == "__main__":
    hive_test.main()
