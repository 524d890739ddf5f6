"""The runc command line of hive-run, driven directly as conmon and the containerd shim drive
it: this test is a child subreaper like them, so a container's pid 1 reparents to it when
`create` returns and its exit status is read here with waitpid.

Every case uses its own --root and state directory and checks that nothing is left: no
cgroup, no process, no state.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oci_case  # noqa: E402
from oci_case import HERE, HIVE_RUN, alive, bundle_config  # noqa: E402

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

setUpModule = oci_case.setUpModule
tearDownModule = oci_case.tearDownModule


class Lifecycle(oci_case.OciCase):
    def test_create_start_wait_delete(self):
        out = os.path.join(self.tmp, "out")
        pid = self.create("c1", ["sh", "-c", "echo hello from $(hostname); exit 3"], out=out)
        st = self.state_of("c1")
        self.assertEqual(st["status"], "created")
        self.assertEqual(st["pid"], pid)
        self.assertEqual(st["id"], "c1")
        self.assertTrue(RFC3339.match(st["created"]), st["created"])
        for key in ("ociVersion", "bundle", "rootfs", "owner", "annotations"):
            self.assertIn(key, st)
        # Blocked before exec, and reparented to us: no hive-run process in between.
        self.assertTrue(alive(pid))
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        self.assertEqual(ppid, os.getpid())
        with open(out) as f:
            self.assertEqual(f.read(), "")
        # The container's root is not host root.
        with open(f"/proc/{pid}/status") as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        self.assertNotIn("0", uids)
        r = self.hive("start", "c1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.wait(pid), 3)
        with open(out) as f:
            self.assertEqual(f.read(), "hello from hive\n")
        self.assertEqual(self.state_of("c1")["status"], "stopped")
        r = self.hive("start", "c1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("stopped", r.stderr)
        r = self.hive("delete", "c1")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.hive("state", "c1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)
        # One signed record for the container, written at delete.
        with open(os.path.join(self.state, "audit.log")) as f:
            records = [json.loads(l) for l in f if l.strip()]
        mine = [x for x in records if x.get("run_id") == "c1" and x.get("event") == "run"]
        self.assertEqual(len(mine), 1, records)
        self.assertEqual(mine[0].get("exit_code"), 3)
        v = subprocess.run([HIVE_RUN, "audit", "verify", "--log",
                            os.path.join(self.state, "audit.log")],
                           env=dict(os.environ, HIVE_RUN_STATE_DIR=self.state),
                           capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_non_root_user_keeps_the_bounding_set(self):
        # process.user 1000:1000 (podman --user): the uid change must not cost the capability
        # steps their privilege; the program runs as 1000 with the bounding set config.json
        # asks for.
        out = os.path.join(self.tmp, "out")
        config = bundle_config(["sh", "-c", "id -u; id -g; grep CapBnd /proc/self/status"])
        config["process"]["user"] = {"uid": 1000, "gid": 1000}
        config["process"]["capabilities"] = {"bounding": ["CAP_KILL"]}
        pid = self.create("u1", None, out=out, config=config)
        self.assertEqual(self.hive("start", "u1").returncode, 0)
        self.assertEqual(self.wait(pid), 0)
        with open(out) as f:
            self.assertEqual(f.read().split(), ["1000", "1000", "CapBnd:", "0000000000000020"])

    def test_noexec_bind_is_not_executable(self):
        # mounts[].options "noexec" is applied to the bind, not dropped.
        data = tempfile.mkdtemp(dir=self.tmp, prefix="data-")
        with open(os.path.join(data, "x.sh"), "w") as f:
            f.write("#!/bin/sh\necho ran\n")
        os.chmod(os.path.join(data, "x.sh"), 0o755)
        os.chmod(data, 0o755)
        for cid, options, want in (("nx1", ["rbind", "ro"], "ran\nrc=0\n"),
                                   ("nx2", ["rbind", "ro", "noexec"], "rc=126\n")):
            b = self.bundle(["sh", "-c", "/data/x.sh 2>/dev/null; echo rc=$?"],
                            mounts=[{"destination": "/data", "type": "bind", "source": data,
                                     "options": options}])
            r, out = self.run_output(cid, b)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(out, want, options)

    def test_mount_options_are_what_features_says(self):
        # Every mount option `features` lists is applied (containerd 2.x reads that list), and
        # the ones hive-run does not apply are neither listed nor dropped: refused by name.
        r = self.hive("features")
        self.assertEqual(r.returncode, 0, r.stderr)
        f = json.loads(r.stdout)
        listed = f["mountOptions"]
        # containerd 2.x: "rro" would tell kubelet that recursive read-only mounts work, and an
        # enabled idmap extension that CRI user namespaces do.
        self.assertNotIn("rro", listed)
        self.assertFalse(f["linux"]["mountExtensions"]["idmap"]["enabled"])
        data = tempfile.mkdtemp(dir=self.tmp, prefix="data-")
        os.chmod(data, 0o755)
        with open(os.path.join(data, "seen"), "w") as fh:
            fh.write("from the host\n")
        os.chmod(os.path.join(data, "seen"), 0o644)
        probe = ("grep ' /data ' /proc/self/mountinfo | tail -n 1 | cut -d' ' -f6; "
                 "cat /data/seen 2>/dev/null; touch /data/new 2>/dev/null; echo w=$?; "
                 "cp /bin/busybox /data/true 2>/dev/null; /data/true 2>/dev/null; echo x=$?")
        for n, option in enumerate(listed):
            if option in ("bind", "rbind"):
                mount = {"destination": "/data", "type": "bind", "source": data,
                         "options": [option, "ro"]}
            else:
                mount = {"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                         "options": [option]}
            cid = f"mo{n}"
            b = self.bundle(["sh", "-c", probe], mounts=[mount])
            r, out = self.run_output(cid, b)
            self.assertEqual(r.returncode, 0, (option, r.stderr))
            lines = out.split("\n")
            flags = lines[0].split(",")
            self.assertIn("nosuid", flags, option)
            self.assertIn("nodev", flags, option)
            if option in ("bind", "rbind"):
                self.assertEqual(lines[1:4], ["from the host", "w=1", "x=127"], option)
            elif option == "ro":
                self.assertIn("ro", flags)
                self.assertEqual(lines[1:3], ["w=1", "x=127"], option)
            elif option == "noexec":
                self.assertIn("noexec", flags)
                self.assertEqual(lines[1:3], ["w=0", "x=126"], option)
            else:
                self.assertNotIn("noexec", flags, option)
                self.assertEqual(lines[1:3], ["w=0", "x=0"], option)
        for n, option in enumerate(("rro", "idmap", "suid", "dev", "rslave", "rshared")):
            self.assertNotIn(option, listed)
            cid = f"mr{n}"
            b = self.bundle(["true"], mounts=[{"destination": "/data", "type": "bind",
                                               "source": data, "options": ["rbind", option]}])
            self.ids.append(cid)
            r = self.hive("run", "--bundle", b, cid)
            self.assertNotEqual(r.returncode, 0, option)
            self.assertIn("mounts[0].options", r.stderr)
            self.assertIn(f'"{option}"', r.stderr)

    def test_hugepage_limits_of_zero_deny_hugetlb_pages(self):
        # kubelet sends hugepageLimits of 0 for every page size to every container: each way
        # to hugetlb pages is denied (EPERM, recorded), plain memory is not; an allowance above
        # 0 is refused by field.
        if shutil.which("gcc") is None:
            self.skipTest("needs gcc to build the probe")
        probe_dir = tempfile.mkdtemp(dir=self.tmp, prefix="probe-")
        os.chmod(probe_dir, 0o755)
        subprocess.run(["gcc", "-static", "-Os", "-o", os.path.join(probe_dir, "probe"),
                        os.path.join(HERE, "hugetlb_probe.c")], check=True)
        mounts = [{"destination": "/probe", "type": "bind", "source": probe_dir,
                   "options": ["rbind", "ro"]}]
        zero = {"hugepageLimits": [{"pageSize": "2MB", "limit": 0},
                                   {"pageSize": "1GB", "limit": 0}]}
        for cid, resources in (("hp0", zero), ("hp1", {})):
            config = bundle_config(["/probe/probe"], mounts=mounts)
            config["linux"]["resources"] = resources
            r, out = self.run_output(cid, self.bundle_from(config))
            self.assertEqual(r.returncode, 0, r.stderr)
            answers = dict(x.split("=") for x in out.split())
            if resources:
                self.assertEqual(answers, {"mmap": "EPERM", "shmget": "EPERM",
                                           "memfd": "EPERM", "plain": "ok"})
                run = [x for x in self.audit_records(cid) if x.get("event") == "run"][0]
                denied = json.dumps(run.get("violations"))
                for call in ("hugepages", "mmap", "shmget", "memfd_create"):
                    self.assertIn(call, denied, run.get("violations"))
            else:
                # The kernel's own answers (no pool here: ENOMEM; SHM_HUGETLB needs
                # CAP_IPC_LOCK over the host: EPERM), none from the layer.
                self.assertNotEqual(answers["mmap"], "EPERM", answers)
                self.assertNotEqual(answers["memfd"], "EPERM", answers)
        config = bundle_config(["true"])
        config["linux"]["resources"] = {"hugepageLimits": [{"pageSize": "2MB", "limit": 2 << 20}]}
        self.ids.append("hp2")
        r = self.hive("run", "--bundle", self.bundle_from(config), "hp2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("linux.resources.hugepageLimits[0].limit", r.stderr)

    def test_lsm_labels_refused_not_dropped(self):
        # An engine sets these only where the LSM enforces them; hive-run does not apply them.
        for n, (where, key, label) in enumerate((("process", "apparmorProfile", "cri-default"),
                                                 ("process", "selinuxLabel", "system_u:r:c"),
                                                 ("linux", "mountLabel", "system_u:object_r:c"))):
            config = bundle_config(["true"])
            config[where][key] = label
            cid = f"lsm{n}"
            self.ids.append(cid)
            r = self.hive("run", "--bundle", self.bundle_from(config), cid)
            self.assertEqual(r.returncode, 1, (key, r.stderr))
            self.assertIn(f"{where}.{key}", r.stderr)
        config = bundle_config(["true"])
        config["process"]["apparmorProfile"] = "unconfined"  # what hive-run does anyway
        r, _ = self.run_output("lsm3", self.bundle_from(config))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_running_kill_by_name_and_number(self):
        # SIGKILL ends pid 1 itself; any other signal is passed to the program, whose death
        # pid 1 reports as 128+N.
        for cid, sig, want in (("k1", "KILL", -9), ("k2", "9", -9), ("k3", "SIGTERM", 143),
                               ("k4", "15", 143)):
            pid = self.create(cid, ["sleep", "100"])
            r = self.hive("start", cid)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.state_of(cid)["status"], "running")
            r = self.hive("start", cid)
            self.assertEqual(r.returncode, 1)
            self.assertIn("already running", r.stderr)
            r = self.hive("delete", cid)
            self.assertEqual(r.returncode, 1)
            self.assertIn("not stopped", r.stderr)
            r = self.hive("kill", cid, sig)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.wait(pid), want)
            r = self.hive("kill", cid, "15")
            self.assertEqual(r.returncode, 1)
            self.assertIn("container not running", r.stderr)
            r = self.hive("kill", "--all", cid, "9")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.hive("delete", cid)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_kill_all_and_delete_force_running(self):
        pid = self.create("a1", ["sh", "-c", "sleep 100 & sleep 100"])
        self.assertEqual(self.hive("start", "a1").returncode, 0)
        r = self.hive("kill", "--all", "a1", "KILL")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.wait(pid), -9)
        pid = self.create("a2", ["sleep", "100"])
        self.assertEqual(self.hive("start", "a2").returncode, 0)
        r = self.hive("delete", "--force", "a2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.wait(pid), -9)
        self.assertEqual(self.hive("state", "a2").returncode, 1)

    def test_ps_pause_resume(self):
        pid = self.create("p1", ["sh", "-c", "sleep 100 & sleep 100"])
        self.assertEqual(self.hive("start", "p1").returncode, 0)
        r = self.hive("ps", "--format", "json", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        pids = json.loads(r.stdout)
        self.assertIn(pid, pids)
        self.assertGreaterEqual(len(pids), 3)  # pid 1, sh, two sleeps (one may be sh's exec)
        r = self.hive("ps", "p1")
        self.assertIn("sleep 100", r.stdout)
        r = self.hive("resume", "p1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not paused", r.stderr)
        r = self.hive("pause", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.state_of("p1")["status"], "paused")
        for p in pids:
            with open(f"/proc/{p}/status") as f:
                state = [l for l in f if l.startswith("State:")][0]
            # Frozen tasks sleep in the freezer (v2: S, v1: D).
            self.assertNotIn("R (running)", state)
        r = self.hive("delete", "p1")
        self.assertEqual(r.returncode, 1)
        r = self.hive("resume", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.state_of("p1")["status"], "running")
        r = self.hive("pause", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        # delete --force of a paused container thaws and kills it.
        r = self.hive("delete", "--force", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.wait(pid), -9)
        r = self.hive("ps", "p1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)

    def test_delete_created_container(self):
        pid = self.create("d1", ["true"])
        r = self.hive("delete", "d1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.wait(pid), -9)

    def test_unknown_ids(self):
        r = self.hive("delete", "--force", "nosuch")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        for cmd in (["delete", "nosuch"], ["state", "nosuch"], ["start", "nosuch"],
                    ["kill", "nosuch", "9"]):
            r = self.hive(*cmd)
            self.assertEqual(r.returncode, 1, cmd)
            self.assertIn("does not exist", r.stderr)
        r = self.hive("state", "../x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("invalid container id", r.stderr)

    def test_missing_executable_reported_at_create(self):
        log = os.path.join(self.tmp, "log.json")
        for args, want in ((["/nonexistent"], "no such file or directory"),
                           (["nonexistent"], "executable file not found in $PATH"),
                           (["/etc/passwd"], "permission denied")):
            b = self.bundle(args)
            r = self.hive("--log", log, "--log-format", "json", "create", "--bundle", b, "m1")
            self.assertEqual(r.returncode, 1)
            self.assertIn(want, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.root, "m1")))
        with open(log) as f:
            lines = [json.loads(l) for l in f]
        self.assertEqual(len(lines), 3)
        for line in lines:
            self.assertEqual(line["level"], "error")
            self.assertTrue(RFC3339.match(line["time"]), line["time"])
        self.assertIn("no such file or directory", lines[0]["msg"])

    def test_run_and_flags_after_id(self):
        b = self.bundle(["sh", "-c", "exit 7"])
        self.ids.append("r1")
        r = self.hive("run", "r1", "--bundle", b)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(self.hive("state", "r1").returncode, 1)
        b = self.bundle(["sleep", "100"])
        self.ids.append("r2")
        r = self.hive("run", "-d", "-b", b, "r2", stdout=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.state_of("r2")["status"], "running")

    def test_list(self):
        r = self.hive("list", "--format", "json")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "null"))
        self.create("l1", ["true"])
        self.create("l2", ["true"])
        r = self.hive("list", "--format=json")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)
        self.assertEqual([c["id"] for c in got], ["l1", "l2"])
        self.assertEqual({c["status"] for c in got}, {"created"})
        r = self.hive("list", "-q")
        self.assertEqual(r.stdout.split(), ["l1", "l2"])
        r = self.hive("list")
        self.assertIn("l1", r.stdout)
        self.assertIn("STATUS", r.stdout)

    def test_fds_closed_unless_preserved(self):
        out = os.path.join(self.tmp, "fds")
        with oci_case.devnull_at(3, 4):
            pid = self.create("f1", ["sh", "-c", "ls /proc/self/fd"], out=out, pass_fds=(3, 4))
            self.assertEqual(self.hive("start", "f1").returncode, 0)
            self.assertEqual(self.wait(pid), 0)
            with open(out) as f:
                fds = sorted(int(x) for x in f.read().split())
            # 0-2 and the fd ls opens for the directory (3): 4 is closed.
            self.assertNotIn(4, fds)
            pid = self.create("f2", ["sh", "-c", "ls /proc/self/fd"], out=out, pass_fds=(3, 4),
                              extra_args=("--preserve-fds", "2"))
            self.assertEqual(self.hive("start", "f2").returncode, 0)
            self.assertEqual(self.wait(pid), 0)
            with open(out) as f:
                fds = sorted(int(x) for x in f.read().split())
            self.assertIn(3, fds)
            self.assertIn(4, fds)

    def test_globals_and_refusals(self):
        r = self.hive("--systemd-cgroup", "create", "--bundle", self.bundle(["true"]), "s1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--systemd-cgroup", r.stderr)
        r = self.hive("--log-format", "xml", "list")
        self.assertEqual(r.returncode, 1)
        r = self.hive("create", "--bogus", "x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown option", r.stderr)
        r = self.hive("kill", "x", "NOTASIGNAL")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown signal", r.stderr)
        self.create("s2", ["true"])
        b = self.bundle(["true"])
        r = self.hive("create", "--bundle", b, "s2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists", r.stderr)
        # A config.json field hive-run cannot honour is refused at create, named.
        b = self.bundle(["true"])
        with open(os.path.join(b, "config.json")) as f:
            config = json.load(f)
        config["linux"]["sysctl"] = {"kernel.panic": "1"}  # not namespaced: the host's
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
        self.ids.append("s3")
        r = self.hive("create", "--bundle", b, "s3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("linux.sysctl.kernel.panic", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "s3")))
        # A policy allowing domains is refused, not run with the network silently off.
        pol = os.path.join(self.tmp, "net.yml")
        with open(pol, "w") as f:
            f.write("security:\n  network:\n    allowed_domains: [allowed.test]\n"
                    "    upstream_dns: [203.0.113.53]\n")
        self.ids.append("s4")
        r = self.hive("--policy", pol, "create", "--bundle", self.bundle(["true"]), "s4")
        self.assertEqual(r.returncode, 1)
        self.assertIn("security.network.allowed_domains", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "s4")))

    def test_default_seccomp_denial_recorded_at_delete(self):
        # config.json has no linux.seccomp: the policy's profile applies; its denial of
        # unshare answers EPERM and is in the container's audit record.
        out = os.path.join(self.tmp, "out")
        pid = self.create("sc1", ["sh", "-c", "unshare -n true; echo rc=$?"], out=out)
        self.assertEqual(self.hive("start", "sc1").returncode, 0)
        self.assertEqual(self.wait(pid), 0)
        with open(out) as f:
            self.assertIn("rc=1", f.read())
        self.assertEqual(self.audit_records("sc1"), [], "written before delete")
        self.assertEqual(self.hive("delete", "sc1").returncode, 0)
        runs = [x for x in self.audit_records("sc1") if x.get("event") == "run"]
        self.assertEqual(len(runs), 1)
        self.assertIn("unshare", json.dumps(runs[0].get("violations")))

    def test_config_seccomp_honoured(self):
        # config.json's own profile denies mkdir with EACCES (13); the policy's allows it.
        seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                 "errnoRet": 13}]}
        b = self.bundle(["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"])
        with open(os.path.join(b, "config.json")) as f:
            config = json.load(f)
        config["linux"]["seccomp"] = seccomp
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
        out = os.path.join(self.tmp, "out")
        self.ids.append("sc2")
        with open(out, "w") as o:
            r = self.hive("run", "--bundle", b, "sc2", stdout=o)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            text = f.read()
        self.assertIn("Permission denied", text)
        self.assertIn("rc=1", text)
        # An action hive-run cannot serve is refused at create, named.
        config["linux"]["seccomp"]["defaultAction"] = "SCMP_ACT_NOTIFY"
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
        r = self.hive("create", "--bundle", b, "sc3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("linux.seccomp.defaultAction", r.stderr)

    def test_spec_and_features(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        r = self.hive("spec", "--bundle", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(d, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["process"]["args"], ["sh"])
        r = self.hive("spec", "--bundle", d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists", r.stderr)
        # The written spec runs as it is.
        os.symlink(oci_case.ROOTFS, os.path.join(d, "rootfs"))
        config["process"]["args"] = ["true"]
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f)
        self.ids.append("sp")
        r = self.hive("run", "--bundle", d, "sp")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.hive("features")
        self.assertEqual(r.returncode, 0, r.stderr)
        f = json.loads(r.stdout)
        for key in ("ociVersionMin", "ociVersionMax", "linux", "mountOptions"):
            self.assertIn(key, f)
        self.assertIn("user", f["linux"]["namespaces"])


if __name__ == "__main__":
    oci_case.main()
