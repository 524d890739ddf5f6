// hive::Executor: the seeds' SecureScriptExecutor for C++ programs. Each script runs with its
// interpreter in the built-in sandbox under one policy (hive::Run: analysis first, then
// namespaces, limits, seccomp, the signed audit log); the result carries what the seeds'
// result dict did — success, output, return code, time, security checks, static analysis
// and resource usage — plus the full run report.
//
//   HIVE_ASSIGN_OR_RETURN(hive::Executor ex, hive::Executor::Create({.policy_path = "p.yml"}));
//   if (!ex.ValidateScript("job.py").valid) return ...;
//   hive::ExecutionResult r = ex.ExecuteScript("job.py", {"--input", "data.txt"}, 30.0);
//   if (r.success) std::cout << r.stdout_text;
//   else std::cerr << r.error << r.stderr_text;
//   nlohmann::json stats = *ex.GetSecurityStats();  //
//   stats["monitoring_stats"]["total_executions"]
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hive/analyze.h"
#include "hive/policy.h"
#include "hive/report.h"
#include "hive/status.h"

namespace hive {

struct ExecutorOptions {
  std::string policy_path;         // empty: the built-in policy
  std::string state_dir;           // empty: as `hive-run` resolves it (ResolveStateDir)
  std::vector<std::string> binds;  // "SRC:DST[:rw]", as --bind
  std::vector<std::string> env;    // "NAME=VALUE", as --env
};

struct SecurityCheck {
  std::string name;  // "static_analysis", "sandbox_setup", "limits", "violations", or a layer
  bool passed = false;
  std::string detail;
};

struct ExecutionResult {
  bool success = false;     // the script ran and exited 0
  std::string stdout_text;  // what it wrote, captured under runs/<run_id>/logs/
  std::string stderr_text;
  std::string error;          // why hive-run refused or failed to start it; "" when it ran
  int return_code = 125;      // hive-run's exit status for the run (DESIGN §4)
  double execution_time = 0;  // seconds, wall clock of the sandboxed process
  std::vector<SecurityCheck> security_checks;
  nlohmann::json static_analysis;  // the report's static_analysis (null when not Python)
  Usage resource_usage;            // from the kernel's counters
  RunReport report;                // everything else: outcome, violations, alerts, audit
};

// The seeds' result dict: success, stdout, stderr, return_code, execution_time,
// security_checks, static_analysis, resource_usage, plus run_id, outcome and error.
nlohmann::json ExecutionResultToJson(const ExecutionResult& r);

struct ScriptValidation {
  bool valid = false;
  std::vector<std::string> problems;  // why it would not run; empty when valid
};

class Executor {
 public:
  // Loads the policy once (errors name file:line and key) and resolves the state directory.
  static Result<Executor> Create(ExecutorOptions options);

  // Runs the script in a new sandbox; `timeout` in seconds, 0 = the policy's. Never throws:
  // a refusal or setup failure is a result with `error` set and return_code 125.
  ExecutionResult ExecuteScript(const std::string& path, const std::vector<std::string>& args = {},
                                double timeout = 0);

  // Would ExecuteScript start it? A readable regular file with a known interpreter, no
  // syntax errors, and (Python) an analysis below the policy's security.analysis.refuse_at.
  ScriptValidation ValidateScript(const std::string& path) const;

  // Static analysis with compatibility against this executor's policy; nothing runs.
  Result<analyze::Analysis> AnalyzeScriptSecurity(const std::string& path) const;

  // From the audit log: {"monitoring_stats": {"total_executions", "security_violations",
  // "outcomes"}, "recent_alerts": [...], "stats": <hive-run stats --json>}.
  Result<nlohmann::json> GetSecurityStats() const;

  const Policy& policy() const { return policy_; }
  const std::string& state_dir() const { return options_.state_dir; }

 private:
  Executor(ExecutorOptions options, Policy policy)
      : options_(std::move(options)), policy_(std::move(policy)) {}

  std::string AuditLogPath() const;

  ExecutorOptions options_;
  Policy policy_;
};

}  // namespace hive
