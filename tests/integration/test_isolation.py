"""What a process sees from inside the built-in sandbox, asserted through the static probe."""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402


def kv(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, v)
    return out


class Isolation(hive_test.SandboxTestCase):
    def test_pid_namespace(self):
        r = self.probe("whoami")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLessEqual(int(kv(r.stdout)["pid"]), 2)

    def test_hostname_differs(self):
        r = self.probe("whoami")
        self.assertNotEqual(kv(r.stdout)["hostname"], socket.gethostname())
        self.assertEqual(kv(r.stdout)["hostname"], "hive")

    def test_only_loopback_interface(self):
        r = self.probe("ifaces")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["iface=lo"])

    def test_host_loopback_listener_unreachable(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            port = srv.getsockname()[1]
            # The listener really is reachable from the host, so a refusal inside means isolation.
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass
            r = self.probe("connect", f"127.0.0.1:{port}")
        self.assertEqual(r.returncode, 1, r.stdout)
        # With the network off the default profile refuses inet sockets (EPERM, recorded) and
        # Landlock refuses TCP connects (EACCES), ahead of the namespace's own refusal.
        self.assertIn(kv(r.stdout)["error"],
                      ("EPERM", "EACCES", "ENETUNREACH", "ECONNREFUSED", "EHOSTUNREACH"))

    def test_host_paths_absent(self):
        for path in ("/root", "/home", hive_test.SOURCE_ROOT, self.tmp, "/var", "/etc/shadow"):
            r = self.probe("exists", path)
            self.assertEqual(r.returncode, 1, f"{path} is visible: {r.stdout}")
            self.assertEqual(kv(r.stdout)["error"], "ENOENT", path)

    def test_system_dirs_not_writable(self):
        for path in ("/usr/hive-probe", "/etc/hive-probe", "/hive-probe", "/usr/bin/python3"):
            r = self.probe("write", path)
            self.assertEqual(r.returncode, 1, f"{path} was writable")
            self.assertIn(kv(r.stdout)["error"], ("EROFS", "EACCES", "EPERM"), path)
        self.assertFalse(os.path.exists("/usr/hive-probe"))

    def test_proc_sys_read_only(self):
        r = self.probe("write", "/proc/sys/kernel/hostname")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(kv(r.stdout)["error"], ("EROFS", "EACCES", "EPERM"))
        r = self.probe("write", "/proc/sysrq-trigger")
        self.assertEqual(r.returncode, 1, r.stdout)

    def test_no_capabilities_and_no_new_privs(self):
        caps = kv(self.probe("caps").stdout)
        for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(caps[key], 16), 0, key)
        self.assertEqual(caps["NoNewPrivs"], "1")

    def test_uid_map_is_not_identity(self):
        r = self.probe("uidmap")
        fields = r.stdout.split()
        self.assertEqual(len(fields), 3, r.stdout)
        inside, outside, _ = (int(f) for f in fields)
        self.assertEqual(inside, 0)
        self.assertNotEqual(outside, 0)
        who = kv(self.probe("whoami").stdout)
        self.assertEqual(who["uid"], "0")  # root inside, unprivileged outside

    def test_only_stdio_fds(self):
        # An fd hive-run inherits (not close-on-exec) must not reach the sandbox.
        r_fd, w_fd = os.pipe()
        try:
            cmd = [hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--bind",
                   f"{hive_test.PROBE}:/probe", "--", "/probe", "fds"]
            r = subprocess.run(cmd, capture_output=True, text=True, pass_fds=(r_fd, w_fd),
                               timeout=60)
        finally:
            os.close(r_fd)
            os.close(w_fd)
        fds = sorted(int(line.split()[0].split("=")[1]) for line in r.stdout.splitlines())
        self.assertEqual(fds, [0, 1, 2], r.stdout)

    def test_environment_is_clean(self):
        r = self.probe("env", "HIVE_SECRET_TOKEN", env={"HIVE_SECRET_TOKEN": "hunter2"})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertNotIn("hunter2", r.stdout)
        r = self.probe("env", "PYTHONDONTWRITEBYTECODE")  # set by the default policy
        self.assertEqual(r.returncode, 0)

    def test_allowed_paths_writable_others_not(self):
        data = self.path("data")
        ro = self.path("ro")
        os.makedirs(data)
        os.makedirs(ro)
        policy = self.write("policy.yml", f"""security:
  filesystem:
    allowed_paths: ["/tmp", "{data}"]
    read_only_paths: ["{ro}"]
""")
        r = self.probe("write", f"{data}/out.txt", extra=("--policy", policy))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Written as sandbox root, stored on the host as the invoking user.
        st = os.stat(f"{data}/out.txt")
        self.assertEqual(st.st_uid, os.getuid())
        r = self.probe("write", f"{ro}/out.txt", extra=("--policy", policy))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(kv(r.stdout)["error"], "EROFS")
        self.assertFalse(os.path.exists(f"{ro}/out.txt"))
        # The sandbox's /tmp is its own, not the host's.
        r = self.probe("write", "/tmp/hive-private-probe", extra=("--policy", policy))
        self.assertEqual(r.returncode, 0)
        self.assertFalse(os.path.exists("/tmp/hive-private-probe"))

    def test_output_dir_belongs_to_invoker(self):
        r = self.probe("write", "/run/hive/output/result.txt", extra=("--id", "outrun"))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.state_dir, "runs", "outrun", "output", "result.txt")
        self.assertTrue(os.path.exists(out))
        self.assertEqual(os.stat(out).st_uid, os.getuid())
        r = self.probe("write", "/run/hive/input/x", extra=("--id", "inrun"))
        self.assertEqual(r.returncode, 1)


if __name__ == "__main__":
    hive_test.main()
