"""SecureRunner and secure_run: seed 004's safe execution of external tools, over
`hive-run exec` (and `hive-run check` for dry runs). The allowlist is the policy's
security.process.allowed_binaries plus the tools directory, enforced by hive-run itself:
a program outside it is refused (status BLOCKED) before anything runs."""
import enum
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import List, Optional

from ._binary import Binary, _text

# The seeds' system binaries (seed 004: "ls, cat, grep, python3, java, etc.").
DEFAULT_ALLOWED_BINARIES = frozenset({
    "ls", "cat", "grep", "egrep", "fgrep", "head", "tail", "wc", "sort", "uniq", "cut", "tr",
    "diff", "cmp", "echo", "printf", "true", "false", "basename", "dirname", "realpath", "stat",
    "file", "md5sum", "sha1sum", "sha256sum", "date", "pwd", "id", "whoami", "uname", "find",
    "git", "python3", "python", "java", "javac", "node", "tar", "gzip", "gunzip", "zcat", "xz",
    "bzip2", "make", "gcc", "g++", "cc", "c++", "clang", "clang++", "jq", "sed", "awk", "seq",
    "sleep", "test"})


class ExecutionStatus(enum.Enum):
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    RESOURCE_LIMIT = "resource_limit"
    BLOCKED = "blocked"
    DRY_RUN = "dry_run"
    ERROR = "error"


_STATUS_BY_OUTCOME = {
    "success": ExecutionStatus.SUCCESS, "failure": ExecutionStatus.FAILED,
    "signaled": ExecutionStatus.FAILED, "timeout": ExecutionStatus.TIMEOUT,
    "memory_limit": ExecutionStatus.RESOURCE_LIMIT, "cpu_limit": ExecutionStatus.RESOURCE_LIMIT,
    "pids_limit": ExecutionStatus.RESOURCE_LIMIT,
    "file_size_limit": ExecutionStatus.RESOURCE_LIMIT, "blocked": ExecutionStatus.BLOCKED,
    "setup_error": ExecutionStatus.ERROR,
}


@dataclass
class ExecutionResult:
    run_id: Optional[str]
    status: ExecutionStatus
    return_code: int
    stdout: str = ""
    stderr: str = ""
    execution_time: float = 0.0
    memory_used: int = 0
    error_message: str = ""
    command: List[str] = field(default_factory=list)
    sandbox_path: Optional[str] = None
    report: Optional[dict] = None


class SecureRunner:
    def __init__(self, sandbox_base_dir=None, tools_bin_dir="./tools/bin", log_level=None,
                 hive_run=None):
        """`sandbox_base_dir` is hive-run's state directory (runs/<run_id>/ and the audit
        log; default: hive-run's own); `tools_bin_dir` holds custom tools."""
        self._bin = Binary(hive_run, sandbox_base_dir)
        self.tools_bin_dir = os.path.abspath(tools_bin_dir) if tools_bin_dir else None
        self.log_level = log_level
        self.allowed_binaries = set(DEFAULT_ALLOWED_BINARIES)

    def _policy(self, tmp, timeout, cpu_time, mem_bytes, allowlist):
        allowed = sorted(self.allowed_binaries | set(allowlist or ()))
        tools = [self.tools_bin_dir] if self.tools_bin_dir and \
            os.path.isdir(self.tools_bin_dir) else []
        lines = [
            "security:",
            "  execution:",
            f"    timeout_seconds: {float(timeout)!r}",
            f"    cpu_seconds: {int(math.ceil(cpu_time))}",
            f"    memory_mb: {max(1, int(math.ceil(mem_bytes / (1 << 20))))}",
            "    max_open_files: 256",
            "  network:",
            "    allowed_domains: []",
            "  process:",
            f"    allowed_binaries: {json.dumps(allowed)}",
            f"    tools_dirs: {json.dumps(tools)}",
        ]
        path = os.path.join(tmp, "secure_runner.yml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def secure_run(self, cmd, timeout=30, cpu_time=30, mem_bytes=500 * 1024 * 1024,
                   env_vars=None, allowlist=None, working_dir=None, dry_run=False,
                   input_data=None):
        """Runs `cmd` (a list, or one string that hive-run splits, refusing shell syntax)
        in a new sandbox. Never raises for the command's fate: see `status`."""
        argv = [cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
        with tempfile.TemporaryDirectory(prefix="hive-run-runner-") as tmp:
            os.chmod(tmp, 0o755)
            policy = self._policy(tmp, timeout, cpu_time, mem_bytes, allowlist)
            if dry_run:
                return self._check(policy, argv)
            args = ["--quiet", "--policy", policy]
            for k, v in (env_vars or {}).items():
                args += ["--env", f"{k}={v}"]
            if working_dir:
                wd = os.path.abspath(working_dir)
                args += ["--bind", f"{wd}:{wd}:rw", "--workdir", wd]
            args += ["--", *argv]
            r, report = self._bin.run_reported(
                tmp, "exec", *args,
                input=input_data.encode() if isinstance(input_data, str) else input_data)
        stdout, stderr = _text(r.stdout), _text(r.stderr)
        if report is None:
            return ExecutionResult(None, ExecutionStatus.ERROR, r.returncode, stdout, stderr,
                                   error_message=stderr.strip(), command=argv)
        status = _STATUS_BY_OUTCOME.get(report.get("outcome"), ExecutionStatus.ERROR)
        error = report.get("error", "")
        if not error and status == ExecutionStatus.TIMEOUT:
            error = f"Command timed out after {timeout}s"
        elif not error and status == ExecutionStatus.RESOURCE_LIMIT:
            error = f"{report.get('outcome')}: " + "; ".join(
                v["detail"] for v in report.get("violations", []) if v["type"] == "limit")
        run_dir = None
        if self._bin.state_dir and report.get("run_id"):
            run_dir = os.path.join(self._bin.state_dir, "runs", report["run_id"])
        return ExecutionResult(
            run_id=report.get("run_id"), status=status, return_code=r.returncode,
            stdout=stdout, stderr=stderr, execution_time=(report.get("wall_ms") or 0) / 1000.0,
            memory_used=(report.get("usage") or {}).get("memory_peak_bytes") or 0,
            error_message=error, command=report.get("command") or argv,
            sandbox_path=run_dir, report=report)

    def _check(self, policy, argv):
        r = self._bin.run("check", "--json", "--policy", policy, "--", *argv)
        try:
            verdict = json.loads(_text(r.stdout))
        except ValueError:
            return ExecutionResult(None, ExecutionStatus.ERROR, r.returncode,
                                   error_message=_text(r.stderr).strip(), command=argv)
        if verdict.get("verdict") == "allowed":
            return ExecutionResult(None, ExecutionStatus.DRY_RUN, 0,
                                   command=verdict.get("argv", argv))
        return ExecutionResult(None, ExecutionStatus.BLOCKED, r.returncode,
                               error_message="; ".join(verdict.get("reasons", [])),
                               command=verdict.get("argv", argv))

    def get_sandbox_info(self, run_id):
        """Where hive-run keeps the run: its directory and its execution log (the report)."""
        state = self._bin.state_dir or ""
        path = os.path.join(state, "runs", run_id)
        return {"sandbox_path": path,
                "execution_log": os.path.join(path, "logs", "execution.json"),
                "exists": os.path.isdir(path)}

    def cleanup_sandbox(self, run_id, keep_logs=True):
        """Removes the run's directory, or all of it but logs/ with keep_logs."""
        info = self.get_sandbox_info(run_id)
        path = info["sandbox_path"]
        if not os.path.isdir(path):
            return False
        for entry in os.listdir(path):
            if keep_logs and entry == "logs":
                continue
            full = os.path.join(path, entry)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)
        if not keep_logs:
            os.rmdir(path)
        return True


def secure_run(cmd, **kwargs):
    """One call of seed 004's `secure_run` with a default SecureRunner."""
    return SecureRunner().secure_run(cmd, **kwargs)
