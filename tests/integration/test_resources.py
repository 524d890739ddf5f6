"""Resource limits on real workloads (issue 3): each is stopped at its limit, named in the
report's outcome and killed_by, and measured from the kernel's counters. tearDown checks that no
cgroup, mount or process is left behind."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

MiB = 1024 * 1024


class Resources(hive_test.SandboxTestCase):
    def policy(self, execution, extra=""):
        """A policy file with `security.execution` set to `execution` (a dict)."""
        lines = ["security:", "  execution:"]
        for key, value in execution.items():
            lines.append(f"    {key}: {value}")
        return self.write("policy.yml", "\n".join(lines) + "\n" + extra)

    def test_memory_hog_is_memory_limit(self):
        pol = self.policy({"memory_mb": 64, "timeout_seconds": 60})
        hog = self.write("hog.py", "a = []\nwhile True:\n    a.append(b'x' * (1 << 20))\n")
        r, rep = self.report("script", "--policy", pol, hog)
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertEqual(rep["outcome"], "memory_limit")
        self.assertEqual(rep["killed_by"], "memory_limit")
        peak = rep["usage"]["memory_peak_bytes"]
        print(f"memory_mb=64: memory_peak_bytes={peak} ({peak / (64 * MiB):.0%})")
        self.assertGreaterEqual(peak, 0.75 * 64 * MiB)
        self.assertLessEqual(peak, 1.25 * 64 * MiB)
        self.assertIn("memory_usage", [a["type"] for a in rep["alerts"]])

    def test_fork_bomb_is_pids_limit(self):
        pol = self.policy({"max_processes": 8, "timeout_seconds": 60})
        bomb = self.write("bomb.py", (
            "import os, sys, time\n"
            "n = 0\n"
            "try:\n"
            "    while True:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(60)\n"
            "            os._exit(0)\n"
            "        n += 1\n"
            "except OSError as e:\n"
            "    print('forked', n, e)\n"
            "    sys.exit(3)\n"))
        r, rep = self.report("script", "--policy", pol, bomb)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("Resource temporarily unavailable", r.stdout)
        self.assertEqual(rep["outcome"], "pids_limit")
        self.assertEqual(rep["killed_by"], "pids_limit")
        print(f"max_processes=8: pids_peak={rep['usage']['pids_peak']}")
        self.assertEqual(rep["usage"]["pids_peak"], 8)

    def test_cpu_spinner_is_cpu_limit(self):
        pol = self.policy({"cpu_seconds": 1, "timeout_seconds": 30})
        spin = self.write("spin.py", "while True:\n    pass\n")
        r, rep = self.report("script", "--policy", pol, spin)
        self.assertEqual(r.returncode, 128 + 24, r.stderr)  # SIGXCPU
        self.assertEqual(rep["outcome"], "cpu_limit")
        self.assertEqual(rep["killed_by"], "cpu_limit")
        cpu = rep["usage"]["cpu_user_ms"] + rep["usage"]["cpu_system_ms"]
        print(f"cpu_seconds=1: cpu {cpu} ms, wall {rep['wall_ms']} ms")
        self.assertGreaterEqual(cpu, 900)
        self.assertLessEqual(cpu, 1500)

    def test_cpu_seconds_hold_for_the_whole_sandbox(self):
        # Three processes under 1 s each would pass RLIMIT_CPU; the sandbox as a whole may not.
        pol = self.policy({"cpu_seconds": 1, "timeout_seconds": 30})
        spin = self.write("spin3.py", (
            "import os\n"
            "for _ in range(2):\n"
            "    if os.fork() == 0:\n"
            "        break\n"
            "while True:\n"
            "    pass\n"))
        r, rep = self.report("script", "--policy", pol, spin)
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertEqual(rep["outcome"], "cpu_limit")
        self.assertEqual(rep["killed_by"], "cpu_limit")
        cpu = rep["usage"]["cpu_user_ms"] + rep["usage"]["cpu_system_ms"]
        print(f"cpu_seconds=1, 3 spinners: cpu {cpu} ms, wall {rep['wall_ms']} ms")
        self.assertGreaterEqual(cpu, 900)
        self.assertLessEqual(cpu, 1600)

    def test_writer_past_file_size_is_file_size_limit(self):
        pol = self.policy({"file_size_mb": 1, "timeout_seconds": 30})
        r, rep = self.report("exec", "--policy", pol, "--", "dd", "if=/dev/zero", "of=/tmp/big",
                             "bs=64K", "count=64")
        self.assertEqual(r.returncode, 128 + 25, r.stderr)  # SIGXFSZ
        self.assertEqual(rep["outcome"], "file_size_limit")
        self.assertEqual(rep["killed_by"], "file_size_limit")

    def test_timeout_kills_setsid_double_fork_spinner(self):
        start = time.monotonic()
        r, rep = self.report("exec", "--timeout", "2", "--bind", f"{hive_test.PROBE}:/probe",
                             "--", "/probe", "spin-setsid", self.marker)
        elapsed = time.monotonic() - start
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertEqual(rep["outcome"], "timeout")
        self.assertEqual(rep["killed_by"], "timeout")
        print(f"timeout_seconds=2: stopped after {elapsed:.2f} s")
        # Not a timing test: the spinner never exits by itself; the bound only catches a hang.
        self.assertLess(elapsed, 10)
        # tearDown: no process with the marker, no cgroup left.

    def test_write_bps_throttles_disk_writer(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        limit = 4 * MiB
        pol = self.policy({"timeout_seconds": 60},
                          extra=("    io: {read_bps: 0, write_bps: %d}\n" % limit +
                                 "  filesystem:\n" +
                                 f"    allowed_paths: [\"{data}\"]\n"))
        r, rep = self.report("exec", "--policy", pol, "--", "dd", "if=/dev/zero",
                             f"of={data}/f", "bs=256K", "count=48", "oflag=direct")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rep["outcome"], "success")
        self.assertEqual(rep["warnings"], [])
        m = re.search(r"(\d+) bytes .* copied, ([0-9.]+) s", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        rate = int(m.group(1)) / float(m.group(2))
        print(f"io.write_bps={limit}: {rate:.0f} B/s ({rate / limit:.0%}), "
              f"io_write_bytes={rep['usage']['io_write_bytes']}")
        self.assertGreaterEqual(rate, 0.8 * limit)
        self.assertLessEqual(rate, 1.2 * limit)
        self.assertGreaterEqual(rep["usage"]["io_write_bytes"], 12 * MiB)

    def test_python_writer_past_file_size_is_file_size_limit(self):
        # Python ignores SIGXFSZ: its write gets EFBIG and no signal is seen from outside.
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        pol = self.policy({"file_size_mb": 1, "timeout_seconds": 30},
                          extra=f"  filesystem:\n    allowed_paths: [\"{out}\"]\n")
        big = self.write("big.py", f"open('{out}/big', 'wb').write(b'x' * (2 << 20))\n")
        r, rep = self.report("script", "--policy", pol, big)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("File too large", r.stderr)
        self.assertEqual(rep["outcome"], "file_size_limit")
        self.assertEqual(rep["killed_by"], "file_size_limit")
        self.assertIn("file_size_mb=1", " ".join(v["detail"] for v in rep["violations"]))
        # A script that handles the error exits 0, and the limit is still named.
        caught = self.write("caught.py", (
            f"try:\n    open('{out}/big2', 'wb').write(b'x' * (2 << 20))\n"
            "except OSError as e:\n    print('caught', e.errno)\n"))
        r, rep = self.report("script", "--policy", pol, caught)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rep["outcome"], "success")
        self.assertIn("file_size_mb=1", " ".join(v["detail"] for v in rep["violations"]))
        self.assertIn("limit:", r.stderr)

    def test_captured_output_cut_at_file_size_is_named(self):
        pol = self.policy({"file_size_mb": 1, "timeout_seconds": 30})
        r, rep = self.report("exec", "--policy", pol, "--capture", "--", "sh", "-c",
                             "head -c 3000000 /dev/zero; echo after >&2")
        self.assertEqual(r.returncode, 0, r.stderr)
        details = " ".join(v["detail"] for v in rep["violations"])
        self.assertIn("captured stdout reached file_size_mb=1", details)
        self.assertIn("captured stdout reached file_size_mb=1", r.stderr)

    def test_oom_kill_of_a_child_is_named_when_the_run_succeeds(self):
        pol = self.policy({"memory_mb": 64, "timeout_seconds": 60})
        r, rep = self.report("exec", "--policy", pol, "--", "sh", "-c",
                             "python3 -c 'a = bytearray(200 << 20)'; exit 0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rep["outcome"], "success")
        self.assertIn("OOM killer fired", " ".join(v["detail"] for v in rep["violations"]))
        self.assertIn("OOM killer fired", r.stderr)

    def test_io_counters_without_an_io_cgroup_are_unknown(self):
        r, rep = self.report("exec", "--", "/bin/true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(rep["usage"]["io_read_bytes"])
        self.assertIsNone(rep["usage"]["io_write_bytes"])
        self.assertIn("not measured", " ".join(rep["usage_notes"]))

    def test_alert_thresholds(self):
        # cpus: a CPU alert is relative to a CPU limit; without one nothing alerts on CPU.
        pol = self.policy({"timeout_seconds": 30, "cpus": 1},
                          extra=("  monitoring:\n"
                                 "    alert_thresholds: {cpu_usage: 20, memory_usage: 90, "
                                 "execution_time: 1}\n"))
        # CPU-bound for 1.2 s of its own CPU time: well above 20% of a core even on a busy
        # machine, and over the 1 s execution_time threshold.
        spin = self.write("spin.py", "import time\n"
                          "while time.process_time() < 1.2:\n    pass\n")
        r, rep = self.report("script", "--policy", pol, spin)
        self.assertEqual(r.returncode, 0, r.stderr)
        types = [a["type"] for a in rep["alerts"]]
        self.assertIn("execution_time", types)
        self.assertIn("cpu_usage", types)
        self.assertNotIn("memory_usage", types)

    def test_usage_comes_from_the_cgroup(self):
        # A child that nobody reaps still counts: wait4's rusage would miss its CPU time.
        pol = self.policy({"timeout_seconds": 30})
        script = self.write("child_cpu.py", (
            "import os, time\n"
            "r, w = os.pipe()\n"
            "if os.fork() == 0:\n"
            "    while time.process_time() < 0.6:\n"
            "        pass\n"
            "    os.write(w, b'x')\n"
            "    time.sleep(30)\n"
            "    os._exit(0)\n"
            "os.read(r, 1)\n"
            "os._exit(0)\n"))
        r, rep = self.report("script", "--policy", pol, script)
        self.assertEqual(r.returncode, 0, r.stderr)
        cpu = rep["usage"]["cpu_user_ms"] + rep["usage"]["cpu_system_ms"]
        print(f"unreaped child: cpu {cpu} ms, pids_peak {rep['usage']['pids_peak']}")
        self.assertGreaterEqual(cpu, 600)
        self.assertGreaterEqual(rep["usage"]["pids_peak"], 3)  # init, payload, child


if __name__ == "__main__":
    hive_test.main()
