"""A private containerd for one test, with its CRI plugin, driving a runtime under test.

containerd runs from Debian's package with every path it owns (root, state, temp, gRPC
socket, runc state roots, CNI configuration and IP store) under one temporary directory. Two
runtime handlers are configured for the CRI plugin: `hive`, whose BinaryName is the runtime
under test, and `runc`, Debian's runc. CNI pods get a bridge with a name unique to this
fixture, no gateway and no masquerading, so no traffic leaves the host. Containers go into the
cgroup parent `/<token>` (ctr: `--cgroup`, CRI: the pod's cgroup_parent, see `cgroup_parent`).

    with Containerd(tmp, runtime="/usr/bin/runc") as cd:
        cd.import_image(images.busybox_archive)             # into "default" and "k8s.io"
        r = cd.ctr_run(image.BUSYBOX, "c1", "echo", "hi")   # via --runc-binary <runtime>
        ... CRI calls on cd.address (see cri.py) ...
    cd.leftovers    # what stop() had to clean up by force; [] after a tidy run

Pitfalls this handles (all seen on Debian 12 with containerd 1.6.20):
* The shim's runc state root defaults to /run/containerd/runc/<ns>: set `Root` for every CRI
  handler and pass `--runc-root` to ctr.
* CNI network namespaces default to /var/run/netns: `netns_mounts_under_state_dir`.
* host-local IPAM stores leases in /var/lib/cni/networks: `dataDir` in the conflist.
* The shims' sockets always go to /run/containerd/s/ and libcni's result cache to
  /var/lib/cni/results (neither is configurable in 1.6); their owners remove them on a tidy
  shutdown; stop() removes ours otherwise, and the directories when it created them.
* ctr's I/O fifos default to /run/containerd/fifo: `--fifo-dir`.
* Shims outlive containerd by design: stop() deletes every task first, then stops containerd,
  and kills any shim that is still running (by pid, found by its -address argument).
* The `opt` plugin creates /opt/containerd: disabled.
"""
import glob
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid

import host
import image

CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
CNI_BIN_DIR = "/usr/lib/cni"
NAMESPACES = ("default", "k8s.io")
SHIM_SOCKET_DIR = "/run/containerd/s"
CNI_CACHE_DIR = "/var/lib/cni"

_CONFIG = """\
version = 2
root = "{root}"
state = "{state}"
temp = "{temp}"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{address}"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{sandbox_image}"
    enable_selinux = false
    disable_apparmor = true
    # Negative oom_score_adj needs CAP_SYS_RESOURCE, which this machine's root may lack.
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "{cni_bin_dir}"
      conf_dir = "{cni_conf_dir}"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      snapshotter = "overlayfs"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "{runc}"
          Root = "{runc_root}"
          SystemdCgroup = false
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hive]
        runtime_type = "io.containerd.runc.v2"
        pod_annotations = ["org.hive-run.policy"]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hive.options]
          BinaryName = "{runtime}"
          Root = "{hive_root}"
          SystemdCgroup = false
"""

_CNI_CONFLIST = """\
{{
  "cniVersion": "0.4.0",
  "name": "{name}",
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "{bridge}",
      "isGateway": false,
      "ipMasq": false,
      "ipam": {{
        "type": "host-local",
        "dataDir": "{ipam_dir}",
        "ranges": [[{{"subnet": "{subnet}"}}]],
        "routes": []
      }}
    }},
    {{"type": "loopback"}}
  ]
}}
"""


class ContainerdError(RuntimeError):
    pass


class Containerd:
    """containerd in a new directory under `base_dir`; `runtime` is the BinaryName of the
    `hive` handler and the --runc-binary of ctr_run; `images` are docker-archives to import
    into both namespaces at start."""

    def __init__(self, base_dir, runtime, runc="/usr/bin/runc", images=(),
                 sandbox_image=None):
        self.token = "hive-test-" + uuid.uuid4().hex[:10]
        self.dir = tempfile.mkdtemp(prefix="containerd-", dir=base_dir)
        os.chmod(self.dir, 0o755)
        self.runtime = runtime
        self.runc = runc
        self.images = list(images)
        self.sandbox_image = sandbox_image or image.PAUSE
        self.address = self.path("containerd.sock")
        self.bridge = "hvt" + self.token[-10:]  # IFNAMSIZ: at most 15 characters
        self.cni_network = self.token
        # A /24 no other test is likely to use at the same time; the bridge has no address and
        # the host no route to it, so even a collision would stay between two bridges.
        self.subnet = f"10.{random.randrange(200, 250)}.{random.randrange(256)}.0/24"
        self.cgroup_parent = "/" + self.token
        self._cgroup_parents = {self.token}  # cgroups made for grouping, not for a container
        self.log_path = self.path("containerd.log")
        self.leftovers = []
        self.proc = None
        self._created_host_dirs = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=30.0):
        host.stop_at_exit(self.stop)
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout):
        for d in ("root", "state", "tmp", "cni/net.d", "cni/ipam", "runc/runc", "runc/hive",
                  "runc/ctr", "fifo"):
            os.makedirs(self.path(d), exist_ok=True)
        for d in (SHIM_SOCKET_DIR, os.path.dirname(SHIM_SOCKET_DIR), CNI_CACHE_DIR,
                  os.path.join(CNI_CACHE_DIR, "results")):
            if not os.path.exists(d):
                self._created_host_dirs.append(d)
        with open(self.path("containerd.toml"), "w") as f:
            f.write(_CONFIG.format(
                root=self.path("root"), state=self.path("state"), temp=self.path("tmp"),
                address=self.address, sandbox_image=self.sandbox_image,
                cni_bin_dir=CNI_BIN_DIR, cni_conf_dir=self.path("cni/net.d"),
                runc=self.runc, runc_root=self.path("runc/runc"), runtime=self.runtime,
                hive_root=self.path("runc/hive")))
        with open(self.path("cni/net.d/10-hive-test.conflist"), "w") as f:
            f.write(_CNI_CONFLIST.format(name=self.cni_network, bridge=self.bridge,
                                         ipam_dir=self.path("cni/ipam"), subnet=self.subnet))
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [CONTAINERD, "--config", self.path("containerd.toml")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env=self._env())
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ContainerdError(f"containerd exited {self.proc.returncode} at start-up: "
                                      f"{self.log_tail()}")
            if os.path.exists(self.address) and self.ctr("version").returncode == 0:
                break
            if time.monotonic() > deadline:
                raise ContainerdError(f"containerd did not answer within {timeout}s: "
                                      f"{self.log_tail()}")
            time.sleep(0.05)
        for archive in self.images:
            self.import_image(archive)

    def _env(self):
        env = dict(os.environ)
        env["TMPDIR"] = self.path("tmp")
        return env

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        """Deletes every task and container, stops containerd by pid, then removes whatever is
        still left (recorded in self.leftovers): processes, mounts, netns files, cgroups, the
        bridge, host directories this fixture created; finally the temporary directory."""
        host.stopped(self.stop)
        if self.proc is not None and self.proc.poll() is None:
            try:
                for ns in NAMESPACES:
                    self._delete_all(ns)
            except subprocess.TimeoutExpired as e:  # a hung runtime: the rest still runs
                self.leftovers.append(f"timed out: {e.cmd}")
            host.stop_process(self.proc)
        self.proc = None
        # Checked before anything is killed: processes still in the cgroups are the runtime's
        # to have stopped, cgroups below the parents the runtime's to have removed.
        self.leftovers += self.runtime_leftovers()
        stray = sorted(set(host.wait_for_exit(self.dir))
                       | set(host.processes_in_cgroups(self.token)))
        if stray:
            host.kill_and_wait([pid for pid, _ in stray])
            self.leftovers.append(f"processes killed: {stray}")
        unmounted = host.unmount_under(self.dir)
        if unmounted:
            self.leftovers.append(f"mounts detached: {unmounted}")
        if host.bridge_ports(self.bridge):
            self.leftovers.append(f"ports on {self.bridge}: {host.bridge_ports(self.bridge)}")
        host.delete_link(self.bridge)
        self._remove_cni_cache()
        self._remove_shim_sockets()
        host.remove_cgroups(self.token)
        host.remove_empty_dirs(self._created_host_dirs)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _remove_shim_sockets(self):
        """A shim that had to be killed leaves its socket in /run/containerd/s; the task's
        bundle directory, which a tidy shim removes, names it in its `address` file."""
        for f in glob.glob(self.path("state", "io.containerd.runtime.v2.task", "*", "*",
                                     "address")):
            with open(f) as a:
                sock = a.read().strip().replace("unix://", "", 1)
            if sock.startswith(SHIM_SOCKET_DIR + "/") and os.path.exists(sock):
                self.leftovers.append(f"shim socket removed: {sock}")
                os.unlink(sock)

    def _remove_cni_cache(self):
        """libcni caches each attachment's result, <network>-<sandbox id>-<ifname>, until its
        DEL; a pod never stopped keeps ours and containerd's loopback one of the same id."""
        results = os.path.join(CNI_CACHE_DIR, "results")
        names = os.listdir(results) if os.path.isdir(results) else []
        ours = [n for n in names if n.startswith(self.cni_network + "-")]
        ids = {n[len(self.cni_network) + 1:].rsplit("-", 1)[0] for n in ours}
        ours += [n for n in names if n.startswith("cni-loopback-")
                 and n[len("cni-loopback-"):].rsplit("-", 1)[0] in ids]
        if ours:
            self.leftovers.append(f"CNI results cached: {ours}")
        for n in ours:
            os.unlink(os.path.join(results, n))

    def _delete_all(self, ns):
        tasks = self.ctr("tasks", "ls", "-q", ns=ns).stdout.split()
        containers = self.ctr("containers", "ls", "-q", ns=ns).stdout.split()
        if tasks:
            self.leftovers.append(f"tasks left in {ns}: {tasks}")
        for t in tasks:
            self.ctr("tasks", "kill", "--all", "--signal", "SIGKILL", t, ns=ns)
        for t in tasks:
            self.ctr("tasks", "delete", "--force", t, ns=ns)
        if containers:
            self.leftovers.append(f"containers left in {ns}: {containers}")
            self.ctr("containers", "delete", *containers, ns=ns)

    def runtime_leftovers(self):
        """Container cgroups and processes the runtime should have removed by now, when no
        container of this fixture exists (see host.runtime_leftovers)."""
        return host.runtime_leftovers(self.token, self._cgroup_parents)

    def pod_cgroup_parent(self, name):
        """A cgroup parent for one CRI pod (PodSandboxConfig.linux.cgroup_parent): the pod's
        containers go below it, and stop() removes it without counting it as left over."""
        self._cgroup_parents.add(name)
        return f"{self.cgroup_parent}/{name}"

    # -- ctr -------------------------------------------------------------------------------

    def ctr(self, *args, ns="default", timeout=60, input=None):
        """Runs `ctr --address <sock> --namespace <ns> ARGS`; returns the CompletedProcess."""
        return subprocess.run([CTR, "--address", self.address, "--namespace", ns, *args],
                              capture_output=True, text=True, timeout=timeout, input=input,
                              env=self._env())

    def check_ctr(self, *args, **kw):
        r = self.ctr(*args, **kw)
        if r.returncode != 0:
            raise ContainerdError(f"ctr {' '.join(args)}: rc {r.returncode}: {r.stderr.strip()}")
        return r

    def import_image(self, archive, namespaces=NAMESPACES):
        for ns in namespaces:
            self.check_ctr("images", "import", archive, ns=ns)

    def runtime_flags(self, runtime=None):
        """The ctr flags that make the runc shim drive `runtime` (default: the one under test)
        with its state under this fixture."""
        return ["--runc-binary", runtime or self.runtime, "--runc-root", self.path("runc/ctr"),
                "--fifo-dir", self.path("fifo")]

    def ctr_run(self, image_ref, cid, *cmd, detach=False, runtime=None, extra=(), ns="default",
                timeout=60):
        """`ctr run` of `cmd` in a new container `cid`: --rm and waits unless `detach`."""
        args = ["run", *self.runtime_flags(runtime), "--cgroup", f"{self.cgroup_parent}/{cid}"]
        args += ["--detach"] if detach else ["--rm"]
        return self.ctr(*args, *extra, image_ref, cid, *cmd, ns=ns, timeout=timeout)

    def ctr_exec(self, cid, exec_id, *cmd, ns="default", timeout=60):
        return self.ctr("tasks", "exec", "--fifo-dir", self.path("fifo"), "--exec-id", exec_id,
                        cid, *cmd, ns=ns, timeout=timeout)

    def ctr_kill(self, cid, signal="SIGTERM", all_processes=False, ns="default"):
        return self.ctr("tasks", "kill", "--signal", signal,
                        *(["--all"] if all_processes else []), cid, ns=ns)

    def ctr_delete(self, cid, force=False, ns="default"):
        """Deletes the task (`--force` kills it first) and then the container."""
        task = self.ctr("tasks", "delete", *(["--force"] if force else []), cid, ns=ns)
        container = self.ctr("containers", "delete", cid, ns=ns)
        # A container whose create failed has no task: its container record still goes.
        if task.returncode != 0 and "not found" not in task.stderr:
            return task
        return container

    def wait_task_stopped(self, cid, ns="default", timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.ctr("tasks", "ls", ns=ns).stdout.splitlines()[1:]:
                fields = line.split()
                if fields and fields[0] == cid and fields[-1] == "STOPPED":
                    return True
            time.sleep(0.05)
        return False
