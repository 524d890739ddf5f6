"""`hive-run policy compile --bundle DIR` writes an OCI bundle that runc runs with the same
namespaces, mounts and limits as hive-run itself (issue 13): the same probe is run by both and
their answers compared, and the memory and pids limits are read from the cgroup runc made."""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

RUNC = shutil.which("runc")

# What the sandbox looks like from inside: its namespaces against the host's, its id map,
# hostname, limits and the mount points outside /dev and /proc with their read-only flag.
PROBE = r"""
for ns in user mnt pid net uts ipc cgroup; do echo "ns $ns $(readlink /proc/self/ns/$ns)"; done
echo "uid_map $(cat /proc/self/uid_map | tr -s ' ')"
echo "hostname $(hostname)"
grep -E '^Max (open files|file size|cpu time|core file size)' /proc/self/limits | tr -s ' ' \
  | sed 's/^/limit /'
while read -r _ _ _ _ point opts _; do
  case "$point" in /dev|/dev/*|/proc|/proc/*) continue ;; esac
  case ",$opts," in *,ro,*) echo "mount $point ro" ;; *) echo "mount $point rw" ;; esac
done < /proc/self/mountinfo
echo READY
sleep 3
"""


def answers(text):
    return sorted(line for line in text.splitlines() if line and line != "READY")


class CompiledBundle(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        if not RUNC:
            self.skipTest("runc is not installed (apt-get install runc)")

    def host_ns(self):
        return {ns: os.readlink(f"/proc/self/ns/{ns}")
                for ns in ("user", "mnt", "pid", "net", "uts", "ipc", "cgroup")}

    def test_runc_runs_the_compiled_bundle_like_hive_run(self):
        data = self.path("data")
        os.makedirs(data)
        pol = self.write("p.yml", "security:\n  execution:\n    memory_mb: 64\n"
                         "    max_processes: 16\n    max_open_files: 200\n    file_size_mb: 3\n"
                         f"  filesystem:\n    allowed_paths: [\"{data}\"]\n")
        bundle = self.path("bundle")
        r = self.hive("policy", "compile", "--bundle", bundle, pol, "--", "/bin/sh", "-c", PROBE,
                      self.marker)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(bundle, "config.json")) as f:
            config = json.load(f)
        self.assertIn("hive", config)
        self.assertEqual(config["linux"]["resources"]["memory"]["limit"], 64 << 20)
        self.assertEqual(config["linux"]["resources"]["pids"]["limit"], 16)
        self.assertEqual(config["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO")

        root = self.path("runc-root")
        cid = "hive-compiled-" + self.marker[-8:]
        runc = subprocess.Popen([RUNC, "--root", root, "run", "--bundle", bundle, cid],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        try:
            for line in runc.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("READY"):
                    break
            # The limits as runc wrote them into the cgroups it made for the container.
            state = json.loads(subprocess.run([RUNC, "--root", root, "state", cid],
                                              capture_output=True, text=True, check=True).stdout)
            limits = {}
            with open(f"/proc/{state['pid']}/cgroup") as f:
                for entry in f:
                    _, controllers, path = entry.rstrip("\n").split(":", 2)
                    for c, file in (("memory", "memory.limit_in_bytes"), ("pids", "pids.max")):
                        if c in controllers.split(","):
                            with open(f"/sys/fs/cgroup/{controllers}{path}/{file}") as g:
                                limits[c] = g.read().strip()
            rest, err = runc.communicate(timeout=60)
            lines += rest.splitlines()
        finally:
            if runc.poll() is None:
                subprocess.run([RUNC, "--root", root, "kill", cid, "KILL"], check=False)
                runc.wait(timeout=30)
            subprocess.run([RUNC, "--root", root, "delete", "--force", cid], check=False)
        self.assertEqual(runc.returncode, 0, err)
        self.assertEqual(limits, {"memory": str(64 << 20), "pids": "16"})

        r = self.hive("exec", "--policy", pol, "--", "/bin/sh", "-c", PROBE, self.marker)
        self.assertEqual(r.returncode, 0, r.stderr)
        ours = answers(r.stdout)
        theirs = answers("\n".join(lines))
        # Every namespace is a new one in both; the ids of new namespaces differ run to run.
        host = self.host_ns()
        for out in (ours, theirs):
            for line in out:
                if line.startswith("ns "):
                    _, ns, ident = line.split(" ", 2)
                    self.assertNotEqual(ident, host[ns], f"{ns} namespace not isolated")
        # hive-run's own run directory (input/, output/) is an extension of `exec`.
        strip = [line for line in ours
                 if not line.startswith("ns ") and not line.startswith("mount /run/hive/")]
        self.assertEqual(strip, [line for line in theirs if not line.startswith("ns ")])
        self.assertIn(f"mount {data} rw", ours)
        self.assertIn("mount /usr ro", ours)
        self.assertIn("mount / ro", ours)


if __name__ == "__main__":
    hive_test.main()
