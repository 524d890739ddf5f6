"""`hive-run analyze`: static analysis through the real CLI — seed examples name their line,
JSON and policy compatibility, exit statuses. Nothing runs, so no privileges are needed."""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

CORPUS = os.path.join(hive_test.SOURCE_ROOT, "tests", "analyze")

# The seeds' security_policy.yml, unchanged.
SEED_POLICY = os.path.join(hive_test.SOURCE_ROOT, "tests", "fixtures", "security_policy.yml")


class AnalyzeCli(unittest.TestCase):
    def setUp(self):
        if not hive_test.HIVE_RUN or not os.path.exists(hive_test.HIVE_RUN):
            self.fail("HIVE_RUN is not set to the built hive-run binary")
        self.tmp = tempfile.mkdtemp(prefix="hive-analyze-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def analyze(self, *args, cwd=None):
        return subprocess.run([hive_test.HIVE_RUN, "analyze", *args], capture_output=True,
                              text=True, timeout=60, cwd=cwd)

    def analyze_json(self, *args, cwd=None):
        r = self.analyze("--json", *args, cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    # The "done when": each seed example names the right line.
    def test_seed_eval_of_input(self):
        f = self.write("calc.py", "expr = input('> ')\n\nprint(eval(expr))\n")
        r = self.analyze(f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{f}:3:7: critical dynamic_code_execution", r.stdout)
        self.assertIn("risk critical", r.stdout)

    def test_seed_os_system_string_concatenation(self):
        f = self.write("ls.py", "import os\nfilename = input('Enter filename: ')\n"
                                "os.system('ls ' + filename)\nos.system(f'ls {filename}')\n")
        j = self.analyze_json(f)
        self.assertEqual([(x["type"], x["line"], x["severity"]) for x in j["findings"]],
                         [("os_command_execution", 3, "critical"),
                          ("os_command_execution", 4, "critical")])
        self.assertEqual(j["findings"][0]["code"], "os.system('ls ' + filename)")

    def test_seed_path_traversal(self):
        f = self.write("read.py", 'filename = "../../../etc/passwd"\n'
                                  "with open(filename, 'r') as f:\n    content = f.read()\n")
        j = self.analyze_json(f)
        self.assertEqual([(x["type"], x["line"]) for x in j["findings"]], [("path_traversal", 2)])
        self.assertEqual(j["risk_level"], "high")

    def test_seed_corpus_files(self):
        for name, want in [("seed_eval_input.py", ("dynamic_code_execution", 6)),
                           ("seed_os_system_concat.py", ("os_command_execution", 8)),
                           ("seed_path_traversal.py", ("path_traversal", 5))]:
            j = self.analyze_json(os.path.join(CORPUS, "dangerous", name))
            self.assertIn(want, [(x["type"], x["line"]) for x in j["findings"]], name)

    def test_json_fields(self):
        f = self.write("p.py", "import pickle, sys\nobj = pickle.loads(sys.stdin.buffer.read())\n")
        j = self.analyze_json(f)
        self.assertEqual(j["schema"], "hive-run/analysis/v1")
        self.assertEqual(j["file"], f)
        self.assertEqual(j["vulnerabilities_found"], 1)
        finding = j["findings"][0]
        for key in ("type", "severity", "line", "column", "code", "description",
                    "recommendation"):
            self.assertIn(key, finding)
        self.assertEqual(finding["type"], "unsafe_deserialization")
        self.assertEqual(finding["severity"], "critical")
        self.assertNotIn("compatibility", j)

    def test_benign_corpus_is_clean(self):
        benign = os.path.join(CORPUS, "benign")
        for name in sorted(os.listdir(benign)):
            j = self.analyze_json(os.path.join(benign, name))
            self.assertEqual(j["findings"], [], name)
            self.assertEqual(j["risk_level"], "none", name)

    def test_policy_compatibility(self):
        with open(SEED_POLICY) as f:
            policy = self.write("policy.yml", f.read())
        os.makedirs(os.path.join(self.tmp, "data"))
        f = self.write("job.py", "import os, requests\n"
                                 "rows = open('data/in.csv').read()\n"
                                 "requests.post('https://api.example.com/x', data=rows)\n"
                                 "open('/var/out.txt', 'w').write(rows)\n"
                                 "os.remove('data/in.csv')\n")
        j = self.analyze_json("--policy", policy, f, cwd=self.tmp)
        c = j["compatibility"]
        self.assertFalse(c["compatible"])
        self.assertTrue(c["migration_required"])
        keys = {(i["line"], i["policy_key"]) for i in c["issues"]}
        self.assertEqual(keys, {(3, "security.network.allowed_domains"),
                                (4, "security.filesystem.allowed_paths"),
                                (5, "security.filesystem.blocked_operations")})
        self.assertEqual(c["compatibility_score"], 25)
        r = self.analyze("--policy", policy, f, cwd=self.tmp)
        self.assertIn("compatibility with", r.stdout)
        self.assertIn("change security.network.allowed_domains", r.stdout)

    def test_policy_refuse_at_is_reported(self):
        policy = self.write("strict.yml", "security:\n  analysis:\n    refuse_at: high\n")
        f = self.write("x.py", "import os\nos.system('id')\n")
        j = self.analyze_json("--policy", policy, f)
        self.assertIn("security.analysis.refuse_at",
                      [i["policy_key"] for i in j["compatibility"]["issues"]])

    def test_fail_at_sets_exit_status(self):
        bad = self.write("bad.py", "eval(input())\n")
        good = self.write("good.py", "print('eval(input())')\n")
        self.assertEqual(self.analyze("--fail-at", "high", bad).returncode, 1)
        self.assertEqual(self.analyze("--fail-at", "high", good).returncode, 0)
        self.assertEqual(self.analyze(bad).returncode, 0)

    def test_large_script_is_analyzed_to_the_cap_in_bounded_memory(self):
        # 20 MB of code. The analyzer used to hold ~160 bytes per byte of script (3 GB here)
        # before the sandbox existed; now it reads 4 MiB and a few bytes per byte of that, so
        # it fits in an address space of 256 MiB (the binary itself included).
        f = os.path.join(self.tmp, "big.py")
        size = 0
        with open(f, "w") as out:
            out.write("import os\n")
            i = 0
            while size < 20 << 20:
                line = f"x{i % 1000} = f(a, b[{i}], 'abc') + g.h(1, 2)  # row {i}\n"
                out.write(line)
                size += len(line)
                i += 1
            out.write("os.system(cmd)\n")  # past the cap: not read

        def limit_memory():
            resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))

        r = subprocess.run([hive_test.HIVE_RUN, "analyze", "--json", f], capture_output=True,
                           text=True, timeout=600, preexec_fn=limit_memory)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        j = json.loads(r.stdout)
        self.assertEqual([(x["type"], x["severity"]) for x in j["findings"]],
                         [("analysis_incomplete", "high")])
        self.assertIn("more than the 4 MiB the analyzer reads", j["findings"][0]["description"])
        self.assertTrue(j["findings"][0]["code"].startswith("x"), j["findings"][0])
        self.assertEqual(j["risk_level"], "high")
        self.assertEqual(j["syntax_errors"], [])

    def test_usage_errors_are_125(self):
        self.assertEqual(self.analyze().returncode, 125)
        r = self.analyze(os.path.join(self.tmp, "missing.py"))
        self.assertEqual(r.returncode, 125)
        self.assertIn("No such file", r.stderr)
        self.assertEqual(self.analyze("--bogus", "x.py").returncode, 125)
        self.assertEqual(self.analyze("--fail-at", "severe", "x.py").returncode, 125)
        bad_policy = self.write("bad.yml", "security:\n  execution:\n    memory_mb: lots\n")
        f = self.write("ok.py", "print(1)\n")
        r = self.analyze("--policy", bad_policy, f)
        self.assertEqual(r.returncode, 125)
        self.assertIn("memory_mb", r.stderr)

    def test_global_state_dir_option_is_accepted(self):
        f = self.write("ok.py", "print(1)\n")
        r = subprocess.run([hive_test.HIVE_RUN, "--state-dir", self.tmp, "analyze", f],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)


class ScriptGate(hive_test.SandboxTestCase):
    """`hive-run script` analyzes first: the report carries static_analysis, and the policy's
    analysis.refuse_at refuses the run (125) before anything starts, recorded as refused."""

    def audit_events(self):
        path = os.path.join(self.state_dir, "audit.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_refuse_at_refuses_before_running(self):
        policy = self.write("strict.yml", "security:\n  analysis:\n    refuse_at: high\n")
        marker = self.path("ran")
        script = self.write("bad.py", f"import os\nopen({marker!r}, 'w').close()\n"
                                      "os.system('id')\n")
        r, rep = self.report("script", "--policy", policy, script)
        self.assertEqual(r.returncode, 125, r.stderr)
        self.assertIn("security.analysis.refuse_at", r.stderr)
        self.assertIn("line 3", r.stderr)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(rep["outcome"], "blocked")
        self.assertEqual(rep["static_analysis"]["risk_level"], "high")
        self.assertEqual(rep["static_analysis"]["findings"][0]["line"], 3)
        refused = [e for e in self.audit_events() if e["event"] == "refused"]
        self.assertEqual(len(refused), 1)
        self.assertEqual(refused[0]["script"], script)
        self.assertEqual(rep["audit"]["seq"], refused[0]["seq"])

    def test_clean_script_runs_with_its_analysis_in_the_report(self):
        policy = self.write("strict.yml", "security:\n  analysis:\n    refuse_at: medium\n")
        script = self.write("ok.py", "# os.system('rm -rf /') is only a comment\nprint('ok')\n")
        r, rep = self.report("script", "--policy", policy, script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ok\n")
        self.assertEqual(rep["static_analysis"]["risk_level"], "none")
        self.assertEqual(rep["static_analysis"]["findings"], [])
        self.assertIn("compatibility", rep["static_analysis"])

    def test_without_refuse_at_a_risky_script_still_runs(self):
        script = self.write("risky.py", "import sys\nprint(eval('1+1' if len(sys.argv) < 9 "
                                        "else sys.argv[1]))\n")
        r, rep = self.report("script", script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "2\n")
        self.assertEqual(rep["static_analysis"]["risk_level"], "critical")

    def test_multi_megabyte_script_still_runs(self):
        # 5 MB of comments and data, then the code: more than the analyzer reads. The
        # built-in policy runs it, with the finding in the report; a policy that refuses
        # high-risk code does not run what the analyzer could not read.
        rows = "".join(f"# row {i}: {'data ' * 12}\n" for i in range(80000))
        script = self.write("big.py", rows + f"DATA = {rows[:100000]!r}\nprint('ok')\n")
        self.assertGreater(os.path.getsize(script), 5 << 20)
        r, rep = self.report("script", script, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(r.stdout, "ok\n")
        analysis = rep["static_analysis"]
        self.assertEqual([f["type"] for f in analysis["findings"]], ["analysis_incomplete"])
        self.assertEqual(analysis["risk_level"], "high")
        policy = self.write("strict.yml", "security:\n  analysis:\n    refuse_at: high\n")
        r, rep = self.report("script", "--policy", policy, script, timeout=300)
        self.assertEqual(r.returncode, 125, r.stderr[-2000:])
        self.assertIn("more than the 4 MiB the analyzer reads", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(rep["outcome"], "blocked")

    def test_non_python_scripts_are_not_analyzed(self):
        script = self.write("job.sh", "echo eval\n")
        r, rep = self.report("script", script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(rep.get("static_analysis"))


if __name__ == "__main__":
    hive_test.main()
