"""Kubernetes' path to hive-run: containerd's CRI plugin with a runtime handler `hive` whose
BinaryName is build/hive-run, driven by the CRI calls kubelet makes (a client on Debian's
python3-grpcio), offline: pods on a CNI bridge and on the host network, two containers
sharing the pod's namespaces, ExecSync and streaming Exec, stop with a grace period, stats,
and one signed audit record per container naming its pod, namespace and container.

The pod and container flows are the harness's own (test_harness_with_runc.py, proven there
with runc); this file runs them against hive-run and adds what only hive-run can show.
The node's policy is the built-in container ceiling (profiles/container.yml) with
security.process.host_namespaces [network, uts], as a node operator who offers hostNetwork
pods writes it. containerd passes its environment to the shim and so to hive-run: the policy
(HIVE_RUN_POLICY) and the state directory (where the audit log is) are given that way.

Exit 77 when not root or when a Debian package is missing.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RUNTIME = os.environ.get("HIVE_RUN") or os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build", "hive-run")
os.environ["HIVE_OCI_RUNTIME"] = RUNTIME
import test_harness_with_runc as flows  # noqa: E402  (re-executes with Debian's python if needed)

import cri_stream  # noqa: E402
import harness  # noqa: E402
import image  # noqa: E402
from harness import timed  # noqa: E402

STATE = tempfile.mkdtemp(prefix="hive-cri-state-")
NODE_POLICY = os.path.join(STATE, "node-policy.yml")


def setUpModule():
    flows.SESSION.start()
    with open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "profiles",
                           "container.yml")) as f:
        ceiling = f.read()
    assert "    host_namespaces: []\n" in ceiling
    with open(NODE_POLICY, "w") as f:
        f.write(ceiling.replace("    host_namespaces: []\n",
                                "    host_namespaces: [network, uts]\n"))
    os.environ["HIVE_RUN_POLICY"] = NODE_POLICY  # before containerd starts: it passes it on
    os.environ["HIVE_RUN_STATE_DIR"] = STATE


def tearDownModule():
    try:
        flows.SESSION.finish()
    finally:
        subprocess.run(["rm", "-rf", STATE])


class HiveCri(flows.Cri):
    """The harness's pod flows (inherited test_* methods) with hive-run as the handler."""

    def records(self, cid):
        path = os.path.join(STATE, "audit.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [x for x in map(json.loads, filter(str.strip, f)) if x.get("run_id") == cid]

    def test_host_network_pod(self):
        # Honoured, as the node policy lists network and uts: the harness's assertions (the
        # container's network namespace is this host's, it runs), then what only hive-run
        # shows. CRI gives the pause container no network and uts entries, and its app
        # containers those of the pause container by /proc path: the host's, both.
        pod, pod_config = self.run_pod("hostpod", host_network=True)
        cid = self.start_container(pod, pod_config, "c", "exec sleep 300")
        self.assertEqual(self.netns_of(cid), os.readlink("/proc/self/ns/net"))
        self.assertEqual(self.cri.status(cid).status.state, self.cri.pb.CONTAINER_RUNNING)
        r = self.cri.exec_sync(cid, ["sh", "-c", "readlink /proc/self/ns/uts; hostname; "
                                                 "hostname x; echo rc=$?; readlink "
                                                 "/proc/self/ns/user"])
        lines = r.stdout.decode().split("\n")
        self.assertEqual(lines[0], os.readlink("/proc/self/ns/uts"), r)
        self.assertEqual(lines[1], os.uname().nodename, r)
        self.assertNotIn("rc=0", lines, r)  # the host's hostname is not the pod's to set
        self.assertNotEqual(lines[-2], os.readlink("/proc/self/ns/user"), r)
        with timed("StopContainer sleep (grace 0)"):
            self.cri.stop(cid, 0)
        self.cri.remove(cid)
        runs = [x for x in self.records(cid) if x.get("event") == "run"]
        self.assertEqual(len(runs), 1, self.records(cid))
        enforced = runs[0]["enforced"]
        self.assertEqual((enforced["namespaces"]["network"], enforced["namespaces"]["uts"]),
                         ("host", "host"), enforced)
        self.assertNotEqual(enforced["namespaces"]["user"], "host", enforced)
        self.assertTrue(enforced["network"]["mode"].startswith("host"), enforced)

    def test_pod_network_carries_tcp(self):
        # A CNI pod's network namespace is the network the engine set up: its containers
        # serve and connect over TCP (hive-run's "network off" holds only in a namespace of
        # its own), on the pod's loopback and on its address.
        pod, pod_config = self.run_pod("tcppod")
        pod_ip = self.cri.pod_status(pod).status.network.ip
        web = self.start_container(pod, pod_config, "web",
                                   "mkdir -p /www && echo pod-hello > /www/index.html && "
                                   "exec httpd -f -p 8080 -h /www")
        client = self.start_container(pod, pod_config, "client", "exec sleep 300")
        for host in ("127.0.0.1", pod_ip):
            r = None
            for _ in range(50):  # httpd may not be listening yet
                r = self.cri.exec_sync(client, ["wget", "-qO-", f"http://{host}:8080/"])
                if r.exit_code == 0:
                    break
                time.sleep(0.1)
            self.assertEqual((r.exit_code, r.stdout), (0, b"pod-hello\n"), (host, r.stderr))
        for cid in (web, client):
            self.cri.stop(cid, 0)
            self.cri.remove(cid)
        run = [x for x in self.records(client) if x.get("event") == "run"][0]
        self.assertTrue(run["enforced"]["network"]["mode"].startswith("joined ("), run)
        self.assertEqual(run["enforced"]["seccomp"]["inet_sockets"], "profile decides")

    def test_audit_record_names_pod_and_seccomp_denial(self):
        pod, pod_config = self.run_pod("auditpod")
        cid = self.start_container(pod, pod_config, "prober",
                                   "unshare -n true; echo rc=$?; exec sleep 300")
        r = self.cri.exec_sync(cid, ["sh", "-c", "echo from-exec; exit 6"])
        self.assertEqual((r.exit_code, r.stdout), (6, b"from-exec\n"))
        with timed("StopContainer (grace 0)"):
            self.cri.stop(cid, 0)
        self.cri.remove(cid)
        runs = [x for x in self.records(cid) if x.get("event") == "run"]
        self.assertEqual(len(runs), 1, self.records(cid))
        self.assertIn("unshare", json.dumps(runs[0].get("violations")))
        k8s = runs[0].get("kubernetes", {})
        self.assertEqual((k8s.get("pod"), k8s.get("namespace"), k8s.get("container")),
                         ("auditpod", "default", "prober"), runs[0])
        v = subprocess.run([RUNTIME, "audit", "verify", "--log", os.path.join(STATE, "audit.log")],
                           env=dict(os.environ, HIVE_RUN_STATE_DIR=STATE),
                           capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_pod_annotation_selects_the_restricted_policy(self):
        # The pod's annotation reaches hive-run (the handler lists it in pod_annotations): the
        # pod runs under container-restricted, stricter than the node's built-in ceiling.
        import cri
        name = "restrictedpod"
        config = self.cri.pod_config(name, os.path.join(self.logs, name),
                                     self.cd.pod_cgroup_parent(name),
                                     annotations={"org.hive-run.policy": "container-restricted"})
        with timed(f"RunPodSandbox {name} (handler hive, container-restricted)"):
            pod = self.cri.run_pod(config, "hive")
        self.addCleanup(self.remove_pod, pod)
        # The runtime's default capabilities are more than the policy allows: refused through
        # CRI with hive-run's reason.
        wide = self.cri.create_container(
            pod, self.cri.container_config("wide", image.BUSYBOX, ["sleep", "300"]), config)
        self.addCleanup(self.cri.remove, wide)
        with self.assertRaises(cri.CriError) as refused:
            self.cri.start(wide)
        self.assertIn("security.process.capabilities allows [CAP_NET_BIND_SERVICE]",
                      str(refused.exception))
        # Dropping them all and adding back NET_BIND_SERVICE (what "restricted" allows) runs.
        narrow = self.cri.create_container(
            pod, self.cri.container_config("narrow", image.BUSYBOX, ["sleep", "300"],
                                           capabilities=(["NET_BIND_SERVICE"], ["ALL"])),
            config)
        self.cri.start(narrow)
        r = self.cri.exec_sync(narrow, ["sh", "-c", "grep CapBnd /proc/self/status; exit 4"])
        self.assertEqual(r.exit_code, 4, r.stderr)
        self.assertEqual(r.stdout, b"CapBnd:\t0000000000000400\n")
        self.cri.stop(narrow, 0)
        self.cri.remove(narrow)
        runs = [x for x in self.records(narrow) if x.get("event") == "run"]
        self.assertEqual(len(runs), 1, self.records(narrow))
        self.assertEqual(runs[0].get("policy"), "<built-in container-restricted>", runs[0])
        self.assertEqual(runs[0]["limits"]["max_processes"], 1024)
        self.assertEqual(runs[0]["limits"]["memory_mb"], 1024)
        self.assertEqual(runs[0]["kubernetes"]["pod"], name)

    def test_kubelet_volumes(self):
        # What kubelet binds into every container from its own directory of the pod
        # (<root>/pods/<uid>/): /etc/hosts, /dev/termination-log and emptyDir volumes writable,
        # a projected token read-only. The node's ceiling lists no allowed path: they are
        # admitted by the pod's uid. A writable hostPath volume is not.
        import cri
        uid = str(uuid.uuid4())
        pods = self.cd.path("kubelet", "pods", uid)
        term = os.path.join(pods, "containers", "app", "4f1d2c3b")
        cache = os.path.join(pods, "volumes", "kubernetes.io~empty-dir", "cache")
        token = os.path.join(pods, "volumes", "kubernetes.io~projected", "kube-api-access")
        hosts = os.path.join(pods, "etc-hosts")
        for d in (os.path.dirname(term), cache, token):
            os.makedirs(d)
        for path, text, mode in ((term, "", 0o666), (os.path.join(token, "token"), "tok\n", 0o644),
                                 (hosts, "127.0.0.1 localhost\n", 0o644)):
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, mode)
        os.chmod(cache, 0o777)  # kubelet's mode for an emptyDir
        config = self.cri.pod_config("volpod", os.path.join(self.logs, "volpod"),
                                     self.cd.pod_cgroup_parent("volpod"), uid=uid)
        pod = self.cri.run_pod(config, "hive")
        self.addCleanup(self.remove_pod, pod)
        sa = "/var/run/secrets/kubernetes.io/serviceaccount"
        app = self.cri.container_config(
            "app", image.BUSYBOX, ["sleep", "300"],
            mounts=[(hosts, "/etc/hosts", False), (term, "/dev/termination-log", False),
                    (cache, "/cache", False), (token, sa, True)])
        cid = self.cri.create_container(pod, app, config)
        self.cri.start(cid)
        r = self.cri.exec_sync(cid, ["sh", "-c", f"echo bye > /dev/termination-log && "
                                     f"echo kept > /cache/f && cat {sa}/token && "
                                     f"! touch {sa}/x 2>/dev/null && grep -c localhost /etc/hosts"])
        self.assertEqual((r.exit_code, r.stdout), (0, b"tok\n1\n"), r.stderr)
        with open(term) as f:
            self.assertEqual(f.read(), "bye\n")
        with open(os.path.join(cache, "f")) as f:
            self.assertEqual(f.read(), "kept\n")
        self.cri.stop(cid, 0)
        self.cri.remove(cid)

        hostpath = self.cd.path("hostpath-volume")
        os.makedirs(hostpath)
        hp = self.cri.create_container(pod, self.cri.container_config(
            "hp", image.BUSYBOX, ["true"], mounts=[(hostpath, "/host", False)]), config)
        with self.assertRaises(cri.CriError) as refused:
            self.cri.start(hp)
        self.assertIn("security.filesystem.allowed_paths does not include it",
                      str(refused.exception))
        self.cri.remove(hp)

    def test_container_logs_and_tty_exec(self):
        # The shim writes the container's output to its CRI log file (what `kubectl logs`
        # reads); `kubectl exec -t` is a streaming Exec with a terminal, stderr merged.
        pod, pod_config = self.run_pod("logpod")
        cid = self.start_container(pod, pod_config, "talker",
                                   "echo to-out; echo to-err >&2; exec sleep 300")
        log = os.path.join(self.logs, "logpod", "talker.log")
        lines = set()
        for _ in range(100):
            if os.path.exists(log):
                with open(log) as f:
                    # <RFC 3339 time> <stream> <F|P> <text>
                    lines = {tuple(x.split(" ", 3)[1::2]) for x in f.read().splitlines()}
            if {("stdout", "to-out"), ("stderr", "to-err")} <= lines:
                break
            time.sleep(0.1)
        self.assertLessEqual({("stdout", "to-out"), ("stderr", "to-err")}, lines)
        # Without stdin the shim forwards no terminal output (runc's too): `kubectl exec -it`.
        out, _, code = cri_stream.exec_stream(self.cri.exec_url(
            cid, ["sh", "-c", "tty; test -t 0 && test -t 1 && read x && echo got-$x"],
            stdin=True, stderr=False, tty=True), stdin=b"in\n")
        self.assertEqual(code, 0, out)
        self.assertIn(b"/dev/pts/", out)
        self.assertIn(b"got-in\r\n", out)  # the terminal's line discipline: \r\n
        self.cri.stop(cid, 0)
        self.cri.remove(cid)

    def test_pod_annotation_naming_no_shipped_policy_fails_the_pod(self):
        import cri
        name = "unknownpolicypod"
        config = self.cri.pod_config(name, os.path.join(self.logs, name),
                                     self.cd.pod_cgroup_parent(name),
                                     annotations={"org.hive-run.policy": "/etc/shadow"})
        with self.assertRaises(cri.CriError) as refused:
            self.cri.run_pod(config, "hive")
        self.assertIn('annotations[org.hive-run.policy]: "/etc/shadow" is not a policy shipped '
                      'with hive-run (known: container, container-restricted)',
                      str(refused.exception))
        self.assertEqual([p.id for p in self.cri.list_pods()], [])


if __name__ == "__main__":
    harness.main(RUNTIME, flows._MISSING_PYTHON)
