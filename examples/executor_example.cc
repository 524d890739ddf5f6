// The seeds' SecureScriptExecutor walkthrough with hive::Executor: validate a script, look at
// its static analysis, run it in the sandbox, print the result and the security stats.
//
//   executor_example [--policy P] [--state-dir D] [--timeout S] [--json] SCRIPT [ARG...]
//
// With --json it prints one document {validation, analysis, result, stats} for tools.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "hive/executor.h"

int main(int argc, char** argv) {
  hive::ExecutorOptions options;
  double timeout = 0;
  bool json = false;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    if (!std::strcmp(argv[i], "--json")) {
      json = true;
    } else if (i + 1 < argc && !std::strcmp(argv[i], "--policy")) {
      options.policy_path = argv[++i];
    } else if (i + 1 < argc && !std::strcmp(argv[i], "--state-dir")) {
      options.state_dir = argv[++i];
    } else if (i + 1 < argc && !std::strcmp(argv[i], "--timeout")) {
      timeout = std::atof(argv[++i]);
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr,
                 "usage: %s [--policy P] [--state-dir D] [--timeout S] [--json] SCRIPT [ARG...]\n",
                 argv[0]);
    return 125;
  }
  std::string script = argv[i];
  std::vector<std::string> args(argv + i + 1, argv + argc);

  hive::Result<hive::Executor> executor = hive::Executor::Create(options);
  if (!executor.ok()) {
    std::fprintf(stderr, "executor: %s\n", executor.status().message().c_str());
    return 125;
  }

  hive::ScriptValidation validation = executor->ValidateScript(script);
  hive::Result<hive::analyze::Analysis> analysis = executor->AnalyzeScriptSecurity(script);
  // A script that fails validation is still handed to ExecuteScript: the refusal then
  // happens inside the run pipeline, where it is written to the audit log.
  hive::ExecutionResult result = executor->ExecuteScript(script, args, timeout);
  hive::Result<nlohmann::json> stats = executor->GetSecurityStats();

  if (json) {
    nlohmann::json out = {
        {"validation", {{"valid", validation.valid}, {"problems", validation.problems}}},
        {"analysis", analysis.ok() ? hive::analyze::ToJson(*analysis) : nlohmann::json()},
        {"result", hive::ExecutionResultToJson(result)},
        {"stats", stats.ok() ? *stats : nlohmann::json()}};
    std::cout << out.dump(2) << "\n";
    return result.return_code;
  }

  std::printf("valid: %s\n", validation.valid ? "yes" : "no");
  for (const std::string& p : validation.problems) std::printf("  - %s\n", p.c_str());
  if (analysis.ok()) {
    std::printf("risk level: %s, vulnerabilities: %zu\n", analysis->risk_level.c_str(),
                analysis->findings.size());
    for (const hive::analyze::Finding& f : analysis->findings) {
      std::printf("- %s: %s\n  line %d: %s\n", f.type.c_str(), f.description.c_str(), f.line,
                  f.code.c_str());
    }
  }
  if (result.success) {
    std::printf("script executed successfully\noutput:\n%s", result.stdout_text.c_str());
  } else {
    std::printf("script execution failed (return code %d)\nerror: %s%s\n", result.return_code,
                result.error.c_str(), result.stderr_text.c_str());
  }
  std::printf("execution time: %.3fs\n", result.execution_time);
  std::printf("security checks:\n");
  for (const hive::SecurityCheck& c : result.security_checks) {
    std::printf("  %s %s: %s\n", c.passed ? "pass" : "FAIL", c.name.c_str(), c.detail.c_str());
  }
  std::printf("cpu %llu ms user, %llu ms system; peak memory %llu bytes\n",
              static_cast<unsigned long long>(result.resource_usage.cpu_user_ms),
              static_cast<unsigned long long>(result.resource_usage.cpu_system_ms),
              static_cast<unsigned long long>(result.resource_usage.memory_peak_bytes));
  if (stats.ok()) {
    const nlohmann::json& m = (*stats)["monitoring_stats"];
    std::printf("total executions: %s, security violations: %s\n",
                m["total_executions"].dump().c_str(), m["security_violations"].dump().c_str());
  }
  return result.return_code;
}
