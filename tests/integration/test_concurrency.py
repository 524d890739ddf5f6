"""Limits under concurrency (issue 12): with many runs starting at once, every run gets every
limit its policy sets, or does not start; none runs with a limit silently dropped."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hive_test  # noqa: E402

RUNS = 100
HOG = ("a = bytearray(150 << 20)\n"
       "a[::4096] = b'x' * len(a[::4096])\n"
       "print('ALLOC')\n")


class Concurrency(hive_test.SandboxTestCase):
    def test_100_runs_at_once_all_get_their_memory_limit(self):
        env = dict(os.environ)
        env.pop("HIVE_RUN_STATE_DIR", None)
        procs = [subprocess.Popen(
            [hive_test.HIVE_RUN, "--state-dir", self.state_dir, "exec", "--memory", "32", "--",
             "python3", "-c", HOG, self.marker],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(RUNS)]
        results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
        allocated = [r for r in results if "ALLOC" in r[0]]
        warned = [r for r in results if "not enforced" in r[1]]
        refused = [r for r in results if r[2] == 125]
        print(f"{RUNS} runs: {len(allocated)} allocated 150 MB, {len(warned)} warned, "
              f"{len(refused)} refused")
        self.assertEqual(allocated, [], "a run exceeded --memory 32")
        self.assertEqual(warned, [], "a run went ahead without its limit")
        self.assertEqual(refused, [], "a run was refused although its limit could be set")
        self.assertTrue(all(r[2] == 137 for r in results), {r[2] for r in results})
        self.assertEqual(self.hive("audit", "verify").returncode, 0)


if __name__ == "__main__":
    hive_test.main()
