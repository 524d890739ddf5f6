"""The Python client (python/hive_run) against the real hive-run binary: every seed API call,
the seeds' result fields, refusals raising the seeds' exceptions, SecureRunner's allowlist
enforced by hive-run itself, and `pip install ./python` working offline."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

PYTHON_DIR = os.path.join(hive_test.SOURCE_ROOT, "python")
sys.path.insert(0, PYTHON_DIR)
import hive_run  # noqa: E402
from hive_run import (ExecutionStatus, PolicyViolationException,  # noqa: E402
                      ScriptExecutionException, SecureRunner, SecureScriptExecutor)

SEED_POLICY = os.path.join(hive_test.SOURCE_ROOT, "tests", "fixtures", "security_policy.yml")


class ClientTestCase(hive_test.SandboxTestCase):
    def setUp(self):
        super().setUp()
        os.environ["HIVE_RUN"] = hive_test.HIVE_RUN

    def executor(self, policy=None):
        return SecureScriptExecutor(policy_file=policy, state_dir=self.state_dir)


class Executor(ClientTestCase):
    def test_execute_script_returns_the_seeds_result(self):
        script = self.write("hello.py", "import sys\nprint('hello', *sys.argv[1:])\n"
                            "print('warn', file=sys.stderr)\n")
        result = self.executor().execute_script(script, args=["--input", "x"], timeout=30.0)
        for key in ("success", "stdout", "stderr", "return_code", "execution_time",
                    "security_checks", "static_analysis", "resource_usage"):
            self.assertIn(key, result)
        self.assertTrue(result["success"], result)
        self.assertEqual(result["stdout"], "hello --input x\n")
        self.assertEqual(result["stderr"], "warn\n")
        self.assertEqual(result["return_code"], 0)
        self.assertGreater(result["execution_time"], 0)
        self.assertIsInstance(result["execution_time"], float)
        names = {c["name"]: c["passed"] for c in result["security_checks"]}
        self.assertTrue(names["sandbox_setup"])
        self.assertTrue(names["static_analysis"])
        sa = result["static_analysis"]
        self.assertEqual(sa["vulnerabilities_found"], 0)
        self.assertEqual(sa["vulnerabilities"], [])
        self.assertIn("risk_level", sa)
        self.assertEqual(result["report"]["limits"]["timeout_seconds"], 30)
        self.assertGreater(result["resource_usage"]["memory_peak_bytes"], 0)

    def test_failure_is_a_result_not_an_exception(self):
        script = self.write("fail.py", "import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)\n")
        result = self.executor().execute_script(script)
        self.assertFalse(result["success"])
        self.assertEqual(result["return_code"], 3)
        self.assertIn("oops", result["stderr"])

    def test_timeout_is_enforced(self):
        script = self.write("slow.py", "import time\ntime.sleep(30)\n")
        result = self.executor().execute_script(script, timeout=1)
        self.assertFalse(result["success"])
        self.assertEqual(result["return_code"], 124)
        self.assertEqual(result["outcome"], "timeout")
        with self.assertRaises(hive_run.TimeoutException):
            SecureScriptExecutor(state_dir=self.state_dir,
                                 raise_on_limit=True).execute_script(script, timeout=1)

    def test_policy_refusal_raises_policy_violation(self):
        pol = self.write("refuse.yml", "security:\n  analysis:\n    refuse_at: high\n")
        bad = self.write("bad.py", "import os\nos.system('ls ' + input())\n")
        with self.assertRaises(PolicyViolationException) as cm:
            self.executor(pol).execute_script(bad)
        self.assertIn("critical", str(cm.exception))
        self.assertEqual(cm.exception.result["outcome"], "blocked")
        self.assertFalse(self.executor(pol).validate_script(bad))

    def test_missing_script_raises_script_execution(self):
        with self.assertRaises(ScriptExecutionException) as cm:
            self.executor().execute_script(self.path("nope.py"))
        self.assertIn("nope.py", str(cm.exception))

    def test_bad_policy_raises_naming_the_key(self):
        pol = self.write("bad.yml", "security:\n  execution:\n    memory_mb: lots\n")
        script = self.write("ok.py", "pass\n")
        with self.assertRaises(ScriptExecutionException) as cm:
            self.executor(pol).execute_script(script)
        self.assertIn("security.execution.memory_mb", str(cm.exception))

    def test_analyze_script_security(self):
        bad = self.write("bad.py", "import os\nname = input()\nos.system(f'ls {name}')\n")
        a = self.executor(SEED_POLICY).analyze_script_security(bad)
        self.assertEqual(a["risk_level"], "critical")
        self.assertGreaterEqual(a["vulnerabilities_found"], 1)
        v = a["vulnerabilities"][0]
        for key in ("type", "description", "line", "code"):
            self.assertIn(key, v)
        self.assertEqual(v["line"], 3)
        self.assertIn("os.system", v["code"])

    def test_validate_script(self):
        ok = self.write("safe.py", "print(1 + 1)\n")
        ex = self.executor(SEED_POLICY)
        self.assertTrue(ex.validate_script(ok))
        self.assertFalse(ex.validate_script("/etc/passwd"))
        self.assertFalse(ex.validate_script(self.path("missing.py")))
        broken = self.write("broken.py", "def f(:\n")
        self.assertFalse(ex.validate_script(broken))

    def test_get_security_stats_counts_runs_and_alerts_newest_first(self):
        ex = self.executor(self.write("alerts.yml", "security:\n  monitoring:\n"
                                      "    alert_thresholds: {execution_time: 0.01}\n"))
        first = self.write("a.py", "import time\ntime.sleep(0.1)\n")
        r1 = ex.execute_script(first)
        r2 = ex.execute_script(first)
        net = self.write("net.py", "import socket\ntry:\n    socket.socket()\nexcept OSError:\n"
                         "    pass\n")
        r3 = ex.execute_script(net)
        stats = ex.get_security_stats()
        ms = stats["monitoring_stats"]
        self.assertEqual(ms["total_executions"], 3)
        self.assertGreaterEqual(ms["security_violations"], 1)
        alerts = stats["recent_alerts"]
        self.assertGreaterEqual(len(alerts), 3)
        for a in alerts:
            self.assertIn("type", a)
            self.assertIn("message", a)
        # Newest first: the network run's alerts, then the second run's, then the first's.
        order = []
        for a in alerts:
            if a["run_id"] not in order:
                order.append(a["run_id"])
        self.assertEqual(order, [r3["run_id"], r2["run_id"], r1["run_id"]])
        seqs = [a["seq"] for a in alerts]
        self.assertEqual(seqs, sorted(seqs, reverse=True))


class Runner(ClientTestCase):
    def runner(self, **kw):
        return SecureRunner(sandbox_base_dir=self.state_dir, **kw)

    def test_secure_run_string_command(self):
        result = self.runner(tools_bin_dir=None).secure_run("echo 'Hello World'", timeout=10)
        self.assertEqual(result.status, ExecutionStatus.SUCCESS, result)
        self.assertEqual(result.status.value, "success")
        self.assertEqual(result.stdout, "Hello World\n")
        self.assertTrue(result.run_id)
        info = self.runner().get_sandbox_info(result.run_id)
        self.assertTrue(os.path.exists(info["execution_log"]))

    def test_binary_outside_the_allowlist_is_blocked_by_hive_run(self):
        marker = self.path("ran")
        result = self.runner().secure_run(["touch", marker])
        self.assertEqual(result.status, ExecutionStatus.BLOCKED)
        self.assertEqual(result.return_code, 126)
        self.assertIn("not in the allowlist", result.error_message)
        self.assertFalse(os.path.exists(marker))
        # allowlist= admits it for one call.
        result = self.runner().secure_run(["touch", "/tmp/x"], allowlist=["touch"])
        self.assertEqual(result.status, ExecutionStatus.SUCCESS, result.error_message)

    def test_injection_is_blocked_and_dry_run_validates(self):
        r = self.runner().secure_run("ls && id")
        self.assertEqual(r.status, ExecutionStatus.BLOCKED)
        self.assertIn("`&&`", r.error_message)
        r = self.runner().secure_run("ls -l", dry_run=True)
        self.assertEqual(r.status.value, "dry_run")
        r = self.runner().secure_run("rm -rf /", dry_run=True)
        self.assertEqual(r.status, ExecutionStatus.BLOCKED)

    def test_tools_bin_directory(self):
        tools = self.path("tools", "bin")
        os.makedirs(tools)
        self.write("tools/bin/static_analyzer", "#!/bin/sh\necho '{\"ok\": true}'\n", mode=0o755)
        r = self.runner(tools_bin_dir=tools).secure_run(["static_analyzer", "--format", "json"])
        self.assertEqual(r.status, ExecutionStatus.SUCCESS, r.error_message)
        self.assertEqual(r.stdout.strip(), '{"ok": true}')

    def test_limits_env_and_working_dir(self):
        ws = self.path("ws")
        os.makedirs(ws)
        self.write("ws/analysis.py",
                   "import os\nopen('out.txt', 'w').write(os.environ['ANALYSIS_MODE'])\n")
        r = self.runner().secure_run(["python3", "analysis.py"], timeout=60, cpu_time=45,
                                     mem_bytes=1024 * 1024 * 1024,
                                     env_vars={"ANALYSIS_MODE": "strict"}, working_dir=ws)
        self.assertEqual(r.status, ExecutionStatus.SUCCESS, r.stderr + r.error_message)
        with open(os.path.join(ws, "out.txt")) as f:
            self.assertEqual(f.read(), "strict")
        self.assertEqual(r.report["limits"]["memory_mb"], 1024)
        self.assertEqual(r.report["limits"]["cpu_seconds"], 45)
        self.write("ws/hog.py", "a = b'x' * (400 << 20)\n")
        r = self.runner().secure_run(["python3", "hog.py"], mem_bytes=64 << 20, working_dir=ws)
        self.assertEqual(r.status, ExecutionStatus.RESOURCE_LIMIT, r.stderr + r.error_message)
        self.assertIn("memory_limit", r.error_message)


class SeedExamples(ClientTestCase):
    """examples/seeds/: the seeds' own example programs, changed only in their import line."""

    def run_example(self, name):
        examples = os.path.join(hive_test.SOURCE_ROOT, "examples", "seeds")
        env = {**os.environ, "PYTHONPATH": PYTHON_DIR, "HIVE_RUN_STATE_DIR": self.state_dir}
        return subprocess.run([sys.executable, name], cwd=examples, env=env,
                              capture_output=True, text=True, timeout=120)

    def test_basic_execution(self):
        r = self.run_example("basic_execution.py")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[:5], [
            "Script executed successfully",
            'Output: {"yes": 3, "no": 1, "abstain": 1}',
            "", "Monitoring Stats:", "  Total executions: 1"])

    def test_secure_run_basic(self):
        r = self.run_example("secure_run_basic.py")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[:2], ["Status: success", "Output: Hello World"])
        self.assertTrue(lines[-1].startswith("Command blocked: `potentially_dangerous_command` "
                                             "is not found"), lines)


class Install(hive_test.SandboxTestCase):
    def test_pip_install_works_offline(self):
        python = "/usr/bin/python3"  # the Debian interpreter ./setup installs pip for
        if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode:
            self.skipTest("python3-pip is not installed")
        src = self.path("src")
        shutil.copytree(PYTHON_DIR, src)  # pip builds in the tree it is given
        target = self.path("site")
        # No index: nothing may be downloaded, not even a build dependency.
        r = subprocess.run([python, "-m", "pip", "install", "--no-index", "--target", target,
                            src], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        code = textwrap.dedent("""
            import hive_run, sys
            assert hive_run.__file__.startswith(sys.argv[1]), hive_run.__file__
            from hive_run import SecureScriptExecutor, secure_run
            print("ok")
        """)
        r = subprocess.run([python, "-c", code, target], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": target}, cwd=self.tmp)
        self.assertEqual(r.stdout, "ok\n", r.stderr)


if __name__ == "__main__":
    hive_test.main()
