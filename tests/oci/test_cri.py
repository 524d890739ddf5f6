"""Kubernetes' path to hive-run: containerd's CRI plugin with a runtime handler `hive` whose
BinaryName is build/hive-run, driven by the CRI calls kubelet makes (a client on Debian's
python3-grpcio), offline: pods on a CNI bridge and on the host network, two containers
sharing the pod's namespaces, ExecSync and streaming Exec, stop with a grace period, stats,
and one signed audit record per container naming its pod, namespace and container.

The pod and container flows are the harness's own (test_harness_with_runc.py, proven there
with runc); this file runs them against hive-run and adds what only hive-run can show.
containerd passes its environment to the shim and so to hive-run: the policy and the state
directory are given that way, as a node would set them in containerd's service.

Exit 77 when not root or when a Debian package is missing.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RUNTIME = os.environ.get("HIVE_RUN") or os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                     "build", "hive-run")
os.environ["HIVE_OCI_RUNTIME"] = RUNTIME
import test_harness_with_runc as flows  # noqa: E402  (re-executes with Debian's python if needed)

import harness  # noqa: E402
import image  # noqa: E402
from harness import timed  # noqa: E402

STATE = tempfile.mkdtemp(prefix="hive-cri-state-")


def setUpModule():
    flows.SESSION.start()
    policy = os.path.join(flows.SESSION.tmp, "cri-policy.yml")
    # The pod's files (hosts, hostname, resolv.conf, shm) are bound writable from containerd's
    # directory, which the fixture keeps under the session's temporary directory.
    with open(policy, "w") as f:
        f.write(f'security:\n  filesystem:\n    allowed_paths: ["{flows.SESSION.tmp}"]\n')
    os.environ["HIVE_RUN_POLICY"] = policy
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



if __name__ == "__main__":
    harness.main(RUNTIME, flows._MISSING_PYTHON)
