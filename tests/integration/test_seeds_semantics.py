"""The seeds' own layout and policy, as their scripts use them: a project with
scripts/config/security_policy.yml, ./data and sibling modules, run from the project root;
`script` runs in the caller's directory; relative policy paths mean the project's; `policy
check` warns about allowed paths that do not exist; the analyzer's compatibility verdict
on an os.replace atomic write agrees with what a run does."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

SEED_POLICY = os.path.join(hive_test.SOURCE_ROOT, "tests", "fixtures", "security_policy.yml")


class SeedsProject(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        self.proj = self.path("proj")
        os.makedirs(os.path.join(self.proj, "scripts", "config"))
        os.makedirs(os.path.join(self.proj, "data"))
        shutil.copy(SEED_POLICY, os.path.join(self.proj, "scripts", "config",
                                              "security_policy.yml"))
        self.policy = "scripts/config/security_policy.yml"
        self.write("proj/data/votes.txt", "yes\nno\nyes\n")
        self.write("proj/scripts/tally_lib.py", "def tally(lines):\n"
                   "    return {v: lines.count(v) for v in sorted(set(lines))}\n")

    def write_in_project(self, name, text):
        with open(os.path.join(self.proj, name), "w") as f:
            f.write(text)

    def run_in_project(self, *args):
        cmd = [hive_test.HIVE_RUN, "--state-dir", self.state_dir, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.proj)

    def test_policy_in_a_subdirectory_resolves_against_the_project(self):
        r = self.run_in_project("policy", "show", self.policy)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(os.path.join(self.proj, "data"), r.stdout)
        self.assertNotIn(os.path.join(self.proj, "scripts", "config", "data"), r.stdout)

    def test_policy_check_warns_about_missing_allowed_paths(self):
        r = self.run_in_project("policy", "check", self.policy)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("(1 warning)", r.stdout)
        self.assertIn(f"`{os.path.join(self.proj, 'logs')}` does not exist", r.stderr)
        self.assertNotIn("`" + os.path.join(self.proj, "data") + "`", r.stderr)
        os.makedirs(os.path.join(self.proj, "logs"))
        r = self.run_in_project("policy", "check", self.policy)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(r.stdout.endswith(": ok\n"), r.stdout)

    def test_script_runs_in_the_callers_directory(self):
        self.write("proj/scripts/tally.py",
                   "import json, os\n"
                   "from tally_lib import tally\n"  # a sibling module
                   "lines = open('data/votes.txt').read().split()\n"  # relative to the caller
                   "result = tally(lines)\n"
                   "open('data/result.json', 'w').write(json.dumps(result))\n"
                   "print(os.getcwd(), json.dumps(result))\n"
                   "try:\n"
                   "    open('not-allowed.txt', 'w')\n"
                   "except OSError as e:\n"
                   "    print('project root is read-only:', e.errno)\n")
        r = self.run_in_project("script", "--policy", self.policy, "scripts/tally.py")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], f'{self.proj} {{"no": 1, "yes": 2}}')
        self.assertIn(lines[1], ("project root is read-only: 30",    # EROFS
                                 "project root is read-only: 13"))   # EACCES (Landlock)
        with open(os.path.join(self.proj, "data", "result.json")) as f:
            self.assertEqual(json.load(f), {"no": 1, "yes": 2})
        self.assertFalse(os.path.exists(os.path.join(self.proj, "not-allowed.txt")))

    def test_script_outside_a_policy_sees_its_directory_read_only(self):
        self.write("proj/scripts/peek.py", "import tally_lib\nprint(open('data/votes.txt')"
                   ".read().count('yes'))\nopen('data/x', 'w')\n")
        r = self.run_in_project("script", "scripts/peek.py")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "2\n")
        self.assertRegex(r.stderr, "Read-only file system|Permission denied")

    def test_atomic_write_verdict_agrees_with_the_run(self):
        self.write("proj/scripts/atomic.py",
                   "import os\n"
                   "with open('data/state.tmp', 'w') as f:\n"
                   "    f.write('v2')\n"
                   "os.replace('data/state.tmp', 'data/state.txt')\n")
        os.makedirs(os.path.join(self.proj, "logs"))
        r = self.run_in_project("analyze", "--json", "--policy", self.policy,
                                "scripts/atomic.py")
        self.assertEqual(r.returncode, 0, r.stderr)
        c = json.loads(r.stdout)["compatibility"]
        self.assertFalse(c["compatible"])
        self.assertEqual([(i["line"], i["policy_key"]) for i in c["issues"]],
                         [(4, "security.filesystem.blocked_operations")])
        # And the run does refuse the rename, as the verdict says.
        r = self.run_in_project("script", "--policy", self.policy, "scripts/atomic.py")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Operation not permitted", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.proj, "data", "state.txt")))

    def test_private_tmp_and_shm_are_the_scripts_own_host_files_stay_protected(self):
        # The project must not live below /tmp: a writable host path mounted beneath the
        # private /tmp cannot be told from it, and then nothing is spared (see below).
        outside = tempfile.mkdtemp(prefix="hive-seeds-", dir="/var/tmp")
        try:
            os.chmod(outside, 0o755)
            shutil.copytree(self.proj, os.path.join(outside, "proj"))
            self.proj = os.path.join(outside, "proj")
            self.private_tmp_case()
        finally:
            shutil.rmtree(outside, ignore_errors=True)

    def test_host_path_beneath_tmp_keeps_deletes_blocked_everywhere(self):
        # self.proj is below /tmp here, so its data/ is mounted beneath the private /tmp.
        self.write("proj/scripts/t.py", "import os\nopen('/tmp/x', 'w').close()\n"
                   "try:\n    os.unlink('/tmp/x')\nexcept OSError as e:\n    print(e.errno)\n")
        r = self.run_in_project("script", "--policy", self.policy, "scripts/t.py")
        self.assertEqual((r.returncode, r.stdout), (0, "1\n"), r.stderr)

    def private_tmp_case(self):
        victim = os.path.join(self.proj, "data", "keep.txt")
        self.write_in_project("data/keep.txt", "precious")
        self.write_in_project("scripts/temps.py",
                   "import multiprocessing, os, tempfile\n"
                   "with tempfile.TemporaryDirectory() as d:\n"
                   "    os.makedirs(os.path.join(d, 'sub'))\n"
                   "    open(os.path.join(d, 'sub', 'f'), 'w').write('x')\n"
                   "    os.replace(os.path.join(d, 'sub', 'f'), os.path.join(d, 'g'))\n"
                   "print('tmp cleaned:', not os.path.exists(d))\n"
                   "if __name__ == '__main__':\n"
                   "    with multiprocessing.Pool(2) as pool:\n"
                   "        print('pool:', pool.map(abs, [-1, -2, 3]))\n"
                   "    try:\n"
                   "        os.unlink('data/keep.txt')\n"
                   "    except OSError as e:\n"
                   "        print('host delete:', e.errno)\n"
                   "    try:\n"
                   "        os.replace('data/keep.txt', '/tmp/stolen')\n"
                   "    except OSError as e:\n"
                   "        print('host rename:', e.errno)\n")
        # The seeds' policy, but for max_processes: the pids limit counts threads, and a Pool
        # of two is seven tasks (main and its three pool threads, two workers, the
        # semaphore tracker), more than the seeds' 5.
        with open(SEED_POLICY) as f:
            text = f.read()
        self.assertIn("max_processes: 5 ", text)
        policy = os.path.join(self.proj, "scripts", "config", "pool_policy.yml")
        with open(policy, "w") as f:
            f.write(text.replace("max_processes: 5 ", "max_processes: 16"))
        rep_path = self.path("rep.json")
        r = self.run_in_project("script", "--policy", policy, "--report", rep_path,
                                "scripts/temps.py")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "tmp cleaned: True", "pool: [1, 2, 3]", "host delete: 1", "host rename: 1"])
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")
        with open(rep_path) as f:
            rep = json.load(f)
        v = {x["detail"]: x["count"] for x in rep["violations"] if x["type"] == "blocked_operation"}
        self.assertEqual(v.get("unlink (delete)"), 1, rep["violations"])
        self.assertEqual(v.get("rename (delete)"), 1, rep["violations"])


if __name__ == "__main__":
    hive_test.main()
