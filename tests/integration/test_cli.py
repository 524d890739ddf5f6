"""The command-line contract (DESIGN §4): script, exec and bundle runs, exit statuses, bad
input refused with 125 and nothing left behind."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

BUNDLES = os.path.join(hive_test.SOURCE_ROOT, "bundles")


class Scripts(hive_test.SandboxTestCase):
    def test_hello_prints_and_passes_args(self):
        script = self.write("hello.py", "import sys\nprint('hello', *sys.argv[1:])\n")
        r = self.hive("script", script, "world")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "hello world\n")

    def test_exit_code_passes_through(self):
        script = self.write("seven.py", "raise SystemExit(7)\n")
        self.assertEqual(self.hive("script", script).returncode, 7)

    def test_signal_death_is_128_plus_n(self):
        script = self.write("die.py", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
        r, rep = self.report("script", script)
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertEqual(rep["outcome"], "signaled")
        self.assertEqual(rep["signal"], 9)

    def test_shebang_picks_interpreter(self):
        script = self.write("job", "#!/bin/sh\necho from-sh \"$1\"\n", mode=0o755)
        r = self.hive("script", script, "x")
        self.assertEqual(r.stdout, "from-sh x\n", r.stderr)

    def test_missing_script_is_125(self):
        r = self.hive("script", self.path("nope.py"))
        self.assertEqual(r.returncode, 125)
        self.assertIn("nope.py", r.stderr)
        self.assertIn("No such file", r.stderr)
        self.assertNoRunState()

    def test_report_and_run_directory(self):
        script = self.write("w.py", "open('/run/hive/output/o.txt','w').write('x')\n")
        r, rep = self.report("script", "--id", "rep1", script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rep["schema"], "hive-run/report/v1")
        self.assertEqual(rep["outcome"], "success")
        self.assertEqual(rep["run_id"], "rep1")
        self.assertEqual(len(rep["script_sha256"]), 64)
        self.assertEqual(rep["limits"]["memory_mb"], 512)
        run = os.path.join(self.state_dir, "runs", "rep1")
        with open(os.path.join(run, "logs", "execution.json")) as f:
            self.assertEqual(json.load(f)["run_id"], "rep1")
        self.assertTrue(os.path.exists(os.path.join(run, "output", "o.txt")))
        self.assertTrue(os.path.exists(os.path.join(run, "input", "w.py")))

    def test_capture(self):
        script = self.write("c.py", "import sys\nprint('out')\nprint('err', file=sys.stderr)\n")
        r = self.hive("script", "--capture", "--id", "cap", script)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        logs = os.path.join(self.state_dir, "runs", "cap", "logs")
        with open(os.path.join(logs, "stdout")) as f:
            self.assertEqual(f.read(), "out\n")
        with open(os.path.join(logs, "stderr")) as f:
            self.assertEqual(f.read(), "err\n")

    def test_runs_list_show_clean(self):
        script = self.write("ok.py", "pass\n")
        self.hive("script", "--id", "r-one", script)
        r = self.hive("runs", "list")
        self.assertIn("r-one", r.stdout)
        self.assertIn("success", r.stdout)
        r = self.hive("runs", "show", "r-one")
        self.assertEqual(json.loads(r.stdout)["outcome"], "success")
        r = self.hive("runs", "clean", "--keep-logs")
        self.assertEqual(r.returncode, 0)
        run = os.path.join(self.state_dir, "runs", "r-one")
        self.assertFalse(os.path.exists(os.path.join(run, "output")))
        self.assertTrue(os.path.exists(os.path.join(run, "logs", "execution.json")))
        self.hive("runs", "clean")
        self.assertFalse(os.path.exists(run))


class Exec(hive_test.SandboxTestCase):
    def test_command_not_found_is_127(self):
        r = self.hive("exec", "--", "/usr/bin/definitely-not-here")
        self.assertEqual(r.returncode, 127, r.stderr)
        self.assertIn("No such file", r.stderr)
        self.assertNoRunState()

    def test_not_executable_is_126(self):
        r = self.hive("exec", "--", "/etc/passwd")
        self.assertEqual(r.returncode, 126, r.stderr)
        self.assertIn("Permission denied", r.stderr)
        self.assertNoRunState()

    def test_sigterm_is_forwarded_then_torn_down(self):
        cmd = [hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--bind",
               f"{hive_test.PROBE}:/probe", "--", "/probe", "spin-setsid", self.marker]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline(), "spinning\n")
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        # The probe's pid-1 payload has no SIGTERM handler: it dies of it.
        self.assertEqual(rc, 128 + signal.SIGTERM)

    def test_loopback_is_up_and_private(self):
        # lo is up (SIOCGIFFLAGS works on any socket family); with the network off, inet
        # sockets are refused even on loopback (issue 4: seccomp records it, Landlock refuses
        # TCP bind/connect).
        r = self.hive("exec", "--", "python3", "-c", """
import fcntl, socket, struct
u = socket.socket(socket.AF_UNIX)
flags = struct.unpack("16sH", fcntl.ioctl(u, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
print("lo up" if flags & 1 else "lo down")
try:
    socket.socket().bind(("127.0.0.1", 0)); print("inet allowed")
except PermissionError:
    print("inet refused")
""")
        self.assertEqual(r.stdout, "lo up\ninet refused\n", r.stderr)

    def test_unmapped_user_is_refused(self):
        with open(os.path.join(BUNDLES, "python", "config.json")) as f:
            c = json.load(f)
        c["linux"]["uidMappings"] = [{"containerID": 1000, "hostID": 200000, "size": 1}]
        c["root"]["path"] = os.path.join(BUNDLES, "python", "rootfs")
        d = self.path("unmapped")
        os.makedirs(d)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f)
        r = self.hive(d)
        self.assertEqual(r.returncode, 125)
        self.assertIn("linux.uidMappings: container uid 0 is not mapped", r.stderr)

    def test_bad_bind_is_125(self):
        r = self.hive("exec", "--bind", "/nonexistent-src:/x", "--", "/bin/true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("/nonexistent-src", r.stderr)


class Policies(hive_test.SandboxTestCase):
    def test_bad_policy_names_file_line_and_key(self):
        policy = self.write("bad.yml", "security:\n  execution:\n    memory_mb: lots\n")
        r = self.hive("exec", "--policy", policy, "--", "/bin/true")
        self.assertEqual(r.returncode, 125)
        self.assertIn("bad.yml:3:16: security.execution.memory_mb", r.stderr)
        self.assertIn('"lots"', r.stderr)
        self.assertNoRunState()

    def test_unknown_key_is_refused(self):
        policy = self.write("bad.yml", "security:\n  filesystem:\n    alowed_paths: []\n")
        r = self.hive("policy", "check", policy)
        self.assertEqual(r.returncode, 125)
        self.assertIn("security.filesystem.alowed_paths: unknown key", r.stderr)

    def test_out_of_range_is_refused(self):
        policy = self.write("bad.yml", "security:\n  network:\n    blocked_ports: [70000]\n")
        r = self.hive("policy", "check", policy)
        self.assertEqual(r.returncode, 125)
        self.assertIn("security.network.blocked_ports[0]", r.stderr)

    def test_seed_policy_loads_unchanged(self):
        seed = os.path.join(hive_test.SOURCE_ROOT, "tests", "fixtures", "security_policy.yml")
        r = self.hive("policy", "check", seed)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.hive("policy", "show", seed)
        self.assertIn("max_processes: 5", r.stdout)

    def test_show_defaults(self):
        r = self.hive("policy", "show")
        self.assertEqual(r.returncode, 0)
        for line in ("memory_mb: 512", "max_processes: 64", "timeout_seconds: 300"):
            self.assertIn(line, r.stdout)

    def test_show_output_round_trips(self):
        shown = self.write("shown.yml", self.hive("policy", "show").stdout)
        self.assertEqual(self.hive("policy", "check", shown).returncode, 0)

    def test_compile_prints_oci_spec(self):
        r = self.hive("policy", "compile")
        spec = json.loads(r.stdout)
        types = {n["type"] for n in spec["linux"]["namespaces"]}
        self.assertEqual(types, {"user", "mount", "pid", "network", "uts", "ipc", "cgroup"})
        self.assertEqual(spec["linux"]["resources"]["memory"]["limit"], 512 << 20)


class Bundles(hive_test.SandboxTestCase):
    def test_python_bundle_small_pid(self):
        r = self.hive(os.path.join(BUNDLES, "python"), "--", "python3", "-c",
                      "import os; print(os.getpid())")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLessEqual(int(r.stdout), 2)

    def test_busybox_bundle(self):
        busybox = os.path.join(BUNDLES, "busybox")
        if not os.path.exists(os.path.join(busybox, "rootfs", "bin", "busybox")):
            self.skipTest("bundles/busybox rootfs not made (run the setup script)")
        r = self.hive(busybox, "--", "sh", "-c", "echo $$; hostname; ls /usr 2>&1; touch /x")
        lines = r.stdout.split()
        self.assertLessEqual(int(lines[0]), 2)
        self.assertEqual(lines[1], "hive")
        self.assertIn("Read-only file system", r.stderr)
        self.assertNotEqual(r.returncode, 0)

    def test_bundle_init_makes_runnable_bundle(self):
        d = self.path("b")
        r = self.hive("bundle", "init", "--template", "python", d, state=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.hive(d, "--", "python3", "-c", "print(6*7)")
        self.assertEqual(r.stdout, "42\n", r.stderr)
        r = self.hive("bundle", "init", "--template", "python", d, state=False)
        self.assertEqual(r.returncode, 125)

    def _bundle(self, config, make_rootfs=True):
        d = self.path("bad")
        os.makedirs(d, exist_ok=True)
        if make_rootfs:
            os.makedirs(os.path.join(d, "rootfs"), exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            f.write(config if isinstance(config, str) else json.dumps(config))
        return d

    def base_config(self):
        with open(os.path.join(BUNDLES, "python", "config.json")) as f:
            return json.load(f)

    def test_malformed_config_names_json_path(self):
        c = self.base_config()
        c["process"]["args"] = ["python3", 7]
        r = self.hive(self._bundle(c))
        self.assertEqual(r.returncode, 125)
        self.assertIn("process.args[1]", r.stderr)
        self.assertNoRunState()

    def test_invalid_json(self):
        r = self.hive(self._bundle("{not json"))
        self.assertEqual(r.returncode, 125)
        self.assertIn("invalid JSON", r.stderr)

    def test_missing_rootfs(self):
        r = self.hive(self._bundle(self.base_config(), make_rootfs=False))
        self.assertEqual(r.returncode, 125)
        self.assertIn("root.path", r.stderr)
        self.assertNoRunState()

    def test_config_cannot_loosen_policy(self):
        c = self.base_config()
        c["linux"]["resources"] = {"memory": {"limit": 4 << 30}}
        r = self.hive(self._bundle(c))
        self.assertEqual(r.returncode, 125)
        self.assertIn("linux.resources.memory.limit", r.stderr)
        self.assertIn("memory_mb is 512", r.stderr)
        c = self.base_config()
        c["process"]["capabilities"] = {"bounding": ["CAP_SYS_ADMIN"]}
        r = self.hive(self._bundle(c))
        self.assertEqual(r.returncode, 125)
        self.assertIn("CAP_SYS_ADMIN", r.stderr)


if __name__ == "__main__":
    hive_test.main()
