"""The seeds' exceptions. A refusal (hive-run would not start the script) raises one; a script
that ran and failed, or ran into a limit, is a result with success False, as in the seeds."""


class SecureExecutionError(Exception):
    """Base of every exception this package raises."""

    def __init__(self, message, result=None):
        super().__init__(message)
        #: The result dict (or None) of the run that was refused, with its report.
        self.result = result


class ScriptExecutionException(SecureExecutionError):
    """hive-run could not run the script: missing file, bad policy, sandbox setup failed."""


class SecurityViolationException(SecureExecutionError):
    """The script was refused for security reasons."""


class PolicyViolationException(SecurityViolationException):
    """The policy refuses the script (static analysis at or above analysis.refuse_at)."""


class FileSystemViolationException(SecurityViolationException):
    """A path the run needs is outside what the policy allows."""


class NetworkViolationException(SecurityViolationException):
    """The run needs network access the policy does not give."""


class ResourceLimitException(SecurityViolationException):
    """A limit was refused before the run (out of range), or hit with raise_on_limit=True."""


class TimeoutException(ResourceLimitException):
    """The run was stopped at its wall-clock timeout (raise_on_limit=True)."""
