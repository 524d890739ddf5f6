"""hive::Executor on real sandboxes, through examples/executor_example (--json): output,
return codes, timeouts, refusals, resource usage and the stats the audit log yields."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(hive_test.HIVE_RUN), "examples", "executor_example")


class Executor(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        if not os.path.exists(EXAMPLE):
            self.fail(f"{EXAMPLE} is not built")

    def execute(self, script, *args, policy=None, timeout=None):
        cmd = [EXAMPLE, "--json", "--state-dir", self.state_dir]
        if policy:
            cmd += ["--policy", policy]
        if timeout:
            cmd += ["--timeout", str(timeout)]
        r = subprocess.run(cmd + [script, *args], capture_output=True, text=True, timeout=120)
        return r.returncode, json.loads(r.stdout)

    def test_runs_a_script_and_captures_its_output(self):
        script = self.write("job.py", "import sys\nprint('args', *sys.argv[1:])\n"
                                      "print('to stderr', file=sys.stderr)\n")
        rc, out = self.execute(script, "--input", "data.txt")
        res = out["result"]
        self.assertEqual(rc, 0, res)
        self.assertTrue(res["success"])
        self.assertEqual(res["stdout"], "args --input data.txt\n")
        self.assertEqual(res["stderr"], "to stderr\n")
        self.assertEqual(res["return_code"], 0)
        self.assertEqual(res["outcome"], "success")
        self.assertGreater(res["execution_time"], 0)
        self.assertGreater(res["resource_usage"]["memory_peak_bytes"], 0)
        self.assertEqual(res["static_analysis"]["risk_level"], "none")
        checks = {c["name"]: c["passed"] for c in res["security_checks"]}
        self.assertTrue(checks["sandbox_setup"])
        self.assertTrue(checks["static_analysis"])
        self.assertTrue(out["validation"]["valid"])
        self.assertEqual(out["stats"]["monitoring_stats"]["total_executions"], 1)

    def test_failure_keeps_return_code_and_stderr(self):
        script = self.write("fail.py", "import sys\nsys.stderr.write('boom\\n')\nsys.exit(3)\n")
        rc, out = self.execute(script)
        res = out["result"]
        self.assertEqual(rc, 3)
        self.assertFalse(res["success"])
        self.assertEqual(res["return_code"], 3)
        self.assertEqual(res["stderr"], "boom\n")
        self.assertEqual(res["outcome"], "failure")

    def test_timeout_is_enforced(self):
        script = self.write("slow.py", "import time\ntime.sleep(60)\n")
        rc, out = self.execute(script, timeout=1)
        res = out["result"]
        self.assertEqual(rc, 124)
        self.assertEqual(res["outcome"], "timeout")
        self.assertLess(res["execution_time"], 30)
        limits = [c for c in res["security_checks"] if c["name"] == "limits"]
        self.assertEqual(limits[0]["passed"], False)

    def test_sandbox_is_real(self):
        script = self.write("probe.py", "import os\ntry:\n    open('/etc/hive-x', 'w')\n"
                                        "    print('wrote')\nexcept OSError:\n"
                                        "    print('refused')\nprint(os.getpid())\n")
        rc, out = self.execute(script)
        self.assertEqual(rc, 0, out["result"])
        lines = out["result"]["stdout"].split()
        self.assertEqual(lines[0], "refused")
        self.assertLess(int(lines[1]), 10)  # its own pid namespace
        self.assertFalse(os.path.exists("/etc/hive-x"))

    def test_policy_refusal_and_stats(self):
        policy = self.write("p.yml", "security:\n  analysis:\n    refuse_at: high\n")
        bad = self.write("bad.py", "import os, sys\nos.system('ls ' + sys.argv[1])\n")
        rc, out = self.execute(bad, "x", policy=policy)
        res = out["result"]
        self.assertEqual(rc, 125)
        self.assertEqual(res["outcome"], "blocked")
        self.assertIn("security.analysis.refuse_at", res["error"])
        self.assertFalse(out["validation"]["valid"])
        self.assertEqual(out["analysis"]["findings"][0]["line"], 2)
        good = self.write("good.py", "print('fine')\n")
        rc, out = self.execute(good, policy=policy)
        self.assertEqual(rc, 0, out["result"])
        stats = out["stats"]["monitoring_stats"]
        self.assertEqual(stats["total_executions"], 2)
        self.assertEqual(stats["outcomes"], {"blocked": 1, "success": 1})


if __name__ == "__main__":
    hive_test.main()
