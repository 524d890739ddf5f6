"""hive_run: the seeds' Python API over the hive-run sandbox.

    from hive_run import SecureScriptExecutor
    executor = SecureScriptExecutor(policy_file="scripts/config/security_policy.yml")
    result = executor.execute_script("job.py", args=["--input", "data.txt"], timeout=30)

Every call runs the hive-run binary ($HIVE_RUN, or hive-run on PATH) and reads its JSON, so
the sandbox, the policy and the signed audit log are those of the command line. Standard
library only.
"""
from .exceptions import (FileSystemViolationException, NetworkViolationException,
                         PolicyViolationException, ResourceLimitException,
                         ScriptExecutionException, SecureExecutionError,
                         SecurityViolationException, TimeoutException)
from .executor import SecureScriptExecutor
from .runner import ExecutionResult, ExecutionStatus, SecureRunner, secure_run

__all__ = [
    "SecureScriptExecutor", "SecureRunner", "secure_run", "ExecutionResult", "ExecutionStatus",
    "SecureExecutionError", "ScriptExecutionException", "SecurityViolationException",
    "PolicyViolationException", "FileSystemViolationException", "NetworkViolationException",
    "ResourceLimitException", "TimeoutException",
]
__version__ = "0.1.0"
