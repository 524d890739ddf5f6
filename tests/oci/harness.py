"""What every OCI engine test shares: why it must skip, one temporary directory and the images
for the whole module, timing lines, and the checks that nothing was left behind.

    SESSION = harness.Session()            # tmp dir, images, host snapshot
    def setUpModule(): SESSION.start()
    def tearDownModule(): SESSION.finish()  # fails if anything is left on the host

    class T(unittest.TestCase):
        def setUp(self):
            harness.watch_tidy(self, self.cd)  # the runtime removed its cgroups, processes

    if __name__ == "__main__":
        harness.main(runtime, missing_python)  # exit 77 with the reason, or run the tests
"""
import contextlib
import os
import shutil
import sys
import tempfile
import time
import unittest

import containerd
import host
import image
import podman

SKIP = 77

# What the fixtures run: path -> Debian package.
PACKAGES = {
    containerd.CONTAINERD: "containerd", containerd.CTR: "containerd",
    "/usr/bin/containerd-shim-runc-v2": "containerd", "/usr/bin/runc": "runc",
    podman.PODMAN: "podman", podman.CONMON: "conmon",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "/usr/lib/cni/host-local": "containernetworking-plugins",
    "/usr/lib/cni/loopback": "containernetworking-plugins",
    image.BUSYBOX_BINARY: "busybox-static", "/usr/bin/gcc": "gcc",
    "/usr/lib/x86_64-linux-gnu/libc.a": "libc6-dev",
    "/usr/bin/unshare": "util-linux", "/usr/sbin/ip": "iproute2",
}

# Host directories an engine may write to outside its temporary directory: shim sockets,
# libcni's cache, podman's blob-info cache and default roots, CNI configuration.
WATCHED = ("/run/containerd", "/run/containerd/s", "/var/lib/cni", "/var/lib/containers",
           "/run/containers", "/run/libpod", "/etc/cni/net.d")


def unmet(runtime, missing_python=()):
    """Why the tests cannot run here, or [] when they can."""
    reasons = [] if os.geteuid() == 0 else ["needs root"]
    missing = sorted({pkg for path, pkg in PACKAGES.items() if not os.path.exists(path)}
                     | set(missing_python))
    if missing:
        reasons.append("missing Debian packages: apt-get install -y --no-install-recommends "
                       + " ".join(missing))
    if not os.access(runtime, os.X_OK):
        reasons.append(f"runtime {runtime} is not executable")
    return reasons


def main(runtime, missing_python=()):
    """Exits 77 naming the reason when the tests cannot run, else runs them and exits 0/1."""
    reasons = unmet(runtime, missing_python)
    if reasons:
        print("SKIP: " + "; ".join(reasons))
        sys.exit(SKIP)
    started = time.monotonic()
    result = unittest.main(verbosity=2, exit=False).result
    print(f"total {time.monotonic() - started:.1f}s", file=sys.stderr)
    sys.exit(0 if result.wasSuccessful() else 1)


@contextlib.contextmanager
def timed(what):
    """Prints how long `what` took (stderr; for the record, never asserted)."""
    start = time.monotonic()
    yield
    print(f"  [{time.monotonic() - start:6.2f}s] {what}", file=sys.stderr)


class Session:
    """One temporary directory and one set of images for a test module; finish() fails if
    anything of the module's fixtures is left on the host."""

    def __init__(self):
        self.tmp = None
        self.images = None
        self._before = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="hive-oci-")
        os.chmod(self.tmp, 0o755)
        host.stop_at_exit(self._remove_tmp)  # first in, so it runs after every fixture's stop
        self._before = host.Snapshot(WATCHED)
        with timed("images: busybox + static pause, docker-archive + rootfs tar"):
            self.images = image.TestImages(os.path.join(self.tmp, "images"))

    def _remove_tmp(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def finish(self):
        host.stopped(self._remove_tmp)  # removed below, after the checks
        host.stop_all()  # a fixture whose setUpClass failed never got to tearDownClass
        try:
            problems = self._before.differences(host.Snapshot(WATCHED))
            problems += [f"mounted: {m}" for m in host.mounts_under(self.tmp)]
            problems += [f"running: {p}" for p in host.processes_naming(self.tmp)]
            if problems:
                raise AssertionError("left on the host: " + "; ".join(problems))
        finally:
            self._remove_tmp()


def assert_fixture_gone(fixture):
    """After fixture.stop(): nothing had to be cleaned up by force, and nothing remains."""
    problems = list(fixture.leftovers)
    problems += [f"mounted: {m}" for m in host.mounts_under(fixture.dir)]
    problems += [f"cgroup: {d}" for d in host.cgroups_named(fixture.token)]
    problems += [f"running: {p}" for p in host.processes_naming(fixture.dir)]
    if os.path.exists(fixture.dir):
        problems.append(f"{fixture.dir} still exists")
    bridge = getattr(fixture, "bridge", None)
    if bridge and bridge in host.links():
        problems.append(f"bridge {bridge} still exists")
    if problems:
        raise AssertionError("left behind: " + "; ".join(problems))


def watch_tidy(case, fixture):
    """Makes `case` fail, after all the cleanups it adds later, if the runtime did not remove
    every container cgroup and process the test made (earlier tests' leftovers not counted).
    Call it first in setUp."""
    before = set(fixture.runtime_leftovers())
    case.addCleanup(_assert_tidy, case, fixture, before)


def _assert_tidy(case, fixture, before):
    new = [x for x in fixture.runtime_leftovers() if x not in before]
    case.assertFalse(new, "the runtime left behind:\n  " + "\n  ".join(new))
