"""config.json's linux.namespaces[].path, linux.sysctl and linux.resources.cpu.shares, honoured
by real containers made with `create`/`start`: a second container joins the first one's
network, uts, ipc and pid namespaces as CRI app containers join their pod's pause container,
one joins a network namespace the host owns (`ip netns add`, as CNI makes them), sysctls are
written inside before /proc/sys is read-only, and what hive-run cannot honour is refused at
create, named. Like test_lifecycle.py, this test is a child subreaper, as conmon and the
containerd shim are, and checks that nothing is left after delete.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import image  # noqa: E402
import oci_case  # noqa: E402
from oci_case import alive  # noqa: E402

OWN = ("pid", "network", "ipc", "uts", "mount", "cgroup", "user")
# What podman and CRI put in every config.json.
SYSFS = [{"destination": "/sys", "type": "sysfs", "source": "sysfs",
          "options": ["nosuid", "noexec", "nodev", "ro"]}]



def setUpModule():
    oci_case.setUpModule("hive-oci-ns-rootfs-")


tearDownModule = oci_case.tearDownModule


def joined(pid, *types):
    """Namespace entries that join container `pid`'s namespaces by /proc path, the rest new."""
    files = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts"}
    ns = [{"type": t, "path": f"/proc/{pid}/ns/{files[t]}"} for t in types]
    return ns + [{"type": t} for t in OWN if t not in types]


def cgroup_file(pid, v1_controller, v1_file, v2_file):
    """The container's own value of a cpu control file: v1 where the controller is a v1
    hierarchy, else the v2 one."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    for _, controllers, path in lines:
        if v1_controller in controllers.split(","):
            for top in (f"/sys/fs/cgroup/{controllers}", f"/sys/fs/cgroup/{v1_controller}"):
                if os.path.isdir(top):
                    with open(os.path.join(top + path, v1_file)) as f:
                        return v1_file, f.read().strip()
    for hid, controllers, path in lines:
        if hid == "0":
            for top in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                p = os.path.join(top + path, v2_file)
                if os.path.exists(p):
                    with open(p) as f:
                        return v2_file, f.read().strip()
    return None, None


class NamespaceCase(oci_case.OciCase):
    """Bundles with namespaces of their own or joined; create, start, refuse; delete all."""
    tmp_prefix = "hive-oci-ns-"

    def delete_all(self):
        # Joiners first: a pod's app containers go before its pause container.
        for cid in reversed(self.ids):
            self.hive("delete", "--force", cid)
        # Reap the killed containers' pid 1s (reparented to us, the subreaper).
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass

    def bundle(self, args, namespaces=None, hostname=None, mounts=None, **linux):
        config = {
            "ociVersion": "1.0.2",
            "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
                        "env": [image.DEFAULT_PATH], "cwd": "/", "noNewPrivileges": True},
            "root": {"path": oci_case.ROOTFS, "readonly": True},
            "linux": dict(namespaces=namespaces or [{"type": t} for t in OWN], **linux),
        }
        if hostname is not None:
            config["hostname"] = hostname
        if mounts is not None:
            config["mounts"] = mounts
        b = tempfile.mkdtemp(dir=self.tmp, prefix="bundle-")
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
        return b

    def create(self, cid, bundle, out=None):
        pid_file = os.path.join(self.tmp, cid + ".pid")
        self.ids.append(cid)
        with open(out or os.devnull, "w") as o:
            r = self.hive("create", "--bundle", bundle, "--pid-file", pid_file, cid, stdout=o)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            return int(f.read())

    def run_to_end(self, cid, bundle):
        """create + start + wait; the container's stdout."""
        out = os.path.join(self.tmp, cid + ".out")
        pid = self.create(cid, bundle, out=out)
        r = self.hive("start", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, status = os.waitpid(pid, 0)
        with open(out) as f:
            text = f.read()
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, text)
        return text

    def refused(self, cid, bundle):
        self.ids.append(cid)
        r = self.hive("create", "--bundle", bundle, cid)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, cid)))
        return r.stderr

    def pod(self, cid="pause", **linux):
        """A pause-like container: its own namespaces, hostname `pod-a`, running."""
        pid = self.create(cid, self.bundle(["sh", "-c", "sleep 100"], hostname="pod-a", **linux))
        r = self.hive("start", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        return pid


class Namespaces(NamespaceCase):
    def test_join_another_containers_namespaces(self):
        a = self.pod()
        script = ("readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; "
                  "readlink /proc/self/ns/uts; readlink /proc/self/ns/pid; "
                  "readlink /proc/self/ns/user; hostname; ps; ls /sys/class/net")
        out = self.run_to_end("app", self.bundle(
            ["sh", "-c", script], joined(a, "network", "ipc", "uts", "pid"), mounts=SYSFS))
        lines = out.splitlines()
        for i, ns in enumerate(("net", "ipc", "uts", "pid")):
            self.assertEqual(lines[i], os.readlink(f"/proc/{a}/ns/{ns}"), ns)
        # The pod's user namespace, not a new one: privilege over what it joined.
        self.assertEqual(lines[4], os.readlink(f"/proc/{a}/ns/user"))
        self.assertEqual(lines[5], "pod-a")
        # Its /proc is the joined pid namespace's: the first container's program is there.
        self.assertIn("sleep 100", out)
        # sysfs of the pod's network namespace: its user namespace owns it.
        self.assertEqual(lines[-1], "lo")
        self.assertTrue(alive(a))

    def test_join_user_namespace_by_path(self):
        a = self.pod()
        ns = [{"type": "user", "path": f"/proc/{a}/ns/user"}] + [{"type": t} for t in OWN
                                                                  if t != "user"]
        out = self.run_to_end("app", self.bundle(
            ["sh", "-c", "readlink /proc/self/ns/user; readlink /proc/self/ns/net; id -u"], ns))
        user, net, uid = out.split()
        self.assertEqual(user, os.readlink(f"/proc/{a}/ns/user"))
        self.assertNotEqual(net, os.readlink(f"/proc/{a}/ns/net"))
        self.assertEqual(uid, "0")

    def test_user_namespace_mapping_host_root_refused(self):
        # A user namespace that maps host root (unshare -r as root): joining what it owns
        # would make the container's root the host's. Refused before the container runs.
        if not shutil.which("unshare"):
            self.skipTest("no `unshare` (apt-get install util-linux)")
        holder = subprocess.Popen(["unshare", "--user", "--map-root-user", "--net", "--ipc",
                                   "sleep", "100"])
        try:
            # unshare makes the user namespace, then writes its map: wait for both.
            deadline = time.time() + 5
            uid_map = ""
            while time.time() < deadline and not uid_map:
                with open(f"/proc/{holder.pid}/uid_map") as f:
                    uid_map = f.read()
                if os.readlink(f"/proc/{holder.pid}/ns/user") == os.readlink("/proc/self/ns/user"):
                    uid_map = ""
                time.sleep(0.02)
            self.assertEqual(uid_map.split()[:2], ["0", "0"])
            for cid, t, f in (("h1", "network", "net"), ("h2", "ipc", "ipc")):
                ns = [{"type": t, "path": f"/proc/{holder.pid}/ns/{f}"}] + [
                    {"type": o} for o in OWN if o != t]
                err = self.refused(cid, self.bundle(["true"], ns))
                self.assertIn("maps host uid 0", err)
        finally:
            holder.kill()
            holder.wait()

    def test_joined_pid_namespace_killed_whole(self):
        # Not pid 1 of its pid namespace, the container's first process still takes its
        # program with it when it is killed (kill ID 9), and delete leaves nothing.
        a = self.pod()
        b = self.create("app", self.bundle(["sh", "-c", "sleep 101 & sleep 102"],
                                           joined(a, "network", "ipc", "uts", "pid")))
        self.assertEqual(self.hive("start", "app").returncode, 0)
        time.sleep(0.3)
        r = self.hive("ps", "--format", "json", "app")
        self.assertEqual(r.returncode, 0, r.stderr)
        pids = json.loads(r.stdout)
        self.assertIn(b, pids)
        self.assertGreaterEqual(len(pids), 3)
        r = self.hive("kill", "app", "9")
        self.assertEqual(r.returncode, 0, r.stderr)
        _, status = os.waitpid(b, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), -9)
        # The shim's kill --all after the exit of a container without its own pid namespace,
        # then delete: every process of it is gone, the pod's is not.
        self.assertEqual(self.hive("kill", "--all", "app", "9").returncode, 0)
        self.assertEqual(self.hive("delete", "--force", "app").returncode, 0)
        deadline = time.time() + 5
        while time.time() < deadline and any(alive(p) for p in pids):
            time.sleep(0.05)
        self.assertEqual([p for p in pids if alive(p)], [])
        self.assertTrue(alive(a))
        # delete --force alone, of a running one, through its cgroup.
        b = self.create("app2", self.bundle(["sh", "-c", "sleep 103 & sleep 104"],
                                            joined(a, "network", "ipc", "uts", "pid")))
        self.assertEqual(self.hive("start", "app2").returncode, 0)
        time.sleep(0.3)
        pids = json.loads(self.hive("ps", "--format", "json", "app2").stdout)
        self.assertGreaterEqual(len(pids), 3)
        self.assertEqual(self.hive("delete", "--force", "app2").returncode, 0)
        os.waitpid(b, 0)
        deadline = time.time() + 5
        while time.time() < deadline and any(alive(p) for p in pids):
            time.sleep(0.05)
        self.assertEqual([p for p in pids if alive(p)], [])
        self.assertTrue(alive(a))

    def test_join_host_owned_netns(self):
        if not shutil.which("ip"):
            self.skipTest("no `ip` (apt-get install iproute2)")
        name = f"hive-ns-test-{os.getpid()}"
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"ip netns add: {r.stderr.strip()}")
        host_end = f"hvns{os.getpid() % 100000}"
        try:
            # A veth pair with one end in the netns: an interface only that netns has.
            r = subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name",
                                "hivepeer0", "netns", name], capture_output=True, text=True)
            if r.returncode != 0:
                self.skipTest(f"ip link add type veth: {r.stderr.strip()}")
            path = f"/var/run/netns/{name}"
            ns = [{"type": "network", "path": path}] + [{"type": t} for t in OWN
                                                         if t != "network"]
            out = self.run_to_end("cni", self.bundle(
                ["sh", "-c", "readlink /proc/self/ns/net; cat /proc/net/dev; ls -A /sys; "
                 "echo end"], ns, mounts=SYSFS))
            self.assertEqual(out.splitlines()[0], f"net:[{os.stat(path).st_ino}]")
            self.assertIn("hivepeer0", out)
            # No sysfs for a network namespace the host owns: an empty /sys, not the host's.
            self.assertTrue(out.endswith("\nend\n"), out)
            self.assertNotIn("class", out)
            # A net.* sysctl there would be the host's: refused, named.
            err = self.refused("cni2", self.bundle(
                ["true"], ns, sysctl={"net.ipv4.ip_unprivileged_port_start": "80"}))
            self.assertIn("linux.sysctl.net.ipv4.ip_unprivileged_port_start", err)
            self.assertIn("shared with the host", err)
        finally:
            subprocess.run(["ip", "link", "delete", host_end], capture_output=True)
            subprocess.run(["ip", "netns", "delete", name])
        self.assertFalse(os.path.exists(f"/var/run/netns/{name}"))

    def test_pod_on_a_host_owned_netns(self):
        # A CNI pod: the pause container joins a netns the host owns, its app container joins
        # the pause container's network (the host's, reached through it), ipc, uts and pid
        # namespaces — the last three its user namespace owns — in one create.
        if not shutil.which("ip"):
            self.skipTest("no `ip` (apt-get install iproute2)")
        name = f"hive-pod-test-{os.getpid()}"
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"ip netns add: {r.stderr.strip()}")
        try:
            path = f"/var/run/netns/{name}"
            ns = [{"type": "network", "path": path}] + [{"type": t} for t in OWN
                                                         if t != "network"]
            a = self.create("pause", self.bundle(["sh", "-c", "sleep 100"], ns,
                                                 hostname="pod-b", mounts=SYSFS))
            self.assertEqual(self.hive("start", "pause").returncode, 0)
            out = self.run_to_end("app", self.bundle(
                ["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/user; hostname"],
                joined(a, "network", "ipc", "uts", "pid"), mounts=SYSFS))
            self.assertEqual(out.split(), [f"net:[{os.stat(path).st_ino}]",
                                           os.readlink(f"/proc/{a}/ns/user"), "pod-b"])
            self.assertEqual(self.hive("delete", "--force", "pause").returncode, 0)
        finally:
            subprocess.run(["ip", "netns", "delete", name])

    def test_sysctl_honoured_before_proc_sys_is_read_only(self):
        script = ("cat /proc/sys/net/ipv4/ip_unprivileged_port_start; "
                  "cat /proc/sys/kernel/shmmni; hostname; "
                  "echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo writable "
                  "|| echo read-only")
        out = self.run_to_end("s1", self.bundle(
            ["sh", "-c", script], hostname="hive",
            sysctl={"net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmni": "2048",
                    "kernel.hostname": "from-sysctl"},
            readonlyPaths=["/proc/sys"]))
        self.assertEqual(out.split(), ["80", "2048", "from-sysctl", "read-only"])
        # The host's values are untouched.
        with open("/proc/sys/kernel/hostname") as f:
            self.assertNotEqual(f.read().strip(), "from-sysctl")

    def test_sysctl_joined_pod_netns(self):
        # A network namespace the pod's user namespace owns is the container's own too.
        a = self.pod()
        out = self.run_to_end("app", self.bundle(
            ["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"],
            joined(a, "network", "ipc", "uts"),
            sysctl={"net.ipv4.ip_unprivileged_port_start": "81"}))
        self.assertEqual(out.strip(), "81")

    def test_sysctl_refused_named(self):
        for cid, key in (("r1", "kernel.panic"), ("r2", "vm.overcommit_memory"),
                         ("r3", "net.ipv4.../../kernel.panic"), ("r4", "net.ipv4.no_such_key")):
            err = self.refused(cid, self.bundle(["true"], sysctl={key: "1"}))
            self.assertIn(f"linux.sysctl.{key}", err)
        # The host's ipc namespace, joined by path, is shared only when the policy lists it
        # (and then its ipc keys are the host's: HostNamespaces.test_host_pid_and_ipc).
        err = self.refused("r5", self.bundle(
            ["true"], [{"type": "ipc", "path": f"/proc/{os.getpid()}/ns/ipc"}] +
            [{"type": t} for t in OWN if t != "ipc"], sysctl={"kernel.shmmni": "10"}))
        self.assertIn("linux.namespaces[0].path", err)
        self.assertIn("security.process.host_namespaces does not list `ipc`", err)

    def test_cpu_shares_in_cgroup(self):
        pid = self.create("c1", self.bundle(["true"], resources={"cpu": {"shares": 512}}))
        name, value = cgroup_file(pid, "cpu", "cpu.shares", "cpu.weight")
        self.assertIsNotNone(name, "no cpu cgroup for the container")
        # v2: the runtime-spec conversion, 1 + (512 - 2) * 9999 / 262142.
        self.assertEqual(value, "512" if name == "cpu.shares" else "20")
        # What CRI sends for every pod sandbox.
        pid = self.create("c2", self.bundle(["true"], resources={"cpu": {"shares": 2}}))
        name, value = cgroup_file(pid, "cpu", "cpu.shares", "cpu.weight")
        self.assertEqual(value, "2" if name == "cpu.shares" else "1")

    def test_refused_joins_named(self):
        # This test's own namespaces are the host's (hive-run's).
        host = f"/proc/{os.getpid()}/ns"

        def ns(**paths):
            return [{"type": t, **({"path": paths[t]} if t in paths else {})} for t in OWN]
        for cid, namespaces, want in (
                ("j1", ns(mount=f"{host}/mnt"), "linux.namespaces[4].path"),
                ("j2", ns(cgroup=f"{host}/cgroup"), "linux.namespaces[5].path"),
                ("j3", ns(user=f"{host}/user"), "never host root"),
                ("j4", ns(pid=f"{host}/pid"), "linux.namespaces[0].path"),
                ("j5", ns(network=f"{host}/uts"), "is a uts namespace, not network"),
                ("j6", ns(network="/etc/hostname"), "not a namespace file"),
                ("j7", ns() + [{"type": "time"}], "linux.namespaces[7]")):
            err = self.refused(cid, self.bundle(["true"], namespaces))
            self.assertIn(want, err)
        # A hostname for a uts namespace that is joined is not ours to set.
        err = self.refused("j8", self.bundle(["true"], ns(uts=f"{host}/uts"), hostname="x"))
        self.assertIn("hostname", err)


def host_policy(directory, *types):
    """profiles/container.yml (the built-in ceiling) with host_namespaces listing `types`, as a
    node operator writes it; its path."""
    src = os.path.join(os.path.dirname(os.path.dirname(HERE)), "profiles", "container.yml")
    with open(src) as f:
        text = f.read()
    assert "    host_namespaces: []\n" in text
    text = text.replace("    host_namespaces: []\n",
                        f"    host_namespaces: [{', '.join(types)}]\n")
    path = os.path.join(directory, "host-" + "-".join(types) + ".yml")
    with open(path, "w") as f:
        f.write(text)
    return path


class HostNamespaces(NamespaceCase):
    """A config.json that leaves out network, uts, ipc or pid (Kubernetes hostNetwork,
    hostIPC, hostPID; podman --network=host) shares the host's when the policy lists the type
    in security.process.host_namespaces, and the container's root holds no privilege there."""
    tmp_prefix = "hive-oci-hostns-"
    policy = None

    def hive(self, *args, **kw):
        return super().hive(*(["--policy", self.policy] if self.policy else []), *args, **kw)

    def hive_env(self):
        env = super().hive_env()
        env.pop("HIVE_RUN_POLICY", None)  # the built-in ceiling unless --policy names one
        return env

    def run_record(self, cid):
        runs = [x for x in self.audit_records(cid) if x.get("event") == "run"]
        self.assertEqual(len(runs), 1, self.audit_records(cid))
        return runs[0]

    def test_refused_unless_the_policy_lists_it(self):
        for cid, left_out in (("hostns-r1", "network"), ("hostns-r2", "pid"),
                              ("hostns-r3", "ipc"), ("hostns-r4", "uts")):
            err = self.refused(cid, self.bundle(["true"], [{"type": t} for t in OWN
                                                            if t != left_out]))
            for want in ("linux.namespaces", f"no `{left_out}` namespace",
                         "security.process.host_namespaces"):
                self.assertIn(want, err)
        # Listing one type does not admit another.
        self.policy = host_policy(self.tmp, "network", "uts")
        err = self.refused("hostns-r5", self.bundle(["true"], [{"type": t} for t in OWN
                                                        if t != "pid"]))
        self.assertIn("does not list `pid`", err)
        # The host's hostname is not the container's to set.
        err = self.refused("hostns-r6", self.bundle(["true"], [{"type": t} for t in OWN
                                                        if t not in ("network", "uts")],
                                             hostname="pod-a"))
        self.assertIn("hostname", err)

    def test_host_network_and_uts(self):
        import socket
        self.policy = host_policy(self.tmp, "network", "uts")
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(20)
        self.addCleanup(server.close)
        port = server.getsockname()[1]
        # A port below 1024 free on the host: root of the host could bind it.
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            unprivileged_start = int(f.read())
        if unprivileged_start < 1024:
            self.skipTest("net.ipv4.ip_unprivileged_port_start is below 1024 here")
        low = None
        for candidate in range(1023, 600, -1):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", candidate))
                except OSError:
                    continue
                low = candidate
                break
        self.assertIsNotNone(low, "no free port below 1024")
        script = (f"echo net=$(readlink /proc/self/ns/net); echo uts=$(readlink /proc/self/ns/uts);"
                  f"echo from-container | nc 127.0.0.1 {port}; echo nc=$?;"
                  f"timeout 5 nc -l -p {low} 2>&1; echo bind=$?;"
                  f"echo host=$(hostname); hostname x 2>&1; echo sethostname=$?;"
                  f"grep CapEff /proc/self/status")
        bundle = self.bundle(["sh", "-c", script],
                             [{"type": t} for t in OWN if t not in ("network", "uts")],
                             hostname=socket.gethostname(),  # the host's own: nothing to set
                             mounts=SYSFS)
        # Root with CAP_NET_BIND_SERVICE, as the engines' default set has it.
        with open(os.path.join(bundle, "config.json")) as f:
            config = json.load(f)
        config["process"]["capabilities"] = {
            k: ["CAP_NET_BIND_SERVICE"] for k in ("bounding", "effective", "permitted")}
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(config, f)
        out = os.path.join(self.tmp, "hostns-net.out")
        pid = self.create("hostns-net", bundle, out=out)
        self.assertEqual(self.hive("start", "hostns-net").returncode, 0)
        try:
            conn, _ = server.accept()
        except OSError:
            self.wait(pid)
            with open(out) as f:
                self.fail("no connection from the container: " + f.read())
        with conn:
            conn.settimeout(30)
            self.assertEqual(conn.recv(100), b"from-container\n")
        self.assertEqual(self.wait(pid), 0)
        with open(out) as f:
            text = f.read()
        lines = dict(l.split("=", 1) for l in text.splitlines() if "=" in l and ":" not in
                     l.split("=", 1)[0])
        self.assertEqual(lines.get("net"), os.readlink("/proc/self/ns/net"), text)
        self.assertEqual(lines.get("uts"), os.readlink("/proc/self/ns/uts"), text)
        self.assertEqual(lines.get("nc"), "0", text)
        # Root of its own user namespace with CAP_NET_BIND_SERVICE, and still no low port on
        # the host's network, nor the host's hostname to set.
        self.assertIn("Permission denied", text)
        self.assertNotEqual(lines.get("bind"), "0", text)
        self.assertNotEqual(lines.get("bind"), "143", text)  # not a listener timed out
        self.assertEqual(lines.get("host"), socket.gethostname(), text)
        self.assertNotEqual(lines.get("sethostname"), "0", text)
        self.assertEqual(socket.gethostname(), os.uname().nodename)
        cap_eff = int(text.split("CapEff:")[1].split()[0], 16)
        self.assertTrue(cap_eff & (1 << 10), f"CAP_NET_BIND_SERVICE not held: {text}")
        self.assertEqual(self.hive("delete", "hostns-net").returncode, 0)
        enforced = self.run_record("hostns-net")["enforced"]
        self.assertEqual(enforced["namespaces"]["network"], "host", enforced)
        self.assertEqual(enforced["namespaces"]["uts"], "host", enforced)
        self.assertEqual(enforced["namespaces"]["user"], "new", enforced)
        self.assertTrue(enforced["network"]["mode"].startswith("host"), enforced)

    def test_host_pid_and_ipc(self):
        self.policy = host_policy(self.tmp, "pid", "ipc")
        sleeper = subprocess.Popen(["sleep", "300"])
        self.addCleanup(sleeper.wait)
        self.addCleanup(sleeper.kill)
        script = (f"echo ipc=$(readlink /proc/self/ns/ipc); echo pid=$(readlink /proc/self/ns/pid);"
                  f"echo comm=$(cat /proc/{sleeper.pid}/comm); kill {sleeper.pid} 2>&1;"
                  f"echo kill=$?; echo mq=$(grep -c ' /dev/mqueue mqueue ' /proc/self/mounts)")
        mqueue = [{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                   "options": ["nosuid", "noexec", "nodev"]}]
        bundle = self.bundle(["sh", "-c", script],
                             [{"type": t} for t in OWN if t not in ("pid", "ipc")],
                             hostname="c", mounts=mqueue)
        text = self.run_to_end("hostns-pid", bundle)
        lines = dict(l.split("=", 1) for l in text.splitlines() if "=" in l)
        self.assertEqual(lines.get("ipc"), os.readlink("/proc/self/ns/ipc"), text)
        self.assertEqual(lines.get("pid"), os.readlink("/proc/self/ns/pid"), text)
        # It sees the host's process in its /proc, and cannot signal it.
        self.assertEqual(lines.get("comm"), "sleep", text)
        self.assertNotEqual(lines.get("kill"), "0", text)
        self.assertIn("not permitted", text)
        self.assertIsNone(sleeper.poll())
        self.assertEqual(lines.get("mq"), "1", text)
        self.assertEqual(self.hive("delete", "hostns-pid").returncode, 0)
        enforced = self.run_record("hostns-pid")["enforced"]
        self.assertEqual((enforced["namespaces"]["pid"], enforced["namespaces"]["ipc"],
                          enforced["namespaces"]["network"]), ("host", "host", "new"), enforced)
        # An ipc key in the host's ipc namespace is the host's: refused, named.
        err = self.refused("hostns-sysctl", self.bundle(
            ["true"], [{"type": t} for t in OWN if t != "ipc"], sysctl={"kernel.shmmni": "10"}))
        self.assertIn("linux.sysctl.kernel.shmmni", err)


if __name__ == "__main__":
    oci_case.main()
