"""A private podman for one test, driving a runtime under test.

Every path podman and its storage own (graph root, run root, libpod's tmp dir, locks, events
log, network configuration, image copy temp) is under one temporary directory, set both in a
containers.conf / storage.conf of our own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: nothing
from /etc/containers is read for them) and on the command line. The runtime under test is the
containers.conf runtime `hive`, listed in runtime_supports_json so that podman passes it the
same `--log-format=json --log` flags it passes runc. Containers go into the cgroup parent
`/<token>`, with no network, and with lowered ulimits.

    with Podman(tmp, runtime="/usr/bin/runc") as pm:
        pm.import_image(images.busybox_layer, image.BUSYBOX)
        r = pm.run("--rm", image.BUSYBOX, "echo", "hi")
    pm.leftovers    # what stop() had to clean up by force; [] after a tidy run

Pitfalls this handles (Debian 12, podman 4.3.1, no systemd):
* rootful podman asks for RLIMIT_NOFILE/NPROC 1048576; without CAP_SYS_RESOURCE the runtime
  cannot raise the hard limit that far and create fails: default_ulimits are lowered.
* podman only passes the json log flags to runtimes named in runtime_supports_json; a
  runtime's basename decides otherwise.
* no systemd: cgroupfs manager and a file events backend.
* the shm lock segment (/dev/shm/libpod_lock) is shared by every podman on the host:
  file locks under the tmp dir instead.
* the overlay driver bind-mounts its own directory private and leaves that mount (and each
  container's merged dir after a crash): stop() unmounts everything under the temp dir.
"""
import os
import shutil
import subprocess
import tempfile
import uuid

import host

PODMAN = "/usr/bin/podman"
CONMON = "/usr/bin/conmon"
ULIMITS = ("nofile=4096:4096", "nproc=4096:4096")

_CONTAINERS_CONF = """\
[containers]
default_ulimits = [{ulimits}]
netns = "none"
log_driver = "k8s-file"

[network]
network_backend = "cni"
network_config_dir = "{network_dir}"
cni_plugin_dirs = ["/usr/lib/cni"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{events}"
tmp_dir = "{libpod_tmp}"
static_dir = "{static}"
volume_path = "{volumes}"
image_copy_tmp_dir = "{tmp}"
lock_type = "file"
conmon_path = ["{conmon}"]
runtime = "hive"
runtime_supports_json = ["hive", "runc", "crun"]

[engine.runtimes]
hive = ["{runtime}"]
"""

_STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{graphroot}"
runroot = "{runroot}"
"""


class PodmanError(RuntimeError):
    pass


class Podman:
    """podman under `base_dir`/podman-<random>, whose default runtime `hive` is `runtime`."""

    def __init__(self, base_dir, runtime):
        self.token = "hive-test-" + uuid.uuid4().hex[:10]
        self.dir = tempfile.mkdtemp(prefix="podman-", dir=base_dir)
        os.chmod(self.dir, 0o755)
        self.runtime = runtime
        self.cgroup_parent = "/" + self.token
        self.leftovers = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        host.stop_at_exit(self.stop)
        if os.path.realpath(self.dir).startswith("/var/lib/"):
            raise PodmanError(f"{self.dir}: under /var/lib, which import_image hides")
        for d in ("root", "runroot", "libpod", "static", "volumes", "tmp", "cni"):
            os.makedirs(self.path(d), exist_ok=True)
        with open(self.path("containers.conf"), "w") as f:
            f.write(_CONTAINERS_CONF.format(
                ulimits=", ".join(f'"{u}"' for u in ULIMITS), network_dir=self.path("cni"),
                events=self.path("events.log"), libpod_tmp=self.path("libpod"),
                static=self.path("static"), volumes=self.path("volumes"), tmp=self.path("tmp"),
                conmon=CONMON, runtime=self.runtime))
        with open(self.path("storage.conf"), "w") as f:
            f.write(_STORAGE_CONF.format(graphroot=self.path("root"),
                                         runroot=self.path("runroot")))

    def _env(self):
        env = dict(os.environ)
        env.update(CONTAINERS_CONF=self.path("containers.conf"),
                   CONTAINERS_STORAGE_CONF=self.path("storage.conf"),
                   TMPDIR=self.path("tmp"), XDG_RUNTIME_DIR=self.path("tmp"))
        return env

    def podman(self, *args, timeout=120, input=None, private_var_lib=False):
        """Runs podman with this fixture's roots; returns the CompletedProcess.
        `private_var_lib`: in a private mount namespace with a tmpfs on /var/lib."""
        cmd = [PODMAN, "--root", self.path("root"), "--runroot", self.path("runroot"),
               "--tmpdir", self.path("libpod"), "--cgroup-manager", "cgroupfs",
               "--events-backend", "file", "--runtime", "hive", *args]
        if private_var_lib:
            cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                   'mount -t tmpfs tmpfs /var/lib && exec "$@"', "sh", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              input=input, env=self._env())

    def check(self, *args, **kw):
        r = self.podman(*args, **kw)
        if r.returncode != 0:
            raise PodmanError(f"podman {' '.join(args)}: rc {r.returncode}: {r.stderr.strip()}")
        return r

    def import_image(self, rootfs_tar, ref, cmd='["/bin/sh"]'):
        """`podman import` of a rootfs tar as `ref`. Every image copy writes a blob-info cache
        to /var/lib/containers/cache whatever the roots are; the copy runs in a mount
        namespace of its own where a tmpfs hides /var/lib, so that cache goes with it."""
        self.check("import", "--change", f"CMD {cmd}", rootfs_tar, ref, private_var_lib=True)

    def run(self, *args, network="none", timeout=120):
        """`podman run` in this fixture's cgroup parent; `args` are run's options, image and
        command (e.g. "--rm", image, "echo", "hi")."""
        return self.podman("run", "--cgroup-parent", self.cgroup_parent, "--network", network,
                           *args, timeout=timeout)

    def runtime_leftovers(self):
        """Container cgroups and processes the runtime should have removed by now, when no
        container of this fixture exists. conmon's cgroup (<parent>/conmon) is podman's."""
        return host.runtime_leftovers(self.token, {self.token, "conmon"})

    def stop(self):
        """Removes every container (`rm -af`), then whatever is still left (recorded in
        self.leftovers): processes, mounts, cgroups; finally the temporary directory."""
        host.stopped(self.stop)
        if os.path.exists(self.path("containers.conf")):
            try:
                ids = self.podman("ps", "-aq", timeout=60).stdout.split()
                if ids:
                    self.leftovers.append(f"containers left: {ids}")
                r = self.podman("rm", "-af", "-t", "0", timeout=60)
                if r.returncode != 0:
                    self.leftovers.append(f"podman rm -af: rc {r.returncode}: "
                                          f"{r.stderr.strip()}")
            except subprocess.TimeoutExpired as e:  # a hung runtime: the rest still runs
                self.leftovers.append(f"timed out: {e.cmd}")
        self.leftovers += self.runtime_leftovers()
        stray = sorted(set(host.wait_for_exit(self.dir))
                       | set(host.processes_in_cgroups(self.token)))
        if stray:
            host.kill_and_wait([pid for pid, _ in stray])
            self.leftovers.append(f"processes killed: {stray}")
        # The overlay driver's private bind mount of its own directory is expected; anything
        # else still mounted (a container's rootfs, its shm) was left behind.
        overlay_home = os.path.realpath(self.path("root", "overlay"))
        unmounted = host.unmount_under(self.dir)
        extra = [m for m in unmounted if m != overlay_home]
        if extra:
            self.leftovers.append(f"mounts detached: {extra}")
        host.remove_cgroups(self.token)
        shutil.rmtree(self.dir, ignore_errors=True)
