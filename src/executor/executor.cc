// hive::Executor over hive::Run: everything a run does (analysis, sandbox, audit) happens in
// the one pipeline `hive-run script` uses; the executor adds captured output and the seeds'
// result shape.
#include "hive/executor.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/record.h"
#include "audit/stats.h"
#include "base/files.h"
#include "hive/run.h"
#include "hive/state_dir.h"

namespace hive {
namespace {

// Scripts larger than this are not reviewable source; refuse rather than analyze megabytes.
constexpr off_t kMaxScriptBytes = 16 << 20;

std::string ReadIfPresent(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  return text.ok() ? std::move(text).value() : std::string();
}

bool IsLimitOutcome(Outcome o) {
  return o == Outcome::kTimeout || o == Outcome::kMemoryLimit || o == Outcome::kCpuLimit ||
         o == Outcome::kPidsLimit || o == Outcome::kFileSizeLimit;
}

// How the report's `enforced` entries read as pass/fail: a gap list passes when empty, a layer
// object when it says it was applied, a flag by its value; anything else is present, so held.
bool LayerHeld(const std::string& name, const nlohmann::json& state) {
  const std::string gaps = "_not_enforced";
  if (name.size() > gaps.size() &&
      name.compare(name.size() - gaps.size(), gaps.size(), gaps) == 0) {
    return state.empty();
  }
  if (state.is_boolean()) return state.get<bool>();
  if (state.is_object() && state.contains("applied") && state["applied"].is_boolean()) {
    return state["applied"].get<bool>();
  }
  return !state.is_null();
}

std::vector<SecurityCheck> ChecksFor(const RunReport& r, const Policy& policy) {
  std::vector<SecurityCheck> checks;
  checks.push_back({"policy", true, policy.source});
  if (r.static_analysis.is_null()) {
    checks.push_back({"static_analysis", true, "not a Python script: not analyzed"});
  } else {
    checks.push_back(
        {"static_analysis", r.outcome != Outcome::kBlocked,
         fmt::format("risk {}, {} finding(s)", r.static_analysis.value("risk_level", "none"),
                     r.static_analysis.value("vulnerabilities_found", 0))});
  }
  bool started = r.outcome != Outcome::kSetupError && r.outcome != Outcome::kBlocked;
  checks.push_back({"sandbox_setup", started, started ? "sandbox created" : r.error});
  for (const auto& [layer, state] : r.enforced.items()) {
    checks.push_back({layer, LayerHeld(layer, state), state.dump()});
  }
  if (started) {
    std::string detail;
    for (const Violation& v : r.violations) {
      detail += fmt::format("{}{} {} x{}", detail.empty() ? "" : ", ", v.type, v.detail, v.count);
    }
    checks.push_back({"violations", r.violations.empty(), detail.empty() ? "none" : detail});
    checks.push_back({"limits", !IsLimitOutcome(r.outcome),
                      IsLimitOutcome(r.outcome) ? OutcomeName(r.outcome) : "within limits"});
  }
  for (const std::string& w : r.warnings) checks.push_back({"isolation_warning", false, w});
  return checks;
}

}  // namespace

Result<Executor> Executor::Create(ExecutorOptions options) {
  Policy policy = DefaultPolicy();
  if (!options.policy_path.empty()) {
    HIVE_ASSIGN_OR_RETURN(policy, LoadPolicyFile(options.policy_path));
    options.policy_path = AbsolutePath(options.policy_path, "");
  }
  options.state_dir = ResolveStateDir(options.state_dir);
  return Executor(std::move(options), std::move(policy));
}

ExecutionResult Executor::ExecuteScript(const std::string& path,
                                        const std::vector<std::string>& args, double timeout) {
  RunRequest req;
  req.mode = RunMode::kScript;
  req.policy_path = options_.policy_path;
  req.command = {path};
  req.command.insert(req.command.end(), args.begin(), args.end());
  req.binds = options_.binds;
  req.env = options_.env;
  if (timeout > 0) req.timeout_seconds = timeout;
  req.state_dir = options_.state_dir;
  req.capture = true;

  RunResult run = Run(req);
  ExecutionResult r;
  r.report = std::move(run.report);
  r.return_code = run.exit_status;
  r.success = r.report.outcome == Outcome::kSuccess && run.exit_status == 0;
  r.error = r.report.error;
  r.execution_time = static_cast<double>(r.report.wall_ms) / 1000.0;
  r.resource_usage = r.report.usage;
  r.static_analysis = r.report.static_analysis;
  const std::string logs = options_.state_dir + "/runs/" + r.report.run_id + "/logs/";
  r.stdout_text = ReadIfPresent(logs + "stdout");
  r.stderr_text = ReadIfPresent(logs + "stderr");
  r.security_checks = ChecksFor(r.report, policy_);
  return r;
}

ScriptValidation Executor::ValidateScript(const std::string& path) const {
  ScriptValidation v;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    v.problems.push_back(Errno(fmt::format("script `{}`", path)).message());
    return v;
  }
  if (!S_ISREG(st.st_mode)) {
    v.problems.push_back(fmt::format("script `{}` is not a regular file", path));
    return v;
  }
  if (st.st_size > kMaxScriptBytes) {
    v.problems.push_back(
        fmt::format("script `{}` is {} bytes, more than a script should be", path, st.st_size));
    return v;
  }
  if (::access(path.c_str(), R_OK) != 0) {
    v.problems.push_back(Errno(fmt::format("read `{}`", path)).message());
    return v;
  }
  Result<std::vector<std::string>> interp = InterpreterFor(path);
  if (!interp.ok()) {
    v.problems.push_back(interp.status().message());
    return v;
  }
  if (!interp->empty() && analyze::IsPythonInterpreter(interp->front())) {
    Result<analyze::Analysis> a = AnalyzeScriptSecurity(path);
    if (!a.ok()) {
      v.problems.push_back(a.status().message());
      return v;
    }
    for (const std::string& e : a->syntax_errors) v.problems.push_back("syntax: " + e);
    if (std::string why = analyze::RefusalFor(*a, policy_); !why.empty()) {
      v.problems.push_back(why);
    }
  }
  v.valid = v.problems.empty();
  return v;
}

Result<analyze::Analysis> Executor::AnalyzeScriptSecurity(const std::string& path) const {
  return analyze::AnalyzeFile(path, &policy_);
}

std::string Executor::AuditLogPath() const {
  return hive::AuditLogPath(policy_.audit.log, options_.state_dir);
}

Result<nlohmann::json> Executor::GetSecurityStats() const {
  uint64_t skipped = 0;
  Result<std::vector<audit::ParsedRecord>> records = audit::ReadRecords(AuditLogPath(), &skipped);
  // No log yet: nothing has run, which is zero executions rather than an error.
  if (!records.ok() && records.status().code() != Code::kNotFound) {
    return records.status().Wrap("security stats");
  }
  audit::Stats s =
      audit::ComputeStats(records.ok() ? records.value() : std::vector<audit::ParsedRecord>{});
  uint64_t violations = 0;
  for (const auto& [type, n] : s.violations) violations += n;
  nlohmann::json stats = audit::StatsToJson(s);
  stats["log"] = AuditLogPath();
  stats["unreadable_lines"] = skipped;
  return nlohmann::json{{"monitoring_stats",
                         {{"total_executions", s.executions},
                          {"security_violations", violations},
                          {"outcomes", s.outcomes}}},
                        {"recent_alerts", s.recent_alerts},
                        {"stats", stats}};
}

nlohmann::json ExecutionResultToJson(const ExecutionResult& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const SecurityCheck& c : r.security_checks) {
    checks.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
  }
  return {{"success", r.success},
          {"stdout", r.stdout_text},
          {"stderr", r.stderr_text},
          {"error", r.error},
          {"return_code", r.return_code},
          {"execution_time", r.execution_time},
          {"security_checks", checks},
          {"static_analysis", r.static_analysis},
          {"resource_usage", UsageToJson(r.resource_usage)},
          {"run_id", r.report.run_id},
          {"outcome", OutcomeName(r.report.outcome)}};
}

}  // namespace hive
