"""Seccomp end to end: profiles behave as written inside a real sandbox, ordinary Python runs
unchanged under `default`, and every denial is in the report (and only denials are).

The sandboxed side is Python with ctypes, so a test can make any system call it needs.
"""
import json
import os
import subprocess
import textwrap

import hive_test

PYTHON = "/usr/bin/python3"
PODMAN = "/usr/share/containers/seccomp.json"

# Prints {"name": errno or 0} for each call; the libc `syscall` wrapper sets errno.
SYSCALLS = textwrap.dedent("""
    import ctypes, json, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    def call(*args):
        rc = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
        return ctypes.get_errno() if rc < 0 else 0
""")


def policy(case, profile="default", blocked=(), writable=(), network_off=True):
    lines = ["security:", "  filesystem:",
             f"    allowed_paths: [{', '.join(json.dumps(w) for w in writable)}]",
             f"    blocked_operations: [{', '.join(blocked)}]",
             "  network:", "    allowed_domains: []" if network_off else
             "    allowed_domains: [\"example.com\"]",
             "  process:", f"    seccomp_profile: {json.dumps(profile)}"]
    return case.write("policy.yml", "\n".join(lines) + "\n")


class SeccompTest(hive_test.SandboxTestCase):
    def python(self, code, profile="default", blocked=(), writable=(), **kw):
        p = policy(self, profile, blocked, writable)
        r, rep = self.report("exec", "--policy", p, "--", PYTHON, "-c", code, **kw)
        self.assertIsNotNone(rep, f"no report: {r.stderr}")
        return r, rep

    def results(self, r):
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                return json.loads(line)
        self.fail(f"no result line\nstdout: {r.stdout}\nstderr: {r.stderr}")

    def violations(self, rep):
        return {v["detail"]: (v["type"], v["count"]) for v in rep.get("violations", [])}

    def test_ordinary_python_runs_unchanged_under_default(self):
        out = self.path("output")
        os.makedirs(out)
        os.chmod(out, 0o777)
        code = textwrap.dedent(f"""
            import json, math, re, os, subprocess, tempfile, threading
            t = threading.Thread(target=lambda: None); t.start(); t.join()
            data = {{"pi": round(math.pi, 5), "words": re.findall(r"[a-z]+", "Hive run 42 ok")}}
            with open(os.path.join({out!r}, "result.json"), "w") as f:
                json.dump(data, f)
            with tempfile.NamedTemporaryFile("w", dir="/tmp", delete=False) as f:
                f.write("scratch")
            subprocess.run(["/bin/true"], check=True)
            print("done")
        """)
        r, rep = self.python(code, writable=[out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done", r.stdout)
        with open(os.path.join(out, "result.json")) as f:
            self.assertEqual(json.load(f), {"pi": 3.14159, "words": ["ive", "run", "ok"]})
        self.assertEqual(rep.get("violations", []), [])
        self.assertEqual(rep["enforced"]["seccomp"]["profile"], "default")

    def test_denied_call_gets_eperm_and_is_recorded_once_per_call(self):
        code = SYSCALLS + textwrap.dedent("""
            print(json.dumps({"ptrace": [call(101, 0, 0, 0, 0) for _ in range(3)],
                              "unshare": call(272, 0x10000000)}))
        """)
        r, rep = self.python(code)
        res = self.results(r)
        self.assertEqual(res["ptrace"], [1, 1, 1])  # EPERM
        self.assertEqual(res["unshare"], 1)
        v = self.violations(rep)
        self.assertEqual(v.get("ptrace"), ("syscall", 3))
        self.assertEqual(v.get("unshare"), ("syscall", 1))
        self.assertTrue(any(a.get("type") == "violation" for a in rep.get("alerts", [])),
                        rep.get("alerts"))

    def test_denials_are_recorded_when_hive_run_lacks_cap_sys_ptrace(self):
        # Without CAP_SYS_PTRACE the supervisor can take the listener only from a dumpable
        # payload, so the payload gets its own memory instead of sharing pid 1's.
        code = SYSCALLS + "print(json.dumps({'ptrace': call(101, 0, 0, 0, 0)}))\n"
        rep_path = self.path("report.json")
        r = subprocess.run(["setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps", "-sys_ptrace",
                            hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--report",
                            rep_path, "--policy", policy(self), "--", PYTHON, "-c", code],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.results(r), {"ptrace": 1})  # EPERM
        with open(rep_path) as f:
            rep = json.load(f)
        self.assertEqual(self.violations(rep).get("ptrace"), ("syscall", 1))
        self.assertTrue(rep["enforced"]["seccomp"]["denials_recorded"])

    def test_unknown_syscalls_answer_enosys_and_are_not_denials(self):
        code = SYSCALLS + textwrap.dedent("""
            print(json.dumps({"future": call(470), "clone3": call(435, 0, 0)}))
        """)
        r, rep = self.python(code)
        res = self.results(r)
        self.assertEqual(res, {"future": 38, "clone3": 38})  # ENOSYS
        self.assertEqual(rep.get("violations", []), [])

    def test_x32_call_is_denied_and_named(self):
        code = SYSCALLS + "print(json.dumps({'x32': call(0x40000000 | 39)}))\n"
        r, rep = self.python(code)
        self.assertEqual(self.results(r), {"x32": 1})
        self.assertIn("getpid (x32 ABI)", self.violations(rep))

    def test_network_off_denies_inet_sockets_and_records_them(self):
        code = textwrap.dedent("""
            import json, socket
            out = {}
            for fam in ("AF_INET", "AF_INET6", "AF_UNIX"):
                try:
                    socket.socket(getattr(socket, fam)).close(); out[fam] = 0
                except OSError as e:
                    out[fam] = e.errno
            print(json.dumps(out))
        """)
        r, rep = self.python(code)
        self.assertEqual(self.results(r), {"AF_INET": 1, "AF_INET6": 1, "AF_UNIX": 0})
        self.assertEqual(self.violations(rep).get("socket (network off)"), ("network", 2))

    def test_blocked_delete_is_denied_recorded_and_the_file_survives(self):
        work = self.path("work")
        os.makedirs(work)
        victim = self.write("work/victim", "precious")
        code = textwrap.dedent(f"""
            import json, os
            out = {{}}
            for name, fn in (("unlink", lambda: os.unlink({victim!r})),
                             ("replace", lambda: os.replace({victim!r}, {victim!r} + ".2"))):
                try:
                    fn(); out[name] = 0
                except OSError as e:
                    out[name] = e.errno
            print(json.dumps(out))
        """)
        r, rep = self.python(code, blocked=["delete"], writable=[work])
        self.assertEqual(self.results(r), {"unlink": 1, "replace": 1})
        v = self.violations(rep)
        self.assertEqual(v.get("unlink (delete)"), ("blocked_operation", 1))
        self.assertEqual(v.get("rename (delete)"), ("blocked_operation", 1))
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")
        self.assertEqual(rep["enforced"]["seccomp"]["blocked_operations"], ["delete"])

    def test_strict_refuses_new_processes(self):
        code = textwrap.dedent("""
            import json, os
            try:
                pid = os.fork()
                if pid == 0:
                    os._exit(0)
                os.waitpid(pid, 0); print(json.dumps({"fork": 0}))
            except OSError as e:
                print(json.dumps({"fork": e.errno}))
        """)
        r, rep = self.python(code, profile="strict")
        self.assertEqual(self.results(r), {"fork": 1})
        self.assertIn("clone", self.violations(rep))

    def test_permissive_allows_all_but_the_dangerous_list(self):
        code = SYSCALLS + textwrap.dedent("""
            print(json.dumps({"ptrace": call(101, 0, 0, 0, 0), "getppid": call(110)}))
        """)
        r, rep = self.python(code, profile="permissive")
        self.assertEqual(self.results(r), {"ptrace": 1, "getppid": 0})
        self.assertEqual(list(self.violations(rep)), ["ptrace"])

    def test_podmans_profile_loads_unchanged_and_behaves_as_written(self):
        if not os.path.exists(PODMAN):
            self.skipTest(f"{PODMAN} is not installed")
        code = SYSCALLS + textwrap.dedent("""
            print(json.dumps({"bpf": call(321, 0, 0, 0), "getpid": call(39)}))
        """)
        r, rep = self.python(code, profile=PODMAN)
        self.assertEqual(self.results(r), {"bpf": 1, "getpid": 0})
        self.assertEqual(self.violations(rep).get("bpf"), ("syscall", 1))
        self.assertEqual(rep["enforced"]["seccomp"]["profile"], "seccomp")

    def test_unknown_profile_is_refused_before_anything_runs(self):
        p = policy(self, profile="no-such-profile")
        r = self.hive("exec", "--policy", p, "--", "/bin/true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("no-such-profile", r.stderr)


if __name__ == "__main__":
    hive_test.main()
