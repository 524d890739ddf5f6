"""SecureScriptExecutor: the seeds' governance-script API over `hive-run script`,
`hive-run analyze` and `hive-run stats`. Each call is one hive-run command; results are the
seeds' dicts, built from hive-run's own JSON (run report, analysis, audit statistics)."""
import ast
import json
import os
import tempfile

from ._binary import Binary, _text
from .exceptions import (PolicyViolationException, ResourceLimitException,
                         ScriptExecutionException, TimeoutException)

_LIMIT_OUTCOMES = ("memory_limit", "cpu_limit", "pids_limit", "file_size_limit")


def _vulnerabilities(analysis):
    """The seeds' vulnerability entries (type, description, line, code) from hive-run's
    findings, which also carry severity, column and a recommendation."""
    out = []
    for f in (analysis or {}).get("findings", []):
        v = dict(f)
        v.setdefault("description", "")
        v.setdefault("code", "")
        out.append(v)
    return out


def _static_analysis(analysis):
    if not analysis:
        return None
    a = dict(analysis)
    a["vulnerabilities"] = _vulnerabilities(analysis)
    a.setdefault("vulnerabilities_found", len(a["vulnerabilities"]))
    a.setdefault("risk_level", "none")
    return a


def _layer_held(name, state):
    if name.endswith("_not_enforced"):
        return not state
    if isinstance(state, bool):
        return state
    if isinstance(state, dict) and isinstance(state.get("applied"), bool):
        return state["applied"]
    return state is not None


def _security_checks(report, policy_source):
    """What hive-run checked and enforced for this run, as name/passed/detail entries."""
    checks = [{"name": "policy", "passed": True, "detail": policy_source}]
    sa = report.get("static_analysis")
    outcome = report.get("outcome")
    if sa:
        checks.append({"name": "static_analysis", "passed": outcome != "blocked",
                       "detail": f"risk {sa.get('risk_level', 'none')}, "
                                 f"{sa.get('vulnerabilities_found', 0)} finding(s)"})
    started = outcome not in ("setup_error", "blocked")
    checks.append({"name": "sandbox_setup", "passed": started,
                   "detail": "sandbox created" if started else report.get("error", "")})
    for layer, state in (report.get("enforced") or {}).items():
        checks.append({"name": layer, "passed": _layer_held(layer, state),
                       "detail": json.dumps(state)})
    if started:
        v = report.get("violations") or []
        checks.append({"name": "violations", "passed": not v,
                       "detail": ", ".join(f"{x['type']} {x['detail']} x{x['count']}"
                                           for x in v) or "none"})
        limit = outcome in _LIMIT_OUTCOMES or outcome == "timeout"
        checks.append({"name": "limits", "passed": not limit,
                       "detail": outcome if limit else "within limits"})
    return checks


def _resource_usage(report):
    usage = dict(report.get("usage") or {})
    peak = usage.get("memory_peak_bytes") or 0
    usage["memory_mb"] = round(peak / (1 << 20), 2)
    cpu_ms = (usage.get("cpu_user_ms") or 0) + (usage.get("cpu_system_ms") or 0)
    wall_ms = report.get("wall_ms") or 0
    usage["cpu_percent"] = round(100.0 * cpu_ms / wall_ms, 1) if wall_ms else 0.0
    return usage


class SecureScriptExecutor:
    """The seeds' executor. `policy_file` is a security_policy.yml (the seeds' file loads
    unchanged); `state_dir` is hive-run's (runs, signed audit log, keys)."""

    def __init__(self, policy_file=None, state_dir=None, hive_run=None, raise_on_limit=False):
        self.policy_file = os.path.abspath(policy_file) if policy_file else None
        self.raise_on_limit = raise_on_limit
        self._bin = Binary(hive_run, state_dir)

    @property
    def hive_run(self):
        return self._bin.path

    def _policy_args(self):
        return ["--policy", self.policy_file] if self.policy_file else []

    def execute_script(self, script_path, args=None, timeout=None):
        """Runs the script in a new sandbox; the seeds' result dict. Raises
        PolicyViolationException when the policy refuses it, ScriptExecutionException when
        hive-run cannot run it (missing file, bad policy, setup failure)."""
        with tempfile.TemporaryDirectory(prefix="hive-run-client-") as tmp:
            cmd = ["--quiet", *self._policy_args()]
            if timeout is not None:
                cmd += ["--timeout", repr(float(timeout))]
            cmd += ["--", os.fspath(script_path), *[str(a) for a in (args or [])]]
            r, report = self._bin.run_reported(tmp, "script", *cmd)
        stdout, stderr = _text(r.stdout), _text(r.stderr)
        if report is None:
            raise ScriptExecutionException(stderr.strip() or f"hive-run exited {r.returncode}")
        outcome = report.get("outcome")
        result = {
            "success": outcome == "success" and r.returncode == 0,
            "stdout": stdout,
            "stderr": stderr,
            "return_code": r.returncode,
            "execution_time": (report.get("wall_ms") or 0) / 1000.0,
            "security_checks": _security_checks(report, self.policy_file or "<built-in>"),
            "static_analysis": _static_analysis(report.get("static_analysis")),
            "resource_usage": _resource_usage(report),
            "run_id": report.get("run_id"),
            "outcome": outcome,
            "error": report.get("error", ""),
            "violations": report.get("violations", []),
            "alerts": report.get("alerts", []),
            "audit": report.get("audit"),
            "report": report,
        }
        if outcome == "blocked":
            raise PolicyViolationException(result["error"], result)
        if outcome == "setup_error" or (r.returncode == 125 and result["error"]):
            raise ScriptExecutionException(result["error"] or stderr.strip(), result)
        if self.raise_on_limit and outcome == "timeout":
            raise TimeoutException(f"timed out after {result['execution_time']:.1f}s", result)
        if self.raise_on_limit and outcome in _LIMIT_OUTCOMES:
            raise ResourceLimitException(outcome, result)
        return result

    def analyze_script_security(self, script_path):
        """Static analysis, nothing runs: risk_level, vulnerabilities_found, vulnerabilities
        (type, description, line, code, severity), and compatibility with the policy."""
        analysis = self._bin.json("analyze", "--json", *self._policy_args(),
                                  os.fspath(script_path))
        return _static_analysis(analysis)

    def validate_script(self, script_path):
        """Would execute_script start it? False for a missing or unreadable file, one with no
        known interpreter, a syntax error, or an analysis the policy refuses."""
        path = os.fspath(script_path)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            return False
        try:
            a = self._bin.json("analyze", "--json", *self._policy_args(), path)
        except (ScriptExecutionException, ValueError):
            return False
        # hive-run names the interpreter it would run the script with; none known (no
        # extension it knows, no #! line) means `script` would refuse it.
        if not a.get("interpreter") or a.get("syntax_errors") or a.get("refusal"):
            return False
        if os.path.basename(a["interpreter"][0]).startswith("python"):
            # hive-run's analyzer finds the errors it needs; Python's own parser finds all.
            try:
                with open(path, "rb") as f:
                    ast.parse(f.read(), filename=path)
            except (SyntaxError, ValueError):
                return False
        return True

    def get_security_stats(self):
        """From the signed audit log: monitoring_stats (total_executions,
        security_violations, outcomes) and recent_alerts, newest first."""
        s = self._bin.json("stats", "--json")
        # Calls the sandbox refused, and scripts refused before they ran.
        violations = sum((s.get("violations") or {}).values()) + \
            (s.get("outcomes") or {}).get("blocked", 0)
        return {
            "monitoring_stats": {
                "total_executions": s.get("executions", 0),
                "security_violations": violations,
                "outcomes": s.get("outcomes", {}),
                "violations_by_type": s.get("violations", {}),
            },
            "recent_alerts": list(reversed(s.get("recent_alerts", []))),
            "stats": s,
        }
