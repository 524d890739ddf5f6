"""A small Kubernetes CRI (v1) client on Debian's python3-grpcio, for tests that drive a
runtime through containerd's CRI plugin the way the kubelet does.

The messages come from cri_api.proto beside this file; its Python stubs are generated into a
directory the caller owns (a test's temporary directory) by grpc_tools.protoc on first use.
Needs grpc: run under an interpreter that has it (see syspython.py).

    with CriClient(cd.address, stubs_dir=os.path.join(tmp, "cri-stubs")) as cri:
        pod_config = cri.pod_config("p", logs_dir, cd.pod_cgroup_parent("p"))
        pod = cri.run_pod(pod_config, runtime_handler="hive")
        cid = cri.create_container(
            pod, cri.container_config("c", image.BUSYBOX, ["sleep", "60"]), pod_config)
        cri.start(cid)
        r = cri.exec_sync(cid, ["sh", "-c", "exit 3"])   # r.exit_code == 3
        cri.stop(cid, timeout_s=2); cri.remove(cid); cri.stop_pod(pod); cri.remove_pod(pod)
"""
import importlib
import os
import sys
import time

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = "cri_api.proto"

# CRI's NamespaceMode values (cri_api.proto).
POD, CONTAINER, NODE = 0, 1, 2



def kubelet_hugepage_sizes():
    """The page sizes kubelet sends a limit of 0 for, in every container's resources, unless
    the pod asks for huge pages: the host's (hugepages-2048kB -> "2MB")."""
    sizes = []
    base = "/sys/kernel/mm/hugepages"
    for entry in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        kb = int(entry.split("-")[1][:-2])
        sizes.append(f"{kb >> 20}GB" if kb >= 1 << 20 else f"{kb >> 10}MB")
    return sizes

class CriError(RuntimeError):
    pass


def generate_stubs(out_dir):
    """Generates cri_api_pb2{,_grpc}.py into `out_dir` (once) and returns (pb2, pb2_grpc)."""
    if not os.path.exists(os.path.join(out_dir, "cri_api_pb2_grpc.py")):
        os.makedirs(out_dir, exist_ok=True)
        rc = protoc.main(["protoc", "-I", HERE, "--python_out", out_dir,
                          "--grpc_python_out", out_dir, os.path.join(HERE, PROTO)])
        if rc != 0:
            raise RuntimeError(f"protoc {PROTO} into {out_dir} failed with {rc}")
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)  # the _grpc module imports the _pb2 module by name
    return importlib.import_module("cri_api_pb2"), importlib.import_module("cri_api_pb2_grpc")


class CriClient:
    """Thin wrappers over RuntimeService and ImageService; `pb` is the message module, and
    `runtime` / `images` are the raw stubs for calls without a wrapper."""

    def __init__(self, socket_path, stubs_dir, timeout=60.0):
        self.pb, pb_grpc = generate_stubs(stubs_dir)
        self.timeout = timeout
        self.channel = grpc.insecure_channel("unix:" + socket_path)
        self.runtime = pb_grpc.RuntimeServiceStub(self.channel)
        self.images = pb_grpc.ImageServiceStub(self.channel)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.channel.close()

    def _call(self, method, request, timeout=None):
        try:
            return method(request, timeout=timeout or self.timeout)
        except grpc.RpcError as e:  # one line that names the call instead of grpc's repr
            raise CriError(f"{type(request).__name__[:-len('Request')]}: {e.code().name}: "
                           f"{e.details()}") from None

    # -- runtime ---------------------------------------------------------------------------

    def version(self):
        return self._call(self.runtime.Version, self.pb.VersionRequest(version="v1"))

    def wait_ready(self, timeout=30.0):
        """Waits until the runtime reports RuntimeReady and NetworkReady (CNI loaded)."""
        deadline = time.monotonic() + timeout
        while True:
            conds = self._call(self.runtime.Status, self.pb.StatusRequest()).status.conditions
            if conds and all(c.status for c in conds):
                return
            if time.monotonic() > deadline:
                waiting = [(c.type, c.reason, c.message) for c in conds if not c.status]
                raise TimeoutError(f"CRI not ready after {timeout}s: {waiting}")
            time.sleep(0.1)

    # -- pods ------------------------------------------------------------------------------

    def pod_config(self, name, log_dir, cgroup_parent, host_network=False, uid=None,
                   namespace="default", hostname="", annotations=None):
        """A PodSandboxConfig. `host_network` pods share the host's network namespace (and
        must not set a hostname: without a UTS namespace of its own runc refuses one).
        `annotations`: the pod's (containerd passes those its runtime handler lists in
        pod_annotations into the OCI specs)."""
        ns = self.pb.NamespaceOption(network=NODE if host_network else POD, pid=CONTAINER,
                                     ipc=POD)
        return self.pb.PodSandboxConfig(
            metadata=self.pb.PodSandboxMetadata(name=name, uid=uid or name + "-uid",
                                                namespace=namespace, attempt=0),
            hostname=hostname,
            log_directory=log_dir,
            annotations=annotations or {},
            linux=self.pb.LinuxPodSandboxConfig(
                cgroup_parent=cgroup_parent,
                security_context=self.pb.LinuxSandboxSecurityContext(namespace_options=ns)))

    def run_pod(self, config, runtime_handler=""):
        return self._call(self.runtime.RunPodSandbox, self.pb.RunPodSandboxRequest(
            config=config, runtime_handler=runtime_handler)).pod_sandbox_id

    def pod_status(self, pod_id, verbose=False):
        return self._call(self.runtime.PodSandboxStatus, self.pb.PodSandboxStatusRequest(
            pod_sandbox_id=pod_id, verbose=verbose))

    def list_pods(self):
        return self._call(self.runtime.ListPodSandbox, self.pb.ListPodSandboxRequest()).items

    def stop_pod(self, pod_id):
        self._call(self.runtime.StopPodSandbox, self.pb.StopPodSandboxRequest(
            pod_sandbox_id=pod_id))

    def remove_pod(self, pod_id):
        self._call(self.runtime.RemovePodSandbox, self.pb.RemovePodSandboxRequest(
            pod_sandbox_id=pod_id))

    # -- containers ------------------------------------------------------------------------

    def container_config(self, name, image_ref, command, args=(), env=None, log_path=None,
                         working_dir="", mounts=(), capabilities=None):
        """A ContainerConfig; `mounts`: (host_path, container_path, readonly) as kubelet
        passes its volumes. `capabilities`: (add, drop) lists of the security context, as a
        pod spec's securityContext.capabilities ("NET_BIND_SERVICE", "ALL"); None: the
        runtime's default set. Every container gets what kubelet sends: a hugepage limit of 0
        per page size of the host (containerd passes them on only where the hugetlb
        controller is mounted, which this kind of host does not)."""
        security = self.pb.LinuxContainerSecurityContext()
        if capabilities is not None:
            add, drop = capabilities
            security = self.pb.LinuxContainerSecurityContext(capabilities=self.pb.Capability(
                add_capabilities=list(add), drop_capabilities=list(drop)))
        return self.pb.ContainerConfig(
            metadata=self.pb.ContainerMetadata(name=name, attempt=0),
            image=self.pb.ImageSpec(image=image_ref),
            command=list(command), args=list(args), working_dir=working_dir,
            envs=[self.pb.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
            mounts=[self.pb.Mount(host_path=h, container_path=c, readonly=ro)
                    for h, c, ro in mounts],
            log_path=log_path or name + ".log",
            linux=self.pb.LinuxContainerConfig(
                security_context=security,
                resources=self.pb.LinuxContainerResources(
                    hugepage_limits=[self.pb.HugepageLimit(page_size=s, limit=0)
                                     for s in kubelet_hugepage_sizes()])))

    def create_container(self, pod_id, config, pod_config):
        return self._call(self.runtime.CreateContainer, self.pb.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=config, sandbox_config=pod_config)).container_id

    def start(self, container_id):
        self._call(self.runtime.StartContainer, self.pb.StartContainerRequest(
            container_id=container_id))

    def stop(self, container_id, timeout_s=0):
        """StopContainer: the stop signal, SIGKILL after `timeout_s` seconds."""
        self._call(self.runtime.StopContainer, self.pb.StopContainerRequest(
            container_id=container_id, timeout=timeout_s), timeout=self.timeout + timeout_s)

    def remove(self, container_id):
        self._call(self.runtime.RemoveContainer, self.pb.RemoveContainerRequest(
            container_id=container_id))

    def status(self, container_id, verbose=False):
        return self._call(self.runtime.ContainerStatus, self.pb.ContainerStatusRequest(
            container_id=container_id, verbose=verbose))

    def list_containers(self, pod_id=""):
        flt = self.pb.ContainerFilter(pod_sandbox_id=pod_id)
        return self._call(self.runtime.ListContainers,
                          self.pb.ListContainersRequest(filter=flt)).containers

    def stats(self, container_id):
        return self._call(self.runtime.ContainerStats, self.pb.ContainerStatsRequest(
            container_id=container_id)).stats

    def exec_sync(self, container_id, cmd, timeout_s=0):
        """ExecSync; the response has stdout, stderr (bytes) and exit_code."""
        return self._call(self.runtime.ExecSync, self.pb.ExecSyncRequest(
            container_id=container_id, cmd=list(cmd), timeout=timeout_s),
            timeout=self.timeout + timeout_s)

    def exec_url(self, container_id, cmd, stdout=True, stderr=True, stdin=False, tty=False):
        """Exec: the URL of the streaming server that runs `cmd` once a client connects."""
        return self._call(self.runtime.Exec, self.pb.ExecRequest(
            container_id=container_id, cmd=list(cmd), stdout=stdout, stderr=stderr,
            stdin=stdin, tty=tty)).url

    # -- images ----------------------------------------------------------------------------

    def list_images(self):
        return self._call(self.images.ListImages, self.pb.ListImagesRequest()).images

    def image_status(self, image_ref):
        return self._call(self.images.ImageStatus, self.pb.ImageStatusRequest(
            image=self.pb.ImageSpec(image=image_ref))).image
