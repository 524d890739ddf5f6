// RecordRun: what of a RunReport goes into the audit log, and as which events.
#include <fmt/format.h>

#include "hive/audit.h"

namespace hive::audit {
namespace {

// Spelled as in the report (DESIGN §6) so that log and report can be compared by eye.
const char* OutcomeText(Outcome o) {
  switch (o) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kFailure:
      return "failure";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kMemoryLimit:
      return "memory_limit";
    case Outcome::kCpuLimit:
      return "cpu_limit";
    case Outcome::kPidsLimit:
      return "pids_limit";
    case Outcome::kFileSizeLimit:
      return "file_size_limit";
    case Outcome::kSignaled:
      return "signaled";
    case Outcome::kSetupError:
      return "setup_error";
    case Outcome::kBlocked:
      return "blocked";
  }
  return "unknown";
}

nlohmann::json Limits(const ExecutionLimits& l) {
  return {{"timeout_seconds", l.timeout_seconds},
          {"cpu_seconds", l.cpu_seconds},
          {"memory_mb", l.memory_mb},
          {"file_size_mb", l.file_size_mb},
          {"max_processes", l.max_processes},
          {"max_open_files", l.max_open_files},
          {"cpus", l.cpus},
          {"io_read_bps", l.io_read_bps},
          {"io_write_bps", l.io_write_bps},
          {"tmp_size_mb", l.tmp_size_mb}};
}

nlohmann::json RunFields(const RunReport& r) {
  nlohmann::json violations = nlohmann::json::array();
  for (const Violation& v : r.violations) {
    violations.push_back({{"type", v.type}, {"detail", v.detail}, {"count", v.count}});
  }
  nlohmann::json alerts = nlohmann::json::array();
  for (const Alert& a : r.alerts) {
    alerts.push_back(
        {{"type", a.type}, {"message", a.message}, {"value", a.value}, {"threshold", a.threshold}});
  }
  const Usage& u = r.usage;
  nlohmann::json f = {
      {"run_id", r.run_id},
      {"command", r.command},
      {"outcome", OutcomeText(r.outcome)},
      {"exit_code", r.exit_code},
      {"signal", r.signal},
      {"started_at", r.started_at},
      {"wall_ms", r.wall_ms},
      {"usage",
       {{"cpu_user_ms", u.cpu_user_ms},
        {"cpu_system_ms", u.cpu_system_ms},
        {"memory_peak_bytes", u.memory_peak_bytes},
        {"pids_peak", u.pids_peak},
        {"io_read_bytes", u.io_read_bytes},
        {"io_write_bytes", u.io_write_bytes}}},
      {"limits", Limits(r.limits)},
      {"violations", std::move(violations)},
      {"alerts", std::move(alerts)},
      {"script_sha256", r.script_sha256},
      {"policy_sha256", r.policy_sha256},
  };
  if (!r.bundle.empty()) f["bundle"] = r.bundle;
  if (!r.script.empty()) f["script"] = r.script;
  if (!r.killed_by.empty()) f["killed_by"] = r.killed_by;
  if (!r.error.empty()) f["error"] = r.error;
  // Weakened isolation must be as visible in the log as in the report (DESIGN "Fail closed").
  if (!r.warnings.empty()) f["warnings"] = r.warnings;
  if (r.enforced.is_object() && !r.enforced.empty()) f["enforced"] = r.enforced;
  return f;
}

}  // namespace

Result<RecordRef> RecordRun(AuditLog& log, const RunReport& report) {
  for (const Violation& v : report.violations) {
    Result<RecordRef> ref = log.Append(
        "violation",
        {{"run_id", report.run_id}, {"type", v.type}, {"detail", v.detail}, {"count", v.count}});
    if (!ref.ok()) return ref.status().Wrap(fmt::format("audit run {}", report.run_id));
  }
  const char* event = report.outcome == Outcome::kBlocked ? "refused" : "run";
  Result<RecordRef> ref = log.Append(event, RunFields(report));
  if (!ref.ok()) return ref.status().Wrap(fmt::format("audit run {}", report.run_id));
  return ref;
}

}  // namespace hive::audit
