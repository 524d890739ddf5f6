"""A writable root (config.json root.readonly false) driven directly through create/start/
delete: the rootfs is a plain directory whose files belong to host root, idmapped with the
container's own id maps, so the container's root owns them and writes into them; the built-in
container ceiling allows it, a stricter policy refuses it by name, and what the ceiling does
not allow (a capability beyond it) is refused with both values named.

The cgroup mount the engines send (/sys/fs/cgroup, type cgroup): the container sees its own
cgroups as the root of that view, with the limits config.json set, read-only unless it says
rw, and nothing of the host's tree; a proc or devpts mount elsewhere is refused by name.

Exit 77 when not root or busybox-static is missing.
"""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import image  # noqa: E402
import oci_case  # noqa: E402
from oci_case import setUpModule, tearDownModule  # noqa: E402,F401  the module's rootfs


class WritableRoot(oci_case.OciCase):
    tmp_prefix = "hive-oci-rootfs-"
    tmp_mode = 0o755
    check_cgroups = False

    def setUp(self):
        super().setUp()
        self.rootfs = image.busybox_rootfs(os.path.join(self.tmp, "rootfs"))

    def bundle(self, args, caps=None):
        b = tempfile.mkdtemp(dir=self.tmp, prefix="bundle-")
        process = {"user": {"uid": 0, "gid": 0}, "args": args, "env": [image.DEFAULT_PATH],
                   "cwd": "/"}
        if caps is not None:
            process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
        config = {"ociVersion": "1.0.2", "process": process,
                  "root": {"path": self.rootfs, "readonly": False}, "hostname": "hive",
                  "linux": {"namespaces": [{"type": t} for t in
                                           ("pid", "network", "ipc", "uts", "mount")]}}
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
        return b

    def test_write_into_root_owned_rootfs(self):
        st = os.stat(os.path.join(self.rootfs, "etc"))
        self.assertEqual((st.st_uid, st.st_gid), (0, 0))
        out = os.path.join(self.tmp, "out")
        b = self.bundle(["sh", "-c", "echo x > /etc/x && cat /etc/x && id -u && "
                         "stat -c %u /bin/busybox && stat -c %u /etc/x"],
                        caps=["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"])
        pid_file = os.path.join(self.tmp, "pid")
        self.ids.append("w1")
        with open(out, "w") as o:
            r = self.hive("create", "--bundle", b, "--pid-file", pid_file, "w1", stdout=o)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            pid = int(f.read())
        self.assertEqual(self.hive("start", "w1").returncode, 0)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(self.hive("delete", "w1").returncode, 0)
        with open(out) as f:
            self.assertEqual(f.read(), "x\n0\n0\n0\n")
        # A plain directory is idmapped one to one: the container's id N is id N on disk, as
        # the image's own files are; the container's root is never host root meanwhile.
        st = os.stat(os.path.join(self.rootfs, "etc", "x"))
        self.assertEqual((st.st_uid, st.st_gid), (0, 0))
        with open(os.path.join(self.rootfs, "etc", "x")) as f:
            self.assertEqual(f.read(), "x\n")
        runs = []
        with open(os.path.join(self.state, "audit.log")) as f:
            runs = [x for x in map(json.loads, f) if x.get("run_id") == "w1"
                    and x.get("event") == "run"]
        self.assertEqual(len(runs), 1)

    def test_stricter_policy_refuses_writable_root(self):
        pol = os.path.join(self.tmp, "strict.yml")
        with open(pol, "w") as f:
            f.write("security: {}\n")  # the scripts' defaults: writable_rootfs false
        self.ids.append("w2")
        r = self.hive("--policy", pol, "create", "--bundle", self.bundle(["true"]), "w2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("root.readonly", r.stderr)
        self.assertIn("security.filesystem.writable_rootfs", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.rootfs, "etc", "x")))

    def test_capability_beyond_ceiling_refused(self):
        self.ids.append("w3")
        r = self.hive("create", "--bundle", self.bundle(["true"], caps=["CAP_SYS_ADMIN"]), "w3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("CAP_SYS_ADMIN", r.stderr)
        self.assertIn("CAP_SYS_CHROOT", r.stderr)  # the ceiling's list, named
        self.assertFalse(os.path.exists(os.path.join(self.root, "w3")))


# What podman, containerd and the CRI put in every config.json (rw for a privileged one).
def cgroup_mount(option="ro"):
    return {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", option]}


SYSFS = {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]}
LIMITS = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}

# Prints the view as the container sees it: its kind, the limits, /proc/self/cgroup, what a
# write gets, and whether any cgroup below or beside its own shows.
VIEW_SCRIPT = r"""
cd /sys/fs/cgroup || exit 3
if [ -e cgroup.controllers ]; then
  echo kind=v2; mem=memory.max; pids=pids.max; procs=cgroup.procs
else
  echo kind=v1; mem=memory/memory.limit_in_bytes; pids=pids/pids.max; procs=pids/cgroup.procs
fi
echo entries=$(ls | tr '\n' ' ')
echo mem=$(cat $mem)
echo pids=$(cat $pids)
echo procs=$(cat $procs | tr '\n' ' ')
echo subdirs=$(find . -mindepth 2 -type d | wc -l)
sed 's/^/cgroup=/' /proc/self/cgroup
if { echo 10 > $pids; } 2>/tmp/err; then echo write=ok; else echo write=$(cat /tmp/err); fi
echo pids_after=$(cat $pids)
"""


def fields(out):
    """key=value lines; repeated keys collect into a list."""
    f = {}
    for line in out.splitlines():
        k, _, v = line.partition("=")
        f.setdefault(k, []).append(v.strip())
    return f


class CgroupView(oci_case.OciCase):
    tmp_prefix = "hive-oci-cgview-"

    def run_view(self, cid, mounts, resources=LIMITS):
        linux = dict(oci_case.bundle_config([])["linux"], resources=resources)
        b = self.bundle(["sh", "-c", VIEW_SCRIPT], mounts=mounts, linux=linux)
        out = os.path.join(self.tmp, cid + ".out")
        self.ids.append(cid)
        with open(out, "w") as o:
            r = self.hive("run", "--bundle", b, cid, stdout=o)
        with open(out) as f:
            return r, f.read()

    def host_v1_has(self, hierarchy):
        return os.path.isdir(f"/sys/fs/cgroup/{hierarchy}") and not os.path.exists(
            "/sys/fs/cgroup/cgroup.controllers")

    def test_engines_mount_shows_own_limits_read_only(self):
        r, out = self.run_view("cg1", [SYSFS, cgroup_mount("ro")])
        self.assertEqual(r.returncode, 0, r.stderr + out)
        f = fields(out)
        v2_host = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        self.assertEqual(f["kind"], ["v2" if v2_host else "v1"], out)
        # Its own limits, not the host root's (unlimited) nor hive-run's.
        self.assertEqual(f["mem"], [str(64 << 20)], out)
        self.assertEqual(f["pids"], ["50"], out)
        # Its cgroups are the roots of its namespace: every line of /proc/self/cgroup is "/".
        self.assertTrue(f["cgroup"], out)
        for line in f["cgroup"]:
            self.assertTrue(line.endswith(":/"), out)
        # Read-only: the write fails at the mount, the limit stays.
        self.assertIn("Read-only file system", f["write"][0], out)
        self.assertEqual(f["pids_after"], ["50"], out)
        # Nothing of the host's tree: no cgroup below or beside its own, and its root's
        # cgroup.procs lists only the container's own processes (pids of its namespace).
        self.assertEqual(f["subdirs"], ["0"], out)
        procs = [int(p) for p in f["procs"][0].split()]
        self.assertTrue(procs, out)
        self.assertTrue(all(0 < p < 100 for p in procs), out)
        if not v2_host:
            entries = f["entries"][0].split()
            self.assertIn("memory", entries, out)
            self.assertIn("pids", entries, out)
            if os.path.isdir("/sys/fs/cgroup/unified"):
                self.assertIn("unified", entries, out)

    def test_rw_mount_writes_nothing_it_does_not_own(self):
        # rw is made as asked: the container's root (an unprivileged uid on the host) does
        # not own its cgroup's files, so even its own limit stays as the run set it.
        r, out = self.run_view("cg2", [SYSFS, cgroup_mount("rw")])
        self.assertEqual(r.returncode, 0, r.stderr + out)
        f = fields(out)
        self.assertEqual(f["pids"], ["50"], out)
        self.assertIn("Permission denied", f["write"][0], out)
        self.assertEqual(f["pids_after"], ["50"], out)

    def test_without_sysfs(self):
        # The mount point is made in the read-only root's tmpfs.
        r, out = self.run_view("cg3", [cgroup_mount("ro")])
        self.assertEqual(r.returncode, 0, r.stderr + out)
        self.assertEqual(fields(out)["pids"], ["50"], out)

    def test_view_that_cannot_be_made_refuses_the_run(self):
        # No mount point can be made in /proc: the run stops at setup, naming the mount (an
        # OCI command's error exits 1, as runc's do).
        m = dict(cgroup_mount("ro"), destination="/proc/cgview")
        r, out = self.run_view("cg4", [SYSFS, m])
        self.assertEqual(r.returncode, 1, r.stderr + out)
        self.assertIn("mounts[1]", r.stderr)
        self.assertIn("proc/cgview", r.stderr)
        self.assertEqual(out, "")

    def test_proc_and_devpts_elsewhere_refused(self):
        for i, (typ, dest) in enumerate((("proc", "/mnt/proc"), ("devpts", "/mnt/pts"))):
            m = {"destination": dest, "type": typ, "source": typ}
            b = self.bundle(["true"], mounts=[SYSFS, m])
            r = self.hive("run", "--bundle", b, f"cgx{i}")
            self.assertEqual(r.returncode, 1, r.stderr)  # a config.json error, as runc's
            self.assertIn("mounts[1].type", r.stderr)
            self.assertIn(dest, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.root, f"cgx{i}")))


if __name__ == "__main__":
    oci_case.main()
