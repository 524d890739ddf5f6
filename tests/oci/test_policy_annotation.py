"""The config.json annotation org.hive-run.policy: a container selects a stricter policy shipped
with hive-run, by name, and never a weaker one than the node's. What is refused is refused at
create, naming the annotation, and leaves nothing behind (OciCase's tearDown: no state, no
cgroup); what runs runs under the chosen policy's limits, and its audit record names it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oci_case  # noqa: E402

SOURCE_ROOT = os.environ.get("HIVE_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANNOTATION = "org.hive-run.policy"
RESTRICTED = "<built-in container-restricted>"
MiB = 1024 * 1024
# What podman and containerd ask for by default (profiles/container.yml admits exactly these).
ENGINE_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
               "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
               "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"]


def setUpModule():
    oci_case.setUpModule("hive-oci-policy-rootfs-")


tearDownModule = oci_case.tearDownModule


def caps(names):
    return {"bounding": names, "effective": names, "permitted": names}


class PolicyAnnotation(oci_case.OciCase):
    tmp_prefix = "hive-oci-policy-"

    def setUp(self):
        super().setUp()
        self.node_policy = []  # extra arguments naming the node's policy; none: the built-in

    def hive_env(self):
        env = super().hive_env()
        env.pop("HIVE_RUN_POLICY", None)
        return env

    def hive(self, *args, **kw):
        return super().hive(*self.node_policy, *args, **kw)

    def bundle_with(self, args, policy, capabilities=None):
        b = self.bundle(args)
        path = os.path.join(b, "config.json")
        with open(path) as f:
            config = json.load(f)
        config["annotations"] = {ANNOTATION: policy}
        if capabilities is not None:
            config["process"]["capabilities"] = caps(capabilities)
        with open(path, "w") as f:
            json.dump(config, f)
        return b

    def cgroup_file(self, cid, names):
        with open(os.path.join(self.root, cid, "state.json")) as f:
            dirs = json.load(f)["cgroup_dirs"]
        for d in dirs:
            for n in names:
                if os.path.exists(os.path.join(d, n)):
                    with open(os.path.join(d, n)) as f:
                        return f.read().strip()
        self.fail(f"none of {names} in {dirs}")

    def refused(self, cid, bundle):
        self.ids.append(cid)
        r = self.hive("create", "--bundle", bundle, cid)
        # runc's status for every failed create, which the engines expect.
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)), "state left")
        return r.stderr

    def test_unknown_name_is_refused_naming_it_and_the_known_ones(self):
        for name in ("lenient", "/etc/hive-run/policy.yml", "../profiles/container"):
            with self.subTest(name=name):
                err = self.refused("unknown", self.bundle_with(["true"], name))
                self.assertIn(f"annotations[{ANNOTATION}]", err)
                self.assertIn(json.dumps(name), err)
                self.assertIn("known: container, container-restricted", err)
        self.assertFalse(os.path.exists(os.path.join(self.state, "audit.log")))

    def test_a_weaker_policy_than_the_nodes_is_refused_naming_the_field(self):
        # The node's policy: a copy of the restricted profile; the container asks for the
        # (weaker) built-in ceiling.
        node = os.path.join(self.tmp, "node-policy.yml")
        with open(os.path.join(SOURCE_ROOT, "profiles", "container-restricted.yml")) as src, \
                open(node, "w") as dst:
            dst.write(src.read())
        self.node_policy = ["--policy", node]
        err = self.refused("weaker", self.bundle_with(["true"], "container"))
        self.assertIn(f"annotations[{ANNOTATION}]: `container` is weaker than the node's policy "
                      f"{node}: security.execution.memory_mb 4096 > 1024", err)
        # The same policy as the node's is no weaker: it runs.
        cid = "same"
        self.ids.append(cid)
        r = self.hive("run", "--bundle", self.bundle_with(["true"], "container-restricted",
                                                          ["CAP_NET_BIND_SERVICE"]), cid)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_restricted_refuses_the_engines_default_capabilities(self):
        err = self.refused("defaultcaps",
                           self.bundle_with(["true"], "container-restricted", ENGINE_CAPS))
        self.assertIn("process.capabilities: config.json asks for CAP_CHOWN; "
                      "security.process.capabilities allows [CAP_NET_BIND_SERVICE]", err)
        # The built-in ceiling, which the node uses here, admits them.
        cid = "builtin"
        self.ids.append(cid)
        r = self.hive("run", "--bundle", self.bundle_with(["true"], "container", ENGINE_CAPS),
                      cid)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_pods_sandbox_container_keeps_the_nodes_policy_once_the_name_is_checked(self):
        # containerd makes the pause container with the runtime's default capabilities, which
        # no pod can change: it runs under the node's policy; the pod's containers do not.
        def sandbox(policy):
            b = self.bundle_with(["true"], policy, ENGINE_CAPS)
            path = os.path.join(b, "config.json")
            with open(path) as f:
                config = json.load(f)
            config["annotations"]["io.kubernetes.cri.container-type"] = "sandbox"
            with open(path, "w") as f:
                json.dump(config, f)
            return b
        cid = "pause"
        self.ids.append(cid)
        r = self.hive("run", "--bundle", sandbox("container-restricted"), cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        [record] = [x for x in self.audit_records(cid) if x["event"] == "run"]
        self.assertEqual(record["policy"], "<built-in container>")
        err = self.refused("badpause", sandbox("lenient"))
        self.assertIn(f"annotations[{ANNOTATION}]: \"lenient\" is not a policy shipped", err)

    def test_restricted_runs_under_its_own_limits_and_is_named_in_the_record(self):
        cid = "restricted"
        b = self.bundle_with(["sh", "-c", "echo ran"], "container-restricted",
                             ["CAP_NET_BIND_SERVICE"])
        out = os.path.join(self.tmp, "out")
        pid_file = os.path.join(self.tmp, "pid")
        self.ids.append(cid)
        with open(out, "w") as o:
            r = self.hive("create", "--bundle", b, "--pid-file", pid_file, cid, stdout=o)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            pid = int(f.read())
        # The container's cgroups (v1 or v2), as the host sees them: the restricted policy's
        # limits, not the built-in ceiling's (4096 processes, 4096 MiB).
        self.assertEqual(self.cgroup_file(cid, ["pids.max"]), "1024")
        self.assertEqual(int(self.cgroup_file(cid, ["memory.limit_in_bytes", "memory.max"])),
                         1024 * MiB)
        # It is this container's ceiling for `update` too.
        res = os.path.join(self.tmp, "res.json")
        with open(res, "w") as f:
            json.dump({"pids": {"limit": 2048}}, f)
        u = self.hive("update", "--resources", res, cid)
        self.assertNotEqual(u.returncode, 0)
        self.assertIn(f"security.execution.max_processes = 1024 (policy {RESTRICTED})", u.stderr)
        self.assertEqual(self.state_of(cid)["status"], "created")
        self.assertEqual(self.hive("start", cid).returncode, 0)
        self.assertEqual(self.wait(pid), 0)
        with open(out) as f:
            self.assertEqual(f.read(), "ran\n")
        self.assertEqual(self.hive("delete", cid).returncode, 0)
        [record] = [x for x in self.audit_records(cid) if x["event"] == "run"]
        self.assertEqual(record["policy"], RESTRICTED)
        self.assertEqual(record["limits"]["max_processes"], 1024)
        self.assertEqual(record["enforced"]["capabilities"], [10])  # CAP_NET_BIND_SERVICE


if __name__ == "__main__":
    oci_case.main()
