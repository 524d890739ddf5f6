"""The OCI test harness, proven with Debian's runc as the runtime under test.

ctr, podman and the CRI plugin (a pod of two containers on a CNI bridge, a host-network pod)
drive the runtime through the fixtures of this directory, and afterwards nothing of theirs is
left on the host: no mounts, processes, cgroups, network namespaces, links, or engine state
outside the temporary directory. The same tests will drive hive-run: set HIVE_OCI_RUNTIME.

Exit 77 (skipped) when not root or when a Debian package the harness needs is missing.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import syspython  # noqa: E402

_MISSING_PYTHON = syspython.reexec_if_missing()  # may re-execute this file with Debian's python

import containerd  # noqa: E402
import cri_stream  # noqa: E402
import harness  # noqa: E402
import host  # noqa: E402
import image  # noqa: E402
import podman  # noqa: E402
from harness import timed  # noqa: E402

RUNTIME = os.environ.get("HIVE_OCI_RUNTIME", "/usr/bin/runc")
SESSION = harness.Session()


def setUpModule():
    SESSION.start()


def tearDownModule():
    SESSION.finish()


class ContainerdCase(unittest.TestCase):
    """One containerd for the class; each test removes what it made."""

    @classmethod
    def setUpClass(cls):
        with timed("containerd start + import busybox, pause into default and k8s.io"):
            cls.cd = containerd.Containerd(SESSION.tmp, RUNTIME, images=[
                SESSION.images.busybox_archive, SESSION.images.pause_archive])
            cls.cd.start()

    @classmethod
    def tearDownClass(cls):
        with timed("containerd stop + cleanup"):
            cls.cd.stop()
        harness.assert_fixture_gone(cls.cd)

    def setUp(self):
        harness.watch_tidy(self, self.cd)  # first, so it runs after the test's own cleanups


class Ctr(ContainerdCase):
    def test_run_echo(self):
        with timed("ctr run --rm echo hi"):
            r = self.cd.ctr_run(image.BUSYBOX, "echo1", "echo", "hi")
        self.assertEqual((r.returncode, r.stdout), (0, "hi\n"), r.stderr)
        self.assertEqual(self.cd.ctr("containers", "ls", "-q").stdout, "")

    def test_exit_code_passes_through(self):
        r = self.cd.ctr_run(image.BUSYBOX, "exit5", "sh", "-c", "exit 5")
        self.assertEqual(r.returncode, 5, r.stderr)

    def test_detached_exec_kill_delete(self):
        self.addCleanup(self.cd.ctr_delete, "det1", force=True)  # also after a failed create
        with timed("ctr run --detach sleep"):
            r = self.cd.ctr_run(image.BUSYBOX, "det1", "sleep", "300", detach=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with timed("ctr task exec"):
            r = self.cd.ctr_exec("det1", "ex1", "sh", "-c", "echo in; exit 3")
        self.assertEqual((r.returncode, r.stdout), (3, "in\n"), r.stderr)
        with timed("ctr task kill SIGKILL + wait"):
            r = self.cd.ctr_kill("det1", "SIGKILL")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(self.cd.wait_task_stopped("det1"))
        with timed("ctr task + container delete"):
            r = self.cd.ctr_delete("det1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.cd.ctr("containers", "ls", "-q").stdout, "")


class Cri(ContainerdCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import cri  # needs grpc: imported here so that its absence is a skip (77), not a crash
        cls.cri = cri.CriClient(cls.cd.address, os.path.join(cls.cd.dir, "cri-stubs"))
        cls.cri.wait_ready()
        cls.logs = cls.cd.path("pod-logs")
        os.makedirs(cls.logs)

    @classmethod
    def tearDownClass(cls):
        cls.cri.close()
        super().tearDownClass()

    def run_pod(self, name, host_network=False):
        config = self.cri.pod_config(name, os.path.join(self.logs, name),
                                     self.cd.pod_cgroup_parent(name), host_network=host_network)
        with timed(f"RunPodSandbox {name} (handler hive)"):
            pod = self.cri.run_pod(config, "hive")
        self.addCleanup(self.remove_pod, pod)
        return pod, config

    def remove_pod(self, pod):
        with timed("StopPodSandbox + RemovePodSandbox"):
            self.cri.stop_pod(pod)
            self.cri.remove_pod(pod)
        self.assertEqual([p.id for p in self.cri.list_pods()], [])
        self.assertEqual(list(self.cri.list_containers()), [])
        self.assertEqual(host.mounts_under(self.cd.dir), [], "mounts left by the pod")

    def start_container(self, pod, pod_config, name, script):
        config = self.cri.container_config(name, image.BUSYBOX, ["sh", "-c", script])
        with timed(f"CreateContainer + StartContainer {name}"):
            cid = self.cri.create_container(pod, config, pod_config)
            self.cri.start(cid)
        return cid

    def netns_of(self, cid):
        r = self.cri.exec_sync(cid, ["readlink", "/proc/self/ns/net"])
        self.assertEqual(r.exit_code, 0, r.stderr)
        return r.stdout.decode().strip()

    def test_version_and_images(self):
        v = self.cri.version()
        self.assertEqual((v.runtime_name, v.runtime_api_version), ("containerd", "v1"))
        tags = {t for i in self.cri.list_images() for t in i.repo_tags}
        self.assertLessEqual({image.BUSYBOX, image.PAUSE}, tags)
        self.assertEqual(list(self.cri.image_status(image.PAUSE).repo_tags), [image.PAUSE])

    def test_pod_of_two_containers(self):
        pod, pod_config = self.run_pod("netpod")
        status = self.cri.pod_status(pod, verbose=True)
        self.assertEqual(status.status.state, self.cri.pb.SANDBOX_READY)
        self.assertEqual(status.status.runtime_handler, "hive")
        options = json.loads(status.info["info"])["runtimeOptions"]
        self.assertEqual(options["binary_name"], RUNTIME)
        pod_ip = status.status.network.ip
        self.assertTrue(pod_ip.startswith(self.cd.subnet.rsplit(".", 1)[0] + "."), pod_ip)

        # TERM ends `graceful` with 3; `stubborn` ignores it and must be killed.
        graceful = self.start_container(pod, pod_config, "graceful",
                                        "trap 'exit 3' TERM; while :; do sleep 0.1; done")
        stubborn = self.start_container(pod, pod_config, "stubborn",
                                        "trap '' TERM; while :; do sleep 0.1; done")
        listed = {c.metadata.name: c.state for c in self.cri.list_containers(pod)}
        self.assertEqual(listed, {"graceful": self.cri.pb.CONTAINER_RUNNING,
                                  "stubborn": self.cri.pb.CONTAINER_RUNNING})

        with timed("ExecSync x2 (netns of both containers)"):
            netns = {self.netns_of(graceful), self.netns_of(stubborn)}
        self.assertEqual(len(netns), 1, f"containers of one pod in different netns: {netns}")
        self.assertNotEqual(netns.pop(), os.readlink("/proc/self/ns/net"))
        r = self.cri.exec_sync(stubborn, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
        self.assertIn(f" {pod_ip}/", r.stdout.decode())

        with timed("ExecSync exit 7"):
            r = self.cri.exec_sync(graceful, ["sh", "-c", "echo out; echo err >&2; exit 7"])
        self.assertEqual((r.exit_code, r.stdout, r.stderr), (7, b"out\n", b"err\n"))
        with timed("Exec (streaming, websocket) exit 4"):
            out, err, code = cri_stream.exec_stream(self.cri.exec_url(
                graceful, ["sh", "-c", "echo so; echo se >&2; exit 4"]))
        self.assertEqual((code, out, err), (4, b"so\n", b"se\n"))

        stats = self.cri.stats(graceful)
        self.assertEqual(stats.attributes.id, graceful)
        self.assertGreater(stats.cpu.usage_core_nano_seconds.value, 0)
        self.assertGreater(stats.memory.working_set_bytes.value, 0)

        with timed("StopContainer graceful (grace 10s, exits on TERM)"):
            self.cri.stop(graceful, 10)
        with timed("StopContainer stubborn (grace 1s, then KILL)"):
            self.cri.stop(stubborn, 1)
        for cid, code in ((graceful, 3), (stubborn, 137)):
            st = self.cri.status(cid).status
            self.assertEqual((st.state, st.exit_code), (self.cri.pb.CONTAINER_EXITED, code),
                             st.metadata.name)
        with timed("RemoveContainer x2"):
            self.cri.remove(graceful)
            self.cri.remove(stubborn)

    def test_host_network_pod(self):
        pod, pod_config = self.run_pod("hostpod", host_network=True)
        cid = self.start_container(pod, pod_config, "c", "exec sleep 300")
        self.assertEqual(self.netns_of(cid), os.readlink("/proc/self/ns/net"))
        self.assertEqual(self.cri.status(cid).status.state, self.cri.pb.CONTAINER_RUNNING)
        with timed("StopContainer sleep (grace 0)"):
            self.cri.stop(cid, 0)
        self.cri.remove(cid)


class Podman(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pm = podman.Podman(SESSION.tmp, RUNTIME)
        cls.pm.start()
        with timed("podman import busybox"):
            cls.pm.import_image(SESSION.images.busybox_layer, image.BUSYBOX)

    @classmethod
    def tearDownClass(cls):
        with timed("podman stop + cleanup"):
            cls.pm.stop()
        harness.assert_fixture_gone(cls.pm)

    def setUp(self):
        harness.watch_tidy(self, self.pm)

    def test_run_echo(self):
        with timed("podman run --rm echo hi"):
            r = self.pm.run("--rm", image.BUSYBOX, "echo", "hi")
        self.assertEqual((r.returncode, r.stdout), (0, "hi\n"), r.stderr)

    def test_exit_code_and_limits(self):
        r = self.pm.run("--rm", image.BUSYBOX, "sh", "-c", "ulimit -n; exit 5")
        self.assertEqual((r.returncode, r.stdout), (5, "4096\n"), r.stderr)
        self.assertEqual(self.pm.podman("ps", "-aq").stdout, "")


if __name__ == "__main__":
    harness.main(RUNTIME, _MISSING_PYTHON)
