"""`hive-run audit` and `hive-run stats` on real logs: tamper cases, checkpoints, keys.

Records are made with `audit keygen --rotate` (each rotation appends a signed key_rotated
record), so these tests need no sandbox; the run-path tests at the end need `hive-run exec`.
"""
import hashlib
import json
import os
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor

import hive_test


class AuditCliTest(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        self.log = os.path.join(self.state_dir, "audit.log")
        self.keys = os.path.join(self.state_dir, "keys")

    def make_records(self, n):
        r = self.hive("audit", "keygen")
        self.assertEqual(r.returncode, 0, r.stderr)
        # Every record here is a rotation, so the newest key signs only the last one; the
        # first key, which signs them all, is the anchor these tests verify with.
        with open(os.path.join(self.keys, "audit.pub")) as f:
            self.first_pub = f.read().strip()
        for _ in range(n):
            r = self.hive("audit", "keygen", "--rotate")
            self.assertEqual(r.returncode, 0, r.stderr)

    def lines(self):
        with open(self.log, "rb") as f:
            return f.read().splitlines(keepends=True)

    def write_lines(self, lines):
        with open(self.log, "wb") as f:
            f.write(b"".join(lines))

    def verify(self, *extra):
        return self.hive("audit", "verify", "--pubkey", self.first_pub, *extra)

    def assert_bad(self, r, seq, problem):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"record {seq}: {problem}", r.stdout)

    def test_keygen_makes_private_key_0600_and_refuses_to_overwrite(self):
        r = self.hive("audit", "keygen")
        self.assertEqual(r.returncode, 0, r.stderr)
        key = os.path.join(self.keys, "audit.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        with open(os.path.join(self.keys, "audit.pub")) as f:
            pub = f.read().strip()
        self.assertIn(pub, r.stdout)
        with open(key) as f:
            before = f.read()
        again = self.hive("audit", "keygen")
        self.assertEqual(again.returncode, 125)
        self.assertIn("already exists", again.stderr)
        with open(key) as f:
            self.assertEqual(f.read(), before)

    def test_intact_log_verifies_and_head_is_the_hash_of_the_last_line(self):
        self.make_records(4)
        for r in (self.verify(), self.hive("audit", "verify")):  # first key, then the newest
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("4 records intact", r.stdout)
        last = self.lines()[-1].rstrip(b"\n")
        head = self.hive("audit", "head")
        self.assertEqual(head.returncode, 0, head.stderr)
        self.assertEqual(head.stdout.strip(), "4:" + hashlib.sha256(last).hexdigest())
        # Each record names its predecessor by the SHA-256 of its exact bytes.
        lines = self.lines()
        for prev, cur in zip(lines, lines[1:]):
            rec = json.loads(cur)
            self.assertEqual(rec["prev"], hashlib.sha256(prev.rstrip(b"\n")).hexdigest())
        self.assertEqual(json.loads(lines[0])["prev"], "0" * 64)

    def test_flipped_byte_is_changed(self):
        self.make_records(5)
        lines = self.lines()
        at = lines[2].index(b'"host":"') + len(b'"host":"')
        lines[2] = lines[2][:at] + (b"X" if lines[2][at:at + 1] != b"X" else b"Y") + lines[2][at + 1:]
        self.write_lines(lines)
        self.assert_bad(self.verify(), 3, "changed")

    def test_deleted_record_is_removed(self):
        self.make_records(5)
        lines = self.lines()
        del lines[1]
        self.write_lines(lines)
        self.assert_bad(self.verify(), 2, "removed")

    def test_swapped_records_are_reordered(self):
        self.make_records(5)
        lines = self.lines()
        lines[2], lines[3] = lines[3], lines[2]
        self.write_lines(lines)
        self.assert_bad(self.verify(), 3, "reordered")

    def test_duplicated_record_is_inserted(self):
        self.make_records(4)
        lines = self.lines()
        lines.insert(3, lines[1])
        self.write_lines(lines)
        self.assert_bad(self.verify(), 4, "inserted")

    def test_truncated_mid_line_is_torn(self):
        self.make_records(4)
        data = b"".join(self.lines())
        with open(self.log, "wb") as f:
            f.write(data[:len(data) - 40])
        self.assert_bad(self.verify(), 4, "torn")

    def test_records_cut_behind_a_published_head_are_removed(self):
        self.make_records(5)
        head = self.hive("audit", "head").stdout.strip()
        self.assertEqual(self.verify("--since-head", head).returncode, 0)
        self.write_lines(self.lines()[:3])
        self.assertEqual(self.verify().returncode, 0)
        self.assert_bad(self.verify("--since-head", head), 4, "removed")

    def test_verification_with_only_the_public_key(self):
        self.make_records(3)
        elsewhere = self.path("offbox")
        os.makedirs(elsewhere)
        shutil.copy(self.log, elsewhere)
        shutil.copy(os.path.join(self.keys, "audit.pub"), elsewhere)
        shutil.rmtree(self.keys)
        r = self.hive("audit", "verify", "--log", os.path.join(elsewhere, "audit.log"),
                      "--pubkey", os.path.join(elsewhere, "audit.pub"), state=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("3 records intact", r.stdout)
        other = "ab" * 32
        r = self.hive("audit", "verify", "--log", os.path.join(elsewhere, "audit.log"),
                      "--pubkey", other, state=False)
        self.assert_bad(r, 1, "signed by another key")

    def test_show_prints_exact_lines_and_last_n(self):
        self.make_records(3)
        r = self.hive("audit", "show", "--json", "--last", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.encode(), b"".join(self.lines()[1:]))
        table = self.hive("audit", "show")
        self.assertEqual(len(table.stdout.splitlines()), 3)
        self.assertIn("key_rotated", table.stdout)

    def test_errors_exit_125_with_a_message(self):
        r = self.hive("audit", "verify", "--pubkey", "ab" * 32)
        self.assertEqual(r.returncode, 125)
        self.assertIn("audit.log", r.stderr)
        self.make_records(1)
        for args, text in ((("verify", "--since-head", "nonsense"), "SEQ:HASH"),
                           (("frobnicate",), "unknown action"),
                           (("show", "--last", "many"), "--last"),
                           (("verify", "--bogus"), "unknown option")):
            r = self.hive("audit", *args)
            self.assertEqual(r.returncode, 125, args)
            self.assertIn(text, r.stderr)

    def test_missing_private_key_is_refused_not_replaced(self):
        self.make_records(2)
        pub = os.path.join(self.keys, "audit.pub")
        with open(pub) as f:
            pub_before = f.read()
        os.unlink(os.path.join(self.keys, "audit.key"))
        for args in (("keygen",), ("keygen", "--rotate")):
            r = self.hive("audit", *args)
            self.assertEqual(r.returncode, 125, args)
            self.assertIn("audit.key` is missing", r.stderr)
            self.assertIn("hive-run audit keygen --rotate --lost-key", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.keys, "audit.key")))
        with open(pub) as f:
            self.assertEqual(f.read(), pub_before)
        r = self.hive("audit", "verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_lost_key_replacement_is_recorded_and_verify_names_the_break(self):
        self.make_records(2)
        r = self.hive("audit", "keygen", "--rotate", "--lost-key")
        self.assertEqual(r.returncode, 125, "the key is not lost: " + r.stdout)
        self.assertIn("is not lost", r.stderr)
        os.unlink(os.path.join(self.keys, "audit.key"))
        r = self.hive("audit", "keygen", "--rotate", "--lost-key")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("at record 3", r.stdout)
        last = json.loads(self.lines()[-1])
        self.assertEqual(last["event"], "key_replaced")
        with open(os.path.join(self.keys, "audit.pub")) as f:
            self.assertEqual(last["key"], f.read().strip())
        # Anchored at the new key: intact, the break a warning.
        r = self.hive("audit", "verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("3 records intact", r.stdout)
        self.assertIn("warning: record 3: trust break", r.stderr)
        # Anchored before the break: it fails there unless accepted by its seq.
        self.assert_bad(self.verify(), 3, "key replaced")
        self.assert_bad(self.verify("--accept-key-replaced", "2"), 3, "key replaced")
        r = self.verify("--accept-key-replaced", "3")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("trust break (accepted)", r.stderr)
        self.assertIn("key_replaced", self.hive("audit", "show").stdout)
        # And the log goes on with the new key.
        r = self.hive("audit", "keygen", "--rotate")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.hive("audit", "verify").returncode, 0)

    def test_verify_of_an_empty_or_missing_log_says_so(self):
        r = self.hive("audit", "keygen")
        self.assertEqual(r.returncode, 0, r.stderr)
        open(self.log, "w").close()
        r = self.hive("audit", "verify")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("empty: the log holds no records", r.stdout)
        r = self.hive("audit", "verify", "--allow-empty")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 records intact", r.stdout)
        os.unlink(self.log)
        r = self.hive("audit", "verify", "--allow-empty")
        self.assertEqual(r.returncode, 125, r.stdout + r.stderr)
        self.assertIn("does not exist", r.stderr)

    def test_key_temporaries_of_dead_processes_are_swept(self):
        self.make_records(1)
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = os.path.join(self.keys, f"audit.key.tmp.{dead.pid}")
        with open(stale, "w") as f:
            f.write("0" * 64 + "\n")
        r = self.hive("audit", "keygen", "--rotate")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(stale))
        self.assertEqual(sorted(os.listdir(self.keys)), ["audit.key", "audit.pub"])

    def test_stats_reads_the_log(self):
        self.make_records(2)
        r = self.hive("stats", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        stats = json.loads(r.stdout)
        self.assertEqual(stats["records"], 2)
        self.assertEqual(stats["executions"], 0)
        empty = self.hive("stats", "--log", self.path("none.log"))
        self.assertEqual(empty.returncode, 0, empty.stderr)
        self.assertIn("executions     0", empty.stdout)


class AuditRunPathTest(hive_test.SandboxTestCase):
    """Every run leaves a signed record; a run that cannot be audited does not happen."""

    def test_50_concurrent_runs_give_50_records_and_a_valid_chain(self):
        before = len(self.records())

        def run(_):
            return self.hive("exec", "--", "/bin/true")

        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(run, range(50)))
        for r in results:
            self.assertEqual(r.returncode, 0, r.stderr)
        runs = [rec for rec in self.records()[before:] if rec["event"] == "run"]
        self.assertEqual(len(runs), 50)
        v = self.hive("audit", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_report_names_the_audit_record(self):
        r, report = self.report("exec", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNotNone(report)
        last = self.records()[-1]
        self.assertEqual(report["audit"]["seq"], last["seq"])
        self.assertEqual(report["audit"]["log"], os.path.join(self.state_dir, "audit.log"))
        with open(os.path.join(self.state_dir, "audit.log"), "rb") as f:
            line = f.read().splitlines()[-1]
        self.assertEqual(report["audit"]["hash"], hashlib.sha256(line).hexdigest())

    def test_read_only_log_location_refuses_the_run_with_125(self):
        ro = self.path("ro")
        os.makedirs(ro)
        # Root ignores file modes, so the location is made read-only by the kernel: a
        # read-only bind mount of the directory, undone before tear-down checks mounts.
        subprocess.run(["mount", "--bind", ro, ro], check=True)
        run_dirs = os.path.join(self.state_dir, "runs")
        before = set(os.listdir(run_dirs)) if os.path.isdir(run_dirs) else set()
        runs = []
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", ro], check=True)
            # The policy moves only the log there; the state dir stays writable, so nothing
            # but the audit log can be what refuses the run. With a seccomp listener the log
            # is opened while the child sets up, without one before the clone: both refuse.
            for profile in ("default", "none"):
                marker = self.path(f"ran-{profile}")
                policy = self.write(f"policy-{profile}.yml",
                                    f"security:\n  audit:\n    log: {ro}/audit.log\n"
                                    f"  process:\n    seccomp_profile: {profile}\n")
                runs.append((profile, marker, self.hive(
                    "exec", "--policy", policy, "--bind", f"{self.tmp}:{self.tmp}:rw",
                    "--", "/bin/sh", "-c", f"touch {marker}")))
        finally:
            subprocess.run(["umount", ro], check=True)
        for profile, marker, r in runs:
            self.assertEqual(r.returncode, 125, profile + ": " + r.stdout + r.stderr)
            self.assertIn("refusing to run unaudited", r.stderr)
            self.assertIn("Read-only file system", r.stderr)
            self.assertFalse(os.path.exists(marker), f"{profile}: ran without an audit record")
            self.assertEqual(set(os.listdir(run_dirs)), before, f"{profile}: run state left")

    def test_a_run_with_its_key_missing_is_refused_and_the_key_pair_kept(self):
        r = self.hive("exec", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        keys = os.path.join(self.state_dir, "keys")
        with open(os.path.join(keys, "audit.pub")) as f:
            pub = f.read()
        os.unlink(os.path.join(keys, "audit.key"))
        marker = self.path("ran")
        r = self.hive("exec", "--bind", f"{self.tmp}:{self.tmp}:rw", "--",
                      "/bin/sh", "-c", f"touch {marker}")
        self.assertEqual(r.returncode, 125, r.stdout + r.stderr)
        self.assertIn("--lost-key", r.stderr)
        self.assertFalse(os.path.exists(marker))
        with open(os.path.join(keys, "audit.pub")) as f:
            self.assertEqual(f.read(), pub)
        v = self.hive("audit", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def records(self):
        path = os.path.join(self.state_dir, "audit.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]


if __name__ == "__main__":
    hive_test.main()
