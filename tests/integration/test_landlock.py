"""Landlock end to end: the second filesystem layer inside a real sandbox, seen through
what seccomp lets pass (renameat2 with RENAME_NOREPLACE, open with O_TRUNC, TCP under an
unconfined profile), and the report's `enforced.landlock` section."""
import json
import os
import textwrap

import hive_test

PYTHON = "/usr/bin/python3"


def kernel_abi():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    v = libc.syscall(ctypes.c_long(444), None, ctypes.c_long(0), ctypes.c_long(1))
    return max(v, 0)


class LandlockTest(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        if kernel_abi() < 1:
            self.skipTest("Landlock is not available on this kernel")

    def run_python(self, code, blocked=(), writable=(), profile="default"):
        text = ("security:\n  filesystem:\n"
                f"    allowed_paths: [{', '.join(json.dumps(w) for w in writable)}]\n"
                f"    blocked_operations: [{', '.join(blocked)}]\n"
                "  network:\n    allowed_domains: []\n"
                f"  process:\n    seccomp_profile: {profile}\n")
        p = self.write("policy.yml", text)
        r, rep = self.report("exec", "--policy", p, "--", PYTHON, "-c", code)
        self.assertIsNotNone(rep, r.stderr)
        lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
        self.assertTrue(lines, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return json.loads(lines[0]), rep

    def workdir(self):
        work = self.path("work")
        os.makedirs(work, exist_ok=True)
        os.chmod(work, 0o777)
        return work

    def test_writes_land_only_in_allowed_paths(self):
        work = self.workdir()
        code = textwrap.dedent(f"""
            import json
            out = {{}}
            for p in ({work!r} + "/ok", "/tmp/ok", "/var/tmp/hive-landlock-x", "/etc/hive-x"):
                try:
                    open(p, "w").close(); out[p] = 0
                except OSError as e:
                    out[p] = e.errno
            print(json.dumps(out))
        """)
        res, rep = self.run_python(code, writable=[work])
        self.assertEqual(res[work + "/ok"], 0)
        self.assertEqual(res["/tmp/ok"], 0)
        self.assertNotEqual(res["/var/tmp/hive-landlock-x"], 0)
        self.assertNotEqual(res["/etc/hive-x"], 0)
        self.assertFalse(os.path.exists("/var/tmp/hive-landlock-x"))
        ll = rep["enforced"]["landlock"]
        self.assertTrue(ll["applied"])
        self.assertEqual(ll["abi"], kernel_abi())
        self.assertIn(work, ll["filesystem"]["writable"])
        self.assertIn("/tmp", ll["filesystem"]["writable"])

    def test_delete_blocked_also_by_landlock(self):
        # renameat2(RENAME_NOREPLACE) cannot replace, so seccomp lets it through; moving the
        # file out of its directory is a removal for Landlock, which refuses it (EACCES).
        work = self.workdir()
        victim = self.write("work/victim", "precious")
        code = textwrap.dedent(f"""
            import ctypes, json
            libc = ctypes.CDLL(None, use_errno=True)
            rc = libc.renameat2(-100, {victim!r}.encode(), -100, ({victim!r} + ".moved").encode(), 1)
            print(json.dumps({{"noreplace": ctypes.get_errno() if rc < 0 else 0}}))
        """)
        res, rep = self.run_python(code, blocked=["delete"], writable=[work])
        self.assertEqual(res["noreplace"], 13)  # EACCES: Landlock, not seccomp's EPERM
        self.assertTrue(os.path.exists(victim))
        self.assertIn("delete", rep["enforced"]["landlock"]["blocked_operations"])

    def test_truncate_blocked_covers_open_with_o_trunc(self):
        if kernel_abi() < 3:
            self.skipTest("needs Landlock ABI 3")
        work = self.workdir()
        victim = self.write("work/victim", "precious", mode=0o666)
        code = textwrap.dedent(f"""
            import json
            try:
                open({victim!r}, "w").close(); rc = 0
            except OSError as e:
                rc = e.errno
            print(json.dumps({{"o_trunc": rc}}))
        """)
        res, _ = self.run_python(code, blocked=["truncate"], writable=[work])
        self.assertEqual(res["o_trunc"], 13)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")

    def test_tcp_refused_by_landlock_when_the_network_is_off(self):
        # Unconfined: no seccomp socket denial, so the connect reaches Landlock.
        if kernel_abi() < 4:
            self.skipTest("needs Landlock ABI 4")
        code = textwrap.dedent("""
            import json, socket
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", 9)); rc = 0
            except OSError as e:
                rc = e.errno
            print(json.dumps({"connect": rc}))
        """)
        res, rep = self.run_python(code, profile="unconfined")
        self.assertEqual(res["connect"], 13)  # EACCES, where the netns alone gives ECONNREFUSED
        self.assertEqual(rep["enforced"]["landlock"]["network"], "tcp bind and connect denied")


if __name__ == "__main__":
    hive_test.main()
