"""A writable root (config.json root.readonly false) driven directly through create/start/
delete: the rootfs is a plain directory whose files belong to host root, idmapped with the
container's own id maps, so the container's root owns them and writes into them; the built-in
container ceiling allows it, a stricter policy refuses it by name, and what the ceiling does
not allow (a capability beyond it) is refused with both values named.

Exit 77 when not root or busybox-static is missing.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import image  # noqa: E402
import oci_case  # noqa: E402


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


if __name__ == "__main__":
    oci_case.main()
