"""`hive-run update --resources FILE|- ID`: a running container's cgroup limits changed within
the policy's ceiling, as podman (a file) and containerd's shim (stdin) send them.

Every container reads one line from its stdin (a pipe of this test) before it does its work,
so the update lands while it runs, before the effect is measured.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oci_case  # noqa: E402

MiB = 1024 * 1024


def setUpModule():
    oci_case.setUpModule("hive-oci-update-rootfs-")


tearDownModule = oci_case.tearDownModule


class Update(oci_case.OciCase):
    tmp_prefix = "hive-oci-update-"
    hive_timeout = 120

    def setUp(self):
        super().setUp()
        self.fds = []
        # The ceiling: 256 MiB, 32 processes.
        self.policy = os.path.join(self.tmp, "policy.yml")
        with open(self.policy, "w") as f:
            f.write("security:\n  execution:\n    memory_mb: 256\n    max_processes: 32\n")

    def tearDown(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        super().tearDown()

    def hive_env(self):
        env = super().hive_env()
        env.pop("HIVE_RUN_POLICY", None)
        return env

    def hive(self, *args, **kw):
        return super().hive("--policy", self.policy, *args, **kw)

    def start(self, cid, script, out):
        """A running container whose program waits for a line on stdin, then runs `script`;
        returns (pid 1, the pipe's write end)."""
        b = self.bundle(["sh", "-c", "read go; " + script])
        r_fd, w_fd = os.pipe()
        self.fds.append(w_fd)
        pid_file = os.path.join(self.tmp, cid + ".pid")
        self.ids.append(cid)
        with open(out, "w") as o:
            r = self.hive("create", "--bundle", b, "--pid-file", pid_file, cid, stdout=o,
                          stdin=r_fd)
        os.close(r_fd)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.hive("start", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            return int(f.read()), w_fd

    def cgroup_file(self, cid, names):
        with open(os.path.join(self.root, cid, "state.json")) as f:
            dirs = json.load(f)["cgroup_dirs"]
        for d in dirs:
            for n in names:
                p = os.path.join(d, n)
                if os.path.exists(p):
                    with open(p) as f:
                        return f.read().strip()
        self.fail(f"none of {names} in {dirs}")

    def update_file(self, cid, resources):
        path = os.path.join(self.tmp, "resources.json")
        with open(path, "w") as f:
            json.dump(resources, f)
        return self.hive("update", f"--resources={path}", cid)

    def test_memory_limit_lowered_then_enforced(self):
        out = os.path.join(self.tmp, "out")
        # 64 MiB through a 64 MiB buffer: fine under 256 MiB, killed under 32 MiB.
        pid, go = self.start("u1", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null && "
                                   "echo survived", out)
        self.assertEqual(self.cgroup_file("u1", ["memory.limit_in_bytes", "memory.max"]),
                         str(256 * MiB))
        r = self.update_file("u1", {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.cgroup_file("u1", ["memory.limit_in_bytes", "memory.max"]),
                         str(32 * MiB))
        os.write(go, b"go\n")
        self.wait(pid)
        with open(out) as f:
            self.assertNotIn("survived", f.read())
        # The kernel's OOM killer acted in the container's cgroup.
        events = self.cgroup_file("u1", ["memory.oom_control", "memory.events"])
        self.assertRegex(events, r"oom_kill [1-9]")

    def test_memory_raised_within_the_ceiling_and_refused_above(self):
        out = os.path.join(self.tmp, "out")
        pid, go = self.start("u2", "echo done", out)
        r = self.update_file("u2", {"memory": {"limit": 64 * MiB}})
        self.assertEqual(r.returncode, 0, r.stderr)
        # Raising again (v1 needs memsw raised first).
        r = self.hive("update", "--resources", "-", "u2",
                      input=json.dumps({"memory": {"limit": 128 * MiB}}))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.cgroup_file("u2", ["memory.limit_in_bytes", "memory.max"]),
                         str(128 * MiB))
        r = self.update_file("u2", {"memory": {"limit": 300 * MiB}})
        self.assertEqual(r.returncode, 1)
        self.assertIn("linux.resources.memory.limit", r.stderr)
        self.assertIn(str(300 * MiB), r.stderr)
        self.assertIn("memory_mb = 256", r.stderr)
        self.assertEqual(self.cgroup_file("u2", ["memory.limit_in_bytes", "memory.max"]),
                         str(128 * MiB), "a refused update changed the limit")
        r = self.update_file("u2", {"pids": {"limit": 33}})
        self.assertEqual(r.returncode, 1)
        self.assertIn("linux.resources.pids.limit", r.stderr)
        self.assertIn("max_processes = 32", r.stderr)
        # Unknown and unsupported fields are refused by name, never dropped.
        for resources, field in (({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]},
                                  "linux.resources.hugepageLimits"),
                                 ({"memory": {"kernel": 1}}, "linux.resources.memory.kernel"),
                                 ({"memory": {"limit": -1}}, "linux.resources.memory.limit"),
                                 ({"memory": {"limit": 64 * MiB, "swap": 128 * MiB}},
                                  "linux.resources.memory.swap"),
                                 ({"cpu": {"shares": 512}}, "linux.resources.cpu.shares")):
            r = self.update_file("u2", resources)
            self.assertEqual(r.returncode, 1, resources)
            self.assertIn(field, r.stderr)
        os.write(go, b"go\n")
        self.assertEqual(self.wait(pid), 0)
        r = self.update_file("u2", {"memory": {"limit": 64 * MiB}})
        self.assertEqual(r.returncode, 1)
        self.assertIn("container not running", r.stderr)
        r = self.update_file("nosuch", {"memory": {"limit": 64 * MiB}})
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)

    def test_pids_limit_honoured(self):
        out = os.path.join(self.tmp, "out")
        pid, go = self.start(
            "u3", "exec 2>&1; i=0; while [ $i -lt 12 ]; do sleep 30 & i=$((i+1)); done", out)
        r = self.hive("update", "--resources", "-", "u3", input='{"pids": {"limit": 5}}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.cgroup_file("u3", ["pids.max"]), "5")
        os.write(go, b"go\n")
        self.wait(pid)  # busybox sh gives up at the first fork that fails
        with open(out) as f:
            text = f.read()
        # pid 1, sh and three sleeps fill the five: the next fork fails.
        self.assertIn("can't fork", text)


if __name__ == "__main__":
    oci_case.main()
