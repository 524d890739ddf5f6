"""The runtimes under comparison and exactly how each is invoked.

Each sandboxing runtime is configured as close as it allows to hive-run's built-in
sandbox: all seven namespaces, a read-only root holding only the host's /usr (read-only)
and the few /etc files the dynamic loader needs, fresh /proc, a minimal /dev, a private
tmpfs /tmp, no capabilities, no_new_privs. What each one does beyond that (cgroups,
seccomp, audit) differs and is printed beside the numbers.
"""
import json
import os
import shutil
from dataclasses import dataclass, field

import cgroups
from measure import open_append, reap_orphans, timed_run

# hive-run maps the sandbox's root to this host id range; runc and crun get the same map.
HOST_ID_BASE, HOST_ID_COUNT = 0x70000000, 65536

# /etc files hive-run's built-in sandbox binds from the host (it writes passwd, group,
# hosts, hostname and nsswitch.conf itself).
ETC_BINDS = ["/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"]
ROOT_LINKS = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"}


def which(name):
    path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not path:
        raise FileNotFoundError(f"`{name}` not found")
    return path


@dataclass
class Runtime:
    name: str
    comm: str                       # process name of the runtime's own processes
    argv: callable                  # payload argv → full command line
    invocation: str                 # how it is called, printed with the results
    helper: object = None           # cgroups.NamespaceHelper when it must run in one
    notes: list = field(default_factory=list)
    close: callable = None          # removes what the runtime left behind (containers)

    def run(self, payload, timeout, stderr_path):
        return self.run_argv(self.argv(payload), timeout, stderr_path)

    def run_argv(self, argv, timeout, stderr_path):
        """Runs a full command line where this runtime runs (the helper's namespace)."""
        if self.helper:
            return self.helper.run(argv, timeout, stderr_path)
        with open_append(stderr_path) as err:
            res = timed_run(argv, timeout, stderr=err)
        reap_orphans()
        return res


def bare():
    return Runtime("bare", "", lambda p: list(p), "the payload itself, no sandbox")


def unshare():
    prefix = [which("unshare"), "--user", "--map-root-user", "--mount", "--pid", "--fork",
              "--ipc", "--uts", "--net", "--cgroup", "--mount-proc"]
    return Runtime("unshare", "unshare", lambda p: prefix + list(p), " ".join(prefix) + " CMD",
                   notes=["namespaces only: host root filesystem, no /dev or /tmp of its own"])


def bwrap_args():
    args = [which("bwrap"), "--unshare-all", "--unshare-user", "--unshare-cgroup",
            "--uid", "0", "--gid", "0", "--hostname", "hive", "--ro-bind", "/usr", "/usr"]
    for link, target in ROOT_LINKS.items():
        args += ["--symlink", target, "/" + link]
    for path in ETC_BINDS:
        args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--remount-ro", "/",
             "--new-session", "--die-with-parent", "--cap-drop", "ALL", "--clearenv",
             "--setenv", "PATH", "/usr/bin:/bin", "--"]
    return args


def bwrap():
    prefix = bwrap_args()
    return Runtime("bwrap", "bwrap", lambda p: prefix + list(p), " ".join(prefix) + " CMD",
                   notes=["no cgroups, no seccomp filter, no report or audit record; "
                          "sandbox root maps to host root (0→0, one id)"])


def oci_config(rootfs, args, cgroups_path):
    """A config.json equivalent to hive-run's built-in sandbox (runc/crun spec defaults for
    masked and read-only /proc paths, the default device cgroup rules)."""
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=64k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/usr", "type": "bind", "source": "/usr",
         "options": ["rbind", "ro", "nosuid", "nodev"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]},
    ] + [{"destination": p, "type": "bind", "source": p,
          "options": ["bind", "ro", "nosuid", "nodev"]} for p in ETC_BINDS]
    idmap = [{"containerID": 0, "hostID": HOST_ID_BASE, "size": HOST_ID_COUNT}]
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0}, "args": list(args),
            "env": ["PATH=/usr/bin:/bin"], "cwd": "/",
            "capabilities": {k: [] for k in ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 256, "soft": 256}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": "hive",
        "mounts": mounts,
        "linux": {
            "uidMappings": idmap, "gidMappings": idmap,
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount", "user", "cgroup")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


class OciBundles:
    """One bundle directory per payload, all sharing one rootfs of mount points and links."""

    def __init__(self, top):
        self.top = top
        self.prefix = f"hive-bench-{os.getpid()}"  # container ids and cgroup names
        self.rootfs = os.path.join(top, "rootfs")
        for d in ("usr", "proc", "dev", "tmp", "etc/alternatives"):
            os.makedirs(os.path.join(self.rootfs, d), exist_ok=True)
        for p in ETC_BINDS:
            if not os.path.isdir(p):
                open(os.path.join(self.rootfs, p.lstrip("/")), "a").close()
        for link, target in ROOT_LINKS.items():
            os.symlink(target, os.path.join(self.rootfs, link))
        self._bundles = {}
        self._serial = 0

    def bundle(self, payload):
        key = tuple(payload)
        if key not in self._bundles:
            path = os.path.join(self.top, f"b{len(self._bundles)}")
            os.mkdir(path)
            cfg = oci_config(self.rootfs, payload, f"{self.prefix}-b{len(self._bundles)}")
            with open(os.path.join(path, "config.json"), "w") as f:
                json.dump(cfg, f, indent=1)
            self._bundles[key] = path
        return self._bundles[key]

    def next_id(self):
        self._serial += 1
        return f"{self.prefix}-{self._serial}"


def delete_containers(binary, state_root, prefix):
    """`runtime delete --force` for every container of ours still in the state directory
    (a run that was killed or timed out)."""
    if os.path.isdir(state_root):
        for cid in os.listdir(state_root):
            if cid.startswith(prefix):
                timed_run([binary, "--root", state_root, "delete", "--force", cid], 30)


def oci_runtime(name, state_root, bundles, helper=None):
    binary = which(name)

    def argv(payload):
        return [binary, "--root", state_root, "run", "--bundle", bundles.bundle(payload),
                bundles.next_id()]
    invocation = f"{name} --root $STATE run --bundle $BUNDLE $ID"
    notes = [f"config.json (below): all 7 namespaces, read-only rootfs with /usr and the "
             f"loader's /etc files bound read-only, uid/gid 0→{HOST_ID_BASE:#x} "
             f"×{HOST_ID_COUNT}, no capabilities, no_new_privs, default device rules, relative "
             f"cgroupsPath `{bundles.prefix}-bN` (below the bench's own cgroups)"]
    notes.append("creates, joins and removes a cgroup in every hierarchy (no limits set); no "
                 "seccomp (the config has none); no report or audit record")
    if helper:
        notes.append("started from a private mount namespace where /sys/fs/cgroup is a fresh "
                     "tmpfs holding only the v1 hierarchies, bind-mounted from the bench's own "
                     "cgroups (crun 1.8 refuses hybrid hosts); namespace set up once, not per run")
    # With a helper, crun's containers can only be deleted from inside its view: the
    # helper does it as it exits.
    close = helper.stop if helper else lambda: delete_containers(binary, state_root,
                                                                 bundles.prefix)
    return Runtime(name, name, argv, invocation, helper=helper, notes=notes, close=close)


def crun(state_root, bundles, staging):
    helper = None
    if cgroups.is_hybrid():
        helper = cgroups.NamespaceHelper(staging, at_exit=lambda: delete_containers(
            which("crun"), state_root, bundles.prefix))
    return oci_runtime("crun", state_root, bundles, helper)


def hive_run(binary, state_dir, extra=()):
    prefix = [binary, "--state-dir", state_dir, "exec", "--quiet", *extra, "--"]
    return Runtime("hive-run", "hive-run", lambda p: prefix + list(p),
                   " ".join(prefix).replace(state_dir, "$STATE") + " CMD",
                   notes=["the full built-in sandbox, every layer this build has (listed above); "
                          "writes a run directory and execution.json under $STATE (on /var/tmp, "
                          "the filesystem of its default /var/lib/hive-run) on every run"])
