"""Finding and calling the hive-run binary: every call of this package is one hive-run
command, so the sandbox, policy and audit log are exactly those of the command line."""
import json
import os
import shutil
import subprocess

from .exceptions import ScriptExecutionException


def find_binary(explicit=None):
    """`explicit`, else $HIVE_RUN, else `hive-run` on $PATH."""
    for candidate in (explicit, os.environ.get("HIVE_RUN")):
        if candidate:
            return candidate
    found = shutil.which("hive-run")
    if not found:
        raise ScriptExecutionException(
            "hive-run is not installed: put it on PATH or set HIVE_RUN to the binary")
    return found


class Binary:
    def __init__(self, path=None, state_dir=None):
        self.path = find_binary(path)
        self.state_dir = os.path.abspath(state_dir) if state_dir else None

    def argv(self, *args):
        cmd = [self.path]
        if self.state_dir:
            cmd += ["--state-dir", self.state_dir]
        return cmd + [str(a) for a in args]

    def run(self, *args, stdin=subprocess.DEVNULL, input=None, cwd=None, timeout=None):
        kwargs = {"stdin": stdin} if input is None else {"input": input}
        try:
            return subprocess.run(self.argv(*args), capture_output=True, cwd=cwd,
                                  timeout=timeout, **kwargs)
        except OSError as e:
            raise ScriptExecutionException(f"cannot run {self.path}: {e}") from e

    def run_reported(self, tmp, command, *args, **kw):
        """Runs `hive-run COMMAND --report FILE ARGS...` with FILE in the directory `tmp`;
        returns the process and the run report (None when hive-run wrote none)."""
        path = os.path.join(tmp, "report.json")
        r = self.run(command, "--report", path, *args, **kw)
        if not os.path.exists(path):
            return r, None
        with open(path) as f:
            return r, json.load(f)

    def json(self, *args, ok=(0,)):
        """Runs a hive-run command that prints JSON; raises with hive-run's message otherwise."""
        r = self.run(*args)
        if r.returncode not in ok:
            raise ScriptExecutionException(
                _text(r.stderr).strip() or f"hive-run {args[0]} exited {r.returncode}")
        return json.loads(_text(r.stdout))


def _text(b):
    return b.decode("utf-8", errors="replace") if isinstance(b, bytes) else b
