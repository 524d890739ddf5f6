"""`hive-run exec`, the runc form: a process entering a running container, driven directly as
conmon and the containerd shim drive it. This test is a child subreaper like them, so a
detached exec'd process reparents to it and is reaped here.

What is asserted is what the process sees and what the kernel says of it: the container's
namespaces (the same ns inodes as the container's pid 1), its cgroups, hostname, pid 1 and
mounts; the payload's confinement (seccomp filters, no_new_privs, no capabilities); its denials
in the container's signed audit record; exit statuses; refusals named. The CI sandbox form of
`hive-run exec` keeps working beside it.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import image  # noqa: E402
import oci_case  # noqa: E402
from oci_case import HIVE_RUN, alive  # noqa: E402

NAMESPACES = ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup")


setUpModule = oci_case.setUpModule
tearDownModule = oci_case.tearDownModule


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class Exec(oci_case.OciCase):
    def running(self, cid, args=("sleep", "100")):
        pid = self.create(cid, list(args))
        r = self.hive("start", cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(self.reap, pid)
        return pid

    def reap(self, pid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass

    def exec_(self, cid, *args, opts=(), **kw):
        return self.hive("exec", *opts, cid, *args, **kw)

    def process_file(self, process):
        fd, path = tempfile.mkstemp(dir=self.tmp, suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(process, f)
        return path

    def base_process(self, args, **extra):
        p = {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
             "env": [image.DEFAULT_PATH], "cwd": "/", "noNewPrivileges": True}
        p.update(extra)
        return p

    def test_sees_the_container(self):
        # The payload leaves a file on its private /tmp: only its mount namespace has it.
        b = self.bundle(["sh", "-c", "echo from-payload > /tmp/marker; exec sleep 100"],
                        hostname="exec-host")
        pid_file = os.path.join(self.tmp, "e1.pid")
        self.ids.append("e1")
        with open(os.devnull, "w") as o:
            r = self.hive("create", "--bundle", b, "--pid-file", pid_file, "e1", stdout=o)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            pid1 = int(f.read())
        self.addCleanup(self.reap, pid1)
        self.assertEqual(self.hive("start", "e1").returncode, 0)
        deadline = time.monotonic() + 10
        while True:
            r = self.exec_("e1", "cat", "/tmp/marker")
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual((r.returncode, r.stdout), (0, "from-payload\n"), r.stderr)
        r = self.exec_("e1", "sh", "-c", "hostname; ps -o pid,args; cat /proc/net/dev")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "exec-host")
        # pid 1 of the container is hive-run's init; the payload's sleep is beside us.
        ps = [l.split(None, 1) for l in lines[1:] if l.strip() and l.split()[0].isdigit()]
        self.assertIn("1", [p[0] for p in ps])
        self.assertTrue(any("sleep 100" in p[1] for p in ps), ps)
        # The container's network namespace: loopback only.
        devs = [l.split(":")[0].strip() for l in lines if ":" in l and "|" not in l]
        self.assertEqual(devs, ["lo"], r.stdout)

    def test_detach_pid_file_same_namespaces_cgroups_and_confinement(self):
        pid1 = self.running("d1")
        pid_file = os.path.join(self.tmp, "exec.pid")
        r = self.exec_("d1", "sleep", "100", opts=("--detach", "--pid-file", pid_file),
                       stdout=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            pid = int(f.read())
        self.addCleanup(self.reap, pid)
        self.assertTrue(alive(pid))
        # Reparented to us, the subreaper: no hive-run process in between.
        with open(f"/proc/{pid}/stat") as f:
            self.assertEqual(int(f.read().rsplit(")", 1)[1].split()[1]), os.getpid())
        for ns in NAMESPACES:
            self.assertEqual(os.readlink(f"/proc/{pid}/ns/{ns}"),
                             os.readlink(f"/proc/{pid1}/ns/{ns}"), ns)
        with open(f"/proc/{pid}/cgroup") as a, open(f"/proc/{pid1}/cgroup") as b:
            self.assertEqual(a.read(), b.read())
        r = self.hive("ps", "--format", "json", "d1")
        self.assertIn(pid, json.loads(r.stdout))
        st = status_fields(pid)
        self.assertEqual(st["NoNewPrivs"], "1")
        self.assertEqual(st["Seccomp"], "2")
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(st[cap], 16), 0, cap)
        # The container's root, never host root.
        self.assertNotIn("0", st["Uid"].split())
        os.kill(pid, 15)
        self.assertEqual(self.wait(pid), -15)

    def test_exit_status_passes_through(self):
        self.running("x1")
        self.assertEqual(self.exec_("x1", "sh", "-c", "exit 7").returncode, 7)
        self.assertEqual(self.exec_("x1", "true").returncode, 0)
        self.assertEqual(self.exec_("x1", "sh", "-c", "kill -TERM $$").returncode, 143)
        for args, want in ((["/nonexistent"], "no such file or directory"),
                           (["nonexistent"], "executable file not found in $PATH")):
            r = self.exec_("x1", *args)
            self.assertEqual(r.returncode, 1)
            self.assertIn(want, r.stderr)

    def test_signals_the_container_processes(self):
        # A reload or stop sent from an exec'd shell reaches the payload; pid 1 reports the
        # payload's death by SIGTERM as 143.
        pid1 = self.running("k1")
        r = self.exec_("k1", "sh", "-c", "kill -TERM $(pidof sleep)")
        self.assertEqual(self.wait(pid1), 143)
        # The shell may be killed with the pid namespace (pid 1 gone) before it exits itself.
        self.assertIn(r.returncode, (0, 137), r.stderr)
        self.assertNotIn("not permitted", r.stderr)

    def test_process_file_env_cwd_user(self):
        self.running("p1")
        path = self.process_file(self.base_process(
            ["sh", "-c", "echo $FOO; pwd; id -u; id -g; cat /proc/self/oom_score_adj"],
            env=[image.DEFAULT_PATH, "FOO=bar"], cwd="/tmp", user={"uid": 1000, "gid": 1001},
            oomScoreAdj=500))
        r = self.exec_("p1", opts=("--process", path))
        self.assertEqual((r.returncode, r.stdout), (0, "bar\n/tmp\n1000\n1001\n500\n"),
                         r.stderr)
        # The same with the command line's flags, after the id too.
        r = self.hive("exec", "p1", "--cwd", "/proc", "-e", "FOO=baz", "--user", "1000:1002",
                      "sh", "-c", "echo $FOO; pwd; id -u; id -g")
        self.assertEqual((r.returncode, r.stdout), (0, "baz\n/proc\n1000\n1002\n"), r.stderr)

    def test_seccomp_denial_in_container_audit_record(self):
        pid1 = self.running("s1")
        r = self.exec_("s1", "sh", "-c", "unshare -n true; echo rc=$?")
        self.assertEqual((r.returncode, r.stdout), (0, "rc=1\n"), r.stderr)
        self.assertEqual(self.audit_records("s1"), [], "written before delete")
        self.assertEqual(self.hive("delete", "--force", "s1").returncode, 0)
        self.assertEqual(self.wait(pid1), -9)
        runs = [x for x in self.audit_records("s1") if x.get("event") == "run"]
        self.assertEqual(len(runs), 1)
        self.assertIn("unshare", json.dumps(runs[0].get("violations")))
        v = subprocess.run([HIVE_RUN, "audit", "verify", "--log",
                            os.path.join(self.state, "audit.log")],
                           env=dict(os.environ, HIVE_RUN_STATE_DIR=self.state),
                           capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_refusals(self):
        self.running("r1")
        caps = ["CAP_SYS_ADMIN"]
        path = self.process_file(self.base_process(
            ["true"], capabilities={"bounding": caps, "effective": caps, "permitted": caps}))
        r = self.exec_("r1", opts=("--process", path))
        self.assertEqual(r.returncode, 1)
        self.assertIn("process.capabilities.bounding", r.stderr)
        self.assertIn("CAP_SYS_ADMIN", r.stderr)
        path = self.process_file(self.base_process(["true"], noNewPrivileges=False))
        r = self.exec_("r1", opts=("--process", path))
        self.assertEqual(r.returncode, 1)
        self.assertIn("process.noNewPrivileges", r.stderr)
        r = self.exec_("r1", "true", opts=("--tty",))
        self.assertEqual(r.returncode, 1)
        self.assertIn("--tty: a terminal needs --console-socket", r.stderr)
        r = self.exec_("nosuch", "true", opts=("--detach",))
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)

    def test_stopped_container(self):
        pid = self.create("t1", ["true"])
        r = self.exec_("t1", "true")
        self.assertEqual(r.returncode, 1)
        self.assertIn("start it first", r.stderr)
        self.assertEqual(self.hive("start", "t1").returncode, 0)
        self.assertEqual(self.wait(pid), 0)
        r = self.exec_("t1", "true")
        self.assertEqual(r.returncode, 1)
        self.assertIn("container not running", r.stderr)

    def test_fds_closed_unless_preserved(self):
        self.running("f1")
        with oci_case.devnull_at(3, 4):
            r = self.exec_("f1", "ls", "/proc/self/fd", pass_fds=(3, 4))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn(4, [int(x) for x in r.stdout.split()])
            r = self.exec_("f1", "ls", "/proc/self/fd", opts=("--preserve-fds", "2"),
                           pass_fds=(3, 4))
            self.assertEqual(r.returncode, 0, r.stderr)
            fds = [int(x) for x in r.stdout.split()]
            self.assertIn(3, fds)
            self.assertIn(4, fds)

    def test_runc_form_by_container_id_under_default_root(self):
        # No option of the runc form: a first word naming a container under the default root
        # (/run/hive-run, where podman's containers live) selects it.
        cid = f"hive-exec-test-{os.getpid()}"
        env = dict(os.environ, HIVE_RUN_STATE_DIR=self.state)

        def run(*args, stdout=None):
            # Files, not pipes: the container inherits create's stdio (see OciCase.hive).
            with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                r = subprocess.run([HIVE_RUN, *args], env=env, text=True, timeout=60,
                                   stdout=stdout or out, stderr=err)
                out.seek(0)
                err.seek(0)
                r.stdout, r.stderr = out.read(), err.read()
            return r
        b = self.bundle(["sleep", "100"], hostname="default-root")
        pid_file = os.path.join(self.tmp, "dr.pid")
        r = run("create", "--bundle", b, "--pid-file", pid_file, cid, stdout=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pid_file) as f:
            pid = int(f.read())
        # Deleted here, not in a cleanup: cleanups run after tearDown has removed the state
        # directory, where the container's record would then be written again.
        try:
            self.assertEqual(run("start", cid).returncode, 0)
            r = run("exec", cid, "hostname")
            self.assertEqual((r.returncode, r.stdout), (0, "default-root\n"), r.stderr)
        finally:
            run("delete", "--force", cid)
            self.reap(pid)

    def test_ci_sandbox_form_still_works(self):
        # `hive-run exec [run options] -- CMD` and `hive-run exec CMD`: the built-in sandbox.
        env = dict(os.environ, HIVE_RUN_STATE_DIR=self.state)
        for args in (["exec", "--quiet", "--", "sh", "-c", "echo ci; exit 4"],
                     ["exec", "--quiet", "sh", "-c", "echo ci; exit 4"]):
            r = subprocess.run([HIVE_RUN, *args], env=env, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual((r.returncode, r.stdout), (4, "ci\n"), r.stderr)


if __name__ == "__main__":
    oci_case.main()
