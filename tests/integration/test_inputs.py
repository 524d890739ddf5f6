"""Every file hive-run parses is an untrusted input: a FIFO, a device or a huge file is refused
with 125 before it can block hive-run or fill its memory; numbers do not wrap; a bundle cannot
move the audit log or make an error message quote a file outside the bundle; and nothing of a
refused run is left behind."""
import json
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

BUNDLES = os.path.join(hive_test.SOURCE_ROOT, "bundles")
PYTHON_ROOTFS = os.path.join(BUNDLES, "python", "rootfs")

# A regression makes hive-run block on a FIFO or loop over a bomb: the test fails at this
# timeout instead of hanging the suite.
STUCK = 60
SECRET = "SECRETSECRETSECRET"


def limit_memory():
    """For runs that, on a regression, read /dev/zero or expand a bomb: die at 1 GiB instead
    of taking the machine's memory."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


class Inputs(hive_test.SandboxTestCase):
    def hive_bounded(self, *args, memory=False):
        """hive() that fails the test rather than waiting on a stuck hive-run."""
        cmd = [hive_test.HIVE_RUN, "--state-dir", self.state_dir, *args]
        env = dict(os.environ)
        env.pop("HIVE_RUN_STATE_DIR", None)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=STUCK, env=env,
                                  preexec_fn=limit_memory if memory else None)
        except subprocess.TimeoutExpired:
            self.fail(f"hive-run did not finish in {STUCK} s: {args}")

    def assertRefused(self, r, *needles):
        self.assertEqual(r.returncode, 125, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)
        self.assertNoRunState()

    def bundle(self, name, policy=None, config=None):
        if not os.path.isdir(PYTHON_ROOTFS):
            self.skipTest("bundles/python rootfs not made (run the setup script)")
        with open(os.path.join(BUNDLES, "python", "config.json")) as f:
            c = json.load(f)
        c["root"]["path"] = PYTHON_ROOTFS
        d = self.path(name)
        os.makedirs(d)
        with open(os.path.join(d, "config.json"), "w") as f:
            f.write(config if config is not None else json.dumps(c))
        if policy is not None:
            with open(os.path.join(d, "policy.yml"), "w") as f:
                f.write(policy)
        return d

    # Item: the audit destination is the operator's.
    def test_bundle_policy_may_not_move_the_audit_log(self):
        moved = self.path("moved.log")
        policy = f"security:\n  audit:\n    log: {moved}\n"
        d = self.bundle("b", policy=policy)
        r = self.hive(d, "--", "python3", "-c", "pass")
        self.assertRefused(r, f"{d}/policy.yml:2:3: security.audit:")
        self.assertFalse(os.path.exists(moved), "the bundle chose where the audit log goes")
        # The operator may, with --policy.
        op = self.write("op.yml", policy)
        r = self.hive("--policy", op, d, "--", "python3", "-c", "pass")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(moved))

    # Item: never quote a file reached through a symlink the bundle controls.
    def test_symlinked_bundle_files_do_not_leak_into_errors(self):
        secret = self.write("shadow", f"root:$6$salt${SECRET}:19000:0:99999:7:::\n"
                                      f"daemon:*:{SECRET}:0:99999:7:::\n", mode=0o600)
        d = self.bundle("b")
        os.symlink(secret, os.path.join(d, "policy.yml"))
        r = self.hive(d, "--", "python3", "-c", "pass")
        self.assertRefused(r, "leads outside")
        self.assertNotIn(SECRET, r.stderr + r.stdout)
        os.unlink(os.path.join(d, "policy.yml"))
        os.rename(os.path.join(d, "config.json"), self.path("config.json"))
        os.symlink(self.path("config.json"), os.path.join(d, "config.json"))
        self.assertRefused(self.hive(d), "config.json", "leads outside")

    # Item: regular files only, under a cap, and no waiting on a FIFO.
    def test_fifos_are_refused_not_waited_on(self):
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        self.assertRefused(self.hive_bounded("exec", "--policy", fifo, "--", "/bin/true"),
                           "is a FIFO, not a regular file")
        self.assertRefused(self.hive_bounded("policy", "check", fifo), "is a FIFO")
        d = self.bundle("b")
        os.mkfifo(os.path.join(d, "policy.yml"))
        self.assertRefused(self.hive_bounded(d), "policy.yml` is a FIFO")
        os.unlink(os.path.join(d, "policy.yml"))
        os.unlink(os.path.join(d, "config.json"))
        os.mkfifo(os.path.join(d, "config.json"))
        self.assertRefused(self.hive_bounded(d), "config.json` is a FIFO")
        profile = self.write("p.yml", f"security:\n  process:\n    seccomp_profile: {fifo}\n")
        self.assertRefused(self.hive_bounded("policy", "check", profile))
        self.assertRefused(self.hive_bounded("analyze", fifo), "is a FIFO")

    def test_devices_and_huge_files_are_refused(self):
        self.assertRefused(self.hive_bounded("exec", "--policy", "/dev/zero", "--", "/bin/true",
                                             memory=True),
                           "policy `/dev/zero` is a character device, not a regular file")
        big = self.write("big.yml", "#" * (2 << 20))
        self.assertRefused(self.hive("exec", "--policy", big, "--", "/bin/true"),
                           "is 2097152 bytes, more than the limit of 1048576 bytes for a policy")
        d = self.bundle("b", config=" " * (5 << 20))
        self.assertRefused(self.hive(d), "more than the limit of 4194304 bytes")
        huge = self.path("huge.sh")
        with open(huge, "w") as f:
            f.truncate(65 << 20)
        self.assertRefused(self.hive("script", huge), "more than the limit of 67108864 bytes")
        # Scripts may be large, just not unbounded.
        script = self.write("big.sh", "#" + "x" * (5 << 20) + "\necho big-ok\n")
        r = self.hive("script", script)
        self.assertEqual((r.returncode, r.stdout), (0, "big-ok\n"), r.stderr)

    # Item: seccomp group expansion is bounded, and `policy check` sees it too.
    def test_nested_group_profile_is_refused_by_check_and_run(self):
        groups = ["  g0: [" + ", ".join(f"s{i}" for i in range(8)) + "]"]
        for g in range(1, 12):
            groups.append(f"  g{g}: [" + ", ".join([f'"@g{g - 1}"'] * 8) + "]")
        profile = self.write("bomb.yaml", "defaultAction: SCMP_ACT_ALLOW\ngroups:\n" +
                             "\n".join(groups) +
                             "\nsyscalls:\n  - names: ['@g11']\n    action: SCMP_ACT_ERRNO\n")
        self.assertLess(os.path.getsize(profile), 1000)
        policy = self.write("p.yml", f"security:\n  process:\n    seccomp_profile: {profile}\n")
        for args in (["policy", "check", policy], ["exec", "--policy", policy, "--", "/bin/true"]):
            r = self.hive_bounded(*args, memory=True)
            self.assertRefused(r, 'syscall group "@g5" expands to more than 65536 names')

    def test_alias_bomb_profile_is_refused(self):
        lines = ["  a0: &a0 [x, x, x, x, x, x, x, x]"]
        for i in range(1, 10):
            lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 8) + "]")
        profile = self.write("alias.yaml", "defaultAction: SCMP_ACT_ALLOW\ncomment:\n" +
                             "\n".join(lines) + "\nsyscalls: []\n")
        policy = self.write("p.yml", f"security:\n  process:\n    seccomp_profile: {profile}\n")
        r = self.hive_bounded("policy", "check", policy, memory=True)
        self.assertRefused(r, "aliases (*name) expand to too many nodes")

    # Item: one number parser with ranges, on the command line and in the policy.
    def test_numbers_out_of_range_are_refused(self):
        for mb in ("17592186044928", "99999999999999999999", "0", "1e3"):
            r = self.hive("exec", "--memory", mb, "--", "/bin/true")
            self.assertRefused(r, "--memory (MiB):")
        self.assertRefused(self.hive("exec", "--timeout", "1e400", "--", "/bin/true"),
                           "--timeout (seconds):")
        r = self.hive("audit", "show", "--last", "-1")
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("--last (records):", r.stderr)
        p = self.write("p.yml", "security:\n  execution:\n    max_processes: 4294967297\n")
        for args in (["policy", "check", p], ["exec", "--policy", p, "--", "/bin/true"]):
            self.assertRefused(self.hive(*args),
                               "security.execution.max_processes: 4294967297 is out of range "
                               "(0..4194304)")

    def test_report_limits_are_what_was_asked(self):
        r, rep = self.report("exec", "--memory", "1073741824", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rep["limits"]["memory_mb"], 1073741824)

    # Items: multi-document policies, duplicate keys, many environment variables.
    def test_multi_document_policy_is_refused(self):
        p = self.write("p.yml", "security:\n  execution:\n    memory_mb: 64\n---\n"
                                "security:\n  execution:\n    memory_mb: 99999\n")
        self.assertRefused(self.hive("exec", "--policy", p, "--", "/bin/true"),
                           f"{p}:5: a policy is one YAML document")

    def test_duplicate_json_keys_are_refused(self):
        with open(os.path.join(BUNDLES, "python", "config.json")) as f:
            text = f.read()
        text = text.replace('"args": [', '"args": ["python3", "-c", "print(1)"], "args": [', 1)
        d = self.bundle("b", config=text)
        self.assertRefused(self.hive(d), "config.json: process.args: duplicate key")

    def test_many_environment_variables(self):
        with open(os.path.join(BUNDLES, "python", "config.json")) as f:
            c = json.load(f)
        c["root"]["path"] = PYTHON_ROOTFS
        c["process"]["env"] += [f"V{i}={i}" for i in range(100000)] + ["V7=last"]
        c["process"]["args"] = ["python3", "-c",
                                "import os; print(os.environ['V7'], os.environ['V99999'])"]
        d = self.bundle("b", config=json.dumps(c))
        r = self.hive_bounded(d)
        self.assertEqual((r.returncode, r.stdout), (0, "last 99999\n"), r.stderr)


if __name__ == "__main__":
    hive_test.main()
